// SPDX-License-Identifier: MIT
/*
 * sonde trace: function latency through uprobes.
 *
 * Every -f resolves to (file, offset) pairs; each distinct function gets
 * an id, passed to BPF as the attach cookie of an entry uprobe and a
 * uretprobe per target PID. Latency histograms are built in the kernel
 * and read once at the end; span events exist only with --spans, and the
 * ring-buffer callback only queues them for on_tick to write.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sonde/cli.h"
#include "sonde/commands.h"
#include "sonde/events.h"
#include "sonde/hist.h"
#include "sonde/log.h"
#include "sonde/outfile.h"
#include "sonde/privs.h"
#include "sonde/runloop.h"
#include "sonde/spans.h"
#include "sonde/target.h"
#include "sonde/uprobe_resolve.h"
#include "trace.skel.h"

#define QUEUE_SLOTS 4096
#define QUEUE_HEADROOM 16

/* One probed function: one histogram, one attach cookie (its index). */
struct tfunc {
	char *name;
	char *file; /* as the target sees it */
	struct hist *hist;
};

/* One (function, PID) pair to attach an entry and a return probe to. */
struct tprobe {
	uint32_t func_id;
	pid_t pid;
	char *path; /* the file, as we open it */
	uint64_t offset;
	const char *spec;
};

struct trace {
	const struct trace_opts *o;
	struct trace_bpf *skel;
	struct ring_buffer *rb;
	struct target *target;
	struct outfile *spans_out;

	struct tfunc *funcs;
	size_t nfuncs;
	struct tprobe *probes;
	size_t nprobes;
	struct bpf_link **links;
	size_t nlinks;

	struct sonde_span *queue;
	unsigned int queued;
	int64_t mono_to_real;
	uint64_t spans_written;
	uint64_t bad_events;
	uint64_t queue_drops; /* spans the collector's queue had no room for */
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct trace *t = ctx;
	const struct sonde_span *s = data;

	if (len < sizeof(*s) || s->kind != SONDE_EV_SPAN || s->func_id >= t->nfuncs) {
		t->bad_events++;
		return 0;
	}
	/*
	 * libbpf consumes the record whose callback fails, so ask for a
	 * flush only after storing, a few slots early: ring_buffer__poll()
	 * hands the error back without a flush, and the consume that
	 * follows may deliver another record before on_tick runs.
	 */
	if (t->queued >= QUEUE_SLOTS) {
		t->queue_drops++;
		return RUNLOOP_QUEUE_FULL;
	}
	t->queue[t->queued++] = *s;
	return t->queued >= QUEUE_SLOTS - QUEUE_HEADROOM ? RUNLOOP_QUEUE_FULL : 0;
}

static int on_tick(void *ctx)
{
	struct trace *t = ctx;
	FILE *f = t->spans_out ? outfile__fp(t->spans_out) : NULL;
	int err = 0;

	for (unsigned int i = 0; i < t->queued && f && !err; i++) {
		const struct sonde_span *s = &t->queue[i];
		const struct tfunc *fn = &t->funcs[s->func_id];
		struct span_record r = {
			.trace_id_hi = s->trace_id_hi,
			.trace_id_lo = s->trace_id_lo,
			.span_id = s->span_id,
			.parent_span_id = s->parent_span_id,
			.start_unix_ns = s->start_ns + t->mono_to_real,
			.end_unix_ns = s->end_ns + t->mono_to_real,
			.pid = s->pid,
			.tid = s->tid,
			.name = fn->name,
			.filepath = fn->file,
		};

		err = span_json__write(f, &r);
		if (err)
			log_err("trace: failed to write span to '%s': %s", t->o->spans_path,
				strerror(-err));
		else
			t->spans_written++;
	}
	t->queued = 0;
	return err;
}

