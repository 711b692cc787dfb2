// SPDX-License-Identifier: MIT
/*
 * HTTP/2 as curl speaks it after ALPN: real frames made by nghttp2's own
 * client and server sessions (HPACK with a dynamic table, padding,
 * CONTINUATION, RST_STREAM, GOAWAY, a larger header table), fed to the
 * decoder in the order they were sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <nghttp2/nghttp2.h>

#include "decode_helpers.h"

#define MAX_STREAMS 64
#define SEG_MAX 20000

struct seg {
	enum llm_dir dir;
	size_t off, len; /* into the direction's stream */
};

struct body_src {
	const char *p;
	size_t len, off;
	size_t piece; /* bytes per DATA frame at most */
};

struct pair {
	nghttp2_session *cli, *srv;
	/* Everything each side sent, in order, and the interleaving. */
	char *stream[2];
	size_t len[2], cap[2];
	struct seg segs[SEG_MAX];
	unsigned int nsegs;
	/* What the server answers to stream id s: resp[(s - 1) / 2]. */
	const char *resp[MAX_STREAMS];
	unsigned int status[MAX_STREAMS];
	const char *ctype;
	struct body_src req_src[MAX_STREAMS], resp_src[MAX_STREAMS];
	bool pad;
	bool big_headers;
	int goaway_after; /* stream id after which the server sends GOAWAY (0: never) */
};

static void record(struct pair *p, enum llm_dir dir, const uint8_t *data, size_t n)
{
	if (p->len[dir] + n > p->cap[dir]) {
		p->cap[dir] = (p->len[dir] + n) * 2;
		p->stream[dir] = realloc(p->stream[dir], p->cap[dir]);
		cr_assert_not_null(p->stream[dir]);
	}
	memcpy(p->stream[dir] + p->len[dir], data, n);
	cr_assert_lt(p->nsegs, SEG_MAX);
	p->segs[p->nsegs++] = (struct seg){.dir = dir, .off = p->len[dir], .len = n};
	p->len[dir] += n;
}

static ssize_t cli_send(nghttp2_session *s, const uint8_t *data, size_t n, int flags, void *ud)
{
	record(ud, LLM_DIR_WRITE, data, n);
	return (ssize_t)n;
}

static ssize_t srv_send(nghttp2_session *s, const uint8_t *data, size_t n, int flags, void *ud)
{
	record(ud, LLM_DIR_READ, data, n);
	return (ssize_t)n;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct body_src *b = src->ptr;
	size_t n = b->len - b->off;

	if (n > len)
		n = len;
	if (b->piece && n > b->piece)
		n = b->piece;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	if (b->off == b->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

#define NV(n, v)                                                                           \
	{                                                                                  \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE \
	}

static int srv_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct pair *p = ud;
	int32_t id = f->hd.stream_id;
	unsigned int i = (unsigned int)(id - 1) / 2;
	char status[16], big[20000];
	nghttp2_data_provider prd;

	if (!(f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM) || i >= MAX_STREAMS)
		return 0;
	if (p->goaway_after && id == p->goaway_after)
		nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, p->goaway_after, NGHTTP2_NO_ERROR, NULL,
				      0);
	if ((p->goaway_after && id > p->goaway_after) || !p->resp[i])
		return 0;
	snprintf(status, sizeof(status), "%u", p->status[i] ? p->status[i] : 200);
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		nghttp2_nv nva[] = {NV(":status", status), NV("content-type", p->ctype),
				    NV("x-request-id", "req_8f2a"), NV("x-big", big)};

		p->resp_src[i] =
			(struct body_src){.p = p->resp[i], .len = strlen(p->resp[i]), .piece = 300};
		prd.source.ptr = &p->resp_src[i];
		prd.read_callback = read_body;
		cr_assert_eq(nghttp2_submit_response(s, id, nva, p->big_headers ? 4 : 3, &prd), 0);
	}
	return 0;
}

static ssize_t padding(nghttp2_session *s, const nghttp2_frame *f, size_t max, void *ud)
{
	struct pair *p = ud;
	size_t want = f->hd.length + 37;

	if (!p->pad)
		return (ssize_t)f->hd.length;
	return (ssize_t)(want < max ? want : max);
}

