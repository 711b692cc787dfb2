// SPDX-License-Identifier: MIT
/*
 * OpenAI's APIs and everything compatible with them: chat completions
 * (choices[], usage.prompt_tokens/completion_tokens with their _details),
 * legacy completions, embeddings, and the Responses API (usage
 * input_tokens/output_tokens; streamed as typed events whose "response"
 * object carries the ids and, at the end, the usage).
 */
#include <stdio.h>
#include <string.h>

#include "decode/extract.h"

static bool is_str(const struct json_value *v)
{
	return v->type == JSON_STRING;
}

/* A message of an array (messages[], input[]): role, text, its end. */
static void array_message(struct extract *x, const struct json_path *p, const struct json_value *v,
			  const char *arr)
{
	char pat[48];

	if (!x->in)
		return;
	snprintf(pat, sizeof(pat), "%s[]", arr);
	if (v->type == JSON_OBJECT_END && json_path_is(p, pat)) {
		content_end(x->in, 0);
		return;
	}
	snprintf(pat, sizeof(pat), "%s[].role", arr);
	if (is_str(v) && json_path_is(p, pat)) {
		content_role(x->in, 0, v->s, v->len);
		return;
	}
	snprintf(pat, sizeof(pat), "%s[].content", arr);
	if (is_str(v) && json_path_is(p, pat)) {
		content_text(x->in, 0, "user", v->s, v->len, v->truncated);
		return;
	}
	snprintf(pat, sizeof(pat), "%s[].content[].text", arr);
	if (is_str(v) && json_path_is(p, pat))
		content_text(x->in, 0, "user", v->s, v->len, v->truncated);
}

void openai_request(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	if (x_request_top(x, p, v))
		return;
	if (!x->in || !p->depth)
		return;
	if (!strcmp(p->f[0].key, "messages"))
		array_message(x, p, v, "messages");
	else if (!strcmp(p->f[0].key, "input"))
		array_message(x, p, v, "input");
}

static void usage(struct extract *x, const struct json_path *p, const struct json_value *v,
		  unsigned int from)
{
	struct llm_call *c = x->call;

	if (json_path_is_from(p, from, "usage.prompt_tokens") ||
	    json_path_is_from(p, from, "usage.input_tokens"))
		x_tokens(&c->input_tokens, v);
	else if (json_path_is_from(p, from, "usage.completion_tokens") ||
		 json_path_is_from(p, from, "usage.output_tokens"))
		x_tokens(&c->output_tokens, v);
	else if (json_path_is_from(p, from, "usage.prompt_tokens_details.cached_tokens") ||
		 json_path_is_from(p, from, "usage.input_tokens_details.cached_tokens"))
		x_tokens(&c->cache_read_tokens, v);
	else if (json_path_is_from(p, from, "usage.completion_tokens_details.reasoning_tokens") ||
		 json_path_is_from(p, from, "usage.output_tokens_details.reasoning_tokens"))
		x_tokens(&c->reasoning_tokens, v);
}

static void error_field(struct extract *x, const struct json_path *p, const struct json_value *v,
			unsigned int from)
{
	struct llm_call *c = x->call;

	if (!is_str(v))
		return;
	/* The code ("rate_limit_exceeded") is the more specific; type is the fallback. */
	if (json_path_is_from(p, from, "error.code"))
		x_str(c->error_type, sizeof(c->error_type), v);
	else if (json_path_is_from(p, from, "error.type") && !c->error_type[0])
		x_str(c->error_type, sizeof(c->error_type), v);
}

/* Chat completions and completions: choices[]. */
static void choices(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	struct llm_call *c = x->call;

	if (v->type == JSON_OBJECT_START && json_path_is(p, "choices[]")) {
		x->choice = p->f[1].index;
		return;
	}
	if (json_path_is(p, "choices[].index")) {
		if (v->type == JSON_NUMBER && v->i >= 0)
			x->choice = (unsigned int)v->i;
		return;
	}
	if (json_path_is(p, "choices[].finish_reason")) {
		if (is_str(v)) {
			llm_call_add_finish(c, v->s, v->len);
			if (x->out)
				content_finish(x->out, x->choice, v->s, v->len);
		}
		return;
	}
	if (!x->out || !is_str(v))
		return;
	if (json_path_is(p, "choices[].message.role") || json_path_is(p, "choices[].delta.role"))
		content_role(x->out, x->choice, v->s, v->len);
	else if (json_path_is(p, "choices[].message.content") ||
		 json_path_is(p, "choices[].delta.content") || json_path_is(p, "choices[].text"))
		content_text(x->out, x->choice, "assistant", v->s, v->len, v->truncated);
}

/* The Responses API: top-level fields, or inside "response" in a stream. */
static void responses(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	struct llm_call *c = x->call;
	unsigned int from = p->depth >= 2 && !strcmp(p->f[0].key, "response") ? 1 : 0;
	const char *k = json_path_key(p);

	if (p->depth == from + 1) {
		if (!strcmp(k, "id"))
			x_str(c->response_id, sizeof(c->response_id), v);
		else if (!strcmp(k, "model"))
			x_str(c->response_model, sizeof(c->response_model), v);
		else if (!strcmp(k, "status") && is_str(v) &&
			 (v->len == 9 && !memcmp(v->s, "completed", 9)))
			llm_call_add_finish(c, v->s, v->len);
		else if (!from && !strcmp(k, "delta") && x->out &&
			 !strcmp(x->ev_type, "response.output_text.delta") && is_str(v))
			content_text(x->out, 0, "assistant", v->s, v->len, v->truncated);
		else if (!from && !strcmp(k, "code") && !strcmp(x->ev_type, "error"))
			x_str(c->error_type, sizeof(c->error_type), v);
		return;
	}
	if (json_path_is_from(p, from, "incomplete_details.reason") && is_str(v)) {
		llm_call_add_finish(c, v->s, v->len);
		return;
	}
	usage(x, p, v, from);
	error_field(x, p, v, from);
	/* Whole output only when not streamed: a stream already gave its deltas. */
	if (!x->out || x->stream_seen || from || !is_str(v))
		return;
	if (json_path_is(p, "output[].role"))
		content_role(x->out, p->f[1].index, v->s, v->len);
	else if (json_path_is(p, "output[].content[].text"))
		content_text(x->out, p->f[1].index, "assistant", v->s, v->len, v->truncated);
}

void openai_response(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	struct llm_call *c = x->call;

	if (!p->depth)
		return;
	if (x->api == LLM_API_OPENAI_RESPONSES) {
		responses(x, p, v);
		return;
	}
	if (p->depth == 1) {
		const char *k = json_path_key(p);

		if (!strcmp(k, "id"))
			x_str(c->response_id, sizeof(c->response_id), v);
		else if (!strcmp(k, "model"))
			x_str(c->response_model, sizeof(c->response_model), v);
		return;
	}
	if (!strcmp(p->f[0].key, "choices"))
		choices(x, p, v);
	else if (!strcmp(p->f[0].key, "usage"))
		usage(x, p, v, 0);
	else if (!strcmp(p->f[0].key, "error"))
		error_field(x, p, v, 0);
}
