// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "decode_helpers.h"

static void collect(const struct llm_call *c, void *ctx)
{
	struct tcalls *t = ctx;
	struct llm_call *dst;

	cr_assert_lt(t->n, TCALLS_MAX, "too many calls");
	dst = &t->v[t->n++];
	*dst = *c;
	dst->input_messages = c->input_messages ? strdup(c->input_messages) : NULL;
	dst->output_messages = c->output_messages ? strdup(c->output_messages) : NULL;
}

void tdec_init(struct tdec *t, const struct llm_decoder_opts *opts)
{
	memset(t, 0, sizeof(*t));
	t->pid = 4242;
	t->tid = 4243;
	t->conn = 0x7f0012345678ull;
	t->d = llm_decoder__new(opts, collect, &t->calls);
	cr_assert_not_null(t->d);
}

void tdec_free(struct tdec *t)
{
	for (unsigned int i = 0; i < t->calls.n; i++)
		llm_call_clear(&t->calls.v[i]);
	t->calls.n = 0;
	llm_decoder__free(t->d);
	t->d = NULL;
}

static struct llm_chunk chunk(const struct tdec *t, uint64_t ts, enum llm_dir dir)
{
	return (struct llm_chunk){
		.pid = t->pid, .tid = t->tid, .conn_id = t->conn, .ts_ns = ts, .dir = dir};
}

void tdec_open(struct tdec *t, uint64_t ts)
{
	struct llm_chunk c = chunk(t, ts, LLM_DIR_WRITE);

	cr_assert_eq(llm_decoder__open(t->d, &c), 0);
}

void tdec_write(struct tdec *t, uint64_t ts, const void *buf, size_t len)
{
	struct llm_chunk c = chunk(t, ts, LLM_DIR_WRITE);

	llm_decoder__data(t->d, &c, buf, len);
}

void tdec_read(struct tdec *t, uint64_t ts, const void *buf, size_t len)
{
	struct llm_chunk c = chunk(t, ts, LLM_DIR_READ);

	llm_decoder__data(t->d, &c, buf, len);
}

void tdec_gap(struct tdec *t, enum llm_dir dir, uint64_t ts, uint64_t n)
{
	struct llm_chunk c = chunk(t, ts, dir);

	llm_decoder__gap(t->d, &c, n);
}

void tdec_close(struct tdec *t, uint64_t ts)
{
	struct llm_chunk c = chunk(t, ts, LLM_DIR_WRITE);

	llm_decoder__close(t->d, &c);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	cr_assert_geq(vasprintf(&s, f, ap), 0);
	va_end(ap);
	return s;
}

char *call_text(const struct llm_call *c)
{
	char fin[LLM_FINISH_MAX * (LLM_FINISH_LEN + 1) + 1] = "";
	char gaps[256] = "";
	size_t n = 0;

	for (uint32_t i = 0; i < c->n_finish_reasons; i++)
		n += (size_t)snprintf(fin + n, sizeof(fin) - n, "%s,", c->finish_reasons[i]);
	n = 0;
	for (unsigned int i = 0; i <= GENAI_DURATION_NBUCKETS; i++)
		n += (size_t)snprintf(gaps + n, sizeof(gaps) - n, "%u,", c->chunk_gap_buckets[i]);
	return fmt(
		"pid=%u;tid=%u;conn=%llx;stream_id=%u;http=%u;provider=%s;op=%s;api=%d;"
		"addr=%s;port=%u;req_model=%s;resp_model=%s;resp_id=%s;stream=%d;status=%u;"
		"error=%s;finish=%s;in=%lld;out=%lld;cache_read=%lld;cache_create=%lld;"
		"reasoning=%lld;start=%llu;end=%llu;first=%llu;chunks=%u;gap_sum=%llu;gaps=%s;"
		"unparsed=%#x;encoding=%s;gap_bytes=%llu;req_bytes=%llu;resp_bytes=%llu;"
		"in_msgs=%s;out_msgs=%s;truncated=%u;redactions=%u",
		c->pid, c->tid, (unsigned long long)c->conn_id, c->stream_id, c->http_version,
		llm_provider_name(c->provider) ? llm_provider_name(c->provider) : "?",
		llm_operation_name(c->operation) ? llm_operation_name(c->operation) : "?", c->api,
		c->server_address, c->server_port, c->request_model, c->response_model,
		c->response_id, c->stream, c->http_status, c->error_type, fin,
		(long long)c->input_tokens, (long long)c->output_tokens,
		(long long)c->cache_read_tokens, (long long)c->cache_creation_tokens,
		(long long)c->reasoning_tokens, (unsigned long long)c->start_ns,
		(unsigned long long)c->end_ns, (unsigned long long)c->first_chunk_ns, c->chunks,
		(unsigned long long)c->chunk_gap_sum_ns, gaps, c->unparsed, c->content_encoding,
		(unsigned long long)c->gap_bytes, (unsigned long long)c->request_bytes,
		(unsigned long long)c->response_bytes, c->input_messages ? c->input_messages : "-",
		c->output_messages ? c->output_messages : "-", c->content_truncated, c->redactions);
}

