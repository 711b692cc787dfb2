// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/anomaly.h"
#include "model/hist.h"
#include "sonde/events.h"

#define NB SONDE_HIST_BUCKETS

/*
 * The levels tested: the p50, p90 and p99.5 latencies (interpolated within
 * their bucket), and the calls a window needs for each (5 above it). Not a
 * mean of the slowest 1 %: a few calls stretched by a busy machine (0.3 %
 * of them, at 2-10 ms) swing a mean from window to window and hide a slow
 * path that moved from 1 to 3 ms; a percentile inside the slow path does
 * not move with them.
 */
static const struct {
	const char *name;
	double q;
	uint64_t min_calls;
} quantiles[] = {
	{"p50", 50, 10},
	{"p90", 90, 50},
	{"p99.5", 99.5, 1000},
};
#define NQ (sizeof(quantiles) / sizeof(quantiles[0]))

/* A window: its calls and log-percentiles (ln ns). */
struct window {
	uint64_t n;
	double lq[NQ];
};

struct anomaly {
	struct anomaly_opts o;
	struct window *base; /* ring of baseline_windows */
	unsigned int nbase, next;
	struct window *anom; /* the anomalies in a row, up to relearn */
	unsigned int nanom;
};

static unsigned int or_default(unsigned int v, unsigned int def)
{
	return v ? v : def;
}

struct anomaly *anomaly__new(const struct anomaly_opts *o)
{
	struct anomaly *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (o)
		a->o = *o;
	a->o.baseline_windows = or_default(a->o.baseline_windows, 20);
	a->o.min_windows = or_default(a->o.min_windows, 5);
	if (a->o.min_windows > a->o.baseline_windows)
		a->o.min_windows = a->o.baseline_windows;
	if (!(a->o.alpha > 0 && a->o.alpha < 1))
		a->o.alpha = 1e-3;
	if (!a->o.min_calls)
		a->o.min_calls = 20;
	a->o.relearn = or_default(a->o.relearn, 5);
	/* 0: the default; negative: any significant change counts. */
	if (a->o.min_change == 0)
		a->o.min_change = 0.2;
	else if (!(a->o.min_change > 0))
		a->o.min_change = 0;
	a->base = calloc(a->o.baseline_windows, sizeof(*a->base));
	a->anom = calloc(a->o.relearn, sizeof(*a->anom));
	if (!a->base || !a->anom) {
		anomaly__free(a);
		return NULL;
	}
	return a;
}

void anomaly__free(struct anomaly *a)
{
	if (!a)
		return;
	free(a->base);
	free(a->anom);
	free(a);
}

/* ---- distributions ------------------------------------------------------ */

/* ln Gamma via lgamma; the regularized incomplete beta by Lentz's continued fraction. */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-14;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 500; m++) {
		double m2 = 2.0 * m, aa, del;

		aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + aa * d;
		d = fabs(d) < tiny ? tiny : d;
		c = 1 + aa / c;
		c = fabs(c) < tiny ? tiny : c;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + aa * d;
		d = fabs(d) < tiny ? tiny : d;
		c = 1 + aa / c;
		c = fabs(c) < tiny ? tiny : c;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return h;
}

