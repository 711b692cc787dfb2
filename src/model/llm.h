/* SPDX-License-Identifier: MIT */
/*
 * One LLM API call as sonde saw it on the wire: who called (pid/tid,
 * connection), which API (provider, operation, models, ids), how it
 * went (HTTP status, provider error type, finish reasons), what it cost
 * (tokens with the GenAI conventions' meanings) and when (CLOCK_MONOTONIC
 * nanoseconds of the captured bytes). Built by src/decode/, read by the
 * exporters; the attribute names live in model/genai_names.h.
 *
 * Strings are fixed-size and NUL-terminated (cut to fit, never
 * overflowing); the optional message content is heap-owned by the record
 * and already redacted when it gets here.
 */
#ifndef SONDE_LLM_H
#define SONDE_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/genai_names.h"

#define LLM_NAME_MAX 128 /* models, response ids */
#define LLM_ADDR_MAX 256 /* server.address: a DNS name fits */
#define LLM_TYPE_MAX 64	 /* error types, content encodings */
#define LLM_FINISH_MAX 8 /* finish reasons kept per call (choices/candidates) */
#define LLM_FINISH_LEN 32
#define LLM_TOKENS_UNSET (-1)
/*
 * Largest token count taken from a body: far beyond any context window,
 * small enough that a call's sum of four counts, and 2^20 calls' totals
 * of those, stay inside int64.
 */
#define LLM_TOKENS_MAX (INT64_C(1) << 40)

enum llm_provider {
	LLM_PROVIDER_UNKNOWN = 0,
	LLM_PROVIDER_OPENAI,
	LLM_PROVIDER_ANTHROPIC,
	LLM_PROVIDER_GCP_GEMINI,
	LLM_PROVIDER_GCP_VERTEX_AI,
	LLM_PROVIDER_AZURE_OPENAI,
	LLM_PROVIDER_DEEPSEEK,
	LLM_PROVIDER_GROQ,
	LLM_PROVIDER_MISTRAL,
	LLM_PROVIDER_PERPLEXITY,
	LLM_PROVIDER_X_AI,
	LLM_PROVIDER_OLLAMA,
	LLM_PROVIDER__COUNT,
};

enum llm_operation {
	LLM_OP_UNKNOWN = 0,
	LLM_OP_CHAT,
	LLM_OP_TEXT_COMPLETION,
	LLM_OP_EMBEDDINGS,
	LLM_OP_GENERATE_CONTENT,
	LLM_OP__COUNT,
};

/* The wire API, which decides how bodies are read. */
enum llm_api {
	LLM_API_UNKNOWN = 0,
	LLM_API_OPENAI_CHAT,	    /* POST /v1/chat/completions (and compatible servers) */
	LLM_API_OPENAI_COMPLETIONS, /* POST /v1/completions (legacy) */
	LLM_API_OPENAI_RESPONSES,   /* POST /v1/responses */
	LLM_API_OPENAI_EMBEDDINGS,  /* POST /v1/embeddings */
	LLM_API_ANTHROPIC_MESSAGES, /* POST /v1/messages */
	LLM_API_GEMINI_GENERATE,    /* models/M:generateContent, :streamGenerateContent */
	LLM_API_GEMINI_EMBED,	    /* models/M:embedContent, :batchEmbedContents */
	LLM_API_OLLAMA_CHAT,	    /* POST /api/chat */
	LLM_API_OLLAMA_GENERATE,    /* POST /api/generate */
	LLM_API_OLLAMA_EMBED,	    /* POST /api/embed, /api/embeddings */
	LLM_API__COUNT,
};

/* Why (part of) a call could not be read: a bit set. */
enum llm_unparsed {
	LLM_UNPARSED_GAP = 1u << 0,	      /* bytes the probe could not copy */
	LLM_UNPARSED_ENCODING = 1u << 1,      /* content_encoding names it */
	LLM_UNPARSED_REQUEST_JSON = 1u << 2,  /* request body not valid JSON */
	LLM_UNPARSED_RESPONSE_JSON = 1u << 3, /* a response document not valid JSON */
	LLM_UNPARSED_TRUNCATED = 1u << 4,     /* connection closed/expired mid-call */
	LLM_UNPARSED_RESET = 1u << 5,	      /* HTTP/2 RST_STREAM or GOAWAY */
	LLM_UNPARSED_LIMIT = 1u << 6,	      /* a per-connection limit was hit */
	LLM_UNPARSED_PROTOCOL = 1u << 7,      /* framing error: the rest was skipped */
};

