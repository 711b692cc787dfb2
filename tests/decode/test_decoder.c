// SPDX-License-Identifier: MIT
/*
 * The decoder end to end over HTTP/1.1: realistic requests and responses
 * of each provider, streamed and not, errors, encodings, keep-alive,
 * pipelining, gaps and limits, with exact expected fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <criterion/criterion.h>
#include <zlib.h>

#include "decode_helpers.h"

#define MS 1000000ull

static struct tdec t;

static void setup(void)
{
	tdec_init(&t, NULL);
}

static void teardown(void)
{
	tdec_free(&t);
}

TestSuite(decoder, .init = setup, .fini = teardown);

/* Write @req at @t0, read @resp at @t1, as one chunk each. */
static void exchange(const char *req, uint64_t t0, const char *resp, uint64_t t1)
{
	tdec_writes(&t, t0, req);
	tdec_reads(&t, t1, resp);
}

static const struct llm_call *only_call(void)
{
	cr_assert_eq(t.calls.n, 1, "calls: %u", t.calls.n);
	return &t.calls.v[0];
}

static void assert_finish(const struct llm_call *c, const char *want)
{
	cr_assert_eq(c->n_finish_reasons, 1, "finish reasons: %u", c->n_finish_reasons);
	cr_assert_str_eq(c->finish_reasons[0], want);
}

Test(decoder, openai_chat)
{
	char *req = h1_request("/v1/chat/completions", "api.openai.com",
			       "Authorization: Bearer " PLANTED_KEY "\r\n", OPENAI_CHAT_REQ);
	char *resp = h1_response(200, "application/json", "openai-processing-ms: 631\r\n",
				 OPENAI_CHAT_RESP);
	const struct llm_call *c;
	char buf[32];

	tdec_open(&t, 900 * MS);
	exchange(req, 1000 * MS, resp, 1631 * MS);
	c = only_call();
	cr_assert_eq(c->pid, 4242);
	cr_assert_eq(c->tid, 4243);
	cr_assert_eq(c->conn_id, 0x7f0012345678ull);
	cr_assert_eq(c->http_version, 11);
	cr_assert_eq(c->provider, LLM_PROVIDER_OPENAI);
	cr_assert_str_eq(llm_provider_name(c->provider), "openai");
	cr_assert_str_eq(llm_operation_name(c->operation), "chat");
	cr_assert_str_eq(llm_openai_api_type(c->api), "chat_completions");
	cr_assert_str_eq(c->server_address, "api.openai.com");
	cr_assert_eq(c->server_port, 0);
	cr_assert_str_eq(c->request_model, "gpt-4o");
	cr_assert_str_eq(c->response_model, "gpt-4o-2024-08-06");
	cr_assert_str_eq(c->response_id, "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
	cr_assert_eq(c->stream, false);
	cr_assert_eq(c->http_status, 200);
	cr_assert_null(llm_call_error_type(c, buf, sizeof(buf)));
	assert_finish(c, "stop");
	cr_assert_eq(c->input_tokens, 1117);
	cr_assert_eq(c->output_tokens, 46);
	cr_assert_eq(c->cache_read_tokens, 1024);
	cr_assert_eq(c->reasoning_tokens, 0);
	cr_assert_eq(c->cache_creation_tokens, LLM_TOKENS_UNSET);
	cr_assert_eq(c->start_ns, 1000 * MS);
	cr_assert_eq(c->end_ns, 1631 * MS);
	cr_assert_eq(llm_call_duration_ns(c), 631 * MS);
	cr_assert_eq(c->chunks, 0);
	cr_assert_eq(llm_call_ttfc_ns(c), 0);
	cr_assert_eq(c->unparsed, 0);
	cr_assert_eq(c->request_bytes, strlen(OPENAI_CHAT_REQ));
	cr_assert_eq(c->response_bytes, strlen(OPENAI_CHAT_RESP));
	cr_assert_null(c->input_messages);
	cr_assert_null(c->output_messages);
	free(req);
	free(resp);
}

/* The SSE body in chunked coding, one event per read, 40 ms apart. */
static void stream_openai(uint64_t t0)
{
	char *req =
		h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_STREAM_REQ);
	char *resp =
		h1_response_chunked(200, "text/event-stream; charset=utf-8", OPENAI_CHAT_SSE, 4096);
	const char *body = strstr(resp, "\r\n\r\n") + 4;
	const char *p = body;
	uint64_t ts = t0 + 300 * MS;

	tdec_writes(&t, t0, req);
	/* The header section and the chunk size line first, then event by event. */
	tdec_read(&t, ts, resp, (size_t)(strstr(body, "data:") - resp));
	p = strstr(body, "data:");
	while (*p) {
		const char *e = strstr(p, "\n\n");
		size_t n = e ? (size_t)(e + 2 - p) : strlen(p);

		ts += 40 * MS;
		tdec_read(&t, ts, p, n);
		p += n;
	}
	free(req);
	free(resp);
}

