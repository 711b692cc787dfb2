// SPDX-License-Identifier: MIT
/*
 * The HTTP/1.1 parser alone: its callbacks, recorded as text, are the
 * same for every split point of small messages (Content-Length, chunked
 * with extensions and trailers, keep-alive, pipelining, 1xx, HEAD, 204,
 * 304, read-until-close, Connection: close), and credentials never reach
 * a callback.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "decode/http1.h"

struct rec {
	char s[8192];
	size_t n;
	bool head_next; /* the next response answers HEAD */
};

static void put(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct rec *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r->n += (size_t)vsnprintf(r->s + r->n, sizeof(r->s) - r->n, fmt, ap);
	va_end(ap);
}

static void on_req(void *ctx, const char *m, size_t ml, const char *t, size_t tl)
{
	put(ctx, "REQ %.*s %.*s|", (int)ml, m, (int)tl, t);
}

static void on_status(void *ctx, unsigned int status)
{
	put(ctx, "STATUS %u|", status);
}

static void on_header(void *ctx, const char *n, size_t nl, const char *v, size_t vl)
{
	/* Values shown up to 64 bytes: the long-line test stays readable. */
	put(ctx, "H %.*s=%.*s|", (int)nl, n, (int)(vl < 64 ? vl : 64), v);
}

static bool on_headers_end(void *ctx)
{
	struct rec *r = ctx;

	put(r, "EOH|");
	return !r->head_next;
}

/* Body bytes are recorded as they come, so splits show only as the same text. */
static void on_body(void *ctx, const char *b, size_t n)
{
	struct rec *r = ctx;

	if (r->n + n < sizeof(r->s)) {
		memcpy(r->s + r->n, b, n);
		r->n += n;
		r->s[r->n] = '\0';
	}
}

static void on_gap(void *ctx, uint64_t n)
{
	put(ctx, "|GAP %llu|", (unsigned long long)n);
}

static void on_end(void *ctx, bool complete, bool interim)
{
	put(ctx, "|END %s%s|", complete ? "ok" : "cut", interim ? " 1xx" : "");
}

static const struct http1_ops ops = {
	.request_line = on_req,
	.status_line = on_status,
	.header = on_header,
	.headers_end = on_headers_end,
	.body = on_body,
	.body_gap = on_gap,
	.message_end = on_end,
};

/* Parse @msg in two pieces split at @k (0: one piece), closing at the end. */
static void parse(enum http1_dir dir, const char *msg, size_t k, bool head, struct rec *r)
{
	struct http1 h;
	size_t len = strlen(msg);

	memset(r, 0, sizeof(*r));
	r->head_next = head;
	http1_init(&h, dir, &ops, r, NULL);
	http1_feed(&h, msg, k);
	http1_feed(&h, msg + k, len - k);
	http1_close(&h);
	http1_free(&h);
}

static void every_split(enum http1_dir dir, const char *msg, bool head, const char *want)
{
	struct rec ref, r;

	parse(dir, msg, 0, head, &ref);
	cr_assert_str_eq(ref.s, want);
	for (size_t k = 1; k < strlen(msg); k++) {
		parse(dir, msg, k, head, &r);
		cr_assert_str_eq(r.s, ref.s, "split at %zu", k);
	}
}

Test(http1, request_content_length_and_secrets)
{
	every_split(
		HTTP1_REQUEST,
		"POST /v1beta/models/g:generateContent?alt=sse&key=AIzaSECRET&x=1 HTTP/1.1\r\n"
		"Host: example.com\r\nAuthorization: Bearer sk-SECRET\r\nX-Api-Key: sk-SECRET\r\n"
		"x-goog-api-key: AIzaSECRET\r\nAPI-KEY: s\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		false,
		"REQ POST /v1beta/models/g:generateContent?alt=sse&x=1|H Host=example.com|"
		"H Content-Length=7|EOH|{\"a\":1}|END ok|");
}

Test(http1, chunked_with_extensions_and_trailers)
{
	every_split(HTTP1_RESPONSE,
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "5;name=val\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer-A: x\r\n\r\n",
		    false, "STATUS 200|H Transfer-Encoding=chunked|EOH|hello world|END ok|");
}

Test(http1, keepalive_pipelined_requests)
{
	every_split(HTTP1_REQUEST,
		    "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nab"
		    "GET /b HTTP/1.1\r\n\r\n"
		    "\r\nPOST /c HTTP/1.1\r\nTransfer-Encoding: gzip, "
		    "chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n",
		    false,
		    "REQ POST /a|H Content-Length=2|EOH|ab|END ok|REQ GET /b|EOH||END ok|"
		    "REQ POST /c|H Transfer-Encoding=gzip, chunked|EOH|xyz|END ok|");
}

