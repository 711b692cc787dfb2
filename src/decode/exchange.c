// SPDX-License-Identifier: MIT
/*
 * One request/response exchange, whatever the protocol: headers decide
 * whether it is an LLM API call (provider.c) and how its bodies are read
 * (body.c); JSON values go to the API's extractor; at the end the record
 * is completed and handed to the decoder's callback.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode/conn.h"

static bool name_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && !strncasecmp(name, want, nlen);
}

static void set_hdr(char *dst, const char *v, size_t n)
{
	llm_strcpy(dst, EXCH_HDR_MAX, v, n);
}

struct exch *exch_new(struct conn *c, uint32_t stream)
{
	struct exch *x = dmem_calloc(&c->mem, 1, sizeof(*x));

	if (!x)
		return NULL;
	x->conn = c;
	x->stream = stream;
	llm_call_init(&x->call);
	x->call.pid = c->pid;
	x->call.tid = c->d->tid;
	x->call.conn_id = c->id;
	x->call.stream_id = stream;
	x->call.http_version = stream ? 20 : 11;
	x->call.start_ns = c->d->now;
	x->call.end_ns = c->d->now;
	c->nexch++;
	return x;
}

void exch_free(struct exch *x)
{
	struct conn *c;

	if (!x)
		return;
	c = x->conn;
	if (x->req_body_on)
		body_free(&x->req);
	if (x->resp_body_on)
		body_free(&x->resp);
	if (x->capture) {
		content_free(&x->in);
		content_free(&x->out);
	}
	llm_call_clear(&x->call);
	explicit_bzero(x->path, sizeof(x->path));
	dmem_free(&c->mem, x);
	c->nexch--;
}

static void touch(struct exch *x)
{
	x->call.end_ns = x->conn->d->now;
}

/* "host", "host:port", "[v6]:port", "[v6]" into server.address and port. */
static void set_authority(struct llm_call *c, const char *v, size_t n)
{
	const char *colon = NULL;
	size_t hl = n;
	unsigned long port = 0;

	if (n && v[0] == '[') {
		const char *rb = memchr(v, ']', n);

		if (!rb)
			return;
		llm_strcpy(c->server_address, sizeof(c->server_address), v + 1,
			   (size_t)(rb - v - 1));
		if ((size_t)(rb - v) + 1 < n && rb[1] == ':')
			colon = rb + 1;
	} else {
		colon = memrchr(v, ':', n);
		if (colon)
			hl = (size_t)(colon - v);
		llm_strcpy(c->server_address, sizeof(c->server_address), v, hl);
	}
	if (!colon)
		return;
	for (const char *p = colon + 1; p < v + n; p++) {
		if (*p < '0' || *p > '9' || port > 65535)
			return;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port <= 65535)
		c->server_port = (uint16_t)port;
}

void exch_request_line(struct exch *x, const char *method, size_t mlen, const char *target,
		       size_t tlen)
{
	llm_strcpy(x->method, sizeof(x->method), method, mlen);
	x->pathlen = tlen < sizeof(x->path) ? tlen : sizeof(x->path) - 1;
	memcpy(x->path, target, x->pathlen);
	x->path[x->pathlen] = '\0';
}

void exch_request_header(struct exch *x, const char *name, size_t nlen, const char *value,
			 size_t vlen)
{
	touch(x);
	if (nlen && name[0] == ':') {
		if (name_is(name, nlen, ":method"))
			llm_strcpy(x->method, sizeof(x->method), value, vlen);
		else if (name_is(name, nlen, ":path"))
			exch_request_line(x, x->method, strlen(x->method), value, vlen);
		else if (name_is(name, nlen, ":authority"))
			set_authority(&x->call, value, vlen);
		else if (name_is(name, nlen, ":scheme") && !x->call.server_port)
			x->call.server_port = name_is(value, vlen, "https") ? 443 : 80;
		return;
	}
	if (name_is(name, nlen, "host")) {
		if (!x->call.server_address[0])
			set_authority(&x->call, value, vlen);
	} else if (name_is(name, nlen, "content-type")) {
		set_hdr(x->req_ctype, value, vlen);
	} else if (name_is(name, nlen, "content-encoding")) {
		set_hdr(x->req_cenc, value, vlen);
	} else if (name_is(name, nlen, "anthropic-version")) {
		x->anthropic_version = true;
	}
}

