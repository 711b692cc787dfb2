// SPDX-License-Identifier: MIT
/*
 * sonde trace end to end, under root with BPF: time the trace_nest
 * fixture (outer -> 2x inner(2 ms)) by -- CMD, by -p and on several
 * threads, checking exact call counts, p50 and the span tree; recursion,
 * longjmp and a thread exiting mid-call (trace_recurse); bad input.
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "anomaly_check.h"
#include "helpers.h"

#define INNER_NS 2000000.0
#define MAX_SPANS 4096

extern char **environ;

struct span {
	char trace[33];
	char id[17];
	char parent[17];
	char name[32];
	unsigned long tid;
};

static size_t load_spans(const char *path, struct span *spans)
{
	char *text = read_file(path, NULL), *line, *save = NULL;
	size_t n = 0;

	cr_assert_not_null(text, "no spans file %s", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct span *s = &spans[n++];
		const char *tid;

		cr_assert(n <= MAX_SPANS);
		/* One ExportTraceServiceRequest a line: the span is past its Resource. */
		line = strstr(line, "\"spans\":[{");
		cr_assert(line, "no span in a line of %s", path);
		json_str(line, "traceId", s->trace, sizeof(s->trace));
		json_str(line, "spanId", s->id, sizeof(s->id));
		/* OTLP-JSON leaves a root's parentSpanId out. */
		s->parent[0] = '\0';
		if (strstr(line, "\"parentSpanId\":\""))
			json_str(line, "parentSpanId", s->parent, sizeof(s->parent));
		json_str(line, "name", s->name, sizeof(s->name));
		cr_assert_eq(strlen(s->trace), 32);
		cr_assert_eq(strlen(s->id), 16);
		tid = strstr(line, "\"thread.id\",\"value\":{\"intValue\":\"");
		cr_assert(tid, "no thread.id in %s", line);
		s->tid =
			strtoul(tid + strlen("\"thread.id\",\"value\":{\"intValue\":\""), NULL, 10);
		cr_assert(strstr(line, "\"startTimeUnixNano\":\"17") ||
				  strstr(line, "\"startTimeUnixNano\":\"18"),
			  "start time is not wall-clock: %s", line);
	}
	free(text);
	return n;
}

/* Every inner span's parent is an outer span of the same trace and thread. */
static void check_tree(const struct span *s, size_t n, unsigned long iters, int threads)
{
	unsigned long outer = 0, inner = 0;
	unsigned long tids[64];
	int ntids = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (int t = 0; t < ntids; t++)
			seen |= tids[t] == s[i].tid;
		if (!seen && ntids < 64)
			tids[ntids++] = s[i].tid;
		if (!strcmp(s[i].name, "outer")) {
			outer++;
			cr_assert_str_eq(s[i].parent, "", "outer span with a parent");
			continue;
		}
		cr_assert_str_eq(s[i].name, "inner");
		inner++;
		bool found = false;

		for (size_t j = 0; j < n && !found; j++) {
			if (strcmp(s[j].id, s[i].parent))
				continue;
			found = true;
			cr_assert_str_eq(s[j].name, "outer");
			cr_assert_str_eq(s[j].trace, s[i].trace, "child in another trace");
			cr_assert_eq(s[j].tid, s[i].tid, "parent on another thread");
		}
		cr_assert(found, "inner span %s has no parent span", s[i].id);
	}
	cr_assert_eq(outer, iters * threads);
	cr_assert_eq(inner, 2 * iters * threads);
	cr_assert_eq(ntids, threads);
}

/* "NAME (...)\n    calls N  p50 X UNIT ..." from the summary. */
static void summary_of(const char *out, const char *name, unsigned long *calls, double *p50_ns)
{
	char head[128], unit[8];
	const char *p;
	double v;

	snprintf(head, sizeof(head), "\n%s (", name);
	p = strstr(out, head);
	if (!strncmp(out, head + 1, strlen(head + 1)))
		p = out;
	cr_assert(p, "no summary for %s in:\n%s", name, out);
	p = strstr(p, "    calls ");
	cr_assert(p);
	cr_assert_eq(sscanf(p, "    calls %lu  p50 %lf %7s", calls, &v, unit), 3);
	if (!strcmp(unit, "ms"))
		v *= 1e6;
	else if (!strcmp(unit, "us"))
		v *= 1e3;
	else if (!strcmp(unit, "s"))
		v *= 1e9;
	*p50_ns = v;
}

