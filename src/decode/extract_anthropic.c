// SPDX-License-Identifier: MIT
/*
 * Anthropic's Messages API. Usage comes in message_start (message.usage)
 * and again, cumulative, in message_delta (usage): the last value wins.
 * Anthropic's input_tokens exclude cached tokens; the conventions'
 * gen_ai.usage.input_tokens is input + cache_read + cache_creation.
 */
#include <string.h>

#include "decode/extract.h"

static void usage(struct extract *x, const char *k, const struct json_value *v)
{
	if (!strcmp(k, "input_tokens"))
		x_tokens(&x->in_tokens, v);
	else if (!strcmp(k, "output_tokens"))
		x_tokens(&x->out_tokens, v);
	else if (!strcmp(k, "cache_read_input_tokens"))
		x_tokens(&x->cache_read, v);
	else if (!strcmp(k, "cache_creation_input_tokens"))
		x_tokens(&x->cache_creation, v);
}

void anthropic_request(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	if (x_request_top(x, p, v) || !x->in || v->type == JSON_NULL)
		return;
	if (json_path_is(p, "system[].text") && v->type == JSON_STRING) {
		content_text(x->in, 0, "system", v->s, v->len, v->truncated);
	} else if (v->type == JSON_ARRAY_END && json_path_is(p, "system")) {
		content_end(x->in, 0);
	} else if (v->type == JSON_OBJECT_END && json_path_is(p, "messages[]")) {
		content_end(x->in, 0);
	} else if (v->type == JSON_STRING) {
		if (json_path_is(p, "messages[].role"))
			content_role(x->in, 0, v->s, v->len);
		else if (json_path_is(p, "messages[].content") ||
			 json_path_is(p, "messages[].content[].text"))
			content_text(x->in, 0, "user", v->s, v->len, v->truncated);
	}
}

void anthropic_response(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	struct llm_call *c = x->call;
	const char *k = json_path_key(p);

	switch (p->depth) {
	case 1:
		if (!strcmp(k, "id"))
			x_str(c->response_id, sizeof(c->response_id), v);
		else if (!strcmp(k, "model"))
			x_str(c->response_model, sizeof(c->response_model), v);
		else if (!strcmp(k, "stop_reason") && v->type == JSON_STRING)
			llm_call_add_finish(c, v->s, v->len);
		else if (!strcmp(k, "role") && x->out && v->type == JSON_STRING)
			content_role(x->out, 0, v->s, v->len);
		return;
	case 2:
		if (!strcmp(p->f[0].key, "usage")) {
			usage(x, k, v);
		} else if (!strcmp(p->f[0].key, "message")) {
			if (!strcmp(k, "id"))
				x_str(c->response_id, sizeof(c->response_id), v);
			else if (!strcmp(k, "model"))
				x_str(c->response_model, sizeof(c->response_model), v);
		} else if (!strcmp(p->f[0].key, "delta") && v->type == JSON_STRING) {
			if (!strcmp(k, "stop_reason"))
				llm_call_add_finish(c, v->s, v->len);
			else if (!strcmp(k, "text") && x->out)
				content_text(x->out, 0, "assistant", v->s, v->len, v->truncated);
		} else if (!strcmp(p->f[0].key, "error") && !strcmp(k, "type")) {
			x_str(c->error_type, sizeof(c->error_type), v);
		}
		return;
	case 3:
		if (!p->f[1].array && !strcmp(p->f[0].key, "message") &&
		    !strcmp(p->f[1].key, "usage"))
			usage(x, k, v);
		else if (x->out && v->type == JSON_STRING && json_path_is(p, "content[].text"))
			content_text(x->out, 0, "assistant", v->s, v->len, v->truncated);
		return;
	}
}

void anthropic_finish(struct extract *x)
{
	struct llm_call *c = x->call;

	if (x->in_tokens != LLM_TOKENS_UNSET)
		c->input_tokens = x->in_tokens +
				  (x->cache_read != LLM_TOKENS_UNSET ? x->cache_read : 0) +
				  (x->cache_creation != LLM_TOKENS_UNSET ? x->cache_creation : 0);
	c->output_tokens = x->out_tokens;
	c->cache_read_tokens = x->cache_read;
	c->cache_creation_tokens = x->cache_creation;
}