char *h1_request(const char *path, const char *host, const char *headers, const char *body)
{
	return fmt("POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: OpenAI/Python 1.54.4\r\n"
		   "Accept: application/json\r\nContent-Type: application/json\r\n%s"
		   "Content-Length: %zu\r\n\r\n%s",
		   path, host, headers, strlen(body), body);
}

char *h1_response(unsigned int status, const char *ctype, const char *headers, const char *body)
{
	return fmt("HTTP/1.1 %u X\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\nContent-Type: %s\r\n"
		   "%sContent-Length: %zu\r\n\r\n%s",
		   status, ctype, headers, strlen(body), body);
}

char *h1_response_chunked(unsigned int status, const char *ctype, const char *body, size_t chunk)
{
	size_t len = strlen(body), cap = len * 2 + 512, n;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	n = (size_t)snprintf(s, cap,
			     "HTTP/1.1 %u OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
			     "Connection: keep-alive\r\n\r\n",
			     status, ctype);
	for (size_t i = 0; i < len; i += chunk) {
		size_t k = len - i < chunk ? len - i : chunk;

		n += (size_t)snprintf(s + n, cap - n, "%zx\r\n", k);
		memcpy(s + n, body + i, k);
		n += k;
		n += (size_t)snprintf(s + n, cap - n, "\r\n");
	}
	snprintf(s + n, cap - n, "0\r\nX-Request-Id: req_123\r\n\r\n");
	return s;
}

const char OPENAI_CHAT_REQ[] =
	"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a "
	"helpful assistant.\"},{\"role\":\"user\",\"content\":\"My email is " PLANTED_EMAIL
	" and my key is " PLANTED_KEY ". What is the capital of France?\"}],"
	"\"temperature\":0.2,\"max_tokens\":256}";

const char OPENAI_CHAT_RESP[] =
	"{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion\","
	"\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
	"\"message\":{\"role\":\"assistant\",\"content\":\"The capital of France is Paris.\","
	"\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
	"\"usage\":{\"prompt_tokens\":1117,\"completion_tokens\":46,\"total_tokens\":1163,"
	"\"prompt_tokens_details\":{\"cached_tokens\":1024,\"audio_tokens\":0},"
	"\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
	"\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},"
	"\"service_tier\":\"default\",\"system_fingerprint\":\"fp_fc9f1d7035\"}";

const char OPENAI_CHAT_STREAM_REQ[] =
	"{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}],"
	"\"stream\":true,\"stream_options\":{\"include_usage\":true}}";

#define OAI_CHUNK(delta, finish)                                                              \
	"data: {\"id\":\"chatcmpl-AbC123\",\"object\":\"chat.completion.chunk\",\"created\":" \
	"1741570290,\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\","       \
	"\"system_fingerprint\":\"fp_06737a9306\",\"choices\":[{\"index\":0,\"delta\":" delta \
	",\"logprobs\":null,\"finish_reason\":" finish "}],\"usage\":null}\n\n"

const char OPENAI_CHAT_SSE[] = OAI_CHUNK(
	"{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}",
	"null") OAI_CHUNK("{\"content\":\"Hello\"}", "null") OAI_CHUNK("{\"content\":\"!\"}",
								       "null")
	OAI_CHUNK("{\"content\":\" How can I help?\"}", "null") OAI_CHUNK(
		"{}",
		"\"stop\"") "data: "
			    "{\"id\":\"chatcmpl-AbC123\",\"object\":\"chat.completion.chunk\","
			    "\"created\":"
			    "1741570290,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],"
			    "\"usage\":{"
			    "\"prompt_tokens\":9,\"completion_tokens\":6,\"total_tokens\":15,"
			    "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
			    "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_"
			    "tokens\":0}}}\n\n"
			    "data: [DONE]\n\n";

