// SPDX-License-Identifier: MIT
/*
 * sonde trace: function latency through uprobes.
 *
 * Every -f resolves to (file, offset) pairs; each distinct function gets
 * an id, passed to BPF as the attach cookie of an entry uprobe and a
 * uretprobe per target PID. Latency histograms are built in the kernel
 * and read once at the end; span events exist only with --spans or OTLP,
 * and the ring-buffer callback only queues them for on_tick to write.
 *
 * Exporters read one metrics registry, refreshed from the BPF maps once a
 * second in on_tick; StatsD and OTLP metrics go out every
 * --export-interval and once more at exit. None of them can stall the
 * loop: Prometheus answers from libmicrohttpd's thread, StatsD is a
 * non-blocking UDP send, OTLP only copies into its sender thread's bounded
 * queue. Their failures are summed into one log line per interval.
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

#include "sonde/bpf_stats.h"
#include "sonde/cli.h"
#include "sonde/commands.h"
#include "sonde/events.h"
#include "sonde/export_otlp.h"
#include "sonde/export_prom.h"
#include "sonde/export_statsd.h"
#include "sonde/hist.h"
#include "sonde/log.h"
#include "sonde/metrics.h"
#include "sonde/outfile.h"
#include "sonde/privs.h"
#include "sonde/procstat.h"
#include "sonde/runloop.h"
#include "sonde/spans.h"
#include "sonde/target.h"
#include "sonde/uprobe_resolve.h"
#include "trace.skel.h"

#define QUEUE_SLOTS 4096
#define QUEUE_HEADROOM 16

#define NS_PER_S 1000000000ull
/* How often the registry is refreshed from the BPF maps (what /metrics sees). */
#define UPDATE_NS NS_PER_S

/*
 * sonde_function_duration_seconds buckets: the log2 rows of the kernel
 * histogram from 2^8 ns (256 ns, under a uprobe's own cost) to 2^35 ns
 * (34 s). The kernel's buckets start at powers of two, so each count is
 * exact for "below the bound"; a call of exactly 2^k ns counts one bucket
 * up.
 */
#define DUR_MIN_LOG2 8
#define DUR_MAX_LOG2 35
#define DUR_NBOUNDS (DUR_MAX_LOG2 - DUR_MIN_LOG2 + 1)

#define M_DURATION "sonde_function_duration_seconds"
#define M_CALLS "sonde_function_calls_total"
#define M_EVENTS "sonde_events_total"
#define M_DROPPED "sonde_events_dropped_total"
#define M_EXPORT_ERRORS "sonde_export_errors_total"
#define M_EXPORT_DROPPED "sonde_export_dropped_total"

/* One probed function: one histogram, one attach cookie (its index). */
struct tfunc {
	char *name;
	char *file; /* as the target sees it */
	struct hist *hist;
};

/* A target process as its process_* metrics name it. */
struct tproc {
	pid_t pid;
	char comm[SONDE_COMM_LEN];
	bool gone; /* exited: its last values stay published */
};

/* Exporter failure counters, to report what changed in each interval. */
struct export_tally {
	uint64_t otlp_failed;	    /* requests */
	uint64_t otlp_spans_lost;   /* dropped: queue full, rejected, given up */
	uint64_t otlp_metrics_lost; /* snapshots */
	uint64_t statsd_errors;	    /* packets */
	uint64_t statsd_dropped;    /* lines */
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
	uint64_t spans_seen;  /* span events taken from the ring */