/* I_x(a, b), the regularized incomplete beta function. */
static double beta_inc(double a, double b, double x)
{
	double front;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return front * beta_cf(a, b, x) / a;
	return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double t2_sf(double t, double df)
{
	return beta_inc(df / 2, 0.5, df / (df + t * t));
}

/* ---- the test ------------------------------------------------------------- */

/* Percentile @p of bucket counts @c (n calls): the bucket's middle. */
static uint64_t percentile(const uint64_t *c, uint64_t n, double p)
{
	uint64_t rank = (uint64_t)ceil(p / 100 * n), seen = 0;

	if (!n)
		return 0;
	for (unsigned int i = 0; i < NB; i++) {
		seen += c[i];
		if (seen >= rank)
			return hist_bucket_lo(i) + (hist_bucket_hi(i) - hist_bucket_lo(i)) / 2;
	}
	return 0;
}

/* ln of the @q-th percentile latency, interpolated within its bucket. */
static double log_quantile(const uint64_t *c, uint64_t n, double q)
{
	double rank = q / 100 * n, seen = 0;

	for (unsigned int i = 0; i < NB; i++) {
		double lo, hi;

		if (!c[i] || seen + c[i] < rank) {
			seen += c[i];
			continue;
		}
		lo = (double)hist_bucket_lo(i);
		hi = (double)hist_bucket_hi(i) + 1;
		return log(lo + (hi - lo) * (rank - seen) / c[i] + 1);
	}
	return 0;
}

static void add_window(struct anomaly *a, const struct window *w)
{
	a->base[a->next] = *w;
	a->next = (a->next + 1) % a->o.baseline_windows;
	if (a->nbase < a->o.baseline_windows)
		a->nbase++;
}

/*
 * Half a bucket in log scale (a bucket spans 1/16 of a power of two): the
 * least spread percentiles read from buckets are given, so a baseline of
 * identical windows does not make a shift within a bucket significant.
 */
#define SD_FLOOR (0.5 * 0.0606)
/* Windows with a smaller p-value stay out of the baseline (see below). */
#define LEARN_P 0.01

int anomaly__observe(struct anomaly *a, const uint64_t *counts, struct anomaly_result *res)
{
	struct window w = {0};
	double best_p = 1;
	unsigned int ntested = 0;

	memset(res, 0, sizeof(*res));
	res->p_value = 1;
	for (unsigned int i = 0; i < NB; i++)
		w.n += counts[i];
	for (unsigned int k = 0; k < NQ; k++)
		w.lq[k] = w.n ? log_quantile(counts, w.n, quantiles[k].q) : 0;
	res->calls = w.n;
	res->p50 = percentile(counts, w.n, 50);
	res->p99 = percentile(counts, w.n, 99);
	res->df = a->nbase ? a->nbase - 1 : 0;
	for (unsigned int k = 0; k < NQ; k++) {
		double mean = 0, var = 0, sd, t, p;
		unsigned int m = 0;

		for (unsigned int j = 0; j < a->nbase; j++) {
			if (a->base[j].n < quantiles[k].min_calls)
				continue;
			mean += a->base[j].lq[k];
			m++;
		}
		if (!m)
			continue;
		mean /= m;
		if (k == 0)
			res->base_p50 = (uint64_t)exp(mean);
		if (k == NQ - 1)
			res->base_p99 = (uint64_t)exp(mean);
		/* A percentile is tested with enough baseline windows and calls for it. */
		if (m < a->o.min_windows || w.n < a->o.min_calls || w.n < quantiles[k].min_calls)
			continue;
		for (unsigned int j = 0; j < a->nbase; j++)
			if (a->base[j].n >= quantiles[k].min_calls)
				var += (a->base[j].lq[k] - mean) * (a->base[j].lq[k] - mean);
		sd = sqrt(var / (m - 1));
		if (sd < SD_FLOOR)
			sd = SD_FLOOR;
		/* A new window against the baseline's: a prediction interval. */
		t = (w.lq[k] - mean) / (sd * sqrt(1 + 1.0 / m));
		/* P(|T| > t) halved is P(T > t): one-sided unless both ways count. */
		if (a->o.both_ways)
			p = t2_sf(fabs(t), m - 1);
		else
			p = t > 0 ? t2_sf(t, m - 1) / 2 : 1;
		/* Significant but too small to matter: not an anomaly of this one. */
		if (fabs(w.lq[k] - mean) < log1p(a->o.min_change))
			p = 1;
		ntested++;
		if (p < best_p || !res->which) {
			best_p = p;
			res->statistic = t;
			res->which = quantiles[k].name;
			res->df = m - 1;
		}
	}
	if (ntested) {
		res->tested = true;
		res->p_value = best_p * ntested < 1 ? best_p * ntested : 1;
		res->anomaly = res->p_value < a->o.alpha;
	}
	/*
	 * Only a window that is clearly normal joins the baseline: one just
	 * short of an anomaly (p below LEARN_P) would widen the baseline's
	 * spread and hide the change it may be part of.
	 */
	if (!res->tested || res->p_value >= LEARN_P) {
		a->nanom = 0;
		if (w.n)
			add_window(a, &w);
		res->learned = w.n != 0;
		return 0;
	}
	a->anom[a->nanom++] = w;
	if (a->nanom == a->o.relearn) {
		/* A change that lasts is the new normal. */
		a->nbase = a->next = 0;
		for (unsigned int j = 0; j < a->nanom; j++)
			add_window(a, &a->anom[j]);
		a->nanom = 0;
		res->relearned = true;
		res->learned = true;
	}
	return 0;
}
