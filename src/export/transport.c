// SPDX-License-Identifier: MIT
/*
 * The push transport (see transport.h). One sender thread serves the
 * channels in turn: a channel's queued requests first, then its source.
 * The one transfer runs on curl's multi interface so that
 * transport__free() can interrupt it (curl_multi_wakeup) instead of
 * waiting out its timeout.
 *
 * Flush: transport__flush() bumps flush_gen and waits until the sender
 * has finished a round that began after the bump and found every channel
 * empty (idle_gen), so whatever was queued before the flush was seen.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/log.h"
#include "export/transport.h"

#define DEF_TIMEOUT_MS 10000
#define DEF_BACKOFF_MS 500
#define DEF_BACKOFF_MAX_MS 30000
#define DEF_RETRY_MAX_MS 60000
#define DEF_LOG_INTERVAL_MS 10000
#define DEF_TICK_MS 1000
#define DEF_MAX_REQUESTS 4
#define DEF_MAX_REPLY 4096
#define DEF_CONTENT_TYPE "application/x-protobuf"
#define CANCEL_POLL_MS 20
#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)

/* A request queued by transport__send(). */
struct treq {
	void *body;
	size_t len, items;
	char *url, *ctype;
};

struct logstate {
	uint64_t last_ns;
	bool logged;  /* a line was ever logged (last_ns valid) */
	bool failing; /* the last attempt failed */
};

struct channel {
	char *what, *url, *ctype, *limit;
	const struct transport_source *src;
	struct treq *q; /* a ring of cap slots, under lock */
	unsigned int cap, first, n;
	struct transport_stats st; /* under lock */

	/* Sender thread only. */
	uint64_t not_before_ns; /* Retry-After: no attempt before */
	struct logstate lg, refused_lg;
	uint64_t refused_reported;
};

struct transport {
	char *name, *user_agent, *cainfo;
	char **headers;
	size_t nheaders;
	struct channel *ch;
	unsigned int nch;
	unsigned int timeout_ms, backoff_ms, backoff_max_ms, retry_max_ms, log_interval_ms;
	unsigned int tick_ms;
	size_t max_reply;
	bool (*cancel)(void *ctx);
	void *cancel_ctx;

	CURL *curl;
	CURLM *multi;
	char errbuf[CURL_ERROR_SIZE];
	size_t reply_len; /* of the transfer in flight */
	bool reply_cut;	  /* it was longer than max_reply */
	uint64_t rng;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the sender waits for work */
	pthread_cond_t idle; /* flushes wait for an empty round */
	bool stop, kicked;   /* under lock */
	bool busy;	     /* a queued request is in flight (under lock) */
	bool stopped;	     /* the sender was joined */
	unsigned int flushing;
	uint64_t flush_gen, idle_gen, flush_deadline_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Wait on @c (CLOCK_MONOTONIC) until @deadline_ns; the lock is held. */
static void wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns)
{
	struct timespec ts = {.tv_sec = deadline_ns / NS_PER_S, .tv_nsec = deadline_ns % NS_PER_S};

	pthread_cond_timedwait(c, m, &ts);
}

static unsigned int or_default(unsigned int v, unsigned int def)
{
	return v ? v : def;
}

static void treq_free(struct treq *r)
{
	free(r->body);
	free(r->url);
	free(r->ctype);
}

/* ---- logging ------------------------------------------------------------ */

/* Whether a throttled line may be logged now (and note that it was). */
static bool log_due(struct transport *t, struct logstate *l)
{
	uint64_t now = mono_ns();

	if (l->logged && now - l->last_ns < t->log_interval_ms * NS_PER_MS)
		return false;
	l->logged = true;
	l->last_ns = now;
	return true;
}

static uint64_t refused_of(const struct channel *c)
{
	return c->src && c->src->refused ? c->src->refused(c->src->ctx) : 0;
}

/* Under lock: everything channel @c dropped, its source's refusals too. */
static uint64_t dropped_locked(const struct channel *c)
{
	return c->st.items_rejected + c->st.items_given_up + c->st.items_displaced;
}

