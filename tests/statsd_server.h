/* SPDX-License-Identifier: MIT */
/*
 * Etsy's statsd server (npm statsd@0.9.0, tests/node_modules) for the
 * StatsD tests: started on loopback ports, queried through its management
 * port, or, with a flush interval, dumping its computed timer figures
 * (count, upper_90...) as JSON lines (tests/statsd_dump.js). One per test
 * process; call statsd_server_stop() from the suite's .fini.
 */
#ifndef SONDE_TEST_STATSD_SERVER_H
#define SONDE_TEST_STATSD_SERVER_H

/*
 * Start it on UDP @port with the management port @mport; with
 * @flush_ms > 0, every flush appends a JSON line to @dump (else it never
 * flushes: counters accumulate). Skips (or fails in CI) without node.
 */
void statsd_server_start(unsigned int port, unsigned int mport, unsigned int flush_ms,
			 const char *dump);
void statsd_server_stop(void);
/* One management command ("counters", "gauges"), answer up to "END" (static). */
char *statsd_mgmt(unsigned int mport, const char *cmd);
/* The number after "'KEY': " in util.inspect() output. */
double statsd_inspected(const char *text, const char *key);
/*
 * From the dump's flushes, the figure @field ("count", "upper_90") of
 * timer @key, summed ("count") or last seen (others) over the flushes
 * that saw it; waits up to 10 s for one. NAN if never.
 */
double statsd_timer(const char *dump, const char *key, const char *field);

#endif