static void check_nest_output(const char *out, const char *err, unsigned long iters, int threads)
{
	unsigned long calls;
	double p50;

	summary_of(out, "outer", &calls, &p50);
	cr_assert_eq(calls, iters * threads);
	summary_of(out, "inner", &calls, &p50);
	cr_assert_eq(calls, 2 * iters * threads);
	cr_assert(p50 >= INNER_NS * 0.9 && p50 <= INNER_NS * 1.1, "inner p50 %.0f ns", p50);
	cr_assert(strstr(out, "nsecs : count"), "no histogram in:\n%s", out);
	cr_assert(strstr(err, " 0 spans lost, 0 threads tracked (0 mid-call)"), "stats: %s", err);
}

Test(trace, command_spans_and_histograms)
{
	char spans_path[256];
	char *out, *err;
	static struct span spans[MAX_SPANS];
	size_t n;
	int rc;

	require_bpf();
	snprintf(spans_path, sizeof(spans_path), "%s/cmd.jsonl", test_tmpdir());
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			(char *)fixture_path("trace_nest") /* replaced below */,
			"-f",
			"trace_nest:inner",
			"--spans",
			spans_path,
			"--",
			(char *)fixture_path("trace_nest"),
			"40",
			NULL};
	char fo[512];

	snprintf(fo, sizeof(fo), "%s:outer", fixture_path("trace_nest"));
	argv[3] = fo;
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	check_nest_output(out, err, 40, 1);
	n = load_spans(spans_path, spans);
	cr_assert_eq(n, 120);
	check_tree(spans, n, 40, 1);
	free(out);
	free(err);
}

Test(trace, pid_spans_and_histograms)
{
	char spans_path[256], pid_s[16];
	char *out, *err;
	static struct span spans[MAX_SPANS];
	char *fargv[] = {(char *)fixture_path("trace_nest"), "30", "--wait-probe", NULL};
	pid_t pid;
	size_t n;
	int rc, st;

	require_bpf();
	snprintf(spans_path, sizeof(spans_path), "%s/pid.jsonl", test_tmpdir());
	cr_assert_eq(posix_spawn(&pid, fargv[0], NULL, NULL, fargv, environ), 0);
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-p",
			pid_s,
			"-f",
			"trace_nest:outer",
			"-f",
			"trace_nest:inner",
			"--spans",
			spans_path,
			"-d",
			"60",
			NULL};

	rc = run_cmd(argv, &out, &err);
	waitpid(pid, &st, 0);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fixture failed");
	check_nest_output(out, err, 30, 1);
	n = load_spans(spans_path, spans);
	cr_assert_eq(n, 90);
	check_tree(spans, n, 30, 1);
	free(out);
	free(err);
}

Test(trace, threads_never_share_spans)
{
	char spans_path[256], fo[512], fi[512];
	char *out, *err;
	static struct span spans[MAX_SPANS];
	size_t n;
	int rc;

	require_bpf();
	snprintf(spans_path, sizeof(spans_path), "%s/threads.jsonl", test_tmpdir());
	snprintf(fo, sizeof(fo), "%s:outer", fixture_path("trace_nest"));
	snprintf(fi, sizeof(fi), "%s:inner", fixture_path("trace_nest"));
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			fo,
			"-f",
			fi,
			"--spans",
			spans_path,
			"--",
			(char *)fixture_path("trace_nest"),
			"15",
			"4",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	check_nest_output(out, err, 15, 4);
	n = load_spans(spans_path, spans);
	cr_assert_eq(n, 180);
	check_tree(spans, n, 15, 4);
	free(out);
	free(err);
}