static uint64_t dropped_so_far(struct transport *t, struct channel *c)
{
	uint64_t d;

	pthread_mutex_lock(&t->lock);
	d = dropped_locked(c);
	pthread_mutex_unlock(&t->lock);
	return d + refused_of(c);
}

static void log_failure(struct transport *t, struct channel *c, const char *url, size_t nitems,
			const char *reason, const char *action)
{
	c->lg.failing = true;
	if (!log_due(t, &c->lg))
		return;
	log_warn("%s: failed to export %zu %s to %s: %s (%s; %" PRIu64 " dropped so far)", t->name,
		 nitems, c->what, url, reason, action, dropped_so_far(t, c));
}

/* What a channel's source refused since the last line about it. */
static void report_refused(struct transport *t, struct channel *c)
{
	uint64_t r = refused_of(c);

	if (r == c->refused_reported || !log_due(t, &c->refused_lg))
		return;
	c->refused_reported = r;
	log_warn("%s: failed to queue %" PRIu64 " %s: queue full (%s; %" PRIu64 " dropped so far)",
		 t->name, r, c->what, c->limit ? c->limit : "its limit", dropped_so_far(t, c));
}

/* ---- one request -------------------------------------------------------- */

enum post_result {
	POST_OK,
	POST_RETRY, /* 429/502/503/504 or a transport error */
	POST_FATAL, /* any other status: the receiver will never take it */
	POST_STOPPED,
};

static bool stopping(struct transport *t)
{
	bool s;

	pthread_mutex_lock(&t->lock);
	s = t->stop;
	pthread_mutex_unlock(&t->lock);
	return s;
}