	/* Exporters; the registry exists when one of them is on. */
	struct metrics *metrics;
	struct prom_server *prom;
	struct statsd *statsd;
	struct otlp *otlp;
	struct tproc *procs;
	int nprocs;
	char exe[PATH_MAX]; /* the launched command's file, for OTLP's resource */
	double dur_bounds[DUR_NBOUNDS];
	uint64_t next_update_ns, next_export_ns, export_ns;
	struct export_tally reported; /* failure counters at the last report */
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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Write the queued spans to --spans and hand them to OTLP. */
static int drain_queue(struct trace *t)
{
	FILE *f = t->spans_out ? outfile__fp(t->spans_out) : NULL;
	int err = 0;

	t->spans_seen += t->queued;
	for (unsigned int i = 0; i < t->queued && !err; i++) {
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

		/* A full OTLP queue counts the span as dropped: nothing to do here. */
		if (t->otlp)
			otlp__push_span(t->otlp, &r);
		if (!f)
			continue;
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

static void update_metrics(struct trace *t);
static void export_metrics(struct trace *t);
static void report_export_failures(struct trace *t, const char *when);

static int on_tick(void *ctx)
{
	struct trace *t = ctx;
	int err = drain_queue(t);
	uint64_t now;

	if (!t->metrics)
		return err;
	now = mono_ns();
	if (now >= t->next_update_ns) {
		t->next_update_ns = now + UPDATE_NS;
		update_metrics(t);
	}
	if (now >= t->next_export_ns) {
		/* On a fixed schedule, so reports come once per interval. */
		t->next_export_ns += t->export_ns;
		if (t->next_export_ns <= now)
			t->next_export_ns = now + t->export_ns;
		export_metrics(t);
		report_export_failures(t, "in the last --export-interval");
	}
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
		snprintf(t->exe, sizeof(t->exe), "%s", exe);
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
	t->skel->rodata->emit_spans = o->spans_path || t->otlp;
	t->skel->rodata->max_depth = o->max_depth;
	t->skel->rodata->nfuncs = t->nfuncs;
	t->skel->rodata->wakeup_bytes = (uint64_t)o->ring_kib * 1024 / 4;
	t->skel->rodata->slot_mask = nslots - 1;
	t->skel->rodata->id_salt = random_u64();
	t->skel->rodata->trace_salt = random_u64() | 1;
	bpf_map__set_max_entries(t->skel->maps.threads, nslots);
	bpf_map__set_max_entries(t->skel->maps.hists, t->nfuncs);
	/* Without spans to write or push nothing is sent: keep the ring at one page. */
	bpf_map__set_max_entries(t->skel->maps.spans, o->spans_path || t->otlp
							      ? o->ring_kib * 1024
							      : (unsigned int)getpagesize());
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

/*
 * Replace every function's histogram with the kernel's current totals
 * (read again each second for the exporters, and once at the end).
 */
static int read_hists(struct trace *t)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sonde_hist *vals;
	struct hist *h;
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
		h = hist__new();
		if (!h) {
			err = -ENOMEM;
			log_err("trace: failed to read the histogram of %s: %s", t->funcs[i].name,
				strerror(ENOMEM));
			break;
		}
		for (int c = 0; c < ncpu; c++)
			hist__merge(h, &vals[c]);
		hist__free(t->funcs[i].hist);
		t->funcs[i].hist = h;
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

/* ---- exporters -------------------------------------------------------- */

static bool otlp_wanted(const struct trace_opts *o)
{
	static const char *const vars[] = {
		"OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
	};

	if (o->otlp_endpoint)
		return true;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return true;
	}
	return false;
}

static int declare_families(struct trace *t)
{
	static const struct {
		const char *name, *help;
		enum metric_type type;
	} fams[] = {
		{M_DURATION, "Latency of the probed function (entry to return), in seconds.",
		 METRIC_HISTOGRAM},
		{M_CALLS, "Completed (timed) calls of the probed function.", METRIC_COUNTER},
		{M_EVENTS,
		 "Events sonde handled: kind=call uprobe entries, kind=span span events read.",
		 METRIC_COUNTER},
		{M_DROPPED,
		 "Events lost or left untimed, by reason (ring_full, queue_full, max_depth, "
		 "max_threads).",
		 METRIC_COUNTER},
		{M_EXPORT_ERRORS, "Failed export attempts (OTLP requests, StatsD packets).",
		 METRIC_COUNTER},
		{M_EXPORT_DROPPED,
		 "Data an exporter gave up on (OTLP spans or metric exports, StatsD lines).",
		 METRIC_COUNTER},
	};
	int err;

	for (int k = 0; k < DUR_NBOUNDS; k++)
		t->dur_bounds[k] = (double)(1ull << (DUR_MIN_LOG2 + k)) / 1e9;
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		bool h = fams[i].type == METRIC_HISTOGRAM;

		err = metrics__declare(t->metrics, fams[i].name, fams[i].type, fams[i].help,
				       h ? t->dur_bounds : NULL, h ? DUR_NBOUNDS : 0);
		if (err) {
			log_err("trace: failed to declare metric %s: %s", fams[i].name,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * The registry and the exporters that need nothing from the target
 * (--listen, --statsd): set up before anything is launched, so a port in
 * use fails the run before it starts.
 */
static int exporters_new(struct trace *t)
{
	const struct trace_opts *o = t->o;
	int err;

	if (!o->listen && !o->statsd && !otlp_wanted(o))
		return 0;
	t->metrics = metrics__new(o->max_series);
	if (!t->metrics) {
		log_err("trace: failed to create the metrics registry: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	err = declare_families(t);
	if (err)
		return err;
	if (o->listen) {
		err = prom_server__new(o->listen, t->metrics, &t->prom);
		if (err)
			return err;
		log_info("trace: serving /metrics on %s (port %u)", o->listen,
			 prom_server__port(t->prom));
	}
	if (o->statsd) {
		err = statsd__new(o->statsd, NULL, &t->statsd);
		if (err)
			return err;
	}
	return 0;
}

/* OTLP, once the target (its PID and executable) is known. */
static int otlp_start(struct trace *t)
{
	const struct trace_opts *o = t->o;
	const char *base = strrchr(t->exe, '/');
	struct otlp_opts oo;
	const pid_t *pids;
	int n, err;

	if (!otlp_wanted(o))
		return 0;
	pids = target__pids(t->target, &n);
	memset(&oo, 0, sizeof(oo));
	oo.endpoint = o->otlp_endpoint;
	/* A launched command is not exec'd yet: /proc/PID/exe would be sonde. */
	oo.exe_name = t->exe[0] ? (base ? base + 1 : t->exe) : NULL;
	oo.pid = n > 0 ? pids[0] : 0;
	oo.queue_spans = o->otlp_queue;
	/*
	 * The exporter logs the first failure of each kind with its reason;
	 * after that report_export_failures() sums them up once per interval.
	 */
	oo.log_interval_ms = UINT_MAX;
	err = otlp__new(&oo, &t->otlp);
	if (err)
		return err;
	log_info("trace: pushing OTLP spans to %s and metrics to %s",
		 otlp__url(t->otlp, OTLP_TRACES), otlp__url(t->otlp, OTLP_METRICS));
	return 0;
}

static int procs_new(struct trace *t)
{
	const pid_t *pids;
	int n;

	if (!t->metrics)
		return 0;
	pids = target__pids(t->target, &n);
	t->procs = calloc(n > 0 ? n : 1, sizeof(*t->procs));
	if (!t->procs) {
		log_err("trace: failed to allocate the process table: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		t->procs[i].pid = pids[i];
	t->nprocs = n;
	return 0;
}

static void read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

static void set_counter(struct trace *t, const char *name, const char *key, const char *val,
			uint64_t v)
{
	struct metric_label l = {key, val};

	/* -E2BIG (the series cap) is counted by the registry itself. */
	metrics__counter_set(t->metrics, name, key ? &l : NULL, key ? 1 : 0, (double)v);
}

/* A kernel histogram as sonde_function_duration_seconds buckets. */
static void publish_hist(struct trace *t, const struct tfunc *fn)
{
	struct metric_label l[2] = {{"function", fn->name}, {"binary", fn->file}};
	uint64_t counts[DUR_NBOUNDS + 1] = {0};

	for (uint32_t b = 0; b < SONDE_HIST_BUCKETS; b++) {
		uint64_t c = hist__bucket_count(fn->hist, b), lo;
		int j;

		if (!c)
			continue;
		/* The first bound 2^j above the bucket's lowest value holds all of it. */
		lo = hist_bucket_lo(b);
		j = lo ? sonde_hist_log2(lo) + 1 : 0;
		if (j < DUR_MIN_LOG2)
			j = DUR_MIN_LOG2;
		counts[j > DUR_MAX_LOG2 ? DUR_NBOUNDS : j - DUR_MIN_LOG2] += c;
	}
	metrics__histogram_set(t->metrics, M_DURATION, l, 2, counts, hist__count(fn->hist),
			       (double)hist__sum(fn->hist) / 1e9);
	metrics__counter_set(t->metrics, M_CALLS, l, 2, (double)hist__count(fn->hist));
}

static void tally(struct trace *t, struct export_tally *x)
{
	memset(x, 0, sizeof(*x));
	if (t->otlp) {
		struct otlp_stats st;

		otlp__stats(t->otlp, &st);
		x->otlp_failed = st.requests_failed;
		x->otlp_spans_lost = st.spans_dropped;
		x->otlp_metrics_lost = st.metric_exports_dropped;
	}
	if (t->statsd) {
		struct statsd_stats st;

		statsd__stats(t->statsd, &st);
		x->statsd_errors = st.send_errors;
		x->statsd_dropped = st.lines_dropped;
	}
}

/* Refresh the registry from the BPF maps, /proc and the exporters' counters. */
static void update_metrics(struct trace *t)
{
	struct export_tally x;

	if (!read_hists(t))
		for (size_t i = 0; i < t->nfuncs; i++)
			publish_hist(t, &t->funcs[i]);
	set_counter(t, M_EVENTS, "kind", "call",
		    bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_CALLS));
	set_counter(t, M_EVENTS, "kind", "span", t->spans_seen);
	set_counter(t, M_DROPPED, "reason", "ring_full",
		    bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_RB_DROPS));
	set_counter(t, M_DROPPED, "reason", "queue_full", t->queue_drops);
	set_counter(t, M_DROPPED, "reason", "max_depth",
		    bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_DEPTH_OVERFLOW));
	set_counter(t, M_DROPPED, "reason", "max_threads",
		    bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_THREADS_FULL));
	tally(t, &x);
	if (t->otlp) {
		struct metric_label l[2] = {{"exporter", "otlp"}, {"signal", "traces"}};

		set_counter(t, M_EXPORT_ERRORS, "exporter", "otlp", x.otlp_failed);
		metrics__counter_set(t->metrics, M_EXPORT_DROPPED, l, 2, (double)x.otlp_spans_lost);
		l[1].value = "metrics";
		metrics__counter_set(t->metrics, M_EXPORT_DROPPED, l, 2,
				     (double)x.otlp_metrics_lost);
	}
	if (t->statsd) {
		struct metric_label l[2] = {{"exporter", "statsd"}, {"signal", "metrics"}};

		set_counter(t, M_EXPORT_ERRORS, "exporter", "statsd", x.statsd_errors);
		metrics__counter_set(t->metrics, M_EXPORT_DROPPED, l, 2, (double)x.statsd_dropped);
	}
	for (int i = 0; i < t->nprocs; i++) {
		struct tproc *p = &t->procs[i];

		if (p->gone)
			continue;
		/* After exec: the launched command's name, not sonde's fork. */
		if (!p->comm[0])
			read_comm(p->pid, p->comm, sizeof(p->comm));
		if (procstat_publish(t->metrics, p->pid, p->comm) == -ESRCH)
			p->gone = true; /* keep its last values for the final export */
	}
}

/* One snapshot to StatsD and OTLP; both only copy or send without waiting. */
static void export_metrics(struct trace *t)
{
	struct metrics_snapshot *snap = NULL;
	int err;

	if (!t->statsd && !t->otlp)
		return;
	err = metrics__snapshot(t->metrics, &snap);
	if (err) {
		log_err("trace: failed to snapshot metrics: %s", strerror(-err));
		return;
	}
	if (t->statsd)
		statsd__flush(t->statsd, snap);
	if (t->otlp)
		otlp__push_metrics(t->otlp, snap);
	metrics_snapshot__free(snap);
}

/* One line for whatever failed since the last report, if anything did. */
static void report_export_failures(struct trace *t, const char *when)
{
	struct export_tally x, *r = &t->reported;
	char line[768];
	int len = 0;

	tally(t, &x);
	if (x.otlp_failed > r->otlp_failed || x.otlp_spans_lost > r->otlp_spans_lost ||
	    x.otlp_metrics_lost > r->otlp_metrics_lost)
		len += snprintf(
			line + len, sizeof(line) - len,
			"; otlp %s: %llu failed requests, %llu spans dropped (%llu in all), "
			"%llu metric exports dropped",
			otlp__url(t->otlp, OTLP_TRACES),
			(unsigned long long)(x.otlp_failed - r->otlp_failed),
			(unsigned long long)(x.otlp_spans_lost - r->otlp_spans_lost),
			(unsigned long long)x.otlp_spans_lost,
			(unsigned long long)(x.otlp_metrics_lost - r->otlp_metrics_lost));
	if (x.statsd_errors > r->statsd_errors || x.statsd_dropped > r->statsd_dropped)
		len += snprintf(line + len, sizeof(line) - len,
				"; statsd %s: %llu packets not sent, %llu lines dropped",
				t->o->statsd,
				(unsigned long long)(x.statsd_errors - r->statsd_errors),
				(unsigned long long)(x.statsd_dropped - r->statsd_dropped));
	*r = x;
	if (len)
		log_warn("trace: exporters failing %s%s", when, line);
}

/*
 * The last word of every exporter: final values to StatsD and OTLP, then
 * wait at most --flush-timeout for OTLP to deliver its queues. A failure
 * here is reported, not returned: the local outputs are already safe.
 */
static void exporters_finish(struct trace *t)
{
	struct otlp_stats st;

	if (!t->metrics)
		return;
	update_metrics(t);
	export_metrics(t);
	if (t->otlp && otlp__flush(t->otlp, (int)(t->o->flush_timeout_s * 1000)))
		log_warn("trace: otlp: failed to deliver everything within --flush-timeout %g s "
			 "(%s not answering in time)",
			 t->o->flush_timeout_s, otlp__url(t->otlp, OTLP_TRACES));
	report_export_failures(t, "since the last report");
	if (t->otlp) {
		otlp__stats(t->otlp, &st);
		log_info("trace: otlp: %llu of %llu spans and %llu of %llu metric exports "
			 "delivered",
			 (unsigned long long)st.spans_sent, (unsigned long long)st.spans_pushed,
			 (unsigned long long)st.metric_exports_sent,
			 (unsigned long long)st.metric_exports_pushed);
	}
	if (metrics__series_dropped(t->metrics))
		log_warn("trace: %llu metric series refused past --max-series %u; raise it",
			 (unsigned long long)metrics__series_dropped(t->metrics), t->o->max_series);
}

static void exporters_free(struct trace *t)
{
	/* The server reads the registry: it goes first. */
	prom_server__free(t->prom);
	otlp__free(t->otlp);
	statsd__free(t->statsd);
	metrics__free(t->metrics);
	free(t->procs);
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
	uint64_t calls = bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_CALLS),
		 timed = bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_TIMED);
	uint64_t drops = bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_RB_DROPS);
	uint64_t deep = bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_DEPTH_OVERFLOW);
	uint64_t unmatched = bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_UNMATCHED);
	uint64_t abandoned = bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_ABANDONED);
	uint64_t exitf = bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_EXIT_FRAMES);
	uint64_t full = bpf_stats_sum(t->skel->maps.stats, SONDE_TSTAT_THREADS_FULL);
	uint64_t threads, busy;

	count_threads(t, &threads, &busy);
	log_summary("%zu functions, %llu calls, %llu timed, %llu spans written, %llu spans "
		    "lost, %llu threads tracked (%llu mid-call)",
		    t->nfuncs, (unsigned long long)calls, (unsigned long long)timed,
		    (unsigned long long)t->spans_written,
		    (unsigned long long)(drops + t->queue_drops), (unsigned long long)threads,
		    (unsigned long long)busy);
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
	exporters_free(t);
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
	err = exporters_new(&t);
	if (err)
		goto out;
	err = target__new(&o.t, &t.target);
	if (err)
		goto out;
	err = resolve_all(&t);
	if (err)
		goto out;
	err = otlp_start(&t);
	if (err)
		goto out;
	err = procs_new(&t);
	if (err)
		goto out;
	err = load_bpf(&t);
	if (err)
		goto out;
	if (o.spans_path || t.otlp) {
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
	t.export_ns = (uint64_t)(o.export_interval_s * NS_PER_S);
	t.next_update_ns = mono_ns();
	t.next_export_ns = t.next_update_ns + t.export_ns;

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
			drain_queue(&t);
			err = ring_buffer__consume(t.rb);
		}
		err = drain_queue(&t);
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
	exporters_finish(&t);
out:
	trace_free(&t);
	trace_opts_free(&o);
	return err;
}