Test(decoder, openai_chat_stream)
{
	const struct llm_call *c;

	stream_openai(5000 * MS);
	c = only_call();
	cr_assert_eq(c->stream, true);
	cr_assert_str_eq(c->request_model, "gpt-4o-mini");
	cr_assert_str_eq(c->response_model, "gpt-4o-mini-2024-07-18");
	cr_assert_str_eq(c->response_id, "chatcmpl-AbC123");
	assert_finish(c, "stop");
	cr_assert_eq(c->input_tokens, 9);
	cr_assert_eq(c->output_tokens, 6);
	cr_assert_eq(c->cache_read_tokens, 0);
	cr_assert_eq(c->reasoning_tokens, 0);
	/* 6 data events ([DONE] is not one), 40 ms apart, the first at +340 ms. */
	cr_assert_eq(c->chunks, 6);
	cr_assert_eq(llm_call_ttfc_ns(c), 340 * MS);
	cr_assert_eq(c->chunk_gap_sum_ns, 5 * 40 * MS);
	/* 40 ms is in (0.02, 0.04]: bucket 2 of the conventions' bounds. */
	cr_assert_eq(c->chunk_gap_buckets[2], 5);
	/* The last read (the terminating chunk and [DONE]) at +300 + 7 * 40 ms. */
	cr_assert_eq(llm_call_duration_ns(c), 580 * MS);
	cr_assert_eq(c->unparsed, 0);
}

/* Any split of the byte streams decodes to the same record. */
static char *decode_split(const char *req, const char *resp, size_t wsplit, size_t rsplit,
			  bool bytewise)
{
	struct tdec u;
	char *s;

	tdec_init(&u, &(struct llm_decoder_opts){.capture_content = true});
	if (bytewise) {
		for (size_t i = 0; req[i]; i++)
			tdec_write(&u, 1, req + i, 1);
		for (size_t i = 0; resp[i]; i++)
			tdec_read(&u, 2, resp + i, 1);
	} else {
		tdec_write(&u, 1, req, wsplit);
		tdec_write(&u, 1, req + wsplit, strlen(req) - wsplit);
		tdec_read(&u, 2, resp, rsplit);
		tdec_read(&u, 2, resp + rsplit, strlen(resp) - rsplit);
	}
	cr_assert_eq(u.calls.n, 1, "split %zu/%zu: %u calls", wsplit, rsplit, u.calls.n);
	s = call_text(&u.calls.v[0]);
	tdec_free(&u);
	return s;
}

/* Takes @req and @resp (malloc'd) and frees them. */
static void every_split(char *req, char *resp)
{
	char *ref = decode_split(req, resp, 0, 0, false), *s;

	cr_assert(strstr(ref, "unparsed=0;"), "%s", ref);
	for (size_t k = 1; k < strlen(req); k++) {
		s = decode_split(req, resp, k, 0, false);
		cr_assert_str_eq(s, ref, "request split at %zu", k);
		free(s);
	}
	for (size_t k = 1; k < strlen(resp); k++) {
		s = decode_split(req, resp, 0, k, false);
		cr_assert_str_eq(s, ref, "response split at %zu", k);
		free(s);
	}
	s = decode_split(req, resp, 0, 0, true);
	cr_assert_str_eq(s, ref, "byte by byte");
	free(s);
	free(ref);
	free(req);
	free(resp);
}

Test(decoder, every_split_openai_stream)
{
	every_split(
		h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_STREAM_REQ),
		h1_response_chunked(200, "text/event-stream", OPENAI_CHAT_SSE, 300));
}

Test(decoder, every_split_anthropic_stream)
{
	every_split(h1_request("/v1/messages", "api.anthropic.com",
			       "x-api-key: " PLANTED_KEY "\r\nanthropic-version: 2023-06-01\r\n",
			       ANTHROPIC_REQ),
		    h1_response_chunked(200, "text/event-stream", ANTHROPIC_SSE, 500));
}

Test(decoder, every_split_ollama_ndjson)
{
	every_split(h1_request("/api/chat", "localhost:11434", "", OLLAMA_CHAT_REQ),
		    h1_response_chunked(200, "application/x-ndjson", OLLAMA_CHAT_NDJSON, 128));
}

Test(decoder, every_split_gemini_array)
{
	every_split(h1_request("/v1beta/models/gemini-2.0-flash:streamGenerateContent",
			       "generativelanguage.googleapis.com", "", GEMINI_REQ),
		    h1_response(200, "application/json; charset=UTF-8", "", GEMINI_ARRAY));
}