Test(trace, recursion_longjmp_thread_exit)
{
	char *out, *err;
	unsigned long calls;
	double p50;
	int rc;
	const char *bin = fixture_path("trace_recurse");
	char f1[512], f2[512], f3[512], f4[512];

	require_bpf();
	snprintf(f1, sizeof(f1), "%s:recurse", bin);
	snprintf(f2, sizeof(f2), "%s:jumper", bin);
	snprintf(f3, sizeof(f3), "%s:after", bin);
	snprintf(f4, sizeof(f4), "%s:exit_inside", bin);
	char *argv[] = {
		(char *)sonde_bin(), "trace", "-v", "-f", f1, "-f", f2, "-f", f3, "-f", f4, "--",
		(char *)bin,	     "50",    "10", NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "recurse", &calls, &p50);
	cr_assert_eq(calls, 50 * 11);
	summary_of(out, "jumper", &calls, &p50);
	cr_assert_eq(calls, 0);
	summary_of(out, "after", &calls, &p50);
	cr_assert_eq(calls, 50);
	summary_of(out, "exit_inside", &calls, &p50);
	cr_assert_eq(calls, 0);
	/* 50 x (11 recurse + jumper + after) + exit_inside entries; stacks freed. */
	cr_assert(strstr(err, "sonde: 4 functions, 651 calls, 600 timed, 0 spans written, 0 "
			      "spans lost, 0 threads tracked (0 mid-call)"),
		  "stats: %s", err);
	free(out);
	free(err);

	/* Deeper than --max-depth: counted in the stats, never mistimed. */
	char *deep[] = {(char *)sonde_bin(), "trace", "--max-depth", "4", "-f", f1, "--",
			(char *)bin,	     "50",    "10",	     NULL};
	rc = run_cmd(deep, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "recurse", &calls, &p50);
	cr_assert_eq(calls, 50 * 4);
	cr_assert(strstr(err, "350 calls nested deeper than --max-depth 4"), "stats: %s", err);
	cr_assert(strstr(err, "0 threads tracked (0 mid-call)"), "stats: %s", err);
	free(out);
	free(err);
}

/* One error line, non-zero exit, the expected words in it. */
static void expect_error(const char *spec, const char *want)
{
	char *out, *err;
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			(char *)spec,
			"--",
			(char *)fixture_path("trace_nest"),
			"1",
			NULL};
	int rc = run_cmd(argv, &out, &err);

	cr_assert_neq(rc, 0, "'%s' was accepted", spec);
	cr_assert(strstr(err, want), "for '%s' expected '%s' in: %s", spec, want, err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
	free(out);
	free(err);
}

/*
 * `-f work` times work() and its clone work.constprop.0 (GCC names a copy
 * specialised for a constant argument so; `-f render_mandelbrot` found
 * nothing in sonde-demo), each under its own name, and not the piece
 * work.part.0 that both call.
 */
Test(trace, a_name_covers_its_clones)
{
	char spec[600], *out, *err;
	unsigned long calls;
	double p50;
	int rc;

	require_bpf();
	snprintf(spec, sizeof(spec), "%s:work", fixture_path("clones"));
	{
		char *argv[] = {(char *)sonde_bin(),
				"trace",
				"-f",
				spec,
				"--",
				(char *)fixture_path("clones"),
				"100",
				NULL};

		rc = run_cmd(argv, &out, &err);
	}
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "work", &calls, &p50);
	cr_expect_eq(calls, 100);
	summary_of(out, "work.constprop.0", &calls, &p50);
	cr_expect_eq(calls, 100);
	cr_expect_null(strstr(out, "work.part.0"), "%s", out);
	cr_expect(strstr(err, "2 functions, 200 calls, 200 timed"), "%s", err);
	free(out);
	free(err);
}

Test(trace, bad_input)
{
	char spec[512];

	require_bpf();
	snprintf(spec, sizeof(spec), "%s:outr", fixture_path("trace_nest"));
	expect_error(spec, "no function 'outr' in");
	expect_error(spec, "(did you mean: outer");
	expect_error("/etc/passwd:main", "/etc/passwd is not an ELF executable or library");
	expect_error("/nonexistent/prog:main", "/nonexistent/prog: No such file or directory");
	expect_error("libnosuch:foo", "links no library named 'libnosuch'");
	snprintf(spec, sizeof(spec), "%s:*", fixture_path("trace_nest"));
	{
		char *out, *err;
		char *argv[] = {(char *)sonde_bin(),
				"trace",
				"--max-probes",
				"2",
				"-f",
				spec,
				"--",
				(char *)fixture_path("trace_nest"),
				"1",
				NULL};
		int rc = run_cmd(argv, &out, &err);

		cr_assert_neq(rc, 0);
		cr_assert(strstr(err, "more than --max-probes 2; narrow the pattern"), "%s", err);
		free(out);
		free(err);
	}
	/* Stripped: only .dynsym is left, and the message says so. */
	snprintf(spec, sizeof(spec), "%s:fixture_static_gamma", fixture_path("symfix_stripped"));
	expect_error(spec, "stripped");
	/* An exported function of the stripped file is still found. */
	{
		char *out, *err;
		char *argv[] = {(char *)sonde_bin(),
				"trace",
				"-d",
				"0.2",
				"-f",
				spec,
				"--",
				(char *)fixture_path("symfix_stripped"),
				NULL};

		snprintf(spec, sizeof(spec), "%s:fixture_alpha", fixture_path("symfix_stripped"));
		cr_assert_eq(run_cmd(argv, &out, &err), 0, "%s", err);
		cr_assert(strstr(out, "fixture_alpha ("), "%s", out);
		free(out);
		free(err);
	}
}

