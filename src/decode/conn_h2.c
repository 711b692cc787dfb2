// SPDX-License-Identifier: MIT
/*
 * HTTP/2 connections: one exchange per client stream, opened by the
 * request's HEADERS, finished by END_STREAM on the response, RST_STREAM,
 * GOAWAY (streams above its last id), or the connection's end.
 */
#include "base/log.h"
#include "decode/conn.h"

static struct exch *find(struct conn *c, uint32_t stream)
{
	for (struct exch *x = c->streams; x; x = x->next)
		if (x->stream == stream)
			return x;
	return NULL;
}

static void unlink_stream(struct conn *c, struct exch *x)
{
	for (struct exch **pp = &c->streams; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			x->next = NULL;
			return;
		}
	}
}

static void finish(struct conn *c, struct exch *x, uint32_t unparsed)
{
	unlink_stream(c, x);
	exch_finish(x, unparsed);
}

/* The stream's exchange; a request's first HEADERS opens it. */
static struct exch *stream_of(struct conn *c, enum h2_side side, uint32_t stream, bool open)
{
	struct exch *x = find(c, stream);

	if (x || !open || side != H2_WRITE || !stream)
		return x;
	if (c->nexch >= c->d->opts.max_exchanges) {
		c->d->st.exchanges_dropped++;
		return NULL;
	}
	x = exch_new(c, stream);
	if (!x) {
		c->d->st.exchanges_dropped++;
		return NULL;
	}
	x->next = c->streams;
	c->streams = x;
	return x;
}

static void on_header(void *ctx, enum h2_side side, uint32_t stream, const char *name, size_t nlen,
		      const char *value, size_t vlen)
{
	struct conn *c = ctx;
	struct exch *x = stream_of(c, side, stream, true);

	if (!x)
		return;
	if (side == H2_WRITE) {
		if (!x->req_headers_done)
			exch_request_header(x, name, nlen, value, vlen);
	} else if (!x->resp_headers_done) {
		exch_response_header(x, name, nlen, value, vlen);
	}
}

static void on_headers_end(void *ctx, enum h2_side side, uint32_t stream, bool end_stream)
{
	struct conn *c = ctx;
	struct exch *x = find(c, stream);

	if (!x)
		return;
	if (side == H2_WRITE) {
		if (!x->req_headers_done)
			exch_request_headers_end(x);
		if (end_stream)
			exch_request_end(x, true);
		return;
	}
	if (!x->resp_headers_done) {
		bool interim = x->call.http_status >= 100 && x->call.http_status < 200;

		exch_response_headers_end(x, interim);
		if (interim)
			return;
	}
	if (end_stream)
		finish(c, x, 0);
}

static void on_data(void *ctx, enum h2_side side, uint32_t stream, const char *buf, size_t len)
{
	struct conn *c = ctx;
	struct exch *x = find(c, stream);

	if (!x)
		return;
	if (side == H2_WRITE)
		exch_request_body(x, buf, len);
	else
		exch_response_body(x, buf, len);
}

static void on_data_gap(void *ctx, enum h2_side side, uint32_t stream, uint64_t n)
{
	struct conn *c = ctx;
	struct exch *x = find(c, stream);

	if (!x)
		return;
	exch_gap_count(x, n);
	if (side == H2_WRITE)
		exch_request_gap(x, n);
	else
		exch_response_gap(x, n);
}

static void on_data_end(void *ctx, enum h2_side side, uint32_t stream)
{
	struct conn *c = ctx;
	struct exch *x = find(c, stream);

	if (!x)
		return;
	if (side == H2_WRITE)
		exch_request_end(x, true);
	else
		finish(c, x, 0);
}

static void on_rst_stream(void *ctx, enum h2_side side, uint32_t stream, uint32_t error)
{
	struct conn *c = ctx;
	struct exch *x = find(c, stream);

	if (x)
		finish(c, x, LLM_UNPARSED_RESET);
}

static void on_goaway(void *ctx, enum h2_side side, uint32_t last, uint32_t error)
{
	struct conn *c = ctx;
	struct exch *x, *next;

	/* The server will not answer streams above @last (it never saw them). */
	if (side != H2_READ)
		return;
	for (x = c->streams; x; x = next) {
		next = x->next;
		if (x->stream > last)
			finish(c, x, LLM_UNPARSED_RESET);
	}
}

static void on_lost(void *ctx)
{
	struct conn *c = ctx;

	c->d->st.protocol_errors++;
	log_debug("decode: connection %u/%#llx: HTTP/2 framing or HPACK state lost%s", c->pid,
		  (unsigned long long)c->id, c->lost_why ? " in a gap" : "");
	conn_h2_close(c, LLM_UNPARSED_PROTOCOL | c->lost_why);
}

static const struct h2_ops ops = {
	.header = on_header,
	.headers_end = on_headers_end,
	.data = on_data,
	.data_gap = on_data_gap,
	.data_end = on_data_end,
	.rst_stream = on_rst_stream,
	.goaway = on_goaway,
	.lost = on_lost,
};

int conn_h2_init(struct conn *c)
{
	return h2_init(&c->h2, &ops, c, &c->mem);
}

void conn_h2_feed(struct conn *c, enum llm_dir dir, const char *buf, size_t len)
{
	h2_feed(&c->h2, dir == LLM_DIR_WRITE ? H2_WRITE : H2_READ, buf, len);
}

void conn_h2_gap(struct conn *c, enum llm_dir dir, uint64_t n)
{
	/* Outside a DATA payload the gap loses the connection: say why. */
	c->lost_why = LLM_UNPARSED_GAP;
	h2_gap(&c->h2, dir == LLM_DIR_WRITE ? H2_WRITE : H2_READ, n);
	c->lost_why = 0;
}

void conn_h2_close(struct conn *c, uint32_t unparsed)
{
	while (c->streams)
		finish(c, c->streams, unparsed);
}

void conn_h2_free(struct conn *c)
{
	while (c->streams) {
		struct exch *x = c->streams;

		c->streams = x->next;
		exch_free(x);
	}
	h2_free(&c->h2);
}
