// SPDX-License-Identifier: MIT
/*
 * Prometheus text exposition format 0.0.4 and the /metrics endpoint.
 *
 * The listening socket is created here rather than by libmicrohttpd so a
 * bind failure reports the real errno (and port 0 can be read back); MHD
 * then runs its own polling thread, and each scrape renders a fresh
 * snapshot into memory, so the collector loop never waits on a client.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sonde/export_prom.h"
#include "sonde/hostport.h"
#include "sonde/log.h"

#define MAX_CONNECTIONS 32
#define CONNECTION_TIMEOUT_S 10

struct prom_server {
	struct MHD_Daemon *daemon;
	struct metrics *m;
	int fd;
	unsigned int port;
};

/* HELP text escapes backslash and newline; label values also '"'. */
static void put_escaped(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (quote && *s == '"')
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* {k="v",...[,le="B"]}, nothing at all without labels. */
static void put_labels(FILE *f, const struct metric_series *s, const char *le)
{
	if (!s->nlabels && !le)
		return;
	fputc('{', f);
	for (unsigned int i = 0; i < s->nlabels; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", s->labels[i].key);
		put_escaped(f, s->labels[i].value, 1);
		fputc('"', f);
	}
	if (le)
		fprintf(f, "%sle=\"%s\"", s->nlabels ? "," : "", le);
	fputc('}', f);
}

static const char *type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

static void render_histogram(FILE *f, const struct metric_family *mf, const struct metric_series *s)
{
	char num[32];
	uint64_t cum = 0;

	for (unsigned int b = 0; b <= mf->nbounds; b++) {
		cum += s->counts[b];
		fprintf(f, "%s_bucket", mf->name);
		put_labels(f, s,
			   b < mf->nbounds ? metrics_fmt_double(mf->bounds[b], num, sizeof(num))
					   : "+Inf");
		fprintf(f, " %" PRIu64 "\n", cum);
	}
	fprintf(f, "%s_sum", mf->name);
	put_labels(f, s, NULL);
	fprintf(f, " %s\n", metrics_fmt_double(s->sum, num, sizeof(num)));
	fprintf(f, "%s_count", mf->name);
	put_labels(f, s, NULL);
	/* The +Inf bucket, so _count always agrees with it. */
	fprintf(f, " %" PRIu64 "\n", cum);
}

int prom_render(const struct metrics_snapshot *snap, FILE *f)
{
	char num[32];

	if (!snap || !f)
		return -EINVAL;
	for (size_t i = 0; i < snap->nfamilies; i++) {
		const struct metric_family *mf = &snap->families[i];

		if (!mf->nseries)
			continue;
		fprintf(f, "# HELP %s ", mf->name);
		put_escaped(f, mf->help, 0);
		fprintf(f, "\n# TYPE %s %s\n", mf->name, type_name(mf->type));
		for (size_t j = 0; j < mf->nseries; j++) {
			const struct metric_series *s = &mf->series[j];

			if (mf->type == METRIC_HISTOGRAM) {
				render_histogram(f, mf, s);
				continue;
			}
			fputs(mf->name, f);
			put_labels(f, s, NULL);
			fprintf(f, " %s\n", metrics_fmt_double(s->value, num, sizeof(num)));
		}
	}
	return ferror(f) ? -EIO : 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *text)
{
	return reply(c, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
		     MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_metrics(struct prom_server *srv, struct MHD_Connection *c)
{
	struct metrics_snapshot *snap = NULL;
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	err = metrics__snapshot(srv->m, &snap);
	if (err)
		goto err_out;
	f = open_memstream(&body, &len);
	if (!f) {
		err = -errno;
		goto err_snapshot;
	}
	err = prom_render(snap, f);
	if (fclose(f) && !err)
		err = -EIO;
	if (err)
		goto err_body;
	metrics_snapshot__free(snap);
	return reply(c, MHD_HTTP_OK, PROM_CONTENT_TYPE, body, len, MHD_RESPMEM_MUST_FREE);

err_body:
	free(body);
err_snapshot:
	metrics_snapshot__free(snap);
err_out:
	log_warn("prometheus: failed to render /metrics: %s", strerror(-err));
	return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct prom_server *srv = cls;

	/* HEAD is GET without the body (MHD drops it); HTTP requires both. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/metrics"))
		return serve_metrics(srv, c);
	if (!strcmp(url, "/healthz"))
		return reply_text(c, MHD_HTTP_OK, "ok\n");
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("prometheus: %s", buf);
}

/* An all-interfaces socket: IPv6 accepting IPv4 too, or IPv4 alone. */
static int any_addr(unsigned int port, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(ss, 0, sizeof(*ss));
	if (fd >= 0) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		close(fd);
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_any;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	}
	return 0;
}

static int open_listener(const char *addr, int *fdp, unsigned int *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned int port;
	char host[256];
	int fd, one = 1, zero = 0, err;

	if (hostport_parse(addr, host, sizeof(host), &port)) {
		log_err("cannot listen on '%s': expected HOST:PORT, [IPV6]:PORT or :PORT "
			"(e.g. --listen %s)",
			addr, PROM_DEFAULT_LISTEN);
		return -EINVAL;
	}
	err = host[0] ? hostport_resolve(host, port, SOCK_STREAM, &ss, &len)
		      : any_addr(port, &ss, &len);
	if (err) {
		log_err("cannot listen on %s: unknown host '%s' (use an IP address such as "
			"127.0.0.1)",
			addr, host);
		return err;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto err_log;
	}
	/* Restart without waiting out TIME_WAIT; Linux still refuses a live listener. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6 && !host[0])
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		err = -errno;
		goto err_fd;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len)) {
		err = -errno;
		goto err_fd;
	}
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	*fdp = fd;
	return 0;

err_fd:
	close(fd);
err_log:
	log_err("cannot listen on %s: %s (choose another port with --listen)", addr,
		strerror(-err));
	return err;
}

int prom_server__new(const char *listen_addr, struct metrics *m, struct prom_server **out)
{
	struct prom_server *srv;
	int err;

	if (!m || !out)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		log_err("prometheus: failed to allocate the server: out of memory");
		return -ENOMEM;
	}
	srv->m = m;
	srv->fd = -1;
	err = open_listener(listen_addr ? listen_addr : PROM_DEFAULT_LISTEN, &srv->fd, &srv->port);
	if (err)
		goto err_srv;
	srv->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, srv->fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!srv->daemon) {
		err = errno ? -errno : -ENOMEM;
		log_err("prometheus: failed to start the HTTP server on %s: %s",
			listen_addr ? listen_addr : PROM_DEFAULT_LISTEN, strerror(-err));
		goto err_fd;
	}
	*out = srv;
	return 0;

err_fd:
	/* Whether a failed start already closed the socket it was given varies
	 * by MHD version; close it only if it is still ours. */
	if (fcntl(srv->fd, F_GETFD) != -1)
		close(srv->fd);
err_srv:
	free(srv);
	return err;
}

void prom_server__free(struct prom_server *srv)
{
	if (!srv)
		return;
	/* Closes the listening socket too, though we created it. */
	MHD_stop_daemon(srv->daemon);
	free(srv);
}

unsigned int prom_server__port(const struct prom_server *srv)
{
	return srv ? srv->port : 0;
}