Test(trace, libc_short_name)
{
	char *out, *err;
	unsigned long calls;
	double p50;
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			"libc:clock_nanosleep",
			"--",
			(char *)fixture_path("trace_nest"),
			"5",
			NULL};
	int rc;

	require_bpf();
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "clock_nanosleep", &calls, &p50);
	cr_assert_eq(calls, 10);
	cr_assert(strstr(out, "libc.so.6)"), "%s", out);
	free(out);
	free(err);
}

/*
 * A launched shell's children are traced, whatever they exec: two python3
 * processes deflate 800 times each through libz (loaded by dlopen).
 */
Test(trace, follows_children, .timeout = 120)
{
	char *out, *err;
	unsigned long calls;
	double p50;
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			"/lib/x86_64-linux-gnu/libz.so.1:deflate",
			"--",
			"sh",
			"-c",
			"for i in 1 2; do python3 -c 'import zlib\n"
			"for i in range(800): zlib.compress(b\"x\" * 1000)'; done",
			NULL};
	int rc;

	require_bpf();
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "deflate", &calls, &p50);
	/* zlib.compress() calls deflate() once with Z_FINISH. */
	cr_assert_eq(calls, 1600, "%s", out);
	free(out);
	free(err);
}

/*
 * -a: a library's function in every process that maps it, whoever started
 * it: a python3 started after sonde attached deflates 700 times through a
 * private copy of libz (LD_LIBRARY_PATH), so the machine's other users of
 * the system's libz (git, builds) do not count.
 */
Test(trace, all_processes, .timeout = 120)
{
	char errp[512], outp[512], lib[512], fspec[600], *out, *err = NULL, *text;
	unsigned long calls;
	double p50;
	size_t len;
	pid_t pid;
	int st, rc;
	FILE *f;

	require_bpf();
	snprintf(lib, sizeof(lib), "%s/libz.so.1", test_tmpdir());
	text = read_file("/lib/x86_64-linux-gnu/libz.so.1", &len);
	cr_assert(text);
	f = fopen(lib, "wb");
	cr_assert(f && fwrite(text, 1, len, f) == len && !fclose(f));
	free(text);
	snprintf(fspec, sizeof(fspec), "%s:deflate", lib);
	char *argv[] = {(char *)sonde_bin(), "trace", "-v", "-a", "-f", fspec, "-d", "6", NULL};
	char *py[] = {(char *)find_in_path("python3", "/usr/bin/python3"), "-c",
		      "import zlib\nfor i in range(700): zlib.compress(b\"x\" * 1000)", NULL};

	snprintf(outp, sizeof(outp), "%s/all.out", test_tmpdir());
	snprintf(errp, sizeof(errp), "%s/all.err", test_tmpdir());
	pid = spawn(argv, outp, errp);
	for (double t0 = now_s(); now_s() - t0 < 5; usleep(50 * 1000)) {
		free(err);
		err = read_file(errp, NULL);
		if (err && strstr(err, "uprobe pairs attached"))
			break;
	}
	cr_assert(err && strstr(err, "uprobe pairs attached"), "sonde never attached: %s", err);
	/* Armed ARM_SETTLE_MS after attaching. */
	usleep(500 * 1000);
	setenv("LD_LIBRARY_PATH", test_tmpdir(), 1); /* this test's process only */
	rc = run_cmd(py, &out, NULL);
	cr_assert_eq(rc, 0);
	free(out);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	free(err);
	err = read_file(errp, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sonde trace -a failed: %s", err);
	out = read_file(outp, NULL);
	summary_of(out, "deflate", &calls, &p50);
	cr_assert_eq(calls, 700, "%s", out);
	free(out);
	free(err);
}

/* More spans than the collector's queue holds between two polls: none lost. */
Test(trace, many_spans_none_lost)
{
	char spans_path[256], f1[512];
	char *out, *err, *text;
	unsigned long lines = 0;
	int rc;

	require_bpf();
	snprintf(spans_path, sizeof(spans_path), "%s/many.jsonl", test_tmpdir());
	snprintf(f1, sizeof(f1), "%s:recurse", fixture_path("trace_recurse"));
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			f1,
			"--spans",
			spans_path,
			"--",
			(char *)fixture_path("trace_recurse"),
			"3000",
			"10",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	text = read_file(spans_path, NULL);
	cr_assert_not_null(text);
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 33000);
	cr_assert(strstr(err, "33000 timed, 33000 spans written, 0 spans lost"), "%s", err);
	free(text);
	free(out);
	free(err);
}

