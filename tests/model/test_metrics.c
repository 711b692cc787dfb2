// SPDX-License-Identifier: MIT
/* The metrics registry: identity, types, bounds, snapshots, threads. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "model/metrics.h"

static const double bounds[] = {0.001, 0.01, 0.1};

Test(metrics, new_registry_has_only_the_drop_counter)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	const struct metric_family *f;

	cr_assert_not_null(m);
	cr_assert_eq(metrics__snapshot(m, &s), 0);
	cr_assert_eq(s->nfamilies, 1);
	f = &s->families[0];
	cr_assert_str_eq(f->name, "sonde_metrics_series_dropped_total");
	cr_assert_eq(f->type, METRIC_COUNTER);
	cr_assert_eq(f->nseries, 1);
	cr_assert_eq(f->series[0].nlabels, 0);
	cr_assert_eq(f->series[0].value, 0.0);
	cr_assert(s->start_unix_ns > 1600000000ull * 1000000000ull);
	cr_assert(s->time_unix_ns >= s->start_unix_ns);
	metrics_snapshot__free(s);
	metrics__free(m);
	metrics__free(NULL);
	metrics_snapshot__free(NULL);
}

Test(metrics, declare_is_idempotent_and_rejects_conflicts)
{
	struct metrics *m = metrics__new(0);

	cr_assert_eq(metrics__declare(m, "a_total", METRIC_COUNTER, "A.", NULL, 0), 0);
	cr_assert_eq(metrics__declare(m, "a_total", METRIC_COUNTER, "A.", NULL, 0), 0);
	cr_assert_eq(metrics__declare(m, "a_total", METRIC_GAUGE, "A.", NULL, 0), -EEXIST);
	cr_assert_eq(metrics__declare(m, "a_total", METRIC_COUNTER, "B.", NULL, 0), -EEXIST);
	cr_assert_eq(metrics__declare(m, "h", METRIC_HISTOGRAM, "H.", bounds, 3), 0);
	cr_assert_eq(metrics__declare(m, "h", METRIC_HISTOGRAM, "H.", bounds, 2), -EEXIST);
	/* Invalid names, unsorted or non-finite bounds, bounds on a counter. */
	cr_assert_eq(metrics__declare(m, "1abc", METRIC_GAUGE, "x", NULL, 0), -EINVAL);
	cr_assert_eq(metrics__declare(m, "a-b", METRIC_GAUGE, "x", NULL, 0), -EINVAL);
	cr_assert_eq(metrics__declare(m, "", METRIC_GAUGE, "x", NULL, 0), -EINVAL);
	cr_assert_eq(metrics__declare(m, "ns:ok", METRIC_GAUGE, "x", NULL, 0), 0);
	{
		const double bad[] = {0.1, 0.01};
		const double inf[] = {1, INFINITY};

		cr_assert_eq(metrics__declare(m, "h2", METRIC_HISTOGRAM, "x", bad, 2), -EINVAL);
		cr_assert_eq(metrics__declare(m, "h3", METRIC_HISTOGRAM, "x", inf, 2), -EINVAL);
		cr_assert_eq(metrics__declare(m, "c", METRIC_COUNTER, "x", bad, 1), -EINVAL);
	}
	metrics__free(m);
}

Test(metrics, series_identity_ignores_label_order)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	const struct metric_family *f;
	struct metric_label ab[] = {{"a", "1"}, {"b", "2"}};
	struct metric_label ba[] = {{"b", "2"}, {"a", "1"}};
	struct metric_label other[] = {{"a", "1"}, {"b", "3"}};

	metrics__declare(m, "calls_total", METRIC_COUNTER, "Calls.", NULL, 0);
	cr_assert_eq(metrics__counter_add(m, "calls_total", ab, 2, 2), 0);
	cr_assert_eq(metrics__counter_add(m, "calls_total", ba, 2, 3), 0);
	cr_assert_eq(metrics__counter_add(m, "calls_total", other, 2, 7), 0);
	cr_assert_eq(metrics__counter_add(m, "calls_total", NULL, 0, 1), 0);
	cr_assert_eq(metrics__snapshot(m, &s), 0);
	f = family(s, "calls_total");
	cr_assert_eq(f->nseries, 3);
	/* Creation order; labels sorted by key. */
	cr_assert_eq(f->series[0].value, 5.0);
	cr_assert_eq(f->series[0].nlabels, 2);
	cr_assert_str_eq(f->series[0].labels[0].key, "a");
	cr_assert_str_eq(f->series[0].labels[0].value, "1");
	cr_assert_str_eq(f->series[0].labels[1].key, "b");
	cr_assert_str_eq(f->series[0].labels[1].value, "2");
	cr_assert_eq(f->series[1].value, 7.0);
	cr_assert_str_eq(f->series[1].labels[1].value, "3");
	cr_assert_eq(f->series[2].value, 1.0);
	cr_assert_eq(f->series[2].nlabels, 0);
	metrics_snapshot__free(s);
	metrics__free(m);
}

