/* SPDX-License-Identifier: MIT */
/*
 * One HTTP message body on its way to JSON extraction: content coding
 * undone (gzip and deflate with zlib, br with libbrotlidec; anything else
 * is skipped and named), then framed by its media type: one JSON value
 * (application/json, also Gemini's streamed JSON array), Server-Sent
 * Events (text/event-stream: each event's data is one JSON value; data
 * that is not an object, like OpenAI's "[DONE]", is skipped), or NDJSON
 * (application/x-ndjson, Ollama: one JSON value a line). Bytes in any
 * split; memory is the decoder windows plus jsonx's bounds.
 *
 * A gap is survivable in a stream (SSE resumes at the next line, NDJSON
 * at the next newline); in a single JSON value or a compressed body the
 * rest of the body is left unparsed. Both are flagged in body.unparsed.
 */
#ifndef SONDE_DECODE_BODY_H
#define SONDE_DECODE_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/dmem.h"
#include "decode/json.h"
#include "decode/sse.h"

enum body_framing {
	BODY_JSON,
	BODY_SSE,
	BODY_NDJSON,
};

enum body_coding {
	CODING_IDENTITY,
	CODING_GZIP, /* gzip, x-gzip, deflate: zlib with header detection */
	CODING_BR,
	CODING_UNKNOWN,
};

struct body {
	struct dmem *mem;
	enum body_framing framing;
	enum body_coding coding;
	void *z;   /* z_stream */
	void *br;  /* BrotliDecoderState */
	bool dead; /* nothing more of this body can be parsed */
	struct jsonx *json;
	struct sse sse;
	/* SSE: the current event's data is being fed to json (it starts with '{'). */
	uint8_t ev;	   /* 0 undecided, 1 json, 2 skip */
	bool nd_skip;	   /* NDJSON: skip to the next newline after a gap */
	uint32_t unparsed; /* enum llm_unparsed bits */
	char coding_name[32];
	uint64_t bad_docs;
};

/*
 * @content_type, @content_encoding: header values or NULL. @ops/@ctx get
 * every JSON value and document end. 0 or -ENOMEM. An unknown coding is
 * not an error: the body is then skipped (body.unparsed says why).
 */
int body_init(struct body *b, struct dmem *m, const char *content_type,
	      const char *content_encoding, const struct jsonx_ops *ops, void *ctx,
	      size_t max_string);
void body_free(struct body *b);
void body_feed(struct body *b, const char *buf, size_t len);
void body_gap(struct body *b, uint64_t n);
/* The body ended (@complete: its framing said so). */
void body_finish(struct body *b, bool complete);

/* Media type and coding from header values (case-insensitive, parameters ignored). */
enum body_framing body_framing_of(const char *content_type);
enum body_coding body_coding_of(const char *content_encoding);

#endif /* SONDE_DECODE_BODY_H */