const char OPENAI_429[] =
	"{\n    \"error\": {\n        \"message\": \"Rate limit reached for gpt-4o in organization "
	"org-abc on tokens per min (TPM): Limit 30000, Used 29861, Requested 1200.\",\n"
	"        \"type\": \"tokens\",\n        \"param\": null,\n        \"code\": "
	"\"rate_limit_exceeded\"\n    }\n}\n";

const char OPENAI_500[] =
	"{\"error\":{\"message\":\"The server had an error while processing your request. "
	"Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";

const char OPENAI_EMBED_REQ[] =
	"{\"input\":\"The food was delicious and the waiter was kind.\","
	"\"model\":\"text-embedding-3-small\",\"encoding_format\":\"float\"}";

const char OPENAI_EMBED_RESP[] =
	"{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":"
	"[-0.006929283,-0.005336422,0.024047505,-0.01407986,0.0153021,-0.0087]}],"
	"\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}";

const char OPENAI_RESPONSES_REQ[] =
	"{\"model\":\"o4-mini\",\"instructions\":\"Be terse.\",\"input\":[{\"role\":\"user\","
	"\"content\":[{\"type\":\"input_text\",\"text\":\"Write a haiku about tracing.\"}]}],"
	"\"stream\":true,\"reasoning\":{\"effort\":\"low\"}}";

const char OPENAI_RESPONSES_SSE[] =
	"event: response.created\n"
	"data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":"
	"\"resp_67ccd2bed1ec8190b14f964abc054267\",\"object\":\"response\",\"created_at\":"
	"1741476542,\"status\":\"in_progress\",\"model\":\"o4-mini-2025-04-16\",\"output\":[],"
	"\"usage\":null}}\n\n"
	"event: response.output_text.delta\n"
	"data: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":"
	"\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\"Spans fall like rain\"}\n\n"
	"event: response.output_text.delta\n"
	"data: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"item_id\":"
	"\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\" \\u2014 traces bloom.\"}\n\n"
	"event: response.completed\n"
	"data: {\"type\":\"response.completed\",\"sequence_number\":3,\"response\":{\"id\":"
	"\"resp_67ccd2bed1ec8190b14f964abc054267\",\"object\":\"response\",\"status\":"
	"\"completed\",\"model\":\"o4-mini-2025-04-16\",\"output\":[{\"type\":\"message\","
	"\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Spans fall "
	"like rain \\u2014 traces bloom.\"}]}],\"usage\":{\"input_tokens\":36,"
	"\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":87,"
	"\"output_tokens_details\":{\"reasoning_tokens\":64},\"total_tokens\":123}}}\n\n";

const char OPENAI_RESPONSES_RESP[] =
	"{\"id\":\"resp_abc\",\"object\":\"response\",\"created_at\":1741476542,\"status\":"
	"\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"},"
	"\"model\":\"gpt-4.1-2025-04-14\",\"output\":[{\"type\":\"message\",\"id\":\"msg_1\","
	"\"status\":\"incomplete\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
	"\"text\":\"Once upon a\",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":12,"
	"\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":16,"
	"\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":28}}";

const char ANTHROPIC_REQ[] =
	"{\"model\":\"claude-sonnet-4-20250514\",\"max_tokens\":1024,\"system\":\"You are "
	"terse.\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	"\"Call me at +1 (415) 555-0132 about card 4111 1111 1111 1111.\"}]}],\"stream\":true}";

const char ANTHROPIC_RESP[] =
	"{\"id\":\"msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"type\":\"message\",\"role\":\"assistant\","
	"\"model\":\"claude-3-5-haiku-20241022\",\"content\":[{\"type\":\"text\",\"text\":"
	"\"Hi! My name is Claude.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
	"\"usage\":{\"input_tokens\":2095,\"cache_creation_input_tokens\":100,"
	"\"cache_read_input_tokens\":0,\"output_tokens\":503}}";

