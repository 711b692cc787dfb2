/* SPDX-License-Identifier: MIT */
/*
 * Which LLM API a request is, from its method, host and path (and one
 * header): OpenAI (chat completions, completions, responses, embeddings)
 * at api.openai.com and at any OpenAI-compatible server (vLLM, llama.cpp,
 * LiteLLM and other gateways) by path, with the provider named from the
 * host where the conventions have a name for it (Azure OpenAI, Groq,
 * DeepSeek, Mistral, xAI, Perplexity, Gemini's OpenAI endpoint), else
 * "openai", the API flavour; Anthropic messages (api.anthropic.com, or
 * any host when anthropic-version is sent); Gemini generateContent and
 * streamGenerateContent, embedContent (generativelanguage.googleapis.com:
 * gcp.gemini, aiplatform.googleapis.com: gcp.vertex_ai), the model taken
 * from the path; Ollama's native /api/chat, /api/generate, /api/embed(dings).
 */
#ifndef SONDE_DECODE_PROVIDER_H
#define SONDE_DECODE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "model/llm.h"

struct llm_route {
	enum llm_api api;
	enum llm_provider provider;
	enum llm_operation operation;
	bool stream;		  /* the path says so (streamGenerateContent) */
	bool stream_default;	  /* streaming unless the body says "stream": false */
	char model[LLM_NAME_MAX]; /* from the path (Gemini), else "" */
};

/*
 * @host without port, lowercase not required. Returns true and fills
 * @r for an LLM API call, false otherwise.
 */
bool llm_route(const char *method, const char *path, size_t pathlen, const char *host,
	       bool anthropic_version, struct llm_route *r);

#endif /* SONDE_DECODE_PROVIDER_H */
