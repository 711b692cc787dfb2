// SPDX-License-Identifier: MIT
/*
 * sonde llm end to end: real clients nobody here wrote (the official
 * OpenAI and Anthropic Node SDKs, curl over HTTP/2, python3's urllib over
 * HTTP/1.1, curl in plaintext) talk to a loopback LLM server made for the
 * tests (fixtures/llm_server.js, with a CA made now), and the spans sonde
 * writes are read back through OpenTelemetry JS's own decoder
 * (tests/otlp_decode.js): models, tokens, finish reasons, ids, typed
 * errors and times (the server answers at known delays: durations are
 * checked within 10 %, 50 ms for those under half a second).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "http_rx.h"
#include "llm_server.h"
#include "prometheus.h"

#define KEY_OPENAI LLM_KEY_OPENAI
#define KEY_ANTHROPIC LLM_KEY_ANTHROPIC
#define EMAIL "alice.planted@example.com"

/* The loopback LLM server of this test. */
static struct llm_server srv;

static void setup(void)
{
	require_bpf();
	llm_server_start(&srv);
}

static pid_t sonde_pid = -1;

static void teardown(void)
{
	if (sonde_pid > 0) {
		kill(sonde_pid, SIGKILL);
		waitpid(sonde_pid, NULL, 0);
		sonde_pid = -1;
	}
	prometheus_stop();
	llm_server_stop(&srv);
}

TestSuite(llm, .init = setup, .fini = teardown, .timeout = 300);

/* ---- spans, as OpenTelemetry's decoder reads them ---- */

#define MAX_SPANS 64

struct span {
	char *line; /* "span TRACE SPAN PARENT NAME kind=.. start=.. end=.. k=v ..." */
	char name[160];
	int kind;
	double start_s, end_s;
};

struct spans {
	struct span s[MAX_SPANS];
	int n;
	char *text;
};

/* The --spans file through otlp_decode.js (traces-json: read back as written). */
static void read_spans(const char *path, struct spans *out)
{
	char *p;

	memset(out, 0, sizeof(*out));
	out->text = node_decode_file(path, "traces-json");
	cr_assert(out->text, "otlp_decode.js could not read %s", path);
	for (p = out->text; p && *p;) {
		char *nl = strchr(p, '\n'), *k;
		unsigned long long st, en;

		if (nl)
			*nl = '\0';
		if (!strncmp(p, "span ", 5)) {
			struct span *s = &out->s[out->n];

			cr_assert_lt(out->n, MAX_SPANS);
			s->line = p;
			k = strstr(p, " kind=");
			cr_assert(k, "%s", p);
			/* After "span TRACE SPAN PARENT ": the name runs to " kind=". */
			{
				char *q = p + 5;

				for (int f = 0; f < 3; f++)
					q = strchr(q, ' ') + 1;
				snprintf(s->name, sizeof(s->name), "%.*s", (int)(k - q), q);
			}
			cr_assert_eq(sscanf(k, " kind=%d start=%llu end=%llu", &s->kind, &st, &en), 3);
			s->start_s = st / 1e9;
			s->end_s = en / 1e9;
			out->n++;
		}
		p = nl ? nl + 1 : NULL;
	}
}

static void free_spans(struct spans *s)
{
	free(s->text);
}

/* The value of attribute @key of span @s ("" when absent; a static buffer). */
static const char *attr(const struct span *s, const char *key)
{
	static char buf[4][4096];
	static int i;
	char pat[128], *b = buf[i++ % 4];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(s->line, pat);
	b[0] = '\0';
	if (!p)
		return b;
	p += strlen(pat);
	/* Values run to the next " key=" (values here hold no spaces but content). */
	n = strcspn(p, " ");
	if (!strncmp(key, "gen_ai.input.messages", 21) || !strncmp(key, "gen_ai.output.messages", 22)) {
		const char *end = strstr(p, " gen_ai.");

		n = end ? (size_t)(end - p) : strlen(p);
	}
	snprintf(b, sizeof(buf[0]), "%.*s", (int)n, p);
	return b;
}

static long long attr_int(const struct span *s, const char *key)
{
	const char *v = attr(s, key);

	cr_assert(*v, "span '%s' has no %s: %s", s->name, key, s->line);
	return atoll(v);
}

/* The one span named @name. */
static const struct span *span_named(const struct spans *ss, const char *name)
{
	const struct span *found = NULL;

	for (int i = 0; i < ss->n; i++) {
		if (strcmp(ss->s[i].name, name))
			continue;
		cr_assert_null(found, "two spans named '%s'", name);
		found = &ss->s[i];
	}
	cr_assert(found, "no span named '%s' in:\n%s", name, ss->text);
	return found;
}

/*
 * @got within 10 % of @want seconds, or 50 ms for the short ones: under a
 * loaded machine (the whole suite runs two tests at once on 2 cores) a
 * client reads a chunk sent at 200 ms some 40 ms late, and so does sonde.
 */
static void expect_secs(double got, double want, const char *what)
{
	double tol = fmax(0.1 * want, 0.05);

	cr_expect(fabs(got - want) <= tol, "%s: %.4f s, expected %.3f s +/- %.3f s", what, got, want,
		  tol);
}

/* ---- running sonde llm ---- */

struct run {
	char *out, *err;
	int rc;
};

