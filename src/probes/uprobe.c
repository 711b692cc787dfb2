// SPDX-License-Identifier: MIT
/*
 * The uprobe probe: plans (function, PID) pairs from the -f specs,
 * attaches an entry uprobe and a uretprobe to each, reads the in-kernel
 * histograms, and turns span events into span records for the session's
 * sink. The ring-buffer callback only queues span events.
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

#include "base/log.h"
#include "base/outfile.h"
#include "base/strbuf.h"
#include "model/anomaly.h"
#include "model/callprof.h"
#include "model/hist.h"
#include "model/metrics.h"
#include "model/profile.h"
#include "model/spans.h"
#include "probes/bpf_stats.h"
#include "probes/rqueue.h"
#include "probes/stacks.h"
#include "probes/uprobe.h"
#include "probes/uprobe_go.h"
#include "probes/uprobe_multi.h"
#include "probes/uprobe_resolve.h"
#include "uprobe.skel.h"

/* Span events queued between two ticks. */
#define QUEUE_SLOTS 4096
/* After the disarm, how long calls still running get to return and be timed. */
#define DISARM_GRACE_MS 250
/*
 * Between the last attach and the arm. Right after uprobes go in, the
 * kernel sometimes misses a hit (a caller's entry unseen while its callee's
 * is seen: measured under load, 4 runs in 25 counted one extra b() under a
 *() with no settle time, none in 25 with 50 ms).
 */
#define ARM_SETTLE_MS 50

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
#define M_ANOMALY "sonde_latency_anomaly"
#define M_ANOMALIES "sonde_latency_anomalies_total"
#define M_SPANS_LOST "sonde_spans_lost_total"

/* One probed function: one histogram, one attach cookie (its index). */
struct tfunc {
	char *name;
	char *file; /* as the target sees it */
	char *src;  /* its source file, NULL if unknown */
	uint32_t line;
	struct hist *hist;
	const char *glob; /* the -f glob that matched it, NULL for a plain name */
	int64_t go_stack_adj; /* Go: see struct uprobe_go_func; -1 none */
	/* --watch: the detector, the cumulative counts at the last window. */
	struct anomaly *anomaly;
	uint64_t *seen;
	uint64_t anomalies;
	bool in_anomaly; /* the last window was one */
};

/* One (function, PID) pair to attach an entry and a return probe to. */
enum tprobe_kind {
	TP_CALL = 0, /* an entry uprobe and a uretprobe */
	TP_GO_ENTRY, /* Go: an entry uprobe, frames per goroutine */
	TP_GO_RET,   /* Go: a uprobe on one RET instruction of the function */
};

struct tprobe {
	uint32_t func_id;
	pid_t pid;
	char *path; /* the file, as we open it */
	uint64_t offset;
	const char *spec;
	enum tprobe_kind kind;
};

struct uprobe {
	struct probe *p;
	const struct uprobe_opts *o;
	struct uprobe_bpf *skel;

	struct tfunc *funcs;
	size_t nfuncs;
	struct tprobe *probes;
	size_t nprobes;
	struct bpf_link **links;
	size_t nlinks;
	int *mfds; /* uprobe_multi links */
	size_t nmfds;
	bool multi; /* programs loaded for uprobe_multi links */
	bool go;    /* Go functions: the goroutine programs are loaded */
	char *skipped; /* functions the kernel refused to probe, comma separated */
	size_t nskipped;

	struct rqueue q;
	/*
	 * With stack probes, spans wait one tick here (see uprobe_tick), and
	 * the samples of each call are counted, or filtered, by @calls; each
	 * profile sample type t adds to the span attribute sample_kind[t]
	 * (enum span_samples, -1 none), samples_mask those there are.
	 */
	struct rqueue later;
	struct callprof *calls;
	int8_t sample_kind[PROFILE_MAX_TYPES];
	uint32_t samples_mask;
	bool sink;  /* the session takes spans (--spans, OTLP) */
	bool spans; /* span events are sent: a sink, or the slow-call filter */
	uint64_t spans_written; /* accepted by the session's sink */
	uint64_t spans_seen;	/* span events taken from the ring */
	uint64_t bad_events;
	/* CLOCK_MONOTONIC just before and just after each store of armed. */
	uint64_t arm_ns[2], disarm_ns[2];
	double dur_bounds[DUR_NBOUNDS];
};

void uprobe_opts_default(struct uprobe_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_probes = 64;
	o->max_depth = TRACE_MAX_DEPTH;
	o->max_threads = 4096;
	o->ring_kib = 4096;
	o->anomaly_alpha = 1e-3;
	o->anomaly_min_change = 0.2;
	o->max_held = TRACE_MAX_HELD;
}

void uprobe_opts_free(struct uprobe_opts *o)
{
	for (int i = 0; i < o->nfuncs; i++) {
		free(o->funcs[i].target);
		free(o->funcs[i].func);
	}
	free(o->funcs);
	o->funcs = NULL;
	o->nfuncs = 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct uprobe *u = ctx;
	const struct sonde_span *s = data;

	if (len < sizeof(*s) || s->kind != SONDE_EV_SPAN || s->func_id >= u->nfuncs) {
		u->bad_events++;
		return 0;
	}
	return rqueue__push(&u->q, s, sizeof(*s));
}

/* The samples the stack probes took in the call of @s, into @r; its end to the filter. */
static int call_samples(struct uprobe *u, const struct sonde_span *s, struct span_record *r)
{
	struct callprof_end e = {s->span_id, s->parent_span_id, s->end_ns - s->start_ns};
	struct callprof_totals t;
	int err;

	err = callprof__end(u->calls, &e, &t);
	if (err) {
		log_err("trace: failed to keep the samples of a call: %s", strerror(-err));
		return err;
	}
	r->samples_mask = u->samples_mask;
	for (int k = 0; k < PROFILE_MAX_TYPES; k++)
		if (u->sample_kind[k] >= 0)
			r->samples[u->sample_kind[k]] += t.values[k];
	return 0;
}