Test(decoder, openai_errors)
{
	char *req = h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_REQ);
	char *r429 =
		h1_response(429, "application/json",
			    "retry-after: 2\r\nx-ratelimit-remaining-tokens: 0\r\n", OPENAI_429);
	char *r500 = h1_response(500, "application/json", "", OPENAI_500);
	char buf[64];

	exchange(req, 1 * MS, r429, 90 * MS);
	exchange(req, 100 * MS, r500, 350 * MS);
	cr_assert_eq(t.calls.n, 2);
	cr_assert_eq(t.calls.v[0].http_status, 429);
	cr_assert_str_eq(t.calls.v[0].error_type, "rate_limit_exceeded");
	cr_assert_str_eq(llm_call_error_type(&t.calls.v[0], buf, sizeof(buf)),
			 "rate_limit_exceeded");
	cr_assert_eq(t.calls.v[0].input_tokens, LLM_TOKENS_UNSET);
	cr_assert_eq(t.calls.v[0].n_finish_reasons, 0);
	cr_assert_eq(llm_call_duration_ns(&t.calls.v[0]), 89 * MS);
	cr_assert_eq(t.calls.v[1].http_status, 500);
	/* "code": null: the type names it. */
	cr_assert_str_eq(t.calls.v[1].error_type, "server_error");
	cr_assert_eq(t.calls.v[0].unparsed, 0);
	free(req);
	free(r429);
	free(r500);
}

Test(decoder, error_without_body_type_is_status)
{
	char *req = h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_REQ);
	char *resp = h1_response(502, "text/html", "", "<html>Bad Gateway</html>");
	char buf[64];

	exchange(req, 1, resp, 2);
	cr_assert_str_eq(llm_call_error_type(only_call(), buf, sizeof(buf)), "502");
	free(req);
	free(resp);
}

Test(decoder, anthropic_stream)
{
	char *req = h1_request("/v1/messages", "api.anthropic.com",
			       "anthropic-version: 2023-06-01\r\n", ANTHROPIC_REQ);
	char *resp =
		h1_response_chunked(200, "text/event-stream; charset=utf-8", ANTHROPIC_SSE, 200);
	const struct llm_call *c;

	exchange(req, 10 * MS, resp, 700 * MS);
	c = only_call();
	cr_assert_eq(c->provider, LLM_PROVIDER_ANTHROPIC);
	cr_assert_str_eq(llm_operation_name(c->operation), "chat");
	cr_assert_str_eq(c->request_model, "claude-sonnet-4-20250514");
	cr_assert_str_eq(c->response_model, "claude-sonnet-4-20250514");
	cr_assert_str_eq(c->response_id, "msg_01XFDUDYJgAACzvnptvVoYEL");
	cr_assert_eq(c->stream, true);
	assert_finish(c, "end_turn");
	/* 472 uncached + 2048 read from cache + 0 written. */
	cr_assert_eq(c->input_tokens, 2520);
	cr_assert_eq(c->cache_read_tokens, 2048);
	cr_assert_eq(c->cache_creation_tokens, 0);
	/* message_delta's 15 replaces message_start's 2. */
	cr_assert_eq(c->output_tokens, 15);
	cr_assert_eq(c->reasoning_tokens, LLM_TOKENS_UNSET);
	cr_assert_eq(c->chunks, 8);
	cr_assert_eq(llm_call_ttfc_ns(c), 690 * MS);
	free(req);
	free(resp);
}

Test(decoder, anthropic_message_and_429)
{
	char *req = h1_request("/v1/messages", "api.anthropic.com", "", ANTHROPIC_REQ);
	char *ok = h1_response(200, "application/json", "", ANTHROPIC_RESP);
	char *r429 = h1_response(429, "application/json", "retry-after: 30\r\n", ANTHROPIC_429);

	exchange(req, 1, ok, 2);
	exchange(req, 3, r429, 4);
	cr_assert_eq(t.calls.n, 2);
	cr_assert_str_eq(t.calls.v[0].response_id, "msg_013Zva2CMHLNnXjNJJKqJ2EF");
	cr_assert_str_eq(t.calls.v[0].response_model, "claude-3-5-haiku-20241022");
	assert_finish(&t.calls.v[0], "end_turn");
	cr_assert_eq(t.calls.v[0].input_tokens, 2195);
	cr_assert_eq(t.calls.v[0].cache_creation_tokens, 100);
	cr_assert_eq(t.calls.v[0].cache_read_tokens, 0);
	cr_assert_eq(t.calls.v[0].output_tokens, 503);
	cr_assert_eq(t.calls.v[1].http_status, 429);
	cr_assert_str_eq(t.calls.v[1].error_type, "rate_limit_error");
	free(req);
	free(ok);
	free(r429);
}

/*
 * Counts a body controls: 9e18 + 9e18 overflowed the input sum (fuzzer,
 * UBSan). A count above LLM_TOKENS_MAX is no count; the others still add.
 */
Test(decoder, anthropic_absurd_token_counts)
{
	char *req = h1_request("/v1/messages", "api.anthropic.com", "", ANTHROPIC_REQ);
	char *resp = h1_response(
		200, "application/json", "",
		"{\"id\":\"msg_x\",\"type\":\"message\",\"usage\":{"
		"\"input_tokens\":9000000000000000000,"
		"\"cache_read_input_tokens\":9000000000000000000,"
		"\"cache_creation_input_tokens\":1099511627776,"
		"\"output_tokens\":1099511627777}}");
	const struct llm_call *c;

	exchange(req, 1, resp, 2);
	c = only_call();
	cr_assert_eq(c->input_tokens, LLM_TOKENS_UNSET);
	cr_assert_eq(c->cache_read_tokens, LLM_TOKENS_UNSET);
	cr_assert_eq(c->cache_creation_tokens, INT64_C(1099511627776));
	cr_assert_eq(c->output_tokens, LLM_TOKENS_UNSET);
	free(req);
	free(resp);
}

