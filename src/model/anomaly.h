/* SPDX-License-Identifier: MIT */
/*
 * Latency anomalies on live histograms: each window's histogram of one
 * function (the exact log2 x 16 buckets of struct sonde_hist) is compared
 * with a baseline learned from the previous windows.
 *
 * The test: for each of the p50, p90 and p99.5 latencies that the window
 * has enough calls to estimate, the window's log-percentile against the
 * baseline windows' own, a one-sided (slower only, unless both_ways)
 * prediction-interval t-test:
 * t = (x - mean) / (sd sqrt(1 + 1/K)) with K - 1 degrees of freedom.
 * Real latencies vary between windows far more than sampling explains
 * (load, caches, GC): a test that assumed sampling noise alone (a G-test
 * on the buckets) raised 193 false alarms in 3800 steady windows where 4
 * were expected; the baseline's spread between windows is that
 * variation, measured. The percentiles are Bonferroni-corrected (alpha
 * over the number tested), so alpha is the false-alarm rate per function
 * and window when the latency does not change (verified on synthetic
 * windows in tests/model/test_anomaly.c).
 *
 * Anomalous windows, and those just short of it (p < 0.01), stay out of
 * the baseline, so a change keeps being reported; after relearn of them in
 * a row the change is the new normal: the baseline restarts from those
 * windows.
 */
#ifndef SONDE_MODEL_ANOMALY_H
#define SONDE_MODEL_ANOMALY_H

#include <stdbool.h>
#include <stdint.h>

struct anomaly_opts {
	unsigned int baseline_windows; /* windows in the baseline [20] */
	unsigned int min_windows;      /* baseline windows before any test [5] */
	double alpha;		       /* false-alarm rate per window [1e-3] */
	uint64_t min_calls;	       /* calls a window needs to be tested [20] */
	unsigned int relearn;	       /* anomalies in a row that become the baseline [5] */
	/*
	 * The least change of a percentile that counts, as a ratio [0.2;
	 * negative: none]: with thousands of calls a window, a 5 % wobble of
	 * the machine can be significant and still not worth an alarm.
	 */
	double min_change;
	/*
	 * Faster windows count too [false: only slower ones]: an alarm is for
	 * a regression; a p99 that drops after a noisy stretch is not one.
	 */
	bool both_ways;
};

struct anomaly_result {
	bool tested;	   /* enough baseline and calls to test */
	bool anomaly;	   /* p_value < alpha */
	bool relearned;	   /* this window started a new baseline */
	bool learned;	   /* this window joined the baseline (clearly normal, or relearned) */
	double p_value;	   /* the smallest, Bonferroni-corrected; 1 when not tested */
	double statistic;  /* t of the percentile that gave p_value */
	const char *which; /* "p50", "p90", "p99.5": that percentile */
	unsigned int df;   /* baseline windows - 1 */
	/* Percentiles in ns (bucket middles): the baseline's (geometric mean) and the window's. */
	uint64_t base_p50, base_p99, p50, p99;
	uint64_t calls; /* in the window */
};

struct anomaly;

/* NULL on ENOMEM; @o may be NULL (defaults). */
struct anomaly *anomaly__new(const struct anomaly_opts *o);
void anomaly__free(struct anomaly *a);

/*
 * One window's bucket counts (SONDE_HIST_BUCKETS of them, this window
 * only, not cumulative): tested against the baseline, then added to it
 * unless anomalous. 0 or -ENOMEM.
 */
int anomaly__observe(struct anomaly *a, const uint64_t *counts, struct anomaly_result *res);

/* P(|T| > t) for T ~ Student's t with @df degrees of freedom. */
double t2_sf(double t, double df);

#endif /* SONDE_MODEL_ANOMALY_H */
