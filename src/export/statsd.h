/* SPDX-License-Identifier: MIT */
/*
 * StatsD exporter (DogStatsD tags) over UDP.
 *
 * Each flush sends what changed since the previous flush, so a StatsD
 * server's own aggregation (sum of counters per interval) gives the right
 * rates. Per series, with labels as tags "|#k:v,k2:v2":
 *
 *   counter    PREFIX.NAME:DELTA|c                 only when DELTA != 0
 *   gauge      PREFIX.NAME:VALUE|g                 every flush; a negative
 *              value is sent as "NAME:0|g\nNAME:-5|g" in one packet, since
 *              a signed gauge alone means "adjust by"
 *   histogram  PREFIX.NAME.count:DELTA|c            when the count changed:
 *              PREFIX.NAME.sum:DELTA|c              sum of observations, exact
 *              and the observations themselves as timings, so the server's
 *              own percentiles come out right: a bucket's new observations
 *              are sent as its middle value (the last bound for +Inf) with
 *              a sample rate, one entry standing for many calls. A family
 *              in seconds (NAME_seconds) is sent in milliseconds under NAME
 *              without the suffix (timings are milliseconds), others as
 *              they are. Two flavors:
 *
 *   statsd     PREFIX.NAME:V1|ms|@R1:V2|ms|@R2...|#tags   (Etsy's multi-value
 *              lines). Etsy's statsd (and Telegraf) count a timing as
 *              1/rate, but compute percentiles over the entries unweighted,
 *              so each bucket gets entries in proportion to its count, up
 *              to STATSD_TIMING_ENTRIES per series per flush (every call
 *              its own entry, rate 1, below that), split over lines of at
 *              most a packet
 *   dogstatsd  PREFIX.NAME:V|d|@R|#tags, one line per bucket, R = 1/count:
 *              Datadog's distributions weight a value by 1/rate in their
 *              percentiles too
 *
 * Sample rates are plain decimals ("0.0123", never "1e-05", which Etsy's
 * parser would read as 1) with 15 significant digits, so count = sum of
 * 1/rate is exact to 1e-12.
 *
 * A value that went down (counter_set mirroring a restarted source) is a
 * reset: the whole new value is the delta. Names and tag keys/values get
 * '|', ',', '#', ':' (names only), '@' (names only) and newlines replaced
 * by '_'. Lines are joined by '\n' into packets of at most
 * STATSD_MAX_PACKET bytes; a line is never split (a longer line is dropped
 * and counted). Sending never blocks: a failed send is counted and the
 * caller goes on. NaN/Inf values are skipped and counted as dropped lines.
 * Values have 15 significant digits (exact for integers below 1e15).
 *
 * Intended use (--statsd HOST:PORT): statsd__new() once; then every flush
 * interval (e.g. 10 s, the StatsD default) metrics__snapshot(),
 * statsd__flush(), metrics_snapshot__free(); mirror statsd__stats()'s
 * send_errors into sonde_export_errors_total{exporter="statsd"}.
 */
#ifndef SONDE_EXPORT_STATSD_H
#define SONDE_EXPORT_STATSD_H

#include <stdint.h>

#include "model/metrics.h"

/* StatsD's advice for a 1500-byte MTU: leaves room for IP and UDP headers. */
#define STATSD_MAX_PACKET 1432

struct statsd;

enum statsd_flavor {
	STATSD_FLAVOR_STATSD = 0, /* Etsy's statsd, Telegraf: |ms timings */
	STATSD_FLAVOR_DOGSTATSD,  /* Datadog's agent: |d distributions */
};

/* Timing entries per series per flush, statsd flavor. */
#define STATSD_TIMING_ENTRIES 100

/* "statsd" or "dogstatsd" into @out; 0 or -EINVAL. */
int statsd_flavor_parse(const char *s, enum statsd_flavor *out);

struct statsd_stats {
	uint64_t packets_sent;
	uint64_t bytes_sent;
	uint64_t send_errors;	/* packets the kernel refused (EAGAIN, ECONNREFUSED...) */
	uint64_t lines_dropped; /* longer than a packet, or not finite */
};

/*
 * @hostport: "127.0.0.1:8125", "[::1]:8125", "localhost:8125".
 * @prefix: prepended to every name with a '.', e.g. "myapp" gives
 * "myapp.sonde_events_total"; NULL or "" for none. Prints one error line
 * and returns -EINVAL (bad address), -ENOENT (unknown host) or -errno.
 */
int statsd__new(const char *hostport, const char *prefix, struct statsd **out);
/* The same, sending histograms as @flavor expects. */
int statsd__new_flavor(const char *hostport, const char *prefix, enum statsd_flavor flavor,
		       struct statsd **out);
void statsd__free(struct statsd *s);

/*
 * Send the changes since the last flush. 0, or -ENOMEM: the flush stops
 * there, and what it did not send is sent by the next one.
 */
int statsd__flush(struct statsd *s, const struct metrics_snapshot *snap);

void statsd__stats(const struct statsd *s, struct statsd_stats *out);

#endif /* SONDE_EXPORT_STATSD_H */