static void pair_init(struct pair *p)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_settings_entry ent[] = {{NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 65536},
					{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};

	memset(p, 0, sizeof(*p));
	p->ctype = "text/event-stream";
	cr_assert_eq(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_send_callback(cb, cli_send);
	cr_assert_eq(nghttp2_session_client_new(&p->cli, cb, p), 0);
	nghttp2_session_callbacks_set_send_callback(cb, srv_send);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame);
	nghttp2_session_callbacks_set_select_padding_callback(cb, padding);
	cr_assert_eq(nghttp2_option_new(&opt), 0);
	/* The server may then use the bigger table the client allows. */
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, 65536);
	cr_assert_eq(nghttp2_session_server_new2(&p->srv, cb, p, opt), 0);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	cr_assert_eq(nghttp2_submit_settings(p->cli, NGHTTP2_FLAG_NONE, ent, 2), 0);
	cr_assert_eq(nghttp2_submit_settings(p->srv, NGHTTP2_FLAG_NONE, ent + 1, 1), 0);
}

static void pair_free(struct pair *p)
{
	nghttp2_session_del(p->cli);
	nghttp2_session_del(p->srv);
	free(p->stream[0]);
	free(p->stream[1]);
}

/* A POST of @body to @path; returns the stream id. */
static int32_t request(struct pair *p, const char *path, const char *body, const char *resp)
{
	nghttp2_nv nva[] = {NV(":method", "POST"),
			    NV(":scheme", "https"),
			    NV(":authority", "api.openai.com"),
			    NV(":path", path),
			    NV("authorization", "Bearer " PLANTED_KEY),
			    NV("user-agent", "curl/7.88.1"),
			    NV("content-type", "application/json")};
	nghttp2_data_provider prd;
	int32_t id = (int32_t)nghttp2_session_get_next_stream_id(p->cli);
	unsigned int i = (unsigned int)(id - 1) / 2;

	cr_assert_lt(i, MAX_STREAMS);
	p->req_src[i] = (struct body_src){.p = body, .len = strlen(body), .piece = 500};
	prd.source.ptr = &p->req_src[i];
	prd.read_callback = read_body;
	cr_assert_eq(
		nghttp2_submit_request(p->cli, NULL, nva, sizeof(nva) / sizeof(nva[0]), &prd, NULL),
		id);
	p->resp[i] = resp;
	return id;
}

/* Run both sessions until neither has anything to say. */
static void pump(struct pair *p)
{
	size_t done[2] = {0, 0};

	for (int round = 0; round < 10000; round++) {
		cr_assert_eq(nghttp2_session_send(p->cli), 0);
		cr_assert_eq(nghttp2_session_send(p->srv), 0);
		if (done[0] == p->len[0] && done[1] == p->len[1])
			return;
		if (p->len[0] > done[0]) {
			cr_assert_geq(nghttp2_session_mem_recv(p->srv,
							       (uint8_t *)p->stream[0] + done[0],
							       p->len[0] - done[0]),
				      0);
			done[0] = p->len[0];
		}
		if (p->len[1] > done[1]) {
			cr_assert_geq(nghttp2_session_mem_recv(p->cli,
							       (uint8_t *)p->stream[1] + done[1],
							       p->len[1] - done[1]),
				      0);
			done[1] = p->len[1];
		}
	}
	cr_assert_fail("sessions did not settle");
}

/* Feed the recorded segments, each cut into @cut-byte chunks, 1 ms apart. */
static void replay(const struct pair *p, struct tdec *t, size_t cut)
{
	uint64_t ts = 1000000;

	for (unsigned int i = 0; i < p->nsegs; i++) {
		const struct seg *s = &p->segs[i];

		for (size_t o = 0; o < s->len; o += cut) {
			size_t n = s->len - o < cut ? s->len - o : cut;

			ts += 1000000;
			if (s->dir == LLM_DIR_WRITE)
				tdec_write(t, ts, p->stream[0] + s->off + o, n);
			else
				tdec_read(t, ts, p->stream[1] + s->off + o, n);
		}
	}
}

static const struct llm_call *by_stream(const struct tdec *t, uint32_t id)
{
	for (unsigned int i = 0; i < t->calls.n; i++)
		if (t->calls.v[i].stream_id == id)
			return &t->calls.v[i];
	cr_assert_fail("no call on stream %u", id);
	return NULL;
}

