// SPDX-License-Identifier: MIT
/*
 * libFuzzer targets of src/decode/, one binary: FUZZ_TARGET picks the
 * parser (http1, h2, sse, json, redact, decoder). Each input is cut into
 * pieces at places the input itself chooses, so the fuzzer explores
 * splits too. Checks beyond "no crash, no leak" (ASan): a credential
 * header never reaches a callback, JSON paths stay within their bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/h2.h"
#include "decode/http1.h"
#include "decode/json.h"
#include "decode/redact.h"
#include "decode/sse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *target = "decoder";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("FUZZ_TARGET");

	if (t)
		target = t;
	return 0;
}

/* The next piece length: one byte of the input, or the rest. */
static size_t piece(const uint8_t **p, size_t *n)
{
	size_t k;

	if (!*n)
		return 0;
	k = (size_t)(**p % 64) + 1;
	(*p)++;
	(*n)--;
	return k < *n ? k : *n;
}

static void secret_check(const char *name, size_t nlen)
{
	if (http_header_is_secret(name, nlen))
		abort();
}

static void h1_header(void *ctx, const char *n, size_t nl, const char *v, size_t vl)
{
	secret_check(n, nl);
}

static bool h1_eoh(void *ctx)
{
	return true;
}

/* No key= parameter is left in the query. */
static void h1_req(void *ctx, const char *m, size_t ml, const char *t, size_t tl)
{
	const char *q = memchr(t, '?', tl);

	if (!q)
		return;
	tl -= (size_t)(q - t);
	if (memmem(q, tl, "?key=", 5) || memmem(q, tl, "&key=", 5))
		abort();
}

static const struct http1_ops h1_ops = {
	.request_line = h1_req, .header = h1_header, .headers_end = h1_eoh};

static void fuzz_http1(const uint8_t *p, size_t n)
{
	struct http1 h;

	if (!n)
		return;
	http1_init(&h, p[0] & 1 ? HTTP1_RESPONSE : HTTP1_REQUEST, &h1_ops, NULL, NULL);
	p++;
	n--;
	while (n) {
		size_t k = piece(&p, &n);

		if (k == 1 && n && p[0] == 0xff)
			http1_gap(&h, 7);
		else
			http1_feed(&h, (const char *)p, k);
		p += k;
		n -= k;
	}
	http1_close(&h);
	http1_free(&h);
}

static void h2_header(void *ctx, enum h2_side side, uint32_t stream, const char *n, size_t nl,
		      const char *v, size_t vl)
{
	secret_check(n, nl);
}

static const struct h2_ops h2_ops = {.header = h2_header};

static void fuzz_h2(const uint8_t *p, size_t n)
{
	struct dmem m = {0};
	struct h2 h;

	if (h2_init(&h, &h2_ops, NULL, &m))
		return;
	/* Without the preface the write side would give up at once. */
	h2_feed(&h, H2_WRITE, H2_PREFACE, H2_PREFACE_LEN);
	while (n) {
		enum h2_side side = p[0] & 0x80 ? H2_READ : H2_WRITE;
		size_t k = piece(&p, &n);

		h2_feed(&h, side, (const char *)p, k);
		p += k;
		n -= k;
	}
	h2_free(&h);
	if (m.used)
		abort();
}

static void sse_data(void *ctx, const char *b, size_t n)
{
}

static const struct sse_ops sse_ops = {.data = sse_data};

static void fuzz_sse(const uint8_t *p, size_t n)
{
	struct sse s;

	sse_init(&s, &sse_ops, NULL);
	while (n) {
		size_t k = piece(&p, &n);

		if (k == 2)
			sse_gap(&s);
		sse_feed(&s, (const char *)p, k);
		p += k;
		n -= k;
	}
	sse_finish(&s);
}

static void json_value(void *ctx, const struct json_path *p, const struct json_value *v)
{
	if (p->depth > JSON_DEPTH_MAX || (v->type == JSON_STRING && v->len > 64 + 8))
		abort();
	json_path_is(p, "choices[].delta.content");
	json_path_is_from(p, 1, "candidates[].finishReason");
}

static const struct jsonx_ops json_ops = {.value = json_value};

static void fuzz_json(const uint8_t *p, size_t n)
{
	struct dmem m = {0};
	struct jsonx *j = jsonx__new(&m, &json_ops, NULL, 64);

	if (!j)
		return;
	while (n) {
		size_t k = piece(&p, &n);

		if (jsonx__feed(j, p, k) && k == 3)
			jsonx__reset(j);
		p += k;
		n -= k;
	}
	jsonx__finish(j);
	jsonx__free(j);
	if (m.used)
		abort();
}

static void fuzz_redact(const uint8_t *p, size_t n)
{
	static struct redactor *r;
	static const char *const pats[] = {"EMP[0-9]{4,}", "(a|b)*c"};
	struct dbuf b = {0};

	if (!r)
		r = redactor__new(pats, 2);
	if (redactor__apply(r, (const char *)p, n, &b) >= 0 && b.len > n * 20 + 64)
		abort();
	dbuf_free(&b);
}

static void on_call(const struct llm_call *c, void *ctx)
{
	if (c->input_messages && !strlen(c->input_messages))
		abort();
}

/*
 * The decoder: records of [op][len][bytes]: op & 3 = write, read, gap,
 * close/open; a few connections (op >> 6), capture and redaction on.
 */
static void fuzz_decoder(const uint8_t *p, size_t n)
{
	struct llm_decoder_opts o = {.capture_content = true,
				     .max_message_bytes = 256,
				     .max_content_bytes = 2048,
				     .max_connections = 4,
				     .max_exchanges = 8,
				     .max_conn_memory = 256 << 10};
	struct llm_decoder *d = llm_decoder__new(&o, on_call, NULL);
	uint64_t ts = 1;

	if (!d)
		return;
	while (n >= 2) {
		struct llm_chunk c = {
			.pid = 1, .tid = 2, .conn_id = p[0] >> 6, .ts_ns = ts += 1000};
		unsigned int op = p[0] & 3;
		size_t k = p[1] < n - 2 ? p[1] : n - 2;

		p += 2;
		n -= 2;
		c.dir = op == 1 ? LLM_DIR_READ : LLM_DIR_WRITE;
		if (op <= 1) {
			llm_decoder__data(d, &c, p, k);
			p += k;
			n -= k;
		} else if (op == 2) {
			c.dir = k & 1 ? LLM_DIR_READ : LLM_DIR_WRITE;
			llm_decoder__gap(d, &c, k);
		} else if (k & 1) {
			llm_decoder__close(d, &c);
		} else {
			llm_decoder__open(d, &c);
		}
	}
	llm_decoder__expire(d, ts + 400ull * 1000000000ull);
	llm_decoder__flush(d, ts);
	llm_decoder__free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!strcmp(target, "http1"))
		fuzz_http1(data, size);
	else if (!strcmp(target, "h2"))
		fuzz_h2(data, size);
	else if (!strcmp(target, "sse"))
		fuzz_sse(data, size);
	else if (!strcmp(target, "json"))
		fuzz_json(data, size);
	else if (!strcmp(target, "redact"))
		fuzz_redact(data, size);
	else
		fuzz_decoder(data, size);
	return 0;
}
