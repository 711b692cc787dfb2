/* SPDX-License-Identifier: MIT */
/*
 * What a latency anomaly of --watch raises besides its log line and the
 * sonde_latency_anomaly metric (the uprobe probe does those):
 *
 *  - with OTLP on, one log record per anomalous function and window on
 *    /v1/logs: severity WARN, the line as body, the figures as attributes
 *    (code.function.name, sonde.latency.*, sonde.anomaly.*,
 *    sonde.window.*; docs/anomaly.md);
 *  - with a stack probe and a directory (the agent's output directory,
 *    sonde trace --anomaly-dir), the differential flame graph of the
 *    anomalous window against the baseline profile, beside the windows
 *    (outdir__write_diff: "anomaly-STAMP.svg" and its two-count
 *    "anomaly-STAMP.folded", STAMP the window's start).
 *
 * The baseline profile is that of the windows the detector's baselines
 * were learned from: a window joins it when it joined the baseline of
 * every probed function (model/anomaly.h: clearly normal, not flagged nor
 * just short of it), the last baseline_windows of them kept (the
 * detector's own count, 20), merged when an anomaly needs them. A
 * relearned baseline (a change that lasted) restarts it from that window.
 */
#ifndef SONDE_SESSION_ANOMALY_OUT_H
#define SONDE_SESSION_ANOMALY_OUT_H

#include <stdbool.h>
#include <stddef.h>

struct exporters;
struct outdir;
struct profile;
struct probe_window;
struct probe_verdict;
struct anomaly_out;

struct anomaly_out_opts {
	const char *cmd;	       /* prefixes messages */
	struct exporters *ex;	       /* log records when OTLP is on; NULL: none */
	struct outdir *dir;	       /* differential flame graphs; NULL: none */
	unsigned int baseline_windows; /* window profiles in the baseline [20] */
};

/* NULL on ENOMEM. */
struct anomaly_out *anomaly_out__new(const struct anomaly_out_opts *o);
/* Whether window profiles are wanted (a directory to write diffs to). */
bool anomaly_out__wants_profiles(const struct anomaly_out *a);
/* One function's verdict on the window ending (probe_host.verdict; @ctx the anomaly_out). */
void anomaly_out__verdict(void *ctx, const struct probe_window *w, const struct probe_verdict *v);
/*
 * The window ended, every verdict given: the differential flame graph of
 * @window (NULL: no stack probe) when a function was anomalous, the log
 * records, then @window (copied) joins the baseline profile when every
 * function's baseline took it. 0 or -ENOMEM (a failed write is logged by
 * the directory and not returned).
 */
int anomaly_out__window(struct anomaly_out *a, const struct profile *window,
			const struct probe_window *w);
void anomaly_out__free(struct anomaly_out *a);

#endif /* SONDE_SESSION_ANOMALY_OUT_H */
