/* SPDX-License-Identifier: MIT */
/*
 * The push transport every exporter that POSTs to a backend shares: OTLP
 * traces and metrics today, OTLP logs and profiles and a Pyroscope push
 * (multipart pprof bodies POSTed to /ingest?name=...&from=...&until=...)
 * next. The exporter keeps its configuration and its encoding; the
 * transport owns the rest:
 *
 *   - one sender thread (libcurl, http and https) so that the caller's
 *     loop never waits on the network;
 *   - channels, one per destination (a signal, an endpoint), each with a
 *     bounded queue of finished requests (transport__send(): the body is
 *     copied by the caller and taken over; when the queue is full the
 *     oldest request is dropped, since snapshots and profile windows are
 *     superseded by newer ones) and/or a source the sender pulls batches
 *     from (struct transport_source: OTLP keeps spans in its own ring and
 *     encodes a batch on the sender thread, so a push stays a memcpy);
 *   - retries with exponential backoff and full jitter on 429, 502, 503,
 *     504 and transport errors, in order: a request being retried holds
 *     back its channel. Retry-After (seconds or an HTTP date) pauses the
 *     channel until then, even across requests; a request is given up
 *     retry_max_ms after its first attempt. Other statuses drop it;
 *   - replies are read up to max_reply bytes (a hostile 100 MB body costs
 *     a closed connection, not 100 MB of reading);
 *   - transport__flush() sends everything queued within a deadline (a
 *     partial batch goes at once; a backoff wait is cut short, never a
 *     Retry-After one: when that ends past the deadline, what is left is
 *     given up at once) and can be cancelled by a callback the caller
 *     polls (a second Ctrl-C);
 *   - counters per channel, and at most one failure line per channel per
 *     log_interval_ms, "NAME: failed to export N WHAT to URL: REASON
 *     (ACTION; M dropped so far)", then "NAME: exporting to URL again".
 *
 * Intended use (a Pyroscope pusher, say):
 *
 *	struct transport_channel_opts ch = {
 *		.what = "profiles",
 *		.url = "http://pyroscope:4040/ingest",
 *		.max_requests = 8,
 *	};
 *	struct transport_opts o = {.name = "pyroscope", .channels = &ch, .nchannels = 1};
 *	struct transport *t;
 *
 *	transport__new(&o, &t);
 *	... every window: build the multipart body and its URL with the query
 *	    (name, from, until, format=pprof), then
 *	struct transport_req r = {.body = body, .len = len, .items = 1,
 *		.url = url, .content_type = "multipart/form-data; boundary=..."};
 *	transport__send(t, 0, &r);	// takes body, url and content_type
 *	... on exit:
 *	transport__flush(t, 5000);
 *	transport__free(t);
 *
 * Threading: transport__send(), __kick(), __flush() and __stats() may be
 * called from any thread. A source's callbacks run on the sender thread
 * (pending() also in transport__flush()'s caller) and must not call into
 * the transport with a lock of their own held.
 */
#ifndef SONDE_EXPORT_TRANSPORT_H
#define SONDE_EXPORT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct transport;

/* A request as a source hands it over; it stays the source's until done(). */
struct transport_batch {
	const void *body;
	size_t len;
	size_t items;		  /* what it carries (spans, snapshots), for the counters */
	const char *url;	  /* NULL: the channel's */
	const char *content_type; /* NULL: the channel's */
};

enum transport_outcome {
	TRANSPORT_SENT = 0,
	TRANSPORT_REJECTED, /* a status that is not worth retrying */
	TRANSPORT_GIVEN_UP, /* retried for retry_max_ms, or Retry-After past a flush */
	TRANSPORT_STOPPED,  /* transport__free() interrupted it: still the source's */
};

/*
 * Data an exporter keeps itself and the sender pulls from. All callbacks
 * but refused() are required.
 */
struct transport_source {
	/*
	 * Fill @b with the next request to send if one is ready: a full batch,
	 * or with @due (the channel's tick_ms elapsed, or a flush runs) any
	 * non-empty one. 1: @b filled, 0: nothing to send now.
	 */
	int (*take)(void *ctx, bool due, struct transport_batch *b);
	/* The request of the last take() ended so (counted by the transport). */
	void (*done)(void *ctx, const struct transport_batch *b, enum transport_outcome out);
	/* True while the source holds anything, sent or not. */
	bool (*pending)(void *ctx);
	/* Items the source itself dropped (e.g. its queue was full), or NULL. */
	uint64_t (*refused)(void *ctx);
	void *ctx;
};

