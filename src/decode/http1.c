// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode/http1.h"

enum {
	S_START,
	S_HEADERS,
	S_BODY_LEN,
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_CRLF,
	S_TRAILERS,
	S_BODY_CLOSE,
	S_CHUNK_RESYNC, /* a gap in a chunked body: looking for the next chunk boundary */
	S_LOST,		/* framing lost: wait for a chunk that starts a message */
	S_OPAQUE,	/* after Connection: close or 101: nothing more is HTTP/1 */
};

/* Chunk sizes above this are nonsense for an API body: a protocol error. */
#define HTTP1_CHUNK_MAX (1ull << 40)

int http1_init(struct http1 *h, enum http1_dir dir, const struct http1_ops *ops, void *ctx,
	       struct dmem *mem)
{
	memset(h, 0, sizeof(*h));
	h->dir = dir;
	h->ops = ops;
	h->ctx = ctx;
	h->mem = mem;
	h->state = S_START;
	return 0;
}

void http1_free(struct http1 *h)
{
	if (h->line) {
		explicit_bzero(h->line, h->linecap);
		dmem_free(h->mem, h->line);
	}
	h->line = NULL;
	h->linecap = h->linelen = 0;
}

bool http1_idle(const struct http1 *h)
{
	return h->state == S_START && !h->in_message && !h->linelen;
}

bool http1_lost(const struct http1 *h)
{
	return h->state == S_LOST;
}

bool http_header_is_secret(const char *name, size_t len)
{
	static const char *const secret[] = {
		"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key",
		"cookie",	 "set-cookie",
	};

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (strlen(secret[i]) == len && !strncasecmp(name, secret[i], len))
			return true;
	return false;
}

size_t http_target_strip_key(char *t, size_t len)
{
	char *q = memchr(t, '?', len);
	size_t base, out, i;

	if (!q)
		return len;
	base = out = i = (size_t)(q - t) + 1;
	/*
	 * Copy every parameter but key=... back over the query; a stray '?'
	 * separates parameters too, so "?a?key=x" loses its key as well.
	 */
	while (i < len) {
		size_t j = i;
		char sep = t[i - 1];

		while (j < len && t[j] != '&' && t[j] != '?')
			j++;
		if (!(j - i >= 4 && !memcmp(t + i, "key=", 4)) && j > i) {
			if (out > base)
				t[out++] = sep == '?' ? '?' : '&';
			memmove(t + out, t + i, j - i);
			out += j - i;
		}
		i = j + 1;
	}
	if (out == base)
		out--; /* no parameter left: drop the '?' */
	memset(t + out, 0, len - out);
	return out;
}

static void reset_message(struct http1 *h)
{
	h->in_message = false;
	h->chunked = false;
	h->have_length = false;
	h->status = 0;
	h->nheaders = 0;
	h->remaining = 0;
	h->content_length = 0;
}

static void end_message(struct http1 *h, bool complete, bool interim)
{
	bool close = h->conn_close && h->dir == HTTP1_RESPONSE;

	h->messages++;
	reset_message(h);
	h->state = close ? S_OPAQUE : S_START;
	if (h->ops->message_end)
		h->ops->message_end(h->ctx, complete, interim);
}

/* Framing is lost: end what was in progress, wait for a message start. */
static void lose(struct http1 *h)
{
	bool was = h->in_message;

	h->protocol_errors++;
	reset_message(h);
	h->linelen = 0;
	h->state = S_LOST;
	if (h->ops->message_end && (was || h->dir == HTTP1_RESPONSE))
		h->ops->message_end(h->ctx, false, false);
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c);
}

/* Does @buf start like a message of this direction? */
static bool looks_like_start(const struct http1 *h, const char *buf, size_t len)
{
	static const char *const methods[] = {"GET ",	  "POST ",  "PUT ",	"DELETE ", "HEAD ",
					      "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};

	if (h->dir == HTTP1_RESPONSE)
		return len >= 7 && !memcmp(buf, "HTTP/1.", 7);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);

		if (len >= n && !memcmp(buf, methods[i], n))
			return true;
	}
	return false;
}

static int grow_line(struct http1 *h, size_t need)
{
	size_t cap = h->linecap ? h->linecap : 256;
	char *p;

	while (cap < need)
		cap *= 2;
	if (cap > HTTP1_LINE_MAX)
		cap = HTTP1_LINE_MAX;
	if (cap <= h->linecap)
		return 0;
	p = dmem_realloc(h->mem, h->line, cap);
	if (!p)
		return -ENOMEM;
	h->line = p;
	h->linecap = cap;
	return 0;
}

