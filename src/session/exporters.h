/* SPDX-License-Identifier: MIT */
/*
 * The exporters of a session and the metrics registry they read:
 * Prometheus /metrics (served from libmicrohttpd's thread, with sonde's
 * own process_* from a registry of their own that only /metrics shows,
 * as client libraries do), StatsD (a
 * non-blocking UDP send per flush) and OTLP (spans and metrics copied into
 * its sender thread's bounded queues). None of them can stall the run
 * loop. The session refreshes the registry once a second (probes' series,
 * the targets' process metrics, the exporters' own failure counters) and
 * exports every --export-interval; failures are summed into one log line
 * per interval.
 */
#ifndef SONDE_SESSION_EXPORTERS_H
#define SONDE_SESSION_EXPORTERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "export/prom.h"
#include "export/statsd.h"

struct metrics;
struct otlp_log;
struct span_record;

struct export_opts {
	const char *listen;  /* --listen ADDR:PORT: serve /metrics, or NULL */
	char listen_buf[32]; /* "127.0.0.1:PORT" made from a bare --listen PORT */
	struct prom_cidr listen_allow[PROM_MAX_ALLOW]; /* --listen-allow CIDR (repeatable) */
	unsigned int nlisten_allow;
	const char *listen_auth; /* --listen-auth FILE: basic auth for /metrics, or NULL */
	const char *statsd;  /* --statsd HOST:PORT, or NULL */
	enum statsd_flavor statsd_flavor; /* --statsd-flavor statsd|dogstatsd */
	const char *otlp_endpoint; /* --otlp-endpoint URL, or NULL (see OTEL_* variables) */
	unsigned int otlp_queue;   /* --otlp-queue: spans held for OTLP before drops */
	double export_interval_s;  /* --export-interval: StatsD flushes, OTLP metrics */
	double flush_timeout_s;	   /* --flush-timeout: final OTLP flush deadline */
	unsigned int max_series;   /* --max-series: cap of the metrics registry */
};

/* The exporters' failure families; other exporters of a session (the agent's windows) add series.
 */
#define M_EXPORT_ERRORS "sonde_export_errors_total"
#define M_EXPORT_DROPPED "sonde_export_dropped_total"

/* Defaults and bounds of the exporter options (see --help). */
#define EXPORT_INTERVAL_S 10.0
#define EXPORT_FLUSH_TIMEOUT_S 5.0
#define EXPORT_MAX_SERIES 10000
#define EXPORT_OTLP_QUEUE 8192

void export_opts_default(struct export_opts *o);

/* True when OTLP is asked for: --otlp-endpoint or an OTEL_EXPORTER_OTLP_*ENDPOINT. */
bool export_otlp_wanted(const struct export_opts *o);

struct exporters;

/*
 * The registry and the exporters that need nothing from the target
 * (--listen, --statsd): set up before anything is launched, so a port in
 * use fails the run before it starts. *out is NULL when no exporter is
 * on. @cmd prefixes messages. 0 or -errno (logged).
 */
int exporters__new(const struct export_opts *o, const char *cmd, struct exporters **out);
/*
 * OTLP, once the targets are known: one Resource per PID, read from /proc
 * now, except that a launched command (@cmd, its argv[0], non-NULL) is
 * not exec'd yet: pids[0] is described by @exe (its file, NULL if not
 * found) and @cmd. Processes met later (children) are read from /proc at
 * their first span. 0 or -errno (logged).
 */
int exporters__start_otlp(struct exporters *x, const pid_t *pids, int npids, const char *exe,
			  const char *cmd);
struct metrics *exporters__metrics(struct exporters *x);
bool exporters__otlp_on(const struct exporters *x);
/* What /readyz answers from now on (prom_server__set_ready); no-op without --listen. */
int exporters__set_ready(struct exporters *x, bool ready, const char *json);
/* Queue one span for OTLP (a full queue counts it as dropped). */
void exporters__push_span(struct exporters *x, const struct span_record *s);
/* Queue one log record for OTLP (a latency anomaly); no-op without OTLP. */
void exporters__push_log(struct exporters *x, const struct otlp_log *l);
/* Mirror the exporters' own failure counters into the registry. */
void exporters__publish(struct exporters *x);
/* One snapshot to StatsD and OTLP; both only copy or send without waiting. */
void exporters__export(struct exporters *x);
/* One line for whatever failed since the last report ("in the last ..."). */
void exporters__report(struct exporters *x, const char *when);
/*
 * The last word: export once more, wait at most --flush-timeout for OTLP
 * to deliver its queues, report what failed. Failures are reported, not
 * returned: local outputs are already safe.
 */
void exporters__finish(struct exporters *x);
/*
 * Spans the exporters dropped so far (OTLP: queue full, rejected, given
 * up; after exporters__finish() also what is still undelivered), for the
 * one "spans lost" figure. 0 without OTLP.
 */
uint64_t exporters__spans_lost(struct exporters *x);
void exporters__free(struct exporters *x);

#endif /* SONDE_SESSION_EXPORTERS_H */