Test(decoder, gemini_generate)
{
	char *req = h1_request(
		"/v1beta/models/"
		"gemini-2.5-flash:generateContent?key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
		"generativelanguage.googleapis.com",
		"x-goog-api-key: AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY\r\n", GEMINI_REQ);
	char *resp = h1_response(200, "application/json; charset=UTF-8", "", GEMINI_RESP);
	const struct llm_call *c;
	char *s;

	exchange(req, 1, resp, 2);
	c = only_call();
	cr_assert_eq(c->provider, LLM_PROVIDER_GCP_GEMINI);
	cr_assert_str_eq(llm_provider_name(c->provider), "gcp.gemini");
	cr_assert_str_eq(llm_operation_name(c->operation), "generate_content");
	cr_assert_str_eq(c->request_model, "gemini-2.5-flash");
	cr_assert_str_eq(c->response_model, "gemini-2.5-flash");
	cr_assert_str_eq(c->response_id, "mBm_aPrxBsOAz7IPk5HD2Qc");
	assert_finish(c, "STOP");
	cr_assert_eq(c->input_tokens, 8);
	/* 12 candidate tokens + 20 thinking tokens. */
	cr_assert_eq(c->output_tokens, 32);
	cr_assert_eq(c->reasoning_tokens, 20);
	cr_assert_eq(c->stream, false);
	s = call_text(c);
	cr_assert_null(strstr(s, "AIza"), "%s", s);
	free(s);
	free(req);
	free(resp);
}

Test(decoder, gemini_stream_sse_and_array)
{
	char *req1 = h1_request("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
				"generativelanguage.googleapis.com", "", GEMINI_REQ);
	char *sse = h1_response_chunked(200, "text/event-stream", GEMINI_SSE, 64);
	char *req2 = h1_request("/v1/projects/p1/locations/us-central1/publishers/google/models/"
				"gemini-2.0-flash:streamGenerateContent",
				"us-central1-aiplatform.googleapis.com", "", GEMINI_REQ);
	char *arr = h1_response(200, "application/json; charset=UTF-8", "", GEMINI_ARRAY);

	exchange(req1, 1, sse, 2);
	exchange(req2, 3, arr, 4);
	cr_assert_eq(t.calls.n, 2);
	cr_assert_eq(t.calls.v[0].stream, true);
	cr_assert_eq(t.calls.v[0].chunks, 3);
	cr_assert_eq(t.calls.v[0].input_tokens, 9);
	cr_assert_eq(t.calls.v[0].output_tokens, 17);
	cr_assert_eq(t.calls.v[0].cache_read_tokens, 4);
	assert_finish(&t.calls.v[0], "STOP");
	cr_assert_str_eq(t.calls.v[0].response_id, "Yk9oaOWgB6Ll7dcPq8Sw4Qs");
	cr_assert_eq(t.calls.v[1].provider, LLM_PROVIDER_GCP_VERTEX_AI);
	cr_assert_eq(t.calls.v[1].stream, true);
	cr_assert_eq(t.calls.v[1].chunks, 3);
	cr_assert_eq(t.calls.v[1].output_tokens, 5);
	assert_finish(&t.calls.v[1], "MAX_TOKENS");
	free(req1);
	free(sse);
	free(req2);
	free(arr);
}

Test(decoder, ollama_chat_generate_embed)
{
	char *req1 = h1_request("/api/chat", "localhost:11434", "", OLLAMA_CHAT_REQ);
	char *resp1 = h1_response_chunked(200, "application/x-ndjson", OLLAMA_CHAT_NDJSON, 100);
	char *req2 = h1_request("/api/generate", "127.0.0.1:11434", "", OLLAMA_GENERATE_REQ);
	char *resp2 = h1_response(200, "application/json; charset=utf-8", "", OLLAMA_GENERATE_RESP);
	char *req3 = h1_request("/api/embed", "[::1]:11434", "", OLLAMA_EMBED_REQ);
	char *resp3 = h1_response(200, "application/json; charset=utf-8", "", OLLAMA_EMBED_RESP);

	exchange(req1, 1, resp1, 2);
	exchange(req2, 3, resp2, 4);
	exchange(req3, 5, resp3, 6);
	cr_assert_eq(t.calls.n, 3);
	cr_assert_eq(t.calls.v[0].provider, LLM_PROVIDER_OLLAMA);
	cr_assert_str_eq(llm_provider_name(t.calls.v[0].provider), "ollama");
	cr_assert_str_eq(t.calls.v[0].server_address, "localhost");
	cr_assert_eq(t.calls.v[0].server_port, 11434);
	cr_assert_eq(t.calls.v[0].stream, true); /* Ollama streams unless told not to */
	cr_assert_eq(t.calls.v[0].chunks, 4);
	cr_assert_str_eq(t.calls.v[0].request_model, "llama3.2");
	cr_assert_str_eq(t.calls.v[0].response_model, "llama3.2");
	cr_assert_eq(t.calls.v[0].input_tokens, 26);
	cr_assert_eq(t.calls.v[0].output_tokens, 282);
	assert_finish(&t.calls.v[0], "stop");
	cr_assert_str_eq(llm_operation_name(t.calls.v[1].operation), "text_completion");
	cr_assert_eq(t.calls.v[1].stream, false);
	cr_assert_eq(t.calls.v[1].output_tokens, 290);
	assert_finish(&t.calls.v[1], "length");
	cr_assert_str_eq(llm_operation_name(t.calls.v[2].operation), "embeddings");
	cr_assert_str_eq(t.calls.v[2].server_address, "::1");
	cr_assert_eq(t.calls.v[2].input_tokens, 8);
	cr_assert_eq(t.calls.v[2].output_tokens, LLM_TOKENS_UNSET);
	free(req1);
	free(resp1);
	free(req2);
	free(resp2);
	free(req3);
	free(resp3);
}

