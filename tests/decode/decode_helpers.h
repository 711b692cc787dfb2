/* SPDX-License-Identifier: MIT */
/*
 * Shared by the decode tests: a decoder whose calls are collected (deep
 * copies), feeding helpers for one connection, HTTP/1.1 message
 * builders and a canonical text form of a call for comparisons.
 */
#ifndef SONDE_TEST_DECODE_HELPERS_H
#define SONDE_TEST_DECODE_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

#define TCALLS_MAX 256

struct tcalls {
	unsigned int n;
	struct llm_call v[TCALLS_MAX];
};

struct tdec {
	struct llm_decoder *d;
	struct tcalls calls;
	uint32_t pid, tid;
	uint64_t conn;
};

/* A decoder with @opts (NULL: defaults) collecting into t->calls. */
void tdec_init(struct tdec *t, const struct llm_decoder_opts *opts);
void tdec_free(struct tdec *t);
void tdec_open(struct tdec *t, uint64_t ts);
void tdec_write(struct tdec *t, uint64_t ts, const void *buf, size_t len);
void tdec_read(struct tdec *t, uint64_t ts, const void *buf, size_t len);
void tdec_gap(struct tdec *t, enum llm_dir dir, uint64_t ts, uint64_t n);
void tdec_close(struct tdec *t, uint64_t ts);
#define tdec_writes(t, ts, s) tdec_write(t, ts, s, strlen(s))
#define tdec_reads(t, ts, s) tdec_read(t, ts, s, strlen(s))

/* Every field of a call as "name=value;" text (content included). malloc'd. */
char *call_text(const struct llm_call *c);

/* malloc'd HTTP/1.1 messages. @headers: extra "Name: value\r\n" lines or "". */
char *h1_request(const char *path, const char *host, const char *headers, const char *body);
char *h1_response(unsigned int status, const char *ctype, const char *headers, const char *body);
/* A chunked response, the body cut into @chunk-byte chunks, with a trailer. */
char *h1_response_chunked(unsigned int status, const char *ctype, const char *body, size_t chunk);

/* Realistic provider bodies. */
extern const char OPENAI_CHAT_REQ[];
extern const char OPENAI_CHAT_RESP[];
extern const char OPENAI_CHAT_STREAM_REQ[];
extern const char OPENAI_CHAT_SSE[];
extern const char OPENAI_429[];
extern const char OPENAI_500[];
extern const char OPENAI_EMBED_REQ[];
extern const char OPENAI_EMBED_RESP[];
extern const char OPENAI_RESPONSES_REQ[];
extern const char OPENAI_RESPONSES_SSE[];
extern const char OPENAI_RESPONSES_RESP[];
extern const char ANTHROPIC_REQ[];
extern const char ANTHROPIC_RESP[];
extern const char ANTHROPIC_SSE[];
extern const char ANTHROPIC_429[];
extern const char GEMINI_REQ[];
extern const char GEMINI_RESP[];
extern const char GEMINI_SSE[];
extern const char GEMINI_ARRAY[];
extern const char OLLAMA_CHAT_REQ[];
extern const char OLLAMA_CHAT_NDJSON[];
extern const char OLLAMA_GENERATE_REQ[];
extern const char OLLAMA_GENERATE_RESP[];
extern const char OLLAMA_EMBED_REQ[];
extern const char OLLAMA_EMBED_RESP[];

/* The planted secrets of the privacy tests. */
#define PLANTED_KEY "sk-proj-Zq8XvT3bLbkFJ4mW9pN2rYc7Hd6Ga1Ke"
#define PLANTED_EMAIL "jane.doe@example.com"

#endif