Test(h2, openai_stream_with_padding_and_continuation)
{
	struct pair p;
	struct tdec t;
	const struct llm_call *c;
	char *s;

	pair_init(&p);
	p.pad = true;
	p.big_headers = true;
	request(&p, "/v1/chat/completions", OPENAI_CHAT_STREAM_REQ, OPENAI_CHAT_SSE);
	pump(&p);
	tdec_init(&t, NULL);
	replay(&p, &t, 1 << 20);
	cr_assert_eq(t.calls.n, 1);
	c = &t.calls.v[0];
	cr_assert_eq(c->http_version, 20);
	cr_assert_eq(c->stream_id, 1);
	cr_assert_str_eq(c->server_address, "api.openai.com");
	cr_assert_eq(c->server_port, 443);
	cr_assert_str_eq(c->request_model, "gpt-4o-mini");
	cr_assert_str_eq(c->response_model, "gpt-4o-mini-2024-07-18");
	cr_assert_eq(c->input_tokens, 9);
	cr_assert_eq(c->output_tokens, 6);
	cr_assert_eq(c->chunks, 6);
	cr_assert_eq(c->unparsed, 0);
	cr_assert_eq(c->request_bytes, strlen(OPENAI_CHAT_STREAM_REQ));
	cr_assert_eq(c->response_bytes, strlen(OPENAI_CHAT_SSE));
	s = call_text(c);
	cr_assert_null(strstr(s, PLANTED_KEY));
	free(s);
	tdec_free(&t);
	pair_free(&p);
}

Test(h2, every_split_point)
{
	struct pair p;
	struct tdec t;
	char *ref = NULL;

	pair_init(&p);
	p.pad = true;
	request(&p, "/v1/chat/completions", OPENAI_CHAT_STREAM_REQ, OPENAI_CHAT_SSE);
	pump(&p);
	for (size_t k = 0; k < p.len[0] + p.len[1]; k++) {
		char *s;

		tdec_init(&t, NULL);
		/* Whole write stream, then the read stream, one split at k. */
		if (k < p.len[0]) {
			tdec_write(&t, 1, p.stream[0], k);
			tdec_write(&t, 1, p.stream[0] + k, p.len[0] - k);
			tdec_read(&t, 2, p.stream[1], p.len[1]);
		} else {
			tdec_write(&t, 1, p.stream[0], p.len[0]);
			tdec_read(&t, 2, p.stream[1], k - p.len[0]);
			tdec_read(&t, 2, p.stream[1] + k - p.len[0], p.len[1] - (k - p.len[0]));
		}
		cr_assert_eq(t.calls.n, 1, "split %zu", k);
		s = call_text(&t.calls.v[0]);
		if (!ref)
			ref = s;
		else
			cr_assert_str_eq(s, ref, "split at %zu", k);
		if (s != ref)
			free(s);
		tdec_free(&t);
	}
	cr_assert(strstr(ref, "unparsed=0;"), "%s", ref);
	free(ref);
	pair_free(&p);
}

#define NSTREAMS 50

Test(h2, fifty_concurrent_streams_kept_apart)
{
	static char reqs[NSTREAMS][256], resps[NSTREAMS][1024];
	struct pair p;
	struct tdec t;
	struct llm_decoder_stats st;

	pair_init(&p);
	for (int i = 0; i < NSTREAMS; i++) {
		snprintf(reqs[i], sizeof(reqs[i]),
			 "{\"model\":\"model-%d\",\"stream\":true,\"messages\":[{\"role\":\"user\","
			 "\"content\":\"question %d\"}]}",
			 i, i);
		snprintf(resps[i], sizeof(resps[i]),
			 "data: {\"id\":\"chatcmpl-%d\",\"model\":\"model-%d-resp\",\"choices\":[{"
			 "\"index\":0,\"delta\":{\"content\":\"answer "
			 "%d\"},\"finish_reason\":null}]}\n\n"
			 "data: {\"id\":\"chatcmpl-%d\",\"model\":\"model-%d-resp\",\"choices\":[{"
			 "\"index\":0,\"delta\":{},\"finish_reason\":\"%s\"}]}\n\n"
			 "data: "
			 "{\"id\":\"chatcmpl-%d\",\"choices\":[],\"usage\":{\"prompt_tokens\":%d,"
			 "\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n",
			 i, i, i, i, i, i % 2 ? "length" : "stop", i, 100 + i, 1000 + i);
		request(&p, "/v1/chat/completions", reqs[i], resps[i]);
	}
	pump(&p);
	tdec_init(&t, NULL);
	/* Small reads: frames of different streams split and interleaved. */
	replay(&p, &t, 173);
	cr_assert_eq(t.calls.n, NSTREAMS);
	for (int i = 0; i < NSTREAMS; i++) {
		const struct llm_call *c = by_stream(&t, (uint32_t)(2 * i + 1));
		char want[32];

		snprintf(want, sizeof(want), "model-%d", i);
		cr_assert_str_eq(c->request_model, want);
		snprintf(want, sizeof(want), "model-%d-resp", i);
		cr_assert_str_eq(c->response_model, want);
		snprintf(want, sizeof(want), "chatcmpl-%d", i);
		cr_assert_str_eq(c->response_id, want);
		cr_assert_eq(c->input_tokens, 100 + i);
		cr_assert_eq(c->output_tokens, 1000 + i);
		cr_assert_str_eq(c->finish_reasons[0], i % 2 ? "length" : "stop");
		cr_assert_eq(c->chunks, 3);
		cr_assert_eq(c->unparsed, 0, "stream %d: %#x", i, c->unparsed);
	}
	llm_decoder__stats(t.d, &st);
	cr_log_info("h2: %d streams, peak %zu bytes for the connection", NSTREAMS,
		    st.conn_mem_peak);
	cr_assert_eq(st.protocol_errors, 0);
	tdec_free(&t);
	pair_free(&p);
}