/* sonde llm ARGS... (NULL-terminated, with "--" and the client). */
static void sonde_llm(struct run *r, const char *const *args)
{
	char *argv[64];
	int n = 0;

	argv[n++] = (char *)sonde_bin();
	argv[n++] = "llm";
	for (; *args; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	r->rc = run_cmd(argv, &r->out, &r->err);
	cr_assert_eq(r->rc, 0, "sonde llm failed (%d):\n%s\n%s", r->rc, r->out, r->err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static const char *node_client(void)
{
	static char buf[700];

	snprintf(buf, sizeof(buf), "%s", source_path("tests/fixtures/llm_client.js"));
	return buf;
}

static const char *py_client(void)
{
	static char buf[700];

	snprintf(buf, sizeof(buf), "%s", source_path("tests/fixtures/llm_client.py"));
	return buf;
}

static const char *base_url(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "https://localhost:%d", srv.https);
	return buf;
}

/* The checks every successful chat span shares. */
static void expect_chat(const struct span *s, const char *provider, const char *model,
			long long in, long long out, const char *finish)
{
	char want[64];

	cr_expect_eq(s->kind, 3, "'%s' is not SPAN_KIND_CLIENT: %s", s->name, s->line);
	cr_expect_str_eq(attr(s, "gen_ai.operation.name"), "chat");
	cr_expect_str_eq(attr(s, "gen_ai.provider.name"), provider);
	cr_expect_str_eq(attr(s, "gen_ai.request.model"), model);
	cr_expect_str_eq(attr(s, "gen_ai.response.model"), model);
	snprintf(want, sizeof(want), "resp-%s", model);
	cr_expect_str_eq(attr(s, "gen_ai.response.id"), want);
	snprintf(want, sizeof(want), "[%s]", finish);
	cr_expect_str_eq(attr(s, "gen_ai.response.finish_reasons"), want);
	cr_expect_eq(attr_int(s, "gen_ai.usage.input_tokens"), in, "%s", s->line);
	cr_expect_eq(attr_int(s, "gen_ai.usage.output_tokens"), out, "%s", s->line);
	cr_expect_eq(attr_int(s, "http.response.status_code"), 200);
	cr_expect_str_eq(attr(s, "error.type"), "");
	cr_expect_str_eq(attr(s, "server.address"), "localhost");
}

/* ---- the clients ---- */

Test(llm, openai_node_sdk)
{
	char plan[1024];
	struct spans ss;
	struct run r;
	const struct span *s;

	snprintf(plan, sizeof(plan),
		 "{\"base\":\"%s\",\"calls\":["
		 "{\"sdk\":\"openai\",\"model\":\"gpt-stream\",\"stream\":true,\"max_tokens\":7,"
		 "\"content\":\"hello world\"},"
		 "{\"sdk\":\"openai\",\"model\":\"gpt-whole\",\"stream\":false,\"max_tokens\":4,"
		 "\"content\":\"twenty characters!!!\"},"
		 "{\"sdk\":\"openai\",\"model\":\"err-429\",\"content\":\"x\",\"max_tokens\":1},"
		 "{\"sdk\":\"openai\",\"model\":\"err-500\",\"content\":\"x\",\"max_tokens\":1}]}",
		 base_url());
	sonde_llm(&r, (const char *[]){"--spans", tmp_path("spans.jsonl"), "--", llm_node_bin(),
				       node_client(), plan, NULL});
	/* The client saw what the server sent. */
	cr_expect(strstr(r.out, "ok gpt-stream\nok gpt-whole\nerror err-429 429\nerror err-500 500\n"),
		  "%s", r.out);
	/* Which TLS was probed, said once. */
	cr_expect(strstr(r.err, "TLS through /usr/bin/node (OpenSSL 3."), "%s", r.err);
	read_spans(tmp_path("spans.jsonl"), &ss);
	cr_expect_eq(ss.n, 4, "%s", ss.text);

	s = span_named(&ss, "chat gpt-stream");
	expect_chat(s, "openai", "gpt-stream", 11, 7, "stop");
	cr_expect_eq(attr_int(s, "gen_ai.usage.cache_read.input_tokens"), 3);
	cr_expect_str_eq(attr(s, "openai.api.type"), "chat_completions");
	/* First chunk 200 ms after the request, the last at 1 s. */
	expect_secs(atof(attr(s, "gen_ai.response.time_to_first_chunk")), 0.2, "gpt-stream TTFC");
	expect_secs(s->end_s - s->start_s, 1.0, "gpt-stream duration");

	s = span_named(&ss, "chat gpt-whole");
	expect_chat(s, "openai", "gpt-whole", 20, 4, "stop");
	cr_expect_str_eq(attr(s, "gen_ai.response.time_to_first_chunk"), "");
	expect_secs(s->end_s - s->start_s, 1.0, "gpt-whole duration");

	/* Errors typed by the provider's own error type, answered at 200 ms. */
	s = span_named(&ss, "chat err-429");
	cr_expect_str_eq(attr(s, "error.type"), "rate_limit_exceeded");
	cr_expect_eq(attr_int(s, "http.response.status_code"), 429);
	expect_secs(s->end_s - s->start_s, 0.2, "err-429 duration");
	s = span_named(&ss, "chat err-500");
	cr_expect_str_eq(attr(s, "error.type"), "server_error");
	cr_expect_eq(attr_int(s, "http.response.status_code"), 500);

	/* The table: one row per model, the errors by type. */
	cr_expect(strstr(r.out, "errors of openai err-429: rate_limit_exceeded x1"), "%s", r.out);
	cr_expect(strstr(r.out, "errors of openai err-500: server_error x1"), "%s", r.out);
	cr_expect(strstr(r.err, "llm: 4 calls (2 errors)"), "%s", r.err);
	free_spans(&ss);
	run_free(&r);
}

Test(llm, anthropic_node_sdk)
{
	char plan[1024];
	struct spans ss;
	struct run r;
	const struct span *s;

	snprintf(plan, sizeof(plan),
		 "{\"base\":\"%s\",\"calls\":["
		 "{\"sdk\":\"anthropic\",\"model\":\"claude-stream\",\"stream\":true,\"max_tokens\":9,"
		 "\"content\":\"hello claude\"},"
		 "{\"sdk\":\"anthropic\",\"model\":\"claude-whole\",\"stream\":false,\"max_tokens\":6,"
		 "\"content\":\"fifteen chars!!\"},"
		 "{\"sdk\":\"anthropic\",\"model\":\"err-429\",\"content\":\"x\",\"max_tokens\":1},"
		 "{\"sdk\":\"anthropic\",\"model\":\"err-500\",\"content\":\"x\",\"max_tokens\":1}]}",
		 base_url());
	sonde_llm(&r, (const char *[]){"--spans", tmp_path("spans.jsonl"), "--", llm_node_bin(),
				       node_client(), plan, NULL});
	cr_expect(strstr(r.out, "ok claude-stream\nok claude-whole\nerror err-429 429\n"
				"error err-500 500\n"),
		  "%s", r.out);
	read_spans(tmp_path("spans.jsonl"), &ss);
	cr_expect_eq(ss.n, 4, "%s", ss.text);
	/* Anthropic's input_tokens leave the cache out: the total is the conventions'. */
	s = span_named(&ss, "chat claude-stream");
	expect_chat(s, "anthropic", "claude-stream", 12, 9, "end_turn");
	cr_expect_eq(attr_int(s, "gen_ai.usage.cache_read.input_tokens"), 2);
	cr_expect_eq(attr_int(s, "gen_ai.usage.cache_creation.input_tokens"), 1);
	expect_secs(atof(attr(s, "gen_ai.response.time_to_first_chunk")), 0.2, "claude TTFC");
	expect_secs(s->end_s - s->start_s, 1.0, "claude-stream duration");
	s = span_named(&ss, "chat claude-whole");
	expect_chat(s, "anthropic", "claude-whole", 15, 6, "end_turn");
	s = span_named(&ss, "chat err-429");
	cr_expect_str_eq(attr(s, "gen_ai.provider.name"), "anthropic");
	cr_expect_str_eq(attr(s, "error.type"), "rate_limit_error");
	cr_expect_eq(attr_int(s, "http.response.status_code"), 429);
	expect_secs(s->end_s - s->start_s, 0.2, "anthropic err-429 duration");
	s = span_named(&ss, "chat err-500");
	cr_expect_str_eq(attr(s, "error.type"), "api_error");
	cr_expect_eq(attr_int(s, "http.response.status_code"), 500);
	cr_expect(strstr(r.err, "llm: 4 calls (2 errors)"), "%s", r.err);
	free_spans(&ss);
	run_free(&r);
}

/* curl (libssl.so.3, nghttp2): HTTP/2 by ALPN; Gemini by its host name. */
/* One curl request in @a from @n on (after "--next" unless first): POST @body to @url. */
static int curl_h2(const char **a, int n, const char *resolve, const char *header,
		   const char *url, const char *body)
{
	static const char *const common[] = {"-sS", "--http2", "-o", "/dev/null", "-H",
					     "content-type: application/json", "--cacert"};

	if (n)
		a[n++] = "--next";
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		a[n++] = common[i];
	a[n++] = srv.ca;
	a[n++] = "--resolve";
	a[n++] = resolve;
	if (header) {
		a[n++] = "-H";
		a[n++] = header;
	}
	a[n++] = url;
	a[n++] = "-d";
	a[n++] = body;
	a[n] = NULL;
	return n;
}

Test(llm, curl_http2)
{
	char url1[256], url2[256], url3[256], resolve[128];
	const char *args[64] = {"--spans", tmp_path("spans.jsonl"), "--", "/usr/bin/curl"};
	struct spans ss;
	struct run r;
	const struct span *s;
	int n = 4;

	snprintf(url1, sizeof(url1), "%s/v1/chat/completions", base_url());
	snprintf(url2, sizeof(url2),
		 "https://generativelanguage.googleapis.com:%d/v1beta/models/"
		 "gemini-test:streamGenerateContent?alt=sse",
		 srv.https);
	snprintf(url3, sizeof(url3),
		 "https://generativelanguage.googleapis.com:%d/v1beta/models/"
		 "gemini-whole:generateContent",
		 srv.https);
	snprintf(resolve, sizeof(resolve), "generativelanguage.googleapis.com:%d:127.0.0.1",
		 srv.https);
	n = curl_h2(args + 4, 0, resolve, "authorization: Bearer " KEY_OPENAI, url1,
		    "{\"model\":\"gpt-h2\",\"stream\":true,\"max_tokens\":8,"
		    "\"stream_options\":{\"include_usage\":true},"
		    "\"messages\":[{\"role\":\"user\",\"content\":\"over h2\"}]}");
	n = curl_h2(args + 4, n, resolve, "x-goog-api-key: " KEY_OPENAI, url2,
		    "{\"contents\":[{\"parts\":[{\"text\":\"gemini, hi\"}]}],"
		    "\"generationConfig\":{\"maxOutputTokens\":5}}");
	curl_h2(args + 4, n, resolve, NULL, url3,
		"{\"contents\":[{\"parts\":[{\"text\":\"whole\"}]}],"
		"\"generationConfig\":{\"maxOutputTokens\":3}}");
	sonde_llm(&r, args);
	cr_expect(strstr(r.err, "TLS through /usr/lib/x86_64-linux-gnu/libssl.so.3 (OpenSSL 3."),
		  "%s", r.err);
	read_spans(tmp_path("spans.jsonl"), &ss);
	cr_expect_eq(ss.n, 3, "%s", ss.text);
	s = span_named(&ss, "chat gpt-h2");
	expect_chat(s, "openai", "gpt-h2", 7, 8, "stop");
	expect_secs(s->end_s - s->start_s, 1.0, "gpt-h2 duration");
	expect_secs(atof(attr(s, "gen_ai.response.time_to_first_chunk")), 0.2, "gpt-h2 TTFC");
	s = span_named(&ss, "generate_content gemini-test");
	cr_expect_str_eq(attr(s, "gen_ai.provider.name"), "gcp.gemini");
	cr_expect_str_eq(attr(s, "gen_ai.request.model"), "gemini-test");
	cr_expect_str_eq(attr(s, "gen_ai.response.model"), "gemini-test");
	cr_expect_str_eq(attr(s, "gen_ai.response.id"), "resp-gemini-test");
	cr_expect_str_eq(attr(s, "gen_ai.response.finish_reasons"), "[STOP]");
	cr_expect_eq(attr_int(s, "gen_ai.usage.input_tokens"), 10);
	cr_expect_eq(attr_int(s, "gen_ai.usage.output_tokens"), 5);
	cr_expect_eq(attr_int(s, "gen_ai.usage.cache_read.input_tokens"), 4);
	cr_expect_str_eq(attr(s, "server.address"), "generativelanguage.googleapis.com");
	expect_secs(s->end_s - s->start_s, 1.0, "gemini duration");
	s = span_named(&ss, "generate_content gemini-whole");
	cr_expect_eq(attr_int(s, "gen_ai.usage.input_tokens"), 5);
	cr_expect_eq(attr_int(s, "gen_ai.usage.output_tokens"), 3);
	/* One HTTP/2 connection each (curl --next does not reuse across hosts). */
	cr_expect(strstr(r.err, "0 HTTP/1.1, 2 HTTP/2") || strstr(r.err, "0 HTTP/1.1, 3 HTTP/2"),
		  "%s", r.err);
	free_spans(&ss);
	run_free(&r);
}

/*
 * A TLS download by curl is not an LLM call: its GET is seen and skipped
 * in the kernel (no byte of its 8 MiB answer copied, the reads' uprobe
 * sessions end at entry), then a POST on a new connection is decoded.
 */
Test(llm, download_skipped_then_call)
{
	char get[128], post[128], head[256];
	unsigned long ssl = 0, sock = 0, recs = 0, bytes = 0, skipped = 0;
	const char *line;
	const char *args[48] = {"-v",
				"--spans",
				tmp_path("spans.jsonl"),
				"--",
				"/usr/bin/curl",
				"-sS",
				"--http1.1",
				"--cacert",
				srv.ca,
				"-H",
				"User-Agent:",
				"-o",
				"/dev/null",
				get,
				"--next",
				"-sS",
				"--http1.1",
				"--cacert",
				srv.ca,
				"-o",
				"/dev/null",
				"-H",
				"content-type: application/json",
				post,
				"-d",
				"{\"model\":\"gpt-dl\",\"max_tokens\":4,"
				"\"messages\":[{\"role\":\"user\",\"content\":\"after\"}]}",
				NULL};
	struct spans ss;
	struct run r;

	snprintf(get, sizeof(get), "%s/files/blob?bytes=8388608", base_url());
	snprintf(post, sizeof(post), "%s/v1/chat/completions", base_url());
	sonde_llm(&r, args);
	read_spans(tmp_path("spans.jsonl"), &ss);
	cr_expect_eq(ss.n, 1, "%s", ss.text);
	expect_chat(span_named(&ss, "chat gpt-dl"), "openai", "gpt-dl", 5, 4, "stop");
	/*
	 * The GET's connection never reached the collector: one connection,
	 * only the call's bytes copied (8 MiB were read), the GET's head
	 * among the bytes skipped (the TLS handshake's socket writes too).
	 */
	cr_expect(strstr(r.err, "1 connection (1 HTTP/1.1, 0 HTTP/2, 0 not HTTP)"), "%s", r.err);
	line = strstr(r.err, "llm: ");
	while (line && sscanf(line,
			      "llm: %lu SSL and %lu socket reads/writes copied, %lu records, "
			      "%lu bytes; %lu request bytes skipped",
			      &ssl, &sock, &recs, &bytes, &skipped) != 5)
		line = strstr(line + 1, "llm: ");
	cr_assert(line, "no copy counts in:\n%s", r.err);
	cr_expect_eq(sock, 0);
	cr_expect(ssl >= 2 && ssl <= 4 && bytes < 4096, "%lu calls, %lu bytes copied", ssl, bytes);
	snprintf(head, sizeof(head),
		 "GET /files/blob?bytes=8388608 HTTP/1.1\r\nHost: localhost:%d\r\n"
		 "Accept: */*\r\n\r\n",
		 srv.https);
	cr_expect_geq(skipped, strlen(head), "%s", r.err);
	free_spans(&ss);
	run_free(&r);
}

/* python3's urllib (the _ssl module on libssl.so.3, SSL_read_ex/SSL_write_ex), HTTP/1.1. */
Test(llm, python_urllib)
{
	char plan[1024];
	struct spans ss;
	struct run r;
	const struct span *s;

	snprintf(plan, sizeof(plan),
		 "{\"base\":\"%s\",\"ca\":\"%s\",\"calls\":["
		 "{\"api\":\"openai\",\"model\":\"gpt-py\",\"stream\":true,\"max_tokens\":3,"
		 "\"content\":\"from python\"},"
		 "{\"api\":\"anthropic\",\"model\":\"claude-py\",\"max_tokens\":2,"
		 "\"content\":\"python to claude\"}]}",
		 base_url(), srv.ca);
	sonde_llm(&r, (const char *[]){"--spans", tmp_path("spans.jsonl"), "--", "/usr/bin/python3",
				       py_client(), plan, NULL});
	cr_expect(strstr(r.out, "ok gpt-py "), "%s", r.out);
	read_spans(tmp_path("spans.jsonl"), &ss);
	cr_expect_eq(ss.n, 2, "%s", ss.text);
	s = span_named(&ss, "chat gpt-py");
	expect_chat(s, "openai", "gpt-py", 11, 3, "stop");
	expect_secs(s->end_s - s->start_s, 1.0, "gpt-py duration");
	s = span_named(&ss, "chat claude-py");
	expect_chat(s, "anthropic", "claude-py", 16, 2, "end_turn");
	/* urllib opens a connection per call. */
	cr_expect(strstr(r.err, "2 connections (2 HTTP/1.1, 0 HTTP/2"), "%s", r.err);
	free_spans(&ss);
	run_free(&r);
}

/*
 * Go's net/http over Go's own crypto/tls (no OpenSSL anywhere): HTTP/2 by
 * ALPN, three calls multiplexed on one connection, from a program with
 * its symbol table; then HTTP/1.1 kept alive, two calls on one
 * connection, from the same program stripped (-s -w), whose functions
 * are found in Go's own table (.gopclntab).
 */
static void go_client(const char *fixture, bool h1, const char *probed, struct spans *ss,
		      struct run *r)
{
	const char *bin = fixture_path(fixture);
	char plan[1024], want[700];

	require_path(bin, X_OK, "the Go LLM client (golang-go)");
	snprintf(plan, sizeof(plan),
		 "{\"base\":\"%s\",\"ca\":\"%s\",\"h1\":%s,\"calls\":["
		 "{\"api\":\"openai\",\"model\":\"gpt-go\",\"stream\":true,\"max_tokens\":4,"
		 "\"content\":\"from go\"},"
		 "{\"api\":\"anthropic\",\"model\":\"claude-go\",\"max_tokens\":6,"
		 "\"content\":\"go to claude\"}%s]}",
		 base_url(), srv.ca, h1 ? "true" : "false",
		 h1 ? ""
		    : ",{\"api\":\"openai\",\"model\":\"gpt-go-whole\",\"max_tokens\":2,"
		      "\"content\":\"whole\"}");
	sonde_llm(r, (const char *[]){"-v", "--spans", tmp_path("spans.jsonl"), "--", bin, plan,
				      NULL});
	cr_expect(strstr(r->out, "ok gpt-go "), "%s", r->out);
	cr_expect(strstr(r->out, h1 ? " HTTP/1.1" : " HTTP/2.0"), "%s", r->out);
	snprintf(want, sizeof(want), "TLS through %s (go1.", bin);
	cr_expect(strstr(r->err, want), "%s", r->err);
	snprintf(want, sizeof(want),
		 ": crypto/tls.(*Conn).Write, crypto/tls.(*Conn).Read (%s), "
		 "crypto/tls.(*Conn).Close)",
		 probed);
	cr_expect(strstr(r->err, want), "%s", r->err);
	read_spans(tmp_path("spans.jsonl"), ss);
	cr_expect_eq(ss->n, h1 ? 2 : 3, "%s", ss->text);
	expect_chat(span_named(ss, "chat gpt-go"), "openai", "gpt-go", 7, 4, "stop");
	expect_secs(span_named(ss, "chat gpt-go")->end_s - span_named(ss, "chat gpt-go")->start_s,
		    1.0, "gpt-go duration");
	expect_secs(
		atof(attr(span_named(ss, "chat gpt-go"), "gen_ai.response.time_to_first_chunk")),
		0.2, "gpt-go TTFC");
	expect_chat(span_named(ss, "chat claude-go"), "anthropic", "claude-go", 12, 6, "end_turn");
	if (!h1)
		expect_chat(span_named(ss, "chat gpt-go-whole"), "openai", "gpt-go-whole", 5, 2,
			    "stop");
}

/* No RET probed: Go 1.19's Read copies out with one runtime.memmove. */
#define GO_COPY_OUT "at its copy out"

Test(llm, go_crypto_tls_http2)
{
	struct spans ss;
	struct run r;

	go_client("llm_go", false, GO_COPY_OUT, &ss, &r);
	cr_expect(strstr(r.err, "3 calls (0 errors), 1 connection (0 HTTP/1.1, 1 HTTP/2"), "%s",
		  r.err);
	free_spans(&ss);
	run_free(&r);
}

Test(llm, go_crypto_tls_stripped_http1)
{
	struct spans ss;
	struct run r;

	go_client("llm_go_stripped", true, GO_COPY_OUT, &ss, &r);
	cr_expect(strstr(r.err, "2 calls (0 errors), 1 connection (1 HTTP/1.1, 0 HTTP/2"), "%s",
		  r.err);
	free_spans(&ss);
	run_free(&r);
}

/*
 * A Read that calls bytes.Reader.Read (not inlined): entry and RET probes,
 * by goroutine; over HTTP/1.1, whose reader goroutine enters its first
 * Read before the request is written.
 */
Test(llm, go_crypto_tls_read_returns)
{
	struct spans ss;
	struct run r;

	go_client("llm_go_noinline", true, "and its 7 RETs", &ss, &r);
	cr_expect(strstr(r.err, "2 calls (0 errors), 1 connection (1 HTTP/1.1, 0 HTTP/2"), "%s",
		  r.err);
	free_spans(&ss);
	run_free(&r);
}

/* A Go program that speaks no TLS is told apart from one sonde cannot see into. */
Test(llm, go_program_without_tls_says_why)
{
	const char *bin = fixture_path("gofix");
	struct run r;
	char want[700];

	require_path(bin, X_OK, "the Go fixture (golang-go)");
	sonde_llm(&r, (const char *[]){"--", bin, "2", "1", NULL});
	cr_expect(strstr(r.out, "done 2"), "%s", r.out);
	snprintf(want, sizeof(want),
		 "(gofix): no LLM API calls seen; no OpenSSL or BoringSSL with SSL_write/SSL_read "
		 "symbols and no Go crypto/tls in its program or libraries");
	cr_expect(strstr(r.out, want) || strstr(r.err, want), "%s\n%s", r.out, r.err);
	run_free(&r);
}

/* A local inference server in plaintext: Ollama's /api/chat, NDJSON streamed. */
Test(llm, ollama_plaintext)
{
	char url[128];
	struct spans ss;
	struct run r;
	const struct span *s;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/chat", srv.http);
	sonde_llm(&r, (const char *[]){"--spans", tmp_path("spans.jsonl"), "--", "/usr/bin/curl", "-sS",
				       "-o", "/dev/null", url, "-d",
				       "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\","
				       "\"content\":\"local model\"}],\"options\":{\"num_predict\":6}}",
				       NULL});
	read_spans(tmp_path("spans.jsonl"), &ss);
	cr_expect_eq(ss.n, 1, "%s", ss.text);
	s = span_named(&ss, "chat llama3");
	cr_expect_str_eq(attr(s, "gen_ai.provider.name"), "ollama");
	cr_expect_eq(attr_int(s, "gen_ai.usage.input_tokens"), 11);
	cr_expect_eq(attr_int(s, "gen_ai.usage.output_tokens"), 6);
	cr_expect_str_eq(attr(s, "gen_ai.response.finish_reasons"), "[stop]");
	cr_expect_str_eq(attr(s, "server.address"), "127.0.0.1");
	expect_secs(atof(attr(s, "gen_ai.response.time_to_first_chunk")), 0.2, "ollama TTFC");
	expect_secs(s->end_s - s->start_s, 1.0, "ollama duration");
	cr_expect(strstr(r.err, "1 connection (1 HTTP/1.1, 0 HTTP/2, 0 not HTTP)"), "%s", r.err);
	free_spans(&ss);
	run_free(&r);
}

/* ---- tokens by the code path that asked, and the GenAI metrics ---- */

/* The one line of @text that starts with @prefix and holds @needle (a static copy). */
static const char *line_with(const char *text, const char *prefix, const char *needle)
{
	static char buf[2048];
	const char *found = NULL;

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
		if (!strncmp(buf, prefix, strlen(prefix)) && strstr(buf, needle)) {
			cr_assert_null(found, "two '%s' lines with '%s' in:\n%s", prefix, needle, text);
			found = p;
		}
		p = nl ? nl + 1 : NULL;
	}
	cr_assert(found, "no '%s' line with '%s' in:\n%s", prefix, needle, text);
	snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(found, "\n"), found);
	return buf;
}

