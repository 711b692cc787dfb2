/* SPDX-License-Identifier: MIT */
/*
 * A real Prometheus server (/usr/bin/prometheus) that scrapes one target
 * every second, and instant queries through its HTTP API. One per test
 * process; call prometheus_stop() from the suite's .fini.
 */
#ifndef SONDE_TEST_PROMETHEUS_H
#define SONDE_TEST_PROMETHEUS_H

#define PROMETHEUS_BIN "/usr/bin/prometheus"

/* Start scraping 127.0.0.1:@target_port as job "sonde"; the API's port. */
unsigned int prometheus_start(unsigned int target_port);
/* Stop it and remove its data; safe to call when it is not running. */
void prometheus_stop(void);
/* Its directory: prometheus.log is there, for failure messages. */
const char *prometheus_dir(void);

/* The value of the first sample of instant query @q (URL-encoded), or NULL. */
char *prometheus_query(unsigned int api_port, const char *q);
/* prometheus_query() until it answers @want, for up to 60 s; the last answer. */
char *prometheus_wait_query(unsigned int api_port, const char *q, const char *want);

/*
 * `promtool check metrics` (lint included) of exposition text @text:
 * its exit status, what it printed into *@out (malloc'd). Skips without it.
 */
int promtool_check(const char *text, char **out);

#endif
