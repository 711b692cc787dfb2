/* SPDX-License-Identifier: MIT */
/*
 * Incremental JSON field extraction with bounded memory, on yajl.
 *
 * Bytes are fed in any split; every value is handed to the caller with
 * its path from the document root ("usage" . "prompt_tokens",
 * "choices" [0] "finish_reason"), and nothing of the document is kept.
 * Several top-level values may follow each other (NDJSON, consecutive
 * SSE events); each one's end is signalled.
 *
 * Memory is bounded whatever the input, because a small filter in front
 * of yajl (whose lexer would otherwise buffer a whole token, however
 * long) enforces:
 *   - strings longer than max_string bytes are cut (at a character
 *     boundary, outside escapes) and marked truncated; the rest of the
 *     string is skipped, not buffered;
 *   - a number or literal longer than JSON_SCALAR_MAX, or nesting deeper
 *     than JSON_NEST_MAX, is a parse error.
 * Paths are tracked to JSON_DEPTH_MAX levels with keys cut to
 * JSON_KEY_MAX - 1 bytes; deeper values carry path->overflow and match
 * no pattern.
 */
#ifndef SONDE_DECODE_JSON_H
#define SONDE_DECODE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/dmem.h"

#define JSON_DEPTH_MAX 12
#define JSON_KEY_MAX 40
#define JSON_NEST_MAX 64
#define JSON_SCALAR_MAX 64

struct json_frame {
	bool array;
	uint8_t keylen;
	uint32_t index;
	char key[JSON_KEY_MAX];
};

struct json_path {
	unsigned int depth;
	bool overflow;
	struct json_frame f[JSON_DEPTH_MAX];
};

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_OBJECT_START,
	JSON_OBJECT_END,
	JSON_ARRAY_START,
	JSON_ARRAY_END,
};

struct json_value {
	enum json_type type;
	bool b;
	bool is_int; /* the number was an integer that fits int64 */
	int64_t i;
	double d;
	const char *s; /* strings: UTF-8, unescaped, not NUL-terminated */
	size_t len;
	bool truncated; /* the string was longer than max_string */
};

struct jsonx_ops {
	/* A value (or container start/end) at path @p. */
	void (*value)(void *ctx, const struct json_path *p, const struct json_value *v);
	/* A top-level value ended. */
	void (*doc_end)(void *ctx);
};

struct jsonx;

/* NULL on ENOMEM. @max_string: 0 = 4096. */
struct jsonx *jsonx__new(struct dmem *m, const struct jsonx_ops *ops, void *ctx, size_t max_string);
void jsonx__free(struct jsonx *j);

/* Feed bytes. 0, or -EBADMSG once the input is not JSON (sticky until reset). */
int jsonx__feed(struct jsonx *j, const void *buf, size_t len);
/* The input ended: 0 if every value was complete, -EBADMSG otherwise. */
int jsonx__finish(struct jsonx *j);
/* Forget any partial value and errors: the next byte starts a new document. */
int jsonx__reset(struct jsonx *j);
bool jsonx__failed(const struct jsonx *j);
/* Inside a top-level value (some of it seen, not its end). */
bool jsonx__in_value(const struct jsonx *j);
/* Strings cut at max_string so far. */
uint64_t jsonx__truncated(const struct jsonx *j);

/*
 * Does @p match @pattern? Keys separated by '.', "[]" for any array
 * index: "usage.prompt_tokens", "choices[].delta.content",
 * "[].candidates[].finishReason".
 */
bool json_path_is(const struct json_path *p, const char *pattern);
/* The same, ignoring the first @from frames (a stream's enclosing array). */
bool json_path_is_from(const struct json_path *p, unsigned int from, const char *pattern);
/* The key of the innermost frame (or "" in an array). */
static inline const char *json_path_key(const struct json_path *p)
{
	return p->depth ? p->f[p->depth - 1].key : "";
}

#endif /* SONDE_DECODE_JSON_H */
