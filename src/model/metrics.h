/* SPDX-License-Identifier: MIT */
/*
 * The metrics registry every exporter reads: counters, gauges and
 * histograms identified by name + labels. The collector's loop writes it;
 * exporters (Prometheus server thread, StatsD, OTLP) read consistent
 * snapshots. Bounded: past max_series, new series are refused and counted
 * (sonde_metrics_series_dropped_total).
 *
 * Names follow Prometheus conventions (snake_case, base units: seconds,
 * bytes; counters end in _total), or OpenTelemetry's semantic conventions
 * with dots and a declared unit ("gen_ai.client.operation.duration", "s"),
 * which label names may use too. Exporters translate as their format
 * needs (Prometheus: dots become '_', a unit of "s" appends "_seconds").
 */
#ifndef SONDE_METRICS_H
#define SONDE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS 12

enum metric_type {
	METRIC_COUNTER = 1, /* monotonic, cumulative since start */
	METRIC_GAUGE,
	METRIC_HISTOGRAM, /* cumulative since start */
};

struct metric_label {
	const char *key;
	const char *value;
};

struct metrics;

/* @max_series: 0 = default (10000). NULL on ENOMEM. */
struct metrics *metrics__new(unsigned int max_series);
void metrics__free(struct metrics *m);

/*
 * Declare a family once (type, help text, and for histograms the upper
 * bounds of its buckets in the metric's unit, ascending, +Inf implied).
 * Returns 0, -EEXIST for a conflicting redeclaration, -ENOMEM.
 */
int metrics__declare(struct metrics *m, const char *name, enum metric_type type,
		     const char *help, const double *bounds, unsigned int nbounds);

/*
 * The family's unit in UCUM ("s", "By", "{token}"), for exporters that
 * carry units (OTLP) or name them (Prometheus). 0, -ENOENT, -ENOMEM.
 */
int metrics__set_unit(struct metrics *m, const char *name, const char *unit);

/*
 * Series updates. 0, -ENOENT (undeclared), -E2BIG (series cap, counted),
 * -EINVAL (wrong type for the family; a label name that is not
 * [a-zA-Z_][a-zA-Z0-9_]*, starts with "__", repeats, or is "le" on a
 * histogram; a negative/NaN counter value; histogram_set with @count not
 * the sum of @counts), -ENOMEM. Label order does not matter.
 */
int metrics__counter_add(struct metrics *m, const char *name, const struct metric_label *labels,
			 unsigned int nlabels, double v);
int metrics__counter_set(struct metrics *m, const char *name, const struct metric_label *labels,
			 unsigned int nlabels, double v); /* mirror a counter kept elsewhere */
int metrics__gauge_set(struct metrics *m, const char *name, const struct metric_label *labels,
		       unsigned int nlabels, double v);
/* One observation (in the family's unit). */
int metrics__histogram_observe(struct metrics *m, const char *name,
			       const struct metric_label *labels, unsigned int nlabels, double v);
/*
 * Replace a histogram series with totals kept elsewhere (e.g. merged from
 * BPF maps): @counts has nbounds + 1 non-cumulative bucket counts (the last
 * is +Inf), @sum in the family's unit.
 */
int metrics__histogram_set(struct metrics *m, const char *name,
			   const struct metric_label *labels, unsigned int nlabels,
			   const uint64_t *counts, uint64_t count, double sum);

/* Add totals kept elsewhere to a histogram series (same arguments as _set). */
int metrics__histogram_add(struct metrics *m, const char *name,
			   const struct metric_label *labels, unsigned int nlabels,
			   const uint64_t *counts, uint64_t count, double sum);

/*
 * Forget one series (e.g. of a process that exited) so the cap counts only
 * live ones. 0 or -ENOENT.
 */
int metrics__remove(struct metrics *m, const char *name, const struct metric_label *labels,
		    unsigned int nlabels);
/* Series refused so far because of max_series. */
uint64_t metrics__series_dropped(struct metrics *m);

/* A consistent, immutable copy for an exporter. */
struct metric_series {
	struct metric_label labels[METRICS_MAX_LABELS];
	unsigned int nlabels;
	double value; /* counter, gauge */
	const uint64_t *counts; /* histogram: nbounds + 1 non-cumulative */
	uint64_t count; /* histogram */
	double sum; /* histogram */
};

struct metric_family {
	const char *name;
	const char *help;
	enum metric_type type;
	const double *bounds;
	unsigned int nbounds;
	const struct metric_series *series;
	size_t nseries;
	const char *unit; /* NULL: none declared (OTLP derives one from the name) */
};

struct metrics_snapshot {
	const struct metric_family *families;
	size_t nfamilies;
	uint64_t start_unix_ns; /* when the registry was created */
	uint64_t time_unix_ns; /* when the snapshot was taken */
};

int metrics__snapshot(struct metrics *m, struct metrics_snapshot **out);
void metrics_snapshot__free(struct metrics_snapshot *s);

/*
 * @v as the shortest decimal that parses back to the same double
 * ("0.1", "42", "1e-06"), or "+Inf", "-Inf", "NaN" as Prometheus spells
 * them. 32 bytes always suffice. Returns @buf.
 */
const char *metrics_fmt_double(double v, char *buf, size_t len);

#endif /* SONDE_METRICS_H */