struct transport_channel_opts {
	const char *what;	  /* plural noun of its items in logs: "spans", "metrics" */
	const char *url;	  /* where its requests go unless they say otherwise */
	const char *content_type; /* likewise; NULL: application/x-protobuf */
	/* transport__send() requests held; a newer one displaces the oldest [4]. */
	unsigned int max_requests;
	const struct transport_source *source; /* or NULL */
	/* How a refusal of the source is described: "8192 spans or 2 MiB". */
	const char *source_limit;
};

struct transport_opts {
	const char *name;	    /* the log prefix: "otlp", "pyroscope" */
	const char *user_agent;	    /* NULL: "sonde/VERSION" */
	const char *cainfo;	    /* CA bundle for https; NULL: the system's */
	const char *const *headers; /* "Name: value" lines for every request, NULL-ended */
	const struct transport_channel_opts *channels;
	unsigned int nchannels;

	/* 0 selects the default in brackets. */
	unsigned int timeout_ms;      /* per request, connecting included [10000] */
	unsigned int backoff_ms;      /* first retry delay [500] */
	unsigned int backoff_max_ms;  /* longest retry delay [30000] */
	unsigned int retry_max_ms;    /* give a request up after retrying so long [60000] */
	unsigned int log_interval_ms; /* one failure line per channel per [10000];
				       * UINT_MAX: the first one only */
	unsigned int tick_ms;	      /* sources' partial batches go after [1000] */
	size_t max_reply;	      /* reply body bytes read, the rest refused [4096] */

	/*
	 * Polled (every 20 ms) by transport__flush(): true ends the flush at
	 * once with -ECANCELED. NULL: never.
	 */
	bool (*cancel)(void *ctx);
	void *cancel_ctx;
};

struct transport_stats {
	uint64_t requests_sent;	  /* answered 2xx */
	uint64_t requests_failed; /* every failed attempt, retried or not */
	uint64_t bytes_sent;	  /* bodies answered 2xx */
	uint64_t items_queued_in; /* items given to transport__send() */
	uint64_t items_sent;
	uint64_t items_rejected;
	uint64_t items_given_up;  /* including requests left at transport__free() */
	uint64_t items_displaced; /* queued requests a newer one replaced */
	uint64_t requests_queued; /* held now by transport__send()'s queue */
};

/*
 * Check the options (headers must not hold CR or LF), start the sender.
 * Connects to nothing. 0, -EINVAL, -ENOMEM, or the error of starting the
 * thread; each is logged.
 */
int transport__new(const struct transport_opts *o, struct transport **out);

struct transport_req {
	void *body; /* malloc'd; the transport frees it */
	size_t len;
	size_t items;
	char *url;	    /* malloc'd or NULL (the channel's) */
	char *content_type; /* malloc'd or NULL */
};

/*
 * Queue @r on channel @ch and take ownership of its strings (also on
 * error). Never waits on the network. 0, or -EINVAL for a bad channel.
 */
int transport__send(struct transport *t, unsigned int ch, struct transport_req *r);

/* A source has a full batch: wake the sender now rather than at its tick. */
void transport__kick(struct transport *t);

/*
 * Send what is queued and what the sources hold, within @timeout_ms.
 * 0 once nothing is left (sent, or dropped and counted), -ETIMEDOUT at
 * the deadline, -ECANCELED when opts.cancel said so.
 */
int transport__flush(struct transport *t, int timeout_ms);

/*
 * Stop the sender now: a request in flight is aborted and stays its
 * source's (TRANSPORT_STOPPED). The counters stay readable. Idempotent.
 */
void transport__stop(struct transport *t);
/*
 * Stop (transport__stop) and free; requests still queued are counted as
 * given up and logged. NULL is a no-op.
 */
void transport__free(struct transport *t);

void transport__stats(struct transport *t, unsigned int ch, struct transport_stats *out);
/* The default URL of channel @ch. */
const char *transport__url(const struct transport *t, unsigned int ch);

#endif /* SONDE_EXPORT_TRANSPORT_H */
