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
 * registry's lock for the copy of a snapshot.
 */
#ifndef SONDE_EXPORT_PROM_H
#define SONDE_EXPORT_PROM_H

#include <stdio.h>

#include "sonde/metrics.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_DEFAULT_LISTEN "127.0.0.1:9464"

/*
 * Write @s: "# HELP", "# TYPE", then one line per sample; histograms as
 * cumulative _bucket{le="..."} lines ending with le="+Inf", then _sum and
 * _count. Families without series are left out. Returns 0 or -EIO.
 */
int prom_render(const struct metrics_snapshot *s, FILE *f);

struct prom_server;

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
void prom_server__free(struct prom_server *srv);
/* The bound TCP port (useful after asking for port 0). */
unsigned int prom_server__port(const struct prom_server *srv);

#endif /* SONDE_EXPORT_PROM_H */