/* Run the one transfer; CURLE_ABORTED_BY_CALLBACK when stopped. */
static CURLcode perform(struct transport *t)
{
	CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
	int running = 1, left;
	CURLMsg *msg;

	if (curl_multi_add_handle(t->multi, t->curl))
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		if (curl_multi_perform(t->multi, &running) != CURLM_OK) {
			rc = CURLE_SEND_ERROR;
			goto remove;
		}
		if (!running)
			break;
		if (stopping(t))
			goto remove;
		/* Returns early on activity or curl_multi_wakeup(). */
		curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
	}
	rc = CURLE_GOT_NOTHING;
	while ((msg = curl_multi_info_read(t->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
remove:
	curl_multi_remove_handle(t->multi, t->curl);
	return rc;
}

/* Keep at most max_reply bytes of a reply: a longer one ends the transfer. */
static size_t on_reply(char *p, size_t size, size_t n, void *ud)
{
	struct transport *t = ud;

	if (t->reply_len + size * n > t->max_reply) {
		t->reply_cut = true;
		return 0; /* CURLE_WRITE_ERROR, with the status already read */
	}
	t->reply_len += size * n;
	return size * n;
}

/* Content-Type, "Expect:" (no 100-continue wait), then the common headers. */
static struct curl_slist *request_headers(struct transport *t, const char *ctype)
{
	struct curl_slist *l = NULL, *n;
	char line[512];

	snprintf(line, sizeof(line), "Content-Type: %s", ctype);
	for (size_t i = 0; i < 2 + t->nheaders; i++) {
		n = curl_slist_append(l, i == 0 ? line : i == 1 ? "Expect:" : t->headers[i - 2]);
		if (!n) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = n;
	}
	return l;
}

/* The request timeout, cut to what a running flush has left. */
static long request_timeout_ms(struct transport *t)
{
	uint64_t timeout = t->timeout_ms, now;

	pthread_mutex_lock(&t->lock);
	now = mono_ns();
	if (t->flushing) {
		uint64_t left = t->flush_deadline_ns > now ? t->flush_deadline_ns - now : 0;

		if (left / NS_PER_MS < timeout)
			timeout = left / NS_PER_MS + 1;
	}
	pthread_mutex_unlock(&t->lock);
	return (long)timeout;
}

/*
 * POST @b once. @reason gets why it failed, @retry_after_ns the
 * receiver's Retry-After (0 if none).
 */
static enum post_result post(struct transport *t, const struct transport_batch *b, const char *url,
			     const char *ctype, char *reason, size_t rlen, uint64_t *retry_after_ns)
{
	struct curl_slist *hdrs = request_headers(t, ctype);
	curl_off_t ra = 0;
	long status = 0, oserr = 0;
	CURLcode rc;

	*retry_after_ns = 0;
	if (!hdrs) {
		snprintf(reason, rlen, "%s", strerror(ENOMEM));
		return POST_RETRY;
	}
	t->errbuf[0] = '\0';
	t->reply_len = 0;
	t->reply_cut = false;
	curl_easy_setopt(t->curl, CURLOPT_URL, url);
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, b->body);
	curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
	curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, request_timeout_ms(t));
	rc = perform(t);
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return POST_STOPPED;
	/* A reply cut short still has its status: judge by that. */
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t->reply_cut)) {
		curl_easy_getinfo(t->curl, CURLINFO_OS_ERRNO, &oserr);
		if (oserr && rc != CURLE_OPERATION_TIMEDOUT)
			snprintf(reason, rlen, "%s", strerror(oserr));
		else
			snprintf(reason, rlen, "%s",
				 t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
		if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
			return POST_FATAL;
		return POST_RETRY;
	}
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return POST_OK;
	snprintf(reason, rlen, "HTTP %ld", status);
	if (status == 429 || status == 502 || status == 503 || status == 504) {
		/* curl parses both forms: delay-seconds and an HTTP date. */
		if (curl_easy_getinfo(t->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			*retry_after_ns = (uint64_t)ra * NS_PER_S;
		return POST_RETRY;
	}
	return POST_FATAL;
}

static uint64_t rand64(struct transport *t)
{
	/* xorshift64: jitter needs spread, not quality. */
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

/* Under lock: the deadline of a running flush, or 0. */
static uint64_t flush_deadline_locked(struct transport *t)
{
	return t->flushing ? t->flush_deadline_ns : 0;
}

static void count_outcome(struct transport *t, struct channel *c, size_t items,
			  enum transport_outcome out)
{
	pthread_mutex_lock(&t->lock);
	if (out == TRANSPORT_SENT)
		c->st.items_sent += items;
	else if (out == TRANSPORT_REJECTED)
		c->st.items_rejected += items;
	else if (out == TRANSPORT_GIVEN_UP)
		c->st.items_given_up += items;
	pthread_mutex_unlock(&t->lock);
}

/*
 * Send @b until it is accepted, rejected, given up, or the transport
 * stops; the outcome is counted here (a stopped one is not: its owner
 * counts it).
 */
static enum transport_outcome export_batch(struct transport *t, struct channel *c,
					   const struct transport_batch *b)
{
	const char *url = b->url ? b->url : c->url;
	const char *ctype = b->content_type ? b->content_type : c->ctype;
	uint64_t first = mono_ns(), backoff = (uint64_t)t->backoff_ms * NS_PER_MS;
	uint64_t backoff_max = (uint64_t)t->backoff_max_ms * NS_PER_MS;
	char reason[CURL_ERROR_SIZE + 64];
	enum transport_outcome out;

	for (;;) {
		uint64_t retry_after, delay, now, gen, until, deadline;
		enum post_result pr = post(t, b, url, ctype, reason, sizeof(reason), &retry_after);
		bool stop;

		if (pr == POST_STOPPED)
			return TRANSPORT_STOPPED;
		pthread_mutex_lock(&t->lock);
		if (pr == POST_OK) {
			c->st.requests_sent++;
			c->st.bytes_sent += b->len;
		} else {
			c->st.requests_failed++;
		}
		pthread_mutex_unlock(&t->lock);
		if (pr == POST_OK) {
			if (c->lg.failing)
				log_info("%s: exporting to %s again", t->name, url);
			c->lg.failing = false;
			out = TRANSPORT_SENT;
			break;
		}
		if (pr == POST_FATAL) {
			out = TRANSPORT_REJECTED;
			count_outcome(t, c, b->items, out);
			log_failure(t, c, url, b->items, reason, "dropped");
			return out;
		}
		now = mono_ns();
		/* Full jitter on the upper half: spread retries of many exporters. */
		delay = backoff / 2 + rand64(t) % (backoff / 2 + 1);
		backoff = backoff * 2 > backoff_max ? backoff_max : backoff * 2;
		if (retry_after) {
			/* The receiver's word holds for the whole channel. */
			c->not_before_ns = now + retry_after;
			if (delay < retry_after)
				delay = retry_after;
		}
		pthread_mutex_lock(&t->lock);
		deadline = flush_deadline_locked(t);
		pthread_mutex_unlock(&t->lock);
		if (now + delay - first > (uint64_t)t->retry_max_ms * NS_PER_MS ||
		    (retry_after && deadline && now + delay > deadline)) {
			out = TRANSPORT_GIVEN_UP;
			count_outcome(t, c, b->items, out);
			if (retry_after && deadline && now + delay > deadline) {
				size_t n = strlen(reason);

				snprintf(reason + n, sizeof(reason) - n,
					 ", Retry-After %" PRIu64 " s ends past the flush deadline",
					 retry_after / NS_PER_S);
			}
			log_failure(t, c, url, b->items, reason, "gave up after retrying");
			return out;
		}
		log_failure(t, c, url, b->items, reason, "retrying");
		report_refused(t, c);

		/*
		 * Sleep; a flush that starts meanwhile asks for one attempt
		 * right away, unless the receiver said when to come back.
		 */
		until = now + delay;
		pthread_mutex_lock(&t->lock);
		gen = t->flush_gen;
		while (!t->stop && (retry_after || t->flush_gen == gen) && mono_ns() < until)
			wait_until(&t->wake, &t->lock, until);
		stop = t->stop;
		pthread_mutex_unlock(&t->lock);
		if (stop)
			return TRANSPORT_STOPPED;
	}
	count_outcome(t, c, b->items, out);
	return out;
}

/* ---- the sender --------------------------------------------------------- */

static bool channel_empty(struct transport *t, struct channel *c)
{
	bool empty;

	pthread_mutex_lock(&t->lock);
	empty = !c->n;
	pthread_mutex_unlock(&t->lock);
	return empty && (!c->src || !c->src->pending(c->src->ctx));
}

/*
 * The receiver asked for a pause that ends after the flush deadline:
 * give up what the channel holds now rather than wait for nothing.
 */
static void give_up_paused(struct transport *t, struct channel *c, uint64_t now)
{
	struct transport_batch b;
	size_t items = 0;
	char reason[128];

	pthread_mutex_lock(&t->lock);
	while (c->n) {
		struct treq r = c->q[c->first];

		c->first = (c->first + 1) % c->cap;
		c->n--;
		c->st.items_given_up += r.items;
		items += r.items;
		treq_free(&r);
	}
	pthread_mutex_unlock(&t->lock);
	while (c->src && c->src->take(c->src->ctx, true, &b) == 1) {
		items += b.items;
		count_outcome(t, c, b.items, TRANSPORT_GIVEN_UP);
		c->src->done(c->src->ctx, &b, TRANSPORT_GIVEN_UP);
	}
	if (!items)
		return;
	snprintf(reason, sizeof(reason),
		 "the receiver asked to wait %" PRIu64 " s more (Retry-After), past the flush "
		 "deadline",
		 (c->not_before_ns - now + NS_PER_S - 1) / NS_PER_S);
	c->lg.logged = false; /* the last word on this data is always said */
	log_failure(t, c, c->url, items, reason, "gave up");
}

/* One request of channel @c if it has one and may send. True if it did work. */
static bool serve_channel(struct transport *t, struct channel *c, bool due, uint64_t deadline)
{
	struct transport_batch b;
	enum transport_outcome out;
	uint64_t now = mono_ns();

	if (c->not_before_ns > now) {
		if (deadline && c->not_before_ns > deadline && !channel_empty(t, c)) {
			give_up_paused(t, c, now);
			return true;
		}
		return false;
	}
	pthread_mutex_lock(&t->lock);
	if (c->n) {
		struct treq r = c->q[c->first];

		c->first = (c->first + 1) % c->cap;
		c->n--;
		t->busy = true;
		pthread_mutex_unlock(&t->lock);
		b = (struct transport_batch){r.body, r.len, r.items, r.url, r.ctype};
		out = export_batch(t, c, &b);
		/* Taken from the queue, so never "stopped": it is lost now. */
		if (out == TRANSPORT_STOPPED)
			count_outcome(t, c, r.items, TRANSPORT_GIVEN_UP);
		treq_free(&r);
		pthread_mutex_lock(&t->lock);
		t->busy = false;
		pthread_mutex_unlock(&t->lock);
		return true;
	}
	pthread_mutex_unlock(&t->lock);
	if (!c->src || c->src->take(c->src->ctx, due, &b) != 1)
		return false;
	out = export_batch(t, c, &b);
	c->src->done(c->src->ctx, &b, out);
	return true;
}

/* Under lock: when the sender must look again without being woken. */
static uint64_t next_wake_locked(struct transport *t, uint64_t tick)
{
	uint64_t at = tick;

	for (unsigned int i = 0; i < t->nch; i++)
		if (t->ch[i].not_before_ns > mono_ns() && t->ch[i].not_before_ns < at)
			at = t->ch[i].not_before_ns;
	return at;
}

static void *sender_main(void *arg)
{
	struct transport *t = arg;
	uint64_t tick_ns = (uint64_t)t->tick_ms * NS_PER_MS, tick = mono_ns() + tick_ns;
	bool due = false;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		uint64_t gen = t->flush_gen, deadline = flush_deadline_locked(t), now;
		bool worked = false, empty = true;

		t->kicked = false;
		pthread_mutex_unlock(&t->lock);
		now = mono_ns();
		if (now >= tick) {
			due = true;
			tick = now + tick_ns;
		}
		for (unsigned int i = 0; i < t->nch; i++) {
			report_refused(t, &t->ch[i]);
			if (serve_channel(t, &t->ch[i], due || deadline, deadline))
				worked = true;
		}
		if (!worked) {
			due = false; /* every partial batch of this tick went */
			for (unsigned int i = 0; i < t->nch && empty; i++)
				empty = channel_empty(t, &t->ch[i]);
		}
		pthread_mutex_lock(&t->lock);
		if (worked)
			continue;
		if (empty) {
			t->idle_gen = gen;
			pthread_cond_broadcast(&t->idle);
		}
		if (t->stop || t->kicked || t->flush_gen != gen)
			continue;
		wait_until(&t->wake, &t->lock, next_wake_locked(t, tick));
	}
	pthread_cond_broadcast(&t->idle);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* ---- the API ------------------------------------------------------------ */

int transport__send(struct transport *t, unsigned int ch, struct transport_req *r)
{
	struct treq q = {r->body, r->len, r->items, r->url, r->content_type}, old = {0};
	struct channel *c;

	if (ch >= t->nch) {
		treq_free(&q);
		return -EINVAL;
	}
	c = &t->ch[ch];
	pthread_mutex_lock(&t->lock);
	c->st.items_queued_in += q.items;
	if (c->n == c->cap) {
		old = c->q[c->first];
		c->first = (c->first + 1) % c->cap;
		c->n--;
		c->st.items_displaced += old.items;
	}
	c->q[(c->first + c->n) % c->cap] = q;
	c->n++;
	t->kicked = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	treq_free(&old);
	return 0;
}

void transport__kick(struct transport *t)
{
	pthread_mutex_lock(&t->lock);
	t->kicked = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
}

/* Under lock, which it drops and takes again: nothing queued or in flight. */
static bool quiet_locked(struct transport *t)
{
	bool quiet = !t->busy;

	for (unsigned int i = 0; i < t->nch && quiet; i++)
		quiet = !t->ch[i].n;
	pthread_mutex_unlock(&t->lock);
	for (unsigned int i = 0; i < t->nch && quiet; i++)
		quiet = !t->ch[i].src || !t->ch[i].src->pending(t->ch[i].src->ctx);
	pthread_mutex_lock(&t->lock);
	return quiet;
}

int transport__flush(struct transport *t, int timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * NS_PER_MS;
	uint64_t gen;
	int ret = -ETIMEDOUT;

	pthread_mutex_lock(&t->lock);
	t->flushing++;
	gen = ++t->flush_gen;
	/* Several flushes at once: the latest deadline holds for the sender. */
	if (t->flushing == 1 || deadline > t->flush_deadline_ns)
		t->flush_deadline_ns = deadline;
	pthread_cond_broadcast(&t->wake);
	for (;;) {
		uint64_t now = mono_ns(), until = deadline;

		if (t->idle_gen >= gen) {
			ret = 0;
			break;
		}
		if (now >= deadline || t->stop) {
			if (quiet_locked(t))
				ret = 0;
			break;
		}
		if (t->cancel) {
			bool cancel;

			pthread_mutex_unlock(&t->lock);
			cancel = t->cancel(t->cancel_ctx);
			pthread_mutex_lock(&t->lock);
			if (cancel) {
				ret = -ECANCELED;
				break;
			}
			if (until > now + CANCEL_POLL_MS * NS_PER_MS)
				until = now + CANCEL_POLL_MS * NS_PER_MS;
		}
		wait_until(&t->idle, &t->lock, until);
	}
	t->flushing--;
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void transport__stats(struct transport *t, unsigned int ch, struct transport_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!t || ch >= t->nch)
		return;
	pthread_mutex_lock(&t->lock);
	*out = t->ch[ch].st;
	out->requests_queued = t->ch[ch].n;
	pthread_mutex_unlock(&t->lock);
}

const char *transport__url(const struct transport *t, unsigned int ch)
{
	return ch < t->nch ? t->ch[ch].url : NULL;
}

/* ---- lifetime ----------------------------------------------------------- */

static int setup_curl(struct transport *t)
{
	CURL *c;

	t->curl = c = curl_easy_init();
	t->multi = curl_multi_init();
	if (!c || !t->multi)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, t->user_agent);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)t->timeout_ms);
	if (t->cainfo)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->cainfo);
	return 0;
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