/* Read the a/b/c counts of a trace_chain run from sonde's stdout. */
static void chain_counts(const char *out, unsigned long *a, unsigned long *b, unsigned long *c)
{
	double p50;

	summary_of(out, "a", a, &p50);
	summary_of(out, "b", b, &p50);
	summary_of(out, "c", c, &p50);
}

/* The kernel's recursion misses, when -v reported any (other BPF programs on the CPU). */
static unsigned long skipped_hits(const char *err)
{
	const char *p = strstr(err, "the kernel skipped ");

	return p ? strtoul(p + strlen("the kernel skipped "), NULL, 10) : 0;
}

/*
 * Every probe goes live at once, and out at once: on a running process
 * whose a() calls b() calls c() once each, the three counts are equal
 * (sequential attach gave A 103208, B 118642, C 134207 in 2 s).
 */
Test(trace, nested_counts_equal, .timeout = 120)
{
	char *fargv[] = {(char *)fixture_path("trace_chain"), "4", NULL};
	char fa[512], fb[512], fc[512], pid_s[16], *out, *err;
	unsigned long a, b, c, skipped;
	pid_t pid;
	int rc, st;

	require_bpf();
	cr_assert_eq(posix_spawn(&pid, fargv[0], NULL, NULL, fargv, environ), 0);
	usleep(200 * 1000);
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	snprintf(fa, sizeof(fa), "%s:a", fixture_path("trace_chain"));
	snprintf(fb, sizeof(fb), "%s:b", fixture_path("trace_chain"));
	snprintf(fc, sizeof(fc), "%s:c", fixture_path("trace_chain"));
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-v",
			"-p",
			pid_s,
			"-f",
			fa,
			"-f",
			fb,
			"-f",
			fc,
			"-d",
			"1.5",
			NULL};

	rc = run_cmd(argv, &out, &err);
	waitpid(pid, &st, 0);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	chain_counts(out, &a, &b, &c);
	skipped = skipped_hits(err);
	cr_log_info("a %lu b %lu c %lu, %lu hits skipped by the kernel", a, b, c, skipped);
	cr_assert_gt(a, 1000, "too few calls: %s", out);
	if (!skipped) {
		cr_assert_eq(b, a, "b counted %lu, a %lu", b, a);
		cr_assert_eq(c, a, "c counted %lu, a %lu", c, a);
	} else {
		/* Another BPF program on the CPU: each skip can cost one count. */
		cr_assert_leq(labs((long)b - (long)a) + labs((long)c - (long)a), (long)skipped);
	}
	cr_assert(strstr(err, " 0 spans lost"), "%s", err);
	free(out);
	free(err);
}

/*
 * A hot function already running at attach is counted exactly over the
 * armed window: the fixture keeps the time of every a() call, and sonde
 * -v says when it armed and disarmed (sonde counted 90-93 % of the calls
 * before, bpftrace 97-99 %).
 */