/* The id of function @name in @file, added if new. */
static int func_id(struct trace *t, const char *name, const char *file)
{
	struct tfunc *grown;

	for (size_t i = 0; i < t->nfuncs; i++)
		if (!strcmp(t->funcs[i].name, name) && !strcmp(t->funcs[i].file, file))
			return (int)i;
	grown = realloc(t->funcs, (t->nfuncs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	t->funcs = grown;
	grown[t->nfuncs].name = strdup(name);
	grown[t->nfuncs].file = strdup(file);
	grown[t->nfuncs].hist = hist__new();
	if (!grown[t->nfuncs].name || !grown[t->nfuncs].file || !grown[t->nfuncs].hist) {
		free(grown[t->nfuncs].name);
		free(grown[t->nfuncs].file);
		hist__free(grown[t->nfuncs].hist);
		return -ENOMEM;
	}
	return (int)t->nfuncs++;
}

static int add_probe(struct trace *t, uint32_t id, pid_t pid, const char *path, uint64_t off,
		     const char *spec)
{
	struct tprobe *grown;

	for (size_t i = 0; i < t->nprobes; i++)
		if (t->probes[i].func_id == id && t->probes[i].pid == pid)
			return 0;
	grown = realloc(t->probes, (t->nprobes + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	t->probes = grown;
	grown[t->nprobes] = (struct tprobe){id, pid, strdup(path), off, spec};
	if (!grown[t->nprobes].path)
		return -ENOMEM;
	t->nprobes++;
	return 0;
}

/* Resolve every -f for one PID (or, with pid <= 0, for the command @exe). */
static int resolve_for(struct trace *t, pid_t pid, const char *exe, pid_t attach_pid)
{
	const struct trace_opts *o = t->o;
	char path[PATH_MAX + 32], display[PATH_MAX];
	int err;

	for (int i = 0; i < o->nfuncs; i++) {
		const struct trace_func_spec *sp = &o->funcs[i];
		struct uprobe_func *fns = NULL;
		size_t n = 0;

		err = uprobe_resolve_target(sp->arg, sp->target, pid, exe, path, sizeof(path),
					    display, sizeof(display));
		if (err)
			return err;
		err = uprobe_resolve_funcs(sp->arg, path, display, sp->func, o->max_probes, &fns,
					   &n);
		if (err)
			return err;
		for (size_t j = 0; j < n && !err; j++) {
			int id = func_id(t, fns[j].name, display);

			err = id < 0 ? id
				     : add_probe(t, id, attach_pid, path, fns[j].offset, sp->arg);
		}
		uprobe_funcs_free(fns, n);
		if (err) {
			log_err("trace: failed to plan probes: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

static int resolve_all(struct trace *t)
{
	const pid_t *pids;
	char exe[PATH_MAX];
	int n, err;

	pids = target__pids(t->target, &n);
	if (target__launched(t->target)) {
		err = uprobe_find_exe(t->o->t.cmd[0], exe, sizeof(exe));
		if (err) {
			log_err("trace: cannot find command '%s': %s", t->o->t.cmd[0],
				strerror(-err));
			return err;
		}
		return resolve_for(t, 0, exe, pids[0]);
	}
	for (int i = 0; i < n; i++) {
		err = resolve_for(t, pids[i], NULL, pids[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Salt for span and trace ids: ids must differ between runs. */
static uint64_t random_u64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	return v;
}

static int load_bpf(struct trace *t)
{
	const struct trace_opts *o = t->o;
	unsigned int nslots = 1;
	int err;

	/* Per-thread slots are found by tid & mask: round up to a power of two. */
	while (nslots < o->max_threads)
		nslots <<= 1;
	t->skel = trace_bpf__open();
	if (!t->skel) {
		err = -errno;
		log_err("trace: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	t->skel->rodata->emit_spans = o->spans_path != NULL;
	t->skel->rodata->max_depth = o->max_depth;
	t->skel->rodata->nfuncs = t->nfuncs;
	t->skel->rodata->wakeup_bytes = (uint64_t)o->ring_kib * 1024 / 4;
	t->skel->rodata->slot_mask = nslots - 1;
	t->skel->rodata->id_salt = random_u64();
	t->skel->rodata->trace_salt = random_u64() | 1;
	bpf_map__set_max_entries(t->skel->maps.threads, nslots);
	bpf_map__set_max_entries(t->skel->maps.hists, t->nfuncs);
	/* Without --spans nothing is ever sent: keep the ring at one page. */
	bpf_map__set_max_entries(t->skel->maps.spans,
				 o->spans_path ? o->ring_kib * 1024 : (unsigned int)getpagesize());
	err = trace_bpf__load(t->skel);
	if (err) {
		log_err("trace: failed to load BPF programs: %s (is the kernel built with BTF "
			"and uprobe support? run with -vv for details)",
			strerror(-err));
		return err;
	}
	return 0;
}

static int push_link(struct trace *t, struct bpf_link *l)
{
	struct bpf_link **grown = realloc(t->links, (t->nlinks + 1) * sizeof(*grown));

	if (!grown) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	t->links = grown;
	t->links[t->nlinks++] = l;
	return 0;
}

static int attach_all(struct trace *t)
{
	struct bpf_link *l;
	int err;

	l = bpf_program__attach(t->skel->progs.on_exit);
	if (!l) {
		err = -errno;
		log_err("trace: failed to attach sched_process_exit: %s", strerror(errno));
		return err;
	}
	err = push_link(t, l);
	if (err)
		return err;
	for (size_t i = 0; i < t->nprobes; i++) {
		const struct tprobe *p = &t->probes[i];

		for (int ret = 0; ret < 2; ret++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = p->func_id,
				    .retprobe = ret != 0);
			struct bpf_program *prog =
				ret ? t->skel->progs.on_return : t->skel->progs.on_entry;

			l = bpf_program__attach_uprobe_opts(prog, p->pid, p->path, p->offset, &uo);
			if (!l) {
				err = -errno;
				log_err("cannot trace '%s': failed to attach %s to %s at offset "
					"0x%llx: %s",
					p->spec, ret ? "uretprobe" : "uprobe",
					t->funcs[p->func_id].file, (unsigned long long)p->offset,
					strerror(errno));
				return err;
			}
			err = push_link(t, l);
			if (err)
				return err;
		}
	}
	return 0;
}

static void detach_all(struct trace *t)
{
	for (size_t i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	free(t->links);
	t->links = NULL;
	t->nlinks = 0;
}

static uint64_t stat_sum(struct trace *t, enum sonde_trace_stat idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals, sum = 0;
	__u32 key = idx;

	if (ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map__lookup_elem(t->skel->maps.stats, &key, sizeof(key), vals,
				  ncpu * sizeof(*vals), 0)) {
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	}
	free(vals);
	return sum;
}

static int read_hists(struct trace *t)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sonde_hist *vals;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (size_t i = 0; i < t->nfuncs; i++) {
		__u32 key = i;

		if (bpf_map__lookup_elem(t->skel->maps.hists, &key, sizeof(key), vals,
					 ncpu * sizeof(*vals), 0)) {
			err = -errno;
			log_err("trace: failed to read the histogram of %s: %s", t->funcs[i].name,
				strerror(errno));
			break;
		}
		for (int c = 0; c < ncpu; c++)
			hist__merge(t->funcs[i].hist, &vals[c]);
	}
	free(vals);
	return err;
}

/* Slots of the per-thread table still claimed, and how many are mid-call. */
static void count_threads(struct trace *t, uint64_t *threads, uint64_t *busy)
{
	int fd = bpf_map__fd(t->skel->maps.threads);
	size_t vsz = bpf_map__value_size(t->skel->maps.threads);
	__u32 n = bpf_map__max_entries(t->skel->maps.threads);
	void *val = malloc(vsz);

	*threads = *busy = 0;
	if (!val || vsz < sizeof(struct sonde_thread_hdr)) {
		free(val);
		return;
	}
	for (__u32 key = 0; key < n; key++) {
		const struct sonde_thread_hdr *h = val;

		if (bpf_map_lookup_elem(fd, &key, val) || !h->owner_tid)
			continue;
		(*threads)++;
		if (h->depth)
			(*busy)++;
	}
	free(val);
}

static int print_summary(struct trace *t, FILE *f)
{
	char p50[32], p90[32], p99[32], max[32];
	int err = 0;

	for (size_t i = 0; i < t->nfuncs && !err; i++) {
		const struct hist *h = t->funcs[i].hist;

		fprintf(f, "%s (%s)\n", t->funcs[i].name, t->funcs[i].file);
		fprintf(f, "    calls %llu  p50 %s  p90 %s  p99 %s  max %s\n",
			(unsigned long long)hist__count(h),
			hist_fmt_ns(hist__percentile(h, 50), p50, sizeof(p50)),
			hist_fmt_ns(hist__percentile(h, 90), p90, sizeof(p90)),
			hist_fmt_ns(hist__percentile(h, 99), p99, sizeof(p99)),
			hist_fmt_ns(hist__max(h), max, sizeof(max)));
		if (hist__count(h))
			err = hist__print_log2(h, f);
		fputc('\n', f);
	}
	fflush(f);
	return err;
}

static void print_stats(struct trace *t)
{
	uint64_t calls = stat_sum(t, SONDE_TSTAT_CALLS), timed = stat_sum(t, SONDE_TSTAT_TIMED);
	uint64_t drops = stat_sum(t, SONDE_TSTAT_RB_DROPS);
	uint64_t deep = stat_sum(t, SONDE_TSTAT_DEPTH_OVERFLOW);
	uint64_t unmatched = stat_sum(t, SONDE_TSTAT_UNMATCHED);
	uint64_t abandoned = stat_sum(t, SONDE_TSTAT_ABANDONED);
	uint64_t exitf = stat_sum(t, SONDE_TSTAT_EXIT_FRAMES);
	uint64_t full = stat_sum(t, SONDE_TSTAT_THREADS_FULL);
	uint64_t threads, busy;

	count_threads(t, &threads, &busy);
	fprintf(stderr,
		"sonde: %zu functions, %llu calls, %llu timed, %llu spans written, %llu spans "
		"lost, %llu threads tracked (%llu mid-call)\n",
		t->nfuncs, (unsigned long long)calls, (unsigned long long)timed,
		(unsigned long long)t->spans_written, (unsigned long long)(drops + t->queue_drops),
		(unsigned long long)threads, (unsigned long long)busy);
	if (deep)
		log_warn("trace: %llu calls nested deeper than --max-depth %u were counted but "
			 "not timed; raise --max-depth (up to %d)",
			 (unsigned long long)deep, t->o->max_depth, TRACE_MAX_DEPTH);
	if (full)
		log_warn("trace: %llu calls not timed: no free per-thread slot (more than "
			 "--max-threads %u threads, or tids colliding); raise --max-threads",
			 (unsigned long long)full, t->o->max_threads);
	if (abandoned || exitf)
		log_info("trace: %llu calls never returned (longjmp or exception), %llu were "
			 "active when their thread exited",
			 (unsigned long long)abandoned, (unsigned long long)exitf);
	if (unmatched)
		log_info("trace: %llu returns had no matching entry (entered before attach "
			 "or deeper than --max-depth)",
			 (unsigned long long)unmatched);
	if (drops)
		log_warn("trace: %llu spans lost to a full ring buffer (they are in the "
			 "histograms); raise --ring-size",
			 (unsigned long long)drops);
	if (t->queue_drops)
		log_warn("trace: %llu spans dropped by the collector (queue full)",
			 (unsigned long long)t->queue_drops);
	if (t->bad_events)
		log_warn("trace: %llu malformed span events ignored",
			 (unsigned long long)t->bad_events);
}

static void trace_free(struct trace *t)
{
	detach_all(t);
	ring_buffer__free(t->rb);
	trace_bpf__destroy(t->skel);
	target__free(t->target);
	outfile__free(t->spans_out);
	for (size_t i = 0; i < t->nfuncs; i++) {
		free(t->funcs[i].name);
		free(t->funcs[i].file);
		hist__free(t->funcs[i].hist);
	}
	free(t->funcs);
	for (size_t i = 0; i < t->nprobes; i++)
		free(t->probes[i].path);
	free(t->probes);
	free(t->queue);
}

int cmd_trace(int argc, char **argv)
{
	struct trace_opts o;
	struct trace t;
	struct runloop_opts lo;
	int err, reason;

	err = cli_parse_trace(argc, argv, &o);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	log_set_level(o.verbose >= 2 ? LOG_DEBUG : o.verbose ? LOG_INFO : LOG_WARN);
	memset(&t, 0, sizeof(t));
	t.o = &o;

	err = privs_check_bpf();
	if (err)
		goto out;
	if (o.spans_path) {
		err = outfile__open(o.spans_path, &t.spans_out);
		if (err)
			goto out;
	}
	privs_bump_memlock();
	t.queue = calloc(QUEUE_SLOTS, sizeof(*t.queue));
	if (!t.queue) {
		err = -ENOMEM;
		log_err("trace: failed to allocate the span queue: out of memory");
		goto out;
	}
	err = target__new(&o.t, &t.target);
	if (err)
		goto out;
	err = resolve_all(&t);
	if (err)
		goto out;
	err = load_bpf(&t);
	if (err)
		goto out;
	if (o.spans_path) {
		t.rb = ring_buffer__new(bpf_map__fd(t.skel->maps.spans), on_event, &t, NULL);
		if (!t.rb) {
			err = -errno;
			log_err("trace: failed to create ring buffer: %s", strerror(errno));
			goto out;
		}
	}
	err = attach_all(&t);
	if (err)
		goto out;

	runloop_install_signals();
	t.mono_to_real = clock_mono_to_real_ns();
	err = target__start(t.target);
	if (err)
		goto out;
	log_info("trace: %zu functions, %zu uprobe pairs attached", t.nfuncs, t.nprobes);

	memset(&lo, 0, sizeof(lo));
	lo.rb = t.rb;
	lo.target = t.target;
	lo.duration_s = o.t.duration_s;
	lo.on_tick = on_tick;
	lo.ctx = &t;
	reason = runloop__run(&lo);
	/* Detach first: the histograms and stats are final from here on. */
	detach_all(&t);
	if (reason < 0) {
		err = reason;
		goto out;
	}
	if (t.rb) {
		/* Spans submitted between the last poll and the detach. */
		err = ring_buffer__consume(t.rb);
		while (err == RUNLOOP_QUEUE_FULL) {
			on_tick(&t);
			err = ring_buffer__consume(t.rb);
		}
		err = on_tick(&t);
		if (err)
			goto out;
	}
	if (target__launched(t.target) && reason == RUNLOOP_TARGET_EXIT &&
	    target__exit_status(t.target))
		log_warn("trace: '%s' exited with status %d", o.t.cmd[0],
			 target__exit_status(t.target));
	err = read_hists(&t);
	if (err)
		goto out;
	err = print_summary(&t, stdout);
	if (err)
		goto out;
	print_stats(&t);
	if (t.spans_out) {
		err = outfile__commit(t.spans_out);
		if (err)
			goto out;
	}
out:
	trace_free(&t);
	trace_opts_free(&o);
	return err;
}
