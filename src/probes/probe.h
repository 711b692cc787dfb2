/* SPDX-License-Identifier: MIT */
/*
 * A probe is one kind of data collection with its own BPF program
 * (bpf/NAME.bpf.c beside src/probes/NAME.c): cpu (perf-event sampling),
 * uprobe (function timing), offcpu (scheduler waits), alloc (malloc and
 * friends), faults (page faults), tls (LLM API calls through TLS and
 * plaintext sockets).
 *
 * The session drives every probe through the same steps and lends it what
 * probes share (struct probe_host): the target set, the symbolizer and
 * unwinder, the profile and the metrics registry, the span sink, and one
 * ring_buffer polled by the session's single run loop.
 *
 *   open     load the BPF object sized for the options and targets
 *   attach   attach its programs (disarmed: nothing is counted yet)
 *   arm      start or stop counting, for every probe at the same moment
 *   tick     between polls: empty the queue the ring callbacks filled
 *   publish  refresh its series in the metrics registry
 *   stop     detach; the session then drains the rings one last time
 *   finish   read final in-kernel state (histograms) after the drain
 *   report   its part of the result on stdout (e.g. latency histograms)
 *   summary  its closing line on stderr: counts and losses
 *   details  warnings (what was lost and how to avoid it), -v details
 *   free
 *
 * Ring-buffer callbacks only copy into a bounded queue; a callback that
 * filled it returns PROBE_QUEUE_FULL after storing the record, and the run
 * loop ticks every probe before consuming more (libbpf has already
 * consumed a record whose callback fails: never return it instead of
 * storing).
 */
#ifndef SONDE_PROBES_PROBE_H
#define SONDE_PROBES_PROBE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <bpf/libbpf.h>

struct symbolizer;
struct stacks;
struct profile;
struct metrics;
struct span_record;
struct log_line;
struct metric_label;
struct anomaly_result;
struct probe_window;

/* --watch: one probed function's verdict on a window (model/anomaly.h). */
struct probe_verdict {
	const char *function, *binary;
	const struct anomaly_result *r;
	double alpha; /* what p_value was compared with */
};

#define PROBE_QUEUE_FULL (-ENOBUFS)

/* The processes to watch, as the session resolved them. */
struct probe_targets {
	const pid_t *pids; /* -p PIDs (thread-group ids) or the launched child */
	int npids;
	bool all;      /* -a: every process */
	bool launched; /* pids[0] is a command launched paused */
	/*
	 * A target's children become targets (launched commands, the agent):
	 * the target map follows forks in the kernel (probes/procevents.h).
	 */
	bool follow;
	/*
	 * Targets come and go while the session runs (the agent's discovery):
	 * probes that attach per process get add_pid/remove_pid calls.
	 */
	bool dynamic;
	const char *cmd; /* the launched command's argv[0]; NULL with -p/-a */
	/* Its executable as found in $PATH, NULL if not found (or -p/-a). */
	const char *exe;
};

/*
 * sonde's own PID namespace, for BPF to translate the kernel's PIDs
 * (bpf/pidns.bpf.h); ino 0 in the initial namespace.
 */
struct probe_pidns {
	uint64_t dev, ino;
};

/* Read sonde's PID namespace from /proc/self. 0 or -errno. */
int probe_pidns_self(struct probe_pidns *out);

struct sonde_proc_event;

/* What the session lends its probes. Owned by the session. */
struct probe_host {
	struct probe_targets targets;
	struct probe_pidns pidns;
	/*
	 * The target set in the kernel, one TGID hash map every probe's
	 * program filters on (probe_reuse_targets() before load); -1 with -a.
	 */
	int targets_fd;
	/* Process events of the target set (probes/procevents.h), or NULL. */
	void (*on_proc)(void *ctx, const struct sonde_proc_event *e);
	void *proc_ctx;
	struct symbolizer *sym; /* shared by every probe that names addresses */
	struct profile *prof;	/* the session's stack profile */
	/* Samples into profile stacks (probes/stacks.h), with the one unwinder. */
	struct stacks *stacks;
	/*
	 * How every stack probe captures stacks (the cpu options --call-graph,
	 * --stack-size, --no-kernel, --max-pids apply to all of them): bytes
	 * of user stack per sample (0: frame pointers only), kernel stacks or
	 * not, the size of the PID filter map.
	 */
	unsigned int stack_size;
	bool kernel_stacks;
	unsigned int max_pids;
	/* Bytes a stack probe's ring may take (sampler_ring_bytes); 0: 1 GiB. */
	size_t ring_max;
	/*
	 * The uprobe probe's per-thread call stacks (bpf/callstack.bpf.h),
	 * set when it loaded: the stack probes, opened after it, reuse the
	 * map to tag each sample with the probed call it was taken in.
	 * NULL: no uprobe probe in the session.
	 */
	struct bpf_map *calls;
	struct metrics *metrics; /* NULL unless an exporter reads metrics */
	/*
	 * The labels a target's series carry besides the probe's own (the
	 * agent's service_name, pod...), at most @max into @out, pointing into
	 * the session's copy (valid until the next call). NULL: none.
	 */
	unsigned int (*target_labels)(void *ctx, pid_t pid, struct metric_label *out,
				      unsigned int max);
	void *labels_ctx;
	/* The one ring_buffer of the run loop; probe_add_ring() adds to it. */
	struct ring_buffer *rb;
	/*
	 * Completed spans go here (--spans file, OTLP); NULL: nobody wants
	 * them. Returns 1 when the span was written to the spans file, 0 when
	 * it was only pushed, or -errno (the run stops).
	 */
	int (*span)(void *ctx, const struct span_record *s);
	void *span_ctx;
	int64_t mono_to_real; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	/* True once SIGINT/SIGTERM asked the run to stop: long setup steps give up. */
	bool (*stopping)(void);
	/*
	 * Spans a sink dropped after the probe handed them over (OTLP: queue
	 * full, rejected, given up, undelivered at the end), as the session
	 * last counted: part of the probe's one "spans lost" figure.
	 */
	uint64_t spans_lost_downstream;
	/*
	 * --watch: each function's verdict on each window, as the uprobe
	 * probe reaches it, before the window's profile goes anywhere
	 * (anomaly outputs); NULL: nobody asks.
	 */
	void (*verdict)(void *ctx, const struct probe_window *w, const struct probe_verdict *v);
	void *verdict_ctx;
};