static int copy_channels(struct transport *t, const struct transport_opts *o)
{
	bool nomem = false;

	t->ch = calloc(o->nchannels ? o->nchannels : 1, sizeof(*t->ch));
	if (!t->ch)
		return -ENOMEM;
	t->nch = o->nchannels;
	for (unsigned int i = 0; i < o->nchannels; i++) {
		const struct transport_channel_opts *co = &o->channels[i];
		struct channel *c = &t->ch[i];

		if (!co->url || (co->source && (!co->source->take || !co->source->done ||
						!co->source->pending))) {
			log_err("%s: failed to set up channel %u: no URL or an incomplete source",
				t->name, i);
			return -EINVAL;
		}
		c->what = dup_or_null(co->what ? co->what : "requests", &nomem);
		c->url = dup_or_null(co->url, &nomem);
		c->ctype =
			dup_or_null(co->content_type ? co->content_type : DEF_CONTENT_TYPE, &nomem);
		c->limit = dup_or_null(co->source_limit, &nomem);
		c->src = co->source;
		c->cap = or_default(co->max_requests, DEF_MAX_REQUESTS);
		c->q = calloc(c->cap, sizeof(*c->q));
		if (!c->q)
			nomem = true;
	}
	return nomem ? -ENOMEM : 0;
}

