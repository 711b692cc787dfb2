// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "base/outfile.h"
#include "base/strbuf.h"
#include "model/metrics.h"
#include "model/profile.h"
#include "model/spans.h"
#include "probes/procevents.h"
#include "sonde/events.h"
#include "probes/stacks.h"
#include "probes/uprobe_resolve.h"
#include "export/outdir.h"
#include "session/anomaly_out.h"
#include "session/privs.h"
#include "session/procstat.h"
#include "session/runloop.h"
#include "session/session.h"
#include "symbols/symbolize.h"
#include "symbols/unwind.h"

#define NS_PER_S 1000000000ull
/* The symbol caches' families (symbols_publish). */
#define M_SYM_BYTES "sonde_symbol_cache_bytes"
#define M_UNW_BYTES "sonde_unwind_cache_bytes"
#define M_UNW_EVICTED "sonde_unwind_cache_evictions_total"
#define M_SYM_EVICTED "sonde_symbol_cache_evictions_total"
#define M_SYM_OVERSIZED "sonde_symbol_cache_oversized_total"
/* How often the registry is refreshed (what /metrics sees). */
#define UPDATE_NS NS_PER_S

/* Every probe there is: -e name, its ops, where its options live. */
static const struct probe_kind {
	unsigned int bit;
	const struct probe_ops *ops;
	size_t opts_off;
} probe_kinds[] = {
	{SESSION_PROBE_CPU, &cpu_probe_ops, offsetof(struct session_opts, cpu)},
	{SESSION_PROBE_UPROBE, &uprobe_probe_ops, offsetof(struct session_opts, uprobe)},
	{SESSION_PROBE_OFFCPU, &offcpu_probe_ops, offsetof(struct session_opts, offcpu)},
	{SESSION_PROBE_ALLOC, &alloc_probe_ops, offsetof(struct session_opts, alloc)},
	{SESSION_PROBE_FAULTS, &faults_probe_ops, offsetof(struct session_opts, faults)},
	{SESSION_PROBE_TLS, &tls_probe_ops, offsetof(struct session_opts, tls)},
};
#define NKINDS (sizeof(probe_kinds) / sizeof(probe_kinds[0]))

/* A target process as its process metrics name it. */
struct tproc {
	pid_t pid;
	char comm[SONDE_COMM_LEN];
	struct procstat last; /* its last reading (valid with have) */
	bool have;
	bool gone;	/* exited: its last values stay published until exported */
	bool forgotten; /* exported once more since, and its series removed */
	/* The command's labels for its series (the agent's service, pod...). */
	struct metric_label labels[PROCSTAT_MAX_LABELS];
	unsigned int nlabels;
	char *label_buf; /* their strings */
};

struct session {
	const struct session_opts *o;
	struct target *target;
	struct probe_host host;
	/* The -e probes, after procevents when the target map is kept. */
	struct probe probes[NKINDS + 1];
	unsigned int nprobes;
	struct procevents_opts pe_opts;
	/* With keep_going: the probes that failed to open or attach, and why. */
	struct session_probe_state failed[NKINDS];
	/* Their objects, freed last: a ring of theirs may be in the ring_buffer. */
	struct probe dead[NKINDS];
	unsigned int nfailed;
	struct unwinder *unw;
	struct outputs *outputs;
	struct exporters *ex;
	struct tproc *procs;
	int nprocs, procs_cap;
	char exe[PATH_MAX]; /* the launched command's file */
	uint64_t t0_mono;
	uint64_t next_update_ns, next_export_ns, export_ns;
	uint64_t next_window_ns, window_start_real;
	uint64_t next_status_ns;
	unsigned int windows;
	uint64_t window_samples0, window_lost0; /* stack counters at the window's start */
	/* --watch: the anomalies' log records and diffs, and their directory if ours. */
	struct anomaly_out *aout;
	struct outdir *anomaly_dir;
	/*
	 * Windows cut for the anomalies' diffs only (sonde trace --watch
	 * --anomaly-dir): the run's profile is the windows merged back here.
	 */
	bool split;
	struct profile *whole;
	int reason;
};

void session_opts_init(struct session_opts *o, const char *command)
{
	memset(o, 0, sizeof(*o));
	o->command = command;
	cpu_opts_default(&o->cpu);
	uprobe_opts_default(&o->uprobe);
	offcpu_opts_default(&o->offcpu);
	alloc_opts_default(&o->alloc);
	faults_opts_default(&o->faults);
	tls_opts_default(&o->tls);
	export_opts_default(&o->ex);
	o->out.top = 20;
}

void session_opts_free(struct session_opts *o)
{
	free(o->out.cmdline);
	o->out.cmdline = NULL;
	uprobe_opts_free(&o->uprobe);
	free(o->t.pids);
	o->t.pids = NULL;
	o->t.npids = 0;
}