/* The last request of @r to @path (the exit flush of metrics). */
static const struct rx_req *last_req(struct rx *r, const char *path)
{
	const struct rx_req *q = NULL;

	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->req[i].path, path))
			q = &r->req[i];
	cr_assert(q, "nothing was posted to %s", path);
	return q;
}

#define ROUNDS 3
#define TOKEN_BOUNDS "bounds=1,4,16,64,256,1024,4096,16384,65536,262144,1048576,4194304,16777216,67108864"
#define DURATION_BOUNDS "bounds=0.01,0.02,0.04,0.08,0.16,0.32,0.64,1.28,2.56,5.12,10.24,20.48,40.96,81.92"

/*
 * llm_callsites: ask_short() 40 input and 3 output tokens, ask_long() 400
 * and 30, ROUNDS times each on one keep-alive connection (libssl, plain
 * SSL_write/SSL_read). The flame graphs split the tokens by call site;
 * the metrics pushed over OTLP, read by OTel JS's decoder, hold the same
 * totals in the conventions' buckets.
 */
Test(llm, tokens_by_stack_and_metrics)
{
	char port[16], *in, *out, *m;
	struct rx rx = {0};
	struct run r;
	unsigned int spans = 0;

	rx_start(&rx);
	snprintf(port, sizeof(port), "%d", srv.https);
	sonde_llm(&r, (const char *[]){"-o", tmp_path("tokens.folded"), "--otlp-endpoint",
				       rx_url(&rx), "--", fixture_path("llm_callsites"), port,
				       srv.ca, "3", "fast", NULL});
	rx_stop(&rx);
	in = read_file(tmp_path("tokens.folded"), NULL);
	out = read_file(tmp_path("tokens.output_tokens.folded"), NULL);
	cr_assert(in && out, "%s", r.err);
	cr_expect_eq(folded_sum(in, ";main;ask_short;ask;"), 40 * ROUNDS, "%s", in);
	cr_expect_eq(folded_sum(in, ";main;ask_long;ask;"), 400 * ROUNDS, "%s", in);
	cr_expect_eq(folded_sum(in, ""), 440 * ROUNDS, "%s", in);
	cr_expect_eq(folded_sum(out, ";main;ask_short;ask;"), 3 * ROUNDS, "%s", out);
	cr_expect_eq(folded_sum(out, ";main;ask_long;ask;"), 30 * ROUNDS, "%s", out);
	cr_expect_eq(folded_sum(out, ""), 33 * ROUNDS, "%s", out);
	cr_expect(strstr(r.err, "6 calls (0 errors), 1 connection (1 HTTP/1.1, 0 HTTP/2"), "%s",
		  r.err);

	for (int i = 0; i < rx.n; i++)
		if (!strcmp(rx.req[i].path, "/v1/traces"))
			spans += spans_in(&rx.req[i]);
	cr_expect_eq(spans, 2 * ROUNDS);
	m = node_decode(last_req(&rx, "/v1/metrics"), "metrics");
	cr_assert(m);
	cr_expect(strstr(m, "metric gen_ai.client.token.usage unit={token} histogram"), "%s", m);
	/* 40 and 400 input tokens: buckets (16,64] and (256,1024]; 3 and 30 output: (1,4], (16,64]. */
	cr_expect(strstr(line_with(m, "point ", "gen_ai.token.type=input"),
			 " count=6 sum=1320 buckets=0,0,0,3,0,3,0,0,0,0,0,0,0,0,0 " TOKEN_BOUNDS),
		  "%s", m);
	cr_expect(strstr(line_with(m, "point ", "gen_ai.token.type=output"),
			 " count=6 sum=99 buckets=0,3,0,3,0,0,0,0,0,0,0,0,0,0,0 " TOKEN_BOUNDS),
		  "%s", m);
	cr_expect(strstr(line_with(m, "point ", "gen_ai.token.type=input"),
			 "gen_ai.operation.name=chat gen_ai.provider.name=openai "
			 "gen_ai.request.model=gpt-callsite gen_ai.response.model=gpt-callsite "),
		  "%s", m);
	cr_expect(strstr(m, "metric gen_ai.client.operation.duration unit=s histogram"), "%s", m);
	cr_expect(strstr(line_with(m, "point ", DURATION_BOUNDS), " count=6 sum="), "%s", m);
	cr_expect(strstr(line_with(m, "point ", "http.response.status_code=200"), " value=6"), "%s",
		  m);
	free(m);
	free(in);
	free(out);
	rx_free(&rx);
	run_free(&r);
}

