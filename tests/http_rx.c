// SPDX-License-Identifier: MIT
/*
 * Loopback HTTP for the exporter tests: the receiver that stands in for an
 * OTLP/HTTP collector in test_export_otlp and test_trace_export, the raw
 * client test_export_prom and the Prometheus helpers use, and the
 * decoders both OTLP tests check captured bodies with.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "http_rx.h"
#include "otlp_collector_trace.pb-c.h"

#define PROTOS "tests/node_modules/@opentelemetry/otlp-grpc-exporter-base/build/protos"
#define NODE_DECODER "tests/otlp_decode.js"
#define TRANSFORMER "tests/node_modules/@opentelemetry/otlp-transformer/package.json"

/* ---- the receiver ------------------------------------------------------ */

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* The request at the front of @buf if complete: its total length, else 0. */
static size_t complete_request(const char *buf, size_t len, size_t *head_len, size_t *body_len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *cl;
	size_t hl;

	if (!end)
		return 0;
	hl = end - buf + 4;
	*body_len = 0;
	cl = memmem(buf, hl, "\r\nContent-Length:", 17);
	if (!cl)
		cl = memmem(buf, hl, "\r\ncontent-length:", 17);
	if (cl)
		*body_len = strtoul(cl + 17, NULL, 10);
	*head_len = hl;
	return len >= hl + *body_len ? hl + *body_len : 0;
}

/* Record the request at the front of @buf; the status to answer it with. */
static int rx_record(struct rx *r, const char *buf, size_t hl, size_t bl)
{
	int status = 200;

	pthread_mutex_lock(&r->lock);
	if (r->n < r->nscript)
		status = r->script[r->n];
	if (r->n < RX_MAX) {
		struct rx_req *q = &r->req[r->n++];

		q->head = strndup(buf, hl);
		q->body = malloc(bl + 1);
		cr_assert(q->head && q->body);
		memcpy(q->body, buf + hl, bl);
		q->len = bl;
		sscanf(buf, "POST %255s", q->path);
		q->t_ns = now_ns();
		q->status = status;
	}
	pthread_mutex_unlock(&r->lock);
	return status;
}

/* @n bytes of filler, counted in reply_written; -1 once the client hangs up. */
static int send_body(struct rx *r, int fd, size_t n)
{
	static const char chunk[65536];

	while (n) {
		ssize_t w = send(fd, chunk, n < sizeof(chunk) ? n : sizeof(chunk), MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		pthread_mutex_lock(&r->lock);
		r->reply_written += (size_t)w;
		pthread_mutex_unlock(&r->lock);
		n -= (size_t)w;
	}
	return 0;
}

static void rx_serve_conn(struct rx *r, int fd)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);

	cr_assert_not_null(buf);
	for (;;) {
		struct pollfd pf[2] = {{fd, POLLIN, 0}, {r->stopfd[0], POLLIN, 0}};
		size_t hl, bl, total;
		ssize_t got;

		while ((total = complete_request(buf, len, &hl, &bl))) {
			int status, retry;
			size_t body;
			char resp[256];

			/* A slow collector takes its time, but still stops with the test. */
			if (r->delay_ms) {
				struct pollfd sp = {r->stopfd[0], POLLIN, 0};

				if (poll(&sp, 1, r->delay_ms) != 0)
					goto out;
			}
			status = rx_record(r, buf, hl, bl);
			retry = status != 200 && r->retry_after;
			body = status == 200 ? r->reply_bytes : 0;
			snprintf(resp, sizeof(resp),
				 "HTTP/1.1 %d %s\r\nContent-Type: application/x-protobuf\r\n"
				 "Content-Length: %zu\r\n%s%s%s\r\n",
				 status, reason_of(status), body, retry ? "Retry-After: " : "",
				 retry ? r->retry_after : "", retry ? "\r\n" : "");
			if (write_all(fd, resp, strlen(resp)) || send_body(r, fd, body))
				goto out;
			memmove(buf, buf + total, len - total);
			len -= total;
		}
		if (poll(pf, 2, -1) < 0 || pf[1].revents)
			goto out;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		got = read(fd, buf + len, cap - len);
		if (got <= 0)
			goto out;
		len += got;
	}
out:
	free(buf);
	close(fd);
}

static void *rx_main(void *arg)
{
	struct rx *r = arg;

	for (;;) {
		struct pollfd pf[2] = {{r->lfd, POLLIN, 0}, {r->stopfd[0], POLLIN, 0}};
		int fd;

		if (poll(pf, 2, -1) < 0 || pf[1].revents)
			break;
		fd = accept(r->lfd, NULL, NULL);
		if (fd >= 0)
			rx_serve_conn(r, fd);
	}
	return NULL;
}

