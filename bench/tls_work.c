// SPDX-License-Identifier: MIT
/*
 * The workload of tls_overhead.sh: a TLS client and server over loopback
 * (libssl.so.3, TLS 1.3), the server a process of its own so a tracer of
 * the client's PID sees only the client. After the handshake the client
 * prints "ready PID" and waits for a line on stdin (the tracer attaches
 * meanwhile), then runs one of:
 *
 *   raw  N SIZE  N round trips: SSL_write SIZE bytes, SSL_read SIZE back
 *                (not HTTP: sonde llm copies nothing of it)
 *   http N SIZE  N LLM calls on one keep-alive connection: a POST to
 *                /v1/chat/completions of SIZE bytes of JSON, an OpenAI
 *                answer of SIZE bytes with usage (sonde llm copies and
 *                decodes both)
 *   bulk N SIZE  one such call whose answer is N x SIZE bytes, written
 *                SIZE at a time and read 16 KiB at a time
 *
 * or, for a client nobody here wrote (curl), a server only:
 *
 *   serve N SIZE  prints "port P", then answers every request of every
 *                 connection (a GET, one at a time) with N x SIZE bytes of
 *                 application/octet-stream, SIZE at a time, and closes it;
 *                 until killed
 *
 * prints: "calls N wall_ns_per_call X cpu_ns_per_call Y seconds S" (the
 * client's own CPU: uprobe handlers run in its context).
 *
 * usage: tls_work CERT KEY raw|http|bulk|serve N SIZE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define READ_CHUNK 16384

static void die(const char *what)
{
	fprintf(stderr, "tls_work: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* No Nagle wait between a head and its body (40 ms of delayed ACK each). */
static void nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("cannot set TCP_NODELAY");
}

static void write_all(SSL *ssl, const char *p, size_t n)
{
	while (n) {
		int w = SSL_write(ssl, p, n > (1 << 30) ? 1 << 30 : (int)n);

		if (w <= 0)
			die("SSL_write failed");
		p += w;
		n -= (size_t)w;
	}
}

static void read_exact(SSL *ssl, char *buf, size_t n)
{
	while (n) {
		int r = SSL_read(ssl, buf, n > READ_CHUNK ? READ_CHUNK : (int)n);

		if (r <= 0)
			die("SSL_read failed");
		buf += r;
		n -= (size_t)r;
	}
}

/* Buffered reads of HTTP/1.1 messages: SSL_read 16 KiB at a time, as clients do. */
struct rd {
	SSL *ssl;
	char buf[READ_CHUNK + 1];
	size_t off, len;
};

static int rd_fill(struct rd *r)
{
	int n;

	if (r->off == r->len)
		r->off = r->len = 0;
	n = SSL_read(r->ssl, r->buf + r->len, (int)(READ_CHUNK - r->len));
	if (n <= 0)
		return -1;
	r->len += (size_t)n;
	r->buf[r->len] = '\0';
	return 0;
}

/* The next message's head consumed; its Content-Length, or -1 at the end. */
static size_t rd_head(struct rd *r)
{
	char *end, *cl;
	size_t want;

	for (;;) {
		end = r->len > r->off ? strstr(r->buf + r->off, "\r\n\r\n") : NULL;
		if (end)
			break;
		if (r->off) {
			memmove(r->buf, r->buf + r->off, r->len - r->off);
			r->len -= r->off;
			r->off = 0;
		}
		if (r->len == READ_CHUNK || rd_fill(r))
			return (size_t)-1;
	}
	*end = '\0';
	cl = strcasestr(r->buf + r->off, "content-length:");
	if (!cl)
		die("no content-length");
	want = strtoull(cl + 15, NULL, 10);
	r->off = (size_t)(end + 4 - r->buf);
	return want;
}

/* @n body bytes consumed. */
static void rd_skip(struct rd *r, size_t n)
{
	while (n) {
		size_t k;

		if (r->off == r->len && rd_fill(r))
			die("SSL_read failed");
		k = r->len - r->off < n ? r->len - r->off : n;
		r->off += k;
		n -= k;
	}
}

/* A JSON document of exactly @size bytes: @pre, padding 'x', @post. */
static char *padded(const char *pre, const char *post, size_t size)
{
	size_t a = strlen(pre), b = strlen(post);
	char *s;

	if (size < a + b)
		size = a + b;
	s = malloc(size + 1);
	if (!s)
		die("out of memory");
	memcpy(s, pre, a);
	memset(s + a, 'x', size - a - b);
	memcpy(s + size - b, post, b + 1);
	return s;
}

static const char answer_pre[] = "{\"id\":\"resp-bench\",\"object\":\"chat.completion\","
				 "\"model\":\"gpt-bench\",\"choices\":[{\"index\":0,\"message\":"
				 "{\"role\":\"assistant\",\"content\":\"";
static const char answer_post[] = "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
				  "7,\"completion_tokens\":5,\"total_tokens\":12}}";

