/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 message framing (RFC 9112), one parser per direction of a
 * connection, incremental: the same callbacks for any split of the byte
 * stream. Request line or status line, header fields, then the body by
 * Content-Length, chunked coding (extensions and trailers skipped) or,
 * for a response without either, until the connection closes. Several
 * messages follow each other on a kept-alive connection; 1xx responses
 * are interim (101 ends HTTP on the connection); responses to HEAD, 204
 * and 304 have no body (the caller says which request a response answers).
 *
 * Privacy: credential headers (Authorization, Proxy-Authorization,
 * X-Api-Key, X-Goog-Api-Key, Api-Key, Cookie, Set-Cookie) are dropped
 * here and never reach a callback, and a "key=" query parameter is cut
 * from the request target before it is passed on; the line buffer is
 * wiped after such a line.
 *
 * Bounds: a start or header line is kept up to HTTP1_LINE_MAX bytes (a
 * longer one is cut, counted in http1.cut_lines); a header section of
 * more than HTTP1_HEADERS_MAX fields is a protocol error.
 */
#ifndef SONDE_DECODE_HTTP1_H
#define SONDE_DECODE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/dmem.h"

#define HTTP1_LINE_MAX 8192
#define HTTP1_HEADERS_MAX 256

struct http1_ops {
	void (*request_line)(void *ctx, const char *method, size_t mlen, const char *target,
			     size_t tlen);
	void (*status_line)(void *ctx, unsigned int status);
	void (*header)(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen);
	/*
	 * The header section ended. For a response, return false when it
	 * has no body whatever its headers say (it answers HEAD); the value
	 * is ignored for requests.
	 */
	bool (*headers_end)(void *ctx);
	void (*body)(void *ctx, const char *buf, size_t len);
	/* @n body bytes were lost; the framing still holds. */
	void (*body_gap)(void *ctx, uint64_t n);
	/*
	 * The message ended: @complete false when the framing was lost (a
	 * gap in the header section, a syntax error) or the stream closed
	 * before the end. @interim for a 1xx response.
	 */
	void (*message_end)(void *ctx, bool complete, bool interim);
};

enum http1_dir {
	HTTP1_REQUEST,
	HTTP1_RESPONSE,
};

struct http1 {
	enum http1_dir dir;
	const struct http1_ops *ops;
	void *ctx;
	struct dmem *mem;
	uint8_t state;
	bool in_message;
	bool chunked;
	bool have_length;
	bool conn_close;
	bool line_cut;
	bool wipe;
	unsigned int status;
	unsigned int nheaders;
	uint64_t remaining;
	uint64_t content_length;
	char *line;
	size_t linelen, linecap;
	/*
	 * After a gap in a chunked body: the bytes of a candidate chunk
	 * boundary ("\r\n" HEX "\r\n") held back, how far it matched, its size.
	 */
	char held[24];
	uint8_t nheld;
	uint8_t rs;
	uint64_t rs_size;
	/* Counters. */
	uint64_t messages;
	uint64_t cut_lines;
	uint64_t protocol_errors;
	uint64_t resyncs;	/* chunk boundaries found again after a gap */
	uint64_t ignored_bytes; /* after a loss, before the next message start */
};

int http1_init(struct http1 *h, enum http1_dir dir, const struct http1_ops *ops, void *ctx,
	       struct dmem *mem);
void http1_free(struct http1 *h);

/* Feed bytes; at a chunk start, a lost parser looks for a new message. */
void http1_feed(struct http1 *h, const char *buf, size_t len);
/* @n bytes could not be copied at this point of the stream. */
void http1_gap(struct http1 *h, uint64_t n);
/* The connection closed: ends a read-until-close body, or truncates. */
void http1_close(struct http1 *h);
/* Between messages (nothing of the next one seen). */
bool http1_idle(const struct http1 *h);
/* Framing lost: waiting for a chunk that starts a message. */
bool http1_lost(const struct http1 *h);

/* True for header names never to be kept (case-insensitive). */
bool http_header_is_secret(const char *name, size_t len);
/*
 * Remove every "key=" parameter from the query of @target in place;
 * returns the new length. "/v1beta/models/m:gen?alt=sse&key=SECRET"
 * becomes "/v1beta/models/m:gen?alt=sse".
 */
size_t http_target_strip_key(char *target, size_t len);

#endif /* SONDE_DECODE_HTTP1_H */