Test(decoder, openai_embeddings_and_compatible_servers)
{
	char *req1 = h1_request("/v1/embeddings", "api.openai.com", "", OPENAI_EMBED_REQ);
	char *resp1 = h1_response(200, "application/json", "", OPENAI_EMBED_RESP);
	char *req2 = h1_request("/v1/chat/completions", "vllm.internal:8000", "", OPENAI_CHAT_REQ);
	char *req3 = h1_request("/openai/v1/chat/completions", "api.groq.com", "", OPENAI_CHAT_REQ);
	char *resp2 = h1_response(200, "application/json", "", OPENAI_CHAT_RESP);

	exchange(req1, 1, resp1, 2);
	exchange(req2, 3, resp2, 4);
	exchange(req3, 5, resp2, 6);
	cr_assert_eq(t.calls.n, 3);
	cr_assert_str_eq(llm_operation_name(t.calls.v[0].operation), "embeddings");
	cr_assert_str_eq(t.calls.v[0].request_model, "text-embedding-3-small");
	cr_assert_eq(t.calls.v[0].input_tokens, 8);
	cr_assert_eq(t.calls.v[1].provider, LLM_PROVIDER_OPENAI);
	cr_assert_str_eq(t.calls.v[1].server_address, "vllm.internal");
	cr_assert_eq(t.calls.v[1].server_port, 8000);
	cr_assert_eq(t.calls.v[2].provider, LLM_PROVIDER_GROQ);
	cr_assert_str_eq(llm_provider_name(t.calls.v[2].provider), "groq");
	free(req1);
	free(resp1);
	free(req2);
	free(req3);
	free(resp2);
}

Test(decoder, openai_responses)
{
	char *req = h1_request("/v1/responses", "api.openai.com", "", OPENAI_RESPONSES_REQ);
	char *sse = h1_response_chunked(200, "text/event-stream", OPENAI_RESPONSES_SSE, 1000);
	char *one = h1_response(200, "application/json", "", OPENAI_RESPONSES_RESP);

	exchange(req, 1, sse, 2);
	exchange(req, 3, one, 4);
	cr_assert_eq(t.calls.n, 2);
	cr_assert_str_eq(llm_openai_api_type(t.calls.v[0].api), "responses");
	cr_assert_str_eq(t.calls.v[0].request_model, "o4-mini");
	cr_assert_str_eq(t.calls.v[0].response_model, "o4-mini-2025-04-16");
	cr_assert_str_eq(t.calls.v[0].response_id, "resp_67ccd2bed1ec8190b14f964abc054267");
	cr_assert_eq(t.calls.v[0].input_tokens, 36);
	cr_assert_eq(t.calls.v[0].output_tokens, 87);
	cr_assert_eq(t.calls.v[0].reasoning_tokens, 64);
	cr_assert_eq(t.calls.v[0].cache_read_tokens, 0);
	cr_assert_eq(t.calls.v[0].chunks, 4);
	assert_finish(&t.calls.v[0], "completed");
	assert_finish(&t.calls.v[1], "max_output_tokens");
	cr_assert_eq(t.calls.v[1].input_tokens, 12);
	cr_assert_eq(t.calls.v[1].output_tokens, 16);
	cr_assert_eq(t.calls.v[1].cache_read_tokens, 4);
	free(req);
	free(sse);
	free(one);
}

