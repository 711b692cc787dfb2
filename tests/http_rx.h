/* SPDX-License-Identifier: MIT */
/*
 * Loopback HTTP for the exporter tests: a receiver that captures
 * requests (an OTLP/HTTP collector stand-in), a raw HTTP/1.0 client, and
 * decoders for captured OTLP bodies run through the real consumers.
 */
#ifndef SONDE_TEST_HTTP_RX_H
#define SONDE_TEST_HTTP_RX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define RX_MAX 2048 /* an agent run of 22 s pushes ~400 span requests */

struct rx_req {
	char path[256];
	char *head; /* request line and headers */
	uint8_t *body;
	size_t len;
	uint64_t t_ns; /* now_ns() when it was complete */
	int status;    /* what we answered */
};

struct rx {
	/* Set before rx_start(). */
	int script[16]; /* statuses for the first requests; then 200 */
	int nscript;
	const char *retry_after; /* Retry-After on non-2xx answers */
	int delay_ms;		 /* before each answer: a slow collector */
	size_t reply_bytes;	 /* body of each 200 answer: a chatty collector */

	size_t reply_written; /* bytes of those bodies the client took */

	int lfd, port, stopfd[2];
	pthread_t th;
	pthread_mutex_t lock;
	struct rx_req req[RX_MAX];
	int n;
};

/* Listen on an ephemeral loopback port and serve from a thread. */
void rx_start(struct rx *r);
void rx_stop(struct rx *r);
/* The captured requests outlive rx_stop() for the test to check. */
void rx_free(struct rx *r);
/* Requests captured so far (while the receiver runs). */
int rx_count(struct rx *r);
/* "http://127.0.0.1:PORT" (a static buffer). */
const char *rx_url(const struct rx *r);

/* A loopback socket of @type bound to an ephemeral port. */
int loopback_socket(int type, int *port);
/* A loopback port nobody listens on (TCP refuses, UDP answers ICMP). */
int closed_port(int type);
int write_all(int fd, const char *p, size_t n);

/* A raw HTTP/1.0 client: enough for sonde's server and Prometheus' API. */
struct http_reply {
	int status;
	char *raw;  /* headers and body */
	char *body; /* points into raw */
};

/* @method @path to loopback @port; 0 or -errno. */
int http_request(int family, unsigned int port, const char *method, const char *path,
		 struct http_reply *r);
void http_reply_free(struct http_reply *r);
/*
 * GET @path from 127.0.0.1:@port as client address @src (NULL: the
 * kernel's choice; any 127.x.y.z works on loopback), with header @header
 * ("Authorization: Basic ...") unless NULL. 0 or -errno.
 */
int http_get_from(const char *src, unsigned int port, const char *path, const char *header,
		  struct http_reply *r);
/* A TCP connection to 127.0.0.1:@port from @src that sends nothing; its fd. */
int idle_connection_from(const char *src, unsigned int port);

/* `protoc --decode=TYPE` of @q's body against OTel's published .proto. */
char *protoc_decode(const struct rx_req *q, const char *type, const char *proto);
/* tests/otlp_decode.js: OpenTelemetry JS's own decoder, as plain lines. */
char *node_decode(const struct rx_req *q, const char *kind);
/* The same for a file: @kind "traces-json" reads OTLP-JSON lines. */
char *node_decode_file(const char *path, const char *kind);
/* Spans in a /v1/traces body, counted with the protobuf-c decoder. */
unsigned int spans_in(const struct rx_req *q);

#endif