static void append_line(struct http1 *h, const char *p, size_t n)
{
	if (h->linelen + n > HTTP1_LINE_MAX) {
		n = HTTP1_LINE_MAX - h->linelen;
		h->line_cut = true;
	}
	if (!n)
		return;
	if (grow_line(h, h->linelen + n)) {
		h->line_cut = true;
		n = h->linecap - h->linelen;
	}
	memcpy(h->line + h->linelen, p, n);
	h->linelen += n;
}

static bool parse_uint(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* Does the comma-separated header value @v contain the token @tok? */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= n; i++) {
		if (strncasecmp(v + i, tok, tl))
			continue;
		if ((i == 0 || v[i - 1] == ',' || v[i - 1] == ' ' || v[i - 1] == '\t') &&
		    (i + tl == n || v[i + tl] == ',' || v[i + tl] == ' ' || v[i + tl] == '\t' ||
		     v[i + tl] == ';'))
			return true;
	}
	return false;
}

/* Is there a "key=" right after a '?' or '&' in the target? */
static bool has_key_param(const char *t, size_t n)
{
	for (size_t i = 1; i + 4 <= n; i++)
		if ((t[i - 1] == '?' || t[i - 1] == '&') && !memcmp(t + i, "key=", 4))
			return true;
	return false;
}

