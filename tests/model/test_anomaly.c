// SPDX-License-Identifier: MIT
/*
 * Latency anomalies: the distributions against known quantiles, the
 * false-alarm rate on steady but overdispersed windows (what real
 * latencies look like), and a p99 that moves from 1 ms to 3 ms found
 * within two windows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "model/anomaly.h"
#include "sonde/events.h"

Test(anomaly, t_distribution)
{
	/* Student's t tables, two-sided: 0.05 at 2.262 (9 df), 0.001 at 4.781 (9 df). */
	cr_assert_float_eq(t2_sf(2.262157, 9), 0.05, 1e-6);
	cr_assert_float_eq(t2_sf(4.780913, 9), 0.001, 1e-6);
	cr_assert_float_eq(t2_sf(1.959964, 1e6), 0.05, 1e-5);
	cr_assert_float_eq(t2_sf(0, 4), 1.0, 1e-12);
}

/* Deterministic normal deviates (Box-Muller over the tests' LCG). */
static double gauss(uint32_t *st)
{
	/* lcg() gives 24 bits. */
	double u1 = (lcg(st) + 1.0) / 16777217.0, u2 = (lcg(st) + 1.0) / 16777217.0;

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/*
 * One window of @n calls: lognormal around 200 us, the window's own level
 * drifting by @jitter (log scale), and a fraction @tail_frac of calls
 * around @tail_ns: with 2 % at 1 ms, p99 is about 1 ms.
 */
static void window(uint64_t *c, uint32_t *st, unsigned int n, double jitter, double tail_frac,
		   double tail_ns)
{
	double level = exp(jitter * gauss(st));

	memset(c, 0, SONDE_HIST_BUCKETS * sizeof(*c));
	for (unsigned int i = 0; i < n; i++) {
		double ns;

		if ((lcg(st) % 100000) < tail_frac * 100000)
			ns = tail_ns * exp(0.1 * gauss(st));
		else
			ns = 200e3 * level * exp(0.4 * gauss(st));
		c[sonde_hist_bucket((uint64_t)ns)]++;
	}
}

/*
 * alpha is the false-alarm rate: 40 runs x 100 windows of steady latency
 * whose level wanders 5 % between windows (far more than sampling noise
 * at 1000 calls): at alpha 1e-3 about 4 alarms are expected in 3800 tested
 * windows (the first 5 of each run build the baseline). A test that
 * assumed sampling noise alone raised 193.
 */
static void steady_alarms(double alpha, unsigned int *alarms, unsigned int *tested)
{
	static uint64_t c[SONDE_HIST_BUCKETS];
	uint32_t st = 12345;

	*alarms = *tested = 0;
	for (int run = 0; run < 40; run++) {
		/* The test itself: any significant change counts. */
		struct anomaly_opts o = {.alpha = alpha, .min_change = -1};
		struct anomaly *a = anomaly__new(&o);
		struct anomaly_result r;

		cr_assert(a);
		for (int w = 0; w < 100; w++) {
			window(c, &st, 1000, 0.05, 0.02, 1e6);
			cr_assert_eq(anomaly__observe(a, c, &r), 0);
			*tested += r.tested;
			*alarms += r.anomaly;
		}
		anomaly__free(a);
	}
}

Test(anomaly, false_alarm_rate, .timeout = 60)
{
	unsigned int alarms, tested;

	steady_alarms(1e-3, &alarms, &tested);
	cr_log_info("alpha 1e-3: %u alarms in %u steady windows (%.1f expected)", alarms, tested,
		    tested * 1e-3);
	cr_assert_gt(tested, 3700);
	cr_assert_leq(alarms, 3 * tested * 1e-3 + 3, "%u false alarms in %u windows", alarms,
		      tested);
	/* At a rate big enough to count, the test is neither blind nor too eager. */
	steady_alarms(0.05, &alarms, &tested);
	cr_log_info("alpha 0.05: %u alarms in %u steady windows (%.1f expected)", alarms, tested,
		    tested * 0.05);
	cr_assert(alarms >= tested * 0.05 / 4 && alarms <= tested * 0.05 * 1.5,
		  "alpha 0.05: %u alarms in %u windows", alarms, tested);
}

/* 30 windows of steady but noisy latency raise nothing; a p99 move does, within two. */
Test(anomaly, p99_from_1ms_to_3ms)
{
	static uint64_t c[SONDE_HIST_BUCKETS];
	struct anomaly_result r;
	struct anomaly *a = anomaly__new(NULL);
	uint32_t st = 777;
	int found = -1;

	cr_assert(a);
	for (int w = 0; w < 30; w++) {
		window(c, &st, 1000, 0.05, 0.02, 1e6);
		cr_assert_eq(anomaly__observe(a, c, &r), 0);
		cr_assert(!r.anomaly, "steady window %d flagged: p %g, %s t %.1f (%u df)", w,
			  r.p_value, r.which, r.statistic, r.df);
	}
	cr_assert(r.base_p99 > 700e3 && r.base_p99 < 1400e3, "baseline p99 %lu ns",
		  (unsigned long)r.base_p99);
	for (int w = 0; w < 2 && found < 0; w++) {
		window(c, &st, 1000, 0.05, 0.02, 3e6);
		cr_assert_eq(anomaly__observe(a, c, &r), 0);
		if (r.anomaly)
			found = w;
	}
	cr_assert_geq(found, 0, "p99 1 ms -> 3 ms not flagged in two windows: p %g", r.p_value);
	cr_assert(r.p99 > 2e6 && r.p99 < 4.5e6, "window p99 %lu ns", (unsigned long)r.p99);
	anomaly__free(a);
}

/* Significant but small: not an anomaly (min_change, 20 % by default). */
Test(anomaly, small_changes_do_not_count)
{
	static uint64_t c[SONDE_HIST_BUCKETS];
	struct anomaly_result r;
	struct anomaly *a = anomaly__new(NULL);
	uint32_t st = 4242;
	int flagged = 0;

	/* Very steady windows (0.5 % wander), then a 10 % slower slow path. */
	for (int w = 0; w < 20; w++) {
		window(c, &st, 5000, 0.005, 0.02, 1e6);
		anomaly__observe(a, c, &r);
	}
	for (int w = 0; w < 5; w++) {
		window(c, &st, 5000, 0.005, 0.02, 1.1e6);
		anomaly__observe(a, c, &r);
		flagged += r.anomaly;
	}
	cr_assert_eq(flagged, 0, "a 10 %% change flagged %d times", flagged);
	window(c, &st, 5000, 0.005, 0.02, 1.5e6);
	anomaly__observe(a, c, &r);
	cr_assert(r.anomaly, "a 50 %% change not flagged: p %g", r.p_value);
	anomaly__free(a);
}

/* A faster slow path is no alarm, unless both ways are asked for. */
Test(anomaly, faster_counts_only_both_ways)
{
	static uint64_t c[SONDE_HIST_BUCKETS];
	struct anomaly_opts both = {.both_ways = true};
	struct anomaly_result r, rb;
	struct anomaly *a = anomaly__new(NULL), *b = anomaly__new(&both);
	uint32_t st = 31337;

	cr_assert(a && b);
	for (int w = 0; w < 20; w++) {
		window(c, &st, 1000, 0.02, 0.02, 3e6);
		anomaly__observe(a, c, &r);
		anomaly__observe(b, c, &rb);
	}
	window(c, &st, 1000, 0.02, 0.02, 1e6);
	anomaly__observe(a, c, &r);
	anomaly__observe(b, c, &rb);
	cr_assert(r.tested && !r.anomaly, "3 ms -> 1 ms flagged one-sided: p %g", r.p_value);
	cr_assert_eq(r.p_value, 1);
	cr_assert(rb.anomaly, "3 ms -> 1 ms not flagged both ways: p %g", rb.p_value);
	cr_assert_lt(rb.statistic, 0);
	anomaly__free(a);
	anomaly__free(b);
}

/* A change that lasts becomes the baseline after `relearn` windows. */
Test(anomaly, relearns_a_lasting_change)
{
	static uint64_t c[SONDE_HIST_BUCKETS];
	struct anomaly_opts o = {.relearn = 3};
	struct anomaly_result r;
	struct anomaly *a = anomaly__new(&o);
	uint32_t st = 99;
	int flagged = 0, relearned = -1, learned = 0;

	for (int w = 0; w < 12; w++) {
		window(c, &st, 1000, 0.02, 0.02, 1e6);
		anomaly__observe(a, c, &r);
		learned += r.learned;
	}
	/* Steady windows all join the baseline. */
	cr_assert_eq(learned, 12);
	learned = 0;
	for (int w = 0; w < 10; w++) {
		window(c, &st, 1000, 0.02, 0.02, 3e6);
		anomaly__observe(a, c, &r);
		flagged += r.anomaly;
		/* The two flagged before the relearn stay out; from the relearn on, in. */
		cr_assert_eq(r.learned, w >= 2, "window %d learned %d", w, r.learned);
		if (r.relearned)
			relearned = w;
	}
	cr_assert_eq(relearned, 2, "relearned at window %d", relearned);
	cr_assert_eq(flagged, 3, "%d windows flagged", flagged);
	anomaly__free(a);
}