Test(metrics, type_and_label_errors)
{
	struct metrics *m = metrics__new(0);
	struct metric_label dup[] = {{"a", "1"}, {"a", "2"}};
	struct metric_label reserved[] = {{"__name__", "x"}};
	struct metric_label le[] = {{"le", "1"}};
	struct metric_label badkey[] = {{"a-b", "1"}};
	struct metric_label nullval[] = {{"a", NULL}};
	struct metric_label nine[9];

	for (int i = 0; i < 9; i++)
		nine[i] = (struct metric_label){"k", "v"};
	metrics__declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
	metrics__declare(m, "g", METRIC_GAUGE, "G.", NULL, 0);
	metrics__declare(m, "h", METRIC_HISTOGRAM, "H.", bounds, 3);
	cr_assert_eq(metrics__counter_add(m, "nope", NULL, 0, 1), -ENOENT);
	cr_assert_eq(metrics__gauge_set(m, "c_total", NULL, 0, 1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "g", NULL, 0, 1), -EINVAL);
	cr_assert_eq(metrics__histogram_observe(m, "g", NULL, 0, 1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "c_total", NULL, 0, -1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "c_total", NULL, 0, NAN), -EINVAL);
	cr_assert_eq(metrics__counter_set(m, "c_total", NULL, 0, -1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "c_total", dup, 2, 1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "c_total", reserved, 1, 1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "c_total", badkey, 1, 1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "c_total", nullval, 1, 1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "c_total", nine, 9, 1), -EINVAL);
	cr_assert_eq(metrics__counter_add(m, "c_total", le, 1, 1), 0);
	cr_assert_eq(metrics__histogram_observe(m, "h", le, 1, 1), -EINVAL);
	metrics__free(m);
}

Test(metrics, gauge_and_counter_set)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;

	metrics__declare(m, "g", METRIC_GAUGE, "G.", NULL, 0);
	metrics__declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
	metrics__gauge_set(m, "g", NULL, 0, 5);
	metrics__gauge_set(m, "g", NULL, 0, -2.5);
	metrics__counter_add(m, "c_total", NULL, 0, 10);
	metrics__counter_set(m, "c_total", NULL, 0, 4);
	metrics__snapshot(m, &s);
	cr_assert_eq(family(s, "g")->series[0].value, -2.5);
	cr_assert_eq(family(s, "c_total")->series[0].value, 4.0);
	metrics_snapshot__free(s);
	metrics__free(m);
}

Test(metrics, histogram_observe_uses_le_buckets)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	const struct metric_series *h;
	/* 0.001 is "<= 0.001": the first bucket; 5 only fits +Inf. */
	const double obs[] = {0.0005, 0.001, 0.002, 0.01, 0.05, 5};

	metrics__declare(m, "lat_seconds", METRIC_HISTOGRAM, "L.", bounds, 3);
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		cr_assert_eq(metrics__histogram_observe(m, "lat_seconds", NULL, 0, obs[i]), 0);
	metrics__snapshot(m, &s);
	h = &family(s, "lat_seconds")->series[0];
	cr_assert_eq(family(s, "lat_seconds")->nbounds, 3);
	cr_assert_eq(family(s, "lat_seconds")->bounds[2], 0.1);
	cr_assert_eq(h->counts[0], 2);
	cr_assert_eq(h->counts[1], 2);
	cr_assert_eq(h->counts[2], 1);
	cr_assert_eq(h->counts[3], 1);
	cr_assert_eq(h->count, 6);
	cr_assert_eq(h->sum, 0.0005 + 0.001 + 0.002 + 0.01 + 0.05 + 5);
	metrics_snapshot__free(s);
	metrics__free(m);
}