static int start_line(struct http1 *h, const char *l, size_t n)
{
	if (h->dir == HTTP1_REQUEST) {
		size_t m = 0, t, te;

		while (m < n && is_tchar((unsigned char)l[m]))
			m++;
		if (!m || m >= n || l[m] != ' ')
			return -EBADMSG;
		t = m + 1;
		te = t;
		while (te < n && l[te] != ' ')
			te++;
		if (te == t || n - te < 9 || memcmp(l + te, " HTTP/1.", 8))
			return -EBADMSG;
		if (h->ops->request_line && has_key_param(l + t, te - t)) {
			/* @l may be the caller's (const) bytes: strip a copy, then wipe it. */
			char tmp[HTTP1_LINE_MAX];
			size_t tl = te - t;

			memcpy(tmp, l + t, tl);
			tl = http_target_strip_key(tmp, tl);
			h->ops->request_line(h->ctx, l, m, tmp, tl);
			explicit_bzero(tmp, sizeof(tmp));
			h->wipe = true;
		} else if (h->ops->request_line) {
			h->ops->request_line(h->ctx, l, m, l + t, te - t);
		}
		return 0;
	}
	if (n < 12 || memcmp(l, "HTTP/1.", 7) || l[8] != ' ' || l[9] < '1' || l[9] > '5' ||
	    l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9' || (n > 12 && l[12] != ' '))
		return -EBADMSG;
	h->status = (unsigned int)((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));
	if (h->ops->status_line)
		h->ops->status_line(h->ctx, h->status);
	return 0;
}

static int header_line(struct http1 *h, const char *l, size_t n)
{
	size_t c = 0, vs, ve;

	if (l[0] == ' ' || l[0] == '\t')
		return 0; /* obsolete line folding: the continuation is skipped */
	while (c < n && l[c] != ':')
		c++;
	if (!c || c == n)
		return -EBADMSG;
	for (size_t i = 0; i < c; i++)
		if (!is_tchar((unsigned char)l[i]))
			return -EBADMSG;
	if (++h->nheaders > HTTP1_HEADERS_MAX)
		return -E2BIG;
	if (http_header_is_secret(l, c)) {
		h->wipe = true;
		return 0;
	}
	vs = c + 1;
	while (vs < n && (l[vs] == ' ' || l[vs] == '\t'))
		vs++;
	ve = n;
	while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
		ve--;
	if (c == 14 && !strncasecmp(l, "content-length", 14)) {
		uint64_t v;

		if (!parse_uint(l + vs, ve - vs, &v) || (h->have_length && v != h->content_length))
			return -EBADMSG;
		h->have_length = true;
		h->content_length = v;
	} else if (c == 17 && !strncasecmp(l, "transfer-encoding", 17)) {
		h->chunked = has_token(l + vs, ve - vs, "chunked");
	} else if (c == 10 && !strncasecmp(l, "connection", 10)) {
		if (has_token(l + vs, ve - vs, "close"))
			h->conn_close = true;
	}
	if (h->ops->header)
		h->ops->header(h->ctx, l, c, l + vs, ve - vs);
	return 0;
}

static void headers_done(struct http1 *h)
{
	bool body_allowed = h->ops->headers_end ? h->ops->headers_end(h->ctx) : true;

	if (h->dir == HTTP1_REQUEST) {
		if (h->chunked) {
			h->state = S_CHUNK_SIZE;
		} else if (h->have_length && h->content_length) {
			h->remaining = h->content_length;
			h->state = S_BODY_LEN;
		} else {
			end_message(h, true, false);
		}
		return;
	}
	if (h->status == 101) {
		end_message(h, true, false);
		h->state = S_OPAQUE;
		return;
	}
	if (h->status < 200) {
		h->conn_close = false;
		end_message(h, true, true);
		return;
	}
	if (!body_allowed || h->status == 204 || h->status == 304) {
		end_message(h, true, false);
	} else if (h->chunked) {
		h->state = S_CHUNK_SIZE;
	} else if (h->have_length) {
		h->remaining = h->content_length;
		h->state = S_BODY_LEN;
		if (!h->remaining)
			end_message(h, true, false);
	} else {
		h->state = S_BODY_CLOSE;
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

static int chunk_size_line(struct http1 *h, const char *l, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n; i++) {
		int d = hex_digit(l[i]);

		if (d < 0)
			break;
		v = v * 16 + (uint64_t)d;
		if (v > HTTP1_CHUNK_MAX)
			return -EBADMSG;
	}
	if (!i || (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
		return -EBADMSG;
	if (!v) {
		h->state = S_TRAILERS;
	} else {
		h->remaining = v;
		h->state = S_CHUNK_DATA;
	}
	return 0;
}

/* One complete line (without CR LF) in the current state. */
static int process_line(struct http1 *h, const char *l, size_t n)
{
	switch (h->state) {
	case S_START:
		if (!n && !h->in_message)
			return 0; /* an empty line before a message is ignored (RFC 9112 2.2) */
		h->in_message = true;
		if (start_line(h, l, n))
			return -EBADMSG;
		h->state = S_HEADERS;
		return 0;
	case S_HEADERS:
		if (!n) {
			headers_done(h);
			return 0;
		}
		return header_line(h, l, n);
	case S_CHUNK_SIZE:
		return chunk_size_line(h, l, n);
	case S_CHUNK_CRLF:
		if (n)
			return -EBADMSG;
		h->state = S_CHUNK_SIZE;
		return 0;
	case S_TRAILERS:
		if (!n)
			end_message(h, true, false);
		return 0;
	}
	return 0;
}

/*
 * A complete line from @buf at *@i (zero-copy when nothing of it was
 * buffered before), or false when the chunk ends first.
 */
static int line_state(struct http1 *h, const char *buf, size_t len, size_t *i)
{
	const char *lf = memchr(buf + *i, '\n', len - *i);
	const char *l;
	size_t n;
	int err;

	if (!lf) {
		append_line(h, buf + *i, len - *i);
		*i = len;
		return 1;
	}
	n = (size_t)(lf - (buf + *i));
	if (!h->linelen && !h->line_cut) {
		l = buf + *i;
	} else {
		append_line(h, buf + *i, n);
		/* No buffer at all if its first allocation failed: an empty, cut line. */
		l = h->line ? h->line : "";
		n = h->linelen;
	}
	*i = (size_t)(lf - buf) + 1;
	if (n && l[n - 1] == '\r')
		n--;
	if (h->line_cut)
		h->cut_lines++;
	err = process_line(h, l, n);
	if (h->wipe && l == h->line)
		explicit_bzero(h->line, h->linelen);
	h->wipe = false;
	h->linelen = 0;
	h->line_cut = false;
	if (err)
		lose(h);
	return 0;
}

static void resync_begin(struct http1 *h)
{
	h->state = S_CHUNK_RESYNC;
	h->linelen = 0;
	h->nheld = 0;
	h->rs = 0;
	h->rs_size = 0;
}

static void pass_body(struct http1 *h, const char *p, size_t n)
{
	if (n && h->ops->body)
		h->ops->body(h->ctx, p, n);
}

/* The held bytes were chunk data after all. */
static void resync_flush(struct http1 *h)
{
	pass_body(h, h->held, h->nheld);
	h->nheld = 0;
	h->rs = 0;
	h->rs_size = 0;
}

/*
 * After a gap that took chunk boundaries with it: the bytes up to the
 * next "\r\n" HEX "\r\n" are the tail of some chunk's data (passed on:
 * the body parser skips to its own next boundary, an SSE event's blank
 * line), and the size line there starts a chunk again. The bodies sonde
 * reads (SSE, NDJSON, JSON) hold no raw CR, so the pattern is a boundary.
 * h->rs: 0 data, 1 CR seen, 2 CR LF, 3 in the digits, 4 their CR.
 * Returns the bytes used.
 */
static size_t resync(struct http1 *h, const char *buf, size_t len)
{
	size_t run = 0; /* buf[run..i) is data not passed on yet (rs 0) */

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		int d = hex_digit(c);
		bool ok = h->rs == 1 || h->rs == 4 ? c == '\n'
			  : h->rs == 2		   ? d >= 0
			  : h->rs == 3		   ? d >= 0 || c == '\r'
						   : c == '\r';

		if (h->rs && (!ok || h->nheld == sizeof(h->held))) {
			resync_flush(h);
			run = i;
			ok = c == '\r';
		}
		if (!h->rs) {
			if (!ok)
				continue;
			pass_body(h, buf + run, i - run);
		}
		h->held[h->nheld++] = c;
		run = i + 1;
		if (h->rs == 2 || (h->rs == 3 && d >= 0)) {
			h->rs_size = h->rs_size * 16 + (uint64_t)d;
			h->rs = 3;
			if (h->rs_size > HTTP1_CHUNK_MAX)
				resync_flush(h);
			continue;
		}
		if (++h->rs < 5)
			continue;
		/* A boundary: a chunk of rs_size bytes follows (0: the last one). */
		h->remaining = h->rs_size;
		h->state = h->rs_size ? S_CHUNK_DATA : S_TRAILERS;
		h->nheld = 0;
		h->rs = 0;
		h->rs_size = 0;
		h->resyncs++;
		return i + 1;
	}
	if (!h->rs)
		pass_body(h, buf + run, len - run);
	return len;
}

void http1_feed(struct http1 *h, const char *buf, size_t len)
{
	size_t i = 0;

	if (h->state == S_LOST && looks_like_start(h, buf, len))
		h->state = S_START;
	while (i < len) {
		size_t n;

		switch (h->state) {
		case S_START:
		case S_HEADERS:
		case S_CHUNK_SIZE:
		case S_CHUNK_CRLF:
		case S_TRAILERS:
			if (h->state == S_START && !h->in_message && !h->linelen &&
			    (buf[i] == '\r' || buf[i] == '\n')) {
				i++; /* empty lines between messages */
				break;
			}
			if (line_state(h, buf, len, &i))
				return;
			break;
		case S_BODY_LEN:
		case S_CHUNK_DATA:
			n = len - i < h->remaining ? len - i : h->remaining;
			if (h->ops->body)
				h->ops->body(h->ctx, buf + i, n);
			i += n;
			h->remaining -= n;
			if (!h->remaining) {
				if (h->state == S_CHUNK_DATA)
					h->state = S_CHUNK_CRLF;
				else
					end_message(h, true, false);
			}
			break;
		case S_BODY_CLOSE:
			if (h->ops->body)
				h->ops->body(h->ctx, buf + i, len - i);
			return;
		case S_CHUNK_RESYNC:
			i += resync(h, buf + i, len - i);
			break;
		default:
			h->ignored_bytes += len - i;
			return;
		}
	}
}

void http1_gap(struct http1 *h, uint64_t n)
{
	if (!n)
		return;
	switch (h->state) {
	case S_BODY_LEN:
	case S_CHUNK_DATA:
		if (n <= h->remaining) {
			h->remaining -= n;
			if (h->ops->body_gap)
				h->ops->body_gap(h->ctx, n);
			if (!h->remaining) {
				if (h->state == S_CHUNK_DATA)
					h->state = S_CHUNK_CRLF;
				else
					end_message(h, true, false);
			}
			return;
		}
		if (h->ops->body_gap)
			h->ops->body_gap(h->ctx, h->remaining);
		if (h->state == S_BODY_LEN) {
			/* This body is whole; what follows it is lost. */
			end_message(h, true, false);
			if (h->state == S_START)
				lose(h);
			return;
		}
		/* Past this chunk's end: its next boundaries went with the gap. */
		resync_begin(h);
		return;
	case S_CHUNK_SIZE:
	case S_CHUNK_CRLF:
	case S_CHUNK_RESYNC:
		/* The gap most likely took chunk data too: the body skips to its next event. */
		if (h->ops->body_gap)
			h->ops->body_gap(h->ctx, n);
		resync_begin(h);
		return;
	case S_BODY_CLOSE:
		if (h->ops->body_gap)
			h->ops->body_gap(h->ctx, n);
		return;
	case S_LOST:
	case S_OPAQUE:
		return; /* counted as gap bytes by the decoder */
	default:
		lose(h);
	}
}

void http1_close(struct http1 *h)
{
	if (h->state == S_BODY_CLOSE)
		end_message(h, true, false);
	else if (h->in_message)
		end_message(h, false, false);
	h->linelen = 0;
}
