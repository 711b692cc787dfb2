/* SPDX-License-Identifier: MIT */
/*
 * The uprobe probe (sonde trace -f): every -f resolves to (file, offset)
 * pairs; each distinct function gets an id, passed to BPF as the attach
 * cookie of an entry uprobe and a uretprobe per target PID. Latency
 * histograms are built in the kernel (bpf/uprobe.bpf.c) and read at the
 * end (and once a second for exporters); span events exist only when the
 * session has somewhere to send them (--spans, OTLP).
 */
#ifndef SONDE_PROBES_UPROBE_H
#define SONDE_PROBES_UPROBE_H

#include "probes/probe.h"

/* One -f TARGET:FUNCTION. */
struct trace_func_spec {
	const char *arg; /* as given (points into argv) */
	char *target;	 /* path or short library name ("libc") */
	char *func;	 /* symbol name or glob */
};

/* Bounds of the in-kernel per-thread call stack (--max-depth). */
#define TRACE_MAX_DEPTH 32
/*
 * Most threads tracked at once (--max-threads): each slot holds a whole
 * call stack (~1 KiB), allocated up front; 65536 slots are 68 MiB of
 * kernel memory (4194304 were 4.4 GiB and took 16 s before the target ran).
 */
#define TRACE_MAX_THREADS 65536
/* The default window of --watch. */
#define WATCH_INTERVAL_S 10.0
/* The default of --max-held-samples, and its ceiling. */
#define TRACE_MAX_HELD 262144
#define TRACE_MAX_HELD_MAX (1u << 24)
/* The ceiling of --slowest. */
#define TRACE_SLOWEST_MAX 100000

struct uprobe_opts {
	struct trace_func_spec *funcs; /* -f, repeatable */
	int nfuncs;
	unsigned int max_probes;  /* --max-probes: cap on functions a glob attaches */
	unsigned int max_depth;	  /* --max-depth: nested calls timed per thread */
	unsigned int max_threads; /* --max-threads: per-thread stack map size */
	unsigned int ring_kib;	  /* --ring-size KiB (spans) */
	/*
	 * --watch: each window's latency histogram of every function is tested
	 * against a baseline of the previous ones (model/anomaly.h); an
	 * anomaly is logged and counted in sonde_latency_anomaly.
	 */
	bool watch;
	double anomaly_alpha; /* --anomaly-alpha: false alarms per function and window */
	double anomaly_min_change; /* --anomaly-min-change: least change that counts [0.2] */
	/*
	 * With stack probes: the profile holds only the samples of calls at
	 * least slower_than_ns long (--slower-than), or of the slowest N
	 * (--slowest), held until each call ends (model/callprof.h), at most
	 * max_held at once (--max-held-samples). 0: every sample.
	 */
	uint64_t slower_than_ns;
	unsigned int slowest;
	unsigned int max_held;
};

void uprobe_opts_default(struct uprobe_opts *o);
void uprobe_opts_free(struct uprobe_opts *o);

extern const struct probe_ops uprobe_probe_ops;

#endif /* SONDE_PROBES_UPROBE_H */