/* ---- privacy: a planted key and email never leave, whatever is asked ---- */

/* Every byte sonde wrote in run @r: stdout, stderr, files, OTLP bodies. */
static char *everything(const struct run *r, struct rx *rx, const char *const *files)
{
	size_t cap = 1 << 20, len = 0;
	char *all = malloc(cap);

	cr_assert(all);
	all[0] = '\0';
#define ADD(p, n)                                                      \
	do {                                                           \
		size_t n_ = (n);                                       \
		while (len + n_ + 2 > cap)                             \
			cr_assert(all = realloc(all, cap *= 2));       \
		memcpy(all + len, (p), n_);                            \
		len += n_;                                             \
		all[len++] = '\n';                                     \
		all[len] = '\0';                                       \
	} while (0)
	ADD(r->out, strlen(r->out));
	ADD(r->err, strlen(r->err));
	for (; *files; files++) {
		size_t n;
		char *t = read_file(*files, &n);

		cr_assert(t, "%s was not written", *files);
		ADD(t, n);
		free(t);
	}
	for (int i = 0; i < rx->n; i++) {
		ADD(rx->req[i].head, strlen(rx->req[i].head));
		ADD((char *)rx->req[i].body, rx->req[i].len);
	}
#undef ADD
	/* Bodies are binary: a NUL must not hide what follows it from strstr. */
	for (size_t i = 0; i < len; i++)
		if (!all[i])
			all[i] = ' ';
	return all;
}