const char *session_probe_names(void)
{
	return "cpu, uprobe, offcpu, alloc, faults, tls";
}

int session_probe_parse(const char *list, unsigned int *bits, const char **bad, size_t *badlen)
{
	const char *p = list;

	*bits = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t k;

		for (k = 0; k < NKINDS; k++) {
			const char *name = probe_kinds[k].ops->name;

			if (strlen(name) == len && !strncmp(p, name, len))
				break;
		}
		if (k == NKINDS) {
			*bad = p;
			*badlen = len;
			return -EINVAL;
		}
		*bits |= probe_kinds[k].bit;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* The span sink of the probes: the --spans file and OTLP. */
static int on_span(void *ctx, const struct span_record *r)
{
	struct session *s = ctx;

	/* A full OTLP queue counts the span as dropped: nothing to do here. */
	exporters__push_span(s->ex, r);
	return outputs__write_span(s->outputs, r);
}

/* A process into the table of targets the session reads /proc for. */
static struct tproc *procs_add(struct session *s, pid_t pid)
{
	struct tproc *p;

	for (int i = 0; i < s->nprocs; i++) {
		p = &s->procs[i];
		if (p->pid != pid)
			continue;
		/* A PID that was reused after its exit was exported: a new process. */
		if (p->forgotten) {
			free(p->label_buf);
			memset(p, 0, sizeof(*p));
		}
		p->pid = pid;
		return p;
	}
	if (s->nprocs == s->procs_cap) {
		int cap = s->procs_cap ? 2 * s->procs_cap : 8;
		struct tproc *grown = realloc(s->procs, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		s->procs = grown;
		s->procs_cap = cap;
	}
	p = &s->procs[s->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

static int procs_new(struct session *s)
{
	const pid_t *pids;
	int n;

	pids = target__pids(s->target, &n);
	for (int i = 0; i < n; i++) {
		if (!procs_add(s, pids[i])) {
			log_err("%s: failed to allocate the process table: %s", s->o->command,
				strerror(ENOMEM));
			return -ENOMEM;
		}
	}
	return 0;
}

/* Exited processes whose series are gone leave the table (the agent's churn). */
static void procs_compact(struct session *s)
{
	int n = 0;

	for (int i = 0; i < s->nprocs; i++) {
		if (!s->procs[i].forgotten)
			s->procs[n++] = s->procs[i];
		else
			free(s->procs[i].label_buf);
	}
	s->nprocs = n;
}

/*
 * The launched command's name before any reading of it: its comm as exec
 * sets it, the file name of its argv[0] cut to 15 bytes, into @buf.
 */
static const char *launched_name(const struct session *s, char buf[SONDE_COMM_LEN])
{
	const char *cmd = s->o->t.cmd ? s->o->t.cmd[0] : NULL, *base;

	if (!cmd)
		return "?";
	base = strrchr(cmd, '/');
	snprintf(buf, SONDE_COMM_LEN, "%s", base ? base + 1 : cmd);
	return buf;
}

/* Read the targets' /proc figures (the summary's), publish them if asked. */
static void procs_refresh(struct session *s, struct metrics *m)
{
	for (int i = 0; i < s->nprocs; i++) {
		struct tproc *p = &s->procs[i];
		int err;

		if (p->gone)
			continue;
		/* After exec: the launched command's name, not sonde's fork. */
		if (!p->comm[0])
			probe_read_comm(p->pid, p->comm, sizeof(p->comm));
		err = procstat_read(p->pid, &p->last);
		if (err == -ESRCH)
			p->gone = true; /* its last values go out with the next export */
		p->have |= !err;
		if (!err && m)
			procstat_publish_labels(m, p->pid, p->comm, p->labels, p->nlabels,
						&p->last);
	}
}

/* Samples the stack probes took, and lost, so far. */
static void stack_counts(struct session *s, uint64_t *samples, uint64_t *lost)
{
	struct stacks_stats st;

	stacks__stats(s->host.stacks, &st);
	*samples = st.samples;
	*lost = 0;
	for (unsigned int i = 0; i < s->nprobes; i++)
		if (s->probes[i].ops->lost)
			*lost += s->probes[i].ops->lost(&s->probes[i]);
}

/*
 * A window ends: every probe hears of it (per-window histograms), and the
 * profile so far goes to the window's consumer (on_window), a new one
 * starting; without a consumer the profile stays whole for the outputs.
 */
static int cut_window(struct session *s);

void session__shrink(struct session *s)
{
	if (s->host.sym)
		symbolizer__shrink(s->host.sym);
	unwinder__shrink(s->unw);
}

int session__cut_window(struct session *s)
{
	int err = cut_window(s);

	if (!err)
		s->next_window_ns = mono_ns() + (uint64_t)(s->o->window_s * NS_PER_S);
	return err;
}

/* A window of a split run back into the run's profile. */
static int keep_whole(struct session *s, struct profile *window)
{
	int err = 0;

	if (!s->whole) {
		s->whole = window;
		return 0;
	}
	err = profile__merge(s->whole, window);
	profile__free(window);
	if (err)
		log_err("%s: failed to merge a window into the profile: %s", s->o->command,
			strerror(-err));
	return err;
}

static int cut_window(struct session *s)
{
	struct session_window w = {.index = s->windows++, .merged = !s->o->on_window};
	struct profile *old = s->host.prof, *fresh;
	uint64_t samples = 0, lost = 0, now = real_ns();
	int err;

	if (s->host.stacks)
		stack_counts(s, &samples, &lost);
	w.start_unix_ns = s->window_start_real;
	w.end_unix_ns = now;
	w.samples = samples - s->window_samples0;
	w.lost = lost - s->window_lost0;
	s->window_samples0 = samples;
	s->window_lost0 = lost;
	s->window_start_real = now;
	for (unsigned int i = 0; i < s->nprobes; i++) {
		if (!s->probes[i].ops->window)
			continue;
		err = s->probes[i].ops->window(&s->probes[i], &w);
		if (err)
			return err;
	}
	if (s->aout) {
		err = anomaly_out__window(s->aout, old, &w);
		if (err)
			return err;
	}
	if (!old || (!s->o->on_window && !s->split))
		return 0;
	fresh = profile__new();
	if (!fresh) {
		log_err("%s: failed to start a new window: %s", s->o->command, strerror(ENOMEM));
		return -ENOMEM;
	}
	/* The same sample types at the same indices: the probes keep theirs. */
	for (size_t t = 0; t < profile__type_count(old); t++) {
		const struct profile_type *pt = profile__type(old, t);

		err = profile__add_type(fresh, pt->type, pt->unit);
		if (err < 0) {
			profile__free(fresh);
			return err;
		}
	}
	profile__set_period_ns(fresh, profile__period_ns(old));
	profile__set_time(fresh, now, 0);
	profile__set_time(old, w.start_unix_ns, now - w.start_unix_ns);
	stacks__set_profile(s->host.stacks, fresh);
	s->host.prof = fresh;
	if (!s->o->on_window)
		return keep_whole(s, old);
	return s->o->on_window(s->o->window_ctx, old, &w);
}

/* The live status line (a terminal on stderr): elapsed, then each probe's words. */
static void show_status(struct session *s, uint64_t now)
{
	char line[256];
	size_t n;

	if (s->o->on_window || now < s->next_status_ns || !log_status_enabled())
		return;
	s->next_status_ns = now + NS_PER_S / 2;
	n = str_append(line, sizeof(line), 0, "sonde %s: %.1f s", s->o->command,
		       (now - s->t0_mono) / 1e9);
	for (unsigned int i = 0; i < s->nprobes; i++) {
		struct probe *p = &s->probes[i];

		if (!p->ops->status)
			continue;
		n = str_append(line, sizeof(line), n, " | ");
		n += p->ops->status(p, line + n, n < sizeof(line) ? sizeof(line) - n : 0);
	}
	log_status("%s", line);
}

/* Spans lost after the probes handed them over: OTLP's, and the --spans file's. */
static uint64_t spans_lost_downstream(struct session *s)
{
	uint64_t written, dropped;
	int error;

	outputs__span_stats(s->outputs, &written, &dropped, &error);
	return exporters__spans_lost(s->ex) + dropped;
}

/* After an export: exited targets' last values went out; drop their series. */
static void procs_reap(struct session *s, struct metrics *m)
{
	for (int i = 0; i < s->nprocs; i++) {
		struct tproc *p = &s->procs[i];

		if (!p->gone || p->forgotten)
			continue;
		procstat_forget_labels(m, p->pid, p->comm, p->labels, p->nlabels);
		p->forgotten = true;
	}
	if (s->host.targets.dynamic)
		procs_compact(s);
}

/* The symbol caches against their byte budget (symbols_max_bytes). */
static void symbols_publish(const struct session *s, struct metrics *m)
{
	struct symbolizer_stats st;

	if (!s->host.sym)
		return;
	symbolizer__stats(s->host.sym, &st);
	metrics__declare(m, M_SYM_BYTES, METRIC_GAUGE,
			 "Heap the symbol caches hold: symbol tables, DWARF (estimated), process "
			 "and perf maps",
			 NULL, 0);
	metrics__declare(m, M_SYM_EVICTED, METRIC_COUNTER,
			 "Symbol tables, DWARF and process maps evicted to keep the caches within "
			 "their byte budget",
			 NULL, 0);
	metrics__declare(m, M_SYM_OVERSIZED, METRIC_COUNTER,
			 "Symbol tables, DWARF and maps not cached: larger than the budget alone",
			 NULL, 0);
	metrics__gauge_set(m, M_SYM_BYTES, NULL, 0, (double)st.bytes);
	metrics__counter_set(m, M_SYM_EVICTED, NULL, 0, (double)st.budget_evictions);
	metrics__counter_set(m, M_SYM_OVERSIZED, NULL, 0, (double)st.oversized);
	if (s->unw) {
		struct unwinder_stats us;

		unwinder__stats(s->unw, &us);
		metrics__declare(m, M_UNW_BYTES, METRIC_GAUGE,
				 "Heap the DWARF unwinder's tables hold (.eh_frame, .debug_frame)",
				 NULL, 0);
		metrics__declare(m, M_UNW_EVICTED, METRIC_COUNTER,
				 "Files whose unwind tables were evicted to keep within their byte "
				 "budget, or not kept: larger than it alone",
				 NULL, 0);
		metrics__gauge_set(m, M_UNW_BYTES, NULL, 0, (double)us.bytes);
		metrics__counter_set(m, M_UNW_EVICTED, NULL, 0,
				     (double)(us.budget_evictions + us.files_oversized));
	}
}

/* Refresh the registry from the probes, /proc and the exporters' counters. */
static void update_metrics(struct session *s)
{
	struct metrics *m = exporters__metrics(s->ex);

	procs_refresh(s, m);
	if (!m)
		return;
	s->host.spans_lost_downstream = spans_lost_downstream(s);
	for (unsigned int i = 0; i < s->nprobes; i++)
		probe__publish(&s->probes[i], m);
	symbols_publish(s, m);
	exporters__publish(s->ex);
}

static int on_tick(void *ctx)
{
	struct session *s = ctx;
	uint64_t now;
	int err;

	for (unsigned int i = 0; i < s->nprobes; i++) {
		err = probe__tick(&s->probes[i]);
		if (err)
			return err;
	}
	outputs__flush_spans(s->outputs);
	now = mono_ns();
	show_status(s, now);
	if (s->o->window_s > 0 && now >= s->next_window_ns) {
		err = cut_window(s);
		if (err)
			return err;
		s->next_window_ns = now + (uint64_t)(s->o->window_s * NS_PER_S);
	}
	if (now >= s->next_update_ns) {
		s->next_update_ns = now + UPDATE_NS;
		update_metrics(s);
	}
	if (s->o->on_tick) {
		err = s->o->on_tick(s->o->tick_ctx, s);
		if (err)
			return err;
	}
	if (!s->ex)
		return 0;
	if (now >= s->next_export_ns) {
		/* On a fixed schedule, so reports come once per interval. */
		s->next_export_ns += s->export_ns;
		if (s->next_export_ns <= now)
			s->next_export_ns = now + s->export_ns;
		exporters__export(s->ex);
		procs_reap(s, exporters__metrics(s->ex));
		exporters__report(s->ex, "in the last --export-interval");
	}
	return 0;
}

/*
 * A process event of the target set: a dynamic session (the agent) keeps
 * its process table, then the command hears of it (discovery).
 */
static void on_proc(void *ctx, const struct sonde_proc_event *e)
{
	struct session *s = ctx;

	if (s->host.targets.dynamic && e->op == SONDE_PROC_FORK)
		session__add_target(s, (pid_t)e->pid, false);
	if (s->host.targets.dynamic && e->op == SONDE_PROC_EXIT)
		session__remove_target(s, (pid_t)e->pid);
	if (s->o->on_proc)
		s->o->on_proc(s->o->proc_ctx, s, e);
}

int session__add_target(struct session *s, pid_t pid, bool exec)
{
	struct tproc *p = NULL;
	int err, ret = 0;

	for (int i = 0; i < s->nprocs && !p; i++)
		if (s->procs[i].pid == pid && !s->procs[i].gone)
			p = &s->procs[i];
	/* Known and not re-exec'd: nothing changes (a fork seen by discovery too). */
	if (p && !exec)
		return 0;
	if (!p) {
		p = procs_add(s, pid);
		if (!p)
			return -ENOMEM;
	}
	p->comm[0] = '\0';
	err = probe_targets_add(&s->host, pid);
	if (err) {
		log_warn("%s: cannot watch PID %d: the target map is full (%s; raise "
			 "--max-pids)",
			 s->o->command, pid, strerror(-err));
		return err;
	}
	if (s->host.sym)
		symbolizer__prepare_pid(s->host.sym, pid);
	for (unsigned int i = 0; i < s->nprobes; i++) {
		err = probe__add_pid(&s->probes[i], pid);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

int session__set_target_labels(struct session *s, pid_t pid, const struct metric_label *l,
				unsigned int n)
{
	struct tproc *p = NULL;
	size_t len = 0;
	char *buf, *at;

	for (int i = 0; i < s->nprocs && !p; i++)
		if (s->procs[i].pid == pid && !s->procs[i].gone)
			p = &s->procs[i];
	if (!p || n > PROCSTAT_MAX_LABELS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		len += strlen(l[i].key) + strlen(l[i].value) + 2;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	/* Series published under the old labels would stay: these are set once, first. */
	free(p->label_buf);
	p->label_buf = at = buf;
	for (unsigned int i = 0; i < n; i++) {
		p->labels[i].key = strcpy(at, l[i].key);
		at += strlen(at) + 1;
		p->labels[i].value = strcpy(at, l[i].value);
		at += strlen(at) + 1;
	}
	p->nlabels = n;
	return 0;
}

/* probe_host.target_labels: the labels the command set (a running target's first). */
static unsigned int target_labels(void *ctx, pid_t pid, struct metric_label *out, unsigned int max)
{
	const struct session *s = ctx;
	const struct tproc *p = NULL;
	unsigned int n = 0;

	for (int i = 0; i < s->nprocs && (!p || p->gone); i++)
		if (s->procs[i].pid == pid)
			p = &s->procs[i];
	for (; p && n < p->nlabels && n < max; n++)
		out[n] = p->labels[n];
	return n;
}

void session__remove_target(struct session *s, pid_t pid)
{
	probe_targets_remove(&s->host, pid);
	for (unsigned int i = 0; i < s->nprobes; i++)
		probe__remove_pid(&s->probes[i], pid);
	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			s->procs[i].gone = true;
}

/*
 * The symbolizer, profile and stack builder, for probes that capture
 * stacks: cpu, and tls when -o asks for its tokens by call site.
 */
static int stacks_new(struct session *s)
{
	const struct session_opts *o = s->o;
	/* A huge perf map must not make the run deaf to SIGINT/SIGTERM. */
	struct symbolizer_opts sopts = {.sz = sizeof(sopts), .stopping = runloop_stopping};

	if (!(o->probes & SESSION_PROBES_STACKS) && !o->tls.stacks)
		return 0;
	s->host.stack_size = o->cpu.call_graph == CALL_GRAPH_DWARF ? o->cpu.stack_size : 0;
	s->host.kernel_stacks = o->cpu.kernel;
	s->host.max_pids = o->cpu.max_pids;
	s->host.ring_max = o->ring_max;
	sopts.no_dwarf = o->no_dwarf;
	sopts.max_bytes = o->symbols_max_bytes;
	s->host.sym = symbolizer__new(&sopts);
	s->host.prof = profile__new();
	if (o->cpu.call_graph == CALL_GRAPH_DWARF) {
		struct unwinder_opts uo = {.sz = sizeof(uo), .max_bytes = o->unwind_max_bytes};

		s->unw = unwinder__new(&uo);
	}
	if (s->host.sym && s->host.prof && (o->cpu.call_graph != CALL_GRAPH_DWARF || s->unw))
		s->host.stacks = stacks__new(s->host.sym, s->unw, s->host.prof);
	if (!s->host.stacks) {
		log_err("%s: failed to allocate the collector: out of memory", o->command);
		return -ENOMEM;
	}
	if (o->probes & SESSION_PROBE_CPU)
		profile__set_period_ns(s->host.prof, NS_PER_S / o->cpu.freq);
	return 0;
}

/*
 * --watch: the anomalies' outputs (OTLP log records; with a stack probe
 * and a directory, differential flame graphs), fed the uprobe probe's
 * verdicts.
 */
static int anomalies_new(struct session *s)
{
	const struct session_opts *o = s->o;
	struct anomaly_out_opts ao = {.cmd = o->command, .ex = s->ex};

	if (!o->uprobe.watch || !(o->probes & SESSION_PROBE_UPROBE))
		return 0;
	if (s->host.stacks && o->anomaly_dir) {
		struct outdir_opts d = {.dir = o->anomaly_dir, .format = WINDOW_SVG,
					.svg_width = o->out.width};
		int err = outdir__new(&d, &s->anomaly_dir);

		if (err)
			return err;
	}
	if (s->host.stacks)
		ao.dir = s->anomaly_dir ? s->anomaly_dir : o->anomaly_outdir;
	s->aout = anomaly_out__new(&ao);
	if (!s->aout) {
		log_err("%s: failed to allocate the anomaly outputs: %s", o->command,
			strerror(ENOMEM));
		return -ENOMEM;
	}
	s->split = anomaly_out__wants_profiles(s->aout) && !o->on_window;
	s->host.verdict = anomaly_out__verdict;
	s->host.verdict_ctx = s->aout;
	return 0;
}

/* The target as the probes see it; the launched command's file found now. */
static int targets_new(struct session *s)
{
	struct probe_targets *t = &s->host.targets;
	int err;

	err = target__new(&s->o->t, &s->target);
	if (err)
		return err;
	t->pids = target__pids(s->target, &t->npids);
	t->all = target__all(s->target);
	t->launched = target__launched(s->target);
	t->dynamic = s->o->t.dynamic;
	t->follow = t->launched || t->dynamic;
	if (t->launched) {
		t->cmd = s->o->t.cmd[0];
		if (!uprobe_find_exe(t->cmd, s->exe, sizeof(s->exe)))
			t->exe = s->exe;
	}
	/* A launched command is not exec'd yet: /proc/PID/exe would be sonde. */
	err = outputs__describe(s->outputs, t->pids, t->npids, t->exe, t->cmd);
	if (err)
		return err;
	return exporters__start_otlp(s->ex, t->pids, t->npids, t->exe, t->cmd);
}

/*
 * The target map and the probe that keeps it (forks followed, exits
 * removed, execs reported for discovery), before any probe that uses it.
 */
static int procevents_new(struct session *s)
{
	const struct probe_targets *t = &s->host.targets;
	struct probe *p;
	int err;

	err = probe_targets_create(&s->host, s->o->cpu.max_pids);
	/* With -a, no map to keep: the probe runs for the stack probes' maps only. */
	if (err || (t->all && !s->host.stacks))
		return err;
	for (int i = 0; i < t->npids && s->host.sym && !t->launched; i++)
		symbolizer__prepare_pid(s->host.sym, t->pids[i]);
	s->pe_opts.follow_forks = t->follow;
	s->pe_opts.report_execs = s->o->on_proc != NULL;
	s->host.on_proc = on_proc;
	s->host.proc_ctx = s;
	s->host.target_labels = target_labels;
	s->host.labels_ctx = s;
	p = &s->probes[s->nprobes++];
	p->ops = &procevents_probe_ops;
	p->host = &s->host;
	p->opts = &s->pe_opts;
	return probe__open(p);
}

/* With keep_going, a probe that fails is noted and freed; the rest run. */
static int probe_failed(struct session *s, unsigned int i, int err)
{
	struct probe *p = &s->probes[i];

	if (!s->o->keep_going || err == -EINTR || err == -ENOMEM)
		return err;
	log_warn("%s: probe %s is off: it failed to start (%s); the others keep running",
		 s->o->command, p->ops->name, strerror(-err));
	s->failed[s->nfailed] = (struct session_probe_state){p->ops->name, false, err};
	s->dead[s->nfailed++] = *p;
	memmove(p, p + 1, (s->nprobes - i - 1) * sizeof(*p));
	s->nprobes--;
	return 0;
}

static int probes_new(struct session *s)
{
	unsigned int first;
	int err;

	err = procevents_new(s);
	if (err)
		return err;
	first = s->nprobes; /* procevents, opened */
	for (size_t k = 0; k < NKINDS; k++) {
		struct probe *p;

		if (!(s->o->probes & probe_kinds[k].bit))
			continue;
		p = &s->probes[s->nprobes++];
		p->ops = probe_kinds[k].ops;
		p->host = &s->host;
		p->opts = (const char *)s->o + probe_kinds[k].opts_off;
	}
	/*
	 * The uprobe probe opens first: the stack probes reuse its call stacks
	 * (host.calls). The probes keep their order in s->probes.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = first; i < s->nprobes; i++) {
			if ((s->probes[i].ops == &uprobe_probe_ops) != !pass)
				continue;
			err = probe__open(&s->probes[i]);
			if (err && (err = probe_failed(s, i--, err)))
				return err;
		}
	}
	for (unsigned int i = 0; i < s->nprobes; i++) {
		err = probe__attach(&s->probes[i]);
		if (err && (err = probe_failed(s, i--, err)))
			return err;
	}
	return 0;
}

size_t session__probe_states(const struct session *s, struct session_probe_state *out, size_t max)
{
	size_t n = 0;

	for (unsigned int i = 0; i < s->nprobes && n < max; i++)
		if (s->probes[i].ops != &procevents_probe_ops)
			out[n++] = (struct session_probe_state){s->probes[i].ops->name, true, 0};
	for (unsigned int i = 0; i < s->nfailed && n < max; i++)
		out[n++] = s->failed[i];
	return n;
}

struct metrics *session__metrics(struct session *s)
{
	return exporters__metrics(s->ex);
}

int session__set_ready(struct session *s, bool ready, const char *json)
{
	return exporters__set_ready(s->ex, ready, json);
}

int session__new(const struct session_opts *o, struct session **out)
{
	struct session *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = o;
	s->host.targets_fd = -1;
	*out = s;

	err = privs_check_bpf(o->probes & (SESSION_PROBE_UPROBE | SESSION_PROBE_TLS));
	if (err)
		return err;
	err = outputs__open(&o->out, o->command, &s->outputs);
	if (err)
		return err;
	privs_bump_memlock();
	err = exporters__new(&o->ex, o->command, &s->ex);
	if (err)
		return err;
	err = probe_pidns_self(&s->host.pidns);
	if (err) {
		log_err("%s: failed to read sonde's PID namespace: %s", o->command, strerror(-err));
		return err;
	}
	if (s->host.pidns.ino)
		log_info("%s: in a PID namespace (pid:[%llu]): PIDs are translated to it",
			 o->command, (unsigned long long)s->host.pidns.ino);
	err = stacks_new(s);
	if (err)
		return err;
	err = targets_new(s);
	if (err)
		return err;
	err = procs_new(s);
	if (err)
		return err;
	s->host.metrics = exporters__metrics(s->ex);
	err = anomalies_new(s);
	if (err)
		return err;
	/* From here Ctrl-C stops the run, attaching included. */
	runloop_install_signals();
	s->host.stopping = runloop_stopping;
	if (outputs__spans(s->outputs) || exporters__otlp_on(s->ex)) {
		s->host.span = on_span;
		s->host.span_ctx = s;
	}
	return probes_new(s);
}

static void arm_all(struct session *s, bool on)
{
	for (unsigned int i = 0; i < s->nprobes; i++)
		probe__arm(&s->probes[i], on);
}

/* Whatever the rings still hold, after the probes stopped producing. */
static int drain_rings(struct session *s)
{
	int err;

	if (!s->host.rb)
		return 0;
	do {
		err = ring_buffer__consume(s->host.rb);
		if (err < 0 && err != PROBE_QUEUE_FULL && err != -EINTR) {
			log_err("%s: failed to read ring buffer: %s", s->o->command,
				strerror(-err));
			return err;
		}
		for (unsigned int i = 0; i < s->nprobes; i++) {
			int e = probe__tick(&s->probes[i]);

			if (e)
				return e;
		}
	} while (err == PROBE_QUEUE_FULL);
	return 0;
}

int session__run(struct session *s)
{
	struct runloop_opts lo;
	int err;

	s->host.mono_to_real = clock_mono_to_real_ns();
	s->t0_mono = mono_ns();
	s->window_start_real = real_ns();
	s->next_window_ns = s->t0_mono + (uint64_t)(s->o->window_s * NS_PER_S);
	if (s->host.prof)
		profile__set_time(s->host.prof, s->window_start_real, 0);
	/* Armed first: a launched command's first instructions count too. */
	arm_all(s, true);
	err = target__start(s->target);
	if (err)
		return err;
	s->export_ns = (uint64_t)(s->o->ex.export_interval_s * NS_PER_S);
	s->next_update_ns = mono_ns();
	s->next_export_ns = s->next_update_ns + s->export_ns;

	memset(&lo, 0, sizeof(lo));
	lo.rb = s->host.rb;
	lo.target = s->target;
	lo.duration_s = s->o->t.duration_s;
	lo.on_tick = on_tick;
	lo.ctx = s;
	s->reason = runloop__run(&lo);
	log_status(NULL);
	arm_all(s, false);
	for (unsigned int i = 0; i < s->nprobes; i++)
		probe__stop(&s->probes[i]);
	if (s->reason < 0)
		return s->reason;
	err = drain_rings(s);
	if (err)
		return err;
	if (s->host.prof)
		profile__set_time(s->host.prof, profile__start_unix_ns(s->host.prof),
				  real_ns() - profile__start_unix_ns(s->host.prof));
	/* The last window, however short. */
	if (s->o->window_s > 0) {
		err = cut_window(s);
		if (err)
			return err;
	}
	/* A split run's outputs are of the whole run (nothing came after the cut). */
	if (s->split && s->whole) {
		profile__free(s->host.prof);
		s->host.prof = s->whole;
		s->whole = NULL;
		stacks__set_profile(s->host.stacks, s->host.prof);
	}
	return s->reason;
}

/* The command line as given; a short form when the parser left none. */
static const char *svg_subtitle(const struct session *s, char *buf, size_t len)
{
	const struct session_opts *o = s->o;

	if (o->out.cmdline)
		return o->out.cmdline;
	if (o->t.cmd)
		snprintf(buf, len, "sonde %s -F %u -- %s", o->command, o->cpu.freq, o->t.cmd[0]);
	else if (o->t.all)
		snprintf(buf, len, "sonde %s -F %u -a", o->command, o->cpu.freq);
	else
		snprintf(buf, len, "sonde %s -F %u -p %d%s", o->command, o->cpu.freq,
			 o->t.pids[0], o->t.npids > 1 ? ",..." : "");
	return buf;
}

/* Spans a full disk (or any write error) kept out of the --spans file. */
static void report_span_drops(struct session *s)
{
	uint64_t written, dropped;
	int error;

	outputs__span_stats(s->outputs, &written, &dropped, &error);
	if (dropped)
		log_warn("%s: %llu of %llu spans could not be written to '%s'%s%s (the "
			 "histograms count them)",
			 s->o->command, (unsigned long long)dropped,
			 (unsigned long long)(written + dropped), s->o->out.spans_path,
			 error ? ": " : "", error ? strerror(-error) : "");
}

int session__finish(struct session *s)
{
	const struct session_opts *o = s->o;
	const struct rusage *ru;
	struct log_line line;
	char sub[256];
	int err = 0, e, npids;
	pid_t launched = 0;
	bool wrote = false;

	if (target__launched(s->target) && s->reason == RUNLOOP_TARGET_EXIT) {
		int sig = target__term_signal(s->target), status = target__exit_status(s->target);

		if (sig)
			log_warn("%s: '%s' was killed by signal %d (%s); sonde exits %d",
				 o->command, o->t.cmd[0], sig, strsignal(sig), status);
		else if (status)
			log_warn("%s: '%s' exited with status %d", o->command, o->t.cmd[0], status);
	}
	for (unsigned int i = 0; i < s->nprobes; i++) {
		e = probe__finish(&s->probes[i]);
		if (e && !err)
			err = e;
	}
	for (unsigned int i = 0; i < s->nprobes && !err && !o->no_reports; i++) {
		e = probe__report(&s->probes[i], stdout);
		/* A reader gone (| head) cut it short; a full disk fails, said once. */
		if (stream_reader_gone(stdout, e)) {
			log_info("%s: stdout closed: the report was cut short", o->command);
			break;
		}
		if (e) {
			log_err("%s: failed to write the report to stdout: %s", o->command,
				strerror(-e));
			err = e;
		}
	}
	/* With a window consumer, each window went there: no profile is left to write. */
	if (!err && s->host.prof && !s->o->on_window) {
		struct output_meta m = {
			.title = o->out.inverted ? "CPU icicle graph" : "CPU flame graph",
			.subtitle = svg_subtitle(s, sub, sizeof(sub)),
		};

		err = outputs__write_profile(s->outputs, s->host.prof, &m);
		wrote = !err;
	}
	e = outputs__commit_spans(s->outputs);
	if (e && !err)
		err = e;
	report_span_drops(s);
	/* The exporters' last word first: the closing lines count what they lost. */
	if (s->ex) {
		update_metrics(s);
		exporters__finish(s->ex);
	}
	s->host.spans_lost_downstream = spans_lost_downstream(s);
	for (unsigned int i = 0; i < s->nprobes; i++) {
		struct probe *p = &s->probes[i];

		log_line_init(&line);
		probe__summary(p, &line);
		if (!line.len)
			continue;
		if (p->ops->feeds_profile && wrote)
			log_line_add(&line, "%s", outputs__wrote(s->outputs));
		log_summary_line(&line);
	}
	procs_refresh(s, NULL);
	/* The launched command reaped: its exact figures, not the last reading. */
	ru = target__rusage(s->target);
	if (ru)
		launched = target__pids(s->target, &npids)[0];
	for (int i = 0; i < s->nprocs; i++) {
		const struct tproc *t = &s->procs[i];
		bool reaped = ru && t->pid == launched;
		char name[SONDE_COMM_LEN];

		/* A command that exited before its first reading still has its rusage. */
		if (!t->have && !reaped)
			continue;
		log_line_init(&line);
		if (reaped && (t->gone || !t->have))
			procstat_summary_exited(ru, t->have ? t->last.threads : 1, t->pid,
						t->comm[0] ? t->comm : launched_name(s, name),
						&line);
		else
			procstat_summary(&t->last, t->pid, t->comm, t->gone, &line);
		log_summary_line(&line);
	}
	for (unsigned int i = 0; i < s->nprobes; i++)
		probe__details(&s->probes[i]);
	return err;
}

int session__exit_status(const struct session *s)
{
	if (!target__launched(s->target) || s->reason != RUNLOOP_TARGET_EXIT)
		return 0;
	return target__exit_status(s->target);
}

void session__free(struct session *s)
{
	if (!s)
		return;
	/* The ring buffer maps the probes' rings: it goes first. */
	ring_buffer__free(s->host.rb);
	for (unsigned int i = 0; i < s->nprobes; i++)
		probe__free(&s->probes[i]);
	for (unsigned int i = 0; i < s->nfailed; i++)
		probe__free(&s->dead[i]);
	exporters__free(s->ex);
	anomaly_out__free(s->aout);
	outdir__free(s->anomaly_dir);
	profile__free(s->whole);
	if (s->host.targets_fd >= 0)
		close(s->host.targets_fd);
	target__free(s->target);
	stacks__free(s->host.stacks);
	symbolizer__free(s->host.sym);
	profile__free(s->host.prof);
	unwinder__free(s->unw);
	outputs__free(s->outputs);
	for (int i = 0; i < s->nprocs; i++)
		free(s->procs[i].label_buf);
	free(s->procs);
	free(s);
}
