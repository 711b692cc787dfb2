/* SPDX-License-Identifier: MIT */
/*
 * Prometheus exporter: the text exposition format (version 0.0.4) of a
 * metrics snapshot, and a /metrics HTTP endpoint serving it.
 *
 * Intended use (sonde trace/agent with --listen ADDR:PORT):
 *
 *	struct metrics *m = metrics__new(0);
 *	struct prom_server *srv = NULL;
 *
 *	metrics__declare(m, "sonde_function_calls_total", METRIC_COUNTER, ...);
 *	if (o->listen && prom_server__new(o->listen, m, &srv))
 *		goto cleanup;	// already printed "cannot listen on ..."
 *	... collector loop: metrics__counter_set() / metrics__histogram_set()
 *	    from BPF maps on each tick; the server thread snapshots @m on
 *	    every scrape, so the loop never waits for a scraper ...
 *	prom_server__free(srv);	// before metrics__free(m)
 *
 * The server runs on libmicrohttpd's own thread; it only takes the
 * registry's lock for the copy of a snapshot. It is bounded against
 * hostile clients: at most max_connections at once and per_ip_connections
 * from one address (a slowloris client cannot take every slot), each
 * closed after timeout_s idle, and optionally an allowlist of networks
 * and basic authentication.
 */
#ifndef SONDE_EXPORT_PROM_H
#define SONDE_EXPORT_PROM_H

#include <stdint.h>
#include <stdio.h>

#include "model/metrics.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_DEFAULT_LISTEN "127.0.0.1:9464"

/*
 * Write @s: "# HELP", "# TYPE", then one line per sample; histograms as
 * cumulative _bucket{le="..."} lines ending with le="+Inf", then _sum and
 * _count. Families without series are left out. Returns 0 or -EIO.
 */
int prom_render(const struct metrics_snapshot *s, FILE *f);

struct prom_server;

/* An IPv4 or IPv6 network, "10.0.0.0/8", "::1/128", "192.168.1.7" (one host). */
struct prom_cidr {
	unsigned char addr[16]; /* IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d) */
	unsigned int bits;	/* prefix length on the 128 bits */
};

/* Parse @s. 0 or -EINVAL (no message). */
int prom_cidr_parse(const char *s, struct prom_cidr *out);

#define PROM_MAX_ALLOW 32
#define PROM_MAX_CONNECTIONS 64
#define PROM_PER_IP_CONNECTIONS 8
#define PROM_CONNECTION_TIMEOUT_S 10

struct prom_server_opts {
	const char *listen; /* as prom_server__new() takes it; NULL: PROM_DEFAULT_LISTEN */
	struct metrics *metrics;
	/* The serving process's own metrics (process_*): only /metrics shows them. */
	struct metrics *self;
	/* Clients allowed to connect; others get 403. nallow 0: everyone. */
	const struct prom_cidr *allow;
	unsigned int nallow;
	/*
	 * HTTP basic authentication for /metrics (401 without it): a file of
	 * "USER:HASH" lines, HASH a crypt(3) hash ("openssl passwd -6",
	 * "mkpasswd -m yescrypt", "htpasswd -B"), '#' comments and blank lines
	 * ignored. Refused unless a regular file that other users can neither
	 * read nor write. NULL: none. /healthz needs no password.
	 */
	const char *auth_file;
	/* 0 selects the default: PROM_MAX_CONNECTIONS, _PER_IP_, _TIMEOUT_S. */
	unsigned int max_connections;	 /* at once, every client */
	unsigned int per_ip_connections; /* at once, one client address */
	unsigned int timeout_s;		 /* an idle or slow connection is closed after */
};

/*
 * Start the server as @o says; prints one line on failure and returns
 * -errno (-EINVAL: a bad address or auth file, -EACCES: a readable auth
 * file). @o's registries must outlive the server.
 */
int prom_server__start(const struct prom_server_opts *o, struct prom_server **out);

/*
 * Serve GET /metrics and /healthz ("ok\n") on @listen_addr:
 * "127.0.0.1:9464", "[::1]:9464", "localhost:9464", or ":9464" for every
 * interface (IPv6 and IPv4). Port 0 picks a free port (see __port()).
 * Other paths answer 404, other methods 405. On failure prints one line,
 * "cannot listen on ADDR: REASON (choose another port with --listen)",
 * and returns -errno (-EINVAL for an address that does not parse).
 * @m must outlive the server.
 */
int prom_server__new(const char *listen_addr, struct metrics *m, struct prom_server **out);
/*
 * Serve GET /readyz from now on: 200 when @ready, else 503, with @json
 * (copied) as the body. Until the first call /readyz is 404. Thread-safe.
 * 0 or -ENOMEM.
 */
int prom_server__set_ready(struct prom_server *srv, bool ready, const char *json);
/* Requests refused so far: 403 (not allowed), 401 (no or a wrong password). */
void prom_server__refused(struct prom_server *srv, uint64_t *forbidden, uint64_t *unauthorized);
void prom_server__free(struct prom_server *srv);
/* The bound TCP port (useful after asking for port 0). */
unsigned int prom_server__port(const struct prom_server *srv);

#endif /* SONDE_EXPORT_PROM_H */