static void expect_nothing_planted(const char *all)
{
	/* Whole or in part (a key cut at a chunk boundary is a key). */
	static const char *const planted[] = {KEY_OPENAI, KEY_ANTHROPIC, "PLANTEDsecretKEY", EMAIL,
					      "alice.planted", "planted@example"};

	for (size_t i = 0; i < sizeof(planted) / sizeof(planted[0]); i++) {
		const char *at = strstr(all, planted[i]);

		cr_expect_null(at, "'%s' leaked, at: %.300s", planted[i], at);
	}
}

/*
 * python3 calls OpenAI (Authorization: Bearer KEY, a prompt holding the
 * email and the key) and Anthropic (x-api-key), then curl calls Gemini
 * with the key as key= in the URL. Everything sonde writes at -v (the
 * table, logs, --spans, both flame graphs, OTLP traces and metrics) is
 * searched for the planted secrets: none, without and with
 * --capture-content; the prompt text leaves only when asked, redacted.
 */
static void privacy_run(bool capture)
{
	char plan[1024], gemini[300], resolve[128];
	struct rx rx = {0};
	struct run r;
	struct spans ss;
	const struct span *s;
	char *all;

	snprintf(plan, sizeof(plan),
		 "{\"base\":\"%s\",\"ca\":\"%s\",\"calls\":["
		 "{\"api\":\"openai\",\"model\":\"gpt-private\",\"stream\":true,\"max_tokens\":3,"
		 "\"content\":\"private note for " EMAIL " with " KEY_OPENAI "\"},"
		 "{\"api\":\"anthropic\",\"model\":\"claude-private\",\"max_tokens\":2,"
		 "\"content\":\"private mail " EMAIL "\"}]}",
		 base_url(), srv.ca);
	snprintf(gemini, sizeof(gemini),
		 "https://generativelanguage.googleapis.com:%d/v1beta/models/"
		 "gemini-private:generateContent?key=" KEY_OPENAI,
		 srv.https);
	snprintf(resolve, sizeof(resolve), "generativelanguage.googleapis.com:%d:127.0.0.1",
		 srv.https);
	rx_start(&rx);
	/* -vv: libbpf's own debug output too. */
	sonde_llm(&r, (const char *[]){capture ? "--capture-content" : "-vv", "-vv", "--spans", tmp_path("spans.jsonl"), "-o",
				       tmp_path("tokens.folded"), "--otlp-endpoint", rx_url(&rx),
				       "--", "/bin/sh", "-c",
				       "/usr/bin/python3 \"$0\" \"$1\" && /usr/bin/curl -sS -o /dev/null --cacert \"$2\" "
				       "--resolve \"$3\" -H 'content-type: application/json' \"$4\" "
				       "-d '{\"contents\":[{\"parts\":[{\"text\":\"private gemini\"}]}]}'",
				       py_client(), plan, srv.ca, resolve, gemini, NULL});
	rx_stop(&rx);
	cr_expect(strstr(r.out, "ok gpt-private "), "%s", r.out);
	cr_expect(strstr(r.err, "llm: 3 calls (0 errors)"), "%s", r.err);
	all = everything(&r, &rx,
			 (const char *[]){tmp_path("spans.jsonl"), tmp_path("tokens.folded"),
					  tmp_path("tokens.output_tokens.folded"), NULL});
	expect_nothing_planted(all);
	/* What was searched holds the calls: the --spans file and the OTLP traces. */
	cr_expect_eq(count_of(all, "resp-claude-private"), 2, "%s", all);

	read_spans(tmp_path("spans.jsonl"), &ss);
	cr_expect_eq(ss.n, 3, "%s", ss.text);
	s = span_named(&ss, "generate_content gemini-private");
	cr_expect_eq(attr_int(s, "gen_ai.usage.input_tokens"), 14);
	s = span_named(&ss, "chat gpt-private");
	expect_chat(s, "openai", "gpt-private",
		    strlen("private note for " EMAIL " with " KEY_OPENAI), 3, "stop");
	if (capture) {
		cr_expect_str_eq(attr(s, "gen_ai.input.messages"),
				 "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
				 "\"private note for [REDACTED:email] with [REDACTED:secret]\"}]}]");
		cr_expect_str_eq(attr(s, "gen_ai.output.messages"),
				 "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":"
				 "\"part0part1part2part3part4\"}],\"finish_reason\":\"stop\"}]");
		s = span_named(&ss, "chat claude-private");
		cr_expect_str_eq(attr(s, "gen_ai.input.messages"),
				 "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
				 "\"private mail [REDACTED:email]\"}]}]");
	} else {
		/* No prompt or completion text at all. */
		cr_expect_null(strstr(all, "private note"));
		cr_expect_null(strstr(all, "private mail"));
		cr_expect_null(strstr(all, "private gemini"));
		cr_expect_null(strstr(all, "part0part1"));
		cr_expect_null(strstr(all, "gen_ai.input.messages"));
		cr_expect_null(strstr(all, "gen_ai.output.messages"));
	}
	free(all);
	free_spans(&ss);
	rx_free(&rx);
	run_free(&r);
}

