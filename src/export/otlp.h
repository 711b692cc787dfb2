/* SPDX-License-Identifier: MIT */
/*
 * OTLP/HTTP exporter: spans, metric snapshots and log records as protobuf
 * (Content-Type: application/x-protobuf) POSTed to an OpenTelemetry
 * collector's /v1/traces, /v1/metrics and /v1/logs, the way every OTel SDK
 * does.
 *
 * The collector's loop must never wait on the network, so pushing only
 * copies into bounded queues. Sending is the shared push transport's
 * (export/transport.h: one sender thread, libcurl, http or https): spans
 * are batched and encoded on its thread, metric snapshots are encoded by
 * the caller. Failures are retried with exponential backoff and jitter on
 * 429/502/503/504 and transport errors for up to retry_max_ms per batch,
 * in order: a batch being retried holds back the ones behind it.
 * Retry-After pauses the signal until then; other 4xx/5xx drop the batch;
 * replies are read up to 4 KiB. Nothing is lost silently: overflow,
 * rejection and give-up drops are counted in otlp__stats() and logged at
 * most once per log interval.
 *
 * Configuration follows the OTel SDK environment variables, with explicit
 * options taking precedence:
 *   OTEL_EXPORTER_OTLP_ENDPOINT          base URL; /v1/traces, /v1/metrics, /v1/logs appended
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   used as-is (likewise _METRICS_, _LOGS_ENDPOINT)
 *   OTEL_EXPORTER_OTLP_HEADERS           k=v,k2=v2 (percent-decoded) request headers
 *   OTEL_EXPORTER_OTLP_TIMEOUT           per-request timeout, ms
 *   OTEL_EXPORTER_OTLP_CERTIFICATE       CA bundle for https
 *   OTEL_EXPORTER_OTLP_PROTOCOL          only "http/protobuf" is supported
 *   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (k=v,k2=v2, percent-decoded)
 * A malformed list variable is ignored as a whole, with a warning.
 *
 * Resource attributes: service.name, host.name, process.pid,
 * process.executable.name, telemetry.sdk.name=sonde, then
 * OTEL_RESOURCE_ATTRIBUTES (which override the detected ones).
 * Spans are SPAN_KIND_INTERNAL with attributes process.pid, thread.id,
 * code.function, code.filepath; metrics map counters to monotonic
 * cumulative Sums, gauges to Gauges, histograms to cumulative explicit
 * bucket Histograms, labels to attributes. A log record (a latency
 * anomaly) is one LogRecord with its own attributes, in one request with
 * the service's Resource (or its process's), encoded by the caller.
 */
#ifndef SONDE_EXPORT_OTLP_H
#define SONDE_EXPORT_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct span_record;
struct span_attr;
struct metrics_snapshot;
struct otlp;

struct otlp_opts {
	/*
	 * Base URL, e.g. "http://127.0.0.1:4318" (what --otlp-endpoint
	 * gives): /v1/traces and /v1/metrics are appended. NULL: the
	 * environment, then http://localhost:4318.
	 */
	const char *endpoint;
	/* NULL: OTEL_SERVICE_NAME, service.name of OTEL_RESOURCE_ATTRIBUTES,
	 * exe_name, "sonde". */
	const char *service_name;
	/* The target's executable name; NULL: basename of /proc/PID/exe. */
	const char *exe_name;
	int pid; /* the target's PID (process.pid); 0: none */

	/* Limits and timing; 0 selects the default in brackets. */
	unsigned int queue_spans;     /* spans held before drops [8192] */
	size_t queue_bytes;	      /* bytes held incl. strings [queue_spans * 256] */
	unsigned int batch_spans;     /* spans per request [512] */
	unsigned int batch_ms;	      /* send a partial batch after [1000] */
	unsigned int timeout_ms;      /* per request [OTEL_EXPORTER_OTLP_TIMEOUT, 10000] */
	unsigned int backoff_ms;      /* first retry delay [500] */
	unsigned int backoff_max_ms;  /* longest retry delay [30000] */
	unsigned int retry_max_ms;    /* give a batch up after retrying [60000] */
	unsigned int log_interval_ms; /* at most one failure log per [10000] */
	unsigned int metrics_queue;   /* encoded snapshots held, oldest dropped [4] */
	unsigned int logs_queue;      /* encoded log requests held, oldest dropped [64] */

	/* Polled during otlp__flush(): true ends it at once (-ECANCELED). */
	bool (*cancel)(void *ctx);
	void *cancel_ctx;
};

