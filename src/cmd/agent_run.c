// SPDX-License-Identifier: MIT
/*
 * sonde agent's run loop: one session with dynamic targets and the
 * enabled probes, fed by discovery (a scan of /proc at start and every
 * targets.rescan, the host's execs, the targets' forks and exits), cut
 * into windows that go to Pyroscope and an output directory, one series
 * per service (and pod, namespace, container); /metrics carries the
 * targets' CPU and memory with the same labels and /readyz the state of
 * every probe.
 *
 * SIGHUP reloads the configuration: a rejected one changes nothing; one
 * that only changes targets, service or log is applied in place; any
 * other change ends the session (its last window delivered) and starts
 * one with the new configuration. A new session that cannot start (its
 * maps past memory_limit, an exporter that cannot bind) refuses the
 * reload: the previous configuration starts again, its targets found
 * anew; the agent exits only when that one cannot start either. The
 * probes' memory is known only once they are loaded (ring and map sizes
 * follow the CPUs, the kernel's accounting and memory_limit itself), and
 * two sessions cannot load side by side within one budget (nor bind one
 * /metrics address), so the check is the new session's start, not a
 * prediction made before the old one ends.
 *
 * SIGTERM and SIGINT end the run: the last window is cut and pushed, and
 * every exporter is flushed within flush_timeout. The memory budget is
 * watched every second: past 80 % of memory_limit the window is cut
 * early and freed memory returned.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/selfmem.h"
#include "base/strbuf.h"
#include "cmd/agent.h"
#include "cmd/agent_targets.h"
#include "cmd/cli.h"
#include "export/outdir.h"
#include "export/prom.h"
#include "export/pyroscope.h"
#include "model/metrics.h"
#include "model/profile.h"
#include "session/discover.h"
#include "session/privs.h"
#include "session/procstat.h"
#include "session/runloop.h"
#include "session/session.h"
#include "sonde/events.h"

#define NS_PER_S 1000000000ull
#define READY_EVERY_NS (1 * NS_PER_S)
#define MEMORY_EVERY_NS (1 * NS_PER_S)
/* Past this share of memory_limit the window is cut early. */
#define MEMORY_HIGH 0.8
#define MAX_LABELS 16

#define M_TARGETS "sonde_agent_targets"
#define M_WINDOWS "sonde_agent_windows_total"
#define M_SKIPPED "sonde_agent_discovery_skipped_total"
#define M_RELOADS "sonde_agent_reloads_total"
#define M_PRESSURE "sonde_agent_memory_pressure_total"
#define M_RSS "sonde_agent_resident_bytes"
#define M_MEM "sonde_agent_memory_bytes"
#define M_LIMIT "sonde_agent_memory_limit_bytes"
#define M_WINDOWS_FAILED "sonde_agent_windows_failed_total"
#define M_QUEUED "sonde_export_queued_windows"

static volatile sig_atomic_t reload_asked;

static void on_hup(int sig)
{
	(void)sig;
	reload_asked = 1;
}

struct agent {
	const struct agent_args *args;
	struct agent_config *cfg;
	/* Configurations replaced in place: the session's options point into them. */
	struct agent_config **retired;
	size_t nretired;
	struct agent_config *next; /* the reloaded one the next session runs */
	/* The one a reload replaced, until the new session runs: its fallback. */
	struct agent_config *prev;
	bool restoring; /* the session starting is prev's, after a refused reload */
	char why[512];	/* why the last session could not start */
	bool refused;	/* by admit_memory(), which leaves why to log */
	struct agent_rules rules;
	struct agent_targets targets;
	struct session *s;
	struct pyroscope *pyro;
	struct outdir *dir;
	uint64_t next_scan_ns, next_ready_ns, next_mem_ns;
	uint64_t windows, windows_failed, reloads_ok, reloads_failed, pressure;
	uint64_t rss;
	struct selfmem mem; /* what memory_limit counts, last read */
	bool scanned; /* the first scan is done: ready from then on */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* ---- labels -------------------------------------------------------------- */

/* A target's labels for its process metrics and its series, "" left out. */
static unsigned int target_labels(const struct agent_config *c, const struct agent_target *t,
				  struct metric_label *l, unsigned int max, bool service)
{
	unsigned int n = 0;