Test(llm, privacy_default)
{
	privacy_run(false);
}

Test(llm, privacy_capture_content)
{
	privacy_run(true);
}

/*
 * Bodies are never cut at a cap: a 2 MB prompt (its input tokens are its
 * characters) and a 20 MB streamed answer (its usage comes after the 20
 * MB) arrive whole, with the decoder's memory bounded all the while.
 */
Test(llm, large_bodies_whole)
{
	char plan[2048], *big;
	struct spans ss;
	struct run r;
	const struct span *s;
	FILE *f;

	big = malloc(2000000);
	cr_assert(big);
	memset(big, 'y', 2000000);
	f = fopen(tmp_path("big.txt"), "w");
	cr_assert(f && fwrite(big, 1, 2000000, f) == 2000000 && !fclose(f));
	free(big);
	snprintf(plan, sizeof(plan),
		 "{\"base\":\"%s\",\"ca\":\"%s\",\"calls\":["
		 "{\"api\":\"openai\",\"model\":\"gpt-bigin\",\"max_tokens\":3,\"fast\":true,"
		 "\"content_file\":\"%s\"},"
		 "{\"api\":\"openai\",\"model\":\"big-stream\",\"stream\":true,\"max_tokens\":4,"
		 "\"fast\":true,\"content\":\"x\"}]}",
		 base_url(), srv.ca, tmp_path("big.txt"));
	/*
	 * The server sends the 20 MB as fast as loopback goes: a ring that
	 * holds it all, so a collector slowed down (ASan, a loaded machine)
	 * loses nothing.
	 */
	sonde_llm(&r, (const char *[]){"-v", "--ring-size", "65536", "--spans",
				       tmp_path("spans.jsonl"), "--", "/usr/bin/python3",
				       py_client(), plan, NULL});
	/* The client read the whole stream: 20 MB of content in SSE around it. */
	cr_expect(strstr(r.out, "ok gpt-bigin "), "%s", r.out);
	cr_expect(strstr(r.out, "ok big-stream "), "%s", r.out);
	read_spans(tmp_path("spans.jsonl"), &ss);
	cr_expect_eq(ss.n, 2, "%s", ss.text);
	s = span_named(&ss, "chat gpt-bigin");
	cr_expect_eq(attr_int(s, "gen_ai.usage.input_tokens"), 2000000);
	cr_expect_eq(attr_int(s, "gen_ai.usage.output_tokens"), 3);
	s = span_named(&ss, "chat big-stream");
	cr_expect_eq(attr_int(s, "gen_ai.usage.input_tokens"), 1);
	cr_expect_eq(attr_int(s, "gen_ai.usage.output_tokens"), 4);
	cr_expect_str_eq(attr(s, "gen_ai.response.finish_reasons"), "[stop]");
	cr_expect(strstr(r.err, ", 0 bytes lost, 2 spans"), "%s", r.err);
	cr_expect(strstr(r.err, "0 calls incomplete, 0 protocol errors, 0 bytes ignored"), "%s",
		  r.err);
	/* Bounded: the decoder's peak is a few KiB for 22 MB of traffic. */
	cr_expect_lt(number_before(strstr(r.err, "memory peak"), "bytes"), 64 * 1024, "%s", r.err);
	free_spans(&ss);
	run_free(&r);
}

