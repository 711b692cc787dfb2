// SPDX-License-Identifier: MIT
/*
 * A real Prometheus server for test_export_prom (sonde's /metrics server)
 * and test_trace_export (sonde trace --listen): same config, same queries.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "http_rx.h"
#include "prometheus.h"

static pid_t prom_pid = -1;
static char prom_dir[256];

const char *prometheus_dir(void)
{
	return prom_dir;
}

void prometheus_stop(void)
{
	if (prom_pid > 0) {
		int status;

		kill(prom_pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(prom_pid, &status, WNOHANG) == prom_pid) {
				prom_pid = -1;
				break;
			}
			usleep(50000);
		}
		if (prom_pid > 0) {
			kill(prom_pid, SIGKILL);
			waitpid(prom_pid, &status, 0);
			prom_pid = -1;
		}
	}
	if (prom_dir[0]) {
		char *argv[] = {"/bin/rm", "-rf", prom_dir, NULL};

		run_cmd(argv, NULL, NULL);
		prom_dir[0] = '\0';
	}
}

unsigned int prometheus_start(unsigned int target_port)
{
	char cfg[512], tsdb[512], logp[512], listen[64], cfgarg[600], tsdbarg[600];
	unsigned int api_port;
	FILE *f;

	snprintf(prom_dir, sizeof(prom_dir), "%s/prometheus-%d", test_tmpdir(), getpid());
	cr_assert_eq(mkdir(prom_dir, 0700), 0);
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", prom_dir);
	snprintf(tsdb, sizeof(tsdb), "%s/data", prom_dir);
	snprintf(logp, sizeof(logp), "%s/prometheus.log", prom_dir);
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"global:\n"
		"  scrape_interval: 1s\n"
		"  evaluation_interval: 1s\n"
		"scrape_configs:\n"
		"  - job_name: sonde\n"
		"    scrape_interval: 1s\n"
		"    scrape_timeout: 1s\n"
		"    static_configs:\n"
		"      - targets: ['127.0.0.1:%u']\n",
		target_port);
	fclose(f);
	api_port = closed_port(SOCK_STREAM);
	snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%u", api_port);
	snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", cfg);
	snprintf(tsdbarg, sizeof(tsdbarg), "--storage.tsdb.path=%s", tsdb);
	char *argv[] = {PROMETHEUS_BIN, cfgarg, tsdbarg, listen, "--log.level=warn", NULL};
	prom_pid = spawn(argv, logp, logp);
	return api_port;
}

char *prometheus_query(unsigned int api_port, const char *q)
{
	char path[512], *v = NULL;
	struct http_reply r;
	const char *p;

	snprintf(path, sizeof(path), "/api/v1/query?query=%s", q);
	if (http_request(AF_INET, api_port, "GET", path, &r)) {
		http_reply_free(&r);
		return NULL;
	}
	/* {"status":"success","data":{"resultType":"vector","result":[{"metric":{..},
	 * "value":[1700000000.123,"42"]}]}} */
	p = strstr(r.body, "\"value\":[");
	if (r.status == 200 && p) {
		p = strchr(p, ',');
		if (p && p[1] == '"') {
			const char *e = strchr(p + 2, '"');

			if (e)
				v = strndup(p + 2, (size_t)(e - p - 2));
		}
	}
	http_reply_free(&r);
	return v;
}

char *prometheus_wait_query(unsigned int api_port, const char *q, const char *want)
{
	double t0 = now_s();
	char *v = NULL;

	do {
		free(v);
		v = prometheus_query(api_port, q);
		if (v && !strcmp(v, want))
			break;
		usleep(250000);
	} while (now_s() - t0 < 60);
	return v;
}

int promtool_check(const char *text, char **out)
{
	char path[256], cmd[512], *err = NULL;
	FILE *f;
	int rc;

	require_path("/usr/bin/promtool", X_OK, "promtool");
	snprintf(path, sizeof(path), "%s/promtool-%d.txt", test_tmpdir(), getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "exec /usr/bin/promtool check metrics < '%s' 2>&1", path);
	rc = run_sh(cmd, out, &err);
	free(err);
	return rc;
}