static void req_value(void *ctx, const struct json_path *p, const struct json_value *v)
{
	struct exch *x = ctx;

	extract_request(&x->ex, p, v);
}

static const struct jsonx_ops req_ops = {
	.value = req_value,
};

/* One streamed chunk (an SSE event, an NDJSON line, an array element) ended. */
static void chunk(struct exch *x)
{
	uint64_t now = x->conn->d->now;

	if (!x->call.chunks++)
		x->call.first_chunk_ns = now;
	else
		llm_call_add_chunk_gap(&x->call,
				       now > x->last_chunk_ns ? now - x->last_chunk_ns : 0);
	x->last_chunk_ns = now;
}

static void resp_value(void *ctx, const struct json_path *p, const struct json_value *v)
{
	struct exch *x = ctx;

	extract_response(&x->ex, p, v);
	if (x->ex.skip && p->depth == 1 && v->type == JSON_OBJECT_END)
		chunk(x);
}

static void resp_doc_end(void *ctx)
{
	struct exch *x = ctx;

	extract_doc_end(&x->ex);
	if (x->resp.framing != BODY_JSON)
		chunk(x);
}

static const struct jsonx_ops resp_ops = {
	.value = resp_value,
	.doc_end = resp_doc_end,
};

static size_t max_string(const struct exch *x)
{
	const struct llm_decoder_opts *o = &x->conn->d->opts;

	return x->capture ? o->max_message_bytes : EXCH_FIELD_MAX;
}

void exch_request_headers_end(struct exch *x)
{
	struct llm_decoder *d = x->conn->d;
	struct llm_call *c = &x->call;

	touch(x);
	x->req_headers_done = true;
	x->head = !strcmp(x->method, "HEAD");
	if (x->routed)
		return;
	x->routed = true;
	x->llm = llm_route(x->method, x->path, x->pathlen, c->server_address, x->anthropic_version,
			   &x->route);
	explicit_bzero(x->path, sizeof(x->path));
	if (!x->llm)
		return;
	c->api = x->route.api;
	c->provider = x->route.provider;
	c->operation = x->route.operation;
	c->stream = x->route.stream || x->route.stream_default;
	llm_strcpy(c->request_model, sizeof(c->request_model), x->route.model,
		   strlen(x->route.model));
	if (d->opts.capture_content) {
		x->capture = true;
		content_init(&x->in, &x->conn->mem, d->redactor, d->opts.max_message_bytes,
			     d->opts.max_content_bytes);
		content_init(&x->out, &x->conn->mem, d->redactor, d->opts.max_message_bytes,
			     d->opts.max_content_bytes);
	}
	extract_init(&x->ex, c, c->api, x->capture ? &x->in : NULL, x->capture ? &x->out : NULL);
	if (body_init(&x->req, &x->conn->mem, x->req_ctype, x->req_cenc, &req_ops, x,
		      max_string(x)) == 0)
		x->req_body_on = true;
	else
		c->unparsed |= LLM_UNPARSED_LIMIT;
}

void exch_request_body(struct exch *x, const char *buf, size_t len)
{
	touch(x);
	x->call.request_bytes += len;
	if (x->req_body_on && !x->req_done)
		body_feed(&x->req, buf, len);
}

void exch_gap_count(struct exch *x, uint64_t n)
{
	touch(x);
	x->call.gap_bytes += n;
	x->call.unparsed |= LLM_UNPARSED_GAP;
}

void exch_request_gap(struct exch *x, uint64_t n)
{
	x->call.request_bytes += n;
	if (x->req_body_on)
		body_gap(&x->req, n);
}