struct llm_call {
	/* Who: the process, the thread that wrote the request, the connection. */
	uint32_t pid, tid;
	uint64_t conn_id;
	uint32_t stream_id;   /* HTTP/2 stream, 0 on HTTP/1.1 */
	uint8_t http_version; /* 11 or 20 */

	enum llm_provider provider;
	enum llm_operation operation;
	enum llm_api api;
	char server_address[LLM_ADDR_MAX]; /* from Host or :authority, without port */
	uint16_t server_port;		   /* from the same; 0 if not given */

	char request_model[LLM_NAME_MAX];
	char response_model[LLM_NAME_MAX];
	char response_id[LLM_NAME_MAX];
	bool stream;

	/* Outcome: status 0 = no response seen. error_type: the provider's. */
	uint16_t http_status;
	char error_type[LLM_TYPE_MAX];
	char finish_reasons[LLM_FINISH_MAX][LLM_FINISH_LEN];
	uint32_t n_finish_reasons;

	/*
	 * Tokens in the conventions' meaning (LLM_TOKENS_UNSET if the
	 * provider did not say): input includes cached tokens (Anthropic's
	 * are added up), output includes reasoning tokens.
	 */
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t cache_read_tokens;
	int64_t cache_creation_tokens;
	int64_t reasoning_tokens;

	/*
	 * Times, CLOCK_MONOTONIC ns: start = first request byte, end = last
	 * response byte; first_chunk_ns = the first streamed chunk (an SSE
	 * event or NDJSON line carrying data; 0 when not streamed). Between
	 * later chunks: count, sum and the per-gap histogram over the
	 * conventions' duration buckets (index GENAI_DURATION_NBUCKETS is +Inf).
	 */
	uint64_t start_ns, end_ns;
	uint64_t first_chunk_ns;
	uint32_t chunks;
	uint64_t chunk_gap_sum_ns;
	uint32_t chunk_gap_buckets[GENAI_DURATION_NBUCKETS + 1];

	/* What could not be read. */
	uint32_t unparsed;		     /* enum llm_unparsed bits */
	char content_encoding[LLM_TYPE_MAX]; /* the undecodable one, with LLM_UNPARSED_ENCODING */
	uint64_t gap_bytes;		     /* bytes of this call not copied by the probe */
	uint64_t request_bytes, response_bytes; /* body bytes on the wire (gaps included) */

	/*
	 * Content, only with capture on (NULL otherwise): gen_ai.input.messages
	 * and gen_ai.output.messages as JSON arrays of {"role","parts":[{"type":
	 * "text","content"}]}, redacted. Owned by the record.
	 */
	char *input_messages;
	char *output_messages;
	uint32_t content_truncated; /* messages cut at the size caps */
	uint32_t redactions;	    /* replacements made in the content */
};

/* A fresh record: zeros, tokens unset. */
void llm_call_init(struct llm_call *c);
/* Free the content and reinitialize. */
void llm_call_clear(struct llm_call *c);

/* Copy @s (@len bytes, not necessarily NUL-terminated) into @dst, cut to fit. */
void llm_strcpy(char *dst, size_t dstlen, const char *s, size_t len);
/* Add a finish reason unless already there; false if the list was full. */
bool llm_call_add_finish(struct llm_call *c, const char *s, size_t len);

/* Duration end - start in ns (0 if incomplete). */
uint64_t llm_call_duration_ns(const struct llm_call *c);
/* Time to first chunk in ns (0 when none). */
uint64_t llm_call_ttfc_ns(const struct llm_call *c);
/* Record one gap between two chunks. */
void llm_call_add_chunk_gap(struct llm_call *c, uint64_t ns);
/* Index of the first duration bucket bound >= @seconds. */
unsigned int genai_duration_bucket(double seconds);

/* Well-known names: GENAI_PROVIDER_*, GENAI_OP_*; NULL for unknown. */
const char *llm_provider_name(enum llm_provider p);
const char *llm_operation_name(enum llm_operation op);
/* openai.api.type for the OpenAI APIs that have one, else NULL. */
const char *llm_openai_api_type(enum llm_api api);
/*
 * error.type: the provider's error type when it gave one, else the HTTP
 * status (4xx/5xx) as text, else "_OTHER" for a call that never got a
 * response; NULL for a success. Written into @buf.
 */
const char *llm_call_error_type(const struct llm_call *c, char *buf, size_t len);

#endif /* SONDE_LLM_H */
