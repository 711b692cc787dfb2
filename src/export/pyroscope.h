/* SPDX-License-Identifier: MIT */
/*
 * Pyroscope push: each profile window POSTed to the server's /ingest as
 * Pyroscope's own clients do (docs/agent-output.md):
 *
 *	POST BASE/ingest?name=APP{k=v,...}&from=S&until=S&format=pprof
 *	     &sampleRate=HZ&spyName=sonde
 *	Content-Type: multipart/form-data; boundary=sonde-<32 hex>
 *	X-Scope-OrgID: TENANT			(when a tenant is set)
 *
 *	part "profile", file "profile.pb.gz": the window as gzipped pprof,
 *	    every sample type in it (pprof.h);
 *	part "sample_type_config", file "sample_type_config.json": for each
 *	    of those types its units, aggregation and whether it is sampled.
 *
 * Both parts carry a filename because the server reads files only (Go's
 * multipart.Form.File): a plain field would be ignored.
 *
 * The series name follows Pyroscope's key syntax, which has no escapes:
 * the app name keeps [A-Za-z0-9_.-/], label keys [A-Za-z_][A-Za-z0-9_]*
 * (what both its key parser and Prometheus' label names accept), other
 * characters become '_'; a value ends at ',' or '}' there and is trimmed,
 * so ',', '}', '{', '=', control characters and bytes that are not UTF-8
 * become '_', surrounding spaces go, and a label left empty is left out.
 * Then the whole name is percent-encoded into the query.
 *
 * Windows go through the shared transport (transport.h): encoding happens
 * in pyroscope__push(), sending on the transport's thread, so a push never
 * waits on the network; a full queue drops its oldest window (a newer one
 * supersedes it), counted.
 */
#ifndef SONDE_EXPORT_PYROSCOPE_H
#define SONDE_EXPORT_PYROSCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct profile;
struct pyroscope;

struct pyroscope_opts {
	/* "http://host:4040" or https, a path prefix optional; "/ingest" is appended. */
	const char *url;
	const char *tenant;	    /* X-Scope-OrgID, when neither NULL nor "" */
	const char *const *headers; /* more "Name: value" lines, NULL-ended, or NULL */
	const char *cainfo;	    /* CA bundle for https; NULL: the system's */
	const char *spy_name;	    /* spyName; NULL: "sonde" */

	/* 0 selects the default in brackets. */
	unsigned int max_windows;  /* queued; a newer window displaces the oldest [8] */
	unsigned int timeout_ms;   /* per request, connecting included [10000] */
	unsigned int backoff_ms;   /* first retry delay [500] */
	unsigned int retry_max_ms; /* a window is given up after retrying so long [60000] */

	/* Polled by pyroscope__flush(): true ends it with -ECANCELED. NULL: never. */
	bool (*cancel)(void *ctx);
	void *cancel_ctx;
};

struct pyroscope_label {
	const char *key, *value;
};

struct pyroscope_stats {
	uint64_t windows_pushed;  /* handed to pyroscope__push() with samples in them */
	uint64_t windows_empty;	  /* handed over without a sample: not sent */
	uint64_t windows_sent;	  /* accepted (2xx) */
	uint64_t windows_failed;  /* refused (a status not worth retrying) or given up */
	uint64_t windows_dropped; /* displaced from the full queue, or not encoded */
	uint64_t windows_queued;  /* waiting now */
	uint64_t requests_failed; /* failed attempts, retried or not */
	uint64_t bytes_sent;	  /* request bodies accepted */
};

/*
 * Check the options and start the transport's thread; connects to
 * nothing. 0 or -EINVAL (a URL that is not http(s), has a query or
 * credentials, a tenant with CR or LF: one line says which), -ENOMEM.
 */
int pyroscope__new(const struct pyroscope_opts *o, struct pyroscope **out);

/*
 * The series name "APP{k=v,...}" (labels in the order given) as the
 * server will read it, into @buf: for checking a configuration before
 * any window. Its length, or -EINVAL (an app name or label key with
 * nothing usable, a key Pyroscope reserves: "__*", service_name,
 * pyroscope_spy; the same key twice) with @why set when not NULL,
 * -ENOSPC when @len is short.
 */
int pyroscope_series_name(char *buf, size_t len, const char *app,
			  const struct pyroscope_label *labels, size_t nlabels, char *why,
			  size_t whylen);

/*
 * Queue window @window (unchanged, the caller's) for series @app with
 * @labels covering [@from_unix_ns, @until_unix_ns): from rounds down and
 * until up to whole seconds (at least one second later). @sample_rate_hz
 * 0 leaves sampleRate out. A window without samples is counted and not
 * sent. 0, -EINVAL (see pyroscope_series_name(); one line logged),
 * -ENOMEM. Never waits on the network.
 */
int pyroscope__push(struct pyroscope *p, const struct profile *window, const char *app,
		    const struct pyroscope_label *labels, size_t nlabels, uint64_t from_unix_ns,
		    uint64_t until_unix_ns, unsigned int sample_rate_hz);

/* Send what is queued within @timeout_ms: 0, -ETIMEDOUT or -ECANCELED (transport__flush). */
int pyroscope__flush(struct pyroscope *p, int timeout_ms);

/* Any thread. */
void pyroscope__stats(struct pyroscope *p, struct pyroscope_stats *out);

/* "BASE/ingest", as requests start. */
const char *pyroscope__url(const struct pyroscope *p);

/* Stop sending (what is queued is given up, counted and logged) and free. NULL: no-op. */
void pyroscope__free(struct pyroscope *p);

#endif /* SONDE_EXPORT_PYROSCOPE_H */