/* A window of the run, as the session cut it. */
struct probe_window {
	uint64_t start_unix_ns, end_unix_ns;
	uint64_t samples, lost; /* of the stack probes, in this window */
	unsigned int index;	/* 0, 1, ... */
	/*
	 * No window consumer: the window stays part of the run's profile
	 * (kept whole, or not cut at all), so gauges such as the blocks in
	 * use are added once, at the end, not per window.
	 */
	bool merged;
};

struct probe;

struct probe_ops {
	const char *name; /* as -e spells it */
	int (*open)(struct probe *p);
	int (*attach)(struct probe *p);
	int (*arm)(struct probe *p, bool on);
	int (*tick)(struct probe *p);
	void (*publish)(struct probe *p, struct metrics *m);
	void (*stop)(struct probe *p);
	int (*finish)(struct probe *p);
	int (*report)(struct probe *p, FILE *f);
	/*
	 * The probe's closing line into @l (text and figures; no text: no
	 * line); the session logs it, with the outputs written appended to
	 * the line of a probe that feeds the profile (feeds_profile).
	 */
	void (*summary)(struct probe *p, struct log_line *l);
	/* Warnings and -v details that follow the closing lines. */
	void (*details)(struct probe *p);
	/* Records lost so far (ring full, queue full): for windows and status. */
	uint64_t (*lost)(struct probe *p);
	/* A few words for the live status line ("1234 samples, 0 lost"). */
	size_t (*status)(struct probe *p, char *buf, size_t len);
	/* A window of the session ended (--interval, the agent's windows). */
	int (*window)(struct probe *p, const struct probe_window *w);
	/*
	 * With targets.dynamic, for probes that attach per process (uprobes):
	 * a process joined the target set (or exec'd a new program while in
	 * it), or left it. add_pid returns 0, or -errno when the process
	 * cannot be probed (logged; the process stays a target of the others).
	 */
	int (*add_pid)(struct probe *p, pid_t pid);
	void (*remove_pid)(struct probe *p, pid_t pid);
	void (*free)(struct probe *p);
	bool feeds_profile;
};

struct probe {
	const struct probe_ops *ops;
	struct probe_host *host;
	const void *opts; /* the probe's own options (struct cpu_opts, ...) */
	void *priv;
};

/*
 * Add a ring buffer map to the host's ring_buffer (creating it on the
 * first call), its records passed to @fn with @ctx. 0 or -errno (logged).
 */
int probe_add_ring(struct probe_host *h, const struct bpf_map *map, ring_buffer_sample_fn fn,
		   void *ctx, const char *probe_name);

/* The command name of process @pid into @comm; left as it is when unreadable. */
void probe_read_comm(pid_t pid, char *comm, size_t len);

/*
 * The host's target map: created (@max entries) with its initial PIDs by
 * probe_targets_create(); probe_reuse_targets() makes a probe object's
 * @map that one, before load (with -a, only sizes it to one entry).
 * 0 or -errno (logged).
 */
int probe_targets_create(struct probe_host *h, unsigned int max);
int probe_reuse_targets(struct probe_host *h, struct bpf_map *map, const char *probe_name);
/* Add or remove one TGID of the host's target map. 0 or -errno (not logged). */
int probe_targets_add(struct probe_host *h, pid_t pid);
int probe_targets_remove(struct probe_host *h, pid_t pid);

/* Every step is optional except open and free: these skip the missing ones. */
int probe__open(struct probe *p);
int probe__attach(struct probe *p);
int probe__arm(struct probe *p, bool on);
int probe__tick(struct probe *p);
void probe__publish(struct probe *p, struct metrics *m);
void probe__stop(struct probe *p);
int probe__finish(struct probe *p);
int probe__report(struct probe *p, FILE *f);
void probe__summary(struct probe *p, struct log_line *l);
void probe__details(struct probe *p);
int probe__add_pid(struct probe *p, pid_t pid);
void probe__remove_pid(struct probe *p, pid_t pid);

/*
 * Families every probe counts into, labelled probe="NAME" and @key=@val:
 * sonde_events_total (events handled: kind=sample, call, span...) and
 * sonde_events_dropped_total (lost or left untimed: reason=ring_full...).
 */
#define PROBE_M_EVENTS "sonde_events_total"
#define PROBE_M_DROPPED "sonde_events_dropped_total"
void probe_count(struct metrics *m, const char *family, const char *probe, const char *key,
		 const char *val, uint64_t v);
void probe__free(struct probe *p);

#endif /* SONDE_PROBES_PROBE_H */