int loopback_socket(int type, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

int closed_port(int type)
{
	int port, fd = loopback_socket(type, &port);

	close(fd);
	return port;
}

void rx_start(struct rx *r)
{
	r->n = 0;
	r->lfd = loopback_socket(SOCK_STREAM, &r->port);
	cr_assert_eq(listen(r->lfd, 16), 0);
	cr_assert_eq(pipe2(r->stopfd, O_CLOEXEC), 0);
	pthread_mutex_init(&r->lock, NULL);
	cr_assert_eq(pthread_create(&r->th, NULL, rx_main, r), 0);
}

void rx_stop(struct rx *r)
{
	cr_assert_eq(write(r->stopfd[1], "x", 1), 1);
	pthread_join(r->th, NULL);
	close(r->lfd);
	close(r->stopfd[0]);
	close(r->stopfd[1]);
}

void rx_free(struct rx *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->req[i].head);
		free(r->req[i].body);
	}
}

int rx_count(struct rx *r)
{
	int n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

const char *rx_url(const struct rx *r)
{
	static char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", r->port);
	return url;
}

/* ---- a raw HTTP/1.0 client ---------------------------------------------- */

/* The whole reply on @fd into @r; 0 or -EPROTO. */
static int read_reply(int fd, struct http_reply *r)
{
	size_t cap = 65536, n = 0;
	ssize_t got;

	r->raw = malloc(cap);
	cr_assert_not_null(r->raw);
	while ((got = read(fd, r->raw + n, cap - n - 1)) > 0) {
		n += (size_t)got;
		if (n + 1 == cap) {
			cap *= 2;
			r->raw = realloc(r->raw, cap);
			cr_assert_not_null(r->raw);
		}
	}
	r->raw[n] = '\0';
	if (sscanf(r->raw, "HTTP/1.%*c %d", &r->status) != 1)
		return -EPROTO;
	r->body = strstr(r->raw, "\r\n\r\n");
	r->body = r->body ? r->body + 4 : r->raw + n;
	return 0;
}

void http_reply_free(struct http_reply *r)
{
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

int http_request(int family, unsigned int port, const char *method, const char *path,
		 struct http_reply *r)
{
	struct sockaddr_storage ss = {0};
	struct timeval tv = {.tv_sec = 10};
	socklen_t len;
	char req[2048];
	int fd, err = 0;

	memset(r, 0, sizeof(*r));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons(port);
		len = sizeof(*a);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		err = -errno;
		goto out;
	}
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n", method, path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		err = -EIO;
		goto out;
	}
	err = read_reply(fd, r);
out:
	close(fd);
	return err;
}

/* A loopback TCP socket from @src (NULL: any) connected to @port; fd or -errno. */
static int connect_from(const char *src, unsigned int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr_in s = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (src && (inet_pton(AF_INET, src, &s.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&s, sizeof(s)))) {
		close(fd);
		return -EADDRNOTAVAIL;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int idle_connection_from(const char *src, unsigned int port)
{
	return connect_from(src, port);
}

int http_get_from(const char *src, unsigned int port, const char *path, const char *header,
		  struct http_reply *r)
{
	char req[2048];
	int fd, err = 0;

	memset(r, 0, sizeof(*r));
	fd = connect_from(src, port);
	if (fd < 0)
		return fd;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n%s%s\r\n", path,
		 header ? header : "", header ? "\r\n" : "");
	if (write_all(fd, req, strlen(req))) {
		err = -EIO;
		goto out;
	}
	err = read_reply(fd, r);
out:
	close(fd);
	return err;
}

/* ---- captured OTLP bodies through the real consumers -------------------- */

static const char *save_body(const struct rx_req *q, const char *name)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(q->body, 1, q->len, f), q->len);
	fclose(f);
	return path;
}

char *protoc_decode(const struct rx_req *q, const char *type, const char *proto)
{
	char cmd[8192], *out = NULL, *err = NULL;
	const char *file = save_body(q, "body.pb");
	int rc;

	require_path(source_path(PROTOS), R_OK, "OpenTelemetry's .proto files");
	snprintf(cmd, sizeof(cmd), "exec protoc --decode=%s -I '%s' '%s/%s' < '%s'", type,
		 source_path(PROTOS), source_path(PROTOS), proto, file);
	rc = run_sh(cmd, &out, &err);
	cr_assert_eq(rc, 0, "protoc failed (%d): %s", rc, err);
	free(err);
	return out;
}

char *node_decode(const struct rx_req *q, const char *kind)
{
	return node_decode_file(save_body(q, "body-node.pb"), kind);
}

char *node_decode_file(const char *file, const char *kind)
{
	char *out = NULL, *err = NULL;
	int rc;

	require_path(source_path(TRANSFORMER), R_OK, "npm @opentelemetry/otlp-transformer");
	rc = run_cmd((char *const[]){"/usr/bin/env", "node", (char *)source_path(NODE_DECODER),
				     (char *)kind, (char *)file, NULL},
		     &out, &err);
	cr_assert_eq(rc, 0, "node decoder failed (%d): %s", rc, err);
	free(err);
	return out;
}

unsigned int spans_in(const struct rx_req *q)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
	unsigned int n = 0;

	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, q->len, q->body);
	cr_assert_not_null(req);
	for (size_t i = 0; i < req->n_resource_spans; i++)
		for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
			n += req->resource_spans[i]->scope_spans[j]->n_spans;
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
		req, NULL);
	return n;
}