Test(metrics, histogram_set_replaces_and_checks_count)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	const struct metric_series *h;
	const uint64_t counts[] = {1, 2, 3, 4};
	struct metric_label l[] = {{"function", "f"}};

	metrics__declare(m, "lat_seconds", METRIC_HISTOGRAM, "L.", bounds, 3);
	metrics__histogram_observe(m, "lat_seconds", l, 1, 0.5);
	cr_assert_eq(metrics__histogram_set(m, "lat_seconds", l, 1, counts, 9, 1.0), -EINVAL);
	cr_assert_eq(metrics__histogram_set(m, "lat_seconds", l, 1, counts, 10, 1.25), 0);
	metrics__snapshot(m, &s);
	h = &family(s, "lat_seconds")->series[0];
	cr_assert_eq(family(s, "lat_seconds")->nseries, 1);
	cr_assert_eq(h->counts[0], 1);
	cr_assert_eq(h->counts[3], 4);
	cr_assert_eq(h->count, 10);
	cr_assert_eq(h->sum, 1.25);
	metrics_snapshot__free(s);
	metrics__free(m);
}

Test(metrics, max_series_drops_and_counts)
{
	struct metrics *m = metrics__new(3);
	struct metrics_snapshot *s = NULL;
	char v[16];

	metrics__declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
	for (int i = 0; i < 5; i++) {
		struct metric_label l = {"i", v};

		snprintf(v, sizeof(v), "%d", i);
		cr_assert_eq(metrics__counter_add(m, "c_total", &l, 1, 1), i < 3 ? 0 : -E2BIG);
	}
	/* Existing series still update at the cap. */
	{
		struct metric_label l = {"i", "0"};

		cr_assert_eq(metrics__counter_add(m, "c_total", &l, 1, 1), 0);
	}
	cr_assert_eq(metrics__series_dropped(m), 2);
	metrics__snapshot(m, &s);
	cr_assert_eq(family(s, "c_total")->nseries, 3);
	cr_assert_eq(family(s, "c_total")->series[0].value, 2.0);
	cr_assert_eq(family(s, "sonde_metrics_series_dropped_total")->series[0].value, 2.0);
	metrics_snapshot__free(s);

	/* Removing one frees a slot. */
	{
		struct metric_label l = {"i", "1"}, n = {"i", "9"};

		cr_assert_eq(metrics__remove(m, "c_total", &l, 1), 0);
		cr_assert_eq(metrics__remove(m, "c_total", &l, 1), -ENOENT);
		cr_assert_eq(metrics__counter_add(m, "c_total", &n, 1, 1), 0);
		cr_assert_eq(metrics__remove(m, "sonde_metrics_series_dropped_total", NULL, 0),
			     -ENOENT);
	}
	metrics__snapshot(m, &s);
	cr_assert_eq(family(s, "c_total")->nseries, 3);
	cr_assert_str_eq(family(s, "c_total")->series[0].labels[0].value, "0");
	cr_assert_str_eq(family(s, "c_total")->series[1].labels[0].value, "2");
	cr_assert_str_eq(family(s, "c_total")->series[2].labels[0].value, "9");
	metrics_snapshot__free(s);
	metrics__free(m);
}

Test(metrics, many_series_survive_rehash)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	const struct metric_family *f;
	char v[16];

	metrics__declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 5000; i++) {
			struct metric_label l = {"i", v};

			snprintf(v, sizeof(v), "%d", i);
			cr_assert_eq(metrics__counter_add(m, "c_total", &l, 1, i), 0);
		}
	}
	metrics__snapshot(m, &s);
	f = family(s, "c_total");
	cr_assert_eq(f->nseries, 5000);
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(f->series[i].value, 2.0 * i);
	metrics_snapshot__free(s);
	metrics__free(m);
}

