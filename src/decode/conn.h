/* SPDX-License-Identifier: MIT */
/*
 * The decoder's insides, shared by decoder.c (connections, detection,
 * limits), exchange.c (one request/response pair becoming an LLM call),
 * conn_h1.c and conn_h2.c (the protocols driving exchanges). Not a
 * public interface: use decode/decode.h.
 */
#ifndef SONDE_DECODE_CONN_H
#define SONDE_DECODE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/body.h"
#include "decode/content.h"
#include "decode/decode.h"
#include "decode/dmem.h"
#include "decode/extract.h"
#include "decode/h2.h"
#include "decode/http1.h"
#include "decode/provider.h"
#include "decode/redact.h"

/* Strings that decide routing and framing (longer values are cut). */
#define EXCH_PATH_MAX 1024
#define EXCH_HDR_MAX 64
/* JSON strings when content is not captured: ids, models, reasons fit. */
#define EXCH_FIELD_MAX 256

struct llm_decoder {
	struct llm_decoder_opts opts;
	llm_call_fn cb;
	void *cb_ctx;
	struct redactor *redactor;
	struct dmem mem;
	struct conn **buckets;
	unsigned int nbuckets;
	unsigned int nconns;
	/* The chunk being processed. */
	uint64_t now;
	uint32_t tid;
	struct llm_decoder_stats st;
};

enum conn_proto {
	PROTO_UNDECIDED,
	PROTO_HTTP1,
	PROTO_HTTP2,
	PROTO_OTHER,  /* checked again at each write chunk for an HTTP/1 start */
	PROTO_OPAQUE, /* given up on (memory limit, upgrade): bytes are only counted */
};

struct exch;

struct conn {
	struct conn *next; /* hash chain */
	struct llm_decoder *d;
	uint32_t pid;
	uint64_t id;
	uint64_t last_ns;
	struct dmem mem;
	enum conn_proto proto;
	uint8_t prelen;
	char pre[H2_PREFACE_LEN];
	/* HTTP/1.1 */
	struct http1 req, resp;
	struct exch *queue, *tail; /* requests waiting for their response, oldest first */
	struct exch *req_cur;	   /* the request being parsed */
	struct exch *resp_cur;	   /* the exchange whose response is being parsed */
	bool resp_orphan;	   /* a response with no request: parsed, dropped */
	/* HTTP/2 */
	struct h2 h2;
	struct exch *streams;
	uint32_t lost_why; /* extra llm_unparsed bits if the connection is lost now */
	/* Counts. */
	unsigned int nexch;
};

struct exch {
	struct exch *next;
	struct conn *conn;
	uint32_t stream;
	bool llm;
	bool head;
	bool routed;
	bool req_headers_done, req_done;
	bool resp_headers_done, resp_done;
	bool anthropic_version;
	char method[16];
	char path[EXCH_PATH_MAX];
	size_t pathlen;
	char req_ctype[EXCH_HDR_MAX], req_cenc[EXCH_HDR_MAX];
	char resp_ctype[EXCH_HDR_MAX], resp_cenc[EXCH_HDR_MAX];
	struct llm_route route;
	struct llm_call call;
	bool req_body_on, resp_body_on;
	struct body req, resp;
	struct extract ex;
	bool capture;
	struct content in, out;
	uint64_t last_chunk_ns;
};

/* exchange.c */
struct exch *exch_new(struct conn *c, uint32_t stream);
void exch_free(struct exch *x);
void exch_request_header(struct exch *x, const char *name, size_t nlen, const char *value,
			 size_t vlen);
void exch_request_line(struct exch *x, const char *method, size_t mlen, const char *target,
		       size_t tlen);
void exch_request_headers_end(struct exch *x);
void exch_request_body(struct exch *x, const char *buf, size_t len);
/* @n bytes of the exchange were not copied (counted once, where they fell). */
void exch_gap_count(struct exch *x, uint64_t n);
/* ... and they fell inside the request (response) body. */
void exch_request_gap(struct exch *x, uint64_t n);
void exch_request_end(struct exch *x, bool complete);
void exch_response_status(struct exch *x, unsigned int status);
void exch_response_header(struct exch *x, const char *name, size_t nlen, const char *value,
			  size_t vlen);
/* The response's header section ended; @interim for 1xx. */
void exch_response_headers_end(struct exch *x, bool interim);
void exch_response_body(struct exch *x, const char *buf, size_t len);
void exch_response_gap(struct exch *x, uint64_t n);
/*
 * The exchange is over: @unparsed bits say why it is incomplete (0 for
 * a complete response). Reports an LLM call, counts the rest, frees @x.
 */
void exch_finish(struct exch *x, uint32_t unparsed);

/* conn_h1.c */
int conn_h1_init(struct conn *c);
void conn_h1_feed(struct conn *c, enum llm_dir dir, const char *buf, size_t len);
void conn_h1_gap(struct conn *c, enum llm_dir dir, uint64_t n);
void conn_h1_close(struct conn *c);
void conn_h1_free(struct conn *c);

/* conn_h2.c */
int conn_h2_init(struct conn *c);
void conn_h2_feed(struct conn *c, enum llm_dir dir, const char *buf, size_t len);
void conn_h2_gap(struct conn *c, enum llm_dir dir, uint64_t n);
/* Finish every stream still open with @unparsed. */
void conn_h2_close(struct conn *c, uint32_t unparsed);
void conn_h2_free(struct conn *c);

#endif /* SONDE_DECODE_CONN_H */
