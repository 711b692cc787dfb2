// SPDX-License-Identifier: MIT
/*
 * Google Gemini (generativelanguage and Vertex AI): generateContent, and
 * streamGenerateContent as SSE (alt=sse) or as one JSON array of
 * responses (x->skip = 1 hides the array). usageMetadata is cumulative in
 * a stream: the last value wins. candidatesTokenCount excludes thoughts;
 * the conventions' output tokens include reasoning, so output =
 * candidates + thoughts.
 */
#include <string.h>

#include "decode/extract.h"

void gemini_request(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	if (!x->in)
		return;
	if (v->type == JSON_STRING) {
		if (json_path_is(p, "contents[].role"))
			content_role(x->in, 0, v->s, v->len);
		else if (json_path_is(p, "contents[].parts[].text") ||
			 json_path_is(p, "content.parts[].text") ||
			 json_path_is(p, "requests[].content.parts[].text"))
			content_text(x->in, 0, "user", v->s, v->len, v->truncated);
		else if (json_path_is(p, "systemInstruction.parts[].text") ||
			 json_path_is(p, "system_instruction.parts[].text"))
			content_text(x->in, 0, "system", v->s, v->len, v->truncated);
	} else if (v->type == JSON_OBJECT_END &&
		   (json_path_is(p, "contents[]") || json_path_is(p, "systemInstruction") ||
		    json_path_is(p, "system_instruction") || json_path_is(p, "content") ||
		    json_path_is(p, "requests[]"))) {
		content_end(x->in, 0);
	}
}

void gemini_response(struct extract *x, const struct json_path *p, const struct json_value *v)
{
	struct llm_call *c = x->call;
	unsigned int d;
	const char *k;

	/* A streamed JSON array: "[{...},{...}]" */
	if (p->depth == 0 && v->type == JSON_ARRAY_START) {
		x->skip = 1;
		x->stream_seen = true;
		return;
	}
	if (p->depth <= x->skip)
		return;
	d = p->depth - x->skip;
	k = json_path_key(p);
	if (d == 1) {
		if (!strcmp(k, "responseId"))
			x_str(c->response_id, sizeof(c->response_id), v);
		else if (!strcmp(k, "modelVersion"))
			x_str(c->response_model, sizeof(c->response_model), v);
		return;
	}
	if (!strcmp(p->f[x->skip].key, "usageMetadata") && d == 2) {
		if (!strcmp(k, "promptTokenCount"))
			x_tokens(&c->input_tokens, v);
		else if (!strcmp(k, "candidatesTokenCount"))
			x_tokens(&x->out_tokens, v);
		else if (!strcmp(k, "thoughtsTokenCount"))
			x_tokens(&x->thoughts, v);
		else if (!strcmp(k, "cachedContentTokenCount"))
			x_tokens(&c->cache_read_tokens, v);
		return;
	}
	if (!strcmp(p->f[x->skip].key, "error")) {
		if (d == 2 && !strcmp(k, "status"))
			x_str(c->error_type, sizeof(c->error_type), v);
		return;
	}
	if (strcmp(p->f[x->skip].key, "candidates") || v->type != JSON_STRING)
		return;
	if (x_is(x, p, "candidates[].finishReason")) {
		llm_call_add_finish(c, v->s, v->len);
		if (x->out)
			content_finish(x->out, p->f[x->skip + 1].index, v->s, v->len);
	} else if (x->out && x_is(x, p, "candidates[].content.role")) {
		content_role(x->out, p->f[x->skip + 1].index, v->s, v->len);
	} else if (x->out && x_is(x, p, "candidates[].content.parts[].text")) {
		content_text(x->out, p->f[x->skip + 1].index, "model", v->s, v->len, v->truncated);
	}
}

void gemini_finish(struct extract *x)
{
	struct llm_call *c = x->call;

	if (x->out_tokens != LLM_TOKENS_UNSET || x->thoughts != LLM_TOKENS_UNSET)
		c->output_tokens = (x->out_tokens != LLM_TOKENS_UNSET ? x->out_tokens : 0) +
				   (x->thoughts != LLM_TOKENS_UNSET ? x->thoughts : 0);
	c->reasoning_tokens = x->thoughts;
}