static void serve(SSL *ssl, const char *mode, long n, size_t size)
{
	char head[4096], *buf = malloc(size + 1), *body;
	struct rd *rd = calloc(1, sizeof(*rd));
	size_t len;

	if (!buf || !rd)
		die("out of memory");
	rd->ssl = ssl;
	if (!strcmp(mode, "raw")) {
		for (long i = 0; i < n; i++) {
			read_exact(ssl, buf, size);
			write_all(ssl, buf, size);
		}
		free(buf);
		free(rd);
		return;
	}
	body = padded(answer_pre, answer_post, strcmp(mode, "bulk") ? size : size * (size_t)n);
	len = strlen(body);
	for (;;) {
		size_t want = rd_head(rd);

		if (want == (size_t)-1)
			break;
		rd_skip(rd, want);
		snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 len);
		write_all(ssl, head, strlen(head));
		for (size_t off = 0; off < len; off += size)
			write_all(ssl, body + off, len - off < size ? len - off : size);
	}
	free(body);
	free(buf);
	free(rd);
}

static void client(SSL *ssl, const char *mode, long n, size_t size)
{
	char head[4096], *buf, *body, *req;
	struct rd *rd = calloc(1, sizeof(*rd));
	double w0, c0, w1, c1;
	long calls = !strcmp(mode, "bulk") ? 1 : n;
	size_t hlen;

	body = padded("{\"model\":\"gpt-bench\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
		      "\"content\":\"",
		      "\"}]}", size);
	hlen = (size_t)snprintf(head, sizeof(head),
				"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
				"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
				strlen(body));
	req = malloc(hlen + strlen(body) + 1);
	buf = malloc(READ_CHUNK > size ? READ_CHUNK : size);
	if (!req || !buf || !rd)
		die("out of memory");
	rd->ssl = ssl;
	memcpy(req, head, hlen);
	strcpy(req + hlen, body);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(head, sizeof(head), stdin))
		die("no go line on stdin");
	w0 = clock_ns(CLOCK_MONOTONIC);
	c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < calls; i++) {
		if (!strcmp(mode, "raw")) {
			write_all(ssl, body, size);
			read_exact(ssl, buf, size);
			continue;
		}
		write_all(ssl, req, strlen(req));
		rd_skip(rd, rd_head(rd));
	}
	w1 = clock_ns(CLOCK_MONOTONIC);
	c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("calls %ld wall_ns_per_call %.1f cpu_ns_per_call %.1f seconds %.6f\n", calls,
	       (w1 - w0) / calls, (c1 - c0) / calls, (w1 - w0) / 1e9);
	free(buf);
	free(req);
	free(body);
	free(rd);
}

/* One request head read (the body of a GET is none), or -1 at the end. */
static int head_only(struct rd *r)
{
	char *end;

	while (!(end = r->len ? strstr(r->buf, "\r\n\r\n") : NULL))
		if (r->len == READ_CHUNK || rd_fill(r))
			return -1;
	r->off = r->len = 0;
	return 0;
}

/* The serve mode: a download server on loopback for curl, until killed. */
static void serve_downloads(const char *cert, const char *key, long n, size_t size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	struct rd *rd = calloc(1, sizeof(*rd));
	char head[256], *chunk = malloc(size);
	int lfd;

	if (!ctx || !rd || !chunk || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		die("cannot load the certificate");
	memset(chunk, 'x', size);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen))
		die("cannot listen on loopback");
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;

		if (ssl && SSL_set_fd(ssl, fd) && SSL_accept(ssl) == 1) {
			rd->ssl = ssl;
			rd->off = rd->len = 0;
			if (!head_only(rd)) {
				snprintf(head, sizeof(head),
					 "HTTP/1.1 200 OK\r\nContent-Type: "
					 "application/octet-stream\r\n"
					 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
					 size * (size_t)n);
				write_all(ssl, head, strlen(head));
				for (long i = 0; i < n; i++)
					write_all(ssl, chunk, size);
				SSL_shutdown(ssl);
			}
		}
		SSL_free(ssl);
		if (fd >= 0)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	SSL_CTX *ctx;
	SSL *ssl;
	int lfd, fd, status;
	pid_t pid;
	long n;
	size_t size;

	if (argc != 6)
		die("usage: tls_work CERT KEY raw|http|bulk|serve N SIZE");
	n = atol(argv[4]);
	size = strtoull(argv[5], NULL, 10);
	if (n <= 0 || !size)
		die("N and SIZE must be positive");
	if (!strcmp(argv[3], "serve"))
		serve_downloads(argv[1], argv[2], n, size);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen))
		die("cannot listen on loopback");
	pid = fork();
	if (pid < 0)
		die("cannot fork");
	if (pid > 0) {
		/* The server: the parent, so the client is the one tracers follow. */
		ctx = SSL_CTX_new(TLS_server_method());
		if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1)
			die("cannot load the certificate");
		fd = accept(lfd, NULL, NULL);
		if (fd >= 0)
			nodelay(fd);
		ssl = SSL_new(ctx);
		if (fd < 0 || !ssl || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1)
			die("server handshake failed");
		serve(ssl, argv[3], n, size);
		SSL_free(ssl);
		close(fd);
		SSL_CTX_free(ctx);
		waitpid(pid, &status, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	close(lfd);
	ctx = SSL_CTX_new(TLS_client_method());
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ctx || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("cannot connect");
	nodelay(fd);
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
		die("client handshake failed");
	client(ssl, argv[3], n, size);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	return 0;
}
