// SPDX-License-Identifier: MIT
#include <string.h>

#include "decode/extract.h"

void extract_init(struct extract *x, struct llm_call *call, enum llm_api api, struct content *in,
		  struct content *out)
{
	memset(x, 0, sizeof(*x));
	x->call = call;
	x->api = api;
	x->in = in;
	x->out = out;
	x->in_tokens = x->out_tokens = x->cache_read = x->cache_creation = x->thoughts =
		LLM_TOKENS_UNSET;
}

void x_str(char *dst, size_t len, const struct json_value *v)
{
	if (v->type == JSON_STRING)
		llm_strcpy(dst, len, v->s, v->len);
}

void x_tokens(int64_t *dst, const struct json_value *v)
{
	if (v->type == JSON_NUMBER && v->i >= 0 && v->i <= LLM_TOKENS_MAX)
		*dst = v->i;
}

bool x_is(const struct extract *x, const struct json_path *p, const char *pat)
{
	return json_path_is_from(p, x->skip, pat);
}

void x_message(struct content *c, const char *role, const struct json_value *v)
{
	if (!c || v->type != JSON_STRING)
		return;
	content_end(c, 0);
	content_text(c, 0, role, v->s, v->len, v->truncated);
	content_end(c, 0);
}

bool x_request_top(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	struct llm_call *c = x->call;
	const char *k;

	/* Containers' starts and ends stay the caller's (a "system" array ends a message). */
	if (p->depth != 1 || v->type >= JSON_OBJECT_START)
		return false;
	k = json_path_key(p);
	if (!strcmp(k, "model"))
		x_str(c->request_model, sizeof(c->request_model), v);
	else if (!strcmp(k, "stream") && v->type == JSON_BOOL)
		c->stream = v->b;
	else if (x->in && (!strcmp(k, "system") || !strcmp(k, "instructions")))
		x_message(x->in, "system", v);
	else if (x->in && (!strcmp(k, "prompt") || !strcmp(k, "input")))
		x_message(x->in, "user", v);
	return true;
}

void extract_request(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	switch (x->api) {
	case LLM_API_OPENAI_CHAT:
	case LLM_API_OPENAI_COMPLETIONS:
	case LLM_API_OPENAI_RESPONSES:
	case LLM_API_OPENAI_EMBEDDINGS:
		openai_request(x, p, v);
		break;
	case LLM_API_ANTHROPIC_MESSAGES:
		anthropic_request(x, p, v);
		break;
	case LLM_API_GEMINI_GENERATE:
	case LLM_API_GEMINI_EMBED:
		gemini_request(x, p, v);
		break;
	case LLM_API_OLLAMA_CHAT:
	case LLM_API_OLLAMA_GENERATE:
	case LLM_API_OLLAMA_EMBED:
		ollama_request(x, p, v);
		break;
	default:
		break;
	}
}

void extract_response(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	/* A chunk's "type" comes first in OpenAI's and Anthropic's events. */
	if (p->depth == 1 + x->skip && v->type == JSON_STRING && !strcmp(json_path_key(p), "type"))
		llm_strcpy(x->ev_type, sizeof(x->ev_type), v->s, v->len);
	switch (x->api) {
	case LLM_API_OPENAI_CHAT:
	case LLM_API_OPENAI_COMPLETIONS:
	case LLM_API_OPENAI_RESPONSES:
	case LLM_API_OPENAI_EMBEDDINGS:
		openai_response(x, p, v);
		break;
	case LLM_API_ANTHROPIC_MESSAGES:
		anthropic_response(x, p, v);
		break;
	case LLM_API_GEMINI_GENERATE:
	case LLM_API_GEMINI_EMBED:
		gemini_response(x, p, v);
		break;
	case LLM_API_OLLAMA_CHAT:
	case LLM_API_OLLAMA_GENERATE:
	case LLM_API_OLLAMA_EMBED:
		ollama_response(x, p, v);
		break;
	default:
		break;
	}
}

void extract_doc_end(struct extract *x)
{
	x->ev_type[0] = '\0';
}

void extract_finish(struct extract *x)
{
	if (x->api == LLM_API_ANTHROPIC_MESSAGES)
		anthropic_finish(x);
	else if (x->api == LLM_API_GEMINI_GENERATE || x->api == LLM_API_GEMINI_EMBED)
		gemini_finish(x);
	if (x->in)
		content_end_all(x->in);
	if (x->out)
		content_end_all(x->out);
}