Test(metrics, snapshot_is_independent_of_later_updates)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	struct metric_label l = {"k", "v"};

	metrics__declare(m, "g", METRIC_GAUGE, "G.", NULL, 0);
	metrics__gauge_set(m, "g", &l, 1, 1);
	metrics__snapshot(m, &s);
	metrics__gauge_set(m, "g", &l, 1, 2);
	metrics__remove(m, "g", &l, 1);
	cr_assert_eq(family(s, "g")->series[0].value, 1.0);
	cr_assert_str_eq(family(s, "g")->series[0].labels[0].value, "v");
	cr_assert_str_eq(family(s, "g")->help, "G.");
	metrics_snapshot__free(s);
	metrics__free(m);
}

/*
 * A label value that is not UTF-8 (a target's comm) is stored with '?' for
 * each bad byte, the same series whenever it comes back: every exposition
 * format wants UTF-8.
 */
Test(metrics, label_values_made_utf8)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	struct metric_label l = {"comm", "a\xff"
					 "b\xc3\xa9"};

	metrics__declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
	metrics__counter_add(m, "c_total", &l, 1, 1);
	metrics__counter_add(m, "c_total", &l, 1, 2);
	metrics__snapshot(m, &s);
	cr_assert_eq(family(s, "c_total")->nseries, 1);
	cr_assert_str_eq(family(s, "c_total")->series[0].labels[0].value, "a?b\xc3\xa9");
	cr_assert_eq(family(s, "c_total")->series[0].value, 3.0);
	metrics_snapshot__free(s);
	metrics__free(m);
}

#define THREAD_ADDS 20000

static void *adder(void *arg)
{
	struct metrics *m = arg;
	struct metric_label l = {"t", "x"};

	for (int i = 0; i < THREAD_ADDS; i++) {
		metrics__counter_add(m, "c_total", &l, 1, 1);
		metrics__histogram_observe(m, "h", NULL, 0, 0.005);
	}
	return NULL;
}

/* Writers on two threads and a snapshotting reader: no update lost, every
 * snapshot self-consistent (a histogram's count equals its buckets). */
Test(metrics, concurrent_updates_and_snapshots)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	pthread_t t[2];

	metrics__declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
	metrics__declare(m, "h", METRIC_HISTOGRAM, "H.", bounds, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, adder, m);
	for (int i = 0; i < 200; i++) {
		cr_assert_eq(metrics__snapshot(m, &s), 0);
		for (size_t j = 0; j < family(s, "h")->nseries; j++) {
			const struct metric_series *h = &family(s, "h")->series[j];

			cr_assert_eq(h->counts[1], h->count);
		}
		metrics_snapshot__free(s);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	metrics__snapshot(m, &s);
	cr_assert_eq(family(s, "c_total")->series[0].value, 2.0 * THREAD_ADDS);
	cr_assert_eq(family(s, "h")->series[0].count, 2 * THREAD_ADDS);
	metrics_snapshot__free(s);
	metrics__free(m);
}

Test(metrics, fmt_double_is_shortest_round_trip)
{
	char b[32];

	cr_assert_str_eq(metrics_fmt_double(0.1, b, sizeof(b)), "0.1");
	cr_assert_str_eq(metrics_fmt_double(42, b, sizeof(b)), "42");
	cr_assert_str_eq(metrics_fmt_double(1e-6, b, sizeof(b)), "1e-06");
	cr_assert_str_eq(metrics_fmt_double(0.1 + 0.2, b, sizeof(b)), "0.30000000000000004");
	cr_assert_str_eq(metrics_fmt_double(123456789012.0, b, sizeof(b)), "123456789012");
	cr_assert_str_eq(metrics_fmt_double(-2.5, b, sizeof(b)), "-2.5");
	cr_assert_str_eq(metrics_fmt_double(INFINITY, b, sizeof(b)), "+Inf");
	cr_assert_str_eq(metrics_fmt_double(-INFINITY, b, sizeof(b)), "-Inf");
	cr_assert_str_eq(metrics_fmt_double(NAN, b, sizeof(b)), "NaN");
}