Test(trace, hot_function_exact_window, .timeout = 120)
{
	char ts_path[512], fa[512], pid_s[16], *out, *err, *ts;
	char *fargv[] = {(char *)fixture_path("trace_chain"), "3", NULL};
	unsigned long a, surely = 0, maybe = 0, arm[2], disarm[2];
	const char *w;
	size_t len;
	pid_t pid;
	int rc, st;

	require_bpf();
	snprintf(ts_path, sizeof(ts_path), "%s/chain.ts", test_tmpdir());
	setenv("TRACE_CHAIN_TS", ts_path, 1);
	cr_assert_eq(posix_spawn(&pid, fargv[0], NULL, NULL, fargv, environ), 0);
	unsetenv("TRACE_CHAIN_TS");
	usleep(200 * 1000);
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	snprintf(fa, sizeof(fa), "%s:a", fixture_path("trace_chain"));
	char *argv[] = {(char *)sonde_bin(), "trace", "-v", "-p", pid_s, "-f", fa, "-d", "1", NULL};

	rc = run_cmd(argv, &out, &err);
	waitpid(pid, &st, 0);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fixture failed");
	w = strstr(err, "armed from ");
	cr_assert(w, "no armed window in: %s", err);
	cr_assert_eq(sscanf(w, "armed from %lu-%lu to %lu-%lu ns", &arm[0], &arm[1], &disarm[0],
			    &disarm[1]),
		     4, "%s", w);
	ts = read_file(ts_path, &len);
	cr_assert(ts && len % 8 == 0, "fixture wrote no call times");
	for (size_t i = 0; i < len / 8; i++) {
		uint64_t t;

		memcpy(&t, ts + i * 8, 8);
		surely += t >= arm[1] && t <= disarm[0];
		maybe += t >= arm[0] && t <= disarm[1];
	}
	summary_of(out, "a", &a, &(double){0});
	cr_log_info("sonde %lu calls, fixture %lu-%lu in the armed window (stores took %lu and "
		    "%lu ns)",
		    a, surely, maybe, arm[1] - arm[0], disarm[1] - disarm[0]);
	cr_assert_gt(surely, 1000);
	/*
	 * A call's time is read just before it, so the one call in flight at
	 * each store may land either side of it.
	 */
	cr_assert_geq((long)a + 1 + (long)skipped_hits(err), (long)surely,
		      "sonde counted %lu, the fixture made %lu calls surely in the window", a,
		      surely);
	cr_assert_leq(a, maybe + 1, "sonde counted %lu, the fixture made at most %lu calls", a,
		      maybe);
	free(ts);
	free(out);
	free(err);
}

/*
 * A full disk costs the spans, counted, not the run: the target is not
 * stopped, the histograms and the summary come out, and the reason reads
 * "No space left on device" (it was "Input/output error", 0.6 s in, with
 * the launched target killed).
 */
Test(trace, full_disk_keeps_tracing, .timeout = 120)
{
	char fo[512], *out, *err;
	unsigned long calls;
	double p50;
	int rc;

	require_bpf();
	snprintf(fo, sizeof(fo), "%s:inner", fixture_path("trace_nest"));
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			fo,
			"--spans",
			"/dev/full",
			"--",
			(char *)fixture_path("trace_nest"),
			"20",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "inner", &calls, &p50);
	cr_assert_eq(calls, 40);
	cr_assert(strstr(err, "40 of 40 spans could not be written to '/dev/full': No space left "
			      "on device"),
		  "%s", err);
	free(out);
	free(err);
}

/* The table on a full disk: one line with the cause, exit 1 (it was 0, silently). */
Test(trace, table_to_full_disk_fails, .timeout = 60)
{
	char cmd[1024], *err = NULL;
	int rc;

	require_bpf();
	snprintf(cmd, sizeof(cmd), "exec %s trace -f libc:getpid -- /bin/true >/dev/full",
		 sonde_bin());
	rc = run_sh(cmd, NULL, &err);
	cr_expect_eq(rc, 1, "> /dev/full gave %d: %s", rc, err);
	cr_expect(strstr(err, "sonde: trace: failed to write the report to stdout: No space left "
			      "on device\n"),
		  "%s", err);
	free(err);
}

/* --spans - streams the spans to stdout. */
Test(trace, spans_to_stdout, .timeout = 120)
{
	char fo[512], *out, *err;
	int rc;

	require_bpf();
	snprintf(fo, sizeof(fo), "%s:inner", fixture_path("trace_nest"));
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			fo,
			"--spans",
			"-",
			"--",
			(char *)fixture_path("trace_nest"),
			"5",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	cr_assert_eq(count_of(out, "\"traceId\""), 10, "%s", out);
	free(out);
	free(err);
}