#define EXPECT_QUERY(api, q, want)                                                               \
	do {                                                                                     \
		char *v_ = prometheus_wait_query(api, q, want);                                  \
		cr_expect_str_eq(v_ ? v_ : "(none)", want, "query %s; see %s/prometheus.log", q, \
				 prometheus_dir());                                              \
		free(v_);                                                                        \
	} while (0)

/*
 * The same six calls scraped from --listen by a real Prometheus while
 * sonde runs (the command waits for the test to say it is done): the
 * GenAI histograms under Prometheus' names, exact, and promtool lints
 * the page clean.
 */
Test(llm, prometheus_scrapes_genai_metrics)
{
	char listen[64], port[16], done[600], script[1024], *lint = NULL, *err;
	struct http_reply hr;
	unsigned int api;
	int lport, status;

	require_path(PROMETHEUS_BIN, X_OK, "Debian's prometheus");
	lport = closed_port(SOCK_STREAM);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", lport);
	snprintf(port, sizeof(port), "%d", srv.https);
	snprintf(done, sizeof(done), "%s", tmp_path("done"));
	unlink(done);
	snprintf(script, sizeof(script),
		 "\"$0\" \"$1\" \"$2\" 3 fast || exit 1; while [ ! -e \"$3\" ]; do sleep 0.1; done");
	{
		char *argv[] = {(char *)sonde_bin(), "llm", "--listen", listen, "--", "/bin/sh",
				"-c", script, (char *)fixture_path("llm_callsites"), port, srv.ca,
				done, NULL};

		sonde_pid = spawn(argv, tmp_path("prom.out"), tmp_path("prom.err"));
	}
	api = prometheus_start((unsigned int)lport);
	EXPECT_QUERY(api, "sonde_llm_calls_total%7Bhttp_response_status_code%3D%22200%22%7D", "6");
	EXPECT_QUERY(api,
		     "gen_ai_client_token_usage_sum%7Bgen_ai_token_type%3D%22input%22%2C"
		     "gen_ai_request_model%3D%22gpt-callsite%22%7D",
		     "1320");
	EXPECT_QUERY(api, "gen_ai_client_token_usage_sum%7Bgen_ai_token_type%3D%22output%22%7D",
		     "99");
	/* 40 and 400 input tokens: 3 at or under 64, all 6 at or under 1024. */
	EXPECT_QUERY(api,
		     "gen_ai_client_token_usage_bucket%7Bgen_ai_token_type%3D%22input%22%2C"
		     "le%3D%2264%22%7D",
		     "3");
	EXPECT_QUERY(api,
		     "gen_ai_client_token_usage_bucket%7Bgen_ai_token_type%3D%22input%22%2C"
		     "le%3D%221024%22%7D",
		     "6");
	EXPECT_QUERY(api,
		     "gen_ai_client_operation_duration_seconds_count%7Bgen_ai_provider_name%3D%22"
		     "openai%22%7D",
		     "6");
	cr_assert_eq(http_request(AF_INET, (unsigned int)lport, "GET", "/metrics", &hr), 0);
	cr_expect_eq(promtool_check(hr.body, &lint), 0, "%s", lint);
	cr_expect_str_eq(lint, "", "promtool lint of /metrics:\n%s", lint);
	free(lint);
	http_reply_free(&hr);

	/* Done: the command ends, and sonde with it. */
	close(open(done, O_CREAT | O_WRONLY, 0600));
	cr_assert_eq(waitpid(sonde_pid, &status, 0), sonde_pid);
	sonde_pid = -1;
	err = read_file(tmp_path("prom.err"), NULL);
	cr_expect(WIFEXITED(status) && !WEXITSTATUS(status), "sonde llm: %s", err);
	cr_expect(strstr(err, "llm: 6 calls (0 errors)"), "%s", err);
	free(err);
}

