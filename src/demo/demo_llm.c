// SPDX-License-Identifier: MIT
/*
 * sonde-demo's LLM target: an application that calls "OpenAI" and
 * "Anthropic" over plaintext HTTP/1.1, and the loopback server that
 * answers as they do (an OpenAI-compatible gateway or a local inference
 * server is reached this way), so `sonde llm` has calls to show with no
 * network and no key. The server is a process of its own, as a real one
 * is: `sonde llm -- sonde-demo llm PORT` watches the client only.
 *
 *   sonde-demo llm-server          prints its port, serves until killed
 *   sonde-demo llm PORT [ROUNDS]   ROUNDS (default 4) of three calls
 *
 * Each round: summarize_ticket() (OpenAI chat, gpt-4o-mini, 120 in / 42
 * out), draft_reply() (OpenAI chat streamed as SSE, gpt-4o, 310 / 128,
 * usage in the last chunk) and classify_intent() (Anthropic messages,
 * claude-sonnet-4-5, 95 / 3; the second round's is refused with a 429
 * rate_limit_error). The requests carry a made-up API key: sonde never
 * exports it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "demo/demo.h"

#define DEMO_KEY "sk-demo-NOTaREALkey0123456789abcdefABCDEF"
#define IO_TIMEOUT_S 5
#define SERVE_MAX_S 600 /* a forgotten server goes away */
#define REQ_MAX 65536

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {IO_TIMEOUT_S, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- the server ---- */

/* The request's head and body into @buf (NUL-terminated); its length or -1. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0, want = 0;
	char *body = NULL;

	while (len + 1 < cap) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = '\0';
		if (!body && (body = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strstr(buf, "Content-Length: ");

			body += 4;
			want = (size_t)(body - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
		}
		if (body && len >= want)
			return (ssize_t)len;
	}
	return -1;
}

static void respond(int fd, int status, const char *reason, const char *json)
{
	char head[256];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 status, reason, strlen(json));
	if (!write_all(fd, head, strlen(head)))
		write_all(fd, json, strlen(json));
}

/* One SSE event as one HTTP chunk. */
static int send_chunk(int fd, const char *data)
{
	char size[32];

	snprintf(size, sizeof(size), "%zx\r\n", strlen(data));
	return write_all(fd, size, strlen(size)) || write_all(fd, data, strlen(data)) ||
	       write_all(fd, "\r\n", 2);
}

static void stream_reply(int fd)
{
	static const char *const words[] = {"Thanks ", "for ", "the ", "report",
					    ", ",      "we ",  "are ", "on it."};
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
				   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	char ev[512];
	size_t n = sizeof(words) / sizeof(words[0]);

	if (write_all(fd, head, sizeof(head) - 1))
		return;
	for (size_t i = 0; i < n; i++) {
		sleep_ms(25);
		snprintf(ev, sizeof(ev),
			 "data: {\"id\":\"chatcmpl-demo2\",\"object\":\"chat.completion.chunk\","
			 "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":"
			 "{\"content\":\"%s\"},\"finish_reason\":%s}]}\n\n",
			 words[i], i + 1 == n ? "\"stop\"" : "null");
		if (send_chunk(fd, ev))
			return;
	}
	if (send_chunk(fd, "data: {\"id\":\"chatcmpl-demo2\",\"object\":\"chat.completion.chunk\","
			   "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{"
			   "\"prompt_tokens\":310,\"completion_tokens\":128,\"total_tokens\":438}}"
			   "\n\n") ||
	    send_chunk(fd, "data: [DONE]\n\n"))
		return;
	write_all(fd, "0\r\n\r\n", 5);
}

static void serve_one(int fd)
{
	char *req = malloc(REQ_MAX);

	set_timeouts(fd);
	if (!req || read_request(fd, req, REQ_MAX) < 0) {
		free(req);
		return;
	}
	if (strstr(req, "POST /v1/chat/completions ") && strstr(req, "\"stream\":true")) {
		stream_reply(fd);
	} else if (strstr(req, "POST /v1/chat/completions ")) {
		sleep_ms(80);
		respond(fd, 200, "OK",
			"{\"id\":\"chatcmpl-demo1\",\"object\":\"chat.completion\","
			"\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
			"\"message\":"
			"{\"role\":\"assistant\",\"content\":\"Printer on floor 3 jams on duplex "
			"jobs.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":120,"
			"\"completion_tokens\":42,\"total_tokens\":162}}");
	} else if (strstr(req, "POST /v1/messages ") && strstr(req, "ticket #4001 ")) {
		sleep_ms(10);
		respond(fd, 429, "Too Many Requests",
			"{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
			"\"message\":\"Number of requests has exceeded your rate limit.\"}}");
	} else if (strstr(req, "POST /v1/messages ")) {
		sleep_ms(60);
		respond(fd, 200, "OK",
			"{\"id\":\"msg_demo3\",\"type\":\"message\",\"role\":\"assistant\","
			"\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":\"text\","
			"\"text\":\"support\"}],\"stop_reason\":\"end_turn\",\"usage\":{"
			"\"input_tokens\":95,\"output_tokens\":3}}");
	} else {
		respond(fd, 404, "Not Found", "{\"error\":\"no such route\"}");
	}
	free(req);
}

int demo_llm_server(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* Gone with whoever started it, and after SERVE_MAX_S in any case. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	alarm(SERVE_MAX_S);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16) ||
	    getsockname(s, (struct sockaddr *)&a, &alen)) {
		perror("sonde-demo llm-server");
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0) {
			perror("sonde-demo llm-server: accept");
			return 1;
		}
		serve_one(c);
		close(c);
	}
}

