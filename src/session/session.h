/* SPDX-License-Identifier: MIT */
/*
 * A session: one run of sonde over one target set with several probes.
 * It owns what probes share: the target set, the one run loop over every
 * probe's ring buffer (timers, signals, the deadline, the targets' exit),
 * the symbolizer and unwinder, the profile and the metrics registry, the
 * outputs (-o, --spans) and the exporters (Prometheus, StatsD, OTLP).
 * Commands only parse options into struct session_opts and call:
 *
 *	session__new()    check privileges, open outputs, start exporters that
 *	                  need no target, validate or launch (paused) the
 *	                  target, open and attach every probe
 *	session__run()    start the target, arm the probes, run the loop,
 *	                  disarm, stop, drain the rings
 *	session__finish() final reads, reports on stdout, outputs, closing
 *	                  lines, the exporters' last word
 *	session__free()
 */
#ifndef SONDE_SESSION_SESSION_H
#define SONDE_SESSION_SESSION_H

#include <stdbool.h>

#include "probes/alloc.h"
#include "probes/cpu.h"
#include "probes/faults.h"
#include "probes/offcpu.h"
#include "probes/tls.h"
#include "probes/uprobe.h"
#include "session/exporters.h"
#include "session/outputs.h"
#include "session/target.h"

struct outdir;
struct profile;
struct sonde_proc_event;
struct session;

/* What a window covered, for its consumer (the probes' struct, probes/probe.h). */
#define session_window probe_window

/* The probes -e names (a bit each); see session_probe_parse(). */
enum session_probe {
	SESSION_PROBE_CPU = 1u << 0,
	SESSION_PROBE_UPROBE = 1u << 1,
	SESSION_PROBE_OFFCPU = 1u << 2,
	SESSION_PROBE_ALLOC = 1u << 3,
	SESSION_PROBE_FAULTS = 1u << 4,
	SESSION_PROBE_TLS = 1u << 5,
};

/* The probes that capture stacks into the profile. */
#define SESSION_PROBES_STACKS \
	(SESSION_PROBE_CPU | SESSION_PROBE_OFFCPU | SESSION_PROBE_ALLOC | SESSION_PROBE_FAULTS)

struct session_opts {
	const char *command; /* "record", "trace", "llm": prefixes messages, SVG subtitle */
	struct target_opts t;
	unsigned int probes; /* enum session_probe bits */
	struct cpu_opts cpu;
	struct uprobe_opts uprobe;
	struct offcpu_opts offcpu;
	struct alloc_opts alloc;
	struct faults_opts faults;
	struct tls_opts tls;
	struct export_opts ex;
	struct output_opts out;
	int verbose;
	bool no_dwarf; /* symbols without DWARF: no file:line, no inline frames */
	/* Heap the symbol caches may hold (symbolizer_opts.max_bytes); 0: no byte bound. */
	uint64_t symbols_max_bytes;
	/* Heap the DWARF unwinder's tables may hold (unwinder_opts.max_bytes); 0: no bound. */
	uint64_t unwind_max_bytes;
	size_t ring_max; /* bytes one stack probe's ring may take; 0: 1 GiB (probe_host) */
	/*
	 * Windows (sonde top, the agent): every window_s seconds the profile
	 * so far is handed to on_window, which owns it (profile__free), and
	 * a new one starts. 0: one profile for the whole run.
	 */
	double window_s;
	int (*on_window)(void *ctx, struct profile *window, const struct session_window *w);
	void *window_ctx;
	/* The probes' closing reports (leaks, latency tables) not printed: the agent. */
	bool no_reports;
	/*
	 * --watch with a stack probe: the differential flame graph of an
	 * anomalous window goes into the agent's output directory
	 * (@anomaly_outdir, borrowed) or the directory @anomaly_dir
	 * (--anomaly-dir, opened by the session); neither: none
	 * (session/anomaly_out.h).
	 */
	struct outdir *anomaly_outdir;
	const char *anomaly_dir;
	/*
	 * Discovery (the agent): every exec on the host, and the forks and
	 * exits of targets, as they come (after the session's own upkeep).
	 */
	void (*on_proc)(void *ctx, struct session *s, const struct sonde_proc_event *e);
	void *proc_ctx;
	/*
	 * After every tick of the loop (the agent's reloads, health, budget):
	 * 0 goes on, > 0 ends the run with that reason, < 0 with that error.
	 */
	int (*on_tick)(void *ctx, struct session *s);
	void *tick_ctx;
	/*
	 * A probe that fails to open or attach (this kernel lacks what it
	 * needs) is reported and left out; the others run (the agent).
	 * Otherwise the session fails.
	 */
	bool keep_going;
};

/* A probe as the session ran it: on, or off with the error it failed with. */
struct session_probe_state {
	const char *name;
	bool ok;
	int err; /* -errno when !ok */
};

/* Every default, for @command. */
void session_opts_init(struct session_opts *o, const char *command);
void session_opts_free(struct session_opts *o);

/*
 * "cpu,uprobe" into enum session_probe bits. 0, or -EINVAL with @bad
 * pointing at the first unknown name (no message).
 */
int session_probe_parse(const char *list, unsigned int *bits, const char **bad, size_t *badlen);
/* The names -e accepts, "cpu, uprobe, ...", for messages. */
const char *session_probe_names(void);

int session__new(const struct session_opts *o, struct session **out);
/* Returns why the loop ended (enum runloop_reason, > 0) or -errno. */
int session__run(struct session *s);
/* 0 or the first error of writing a result (every result is still tried). */
int session__finish(struct session *s);
/*
 * The launched command's exit status when it ended the run by exiting
 * (128+N for a death by signal N), as perf passes it on; 0 otherwise
 * (-p, -a, or sonde stopped it at -d or a signal).
 */
int session__exit_status(const struct session *s);

/*
 * With target_opts.dynamic: process @pid joins the target set (sampled,
 * followed, probed per process; @exec: it exec'd a new program, probes
 * that attach per process look at it again), or leaves it. 0, or the
 * first probe's error (logged; the process stays a target of the rest).
 */
int session__add_target(struct session *s, pid_t pid, bool exec);
void session__remove_target(struct session *s, pid_t pid);
/*
 * The labels (copied) a target's process metrics carry after pid and comm,
 * at most PROCSTAT_MAX_LABELS; set them right after adding the target.
 * 0, -EINVAL (not a target, too many), -ENOMEM.
 */
struct metric_label;
int session__set_target_labels(struct session *s, pid_t pid, const struct metric_label *l,
			       unsigned int n);

/* The -e probes' states, running ones first: up to @max into @out; how many. */
size_t session__probe_states(const struct session *s, struct session_probe_state *out, size_t max);
/* The session's metrics registry (NULL without an exporter that reads it). */
struct metrics *session__metrics(struct session *s);
/* /readyz from now on (with --listen): 200 or 503 and a JSON body. */
int session__set_ready(struct session *s, bool ready, const char *json);
/* Drop the symbolizer's and the unwinder's caches (a memory budget); they refill on demand. */
void session__shrink(struct session *s);
/* End the current window now (a memory budget): on_window gets it. 0 or -errno. */
int session__cut_window(struct session *s);
void session__free(struct session *s);

#endif /* SONDE_SESSION_SESSION_H */