/* ---- the README's demo: plaintext HTTP calls, tokens by code path ---- */

static pid_t demo_server = -1;

static void demo_fini(void)
{
	if (demo_server > 0) {
		kill(demo_server, SIGKILL);
		waitpid(demo_server, NULL, 0);
		demo_server = -1;
	}
}

TestSuite(llm_demo, .init = require_bpf, .fini = demo_fini, .timeout = 120);

/* `sonde-demo llm-server` started; the port it printed. */
static int demo_server_start(void)
{
	const char *demo = getenv("SONDE_DEMO");
	char *out = NULL;
	int port = 0;

	cr_assert(demo, "SONDE_DEMO is not set: run the tests through meson test");
	demo_server = spawn((char *const[]){(char *)demo, "llm-server", NULL},
			    tmp_path("demo_server.out"), tmp_path("demo_server.err"));
	for (int i = 0; i < 500 && port <= 0; i++) {
		usleep(10000);
		free(out);
		out = read_file(tmp_path("demo_server.out"), NULL);
		if (out && strchr(out, '\n'))
			port = atoi(out);
	}
	free(out);
	cr_assert_gt(port, 0, "sonde-demo llm-server printed no port");
	return port;
}

/*
 * sonde-demo llm makes 4 rounds of three plaintext HTTP/1.1 calls with
 * known usage (summarize_ticket 120/42, draft_reply 310/128 streamed,
 * classify_intent 95/3, refused once with a 429): the table, the
 * summary and the token flame graphs by the function that asked (the
 * stack of the socket write(2) that sent each request) are exact, and
 * the made-up API key is nowhere.
 */
Test(llm_demo, plaintext_calls_and_tokens_by_code_path)
{
	char port[16], *in, *out, *spans;
	struct run r;

	snprintf(port, sizeof(port), "%d", demo_server_start());
	sonde_llm(&r,
		  (const char *[]){"-o", tmp_path("demo.folded"), "--spans", tmp_path("demo.jsonl"),
				   "--", getenv("SONDE_DEMO"), "llm", port, NULL});
	in = read_file(tmp_path("demo.folded"), NULL);
	out = read_file(tmp_path("demo.output_tokens.folded"), NULL);
	spans = read_file(tmp_path("demo.jsonl"), NULL);
	cr_assert(in && out && spans, "%s", r.err);
	cr_expect_eq(folded_sum(in, ";demo_llm_client;summarize_ticket;post;"), 4 * 120, "%s", in);
	cr_expect_eq(folded_sum(in, ";demo_llm_client;draft_reply;post;"), 4 * 310, "%s", in);
	cr_expect_eq(folded_sum(in, ";demo_llm_client;classify_intent;post;"), 3 * 95, "%s", in);
	cr_expect_eq(folded_sum(in, ""), 4 * 120 + 4 * 310 + 3 * 95, "%s", in);
	cr_expect_eq(folded_sum(out, ";demo_llm_client;summarize_ticket;post;"), 4 * 42, "%s", out);
	cr_expect_eq(folded_sum(out, ";demo_llm_client;draft_reply;post;"), 4 * 128, "%s", out);
	cr_expect_eq(folded_sum(out, ";demo_llm_client;classify_intent;post;"), 3 * 3, "%s", out);
	cr_expect_eq(folded_sum(out, ""), 4 * 42 + 4 * 128 + 3 * 3, "%s", out);
	cr_expect(strstr(r.out, "sonde-demo llm: 12 calls, 1 refused by the provider"), "%s",
		  r.out);
	cr_expect(strstr(line_with(r.out, "openai ", "gpt-4o-mini"),
			 "gpt-4o-mini             4       0         480         168 "),
		  "%s", r.out);
	cr_expect(strstr(line_with(r.out, "openai ", "gpt-4o "),
			 "gpt-4o                  4       0        1240         512 "),
		  "%s", r.out);
	cr_expect(strstr(line_with(r.out, "anthropic ", "claude"),
			 "claude-sonnet-4-5       4       1         285           9 "),
		  "%s", r.out);
	cr_expect(strstr(r.out, "errors of anthropic claude-sonnet-4-5: rate_limit_error x1"), "%s",
		  r.out);
	cr_expect(strstr(r.err, "llm: 12 calls (1 error), 12 connections (12 HTTP/1.1, 0 HTTP/2, "
				"0 not HTTP)"),
		  "%s", r.err);
	cr_expect_eq(count_of(spans, "\"name\":\"chat "), 12, "%s", spans);
	cr_expect_eq(count_of(spans, "\"stringValue\":\"rate_limit_error\""), 1, "%s", spans);
	cr_expect_null(strstr(spans, "sk-demo"), "%s", spans);
	cr_expect_null(strstr(r.out, "sk-demo"), "%s", r.out);
	cr_expect_null(strstr(r.err, "sk-demo"), "%s", r.err);
	free(in);
	free(out);
	free(spans);
	run_free(&r);
}
