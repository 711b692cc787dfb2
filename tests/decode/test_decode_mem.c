// SPDX-License-Identifier: MIT
/*
 * Bounded memory and throughput: a 1 MiB request body and a 20 MB
 * streamed response parse exactly while the heap stays flat (measured
 * with mallinfo2, or the sanitizer's allocator under ASan), and the
 * decoder's own accounting says what one connection costs.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#if defined(__SANITIZE_ADDRESS__)
/* ASan's allocator statistics (gcc ships no header for them). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#include "decode_helpers.h"
#include "helpers.h"

static size_t heap_now(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

struct heap {
	size_t base, peak;
};

static void heap_sample(struct heap *h)
{
	size_t n = heap_now();

	if (n > h->peak)
		h->peak = n;
}

/* Feed @buf in 16 KiB reads (or writes), sampling the heap after each. */
static void feed(struct tdec *t, enum llm_dir dir, const char *buf, size_t len, struct heap *h)
{
	for (size_t o = 0; o < len; o += 16384) {
		size_t n = len - o < 16384 ? len - o : 16384;

		if (dir == LLM_DIR_WRITE)
			tdec_write(t, 1, buf + o, n);
		else
			tdec_read(t, 2, buf + o, n);
		heap_sample(h);
	}
}

/* A chat request of about @size bytes: many messages, model and stream last. */
static char *big_request(size_t size)
{
	char *body = malloc(size + 4096), *req;
	size_t n = (size_t)sprintf(body, "{\"messages\":[");
	int i = 0;

	while (n < size) {
		n += (size_t)sprintf(
			body + n,
			"%s{\"role\":\"%s\",\"content\":\"Message %d: the quick brown fox "
			"jumps over the lazy dog, again and again and again and again, "
			"with \\\"quotes\\\" and \\u00e9 accents.\"}",
			i ? "," : "", i % 2 ? "assistant" : "user", i);
		i++;
	}
	sprintf(body + n, "],\"temperature\":0.7,\"model\":\"gpt-4.1-mini\",\"stream\":true}");
	req = h1_request("/v1/chat/completions", "api.openai.com", "", body);
	free(body);
	return req;
}

static void request_peak(size_t size, size_t *heap_peak, size_t *conn_peak)
{
	struct tdec t;
	struct heap h;
	struct llm_decoder_stats st;
	char *req = big_request(size);
	char *resp = h1_response(200, "application/json", "", OPENAI_CHAT_RESP);

	tdec_init(&t, NULL);
	h.base = h.peak = heap_now();
	feed(&t, LLM_DIR_WRITE, req, strlen(req), &h);
	feed(&t, LLM_DIR_READ, resp, strlen(resp), &h);
	cr_assert_eq(t.calls.n, 1);
	cr_assert_str_eq(t.calls.v[0].request_model, "gpt-4.1-mini");
	cr_assert_eq(t.calls.v[0].stream, true);
	cr_assert_eq(t.calls.v[0].unparsed, 0);
	cr_assert_geq(t.calls.v[0].request_bytes, size);
	llm_decoder__stats(t.d, &st);
	*heap_peak = h.peak - h.base;
	*conn_peak = st.conn_mem_peak;
	tdec_free(&t);
	free(req);
	free(resp);
}

Test(decode_mem, one_mib_request_flat)
{
	size_t small_heap, small_conn, big_heap, big_conn;

	request_peak(16 << 10, &small_heap, &small_conn);
	request_peak(1 << 20, &big_heap, &big_conn);
	cr_log_info("request 16 KiB: heap +%zu B, connection %zu B; 1 MiB: heap +%zu B, "
		    "connection %zu B",
		    small_heap, small_conn, big_heap, big_conn);
	/* 64 times the body, the same memory. */
	cr_assert_eq(big_conn, small_conn);
	cr_assert_lt(big_conn, 32 << 10);
	cr_assert_lt(big_heap, small_heap + (8 << 10));
}

#define CHUNK_FMT                                                                              \
	"data: {\"id\":\"chatcmpl-Big\",\"object\":\"chat.completion.chunk\",\"created\":"     \
	"1741570290,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_f9f4fb6dbf\"," \
	"\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token %07u with some text\"},"     \
	"\"logprobs\":null,\"finish_reason\":null}]}\n\n"

/* A streamed response of about @size bytes in chunked coding; its chunk count. */
static char *big_stream(size_t size, unsigned int *chunks, size_t *len)
{
	char *s = malloc(size + 65536);
	size_t n = (size_t)sprintf(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				      "Transfer-Encoding: chunked\r\n\r\n");
	unsigned int i = 0;

	while (n < size) {
		char ev[512];
		int e = snprintf(ev, sizeof(ev), CHUNK_FMT, i++);

		n += (size_t)sprintf(s + n, "%x\r\n%s\r\n", e, ev);
	}
	{
		char ev[512];
		int e = snprintf(
			ev, sizeof(ev),
			"data: {\"id\":\"chatcmpl-Big\",\"choices\":[{\"index\":0,\"delta\":"
			"{},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":12,"
			"\"completion_tokens\":%u}}\n\ndata: [DONE]\n\n",
			i);

		n += (size_t)sprintf(s + n, "%x\r\n%s\r\n0\r\n\r\n", e, ev);
	}
	*chunks = i + 1;
	*len = n;
	return s;
}

Test(decode_mem, twenty_mb_stream_flat_and_fast)
{
	struct tdec t;
	struct heap h;
	struct llm_decoder_stats st;
	char *req =
		h1_request("/v1/chat/completions", "api.openai.com", "", OPENAI_CHAT_STREAM_REQ);
	unsigned int chunks;
	size_t len, warm_peak;
	char *resp = big_stream(20u << 20, &chunks, &len);
	double t0, secs;

	tdec_init(&t, NULL);
	h.base = h.peak = heap_now();
	tdec_writes(&t, 1, req);
	/* The first MiB sets the working size; the other 19 must not add to it. */
	feed(&t, LLM_DIR_READ, resp, 1 << 20, &h);
	warm_peak = h.peak;
	t0 = now_s();
	feed(&t, LLM_DIR_READ, resp + (1 << 20), len - (1 << 20), &h);
	secs = now_s() - t0;
	cr_assert_eq(t.calls.n, 1);
	cr_assert_eq(t.calls.v[0].chunks, chunks);
	cr_assert_eq(t.calls.v[0].output_tokens, chunks - 1);
	cr_assert_eq(t.calls.v[0].input_tokens, 12);
	cr_assert_str_eq(t.calls.v[0].finish_reasons[0], "length");
	cr_assert_str_eq(t.calls.v[0].response_model, "gpt-4o-2024-08-06");
	cr_assert_eq(t.calls.v[0].unparsed, 0);
	llm_decoder__stats(t.d, &st);
	cr_log_info("20 MB SSE stream: %zu bytes, %u chunks in %.3f s = %.1f MB/s; heap +%zu B "
		    "(+%zu B after the first MiB); connection peak %zu B",
		    len, chunks, secs, (double)(len - (1 << 20)) / 1e6 / secs, h.peak - h.base,
		    h.peak - warm_peak, st.conn_mem_peak);
	cr_assert_lt(h.peak - warm_peak, 4096, "heap grew by %zu", h.peak - warm_peak);
	cr_assert_lt(st.conn_mem_peak, 32 << 10);
	if (!SANITIZED)
		cr_assert_gt((double)(len - (1 << 20)) / 1e6 / secs, 20.0);
	tdec_free(&t);
	free(req);
	free(resp);
}