const char ANTHROPIC_SSE[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\","
	"\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":"
	"\"claude-sonnet-4-20250514\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"
	"{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2048,"
	"\"output_tokens\":2}}}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
	"\"text\",\"text\":\"\"}}\n\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
	"\"text\":\"Hello\"}}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
	"\"text\":\"! Write to ops@example.org\"}}\n\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
	"\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n\n";

const char ANTHROPIC_429[] =
	"{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
	"\"message\":\"Number of request tokens has exceeded your "
	"per-minute rate limit\"},\"request_id\":\"req_011CSHoEeqs5C35K2UUqR7Fy\"}";

const char GEMINI_REQ[] =
	"{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Explain how AI works in a few "
	"words\"}]}],\"systemInstruction\":{\"parts\":[{\"text\":\"You are a cat.\"}]},"
	"\"generationConfig\":{\"thinkingConfig\":{\"thinkingBudget\":1024}}}";

const char GEMINI_RESP[] =
	"{\n  \"candidates\": [\n    {\n      \"content\": {\n        \"parts\": [\n          {\n"
	"            \"text\": \"AI learns patterns from data.\"\n          }\n        ],\n"
	"        \"role\": \"model\"\n      },\n      \"finishReason\": \"STOP\",\n"
	"      \"index\": 0\n    }\n  ],\n  \"usageMetadata\": {\n    \"promptTokenCount\": 8,\n"
	"    \"candidatesTokenCount\": 12,\n    \"totalTokenCount\": 40,\n"
	"    \"promptTokensDetails\": [\n      {\n        \"modality\": \"TEXT\",\n"
	"        \"tokenCount\": 8\n      }\n    ],\n    \"thoughtsTokenCount\": 20\n  },\n"
	"  \"modelVersion\": \"gemini-2.5-flash\",\n  \"responseId\": "
	"\"mBm_aPrxBsOAz7IPk5HD2Qc\"\n}\n";

#define GEM_CHUNK(text, extra)                                                              \
	"{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"" text "\"}],\"role\": " \
	"\"model\"}" extra "}],\"usageMetadata\": {\"promptTokenCount\": 9,"                \
	"\"candidatesTokenCount\": 5,\"totalTokenCount\": 14},\"modelVersion\": "           \
	"\"gemini-2.0-flash\",\"responseId\": \"Yk9oaOWgB6Ll7dcPq8Sw4Qs\"}"

const char GEMINI_SSE[] = "data: " GEM_CHUNK(
	"Once",
	"") "\r\n\r\n"
	    "data: " GEM_CHUNK(
		    " upon a time",
		    "") "\r\n\r\n"
			"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" the "
			"end.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\"}],"
			"\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": "
			"17,\"totalTokenCount\": 26,\"cachedContentTokenCount\": 4},"
			"\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": "
			"\"Yk9oaOWgB6Ll7dcPq8Sw4Qs\"}\r\n\r\n";

const char GEMINI_ARRAY[] = "[" GEM_CHUNK("Hello", "") ",\r\n" GEM_CHUNK(
	" world", "") ",\r\n" GEM_CHUNK("!", ",\"finishReason\": \"MAX_TOKENS\"") "]";

const char OLLAMA_CHAT_REQ[] = "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\","
			       "\"content\":\"why is the sky blue?\"}]}";

#define OLL_LINE(text)                                                                        \
	"{\"model\":\"llama3.2\",\"created_at\":\"2025-07-01T10:00:00.123456Z\",\"message\":" \
	"{\"role\":\"assistant\",\"content\":\"" text "\"},\"done\":false}\n"

const char OLLAMA_CHAT_NDJSON[] = OLL_LINE("The") OLL_LINE(" sky")
	OLL_LINE(" scatters light.") "{\"model\":\"llama3.2\",\"created_at\":\"2025-07-01T10:00:01."
				     "5Z\",\"message\":{\"role\":"
				     "\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\","
				     "\"done\":true,\"total_duration\":"
				     "4883583458,\"load_duration\":1334875,\"prompt_eval_count\":"
				     "26,\"prompt_eval_duration\":"
				     "342546000,\"eval_count\":282,\"eval_duration\":4535599000}\n";

const char OLLAMA_GENERATE_REQ[] =
	"{\"model\":\"qwen2.5:0.5b\",\"prompt\":\"Why is the sky blue?\",\"stream\":false}";

const char OLLAMA_GENERATE_RESP[] =
	"{\"model\":\"qwen2.5:0.5b\",\"created_at\":\"2025-07-01T10:00:00Z\",\"response\":"
	"\"Rayleigh scattering.\",\"done\":true,\"done_reason\":\"length\",\"context\":[1,2,3],"
	"\"total_duration\":10706818083,\"prompt_eval_count\":26,\"eval_count\":290}";

const char OLLAMA_EMBED_REQ[] =
	"{\"model\":\"all-minilm\",\"input\":[\"Why is the sky blue?\",\"Why is grass green?\"]}";

const char OLLAMA_EMBED_RESP[] =
	"{\"model\":\"all-minilm\",\"embeddings\":[[0.010071029,-0.0017594862,0.05007221],"
	"[-0.0098027075,0.06042469,0.025257962]],\"total_duration\":14143917,"
	"\"load_duration\":1019500,\"prompt_eval_count\":8}";