/* ---- the client ---- */

/* POST @body to @path on the loopback @port; the response's status, or -1. */
static int post(int port, const char *path, const char *extra_headers, const char *body)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((unsigned short)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char head[1024], resp[64], drain[4096];
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;

	if (fd < 0)
		return -1;
	set_timeouts(fd);
	snprintf(head, sizeof(head),
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: sonde-demo\r\n"
		 "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
		 path, port, extra_headers, strlen(body));
	if (!connect(fd, (struct sockaddr *)&a, sizeof(a)) && !write_all(fd, head, strlen(head)) &&
	    !write_all(fd, body, strlen(body))) {
		/* Connection: close: the answer ends at EOF; its start is kept. */
		for (;;) {
			bool room = len < sizeof(resp) - 1;
			ssize_t r = read(fd, room ? resp + len : drain,
					 room ? sizeof(resp) - 1 - len : sizeof(drain));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			if (room)
				len += (size_t)r;
		}
		resp[len] = '\0';
		if (len > 12 && !strncmp(resp, "HTTP/1.1 ", 9))
			status = atoi(resp + 9);
	}
	close(fd);
	return status;
}

#define OPENAI_HEADERS "Authorization: Bearer " DEMO_KEY "\r\n"
#define ANTHROPIC_HEADERS "x-api-key: " DEMO_KEY "\r\nanthropic-version: 2023-06-01\r\n"

/*
 * The three call sites, each with its request body in its own frame: a
 * shared helper taking the format would let them tail-call it, and the
 * flame graph by code path would lose their names.
 */

__attribute__((noinline)) static int summarize_ticket(int port, int round)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
		 "\"Summarize ticket #%d: the printer on floor 3 jams on duplex jobs.\"}]}",
		 4000 + round);
	return post(port, "/v1/chat/completions", OPENAI_HEADERS, body);
}

__attribute__((noinline)) static int draft_reply(int port, int round)
{
	char body[512];

	snprintf(
		body, sizeof(body),
		"{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
		"\"messages\":[{\"role\":\"user\",\"content\":\"Draft a reply to ticket #%d.\"}]}",
		4000 + round);
	return post(port, "/v1/chat/completions", OPENAI_HEADERS, body);
}

__attribute__((noinline)) static int classify_intent(int port, int round)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":16,\"messages\":[{\"role\":"
		 "\"user\",\"content\":\"Is ticket #%d sales or support?\"}]}",
		 4000 + round);
	return post(port, "/v1/messages", ANTHROPIC_HEADERS, body);
}

int demo_llm_client(int port, int rounds)
{
	int calls = 0, failed = 0;

	for (int r = 0; r < rounds; r++) {
		int st[3] = {summarize_ticket(port, r), draft_reply(port, r),
			     classify_intent(port, r)};

		for (int i = 0; i < 3; i++) {
			if (st[i] < 0) {
				fprintf(stderr, "sonde-demo llm: no answer from 127.0.0.1:%d\n",
					port);
				return 1;
			}
			failed += st[i] != 200;
		}
		calls += 3;
	}
	printf("sonde-demo llm: %d calls, %d refused by the provider\n", calls, failed);
	return 0;
}