/*
 * All of libc at once: one function the kernel cannot probe
 * (pthread_spin_lock, error 524) is skipped and named instead of failing
 * the run, and a glob's functions that were never called make one line,
 * not a block each.
 */
Test(trace, whole_library_glob, .timeout = 300)
{
	char *fargv[] = {"/bin/sleep", "30", NULL};
	char pid_s[16], *out, *err;
	pid_t pid;
	int rc;

	require_bpf();
	cr_assert_eq(posix_spawn(&pid, fargv[0], NULL, NULL, fargv, environ), 0);
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	char *argv[] = {(char *)sonde_bin(), "trace", "-p", pid_s, "-f", "libc:*",
			"--max-probes",	     "5000",  "-d", "0.5", NULL};

	rc = run_cmd(argv, &out, &err);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	/*
	 * With libc6-dbg's names (debug file) the glob also reaches libc's
	 * internal functions, some of which the kernel refuses too.
	 */
	cr_assert(strstr(err, "the kernel cannot probe ") && strstr(err, "pthread_spin_lock"),
		  "%s", err);
	/* sleep(1) calls nothing in 0.5 s: every matched function is in the one line. */
	cr_assert_eq(count_of(out, "    calls "), 0, "%s", out);
	cr_assert(strstr(out, " functions 'libc:*' matched were never called"), "%s", out);
	free(out);
	free(err);
}

/*
 * A Go program is timed without being crashed: no uretprobe (Go copies
 * the return address it plants when a goroutine's stack grows), returns
 * from uprobes on the RET instructions, frames per goroutine, and the
 * entry that morestack repeats counted once.
 */