Test(http1, interim_204_304_then_body)
{
	every_split(
		HTTP1_RESPONSE,
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
		"HTTP/1.1 304 Not Modified\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		false,
		"STATUS 100|EOH||END ok 1xx|STATUS 103|H Link=</s.css>|EOH||END ok 1xx|"
		"STATUS 204|H Content-Length=5|EOH||END ok|STATUS 304|EOH||END ok|"
		"STATUS 200|H Content-Length=3|EOH|abc|END ok|");
}

Test(http1, head_response_has_no_body)
{
	every_split(HTTP1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 3411\r\n\r\n", true,
		    "STATUS 200|H Content-Length=3411|EOH||END ok|");
}

Test(http1, read_until_close_and_connection_close)
{
	every_split(HTTP1_RESPONSE, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nall of it", false,
		    "STATUS 200|H Connection=close|EOH|all of it|END ok|");
	/* Connection: close with a length: what follows is not HTTP any more. */
	every_split(
		HTTP1_RESPONSE,
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200",
		false, "STATUS 200|H Connection=close|H Content-Length=2|EOH|ok|END ok|");
}

Test(http1, truncated_and_bad_messages)
{
	struct rec r;

	parse(HTTP1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, false, &r);
	cr_assert_str_eq(r.s, "STATUS 200|H Content-Length=10|EOH|abc|END cut|");
	parse(HTTP1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	      0, false, &r);
	cr_assert_str_eq(r.s, "STATUS 200|H Content-Length=1||END cut|");
	parse(HTTP1_REQUEST, "NOT A REQUEST\r\n\r\n", 0, false, &r);
	cr_assert_str_eq(r.s, "|END cut|");
	parse(HTTP1_RESPONSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0,
	      false, &r);
	cr_assert_str_eq(r.s, "STATUS 200|H Transfer-Encoding=chunked|EOH||END cut|");
}

Test(http1, gaps)
{
	struct http1 h;
	struct rec r = {0};

	http1_init(&h, HTTP1_REQUEST, &ops, &r, NULL);
	/* Inside a body: skipped, the framing holds. */
	http1_feed(&h, "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nab", 42);
	http1_gap(&h, 5);
	http1_feed(&h, "cde", 3);
	/* In a header section: lost until a chunk starts a message. */
	http1_feed(&h, "POST /b HTTP/1.1\r\nHo", 20);
	http1_gap(&h, 3);
	http1_feed(&h, "t: x\r\n\r\n", 8);
	http1_feed(&h, "POST /c HTTP/1.1\r\n\r\n", 20);
	cr_assert_str_eq(r.s, "REQ POST /a|H Content-Length=10|EOH|ab|GAP 5|cde|END ok|"
			      "REQ POST /b||END cut|REQ POST /c|EOH||END ok|");
	cr_assert_eq(h.ignored_bytes, 8);
	cr_assert_eq(h.protocol_errors, 1);
	http1_free(&h);
}

Test(http1, long_lines_are_cut_and_counted)
{
	struct http1 h;
	struct rec r = {0};
	char *msg = malloc(20000);
	size_t n;

	cr_assert_not_null(msg);
	n = (size_t)sprintf(msg, "HTTP/1.1 200 OK\r\nX-Long: ");
	memset(msg + n, 'v', 12000);
	n += 12000;
	n += (size_t)sprintf(msg + n, "\r\nContent-Length: 1\r\n\r\nZ");
	http1_init(&h, HTTP1_RESPONSE, &ops, &r, NULL);
	for (size_t i = 0; i < n; i += 1000)
		http1_feed(&h, msg + i, n - i < 1000 ? n - i : 1000);
	cr_assert_eq(h.cut_lines, 1);
	cr_assert(strstr(r.s, "|H Content-Length=1|EOH|Z|END ok|"), "%s", r.s + r.n - 60);
	cr_assert_leq(h.linecap, HTTP1_LINE_MAX);
	http1_free(&h);
	free(msg);
}

Test(http1, strip_key)
{
	char a[] = "/x?key=1", b[] = "/x?a=1&key=2&b=3", c[] = "/x?keys=1&key=", d[] = "/key=x";
	char e[] = "/v1/ch?t/completions?key=AIza"; /* a stray '?' (found by the fuzzer) */

	cr_assert_str_eq((a[http_target_strip_key(a, strlen(a))] = 0, a), "/x");
	cr_assert_str_eq((b[http_target_strip_key(b, strlen(b))] = 0, b), "/x?a=1&b=3");
	cr_assert_str_eq((c[http_target_strip_key(c, strlen(c))] = 0, c), "/x?keys=1");
	cr_assert_str_eq((d[http_target_strip_key(d, strlen(d))] = 0, d), "/key=x");
	cr_assert_str_eq((e[http_target_strip_key(e, strlen(e))] = 0, e), "/v1/ch?t/completions");
}
