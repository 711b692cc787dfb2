// SPDX-License-Identifier: MIT
#include <string.h>
#include <strings.h>

#include "decode/provider.h"

/* Does @host end with @suffix at a label boundary (or equal it)? */
static bool host_is(const char *host, const char *suffix)
{
	size_t h = strlen(host), s = strlen(suffix);

	if (h < s || strcasecmp(host + h - s, suffix))
		return false;
	return h == s || host[h - s - 1] == '.';
}

/* aiplatform.googleapis.com or a regional REGION-aiplatform.googleapis.com. */
static bool is_vertex(const char *host)
{
	size_t h = strlen(host);

	return host_is(host, "aiplatform.googleapis.com") ||
	       (h > 26 && !strcasecmp(host + h - 26, "-aiplatform.googleapis.com"));
}

static enum llm_provider openai_flavour(const char *host, const char *path, size_t n)
{
	static const struct {
		const char *host;
		enum llm_provider p;
	} hosts[] = {
		{"openai.azure.com", LLM_PROVIDER_AZURE_OPENAI},
		{"api.groq.com", LLM_PROVIDER_GROQ},
		{"api.deepseek.com", LLM_PROVIDER_DEEPSEEK},
		{"api.mistral.ai", LLM_PROVIDER_MISTRAL},
		{"api.x.ai", LLM_PROVIDER_X_AI},
		{"api.perplexity.ai", LLM_PROVIDER_PERPLEXITY},
		{"generativelanguage.googleapis.com", LLM_PROVIDER_GCP_GEMINI},
	};

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (host_is(host, hosts[i].host))
			return hosts[i].p;
	return LLM_PROVIDER_OPENAI;
}

/* Does the path (before any '?') end with @suffix? */
static bool path_ends(const char *path, size_t n, const char *suffix)
{
	size_t s = strlen(suffix);

	return n >= s && !memcmp(path + n - s, suffix, s);
}

/* Gemini: ".../models/MODEL:METHOD"; the model and the method. */
static bool gemini_method(const char *path, size_t n, struct llm_route *r)
{
	const char *m = NULL, *colon;

	for (size_t i = 0; i + 7 <= n; i++)
		if (!memcmp(path + i, "models/", 7))
			m = path + i + 7;
	if (!m)
		return false;
	colon = memchr(m, ':', (size_t)(path + n - m));
	if (!colon)
		return false;
	llm_strcpy(r->model, sizeof(r->model), m, (size_t)(colon - m));
	colon++;
	n = (size_t)(path + n - colon);
	if (n == 15 && !memcmp(colon, "generateContent", 15)) {
		r->api = LLM_API_GEMINI_GENERATE;
		r->operation = LLM_OP_GENERATE_CONTENT;
	} else if (n == 21 && !memcmp(colon, "streamGenerateContent", 21)) {
		r->api = LLM_API_GEMINI_GENERATE;
		r->operation = LLM_OP_GENERATE_CONTENT;
		r->stream = true;
	} else if ((n == 12 && !memcmp(colon, "embedContent", 12)) ||
		   (n == 18 && !memcmp(colon, "batchEmbedContents", 18))) {
		r->api = LLM_API_GEMINI_EMBED;
		r->operation = LLM_OP_EMBEDDINGS;
	} else {
		return false;
	}
	return true;
}

bool llm_route(const char *method, const char *path, size_t pathlen, const char *host,
	       bool anthropic_version, struct llm_route *r)
{
	const char *q = memchr(path, '?', pathlen);
	size_t n = q ? (size_t)(q - path) : pathlen;

	memset(r, 0, sizeof(*r));
	if (strcmp(method, "POST"))
		return false;
	if (host_is(host, "generativelanguage.googleapis.com") || is_vertex(host)) {
		if (gemini_method(path, n, r)) {
			r->provider = is_vertex(host) ? LLM_PROVIDER_GCP_VERTEX_AI
						      : LLM_PROVIDER_GCP_GEMINI;
			return true;
		}
	}
	if (path_ends(path, n, "/chat/completions")) {
		r->api = LLM_API_OPENAI_CHAT;
		r->operation = LLM_OP_CHAT;
	} else if (path_ends(path, n, "/v1/completions") || path_ends(path, n, "/completions")) {
		r->api = LLM_API_OPENAI_COMPLETIONS;
		r->operation = LLM_OP_TEXT_COMPLETION;
	} else if (path_ends(path, n, "/v1/responses") || path_ends(path, n, "/openai/responses")) {
		r->api = LLM_API_OPENAI_RESPONSES;
		r->operation = LLM_OP_CHAT;
	} else if (path_ends(path, n, "/embeddings") &&
		   !(n == 15 && !memcmp(path, "/api/embeddings", 15))) {
		r->api = LLM_API_OPENAI_EMBEDDINGS;
		r->operation = LLM_OP_EMBEDDINGS;
	} else if (path_ends(path, n, "/v1/messages") &&
		   (anthropic_version || host_is(host, "api.anthropic.com"))) {
		r->api = LLM_API_ANTHROPIC_MESSAGES;
		r->operation = LLM_OP_CHAT;
		r->provider = LLM_PROVIDER_ANTHROPIC;
		return true;
	} else if (n == 9 && !memcmp(path, "/api/chat", 9)) {
		r->api = LLM_API_OLLAMA_CHAT;
		r->operation = LLM_OP_CHAT;
		r->provider = LLM_PROVIDER_OLLAMA;
		r->stream_default = true;
		return true;
	} else if (n == 13 && !memcmp(path, "/api/generate", 13)) {
		r->api = LLM_API_OLLAMA_GENERATE;
		r->operation = LLM_OP_TEXT_COMPLETION;
		r->provider = LLM_PROVIDER_OLLAMA;
		r->stream_default = true;
		return true;
	} else if ((n == 10 && !memcmp(path, "/api/embed", 10)) ||
		   (n == 15 && !memcmp(path, "/api/embeddings", 15))) {
		r->api = LLM_API_OLLAMA_EMBED;
		r->operation = LLM_OP_EMBEDDINGS;
		r->provider = LLM_PROVIDER_OLLAMA;
		return true;
	} else {
		return false;
	}
	r->provider = openai_flavour(host, path, n);
	return true;
}