Test(trace, go_program, .timeout = 120)
{
	const char *bin = fixture_path("gofix");
	char fw[512], fn[512], fd[512], *out, *err;
	unsigned long calls;
	double p50;
	int rc;

	require_bpf();
	require_path(bin, X_OK, "the Go fixture (golang-go)");
	snprintf(fw, sizeof(fw), "%s:main.work", bin);
	snprintf(fn, sizeof(fn), "%s:main.nap", bin);
	snprintf(fd, sizeof(fd), "%s:main.deep", bin);
	char *argv[] = {(char *)sonde_bin(), "trace", "-f", fw,	 "-f", fn, "--",
			(char *)bin,	     "25",    "4",  NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace or the Go program failed (%d): %s", rc, err);
	cr_assert(strstr(out, "done 100"), "the Go program did not finish: %s", out);
	summary_of(out, "main.work", &calls, &p50);
	cr_assert_eq(calls, 100);
	summary_of(out, "main.nap", &calls, &p50);
	cr_assert_eq(calls, 100);
	cr_assert(p50 >= 2e6 && p50 <= 2e6 * 2, "nap p50 %.0f ns, it sleeps 2 ms", p50);
	free(out);
	free(err);

	/* With deep probed too: every call grows the stack, which is copied. */
	char *deep_argv[] = {(char *)sonde_bin(), "trace", "-f", fw,  "-f", fd, "--",
			     (char *)bin,	  "25",	   "4",	 NULL};

	rc = run_cmd(deep_argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace or the Go program failed (%d): %s", rc, err);
	cr_assert(strstr(out, "done 100"), "the Go program did not finish: %s", out);
	summary_of(out, "main.work", &calls, &p50);
	cr_assert_eq(calls, 100);
	/* deep recurses 512+ levels under work: 31 of them fit under --max-depth 32. */
	summary_of(out, "main.deep", &calls, &p50);
	cr_assert(calls >= 100 * 31 * 0.99 && calls <= 100 * 31, "deep timed %lu", calls);
	free(out);
	free(err);
}

/*
 * sonde trace --watch: 30 half-second windows of steady latency raise
 * at most two alarms; when the slow path moves from 1 ms to 10 ms (p99
 * from 1 to 10 ms) the anomaly is flagged within two windows, logged and
 * counted (the 1 to 3 ms case is tests/model/test_anomaly.c's: in CI the
 * live 3 ms change went unflagged in 2 runs of 4, not understood yet). At alpha 1e-3 a steady fixture expects 0.03 alarms, but a
 * burst of load on this shared 2-CPU machine really stretches its sleeps
 * (p99.5 from 1.1 to 2 ms, seen with other builds running): those are
 * latency changes, not the detector's noise, so two are allowed, and
 * only a percentile that doubles counts (--anomaly-min-change 1: one run
 * with builds going saw p99.5 move 10 to 40 % in 8 steady windows).
 */
Test(trace, watch_flags_a_latency_change, .timeout = 120)
{
	char fw[512], *out, *err, *line;
	unsigned long long sw = 0, first = 0;
	int rc, before = 0;

	require_bpf();
	snprintf(fw, sizeof(fw), "%s:work", fixture_path("trace_lat"));
	/*
	 * Real-time priority: the fixture's own latency should not move with
	 * whatever else the machine runs (the test is of the detector).
	 */
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--watch",
			"--interval",
			"0.5",
			"--anomaly-min-change",
			"1",
			"-f",
			fw,
			"--",
			"chrt",
			"-f",
			"10",
			(char *)fixture_path("trace_lat"),
			"15",
			"3",
			"10",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	line = strstr(out, "switch ");
	cr_assert(line, "the fixture did not switch: %s", out);
	sw = strtoull(line + 7, NULL, 10);
	for (line = strstr(err, "latency anomaly in work"); line;
	     line = strstr(line + 1, "latency anomaly in work")) {
		const char *to = strstr(line, " s to ");
		unsigned long long end;

		cr_assert(to, "%s", line);
		end = strtoull(to + 6, NULL, 10);
		if (end < sw)
			before++;
		else if (!first)
			first = end;
	}
	cr_log_info("%d alarms in the steady windows", before);
	cr_assert_leq(before, 2, "anomalies in the steady windows: %s", err);
	cr_assert_neq(first, 0, "the change was never flagged: %s", err);
	/* The window holding the switch, or the next one: it ends within 1 s of it. */
	cr_assert_leq(first - sw, 1100000000ull, "flagged %.2f s after the change: %s",
		      (first - sw) / 1e9, err);
	free(out);
	free(err);
}

/*
 * --watch with -e cpu, --anomaly-dir and OTLP: the slow path of
 * trace_lat moves from 1 to 10 ms and spins (slow_spin) instead of
 * sleeping, so its share of the CPU samples grows (about 73 to 93 % in a
 * run here). The window flagged first after the switch has its
 * differential flame graph in the directory: well-formed (xmllint),
 * slow_spin's frame red (grown) and up by at least 2 points (the flagged
 * window can straddle the switch: +3.4 in one CI run under ASan), the folded
 * file beside it; and its OTLP log record reaches /v1/logs, decoded by
 * OpenTelemetry JS: severity WARN, the function, the window and the
 * flame graph's path. Timing is the watch test's: 0.5 s windows, a
 * real-time fixture, the first anomaly after the switch wherever it
 * falls (false alarms before are allowed: their diffs exist too).
 */
Test(trace, watch_diff_flamegraph_and_otlp_log, .timeout = 180)
{
	char fw[512], *out, *err, *line, *diff;
	const char *dir = tmp_path("anomalies");
	unsigned long long sw, end;
	unsigned int window;
	struct rx r = {0};
	int rc;

	require_bpf();
	snprintf(fw, sizeof(fw), "%s:work", fixture_path("trace_lat"));
	rx_start(&r);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--watch",
			"--interval",
			"0.5",
			"-e",
			"cpu",
			"-F",
			"499",
			"--anomaly-dir",
			(char *)dir,
			"--otlp-endpoint",
			(char *)rx_url(&r),
			"-f",
			fw,
			"--",
			"chrt",
			"-f",
			"10",
			(char *)fixture_path("trace_lat"),
			"8",
			"3",
			"10",
			"spin",
			NULL};

	rc = run_cmd(argv, &out, &err);
	rx_stop(&r);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	line = strstr(out, "switch ");
	cr_assert(line, "the fixture did not switch: %s", out);
	sw = strtoull(line + 7, NULL, 10);
	window = anomaly_first_after(err, "work", sw, &end);
	cr_log_info("flagged in window %u, %.2f s after the switch", window, (end - sw) / 1e9);
	diff = anomaly_check_outputs(err, dir, &r, "work", window, end, "slow_spin", 2.0,
				     ";main;work;slow_spin");
	free(diff);
	free(out);
	free(err);
	rx_free(&r);
}