Test(h2, rst_stream_and_goaway)
{
	struct pair p;
	struct tdec t;
	int32_t a, b, c;

	pair_init(&p);
	a = request(&p, "/v1/chat/completions", OPENAI_CHAT_STREAM_REQ, OPENAI_CHAT_SSE);
	b = request(&p, "/v1/chat/completions", OPENAI_CHAT_STREAM_REQ, NULL);
	c = request(&p, "/v1/chat/completions", OPENAI_CHAT_STREAM_REQ, OPENAI_CHAT_SSE);
	/* The server answers a, leaves b waiting and goes away above b: c is refused. */
	p.goaway_after = b;
	pump(&p);
	/* Then the client gives up on b. */
	cr_assert_eq(nghttp2_submit_rst_stream(p.cli, NGHTTP2_FLAG_NONE, b, NGHTTP2_CANCEL), 0);
	pump(&p);
	tdec_init(&t, NULL);
	replay(&p, &t, 1 << 20);
	cr_assert_eq(t.calls.n, 3);
	cr_assert_eq(by_stream(&t, (uint32_t)a)->unparsed, 0);
	cr_assert_eq(by_stream(&t, (uint32_t)a)->output_tokens, 6);
	cr_assert_eq(by_stream(&t, (uint32_t)b)->unparsed, LLM_UNPARSED_RESET);
	cr_assert_eq(by_stream(&t, (uint32_t)c)->unparsed, LLM_UNPARSED_RESET);
	tdec_free(&t);
	pair_free(&p);
}

Test(h2, gaps)
{
	struct pair p;
	struct tdec t;
	const char *data;
	size_t off;

	pair_init(&p);
	request(&p, "/v1/chat/completions", OPENAI_CHAT_STREAM_REQ, OPENAI_CHAT_SSE);
	pump(&p);
	/* 20 bytes lost inside the second event's DATA payload. */
	data = memmem(p.stream[1], p.len[1], "\"content\":\"Hello\"", 17);
	cr_assert_not_null(data);
	off = (size_t)(data - p.stream[1]);
	tdec_init(&t, NULL);
	tdec_write(&t, 1, p.stream[0], p.len[0]);
	tdec_read(&t, 2, p.stream[1], off);
	tdec_gap(&t, LLM_DIR_READ, 2, 20);
	tdec_read(&t, 3, p.stream[1] + off + 20, p.len[1] - off - 20);
	cr_assert_eq(t.calls.n, 1);
	cr_assert_eq(t.calls.v[0].unparsed, LLM_UNPARSED_GAP);
	cr_assert_eq(t.calls.v[0].gap_bytes, 20);
	cr_assert_eq(t.calls.v[0].chunks, 5);
	cr_assert_eq(t.calls.v[0].output_tokens, 6);
	tdec_free(&t);
	/* 5 bytes lost in the request's HEADERS: HPACK state is gone. */
	tdec_init(&t, NULL);
	tdec_write(&t, 1, p.stream[0], 24 + 9 + 12 + 9 + 20);
	tdec_gap(&t, LLM_DIR_WRITE, 1, 5);
	tdec_write(&t, 1, p.stream[0] + 79, p.len[0] - 79);
	tdec_read(&t, 2, p.stream[1], p.len[1]);
	{
		struct llm_decoder_stats st;

		llm_decoder__stats(t.d, &st);
		cr_assert_eq(st.protocol_errors, 1);
		cr_assert_eq(st.gap_bytes, 5);
		cr_assert_eq(st.ignored_bytes, p.len[0] - 79 + p.len[1]);
	}
	tdec_free(&t);
	pair_free(&p);
}
