// SPDX-License-Identifier: MIT
/*
 * Privacy at parse time: credential headers and key= never reach a
 * record or a log line, at any verbosity, with or without content
 * capture; captured content is redacted by default, cut at its caps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/log.h"
#include "decode_helpers.h"
#include "helpers.h"

#define HEADER_KEY "sk-ant-api03-HdrKey7Qm2Vx9Lp4Tz8Wn3Rb6Yc1Ja5Ge0Kf"
#define GOOG_KEY "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
#define SECRET_HEADERS                                                   \
	"Authorization: Bearer " HEADER_KEY "\r\nx-api-key: " HEADER_KEY \
	"\r\napi-key: " HEADER_KEY "\r\nx-goog-api-key: " GOOG_KEY       \
	"\r\nCookie: session=" HEADER_KEY "\r\n"

static int saved_fd = -1;
static char logpath[256];

/* Everything the log module writes, at debug level, goes to a file. */
static void log_to_file(void)
{
	int fd;

	snprintf(logpath, sizeof(logpath), "%s/log.txt", test_tmpdir());
	fd = open(logpath, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	fflush(stderr);
	saved_fd = dup(2);
	dup2(fd, 2);
	close(fd);
	log_set_level(LOG_DEBUG);
}

static char *log_restore(void)
{
	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	log_set_level(LOG_WARN);
	return read_file(logpath, NULL);
}

static void assert_clean(const char *s, const char *what)
{
	cr_assert_null(strstr(s, HEADER_KEY), "%s has the header key", what);
	cr_assert_null(strstr(s, "HdrKey7Qm2"), "%s has part of the header key", what);
	cr_assert_null(strstr(s, GOOG_KEY), "%s has the Google key", what);
	cr_assert_null(strstr(s, "9tSrke72"), "%s has part of the Google key", what);
}

static void assert_no_body_secrets(const char *s, const char *what)
{
	cr_assert_null(strstr(s, PLANTED_KEY), "%s has the planted key: %s", what, s);
	cr_assert_null(strstr(s, "Zq8XvT3b"), "%s has part of the planted key", what);
	cr_assert_null(strstr(s, PLANTED_EMAIL), "%s has the planted email: %s", what, s);
}

/* OpenAI (HTTP/1.1, a gap and a resync included) and Gemini with key=. */
static void run(struct tdec *t)
{
	char *req = h1_request("/v1/chat/completions?api-version=2024&key=" GOOG_KEY,
			       "api.openai.com", SECRET_HEADERS, OPENAI_CHAT_REQ);
	char *resp = h1_response(200, "application/json", "Set-Cookie: s=" HEADER_KEY "\r\n",
				 OPENAI_CHAT_RESP);
	char *greq = h1_request("/v1beta/models/gemini-2.5-flash:generateContent?key=" GOOG_KEY,
				"generativelanguage.googleapis.com", SECRET_HEADERS, GEMINI_REQ);
	char *gresp = h1_response(200, "application/json", "", GEMINI_RESP);

	tdec_writes(t, 1, req);
	tdec_reads(t, 2, resp);
	/* Split inside the Authorization line, and a gap inside the headers. */
	tdec_write(t, 3, req, 200);
	tdec_write(t, 3, req + 200, 40);
	tdec_gap(t, LLM_DIR_WRITE, 3, 30);
	tdec_writes(t, 3, req + 270);
	tdec_reads(t, 4, resp);
	tdec_writes(t, 4, greq);
	tdec_reads(t, 5, gresp);
	free(req);
	free(resp);
	free(greq);
	free(gresp);
}

static void check_calls(const struct tdec *t)
{
	/* The request whose header section was lost is not an LLM call any more. */
	cr_assert_eq(t->calls.n, 2);
	cr_assert_eq(t->calls.v[1].provider, LLM_PROVIDER_GCP_GEMINI);
	for (unsigned int i = 0; i < t->calls.n; i++) {
		char *s = call_text(&t->calls.v[i]);

		assert_clean(s, "a record");
		free(s);
	}
}

Test(privacy, nothing_without_capture)
{
	struct tdec t;
	char *log;

	log_to_file();
	tdec_init(&t, NULL);
	run(&t);
	log = log_restore();
	check_calls(&t);
	for (unsigned int i = 0; i < t.calls.n; i++) {
		char *s = call_text(&t.calls.v[i]);

		assert_no_body_secrets(s, "a record");
		cr_assert_null(t.calls.v[i].input_messages);
		cr_assert_null(t.calls.v[i].output_messages);
		free(s);
	}
	cr_assert_not_null(log);
	/* The gap was logged (so the log is not empty), and nothing secret. */
	cr_assert(strstr(log, "lost outside a body"), "log: %s", log);
	assert_clean(log, "the log");
	assert_no_body_secrets(log, "the log");
	free(log);
	tdec_free(&t);
}

Test(privacy, capture_is_redacted)
{
	struct tdec t;
	char *log;

	log_to_file();
	tdec_init(&t, &(struct llm_decoder_opts){.capture_content = true});
	run(&t);
	log = log_restore();
	check_calls(&t);
	for (unsigned int i = 0; i < t.calls.n; i++) {
		char *s = call_text(&t.calls.v[i]);

		assert_no_body_secrets(s, "a record");
		free(s);
	}
	cr_assert_str_eq(
		t.calls.v[0].input_messages,
		"[{\"role\":\"system\",\"parts\":[{\"type\":\"text\",\"content\":\"You are "
		"a helpful assistant.\"}]},{\"role\":\"user\",\"parts\":[{\"type\":"
		"\"text\",\"content\":\"My email is [REDACTED:email] and my key is "
		"[REDACTED:secret]. What is the capital of France?\"}]}]");
	cr_assert_str_eq(t.calls.v[0].output_messages,
			 "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":"
			 "\"The capital of France is Paris.\"}],\"finish_reason\":\"stop\"}]");
	cr_assert_eq(t.calls.v[0].redactions, 2);
	assert_clean(log, "the log");
	assert_no_body_secrets(log, "the log");
	free(log);
	tdec_free(&t);
}

Test(privacy, capture_unredacted_keeps_text_but_never_headers)
{
	struct tdec t;

	tdec_init(&t,
		  &(struct llm_decoder_opts){.capture_content = true, .disable_redaction = true});
	run(&t);
	check_calls(&t);
	/* The body's text is the user's to expose; the credentials never are. */
	cr_assert(strstr(t.calls.v[0].input_messages, PLANTED_EMAIL));
	cr_assert_eq(t.calls.v[0].redactions, 0);
	tdec_free(&t);
}

/* One exchange through a fresh decoder with @o; frees @req and @resp. */
static void one_exchange(struct tdec *t, const struct llm_decoder_opts *o, char *req, char *resp)
{
	tdec_init(t, o);
	tdec_writes(t, 1, req);
	tdec_reads(t, 2, resp);
	cr_assert_eq(t->calls.n, 1);
	free(req);
	free(resp);
}

Test(privacy, anthropic_stream_capture)
{
	struct tdec t;

	one_exchange(&t, &(struct llm_decoder_opts){.capture_content = true},
		     h1_request("/v1/messages", "api.anthropic.com", SECRET_HEADERS, ANTHROPIC_REQ),
		     h1_response_chunked(200, "text/event-stream", ANTHROPIC_SSE, 64));
	cr_assert_str_eq(
		t.calls.v[0].input_messages,
		"[{\"role\":\"system\",\"parts\":[{\"type\":\"text\",\"content\":\"You are "
		"terse.\"}]},{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
		"\"Call me at [REDACTED:phone] about card [REDACTED:card].\"}]}]");
	cr_assert_str_eq(t.calls.v[0].output_messages,
			 "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":"
			 "\"Hello! Write to [REDACTED:email]\"}]}]");
	cr_assert_eq(t.calls.v[0].redactions, 3);
	tdec_free(&t);
}

Test(privacy, stream_deltas_extra_patterns_and_caps)
{
	static const char *const pats[] = {"ticket-[0-9]+"};
	struct tdec t;

	one_exchange(
		&t,
		&(struct llm_decoder_opts){.capture_content = true,
					   .redact_patterns = pats,
					   .n_redact_patterns = 1,
					   .max_message_bytes = 24},
		h1_request("/v1/chat/completions", "api.openai.com", "",
			   "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":"
			   "\"user\",\"content\":\"see ticket-4711 please\"},{\"role\":\"user\","
			   "\"content\":\"0123456789abcdefghijklmnopqrstuvwxyz\"}]}"),
		h1_response_chunked(200, "text/event-stream", OPENAI_CHAT_SSE, 4096));
	cr_assert_str_eq(t.calls.v[0].input_messages,
			 "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"see "
			 "[REDACTED:pattern] please\"}]},{\"role\":\"user\",\"parts\":[{\"type\":"
			 "\"text\",\"content\":\"0123456789abcdefghijklmn\"}]}]");
	cr_assert_str_eq(t.calls.v[0].output_messages,
			 "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":"
			 "\"Hello! How can I help?\"}],\"finish_reason\":\"stop\"}]");
	cr_assert_eq(t.calls.v[0].content_truncated, 1);
	cr_assert_eq(t.calls.v[0].redactions, 1);
	tdec_free(&t);
}

Test(privacy, bad_pattern_is_refused)
{
	static const char *const pats[] = {"ok", "(unclosed"};
	struct llm_decoder *d;
	char *log;

	log_to_file();
	d = llm_decoder__new(&(struct llm_decoder_opts){.capture_content = true,
							.redact_patterns = pats,
							.n_redact_patterns = 2},
			     NULL, NULL);
	cr_assert_eq(errno, EINVAL);
	log = log_restore();
	cr_assert_null(d);
	cr_assert(strstr(log, "redact: failed to compile pattern 2: "), "%s", log);
	free(log);
}

Test(privacy, anthropic_system_blocks_and_gemini_roles)
{
	struct tdec t;

	one_exchange(&t, &(struct llm_decoder_opts){.capture_content = true},
		     h1_request("/v1/messages", "api.anthropic.com", "",
				"{\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\","
				"\"cache_control\":{\"type\":\"ephemeral\"}}],\"model\":\"claude-3-"
				"5-haiku\","
				"\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"),
		     h1_response(200, "application/json", "", ANTHROPIC_RESP));
	cr_assert_str_eq(t.calls.v[0].input_messages,
			 "[{\"role\":\"system\",\"parts\":[{\"type\":\"text\",\"content\":\"Be "
			 "brief.\"}]},{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":"
			 "\"Hi\"}]}]");
	cr_assert_str_eq(t.calls.v[0].output_messages,
			 "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi! "
			 "My name is Claude.\"}]}]");
	tdec_free(&t);
	one_exchange(&t, &(struct llm_decoder_opts){.capture_content = true},
		     h1_request("/v1beta/models/gemini-2.5-flash:generateContent",
				"generativelanguage.googleapis.com", "", GEMINI_REQ),
		     h1_response(200, "application/json", "", GEMINI_RESP));
	cr_assert_str_eq(
		t.calls.v[0].input_messages,
		"[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Explain "
		"how AI works in a few words\"}]},{\"role\":\"system\",\"parts\":[{\"type\":"
		"\"text\",\"content\":\"You are a cat.\"}]}]");
	cr_assert_str_eq(
		t.calls.v[0].output_messages,
		"[{\"role\":\"model\",\"parts\":[{\"type\":\"text\",\"content\":\"AI learns "
		"patterns from data.\"}],\"finish_reason\":\"STOP\"}]");
	tdec_free(&t);
}
