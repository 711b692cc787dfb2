// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/llm.h"

static const double duration_bounds[GENAI_DURATION_NBUCKETS] = {GENAI_DURATION_BUCKETS};

void llm_call_init(struct llm_call *c)
{
	memset(c, 0, sizeof(*c));
	c->input_tokens = LLM_TOKENS_UNSET;
	c->output_tokens = LLM_TOKENS_UNSET;
	c->cache_read_tokens = LLM_TOKENS_UNSET;
	c->cache_creation_tokens = LLM_TOKENS_UNSET;
	c->reasoning_tokens = LLM_TOKENS_UNSET;
}

void llm_call_clear(struct llm_call *c)
{
	free(c->input_messages);
	free(c->output_messages);
	llm_call_init(c);
}

void llm_strcpy(char *dst, size_t dstlen, const char *s, size_t len)
{
	if (!dstlen)
		return;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

bool llm_call_add_finish(struct llm_call *c, const char *s, size_t len)
{
	char tmp[LLM_FINISH_LEN];

	llm_strcpy(tmp, sizeof(tmp), s, len);
	for (uint32_t i = 0; i < c->n_finish_reasons; i++)
		if (!strcmp(c->finish_reasons[i], tmp))
			return true;
	if (c->n_finish_reasons >= LLM_FINISH_MAX)
		return false;
	memcpy(c->finish_reasons[c->n_finish_reasons++], tmp, sizeof(tmp));
	return true;
}

uint64_t llm_call_duration_ns(const struct llm_call *c)
{
	return c->end_ns > c->start_ns ? c->end_ns - c->start_ns : 0;
}

uint64_t llm_call_ttfc_ns(const struct llm_call *c)
{
	return c->first_chunk_ns > c->start_ns ? c->first_chunk_ns - c->start_ns : 0;
}

unsigned int genai_duration_bucket(double seconds)
{
	unsigned int b = 0;

	while (b < GENAI_DURATION_NBUCKETS && seconds > duration_bounds[b])
		b++;
	return b;
}

void llm_call_add_chunk_gap(struct llm_call *c, uint64_t ns)
{
	c->chunk_gap_sum_ns += ns;
	c->chunk_gap_buckets[genai_duration_bucket((double)ns / 1e9)]++;
}

const char *llm_provider_name(enum llm_provider p)
{
	static const char *const names[LLM_PROVIDER__COUNT] = {
		[LLM_PROVIDER_OPENAI] = GENAI_PROVIDER_OPENAI,
		[LLM_PROVIDER_ANTHROPIC] = GENAI_PROVIDER_ANTHROPIC,
		[LLM_PROVIDER_GCP_GEMINI] = GENAI_PROVIDER_GCP_GEMINI,
		[LLM_PROVIDER_GCP_VERTEX_AI] = GENAI_PROVIDER_GCP_VERTEX_AI,
		[LLM_PROVIDER_AZURE_OPENAI] = GENAI_PROVIDER_AZURE_OPENAI,
		[LLM_PROVIDER_DEEPSEEK] = GENAI_PROVIDER_DEEPSEEK,
		[LLM_PROVIDER_GROQ] = GENAI_PROVIDER_GROQ,
		[LLM_PROVIDER_MISTRAL] = GENAI_PROVIDER_MISTRAL,
		[LLM_PROVIDER_PERPLEXITY] = GENAI_PROVIDER_PERPLEXITY,
		[LLM_PROVIDER_X_AI] = GENAI_PROVIDER_X_AI,
		[LLM_PROVIDER_OLLAMA] = GENAI_PROVIDER_OLLAMA,
	};

	return (unsigned int)p < LLM_PROVIDER__COUNT ? names[p] : NULL;
}

const char *llm_operation_name(enum llm_operation op)
{
	static const char *const names[LLM_OP__COUNT] = {
		[LLM_OP_CHAT] = GENAI_OP_CHAT,
		[LLM_OP_TEXT_COMPLETION] = GENAI_OP_TEXT_COMPLETION,
		[LLM_OP_EMBEDDINGS] = GENAI_OP_EMBEDDINGS,
		[LLM_OP_GENERATE_CONTENT] = GENAI_OP_GENERATE_CONTENT,
	};

	return (unsigned int)op < LLM_OP__COUNT ? names[op] : NULL;
}

const char *llm_openai_api_type(enum llm_api api)
{
	if (api == LLM_API_OPENAI_CHAT)
		return GENAI_OPENAI_API_CHAT_COMPLETIONS;
	if (api == LLM_API_OPENAI_RESPONSES)
		return GENAI_OPENAI_API_RESPONSES;
	return NULL;
}

const char *llm_call_error_type(const struct llm_call *c, char *buf, size_t len)
{
	if (c->error_type[0]) {
		snprintf(buf, len, "%s", c->error_type);
		return buf;
	}
	if (c->http_status >= 400) {
		snprintf(buf, len, "%u", c->http_status);
		return buf;
	}
	if (c->http_status == 0) {
		snprintf(buf, len, "%s", GENAI_ERROR_OTHER);
		return buf;
	}
	return NULL;
}