/* A header line must be "Name: value" and not smuggle in another line. */
static bool header_ok(const char *h)
{
	const char *colon = strchr(h, ':');

	return colon && colon != h && !strpbrk(h, "\r\n") &&
	       strcspn(h, " \t") > (size_t)(colon - h);
}

static int copy_headers(struct transport *t, const char *const *headers)
{
	size_t n = 0;

	while (headers && headers[n])
		n++;
	t->headers = calloc(n + 1, sizeof(*t->headers));
	if (!t->headers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!header_ok(headers[i])) {
			log_err("%s: failed to use header \"%s\": not \"Name: value\" on one line",
				t->name, headers[i]);
			return -EINVAL;
		}
		t->headers[i] = strdup(headers[i]);
		if (!t->headers[i])
			return -ENOMEM;
		t->nheaders++;
	}
	return 0;
}

int transport__new(const struct transport_opts *o, struct transport **out)
{
	pthread_condattr_t ca;
	struct transport *t;
	bool nomem = false;
	int err;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(t);
		log_err("%s: failed to initialize libcurl: %s", o->name ? o->name : "transport",
			strerror(ENOMEM));
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->wake, &ca);
	pthread_cond_init(&t->idle, &ca);
	pthread_condattr_destroy(&ca);

	t->name = dup_or_null(o->name ? o->name : "transport", &nomem);
	t->user_agent = dup_or_null(o->user_agent ? o->user_agent : "sonde/" SONDE_VERSION, &nomem);
	t->cainfo = dup_or_null(o->cainfo, &nomem);
	t->timeout_ms = or_default(o->timeout_ms, DEF_TIMEOUT_MS);
	t->backoff_ms = or_default(o->backoff_ms, DEF_BACKOFF_MS);
	t->backoff_max_ms = or_default(o->backoff_max_ms, DEF_BACKOFF_MAX_MS);
	t->retry_max_ms = or_default(o->retry_max_ms, DEF_RETRY_MAX_MS);
	t->log_interval_ms = or_default(o->log_interval_ms, DEF_LOG_INTERVAL_MS);
	t->tick_ms = or_default(o->tick_ms, DEF_TICK_MS);
	t->max_reply = o->max_reply ? o->max_reply : DEF_MAX_REPLY;
	t->cancel = o->cancel;
	t->cancel_ctx = o->cancel_ctx;
	t->rng = (mono_ns() ^ ((uint64_t)getpid() << 32)) | 1;
	if (nomem) {
		err = -ENOMEM;
		goto err_log;
	}
	err = copy_headers(t, o->headers);
	if (!err)
		err = copy_channels(t, o);
	if (!err)
		err = setup_curl(t);
	if (err == -ENOMEM)
		goto err_log;
	if (err)
		goto err_free;
	err = -pthread_create(&t->thread, NULL, sender_main, t);
	if (err) {
		log_err("%s: failed to start sender thread: %s", t->name, strerror(-err));
		goto err_free;
	}
	t->thread_started = true;
	*out = t;
	return 0;

