// SPDX-License-Identifier: MIT
/*
 * Ollama's native API: /api/chat, /api/generate (streamed as NDJSON by
 * default, "stream": false for one object), /api/embed. Token counts are
 * prompt_eval_count and eval_count in the final ("done": true) object.
 * An error is {"error": "text"}: its text is free-form (it can quote the
 * request), so only the HTTP status names it.
 */
#include <string.h>

#include "decode/extract.h"

void ollama_request(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	if (x_request_top(x, p, v) || !x->in)
		return;
	if (v->type == JSON_STRING && json_path_is(p, "input[]")) {
		x_message(x->in, "user", v);
	} else if (v->type == JSON_OBJECT_END && json_path_is(p, "messages[]")) {
		content_end(x->in, 0);
	} else if (v->type == JSON_STRING) {
		if (json_path_is(p, "messages[].role"))
			content_role(x->in, 0, v->s, v->len);
		else if (json_path_is(p, "messages[].content"))
			content_text(x->in, 0, "user", v->s, v->len, v->truncated);
	}
}

void ollama_response(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	struct llm_call *c = x->call;
	const char *k = json_path_key(p);

	if (p->depth == 1) {
		if (!strcmp(k, "model"))
			x_str(c->response_model, sizeof(c->response_model), v);
		else if (!strcmp(k, "done_reason") && v->type == JSON_STRING)
			llm_call_add_finish(c, v->s, v->len);
		else if (!strcmp(k, "prompt_eval_count"))
			x_tokens(&c->input_tokens, v);
		else if (!strcmp(k, "eval_count"))
			x_tokens(&c->output_tokens, v);
		else if (!strcmp(k, "response") && x->out && v->type == JSON_STRING)
			content_text(x->out, 0, "assistant", v->s, v->len, v->truncated);
		return;
	}
	if (p->depth == 2 && x->out && v->type == JSON_STRING && !strcmp(p->f[0].key, "message")) {
		if (!strcmp(k, "role"))
			content_role(x->out, 0, v->s, v->len);
		else if (!strcmp(k, "content"))
			content_text(x->out, 0, "assistant", v->s, v->len, v->truncated);
	}
}