/* Hand the spans queued in @q to the session (--spans file, OTLP). */
static int hand_over(struct probe *p, struct rqueue *q)
{
	struct uprobe *u = p->priv;
	const struct sonde_span *s;
	size_t off, len;
	int err = 0;

	rqueue_for_each(q, off, s, len)
	{
		const struct tfunc *fn = &u->funcs[s->func_id];
		struct span_record r = {
			.trace_id_hi = s->trace_id_hi,
			.trace_id_lo = s->trace_id_lo,
			.span_id = s->span_id,
			.parent_span_id = s->parent_span_id,
			.start_unix_ns = s->start_ns + p->host->mono_to_real,
			.end_unix_ns = s->end_ns + p->host->mono_to_real,
			.pid = s->pid,
			.tid = s->tid,
			.name = fn->name,
			.filepath = fn->file,
			.source_file = fn->src,
			.source_line = fn->line,
		};

		u->spans_seen++;
		if (u->calls) {
			err = call_samples(u, s, &r);
			if (err)
				break;
		}
		if (!p->host->span)
			continue;
		err = p->host->span(p->host->span_ctx, &r);
		if (err < 0)
			break;
		u->spans_written += err;
		err = 0;
	}
	rqueue__clear(q);
	return err;
}

static int uprobe_tick(struct probe *p)
{
	struct uprobe *u = p->priv;
	struct rqueue t;
	int err;

	if (!u->calls)
		return hand_over(p, &u->q);
	/*
	 * Spans go out one tick late: the session reads the span ring before
	 * the sample rings and ticks every probe after each read, so by now
	 * every sample taken in these calls has been added, and each span
	 * carries its whole count (and the filter decides on all of them).
	 */
	err = hand_over(p, &u->later);
	t = u->later;
	u->later = u->q;
	u->q = t;
	return err;
}

