// SPDX-License-Identifier: MIT
/* Etsy's statsd server for the StatsD tests (see statsd_server.h). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "statsd_server.h"

static pid_t statsd_pid = -1;

void statsd_server_stop(void)
{
	if (statsd_pid > 0) {
		kill(statsd_pid, SIGKILL);
		waitpid(statsd_pid, NULL, 0);
		statsd_pid = -1;
	}
}

static const char *statsd_js(void)
{
	static char path[4096];
	const char *env = getenv("SONDE_STATSD_JS");

	if (env)
		return env;
	snprintf(path, sizeof(path), "%s", source_path("tests/node_modules/statsd/stats.js"));
	return path;
}

char *statsd_mgmt(unsigned int port, const char *cmd)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 5};
	static char buf[65536];
	size_t n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return NULL;
	}
	dprintf(fd, "%s\n", cmd);
	buf[0] = '\0';
	while (!strstr(buf, "END\n") && (r = read(fd, buf + n, sizeof(buf) - n - 1)) > 0) {
		n += (size_t)r;
		buf[n] = '\0';
	}
	close(fd);
	return buf;
}

double statsd_inspected(const char *text, const char *key)
{
	char pat[512];
	const char *p;

	snprintf(pat, sizeof(pat), "'%s': ", key);
	p = strstr(text, pat);
	cr_assert_not_null(p, "%s not in:\n%s", key, text);
	return strtod(p + strlen(pat), NULL);
}

void statsd_server_start(unsigned int port, unsigned int mport, unsigned int flush_ms,
			 const char *dump)
{
	const char *js = statsd_js();
	char cfg[512];
	FILE *f;
	int i;

	require_path("/usr/bin/node", X_OK, "node");
	require_path(js, R_OK, "npm statsd@0.9.0");
	snprintf(cfg, sizeof(cfg), "%s/statsd-%d-%u.js", test_tmpdir(), getpid(), port);
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
	if (flush_ms)
		fprintf(f,
			"{ port: %u, address: \"127.0.0.1\", mgmt_port: %u, mgmt_address: "
			"\"127.0.0.1\", flushInterval: %u, backends: [\"%s\"], jsonDump: \"%s\" "
			"}\n",
			port, mport, flush_ms, source_path("tests/statsd_dump.js"), dump);
	else
		/* No backend and no flush during the test: the counters accumulate. */
		fprintf(f,
			"{ port: %u, address: \"127.0.0.1\", mgmt_port: %u, mgmt_address: "
			"\"127.0.0.1\", flushInterval: 3600000, backends: [] }\n",
			port, mport);
	fclose(f);
	statsd_pid = fork();
	cr_assert_geq(statsd_pid, 0);
	if (statsd_pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		/* Die with the test process even if the teardown never runs. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		execl("/usr/bin/node", "node", js, cfg, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && !statsd_mgmt(mport, "counters"); i++)
		usleep(100000);
	cr_assert_lt(i, 100, "statsd did not start");
}

/* The number after "\"FIELD\":" in the object of "\"KEY\":{" in @line, or NAN. */
static double json_figure(const char *line, const char *key, const char *field)
{
	char pat[600];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":{", key);
	p = strstr(line, pat);
	if (!p)
		return NAN;
	end = strchr(p + strlen(pat), '}');
	snprintf(pat, sizeof(pat), "\"%s\":", field);
	p = strstr(p, pat);
	if (!p || (end && p > end))
		return NAN;
	return strtod(p + strlen(pat), NULL);
}

double statsd_timer(const char *dump, const char *key, const char *field)
{
	double got = NAN;

	for (int tries = 0; tries < 100 && isnan(got); tries++) {
		char *text = read_file(dump, NULL), *save = NULL;

		for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
		     l = strtok_r(NULL, "\n", &save)) {
			double v = json_figure(strstr(l, "\"timer_data\":") ?: l, key, field);

			if (isnan(v) || (!strcmp(field, "count") && v == 0))
				continue;
			got = !strcmp(field, "count") && !isnan(got) ? got + v : v;
		}
		free(text);
		if (isnan(got))
			usleep(100000);
	}
	return got;
}