Test(decoder, keepalive_pipelining_interim_head_204_304)
{
	char *req = h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_REQ);
	char *resp = h1_response(200, "application/json", "", OPENAI_CHAT_RESP);
	char *two_req, *two_resp, *mixed_req, *mixed_resp;

	/* Two requests in one write, their two responses in one read. */
	cr_assert_geq(asprintf(&two_req, "%s%s", req, req), 0);
	cr_assert_geq(asprintf(&two_resp, "%s%s", resp, resp), 0);
	exchange(two_req, 1, two_resp, 2);
	cr_assert_eq(t.calls.n, 2);
	/* HEAD (a Content-Length but no body), 204, then 100 Continue + 304, then an LLM call. */
	cr_assert_geq(asprintf(&mixed_req,
			       "HEAD /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n"
			       "DELETE /v1/files/file-1 HTTP/1.1\r\nHost: api.openai.com\r\n\r\n"
			       "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n%s",
			       req),
		      0);
	cr_assert_geq(asprintf(&mixed_resp,
			       "HTTP/1.1 200 OK\r\nContent-Length: 3411\r\n\r\n"
			       "HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\n"
			       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\n"
			       "ETag: x\r\n\r\n"
			       "HTTP/1.1 100 Continue\r\n\r\n%s",
			       resp),
		      0);
	exchange(mixed_req, 3, mixed_resp, 4);
	cr_assert_eq(t.calls.n, 3);
	cr_assert_eq(t.calls.v[2].http_status, 200);
	cr_assert_eq(t.calls.v[2].input_tokens, 1117);
	{
		struct llm_decoder_stats s;

		llm_decoder__stats(t.d, &s);
		cr_assert_eq(s.http_other, 3);
		cr_assert_eq(s.calls, 3);
		cr_assert_eq(s.conns_http1, 1);
	}
	free(req);
	free(resp);
	free(two_req);
	free(two_resp);
	free(mixed_req);
	free(mixed_resp);
}

Test(decoder, read_until_close)
{
	char *req = h1_request("/v1/chat/completions", "api.openai.com", "Connection: close\r\n",
			       OPENAI_CHAT_REQ);
	char *resp;

	cr_assert_geq(asprintf(&resp,
			       "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
			       "Connection: close\r\n\r\n%s",
			       OPENAI_CHAT_RESP),
		      0);
	exchange(req, 1 * MS, resp, 5 * MS);
	cr_assert_eq(t.calls.n, 0);
	tdec_close(&t, 9 * MS);
	cr_assert_eq(t.calls.n, 1);
	cr_assert_eq(t.calls.v[0].output_tokens, 46);
	cr_assert_eq(t.calls.v[0].unparsed, 0);
	/* The end is the last response byte, not the close. */
	cr_assert_eq(t.calls.v[0].end_ns, 5 * MS);
	free(req);
	free(resp);
}

static size_t gzip_buf(const char *in, char *out, size_t cap)
{
	z_stream z = {0};
	size_t n;

	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)strlen(in);
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

static char *binary_response(const char *enc, const char *body, size_t n, size_t *len)
{
	char *hdr, *msg;
	int h = asprintf(&hdr,
			 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			 "Content-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
			 enc, n);

	cr_assert_geq(h, 0);
	msg = malloc((size_t)h + n);
	memcpy(msg, hdr, (size_t)h);
	memcpy(msg + h, body, n);
	*len = (size_t)h + n;
	free(hdr);
	return msg;
}

Test(decoder, gzip_br_and_unknown_encodings)
{
	char *req =
		h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_STREAM_REQ);
	char gz[8192], br[8192];
	size_t gzn = gzip_buf(OPENAI_CHAT_SSE, gz, sizeof(gz)), brn = sizeof(br), len;
	char *msg;

	cr_assert(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, strlen(OPENAI_CHAT_SSE),
					(const uint8_t *)OPENAI_CHAT_SSE, &brn, (uint8_t *)br));
	msg = binary_response("gzip", gz, gzn, &len);
	tdec_writes(&t, 1, req);
	tdec_read(&t, 2, msg, len);
	free(msg);
	msg = binary_response("br", br, brn, &len);
	tdec_writes(&t, 3, req);
	tdec_read(&t, 4, msg, len);
	free(msg);
	msg = binary_response("zstd", br, brn, &len);
	tdec_writes(&t, 5, req);
	tdec_read(&t, 6, msg, len);
	free(msg);
	cr_assert_eq(t.calls.n, 3);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(t.calls.v[i].output_tokens, 6, "call %d", i);
		cr_assert_eq(t.calls.v[i].chunks, 6, "call %d", i);
		cr_assert_eq(t.calls.v[i].unparsed, 0, "call %d", i);
	}
	cr_assert_eq(t.calls.v[2].unparsed, LLM_UNPARSED_ENCODING);
	cr_assert_str_eq(t.calls.v[2].content_encoding, "zstd");
	cr_assert_eq(t.calls.v[2].http_status, 200);
	cr_assert_str_eq(t.calls.v[2].request_model, "gpt-4o-mini");
	cr_assert_eq(t.calls.v[2].output_tokens, LLM_TOKENS_UNSET);
	cr_assert_eq(t.calls.v[2].response_bytes, brn);
	free(req);
}