	if (service && n < max)
		l[n++] = (struct metric_label){"service_name", t->service};
	if (t->k8s_namespace[0] && n < max)
		l[n++] = (struct metric_label){"namespace", t->k8s_namespace};
	if (t->pod[0] && n < max)
		l[n++] = (struct metric_label){"pod", t->pod};
	if (t->container_id[0] && n < max)
		l[n++] = (struct metric_label){"container_id", t->container_id};
	for (size_t i = 0; i < c->service.labels.n && n < max; i++)
		l[n++] = (struct metric_label){c->service.labels.v[i].key,
					       c->service.labels.v[i].value};
	return n;
}

/* Process metrics of @t carry the service and where it runs. */
static void label_target(struct agent *ag, const struct agent_target *t)
{
	struct metric_label l[PROCSTAT_MAX_LABELS];
	unsigned int n = target_labels(ag->cfg, t, l, PROCSTAT_MAX_LABELS, true);

	session__set_target_labels(ag->s, t->pid, l, n);
}

/* ---- targets ------------------------------------------------------------- */

static int add_target(struct agent *ag, const struct proc_info *pi, bool exec)
{
	struct agent_target *t = agent_targets_find(&ag->targets, pi->pid);

	if (t && !t->gone && !exec)
		return 0;
	t = agent_targets_add(&ag->targets, ag->cfg, pi);
	if (!t)
		return 0; /* over targets.max_processes: counted */
	/* An error is logged; the process stays a target of the other probes. */
	session__add_target(ag->s, pi->pid, exec);
	label_target(ag, t);
	log_info("agent: profiling PID %d (%s) as %s%s%s", pi->pid, pi->comm, t->service,
		 t->pod[0] ? " in pod " : "", t->pod);
	return 0;
}

static int scan_one(void *ctx, const struct proc_info *pi)
{
	struct agent *ag = ctx;

	if (pi->pid == getpid())
		return 0;
	return add_target(ag, pi, false);
}

/* Every process that matches and is not a target yet. */
static void rescan(struct agent *ag)
{
	/* Over targets.max_processes, agent_targets_add() counts them. */
	discover_scan(&ag->rules.r, 0, scan_one, ag, NULL);
	ag->scanned = true;
}

/* Targets that no longer match the rules (a reload) leave. */
static void drop_unmatched(struct agent *ag)
{
	struct proc_info *pi = malloc(sizeof(*pi));

	if (!pi)
		return;
	for (size_t i = 0; i < ag->targets.n;) {
		struct agent_target *t = &ag->targets.v[i];

		if (!t->gone && (proc_info_read(t->pid, pi) || !discover_match(&ag->rules.r, pi))) {
			session__remove_target(ag->s, t->pid);
			agent_targets_remove(&ag->targets, t->pid);
			continue;
		}
		i++;
	}
	free(pi);
}

static void on_proc(void *ctx, struct session *s, const struct sonde_proc_event *e)
{
	struct agent *ag = ctx;
	struct agent_target *t = agent_targets_find(&ag->targets, (pid_t)e->pid);
	struct proc_info *pi;
	int err;

	(void)s;
	switch (e->op) {
	case SONDE_PROC_FORK: {
		struct agent_target *parent = agent_targets_find(&ag->targets, (pid_t)e->ppid);

		/* The session made the child a target already; it gets its parent's labels. */
		if (parent && !t) {
			t = agent_targets_fork(&ag->targets, parent, (pid_t)e->pid);
			if (t)
				label_target(ag, t);
		}
		break;
	}
	case SONDE_PROC_EXIT:
		/* Kept until its window is delivered: its stacks are labelled by it. */
		if (t)
			t->gone = true;
		break;
	case SONDE_PROC_EXEC:
		pi = malloc(sizeof(*pi));
		err = pi ? discover_read(&ag->rules.r, (pid_t)e->pid, pi) : -ENOMEM;
		if (err < 0) {
			free(pi);
			break;
		}
		if (!err && discover_match(&ag->rules.r, pi)) {
			add_target(ag, pi, t != NULL);
		} else if (t && !t->gone) {
			/* A target that exec'd something the rules do not want. */
			session__remove_target(ag->s, t->pid);
			agent_targets_remove(&ag->targets, t->pid);
		}
		free(pi);
		break;
	default:
		break;
	}
}

/* ---- windows ------------------------------------------------------------- */

/* One series of a window: the targets with equal labels. */
struct series {
	const struct agent_target *t; /* the first: the labels */
	char service[128];
};

struct window_split {
	struct agent *ag;
	struct series *v;
	size_t n;
	const struct series *want;
};

static bool same_series(const struct agent_target *a, const struct agent_target *b)
{
	return !strcmp(a->service, b->service) && !strcmp(a->k8s_namespace, b->k8s_namespace) &&
	       !strcmp(a->pod, b->pod) && !strcmp(a->container_id, b->container_id);
}

/* The series of a stack's process; NULL for one sonde knows nothing of. */
static const struct agent_target *stack_target(struct agent *ag, const struct profile_stack *st)
{
	return agent_targets_find(&ag->targets, (pid_t)st->pid);
}

static bool keep_series(void *ctx, const struct profile_stack *st)
{
	struct window_split *w = ctx;
	const struct agent_target *t = stack_target(w->ag, st);

	if (!t)
		return !strcmp(w->want->service, st->comm ? st->comm : "unknown") && !w->want->t;
	return w->want->t && same_series(t, w->want->t);
}

static int add_series(struct window_split *w, const struct agent_target *t, const char *comm)
{
	struct series *grown;

	for (size_t i = 0; i < w->n; i++) {
		if (t && w->v[i].t && same_series(t, w->v[i].t))
			return 0;
		if (!t && !w->v[i].t && !strcmp(w->v[i].service, comm))
			return 0;
	}
	grown = realloc(w->v, (w->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	w->v = grown;
	w->v[w->n].t = t;
	snprintf(w->v[w->n].service, sizeof(w->v[w->n].service), "%s", t ? t->service : comm);
	w->n++;
	return 0;
}

static int deliver_series(struct agent *ag, const struct profile *p, const struct series *sr,
			  const struct session_window *sw)
{
	const struct agent_config *c = ag->cfg;
	struct pyroscope_label pl[MAX_LABELS];
	struct metric_label ml[MAX_LABELS];
	unsigned int n = 0;
	int err = 0, e;

	if (sr->t)
		n = target_labels(c, sr->t, ml, MAX_LABELS, false);
	for (unsigned int i = 0; i < n; i++)
		pl[i] = (struct pyroscope_label){ml[i].key, ml[i].value};
	if (ag->pyro) {
		e = pyroscope__push(ag->pyro, p, sr->service, pl, n, sw->start_unix_ns,
				    sw->end_unix_ns,
				    c->probes.cpu.enabled ? c->probes.cpu.frequency : 0);
		if (e && !err)
			err = e;
	}
	if (ag->dir) {
		e = outdir__write(ag->dir, p, sr->service, sw->start_unix_ns, NULL, 0);
		if (e && !err)
			err = e;
	}
	return err;
}

/* Forget the targets that exited once their last stacks went out. */
static void reap_gone(struct agent *ag)
{
	for (size_t i = 0; i < ag->targets.n;) {
		if (ag->targets.v[i].gone) {
			agent_targets_remove(&ag->targets, ag->targets.v[i].pid);
			continue;
		}
		i++;
	}
}

static int on_window(void *ctx, struct profile *window, const struct session_window *sw)
{
	struct agent *ag = ctx;
	struct window_split w = {.ag = ag};
	int err = 0;

	for (size_t i = 0; i < profile__stack_count(window) && !err; i++) {
		const struct profile_stack *st = profile__stack(window, i);

		err = add_series(&w, stack_target(ag, st), st->comm ? st->comm : "unknown");
	}
	for (size_t i = 0; i < w.n && !err; i++) {
		struct profile *one;

		w.want = &w.v[i];
		one = profile__filter(window, keep_series, &w);
		if (!one) {
			err = -ENOMEM;
			break;
		}
		if (deliver_series(ag, one, &w.v[i], sw))
			ag->windows_failed++;
		profile__free(one);
	}
	ag->windows++;
	log_debug("agent: window %u: %zu series, %llu samples", sw->index, w.n,
		  (unsigned long long)sw->samples);
	free(w.v);
	profile__free(window);
	reap_gone(ag);
	return err == -ENOMEM ? err : 0;
}

/* ---- health, metrics, budget --------------------------------------------- */

/* Targets alive now (exited ones wait for their window). */
static size_t live_targets(const struct agent *ag)
{
	size_t n = 0;

	for (size_t i = 0; i < ag->targets.n; i++)
		n += !ag->targets.v[i].gone;
	return n;
}

/* The windows' exporters: failures, drops and the queue (nothing lost silently). */
static void publish_windows(struct agent *ag, struct metrics *m)
{
	struct metric_label l[2] = {{"exporter", "pyroscope"}, {"signal", "profiles"}};

	metrics__declare(m, M_WINDOWS_FAILED, METRIC_COUNTER,
			 "Windows of a target not delivered to some output", NULL, 0);
	metrics__counter_set(m, M_WINDOWS_FAILED, NULL, 0, (double)ag->windows_failed);
	if (ag->pyro) {
		struct pyroscope_stats ps;

		pyroscope__stats(ag->pyro, &ps);
		metrics__declare(m, M_QUEUED, METRIC_GAUGE,
				 "Profile windows waiting in an exporter's queue", NULL, 0);
		metrics__counter_set(m, M_EXPORT_ERRORS, l, 1, (double)ps.requests_failed);
		metrics__counter_set(m, M_EXPORT_DROPPED, l, 2,
				     (double)(ps.windows_failed + ps.windows_dropped));
		metrics__gauge_set(m, M_QUEUED, l, 1, (double)ps.windows_queued);
	}
	if (ag->dir) {
		struct outdir_stats ds;

		outdir__stats(ag->dir, &ds);
		l[0].value = "files";
		metrics__counter_set(m, M_EXPORT_ERRORS, l, 1, (double)ds.failures);
		metrics__counter_set(m, M_EXPORT_DROPPED, l, 2, (double)ds.failures);
	}
}

static void publish(struct agent *ag)
{
	struct metrics *m = session__metrics(ag->s);
	struct metric_label ok = {"result", "success"}, bad = {"result", "failure"};
	struct metric_label heap = {"part", "heap"}, maps = {"part", "bpf_maps"};

	if (!m)
		return;
	metrics__declare(m, M_TARGETS, METRIC_GAUGE, "Processes the agent profiles now", NULL, 0);
	metrics__declare(m, M_WINDOWS, METRIC_COUNTER, "Profile windows cut and delivered", NULL,
			 0);
	metrics__declare(m, M_SKIPPED, METRIC_COUNTER,
			 "Processes that matched with targets.max_processes reached", NULL, 0);
	metrics__declare(m, M_RELOADS, METRIC_COUNTER, "Configuration reloads (SIGHUP)", NULL, 0);
	metrics__declare(m, M_PRESSURE, METRIC_COUNTER,
			 "Windows cut early because sonde neared memory_limit", NULL, 0);
	metrics__declare(m, M_RSS, METRIC_GAUGE, "Resident memory of the agent", NULL, 0);
	metrics__declare(m, M_MEM, METRIC_GAUGE,
			 "What memory_limit counts: anonymous resident memory (heap) and BPF maps",
			 NULL, 0);
	metrics__declare(m, M_LIMIT, METRIC_GAUGE, "memory_limit", NULL, 0);
	metrics__gauge_set(m, M_TARGETS, NULL, 0, (double)live_targets(ag));
	metrics__counter_set(m, M_WINDOWS, NULL, 0, (double)ag->windows);
	metrics__counter_set(m, M_SKIPPED, NULL, 0, (double)ag->targets.skipped);
	metrics__counter_set(m, M_RELOADS, &ok, 1, (double)ag->reloads_ok);
	metrics__counter_set(m, M_RELOADS, &bad, 1, (double)ag->reloads_failed);
	metrics__counter_set(m, M_PRESSURE, NULL, 0, (double)ag->pressure);
	metrics__gauge_set(m, M_RSS, NULL, 0, (double)ag->rss);
	metrics__gauge_set(m, M_MEM, &heap, 1, (double)ag->mem.anon);
	metrics__gauge_set(m, M_MEM, &maps, 1, (double)ag->mem.maps);
	metrics__gauge_set(m, M_LIMIT, NULL, 0, (double)ag->cfg->memory_limit);
	publish_windows(ag, m);
}

/* /readyz: ready once a probe runs and the first scan is done; the body says all. */
static void update_ready(struct agent *ag)
{
	struct session_probe_state st[16];
	size_t n = session__probe_states(ag->s, st, 16);
	struct pyroscope_stats ps = {0};
	char json[4096];
	size_t len = 0;
	bool any = false;

	len = str_append(json, sizeof(json), len, "{\"probes\":[");
	for (size_t i = 0; i < n; i++) {
		any |= st[i].ok;
		len = str_append(json, sizeof(json), len, "%s{\"name\":\"%s\",\"running\":%s",
				 i ? "," : "", st[i].name, st[i].ok ? "true" : "false");
		if (!st[i].ok)
			len = str_append(json, sizeof(json), len, ",\"error\":\"%s\"",
					 strerror(-st[i].err));
		len = str_append(json, sizeof(json), len, "}");
	}
	if (ag->pyro)
		pyroscope__stats(ag->pyro, &ps);
	len = str_append(json, sizeof(json), len,
			 "],\"targets\":%zu,\"windows\":%llu,\"windows_failed\":%llu,"
			 "\"pyroscope\":{\"sent\":%llu,\"failed\":%llu,\"queued\":%llu},"
			 "\"resident_bytes\":%llu,\"memory_bytes\":%llu,\"memory_limit_bytes\":%llu}\n",
			 live_targets(ag), (unsigned long long)ag->windows,
			 (unsigned long long)ag->windows_failed,
			 (unsigned long long)ps.windows_sent,
			 (unsigned long long)(ps.windows_failed + ps.windows_dropped),
			 (unsigned long long)ps.windows_queued, (unsigned long long)ag->rss,
			 (unsigned long long)selfmem_used(&ag->mem),
			 (unsigned long long)ag->cfg->memory_limit);
	session__set_ready(ag->s, any && ag->scanned, json);
}

static void read_memory(struct agent *ag)
{
	/* Unreadable /proc/self/status: the last figures stay. */
	if (!selfmem_read(&ag->mem))
		ag->rss = ag->mem.rss;
}

/*
 * Past MEMORY_HIGH of memory_limit (heap + BPF maps, base/selfmem.h):
 * the window is cut early (its stacks freed) and the symbol caches
 * dropped, counted and logged.
 */
static void check_memory(struct agent *ag)
{
	uint64_t limit = ag->cfg->memory_limit, was;

	read_memory(ag);
	was = selfmem_used(&ag->mem);
	if (!limit || was < (uint64_t)(limit * MEMORY_HIGH))
		return;
	ag->pressure++;
	session__cut_window(ag->s);
	session__shrink(ag->s);
	malloc_trim(0);
	read_memory(ag);
	log_warn("agent: %llu MiB of memory_limit %llu MiB in use (heap and BPF maps): window "
		 "cut early, symbol and unwind caches dropped: %llu MiB now",
		 (unsigned long long)(was >> 20), (unsigned long long)(limit >> 20),
		 (unsigned long long)(selfmem_used(&ag->mem) >> 20));
}

/*
 * The probes' maps and rings are sized when they load, and the agent
 * never starts with them past MEMORY_HIGH of its budget less HEAP_ROOM
 * for the heap: it would cut every window and still be over. Only the
 * maps decide (the heap at start is a few MiB, and under AddressSanitizer
 * its shadow alone is 100). -ENOSPC with one line saying what takes it.
 */
#define HEAP_ROOM (4ull << 20)

/* 0, or -ENOSPC with what takes the memory in ag->why (the caller logs it). */
static int admit_memory(struct agent *ag)
{
	uint64_t limit = ag->cfg->memory_limit;

	read_memory(ag);
	if (!limit || ag->mem.maps + HEAP_ROOM < (uint64_t)(limit * MEMORY_HIGH))
		return 0;
	ag->refused = true;
	snprintf(ag->why, sizeof(ag->why),
		 "memory_limit %llu MiB is too small for these probes: their %u BPF maps take "
		 "%.1f MiB (the largest %.1f MiB) and sonde %.1f MiB; give it at least %llu MiB "
		 "or turn probes off",
		 (unsigned long long)(limit >> 20), ag->mem.nmaps, ag->mem.maps / 1048576.0,
		 ag->mem.largest / 1048576.0, ag->mem.anon / 1048576.0,
		 (unsigned long long)(((ag->mem.maps + HEAP_ROOM) / MEMORY_HIGH) / 1048576) + 8);
	return -ENOSPC;
}

/* ---- reload -------------------------------------------------------------- */

/* Keys a running session takes in place. */
static bool in_place(const char *key)
{
	return !strncmp(key, "targets.", 8) || !strncmp(key, "service.", 8) ||
	       !strncmp(key, "log.", 4);
}

static struct agent_config *load(const struct agent_args *a)
{
	struct agent_config_input in = {
		.file = a->config, .env = a->env, .flags = a->flags, .nflags = a->nflags};
	struct agent_config *c = NULL;

	return agent_config__load(&in, &c) ? NULL : c;
}

/* 0 goes on, 1 ends the session for a new one with ag->next. */
static int reload(struct agent *ag)
{
	const char *keys[64];
	struct agent_config *c = load(ag->args), **grown;
	struct agent_rules rules;
	const char *whole = NULL; /* the first key a running session cannot take */
	size_t n;

	if (!c) {
		ag->reloads_failed++;
		log_err("agent: configuration reload rejected: the running one stays");
		return 0;
	}
	n = agent_config__diff(ag->cfg, c, keys, 64);
	for (size_t i = 0; i < n && i < 64 && !whole; i++)
		if (!in_place(keys[i]))
			whole = keys[i];
	if (!n) {
		ag->reloads_ok++;
		log_info("agent: configuration reloaded: nothing changed");
		agent_config__free(c);
		return 0;
	}
	if (whole || n > 64) {
		/* Counted once the new session runs (run_session), or refused. */
		log_info("agent: configuration reload: %s changed, restarting the probes",
			 whole ? whole : keys[0]);
		ag->next = c;
		return 1;
	}
	grown = realloc(ag->retired, (ag->nretired + 1) * sizeof(*grown));
	if (grown)
		ag->retired = grown;
	if (!grown || agent_rules_init(&rules, c)) {
		log_err("agent: configuration reload failed: %s", strerror(ENOMEM));
		agent_config__free(c);
		ag->reloads_failed++;
		return 0;
	}
	ag->reloads_ok++;
	ag->retired[ag->nretired++] = ag->cfg;
	ag->cfg = c;
	agent_rules_free(&ag->rules);
	ag->rules = rules;
	ag->targets.max = c->targets.max_processes;
	log_set_level(c->log.level);
	log_set_format(c->log.format);
	log_info("agent: configuration reloaded: %zu keys changed, applied in place", n);
	/* New service labels for the targets that stay, then the new ones. */
	drop_unmatched(ag);
	for (size_t i = 0; i < ag->targets.n; i++) {
		struct agent_target *t = &ag->targets.v[i];

		snprintf(t->service, sizeof(t->service), "%s",
			 *c->service.name ? c->service.name : t->comm);
		label_target(ag, t);
	}
	rescan(ag);
	return 0;
}

static int on_tick(void *ctx, struct session *s)
{
	struct agent *ag = ctx;
	uint64_t now = mono_ns();

	(void)s;
	if (reload_asked) {
		reload_asked = 0;
		if (reload(ag))
			return 1;
	}
	if (now >= ag->next_scan_ns) {
		rescan(ag);
		ag->next_scan_ns = now + ag->cfg->targets.rescan_ns;
	}
	if (now >= ag->next_mem_ns) {
		check_memory(ag);
		ag->next_mem_ns = now + MEMORY_EVERY_NS;
	}
	if (now >= ag->next_ready_ns) {
		publish(ag);
		update_ready(ag);
		ag->next_ready_ns = now + READY_EVERY_NS;
	}
	return 0;
}

/* ---- setup --------------------------------------------------------------- */

/* probes.tls as sonde llm's options: content kept only when asked, redacted. */
static void set_tls(const struct agent_config *c, struct tls_opts *t)
{
	t->max_connections = c->probes.tls.max_connections;
	t->capture_content = c->probes.tls.capture_content;
	/*
	 * Its ring within memory_limit, as the stack probes' within ring_max:
	 * the largest power of two of KiB up to a sixteenth, 4 MiB at least
	 * (its records are few but carry whole request and response bodies).
	 */
	while (t->ring_kib > 4096 && t->ring_kib > c->memory_limit / 16 / 1024)
		t->ring_kib /= 2;
	if (!t->capture_content)
		return;
	t->content_max =
		c->probes.tls.max_content >= 64 ? (unsigned int)c->probes.tls.max_content : 64;
	for (size_t i = 0; i < c->probes.tls.redact.n && t->nredact < TLS_REDACT_MAX; i++)
		t->redact[t->nredact++] = c->probes.tls.redact.v[i].src;
}

static int set_probes(const struct agent_config *c, struct session_opts *o)
{
	int err;

	o->probes = (c->probes.cpu.enabled ? SESSION_PROBE_CPU : 0) |
		    (c->probes.offcpu.enabled ? SESSION_PROBE_OFFCPU : 0) |
		    (c->probes.alloc.enabled ? SESSION_PROBE_ALLOC : 0) |
		    (c->probes.faults.enabled ? SESSION_PROBE_FAULTS : 0) |
		    (c->probes.uprobe.enabled ? SESSION_PROBE_UPROBE : 0) |
		    (c->probes.tls.enabled ? SESSION_PROBE_TLS : 0);
	set_tls(c, &o->tls);
	o->cpu.freq = c->probes.cpu.frequency;
	o->cpu.kernel = c->probes.cpu.kernel;
	o->cpu.call_graph =
		c->probes.cpu.call_graph == AGENT_CALL_GRAPH_FP ? CALL_GRAPH_FP : CALL_GRAPH_DWARF;
	o->cpu.stack_size = (unsigned int)c->probes.cpu.stack_size;
	/*
	 * A stack probe's ring takes at most a 64th of memory_limit (2 MiB of
	 * the default 128): alone, faults or alloc would size theirs for 20000
	 * samples/s of whole stacks. Its pages are mapped twice (a record may
	 * wrap), so each costs twice that in resident memory: three stack
	 * probes at a 16th were 48 MiB of the agent's RSS. 2 MiB holds half a
	 * second of 99 Hz on two CPUs with 16 KiB stack copies, and the
	 * collector drains it every 100 ms tick (drops are counted).
	 */
	o->ring_max = c->memory_limit / 64;
	/* Forked children are targets too: room for more processes than the rules find. */
	o->cpu.max_pids = c->targets.max_processes * 4 > 1024 ? c->targets.max_processes * 4 : 1024;
	o->offcpu.min_ns = c->probes.offcpu.min_duration_ns;
	o->offcpu.sample =
		1.0 / (c->probes.offcpu.sample_one_in ? c->probes.offcpu.sample_one_in : 1);
	o->alloc.rate = (unsigned int)c->probes.alloc.sample_bytes;
	o->alloc.inuse = c->probes.alloc.inuse;
	o->alloc.max_live = c->probes.alloc.max_live;
	o->faults.period = c->probes.faults.period;
	o->faults.freq = c->probes.faults.frequency;
	o->uprobe.max_probes = c->probes.uprobe.max_probes;
	o->uprobe.watch = c->probes.uprobe.watch;
	if (!c->probes.uprobe.enabled)
		return 0;
	o->uprobe.funcs = calloc(c->probes.uprobe.functions.n, sizeof(*o->uprobe.funcs));
	if (!o->uprobe.funcs)
		return -ENOMEM;
	for (size_t i = 0; i < c->probes.uprobe.functions.n; i++) {
		err = trace_func_spec_parse(c->probes.uprobe.functions.v[i],
					    &o->uprobe.funcs[o->uprobe.nfuncs]);
		if (err)
			return err;
		o->uprobe.nfuncs++;
	}
	return 0;
}

/* OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT from the configuration (the encoder reads them). */
static int set_otlp_env(const struct agent_config *c)
{
	char buf[4096], ms[32];
	size_t len = 0;

	if (c->exporters.otlp.headers.n) {
		for (size_t i = 0; i < c->exporters.otlp.headers.n; i++)
			len = str_append(buf, sizeof(buf), len, "%s%s=%s", i ? "," : "",
					 c->exporters.otlp.headers.v[i].key,
					 c->exporters.otlp.headers.v[i].value);
		if (len >= sizeof(buf) - 1) {
			log_err("agent: exporters.otlp.headers are too long (%zu bytes at most)",
				sizeof(buf) - 1);
			return -EINVAL;
		}
		setenv("OTEL_EXPORTER_OTLP_HEADERS", buf, 1);
	}
	/* The variable, when set, stands unless the configuration says otherwise. */
	if (agent_config__origin(c, "exporters.otlp.timeout")->kind != CFG_FROM_DEFAULT ||
	    !getenv("OTEL_EXPORTER_OTLP_TIMEOUT")) {
		snprintf(ms, sizeof(ms), "%llu",
			 (unsigned long long)(c->exporters.otlp.timeout_ns / 1000000));
		setenv("OTEL_EXPORTER_OTLP_TIMEOUT", ms, 1);
	}
	return 0;
}

static int set_exporters(const struct agent_config *c, struct export_opts *x)
{
	const char *listen = c->exporters.listen.address;

	if (c->exporters.listen.enabled) {
		/* ":PORT" is every interface, as the schema says. */
		if (listen[0] == ':') {
			snprintf(x->listen_buf, sizeof(x->listen_buf), "0.0.0.0%s", listen);
			x->listen = x->listen_buf;
		} else {
			x->listen = listen;
		}
		for (size_t i = 0; i < c->exporters.listen.allow.n && i < PROM_MAX_ALLOW; i++)
			if (!prom_cidr_parse(c->exporters.listen.allow.v[i].src,
					     &x->listen_allow[x->nlisten_allow]))
				x->nlisten_allow++;
		if (*c->exporters.listen.auth_file)
			x->listen_auth = c->exporters.listen.auth_file;
	}
	if (c->exporters.statsd.enabled)
		x->statsd = c->exporters.statsd.address;
	if (c->exporters.otlp.enabled) {
		x->otlp_endpoint = c->exporters.otlp.endpoint;
		x->otlp_queue = c->exporters.otlp.queue;
		if (set_otlp_env(c))
			return -EINVAL;
	}
	x->flush_timeout_s = (double)c->flush_timeout_ns / NS_PER_S;
	return 0;
}

static int build_opts(struct agent *ag, struct session_opts *o)
{
	const struct agent_config *c = ag->cfg;
	int err;

	o->t.dynamic = true;
	o->keep_going = true;
	o->no_dwarf = !c->symbols.dwarf;
	/*
	 * A quarter of memory_limit for the symbol caches, a sixteenth for
	 * the unwinder's tables. The BPF maps are sized at start
	 * (admit_memory): what this guards is the heap, which the caches
	 * share with the window's profile and the export queues. Full caches
	 * beside maps of up to 45 % of the limit stay below MEMORY_HIGH;
	 * caches of half the limit would trip it beside 30 %.
	 */
	o->symbols_max_bytes = c->memory_limit / 4;
	o->unwind_max_bytes = c->memory_limit / 16;
	o->verbose = c->log.level >= LOG_DEBUG ? 2 : c->log.level >= LOG_INFO ? 1 : 0;
	err = set_probes(c, o);
	if (!err)
		err = set_exporters(c, &o->ex);
	if (err)
		return err;
	o->window_s = (double)c->window_ns / NS_PER_S;
	o->on_window = on_window;
	o->window_ctx = ag;
	/* Its stdout is a container log: the windows carry what reports would say. */
	o->no_reports = true;
	/* probes.uprobe.watch with a stack probe: anomalies' diffs beside the windows. */
	o->anomaly_outdir = ag->dir;
	o->on_proc = on_proc;
	o->proc_ctx = ag;
	o->on_tick = on_tick;
	o->tick_ctx = ag;
	return 0;
}

static bool cancel_flush(void *ctx)
{
	(void)ctx;
	/* A second SIGTERM cuts the final flush short. */
	return runloop_signals() > 1;
}

/* The window consumers, which live across sessions. */
static int sinks_new(struct agent *ag)
{
	const struct agent_config *c = ag->cfg;
	int err;

	if (c->exporters.pyroscope.enabled) {
		struct pyroscope_opts po = {
			.url = c->exporters.pyroscope.url,
			.tenant = c->exporters.pyroscope.tenant,
			.cancel = cancel_flush,
		};

		err = pyroscope__new(&po, &ag->pyro);
		if (err)
			return err;
	}
	if (c->exporters.files.enabled) {
		struct outdir_opts oo = {
			.dir = c->exporters.files.directory,
			.format = c->exporters.files.format == AGENT_FILE_SVG	   ? WINDOW_SVG
				  : c->exporters.files.format == AGENT_FILE_FOLDED ? WINDOW_FOLDED
										   : WINDOW_PPROF,
			.keep = c->exporters.files.keep,
			.max_size = c->exporters.files.max_size,
		};

		err = outdir__new(&oo, &ag->dir);
		if (err)
			return err;
	}
	return 0;
}

static void sinks_free(struct agent *ag)
{
	if (ag->pyro) {
		int err = pyroscope__flush(ag->pyro, (int)(ag->cfg->flush_timeout_ns / 1000000));

		if (err)
			log_warn("agent: Pyroscope: windows still queued after flush_timeout: %s",
				 strerror(-err));
		pyroscope__free(ag->pyro);
		ag->pyro = NULL;
	}
	outdir__free(ag->dir);
	ag->dir = NULL;
}

/*
 * One session: until a signal (0), a reload that needs a new one (1), or
 * -errno. *@started says whether it ran; one that could not start leaves
 * why in ag->why.
 */
static int run_session(struct agent *ag, bool *started)
{
	struct session_opts o;
	int err, reason;

	*started = false;
	ag->why[0] = '\0';
	ag->refused = false;
	ag->targets.max = ag->cfg->targets.max_processes;
	ag->next_scan_ns = ag->next_ready_ns = ag->next_mem_ns = 0;
	ag->scanned = false;
	session_opts_init(&o, "agent");
	err = agent_rules_init(&ag->rules, ag->cfg);
	if (!err)
		err = build_opts(ag, &o);
	if (!err)
		err = session__new(&o, &ag->s);
	if (!err)
		err = admit_memory(ag);
	if (err) {
		if (!ag->why[0])
			snprintf(ag->why, sizeof(ag->why), "%s", strerror(-err));
		goto out;
	}
	*started = true;
	ag->restoring = false;
	if (ag->prev) {
		/* A reload's session runs: the configuration it replaced is not needed. */
		ag->reloads_ok++;
		agent_config__free(ag->prev);
		ag->prev = NULL;
	}
	log_info("agent: running (window %.1f s, rescan %.1f s)", o.window_s,
		 (double)ag->cfg->targets.rescan_ns / NS_PER_S);
	reason = session__run(ag->s);
	if (reason < 0) {
		err = reason;
		goto out;
	}
	err = session__finish(ag->s);
	if (!err && reason == RUNLOOP_CALLER)
		err = 1;
out:
	session__free(ag->s);
	ag->s = NULL;
	session_opts_free(&o);
	agent_rules_free(&ag->rules);
	/* The next session starts with no target: discovery finds them again. */
	agent_targets_free(&ag->targets);
	for (size_t i = 0; i < ag->nretired; i++)
		agent_config__free(ag->retired[i]);
	free(ag->retired);
	ag->retired = NULL;
	ag->nretired = 0;
	return err;
}

/* The window consumers and the session of ag->cfg, as run_session(). */
static int run_config(struct agent *ag, bool *started)
{
	int err;

	log_set_level(ag->cfg->log.level);
	log_set_format(ag->cfg->log.format);
	err = sinks_new(ag);
	if (!err)
		return run_session(ag, started);
	*started = false;
	ag->refused = false;
	snprintf(ag->why, sizeof(ag->why), "%s", strerror(-err));
	return err;
}

/* Sessions until a signal, a failure, or the first one's failed start. */
int agent_run(const struct agent_args *a, struct agent_config **cfg)
{
	struct agent ag = {.args = a, .cfg = *cfg};
	struct sigaction sa = {.sa_handler = on_hup};
	bool started;
	int err;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	privs_report_optional("agent");
	for (;;) {
		err = run_config(&ag, &started);
		sinks_free(&ag);
		if (err == 1) {
			/* A reload that needs new probes or exporters; this one is its fallback. */
			ag.prev = ag.cfg;
			ag.cfg = ag.next;
			ag.next = NULL;
			continue;
		}
		/* SIGTERM while a session loaded: a stop, not a failure to fall back from. */
		if (!started && runloop_stopping()) {
			err = 0;
			break;
		}
		if (started || (!ag.prev && !ag.restoring)) {
			/* admit_memory()'s refusal is ours to log; other errors were logged. */
			if (ag.refused)
				log_err("agent: %s", ag.why);
			break;
		}
		if (ag.restoring) {
			log_err("agent: the previous configuration cannot start again either: %s",
				ag.why);
			break;
		}
		ag.reloads_failed++;
		log_err("agent: configuration reload refused: %s; the previous configuration "
			"keeps running",
			ag.why);
		agent_config__free(ag.cfg);
		ag.cfg = ag.prev;
		ag.prev = NULL;
		ag.restoring = true;
	}
	/* A reload's configuration stopped before it ran. */
	agent_config__free(ag.prev);
	*cfg = ag.cfg;
	return err;
}
