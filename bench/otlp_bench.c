// SPDX-License-Identifier: MIT
/*
 * OTLP exporter against a collector in a child process on loopback:
 *
 *   otlp_bench push [SPANS]        ns per otlp__push_span() (the caller's
 *                                  cost) and CPU ns per span of the whole
 *                                  process (push + encode + send), against a
 *                                  collector answering 200 at once
 *   otlp_bench bigreply [SECONDS]  sonde's CPU seconds while every answer is
 *                                  200 with a 100 MB body (default 60 s)
 *   otlp_bench retryafter [SECONDS]  requests the collector gets in SECONDS
 *                                  while it answers 429 "Retry-After: 3600",
 *                                  and how long a 2 s flush then takes
 *
 * Spans are pushed every 10 ms in the last two modes, so a sender that
 * ignores the collector sends a batch a second (batch_ms 1000). The figures
 * are the exporter's alone: the collector runs in its own process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export/otlp.h"
#include "model/spans.h"

enum mode { MODE_PUSH, MODE_BIGREPLY, MODE_RETRYAFTER };

#define BIG_REPLY (100u << 20)

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	done = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Serve one connection: read each request whole, answer per @m. */
static void serve(int fd, enum mode m, const char *big, unsigned long *nreq)
{
	static char buf[1 << 20];
	size_t len = 0;

	for (;;) {
		char *end = memmem(buf, len, "\r\n\r\n", 4), *cl;
		size_t hl, bl = 0;
		ssize_t got;

		if (end) {
			hl = (size_t)(end - buf) + 4;
			cl = memmem(buf, hl, "Content-Length:", 15);
			if (cl)
				bl = strtoul(cl + 15, NULL, 10);
			if (len >= hl + bl) {
				const char *h;

				(*nreq)++;
				if (m == MODE_RETRYAFTER)
					h = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\n"
					    "Content-Length: 0\r\n\r\n";
				else if (m == MODE_BIGREPLY)
					h = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
					    "Content-Length: 104857600\r\n\r\n";
				else
					h = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
				if (write_all(fd, h, strlen(h)))
					return;
				if (m == MODE_BIGREPLY && write_all(fd, big, BIG_REPLY))
					return;
				memmove(buf, buf + hl + bl, len - hl - bl);
				len -= hl + bl;
				continue;
			}
		}
		if (len == sizeof(buf))
			return;
		got = read(fd, buf + len, sizeof(buf) - len);
		if (got <= 0)
			return;
		len += (size_t)got;
	}
}

/* The collector: serves until SIGTERM, then writes its request count to @out. */
static void collector(int lfd, enum mode m, int out)
{
	struct sigaction sa = {.sa_handler = on_term};
	unsigned long nreq = 0;
	char *big = NULL;

	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (m == MODE_BIGREPLY) {
		big = malloc(BIG_REPLY);
		if (!big)
			_exit(1);
		memset(big, 'x', BIG_REPLY);
	}
	while (!done) {
		struct pollfd p = {lfd, POLLIN, 0};
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(fd, m, big, &nreq);
		close(fd);
	}
	if (write(out, &nreq, sizeof(nreq)) != sizeof(nreq))
		_exit(1);
	_exit(0);
}

static struct span_record span_of(uint64_t i)
{
	struct span_record s = {
		.trace_id_hi = 0x0af7651916cd43ddull,
		.trace_id_lo = i,
		.span_id = i + 1,
		.start_unix_ns = 1700000000000000000ull + i * 1000,
		.end_unix_ns = 1700000000000000000ull + i * 1000 + 500,
		.pid = 4242,
		.tid = 4243,
		.name = "handle_request",
		.filepath = "/usr/bin/myapp",
	};
	return s;
}

int main(int argc, char **argv)
{
	enum mode m = MODE_PUSH;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct otlp_opts o = {0};
	struct otlp_stats st;
	struct otlp *x = NULL;
	unsigned long nreq = 0;
	char url[64];
	int lfd, pfd[2], status;
	pid_t child;
	uint64_t n = 200000;
	double secs = 60;

	if (argc > 1 && !strcmp(argv[1], "bigreply"))
		m = MODE_BIGREPLY;
	else if (argc > 1 && !strcmp(argv[1], "retryafter"))
		m = MODE_RETRYAFTER;
	else if (argc > 1 && strcmp(argv[1], "push")) {
		fprintf(stderr, "usage: %s push [SPANS] | bigreply [SECONDS] | retryafter [SECONDS]\n",
			argv[0]);
		return 2;
	}
	if (argc > 2) {
		if (m == MODE_PUSH)
			n = strtoull(argv[2], NULL, 10);
		else
			secs = strtod(argv[2], NULL);
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) || pipe(pfd)) {
		perror("otlp_bench: failed to listen");
		return 1;
	}
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		collector(lfd, m, pfd[1]);
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	o.endpoint = url;
	o.queue_spans = 1 << 16;
	if (otlp__new(&o, &x))
		return 1;

	if (m == MODE_PUSH) {
		uint64_t push = 0, t;
		double c0 = cpu_s(), c1;

		/* Bursts of 1000, as a busy target's ticks hand them over. */
		for (uint64_t i = 0; i < n; i += 1000) {
			t = now_ns();
			for (uint64_t j = i; j < i + 1000 && j < n; j++) {
				struct span_record s = span_of(j);

				otlp__push_span(x, &s);
			}
			push += now_ns() - t;
			usleep(2000);
		}
		otlp__flush(x, 30000);
		c1 = cpu_s();
		otlp__stats(x, &st);
		printf("push: %" PRIu64 " spans, %.0f ns a push (caller), %.0f ns CPU a span in "
		       "all (push, encode, send; includes 2 ms sleeps' wakeups), %" PRIu64
		       " sent, %" PRIu64 " dropped\n",
		       n, (double)push / n, (c1 - c0) * 1e9 / n, st.spans_sent, st.spans_dropped);
	} else {
		double c0 = cpu_s(), c1, t0 = now_ns() / 1e9;
		uint64_t i = 0, f0, f1;
		int rc;

		while (now_ns() / 1e9 - t0 < secs) {
			struct span_record s = span_of(i++);

			otlp__push_span(x, &s);
			usleep(10000);
		}
		c1 = cpu_s();
		f0 = now_ns();
		rc = otlp__flush(x, 2000);
		f1 = now_ns();
		otlp__stats(x, &st);
		printf("%s: %.0f s, sonde CPU %.2f s (%.2f s a minute), flush(2 s) %s in %.2f s, "
		       "%" PRIu64 " pushed, %" PRIu64 " sent, %" PRIu64 " dropped, %" PRIu64
		       " failed requests\n",
		       m == MODE_BIGREPLY ? "bigreply" : "retryafter", secs, c1 - c0,
		       (c1 - c0) * 60 / secs, rc ? "timed out" : "done", (f1 - f0) / 1e9,
		       st.spans_pushed, st.spans_sent, st.spans_dropped, st.requests_failed);
	}
	otlp__free(x);
	kill(child, SIGTERM);
	if (read(pfd[0], &nreq, sizeof(nreq)) != sizeof(nreq))
		nreq = 0;
	waitpid(child, &status, 0);
	printf("collector: %lu requests received\n", nreq);
	return 0;
}