Test(decoder, gaps_in_bodies_are_counted_and_skipped)
{
	char *req =
		h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_STREAM_REQ);
	char *resp = h1_response_chunked(200, "text/event-stream", OPENAI_CHAT_SSE, 100000);
	size_t rl = strlen(req), hdr = (size_t)(strstr(req, "\r\n\r\n") + 4 - req);
	const char *second = strstr(strstr(resp, "data:") + 1, "data:");
	struct llm_decoder_stats s;
	const struct llm_call *c;

	/* The request body's last 20 bytes were not copied. */
	tdec_write(&t, 1, req, rl - 20);
	tdec_gap(&t, LLM_DIR_WRITE, 1, 20);
	/* The response loses 30 bytes inside its second event. */
	tdec_read(&t, 2, resp, (size_t)(second - resp) + 10);
	tdec_gap(&t, LLM_DIR_READ, 2, 30);
	tdec_read(&t, 3, second + 40, strlen(second + 40));
	c = only_call();
	cr_assert_eq(c->gap_bytes, 50);
	/* The gap is the reason: the rest of the request JSON is not read. */
	cr_assert_eq(c->unparsed, LLM_UNPARSED_GAP, "%#x", c->unparsed);
	/* "model" came before the lost bytes; the response's other chunks all parse. */
	cr_assert_str_eq(c->request_model, "gpt-4o-mini");
	cr_assert_eq(c->request_bytes, rl - hdr);
	cr_assert_eq(c->output_tokens, 6);
	assert_finish(c, "stop");
	cr_assert_eq(c->chunks, 5);
	llm_decoder__stats(t.d, &s);
	cr_assert_eq(s.gap_bytes, 50);
	cr_assert_eq(s.calls_incomplete, 1);
	free(req);
	free(resp);
}

Test(decoder, gap_in_headers_resynchronises)
{
	char *req = h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_REQ);
	char *resp = h1_response(200, "application/json", "", OPENAI_CHAT_RESP);
	struct llm_decoder_stats s;

	tdec_writes(&t, 1, req);
	tdec_read(&t, 2, resp, 20);
	tdec_gap(&t, LLM_DIR_READ, 2, 40);
	tdec_reads(&t, 2, resp + 60);
	cr_assert_eq(t.calls.n, 1);
	cr_assert_eq(t.calls.v[0].unparsed, LLM_UNPARSED_GAP | LLM_UNPARSED_TRUNCATED);
	cr_assert_eq(t.calls.v[0].gap_bytes, 40);
	cr_assert_str_eq(t.calls.v[0].request_model, "gpt-4o");
	/* The next exchange on the connection decodes whole. */
	exchange(req, 3, resp, 4);
	cr_assert_eq(t.calls.n, 2);
	cr_assert_eq(t.calls.v[1].unparsed, 0);
	cr_assert_eq(t.calls.v[1].output_tokens, 46);
	llm_decoder__stats(t.d, &s);
	cr_assert_eq(s.protocol_errors, 1);
	cr_assert_eq(s.gap_bytes, 40);
	free(req);
	free(resp);
}

Test(decoder, not_http_then_http)
{
	char *req = h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_REQ);
	char *resp = h1_response(200, "application/json", "", OPENAI_CHAT_RESP);
	struct llm_decoder_stats s;

	tdec_writes(&t, 1, "\x16\x03\x01 this is not http at all");
	tdec_reads(&t, 1, "neither is this");
	exchange(req, 2, resp, 3);
	cr_assert_eq(t.calls.n, 1);
	llm_decoder__stats(t.d, &s);
	cr_assert_eq(s.conns_other, 1);
	cr_assert_eq(s.conns_http1, 1);
	cr_assert_eq(s.ignored_bytes, 27 + 15, "%llu", (unsigned long long)s.ignored_bytes);
	free(req);
	free(resp);
}

Test(decoder, limits_connections_exchanges_idle)
{
	struct llm_decoder_opts o = {
		.max_connections = 2, .max_exchanges = 2, .idle_timeout_ns = 10 * MS};
	char *req = h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_REQ);
	char *three;
	struct llm_decoder_stats s;
	struct tdec u;

	tdec_init(&u, &o);
	cr_assert_geq(asprintf(&three, "%s%s%s", req, req, req), 0);
	tdec_writes(&u, 1 * MS, three);
	u.conn = 2;
	tdec_writes(&u, 2 * MS, req);
	u.conn = 3;
	tdec_writes(&u, 3 * MS, req);
	llm_decoder__stats(u.d, &s);
	cr_assert_eq(s.conns_active, 2);
	cr_assert_eq(s.conns_rejected, 1);
	cr_assert_eq(s.exchanges_dropped, 1);
	/* Nothing answered: at +11.5 ms connection 1 (last seen at 1 ms) expires. */
	cr_assert_eq(llm_decoder__expire(u.d, 11500000), 1);
	cr_assert_eq(u.calls.n, 2);
	cr_assert_eq(u.calls.v[0].unparsed, LLM_UNPARSED_TRUNCATED);
	cr_assert_eq(u.calls.v[0].http_status, 0);
	{
		char buf[16];

		cr_assert_str_eq(llm_call_error_type(&u.calls.v[0], buf, sizeof(buf)), "_OTHER");
	}
	cr_assert_eq(llm_decoder__close_pid(u.d, 4242, 20 * MS), 1);
	llm_decoder__stats(u.d, &s);
	cr_assert_eq(s.conns_active, 0);
	cr_assert_eq(s.conns_expired, 1);
	cr_assert_eq(s.mem_used, 0);
	cr_assert_eq(u.calls.n, 3);
	tdec_free(&u);
	free(req);
	free(three);
}