/* A body's reasons into the call's; JSON trouble names the side. */
static void take_body(struct exch *x, struct body *b, bool request)
{
	struct llm_call *c = &x->call;
	uint32_t u = b->unparsed;

	if (request && (u & LLM_UNPARSED_RESPONSE_JSON)) {
		u &= ~LLM_UNPARSED_RESPONSE_JSON;
		u |= LLM_UNPARSED_REQUEST_JSON;
	}
	c->unparsed |= u;
	if ((u & LLM_UNPARSED_ENCODING) && !c->content_encoding[0])
		llm_strcpy(c->content_encoding, sizeof(c->content_encoding), b->coding_name,
			   strlen(b->coding_name));
	if (b->json)
		x->conn->d->st.strings_truncated += jsonx__truncated(b->json);
}

void exch_request_end(struct exch *x, bool complete)
{
	touch(x);
	if (x->req_done)
		return;
	x->req_done = true;
	if (!complete)
		x->call.unparsed |= LLM_UNPARSED_TRUNCATED;
	if (!x->req_body_on)
		return;
	body_finish(&x->req, complete);
	if (x->capture)
		content_end_all(&x->in);
	take_body(x, &x->req, true);
	/* The request is read: its parser state goes now, not at the response's end. */
	body_free(&x->req);
	x->req_body_on = false;
}

void exch_response_status(struct exch *x, unsigned int status)
{
	touch(x);
	x->call.http_status = (uint16_t)status;
}

void exch_response_header(struct exch *x, const char *name, size_t nlen, const char *value,
			  size_t vlen)
{
	touch(x);
	if (name_is(name, nlen, ":status")) {
		unsigned int s = 0;

		for (size_t i = 0; i < vlen && i < 3 && value[i] >= '0' && value[i] <= '9'; i++)
			s = s * 10 + (unsigned int)(value[i] - '0');
		exch_response_status(x, s);
	} else if (name_is(name, nlen, "content-type")) {
		set_hdr(x->resp_ctype, value, vlen);
	} else if (name_is(name, nlen, "content-encoding")) {
		set_hdr(x->resp_cenc, value, vlen);
	}
}

void exch_response_headers_end(struct exch *x, bool interim)
{
	struct llm_call *c = &x->call;

	touch(x);
	if (interim) {
		x->resp_ctype[0] = x->resp_cenc[0] = '\0';
		return;
	}
	if (x->resp_headers_done)
		return; /* trailers */
	x->resp_headers_done = true;
	if (!x->llm)
		return;
	if (body_init(&x->resp, &x->conn->mem, x->resp_ctype, x->resp_cenc, &resp_ops, x,
		      max_string(x))) {
		c->unparsed |= LLM_UNPARSED_LIMIT;
		return;
	}
	x->resp_body_on = true;
	if (x->resp.framing != BODY_JSON) {
		c->stream = true;
		x->ex.stream_seen = true;
	}
}

void exch_response_body(struct exch *x, const char *buf, size_t len)
{
	touch(x);
	x->call.response_bytes += len;
	if (x->resp_body_on)
		body_feed(&x->resp, buf, len);
}

void exch_response_gap(struct exch *x, uint64_t n)
{
	x->call.response_bytes += n;
	if (x->resp_body_on)
		body_gap(&x->resp, n);
}

void exch_finish(struct exch *x, uint32_t unparsed)
{
	struct llm_decoder *d = x->conn->d;
	struct llm_call *c = &x->call;

	c->unparsed |= unparsed;
	if (!x->llm) {
		if (x->routed)
			d->st.http_other++;
		exch_free(x);
		return;
	}
	if (x->req_body_on) {
		body_finish(&x->req, false);
		take_body(x, &x->req, true);
	}
	if (x->resp_body_on) {
		body_finish(&x->resp, !unparsed);
		take_body(x, &x->resp, false);
	}
	extract_finish(&x->ex);
	if (x->capture) {
		c->input_messages = content_take(&x->in);
		c->output_messages = content_take(&x->out);
		c->content_truncated = x->in.truncated + x->out.truncated;
		c->redactions = x->in.redactions + x->out.redactions;
		d->st.content_truncated += c->content_truncated;
		d->st.redactions += c->redactions;
	}
	d->st.calls++;
	if (c->unparsed)
		d->st.calls_incomplete++;
	if (d->cb)
		d->cb(c, d->cb_ctx);
	exch_free(x);
}
