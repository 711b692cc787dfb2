/* SPDX-License-Identifier: MIT */
/*
 * From JSON values to an LLM call record: one extractor per API family
 * (extract_openai.c, extract_anthropic.c, extract_gemini.c,
 * extract_ollama.c) reads the request body (requested model, stream flag,
 * input messages) and the response body or each streamed chunk (ids,
 * models, finish reasons, usage, provider errors, output text), matching
 * paths and never keeping anything but those fields.
 */
#ifndef SONDE_DECODE_EXTRACT_H
#define SONDE_DECODE_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/content.h"
#include "decode/json.h"
#include "model/llm.h"

struct extract {
	struct llm_call *call;
	enum llm_api api;
	struct content *in, *out; /* NULL without capture */
	char ev_type[48];	  /* "type" of the current chunk (Responses, Anthropic) */
	unsigned int choice;	  /* output slot of the current choice */
	unsigned int skip;	  /* frames to ignore: Gemini's streamed JSON array */
	bool stream_seen;	  /* the response is a stream (SSE, NDJSON, array) */
	/* Raw provider counters combined at the end. */
	int64_t in_tokens, out_tokens, cache_read, cache_creation, thoughts;
};

void extract_init(struct extract *x, struct llm_call *call, enum llm_api api, struct content *in,
		  struct content *out);
void extract_request(struct extract *x, const struct json_path *p, const struct json_value *v);
void extract_response(struct extract *x, const struct json_path *p, const struct json_value *v);
/* A response document (chunk) ended. */
void extract_doc_end(struct extract *x);
/* The call is complete: derive the conventions' token counts, close content. */
void extract_finish(struct extract *x);

/* Shared by the extractors. */
void x_str(char *dst, size_t len, const struct json_value *v);
/*
 * A token count: a JSON number in [0, LLM_TOKENS_MAX], else @dst is left
 * as it was (a body's 9e18 is no count, and sums of a few must not overflow).
 */
void x_tokens(int64_t *dst, const struct json_value *v);
bool x_is(const struct extract *x, const struct json_path *p, const char *pat);
/*
 * The top-level request fields every API family shares: "model",
 * "stream", and with capture "system"/"instructions" (a system message)
 * and "prompt"/"input" strings (a user message). True if @p was one.
 */
bool x_request_top(struct extract *x, const struct json_path *p, const struct json_value *v);
/* One message from a single string (instructions, prompt, system). */
void x_message(struct content *c, const char *role, const struct json_value *v);

void openai_request(struct extract *x, const struct json_path *p, const struct json_value *v);
void openai_response(struct extract *x, const struct json_path *p, const struct json_value *v);
void anthropic_request(struct extract *x, const struct json_path *p, const struct json_value *v);
void anthropic_response(struct extract *x, const struct json_path *p, const struct json_value *v);
void anthropic_finish(struct extract *x);
void gemini_request(struct extract *x, const struct json_path *p, const struct json_value *v);
void gemini_response(struct extract *x, const struct json_path *p, const struct json_value *v);
void gemini_finish(struct extract *x);
void ollama_request(struct extract *x, const struct json_path *p, const struct json_value *v);
void ollama_response(struct extract *x, const struct json_path *p, const struct json_value *v);

#endif /* SONDE_DECODE_EXTRACT_H */