Test(decoder, memory_cap_cuts_a_connection)
{
	struct llm_decoder_opts o = {.max_conn_memory = 16384,
				     .capture_content = true,
				     .max_message_bytes = 1 << 20,
				     .max_content_bytes = 1 << 22};
	char *big = malloc(200000), *body, *req;
	struct llm_decoder_stats s;
	struct tdec u;

	memset(big, 'a', 199999);
	big[199999] = '\0';
	cr_assert_geq(asprintf(&body,
			       "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
			       "\"content\":\"%s\"}]}",
			       big),
		      0);
	req = h1_request("/v1/chat/completions", "api.openai.com", "", body);
	tdec_init(&u, &o);
	tdec_writes(&u, 1, req);
	llm_decoder__stats(u.d, &s);
	cr_assert_eq(u.calls.n, 1, "%u calls, %zu bytes", u.calls.n, s.mem_peak);
	cr_assert_eq(u.calls.v[0].unparsed, LLM_UNPARSED_LIMIT);
	cr_assert_str_eq(u.calls.v[0].request_model, "gpt-4o");
	llm_decoder__stats(u.d, &s);
	cr_assert_eq(s.conn_memory_limit, 1);
	cr_assert_lt(s.mem_used, 2048, "%zu", s.mem_used);
	tdec_free(&u);
	free(big);
	free(body);
	free(req);
}

/*
 * A ring-full gap in a streamed response whose chunks are smaller than
 * the gap: the lost bytes cross chunk boundaries (their size lines with
 * them). The framing is found again at the next "\r\n" HEX "\r\n" (a chunk
 * boundary: SSE and JSON text holds no raw CR), the events from there on
 * parse, and the last one's usage counts. Every gap start over two events
 * and every fifth length from inside one 64-byte chunk to across twenty,
 * ending before the usage event.
 */
Test(decoder, gap_across_chunks_resynchronises)
{
	char *req =
		h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_STREAM_REQ);
	char *resp = h1_response_chunked(200, "text/event-stream", OPENAI_CHAT_SSE, 64);
	const char *body = strstr(resp, "\r\n\r\n") + 4;
	size_t second = (size_t)(strstr(strstr(body, "data:") + 1, "data:") - resp);
	/* Where the usage event's line starts (body offset k is in chunk k / 64). */
	const char *u = strstr(OPENAI_CHAT_SSE, "\"usage\":{");
	size_t k = (size_t)(u - OPENAI_CHAT_SSE), hdr = (size_t)(body - resp), usage;
	unsigned int runs = 0;

	while (k && !(OPENAI_CHAT_SSE[k - 1] == '\n' && OPENAI_CHAT_SSE[k - 2] == '\n'))
		k--;
	cr_assert(!strncmp(OPENAI_CHAT_SSE + k, "data: {", 7));
	usage = hdr + k / 64 * (4 + 64 + 2) + 4 + k % 64;
	cr_assert_eq(resp[usage], 'd');

	cr_assert_gt(usage, second + 400);
	for (size_t from = second; from < second + 400; from += 3) {
		/*
		 * Ending 10 bytes before it: inside the event before (the blank
		 * line and a chunk boundary are 8 at most). A gap that ends
		 * between an event's two newlines takes the next event with it
		 * (its line reads as the spoiled event's): not tried.
		 */
		for (size_t gap = 1; from + gap + 10 < usage; gap += 5) {
			const struct llm_call *c;
			struct llm_decoder_stats s;

			tdec_free(&t);
			tdec_init(&t, NULL);
			tdec_writes(&t, 1, req);
			tdec_read(&t, 2, resp, from);
			tdec_gap(&t, LLM_DIR_READ, 2, gap);
			tdec_reads(&t, 3, resp + from + gap);
			cr_assert_eq(t.calls.n, 1, "gap of %zu at %zu", gap, from);
			c = &t.calls.v[0];
			cr_assert_eq(c->gap_bytes, gap);
			cr_assert_eq(c->unparsed, LLM_UNPARSED_GAP, "gap of %zu at %zu: %#x", gap,
				     from, c->unparsed);
			cr_assert_eq(c->input_tokens, 9, "gap of %zu at %zu", gap, from);
			cr_assert_eq(c->output_tokens, 6, "gap of %zu at %zu", gap, from);
			cr_assert_str_eq(c->response_model, "gpt-4o-mini-2024-07-18");
			cr_assert_eq(c->http_status, 200);
			llm_decoder__stats(t.d, &s);
			cr_assert_eq(s.protocol_errors, 0, "gap of %zu at %zu", gap, from);
			runs++;
		}
	}
	/* 134 starts, each with every fifth length up to the usage event. */
	cr_assert_gt(runs, 134 * 200, "%u", runs);
	free(req);
	free(resp);
}