/* The id of function @fn in @file, added if new. */
static int func_id(struct uprobe *u, const struct uprobe_func *fn, const char *file)
{
	const char *name = fn->name;
	struct tfunc *grown;

	for (size_t i = 0; i < u->nfuncs; i++)
		if (!strcmp(u->funcs[i].name, name) && !strcmp(u->funcs[i].file, file))
			return (int)i;
	grown = realloc(u->funcs, (u->nfuncs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	u->funcs = grown;
	memset(&grown[u->nfuncs], 0, sizeof(*grown));
	grown[u->nfuncs].go_stack_adj = -1;
	grown[u->nfuncs].name = strdup(name);
	grown[u->nfuncs].file = strdup(file);
	/* Best effort: a span without it just has no code.file.path. */
	grown[u->nfuncs].src = fn->src ? strdup(fn->src) : NULL;
	grown[u->nfuncs].line = fn->line;
	grown[u->nfuncs].hist = hist__new();
	if (!grown[u->nfuncs].name || !grown[u->nfuncs].file || !grown[u->nfuncs].hist) {
		free(grown[u->nfuncs].name);
		free(grown[u->nfuncs].file);
		free(grown[u->nfuncs].src);
		hist__free(grown[u->nfuncs].hist);
		return -ENOMEM;
	}
	return (int)u->nfuncs++;
}

static int add_probe(struct uprobe *u, uint32_t id, pid_t pid, const char *path, uint64_t off,
		     const char *spec, enum tprobe_kind kind)
{
	struct tprobe *grown;

	for (size_t i = 0; i < u->nprobes; i++)
		if (u->probes[i].func_id == id && u->probes[i].pid == pid &&
		    u->probes[i].offset == off && u->probes[i].kind == kind)
			return 0;
	grown = realloc(u->probes, (u->nprobes + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	u->probes = grown;
	grown[u->nprobes] = (struct tprobe){id, pid, strdup(path), off, spec, kind};
	if (!grown[u->nprobes].path)
		return -ENOMEM;
	u->nprobes++;
	return 0;
}

/*
 * A Go function: an entry probe, and a probe on each RET (never a
 * uretprobe, which crashes Go). One without RET never returns: skipped.
 */
static int add_go_probes(struct uprobe *u, uint32_t id, pid_t pid, const char *path,
			 uint64_t off, const char *spec)
{
	struct uprobe_go_func gf;
	int err;

	err = uprobe_go_func(path, off, &gf);
	if (err || !gf.nrets) {
		log_warn("trace: cannot time Go function %s: %s", u->funcs[id].name,
			 err == -ENOENT ? "no sized symbol in .symtab or Go's function table"
			 : err		? strerror(-err)
					: "it has no RET instruction (it never returns)");
		uprobe_go_func_free(&gf);
		return 0;
	}
	u->funcs[id].go_stack_adj = gf.stack_adj;
	/* At the prologue's jump, which the kernel emulates (see uprobe_go.h). */
	err = add_probe(u, id, pid, path, gf.entry_probe, spec, TP_GO_ENTRY);
	for (size_t i = 0; i < gf.nrets && !err; i++)
		err = add_probe(u, id, pid, path, gf.rets[i], spec, TP_GO_RET);
	uprobe_go_func_free(&gf);
	u->go = true;
	return err;
}

/* Resolve every -f for one PID (or, with pid <= 0, for the command @exe). */
static int resolve_for(struct uprobe *u, pid_t pid, const char *exe, pid_t attach_pid)
{
	const struct uprobe_opts *o = u->o;
	struct uprobe_resolved *r = malloc(sizeof(*r));
	bool go;
	int err = r ? 0 : -ENOMEM;

	for (int i = 0; i < o->nfuncs && !err; i++) {
		const struct trace_func_spec *sp = &o->funcs[i];

		err = uprobe_resolve_spec(sp->arg, sp->target, sp->func, pid, exe, o->max_probes,
					  r);
		if (err)
			break;
		go = uprobe_go_binary(r->path);
		/* Spans name the source file (code.file.path): read DWARF once a file. */
		if (u->sink)
			uprobe_resolve_sources(r->path, r->funcs, r->n);
		for (size_t j = 0; j < r->n && !err; j++) {
			int id = func_id(u, &r->funcs[j], r->display);

			if (id < 0) {
				err = id;
				break;
			}
			if (uprobe_is_glob(sp->func))
				u->funcs[id].glob = sp->arg;
			if (go)
				err = add_go_probes(u, id, attach_pid, r->path, r->funcs[j].offset,
						    sp->arg);
			else
				err = add_probe(u, id, attach_pid, r->path, r->funcs[j].offset,
						sp->arg, TP_CALL);
		}
		uprobe_funcs_free(r->funcs, r->n);
		if (err)
			log_err("trace: failed to plan probes: %s", strerror(-err));
	}
	free(r);
	return err;
}

static int resolve_all(struct uprobe *u)
{
	const struct probe_targets *t = &u->p->host->targets;
	int err;

	if (t->all || t->dynamic)
		/*
		 * Every process (-a), or the agent's targets, which come and
		 * go (the target map filters): each function names its file
		 * as sonde sees it, a short name one of sonde's own libraries.
		 */
		return resolve_for(u, 0, "/proc/self/exe", -1);
	if (t->launched) {
		if (!t->exe) {
			log_err("trace: cannot find command '%s': %s", t->cmd, strerror(ENOENT));
			return -ENOENT;
		}
		/*
		 * For every process, filtered by the target map in the kernel:
		 * children count too, whatever they exec (a library's probes
		 * reach every process that maps it, dlopen() included; other
		 * processes pay a uprobe hit and a map lookup per call).
		 */
		return resolve_for(u, 0, t->exe, t->follow ? -1 : t->pids[0]);
	}
	for (int i = 0; i < t->npids; i++) {
		err = resolve_for(u, t->pids[i], NULL, t->pids[i]);
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

static int load_bpf(struct uprobe *u)
{
	const struct uprobe_opts *o = u->o;
	unsigned int nslots = 1;
	int err;

	/* Per-thread slots are found by tid & mask: round up to a power of two. */
	while (nslots < o->max_threads)
		nslots <<= 1;
	u->skel = uprobe_bpf__open();
	if (!u->skel) {
		err = -errno;
		log_err("trace: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	u->skel->rodata->filter_targets =
		(u->p->host->targets.launched && u->p->host->targets.follow) ||
		u->p->host->targets.dynamic;
	err = probe_reuse_targets(u->p->host, u->skel->maps.targets, "trace");
	if (err)
		return err;
	u->skel->rodata->pidns_dev = u->p->host->pidns.dev;
	u->skel->rodata->pidns_ino = u->p->host->pidns.ino;
	u->skel->rodata->emit_spans = u->spans;
	u->skel->rodata->make_ids = u->spans || u->calls;
	u->skel->rodata->save_ret = u->calls != NULL;
	u->skel->rodata->max_depth = o->max_depth;
	u->skel->rodata->nfuncs = u->nfuncs;
	u->skel->rodata->wakeup_bytes = (uint64_t)o->ring_kib * 1024 / 4;
	u->skel->rodata->slot_mask = nslots - 1;
	u->skel->rodata->id_salt = random_u64();
	u->skel->rodata->trace_salt = random_u64() | 1;
	bpf_map__set_max_entries(u->skel->maps.threads, nslots);
	bpf_map__set_max_entries(u->skel->maps.goroutines, u->go ? nslots : 1);
	bpf_map__set_max_entries(u->skel->maps.go_stack_adj, u->nfuncs);
	bpf_program__set_autoload(u->skel->progs.on_go_entry, u->go);
	bpf_program__set_autoload(u->skel->progs.on_go_return, u->go);
	bpf_map__set_max_entries(u->skel->maps.hists, u->nfuncs);
	/* Without spans to write or push nothing is sent: keep the ring at one page. */
	bpf_map__set_max_entries(u->skel->maps.spans, u->spans ? o->ring_kib * 1024
							       : (unsigned int)getpagesize());
	if (u->multi) {
		uprobe_multi_prepare(u->skel->progs.on_entry, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(u->skel->progs.on_return, UPROBE_MULTI_RETURN);
		uprobe_multi_prepare(u->skel->progs.on_go_entry, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(u->skel->progs.on_go_return, UPROBE_MULTI_RETURN);
	}
	err = uprobe_bpf__load(u->skel);
	if (err && u->multi) {
		/* A kernel before 6.6: one perf-event uprobe per function, then. */
		log_info("trace: uprobe_multi links not supported (%s): attaching one by one",
			 strerror(-err));
		uprobe_bpf__destroy(u->skel);
		u->skel = NULL;
		u->multi = false;
		return load_bpf(u);
	}
	if (err) {
		log_err("trace: failed to load BPF programs: %s (is the kernel built with BTF "
			"and uprobe support? run with -vv for details)",
			strerror(-err));
		return err;
	}
	for (__u32 i = 0; u->go && i < u->nfuncs; i++) {
		__s64 adj = u->funcs[i].go_stack_adj;

		bpf_map__update_elem(u->skel->maps.go_stack_adj, &i, sizeof(i), &adj,
				     sizeof(adj), BPF_ANY);
	}
	/* The stack probes, opened next, tag their samples from it. */
	if (u->calls)
		u->p->host->calls = u->skel->maps.threads;
	return 0;
}

/*
 * With stack probes in the session: their samples' calls are counted per
 * span, and filtered with --slower-than/--slowest (model/callprof.h).
 * Open calls awaited at most: every slot's whole stack.
 */
static int calls_new(struct uprobe *u)
{
	const struct uprobe_opts *o = u->o;
	struct probe_host *h = u->p->host;
	struct callprof_opts co = {
		.slower_than_ns = o->slower_than_ns,
		.slowest = o->slowest,
		.max_held = o->max_held,
		.max_open = (size_t)o->max_threads * o->max_depth,
		.ends = u->spans,
	};
	int err;

	if (!h->stacks)
		return 0;
	err = rqueue__init(&u->later, QUEUE_SLOTS * (8 + sizeof(struct sonde_span)),
			   sizeof(struct sonde_span));
	if (err)
		goto err_log;
	u->calls = callprof__new(&co, h->prof);
	if (!u->calls) {
		err = -ENOMEM;
		goto err_log;
	}
	for (size_t i = 0; i < u->nfuncs && !err; i++)
		err = callprof__set_function(u->calls, i, u->funcs[i].name);
	if (err)
		goto err_log;
	stacks__set_calls(h->stacks, u->calls);
	return 0;

err_log:
	log_err("trace: failed to allocate the samples of calls: %s", strerror(-err));
	return err;
}

static int uprobe_open(struct probe *p)
{
	struct uprobe *u;
	int err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	p->priv = u;
	u->p = p;
	u->o = p->opts;
	u->sink = p->host->span != NULL;
	u->spans = u->sink || u->o->slower_than_ns || u->o->slowest;
	err = rqueue__init(&u->q, QUEUE_SLOTS * (8 + sizeof(struct sonde_span)),
			   sizeof(struct sonde_span));
	if (err) {
		log_err("trace: failed to allocate the span queue: %s", strerror(-err));
		return err;
	}
	err = resolve_all(u);
	if (!err)
		err = calls_new(u);
	if (err)
		return err;
	u->multi = true;
	err = load_bpf(u);
	if (err)
		return err;
	if (!u->spans)
		return 0;
	return probe_add_ring(p->host, u->skel->maps.spans, on_event, u, "trace");
}

static int push_link(struct uprobe *u, struct bpf_link *l)
{
	struct bpf_link **grown = realloc(u->links, (u->nlinks + 1) * sizeof(*grown));

	if (!grown) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	u->links = grown;
	u->links[u->nlinks++] = l;
	return 0;
}

static int push_mfd(struct uprobe *u, int fd)
{
	int *grown = realloc(u->mfds, (u->nmfds + 1) * sizeof(*grown));

	if (!grown) {
		close(fd);
		return -ENOMEM;
	}
	u->mfds = grown;
	u->mfds[u->nmfds++] = fd;
	return 0;
}

/* The program of a probe's kind (a call's entry; its return is on_return). */
static const struct bpf_program *kind_prog(struct uprobe *u, enum tprobe_kind kind, bool ret)
{
	switch (kind) {
	case TP_GO_ENTRY:
		return u->skel->progs.on_go_entry;
	case TP_GO_RET:
		return u->skel->progs.on_go_return;
	default:
		return ret ? u->skel->progs.on_return : u->skel->progs.on_entry;
	}
}

/* The kernel refuses to probe an instruction: -ENOTSUPP (524) or -EINVAL. */
static bool refused(int err)
{
	return err == -524 || err == -EINVAL || err == -EOPNOTSUPP;
}

static void note_skipped(struct uprobe *u, const struct tprobe *tp)
{
	const char *name = u->funcs[tp->func_id].name;
	size_t len = u->skipped ? strlen(u->skipped) : 0;
	char *grown;

	u->nskipped++;
	if (len > 4096)
		return; /* counted, no longer named */
	grown = realloc(u->skipped, len + strlen(name) + 3);
	if (!grown)
		return;
	u->skipped = grown;
	sprintf(grown + len, "%s%s", len ? ", " : "", name);
}

/*
 * Attach entry and return probes to tps[0..n), all of one file and PID,
 * as uprobe_multi links. When the kernel refuses an instruction the whole
 * link fails: halve until the refused functions are found, skip and name
 * them (pthread_spin_lock made a whole 'libc:*' fail).
 */
static int attach_multi(struct uprobe *u, const struct tprobe *tps, size_t n, uint64_t *offs,
			uint64_t *cookies)
{
	int fd, err;

	if (u->p->host->stopping && u->p->host->stopping())
		return -EINTR;
	for (size_t i = 0; i < n; i++) {
		offs[i] = tps[i].offset;
		cookies[i] = tps[i].func_id;
	}
	fd = uprobe_multi_attach(kind_prog(u, tps[0].kind, false), tps[0].path, tps[0].pid, offs,
				 cookies, n, UPROBE_MULTI_ENTRY);
	if (fd >= 0 && tps[0].kind != TP_CALL)
		return push_mfd(u, fd);
	if (fd >= 0) {
		int rfd = uprobe_multi_attach(u->skel->progs.on_return, tps[0].path, tps[0].pid,
					      offs, cookies, n, UPROBE_MULTI_RETURN);

		if (rfd >= 0) {
			err = push_mfd(u, fd);
			return err ? (close(rfd), err) : push_mfd(u, rfd);
		}
		close(fd);
		fd = rfd;
	}
	err = fd;
	if (!refused(err)) {
		log_err("cannot trace '%s': failed to attach uprobes to %s: %s", tps[0].spec,
			u->funcs[tps[0].func_id].file, strerror(-err));
		return err;
	}
	if (n == 1) {
		note_skipped(u, &tps[0]);
		return 0;
	}
	err = attach_multi(u, tps, n / 2, offs, cookies);
	if (err)
		return err;
	return attach_multi(u, tps + n / 2, n - n / 2, offs + n / 2, cookies + n / 2);
}

static int cmp_probe(const void *a, const void *b)
{
	const struct tprobe *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

static int attach_all_multi(struct uprobe *u)
{
	uint64_t *offs = calloc(u->nprobes, sizeof(*offs));
	uint64_t *cookies = calloc(u->nprobes, sizeof(*cookies));
	int err = 0;

	if (!offs || !cookies) {
		err = -ENOMEM;
		goto out;
	}
	/* One link pair per (file, PID). */
	if (u->nprobes)
		qsort(u->probes, u->nprobes, sizeof(*u->probes), cmp_probe);
	for (size_t i = 0, j; i < u->nprobes && !err; i = j) {
		for (j = i + 1; j < u->nprobes && !cmp_probe(&u->probes[i], &u->probes[j]); j++)
			;
		err = attach_multi(u, &u->probes[i], j - i, offs, cookies);
	}
out:
	free(offs);
	free(cookies);
	return err;
}

/* One perf-event uprobe and uretprobe per function: kernels before 6.6. */
static int attach_all_single(struct uprobe *u)
{
	struct bpf_link *l;
	int err;

	for (size_t i = 0; i < u->nprobes; i++) {
		const struct tprobe *tp = &u->probes[i];

		if (u->p->host->stopping && u->p->host->stopping())
			return -EINTR;
		for (int ret = 0; ret < (tp->kind == TP_CALL ? 2 : 1); ret++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = tp->func_id,
				    .retprobe = ret != 0);
			const struct bpf_program *prog = kind_prog(u, tp->kind, ret);

			l = bpf_program__attach_uprobe_opts(prog, tp->pid, tp->path, tp->offset,
							    &uo);
			if (!l && !ret && refused(-errno)) {
				note_skipped(u, tp);
				break;
			}
			if (!l) {
				err = -errno;
				log_err("cannot trace '%s': failed to attach %s to %s at offset "
					"0x%llx: %s",
					tp->spec, ret ? "uretprobe" : "uprobe",
					u->funcs[tp->func_id].file, (unsigned long long)tp->offset,
					strerror(errno));
				return err;
			}
			err = push_link(u, l);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Which span attribute each sample type of the profile adds to (every probe has opened). */
static void map_sample_types(struct uprobe *u)
{
	const struct profile *prof = u->p->host->prof;

	for (size_t t = 0; t < PROFILE_MAX_TYPES; t++) {
		const struct profile_type *pt = prof ? profile__type(prof, t) : NULL;
		int k = pt ? span_samples_of_type(pt->type) : -1;

		u->sample_kind[t] = (int8_t)k;
		if (k >= 0)
			u->samples_mask |= 1u << k;
	}
}

static int uprobe_attach(struct probe *p)
{
	struct uprobe *u = p->priv;
	struct bpf_link *l;
	int err;

	if (u->calls)
		map_sample_types(u);
	l = bpf_program__attach(u->skel->progs.on_exit);
	if (!l) {
		err = -errno;
		log_err("trace: failed to attach sched_process_exit: %s", strerror(errno));
		return err;
	}
	err = push_link(u, l);
	if (err)
		return err;
	log_status("sonde: attaching %zu uprobes...", u->nprobes);
	err = u->multi ? attach_all_multi(u) : attach_all_single(u);
	log_status(NULL);
	if (err == -EINTR)
		log_err("trace: stopped while attaching uprobes");
	if (err)
		return err;
	if (u->nskipped)
		log_warn("trace: the kernel cannot probe %zu function%s, skipped: %s", u->nskipped,
			 plural_s(u->nskipped), u->skipped);
	if (u->nskipped == u->nprobes) {
		log_err("trace: nothing left to trace");
		return -ENOTSUP;
	}
	log_info("trace: %zu functions, %zu uprobe pairs attached%s", u->nfuncs,
		 u->nprobes - u->nskipped, u->multi ? " (uprobe_multi links)" : "");
	return 0;
}

/* Counted calls that have not returned (or been abandoned) yet. */
static uint64_t in_flight(struct uprobe *u)
{
	const struct bpf_map *st = u->skel->maps.stats;
	uint64_t done, pushed;

	/*
	 * Ends first: every frame they include was pushed before, so reading
	 * the pushes after never undercounts what is still running.
	 */
	done = bpf_stats_sum(st, SONDE_TSTAT_TIMED) + bpf_stats_sum(st, SONDE_TSTAT_ABANDONED) +
	       bpf_stats_sum(st, SONDE_TSTAT_EXIT_FRAMES) +
	       bpf_stats_sum(st, SONDE_TSTAT_NOT_COUNTED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pushed = bpf_stats_sum(st, SONDE_TSTAT_PUSHED);
	return pushed > done ? pushed - done : 0;
}

/*
 * Armed, every probe counts from the same moment (after ARM_SETTLE_MS).
 * Disarmed, no call tree starts; the ones running get DISARM_GRACE_MS to
 * return, so a caller and its callees count alike (a call blocked longer
 * stays untimed, counted as still running in -v).
 */
static uint64_t mono_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
}

static int uprobe_arm(struct probe *p, bool on)
{
	struct uprobe *u = p->priv;
	struct timespec tick = {0, 1000000}, settle = {0, ARM_SETTLE_MS * 1000000L};

	if (on) {
		nanosleep(&settle, NULL);
		/*
		 * The store is bracketed by two clock reads (-v prints them): the
		 * collector can be preempted between a store and a read, and calls
		 * made meanwhile are counted or not on the store alone.
		 */
		u->arm_ns[0] = mono_now();
		__atomic_store_n(&u->skel->bss->armed, 1, __ATOMIC_SEQ_CST);
		u->arm_ns[1] = mono_now();
		return 0;
	}
	u->disarm_ns[0] = mono_now();
	__atomic_store_n(&u->skel->bss->armed, 0, __ATOMIC_SEQ_CST);
	u->disarm_ns[1] = mono_now();
	for (int ms = 0; ms < DISARM_GRACE_MS && in_flight(u); ms++)
		nanosleep(&tick, NULL);
	return 0;
}

/* Detach: the histograms and stats are final from here on. */
static void uprobe_stop(struct probe *p)
{
	struct uprobe *u = p->priv;

	for (size_t i = 0; i < u->nlinks; i++)
		bpf_link__destroy(u->links[i]);
	free(u->links);
	u->links = NULL;
	u->nlinks = 0;
	for (size_t i = 0; i < u->nmfds; i++)
		close(u->mfds[i]);
	free(u->mfds);
	u->mfds = NULL;
	u->nmfds = 0;
}

/*
 * Replace every function's histogram with the kernel's current totals
 * (read again each second for the exporters, and once at the end).
 */
static int read_hists(struct uprobe *u)
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
	for (size_t i = 0; i < u->nfuncs; i++) {
		__u32 key = i;

		if (bpf_map__lookup_elem(u->skel->maps.hists, &key, sizeof(key), vals,
					 ncpu * sizeof(*vals), 0)) {
			err = -errno;
			log_err("trace: failed to read the histogram of %s: %s", u->funcs[i].name,
				strerror(errno));
			break;
		}
		h = hist__new();
		if (!h) {
			err = -ENOMEM;
			log_err("trace: failed to read the histogram of %s: %s", u->funcs[i].name,
				strerror(ENOMEM));
			break;
		}
		for (int c = 0; c < ncpu; c++)
			hist__merge(h, &vals[c]);
		hist__free(u->funcs[i].hist);
		u->funcs[i].hist = h;
	}
	free(vals);
	return err;
}

static int uprobe_finish(struct probe *p)
{
	struct uprobe *u = p->priv;
	int err;

	if (u->calls) {
		/* The last spans, held one tick: every ring is drained by now. */
		err = hand_over(p, &u->later);
		if (!err)
			err = hand_over(p, &u->q);
		if (!err)
			err = callprof__finish(u->calls);
		if (err)
			return err;
	}
	return read_hists(u);
}

/* Slots of the per-thread table still claimed, and how many are mid-call. */
static void count_threads(struct uprobe *u, uint64_t *threads, uint64_t *busy)
{
	int fd = bpf_map__fd(u->skel->maps.threads);
	size_t vsz = bpf_map__value_size(u->skel->maps.threads);
	__u32 n = bpf_map__max_entries(u->skel->maps.threads);
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

/* A kernel histogram as sonde_function_duration_seconds buckets. */
static void publish_hist(struct metrics *m, const struct tfunc *fn)
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
	metrics__histogram_set(m, M_DURATION, l, 2, counts, hist__count(fn->hist),
			       (double)hist__sum(fn->hist) / 1e9);
	metrics__counter_set(m, M_CALLS, l, 2, (double)hist__count(fn->hist));
}

static void publish_anomalies(struct uprobe *u, struct metrics *m)
{
	if (metrics__declare(m, M_ANOMALY, METRIC_GAUGE,
			     "1 while the function's latency in the last window departs from its "
			     "baseline (sonde trace --watch), else 0.",
			     NULL, 0) ||
	    metrics__declare(m, M_ANOMALIES, METRIC_COUNTER,
			     "Windows whose latency departed from the baseline, per function.", NULL,
			     0))
		return;
	for (size_t i = 0; i < u->nfuncs; i++) {
		struct metric_label l[2] = {{"function", u->funcs[i].name},
					    {"binary", u->funcs[i].file}};

		metrics__gauge_set(m, M_ANOMALY, l, 2, u->funcs[i].in_anomaly);
		metrics__counter_set(m, M_ANOMALIES, l, 2, (double)u->funcs[i].anomalies);
	}
}

/*
 * Spans lost, one figure for the summary, /metrics and the logs: those the
 * ring buffer or the collector's queue had no room for, and those a sink
 * (OTLP) dropped after they were handed over.
 */
static uint64_t spans_lost(struct probe *p, uint64_t *ring, uint64_t *queue)
{
	struct uprobe *u = p->priv;

	*ring = bpf_stats_sum(u->skel->maps.stats, SONDE_TSTAT_RB_DROPS);
	*queue = u->q.dropped + u->later.dropped;
	return *ring + *queue + p->host->spans_lost_downstream;
}

static void uprobe_publish(struct probe *p, struct metrics *m)
{
	struct uprobe *u = p->priv;
	const struct bpf_map *st = u->skel->maps.stats;

	for (int k = 0; k < DUR_NBOUNDS; k++)
		u->dur_bounds[k] = (double)(1ull << (DUR_MIN_LOG2 + k)) / 1e9;
	if (metrics__declare(m, M_DURATION, METRIC_HISTOGRAM,
			     "Latency of the probed function (entry to return), in seconds.",
			     u->dur_bounds, DUR_NBOUNDS) ||
	    metrics__declare(m, M_CALLS, METRIC_COUNTER,
			     "Completed (timed) calls of the probed function.", NULL, 0)) {
		log_err("trace: failed to declare the function metrics");
		return;
	}
	/* The links may be gone (the final export): the maps still read. */
	if (!read_hists(u))
		for (size_t i = 0; i < u->nfuncs; i++)
			publish_hist(m, &u->funcs[i]);
	if (u->o->watch)
		publish_anomalies(u, m);
	probe_count(m, PROBE_M_EVENTS, "uprobe", "kind", "call",
		    bpf_stats_sum(st, SONDE_TSTAT_CALLS));
	probe_count(m, PROBE_M_EVENTS, "uprobe", "kind", "span", u->spans_seen);
	probe_count(m, PROBE_M_DROPPED, "uprobe", "reason", "ring_full",
		    bpf_stats_sum(st, SONDE_TSTAT_RB_DROPS));
	probe_count(m, PROBE_M_DROPPED, "uprobe", "reason", "queue_full",
		    u->q.dropped + u->later.dropped);
	probe_count(m, PROBE_M_DROPPED, "uprobe", "reason", "max_depth",
		    bpf_stats_sum(st, SONDE_TSTAT_DEPTH_OVERFLOW));
	probe_count(m, PROBE_M_DROPPED, "uprobe", "reason", "max_threads",
		    bpf_stats_sum(st, SONDE_TSTAT_THREADS_FULL));
	if (u->spans) {
		uint64_t ring, queue, lost = spans_lost(p, &ring, &queue);

		metrics__declare(m, M_SPANS_LOST, METRIC_COUNTER,
				 "Spans that did not reach every sink: ring buffer full, queue full, "
				 "dropped by OTLP (the closing line's spans lost).",
				 NULL, 0);
		metrics__counter_set(m, M_SPANS_LOST, NULL, 0, (double)lost);
	}
}

/* Per function: calls, percentiles and the log2 histogram, on stdout. */
static int uprobe_report(struct probe *p, FILE *f)
{
	struct uprobe *u = p->priv;
	char p50[32], p90[32], p99[32], max[32];
	int err = 0;

	for (size_t i = 0; i < u->nfuncs && !err; i++) {
		const struct hist *h = u->funcs[i].hist;

		/* A glob's functions that were never called get one line below. */
		if (!hist__count(h) && u->funcs[i].glob)
			continue;
		fprintf(f, "%s (%s)\n", u->funcs[i].name, u->funcs[i].file);
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
	for (int g = 0; g < u->o->nfuncs && !err; g++) {
		const char *spec = u->o->funcs[g].arg;
		size_t matched = 0, idle = 0;

		for (size_t i = 0; i < u->nfuncs; i++) {
			if (u->funcs[i].glob != spec)
				continue;
			matched++;
			idle += !hist__count(u->funcs[i].hist);
		}
		if (idle)
			fprintf(f, "%zu of the %zu functions '%s' matched were never called\n\n",
				idle, matched, spec);
	}
	return err ? err : stream_flush_error(f);
}

/* What the stack probes sampled in calls, and what the slow-call filter kept. */
static void summary_calls(struct uprobe *u, struct log_line *l)
{
	const struct uprobe_opts *o = u->o;
	struct callprof_stats st;
	char thr[32];

	callprof__stats(u->calls, &st);
	log_line_add(l, ", %llu samples in calls", (unsigned long long)st.tagged);
	log_line_int(l, "sonde.samples.in_calls", (long long)st.tagged);
	if (!callprof__filtering(u->calls))
		return;
	log_line_add(l, "; kept %llu samples of %llu calls", (unsigned long long)st.kept,
		     (unsigned long long)st.kept_calls);
	if (o->slowest)
		log_line_add(l, ", the %u slowest", o->slowest);
	if (o->slower_than_ns)
		log_line_add(l, "%s %s or slower", o->slowest ? " of those" : ",",
			     hist_fmt_ns(o->slower_than_ns, thr, sizeof(thr)));
	log_line_add(l, " (%llu of faster calls and %llu outside calls left out)",
		     (unsigned long long)st.fast, (unsigned long long)st.outside);
	log_line_int(l, "sonde.samples.kept", (long long)st.kept);
	log_line_int(l, "sonde.calls.kept", (long long)st.kept_calls);
	log_line_int(l, "sonde.samples.fast", (long long)st.fast);
	log_line_int(l, "sonde.samples.outside", (long long)st.outside);
	log_line_int(l, "sonde.samples.held_full", (long long)st.held_full);
	log_line_int(l, "sonde.samples.unended", (long long)st.unended);
}

static void uprobe_summary(struct probe *p, struct log_line *l)
{
	struct uprobe *u = p->priv;
	const struct bpf_map *st = u->skel->maps.stats;
	uint64_t threads, busy, ring, queue, lost = spans_lost(p, &ring, &queue);
	uint64_t calls = bpf_stats_sum(st, SONDE_TSTAT_CALLS);
	uint64_t timed = bpf_stats_sum(st, SONDE_TSTAT_TIMED);

	count_threads(u, &threads, &busy);
	log_line_add(
		l, "%zu function%s, %llu call%s, %llu timed, %llu span%s written, %llu span%s lost",
		u->nfuncs, plural_s(u->nfuncs), (unsigned long long)calls, plural_s(calls),
		(unsigned long long)timed, (unsigned long long)u->spans_written,
		plural_s(u->spans_written), (unsigned long long)lost, plural_s(lost));
	if (lost)
		log_line_add(l, " (%llu ring buffer full, %llu queue full, %llu by OTLP)",
			     (unsigned long long)ring, (unsigned long long)queue,
			     (unsigned long long)p->host->spans_lost_downstream);
	log_line_add(l, ", %llu threads tracked (%llu mid-call)", (unsigned long long)threads,
		     (unsigned long long)busy);
	log_line_int(l, "sonde.functions", (long long)u->nfuncs);
	log_line_int(l, "sonde.calls", (long long)calls);
	log_line_int(l, "sonde.calls.timed", (long long)timed);
	log_line_int(l, "sonde.spans.written", (long long)u->spans_written);
	log_line_int(l, "sonde.spans.lost", (long long)lost);
	log_line_int(l, "sonde.spans.lost.ring_full", (long long)ring);
	log_line_int(l, "sonde.spans.lost.queue_full", (long long)queue);
	log_line_int(l, "sonde.spans.lost.otlp", (long long)p->host->spans_lost_downstream);
	log_line_int(l, "sonde.threads.tracked", (long long)threads);
	log_line_int(l, "sonde.threads.mid_call", (long long)busy);
	if (u->calls)
		summary_calls(u, l);
}

static int watch_one(struct uprobe *u, struct tfunc *fn, const struct probe_window *w)
{
	uint64_t delta[SONDE_HIST_BUCKETS];
	struct anomaly_result r;
	char b50[32], b99[32], n50[32], n99[32];
	int err;

	if (!fn->anomaly) {
		/* 0 asks anomaly.h for its default: -1 is none. */
		struct anomaly_opts ao = {.alpha = u->o->anomaly_alpha,
					  .min_change = u->o->anomaly_min_change > 0
								? u->o->anomaly_min_change
								: -1};

		fn->anomaly = anomaly__new(&ao);
		fn->seen = calloc(SONDE_HIST_BUCKETS, sizeof(*fn->seen));
		if (!fn->anomaly || !fn->seen)
			return -ENOMEM;
	}
	for (uint32_t b = 0; b < SONDE_HIST_BUCKETS; b++) {
		uint64_t now = hist__bucket_count(fn->hist, b);

		delta[b] = now - fn->seen[b];
		fn->seen[b] = now;
	}
	err = anomaly__observe(fn->anomaly, delta, &r);
	if (err)
		return err;
	fn->in_anomaly = r.anomaly;
	if (u->p->host->verdict) {
		struct probe_verdict v = {fn->name, fn->file, &r, u->o->anomaly_alpha};

		u->p->host->verdict(u->p->host->verdict_ctx, w, &v);
	}
	log_debug("trace: %s window %u: %llu calls, %s, %s t %.2f, p %.3g", fn->name, w->index,
		  (unsigned long long)r.calls, r.tested ? "tested" : "not tested",
		  r.which ? r.which : "-", r.statistic, r.p_value);
	if (!r.anomaly)
		return 0;
	fn->anomalies++;
	log_warn("trace: latency anomaly in %s (window %u, %.1f s to %llu ns): p50 %s -> %s, p99 "
		 "%s -> %s over %llu calls (%s t %.1f, p %.2g < %g)%s",
		 fn->name, w->index, (w->end_unix_ns - w->start_unix_ns) / 1e9,
		 (unsigned long long)w->end_unix_ns, hist_fmt_ns(r.base_p50, b50, sizeof(b50)),
		 hist_fmt_ns(r.p50, n50, sizeof(n50)), hist_fmt_ns(r.base_p99, b99, sizeof(b99)),
		 hist_fmt_ns(r.p99, n99, sizeof(n99)), (unsigned long long)r.calls, r.which,
		 r.statistic, r.p_value, u->o->anomaly_alpha,
		 r.relearned ? "; it lasted: the new baseline" : "");
	return 0;
}

/* --watch: each window's histograms against their baselines. */
static int uprobe_window(struct probe *p, const struct probe_window *w)
{
	struct uprobe *u = p->priv;
	int err;

	if (!u->o->watch)
		return 0;
	err = read_hists(u);
	for (size_t i = 0; i < u->nfuncs && !err; i++)
		err = watch_one(u, &u->funcs[i], w);
	return err;
}

static size_t uprobe_status(struct probe *p, char *buf, size_t len)
{
	struct uprobe *u = p->priv;

	return str_append(buf, len, 0, "%llu calls",
			  (unsigned long long)bpf_stats_sum(u->skel->maps.stats,
							    SONDE_TSTAT_CALLS));
}

static void details_calls(struct uprobe *u)
{
	struct callprof_stats st;

	callprof__stats(u->calls, &st);
	if (st.held_full)
		log_warn("trace: %llu samples of calls dropped: --max-held-samples %u were held "
			 "awaiting their calls' end; raise it",
			 (unsigned long long)st.held_full, u->o->max_held);
	if (st.unended)
		log_info("trace: %llu samples were taken in %llu calls whose span never came "
			 "(still running at the end, lost, or left by longjmp): in no span's "
			 "count%s",
			 (unsigned long long)st.unended, (unsigned long long)st.forgotten,
			 callprof__filtering(u->calls) ? ", not kept" : "");
	if (callprof__filtering(u->calls))
		log_info("trace: at most %llu samples were held at once",
			 (unsigned long long)st.held_peak);
}

static void uprobe_details(struct probe *p)
{
	struct uprobe *u = p->priv;
	const struct bpf_map *st = u->skel->maps.stats;
	uint64_t drops = bpf_stats_sum(st, SONDE_TSTAT_RB_DROPS);
	uint64_t deep = bpf_stats_sum(st, SONDE_TSTAT_DEPTH_OVERFLOW);
	uint64_t unmatched = bpf_stats_sum(st, SONDE_TSTAT_UNMATCHED);
	uint64_t abandoned = bpf_stats_sum(st, SONDE_TSTAT_ABANDONED);
	uint64_t exitf = bpf_stats_sum(st, SONDE_TSTAT_EXIT_FRAMES);
	uint64_t full = bpf_stats_sum(st, SONDE_TSTAT_THREADS_FULL);
	uint64_t running = in_flight(u);
	uint64_t missed = bpf_prog_misses(u->skel->progs.on_entry) +
			  bpf_prog_misses(u->skel->progs.on_return);

	log_info("trace: armed from %llu-%llu to %llu-%llu ns (CLOCK_MONOTONIC, before-after "
		 "each store)",
		 (unsigned long long)u->arm_ns[0], (unsigned long long)u->arm_ns[1],
		 (unsigned long long)u->disarm_ns[0], (unsigned long long)u->disarm_ns[1]);
	if (running)
		log_info("trace: %llu calls were still running %d ms after the end: counted, "
			 "not timed",
			 (unsigned long long)running, DISARM_GRACE_MS);
	if (missed)
		log_warn("trace: the kernel skipped %llu probe hits: another BPF program was "
			 "running on that CPU (counts of nested functions may differ by as much)",
			 (unsigned long long)missed);
	if (deep)
		log_warn("trace: %llu calls nested deeper than --max-depth %u were counted but "
			 "not timed; raise --max-depth (up to %d)",
			 (unsigned long long)deep, u->o->max_depth, TRACE_MAX_DEPTH);
	if (full)
		log_warn("trace: %llu calls not timed: no free per-thread slot (more than "
			 "--max-threads %u threads, or tids colliding); raise --max-threads",
			 (unsigned long long)full, u->o->max_threads);
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
	if (u->q.dropped + u->later.dropped)
		log_warn("trace: %llu spans dropped by the collector (queue full)",
			 (unsigned long long)(u->q.dropped + u->later.dropped));
	if (u->bad_events)
		log_warn("trace: %llu malformed span events ignored",
			 (unsigned long long)u->bad_events);
	if (u->calls)
		details_calls(u);
}

static void uprobe_free(struct probe *p)
{
	struct uprobe *u = p->priv;

	if (!u)
		return;
	uprobe_stop(p);
	if (u->calls) {
		stacks__set_calls(p->host->stacks, NULL);
		p->host->calls = NULL;
	}
	callprof__free(u->calls);
	rqueue__free(&u->later);
	uprobe_bpf__destroy(u->skel);
	for (size_t i = 0; i < u->nfuncs; i++) {
		free(u->funcs[i].name);
		free(u->funcs[i].file);
		free(u->funcs[i].src);
		hist__free(u->funcs[i].hist);
		anomaly__free(u->funcs[i].anomaly);
		free(u->funcs[i].seen);
	}
	free(u->funcs);
	for (size_t i = 0; i < u->nprobes; i++)
		free(u->probes[i].path);
	free(u->probes);
	rqueue__free(&u->q);
	free(u->skipped);
	free(u);
	p->priv = NULL;
}

const struct probe_ops uprobe_probe_ops = {
	.name = "uprobe",
	.open = uprobe_open,
	.attach = uprobe_attach,
	.arm = uprobe_arm,
	.tick = uprobe_tick,
	.publish = uprobe_publish,
	.stop = uprobe_stop,
	.finish = uprobe_finish,
	.report = uprobe_report,
	.summary = uprobe_summary,
	.details = uprobe_details,
	.status = uprobe_status,
	.window = uprobe_window,
	.free = uprobe_free,
};
