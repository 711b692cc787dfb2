// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 connections: requests are queued as they are written
 * (pipelining and keep-alive), each response answers the oldest one
 * still waiting.
 */
#include "base/log.h"
#include "decode/conn.h"

static void queue_push(struct conn *c, struct exch *x)
{
	x->next = NULL;
	if (c->tail)
		c->tail->next = x;
	else
		c->queue = x;
	c->tail = x;
}

static struct exch *queue_pop(struct conn *c)
{
	struct exch *x = c->queue;

	if (!x)
		return NULL;
	c->queue = x->next;
	if (!c->queue)
		c->tail = NULL;
	x->next = NULL;
	return x;
}

static unsigned int queue_len(const struct conn *c)
{
	unsigned int n = 0;

	for (const struct exch *x = c->queue; x; x = x->next)
		n++;
	return n;
}

/* Requests. */

static void req_line(void *ctx, const char *method, size_t mlen, const char *target, size_t tlen)
{
	struct conn *c = ctx;
	struct exch *x;

	c->req_cur = NULL;
	if (queue_len(c) >= c->d->opts.max_exchanges) {
		c->d->st.exchanges_dropped++;
		return;
	}
	x = exch_new(c, 0);
	if (!x) {
		c->d->st.exchanges_dropped++;
		return;
	}
	exch_request_line(x, method, mlen, target, tlen);
	queue_push(c, x);
	c->req_cur = x;
}

static void req_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct conn *c = ctx;

	if (c->req_cur)
		exch_request_header(c->req_cur, name, nlen, value, vlen);
}

static bool req_headers_end(void *ctx)
{
	struct conn *c = ctx;

	if (c->req_cur)
		exch_request_headers_end(c->req_cur);
	return true;
}

static void req_body(void *ctx, const char *buf, size_t len)
{
	struct conn *c = ctx;

	if (c->req_cur)
		exch_request_body(c->req_cur, buf, len);
}

static void req_body_gap(void *ctx, uint64_t n)
{
	struct conn *c = ctx;

	if (c->req_cur)
		exch_request_gap(c->req_cur, n);
}

static void req_end(void *ctx, bool complete, bool interim)
{
	struct conn *c = ctx;

	if (c->req_cur)
		exch_request_end(c->req_cur, complete);
	c->req_cur = NULL;
}

static const struct http1_ops req_ops = {
	.request_line = req_line,
	.header = req_header,
	.headers_end = req_headers_end,
	.body = req_body,
	.body_gap = req_body_gap,
	.message_end = req_end,
};

/* Responses. */

static void resp_status(void *ctx, unsigned int status)
{
	struct conn *c = ctx;

	c->resp_cur = c->queue;
	c->resp_orphan = !c->resp_cur;
	if (c->resp_cur)
		exch_response_status(c->resp_cur, status);
	else
		c->d->st.exchanges_dropped++;
}

static void resp_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct conn *c = ctx;

	if (c->resp_cur)
		exch_response_header(c->resp_cur, name, nlen, value, vlen);
}

static bool resp_headers_end(void *ctx)
{
	struct conn *c = ctx;
	struct exch *x = c->resp_cur;

	if (!x)
		return true;
	exch_response_headers_end(x, x->call.http_status < 200 && x->call.http_status != 101);
	return !x->head;
}

static void resp_body(void *ctx, const char *buf, size_t len)
{
	struct conn *c = ctx;

	if (c->resp_cur)
		exch_response_body(c->resp_cur, buf, len);
}

static void resp_body_gap(void *ctx, uint64_t n)
{
	struct conn *c = ctx;

	if (c->resp_cur)
		exch_response_gap(c->resp_cur, n);
}

static void resp_end(void *ctx, bool complete, bool interim)
{
	struct conn *c = ctx;
	struct exch *x = c->resp_cur;

	if (interim)
		return;
	c->resp_cur = NULL;
	if (!x) {
		/* The start of a response was lost: the oldest request loses its answer. */
		if (!complete && !c->resp_orphan && c->queue) {
			x = c->queue;
		} else {
			c->resp_orphan = false;
			return;
		}
	}
	if (x != queue_pop(c))
		return; /* cannot happen: resp_cur is always the head */
	if (x == c->req_cur)
		c->req_cur = NULL;
	exch_finish(x, complete ? 0 : LLM_UNPARSED_TRUNCATED);
}

static const struct http1_ops resp_ops = {
	.status_line = resp_status,
	.header = resp_header,
	.headers_end = resp_headers_end,
	.body = resp_body,
	.body_gap = resp_body_gap,
	.message_end = resp_end,
};

int conn_h1_init(struct conn *c)
{
	http1_init(&c->req, HTTP1_REQUEST, &req_ops, c, &c->mem);
	http1_init(&c->resp, HTTP1_RESPONSE, &resp_ops, c, &c->mem);
	return 0;
}

void conn_h1_feed(struct conn *c, enum llm_dir dir, const char *buf, size_t len)
{
	http1_feed(dir == LLM_DIR_WRITE ? &c->req : &c->resp, buf, len);
}

/*
 * The gap is counted in the exchange it falls in, then the parser skips
 * it inside a body (body_gap callbacks) or loses the framing elsewhere.
 */
void conn_h1_gap(struct conn *c, enum llm_dir dir, uint64_t n)
{
	struct http1 *h = dir == LLM_DIR_WRITE ? &c->req : &c->resp;
	struct exch *x = dir == LLM_DIR_WRITE ? c->req_cur : c->resp_cur;
	if (!x && dir == LLM_DIR_READ && http1_idle(h))
		x = c->queue; /* the response's start is what went missing */
	if (x)
		exch_gap_count(x, n);
	http1_gap(h, n);
	if (http1_lost(h))
		log_debug("decode: connection %u/%#llx: %llu bytes lost outside a body, "
			  "waiting for the next message start",
			  c->pid, (unsigned long long)c->id, (unsigned long long)n);
}

void conn_h1_close(struct conn *c)
{
	http1_close(&c->req);
	http1_close(&c->resp);
	while (c->queue) {
		struct exch *x = queue_pop(c);

		if (x == c->req_cur)
			c->req_cur = NULL;
		exch_finish(x, LLM_UNPARSED_TRUNCATED);
	}
	c->req_cur = c->resp_cur = NULL;
}

void conn_h1_free(struct conn *c)
{
	while (c->queue)
		exch_free(queue_pop(c));
	c->req_cur = c->resp_cur = NULL;
	http1_free(&c->req);
	http1_free(&c->resp);
}