err_log:
	log_err("%s: failed to create the sender: %s", t->name ? t->name : "transport",
		strerror(-err));
err_free:
	transport__free(t);
	return err;
}

void transport__stop(struct transport *t)
{
	if (!t || !t->thread_started || t->stopped)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_broadcast(&t->wake);
	pthread_mutex_unlock(&t->lock);
	curl_multi_wakeup(t->multi);
	pthread_join(t->thread, NULL);
	t->stopped = true;
}

void transport__free(struct transport *t)
{
	if (!t)
		return;
	transport__stop(t);
	for (unsigned int i = 0; t->ch && i < t->nch; i++) {
		struct channel *c = &t->ch[i];
		size_t items = 0;

		for (unsigned int k = 0; c->q && k < c->n; k++) {
			struct treq *r = &c->q[(c->first + k) % c->cap];

			items += r->items;
			treq_free(r);
		}
		c->st.items_given_up += items;
		if (items)
			log_warn("%s: failed to export %zu %s to %s: exporter stopped with them "
				 "queued (%" PRIu64 " dropped in all)",
				 t->name, items, c->what, c->url,
				 dropped_locked(c) + refused_of(c));
		free(c->q);
		free(c->what);
		free(c->url);
		free(c->ctype);
		free(c->limit);
	}
	free(t->ch);
	if (t->multi)
		curl_multi_cleanup(t->multi);
	if (t->curl)
		curl_easy_cleanup(t->curl);
	curl_global_cleanup();
	for (size_t i = 0; t->headers && i < t->nheaders; i++)
		free(t->headers[i]);
	free(t->headers);
	free(t->name);
	free(t->user_agent);
	free(t->cainfo);
	pthread_cond_destroy(&t->wake);
	pthread_cond_destroy(&t->idle);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