enum otlp_signal {
	OTLP_TRACES = 0,
	OTLP_METRICS,
	OTLP_LOGS,
	OTLP_NSIGNALS,
};

struct otlp_stats {
	uint64_t spans_pushed;
	uint64_t spans_sent;		/* accepted with a 2xx */
	uint64_t spans_dropped;		/* all drops: the three below */
	uint64_t spans_dropped_full;	/* queue full at push */
	uint64_t spans_rejected;	/* non-retryable HTTP status */
	uint64_t spans_given_up;	/* retried for retry_max_ms, or left at otlp__free */
	uint64_t spans_queued;		/* held now (including a batch in flight) */
	uint64_t metric_exports_pushed; /* snapshots */
	uint64_t metric_exports_sent;
	uint64_t metric_exports_dropped; /* displaced by newer, rejected, given up */
	uint64_t logs_pushed;
	uint64_t logs_sent;
	uint64_t logs_dropped;		 /* displaced by newer, rejected, given up */
	uint64_t requests_sent;		 /* 2xx */
	uint64_t requests_failed;	 /* every failed attempt, retried or not */
	uint64_t bytes_sent;		 /* request bodies accepted with a 2xx */
};

/*
 * Resolve the configuration, build the resource, start the sender thread.
 * Does not connect. Returns 0, -EINVAL (a bad URL or option),
 * -EPROTONOSUPPORT (OTEL_EXPORTER_OTLP_PROTOCOL is not http/protobuf),
 * -ENOMEM, or the error of starting the thread; each is logged.
 */
int otlp__new(const struct otlp_opts *o, struct otlp **out);

/*
 * Queue one completed span: copies it (name and filepath too, each cut to
 * 4095 bytes) and returns. O(1), never waits on the network; thread-safe.
 * Returns 0 or -ENOSPC when the queue is full (the span is counted as
 * dropped).
 */
int otlp__push_span(struct otlp *x, const struct span_record *s);

/*
 * Encode @snap now (the caller may free it on return) and queue the
 * request; when metrics_queue requests are already waiting, the oldest is
 * dropped (snapshots are cumulative, so the newest supersedes it).
 * Returns 0 or -ENOMEM.
 */
int otlp__push_metrics(struct otlp *x, const struct metrics_snapshot *snap);

/* OTLP's SeverityNumber of a warning, with its text "WARN". */
#define OTLP_SEVERITY_WARN 13

/* One log record. Strings are the caller's (copied by the encoding). */
struct otlp_log {
	uint64_t time_unix_ns;	   /* when it happened */
	uint64_t observed_unix_ns; /* when sonde saw it; 0: now */
	int severity;		   /* SeverityNumber, e.g. OTLP_SEVERITY_WARN */
	const char *severity_text; /* "WARN" */
	const char *body;	   /* a one-line human message */
	/* Strings, ints and doubles (arrays are left out), at most 32. */
	const struct span_attr *attrs;
	size_t nattrs;
	int pid; /* the Resource: process @pid's; 0: the service's (as metrics without one) */
};

/*
 * Encode @l now and queue the request for /v1/logs; when logs_queue
 * requests are already waiting the oldest is dropped (counted in
 * logs_dropped). 0 or -ENOMEM.
 */
int otlp__push_log(struct otlp *x, const struct otlp_log *l);

/*
 * Send everything queued now, retrying within @timeout_ms. Returns 0 once
 * the queues are empty (sent, or dropped as rejected or given up: see
 * otlp__stats), -ETIMEDOUT if data is still queued at the deadline,
 * -ECANCELED when opts.cancel said so. Use on exit, before otlp__free().
 */
int otlp__flush(struct otlp *x, int timeout_ms);

/* Stop the sender (aborting a request in flight) and free; spans still
 * queued are counted as given up and logged. NULL is a no-op. */
void otlp__free(struct otlp *x);

/* A consistent copy of the counters. */
void otlp__stats(struct otlp *x, struct otlp_stats *out);

/*
 * Describe target process @pid for its Resource (export/resource.h):
 * @exe_path and @command (argv[0]) as known, both NULL to read /proc now.
 * A process never described is read from /proc when its first span or
 * metric is encoded. Thread-safe. 0 or -errno.
 */
int otlp__add_process(struct otlp *x, int pid, const char *exe_path, const char *command);

/* The resolved URL each signal is POSTed to. */
const char *otlp__url(const struct otlp *x, enum otlp_signal sig);

#endif /* SONDE_EXPORT_OTLP_H */
