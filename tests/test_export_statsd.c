// SPDX-License-Identifier: MIT
/*
 * StatsD exporter: exact datagrams caught by a loopback UDP socket in the
 * test process, delta semantics across flushes, the packet size limit,
 * tag sanitizing, send errors; then the real consumer, Etsy's statsd
 * server (npm statsd@0.9.0), which must parse every line and hold the
 * values we meant.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "http_rx.h"
#include "sonde/export_statsd.h"
#include "sonde/metrics.h"

static const double bounds[] = {0.001, 0.01, 0.1};

static int udp_listener(unsigned int *port)
{
	int p, fd = loopback_socket(SOCK_DGRAM, &p), sz = 1 << 20;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	*port = p;
	return fd;
}

#define MAX_PKTS 256

struct pkts {
	char data[MAX_PKTS][2048];
	size_t len[MAX_PKTS];
	int n;
};

/* Loopback UDP is delivered within send(): drain what is queued. */
static void recv_all(int fd, struct pkts *p)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	p->n = 0;
	while (p->n < MAX_PKTS && poll(&pfd, 1, 100) > 0) {
		ssize_t r = recv(fd, p->data[p->n], sizeof(p->data[0]) - 1, 0);

		cr_assert_geq(r, 0);
		p->data[p->n][r] = '\0';
		p->len[p->n] = (size_t)r;
		p->n++;
	}
}

static struct statsd *new_exporter(unsigned int port, const char *prefix)
{
	struct statsd *s = NULL;
	char addr[64];

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	cr_assert_eq(statsd__new(addr, prefix, &s), 0);
	return s;
}

static void flush(struct statsd *s, struct metrics *m)
{
	struct metrics_snapshot *snap = NULL;

	cr_assert_eq(metrics__snapshot(m, &snap), 0);
	cr_assert_eq(statsd__flush(s, snap), 0);
	metrics_snapshot__free(snap);
}

static struct metrics *sample_registry(void)
{
	struct metrics *m = metrics__new(0);
	struct metric_label fn[] = {{"function", "main"}, {"binary", "/usr/bin/app"}};
	struct metric_label a[] = {{"a", "x"}};
	const uint64_t counts[] = {1, 2, 0, 1};

	metrics__declare(m, "sonde_test_calls_total", METRIC_COUNTER, "C.", NULL, 0);
	metrics__declare(m, "sonde_test_open", METRIC_GAUGE, "G.", NULL, 0);
	metrics__declare(m, "sonde_test_temp", METRIC_GAUGE, "T.", NULL, 0);
	metrics__declare(m, "sonde_test_latency_seconds", METRIC_HISTOGRAM, "L.", bounds, 3);
	metrics__counter_set(m, "sonde_test_calls_total", NULL, 0, 3);
	metrics__counter_set(m, "sonde_test_calls_total", fn, 2, 42);
	metrics__gauge_set(m, "sonde_test_open", a, 1, 7);
	metrics__gauge_set(m, "sonde_test_temp", NULL, 0, -3);
	metrics__histogram_set(m, "sonde_test_latency_seconds", NULL, 0, counts, 4, 0.5);
	return m;
}

Test(export_statsd, first_flush_exact_packet)
{
	struct metrics *m = sample_registry();
	unsigned int port;
	int fd = udp_listener(&port);
	struct statsd *s = new_exporter(port, "app");
	struct statsd_stats st;
	static struct pkts p;

	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.data[0],
			 "app.sonde_test_calls_total:3|c\n"
			 "app.sonde_test_calls_total:42|c|#binary:/usr/bin/app,function:main\n"
			 "app.sonde_test_open:7|g|#a:x\n"
			 "app.sonde_test_temp:0|g\n"
			 "app.sonde_test_temp:-3|g\n"
			 "app.sonde_test_latency_seconds.count:4|c\n"
			 "app.sonde_test_latency_seconds.sum:0.5|c\n"
			 "app.sonde_test_latency_seconds.bucket:1|c|#upper_bound:0.001\n"
			 "app.sonde_test_latency_seconds.bucket:2|c|#upper_bound:0.01\n"
			 "app.sonde_test_latency_seconds.bucket:1|c|#upper_bound:+Inf");
	statsd__stats(s, &st);
	cr_assert_eq(st.packets_sent, 1);
	cr_assert_eq(st.bytes_sent, p.len[0]);
	cr_assert_eq(st.send_errors, 0);
	cr_assert_eq(st.lines_dropped, 0);
	statsd__free(s);
	statsd__free(NULL);
	close(fd);
	metrics__free(m);
}

Test(export_statsd, second_flush_sends_deltas)
{
	struct metrics *m = sample_registry();
	struct metric_label fn[] = {{"binary", "/usr/bin/app"}, {"function", "main"}};
	unsigned int port;
	int fd = udp_listener(&port);
	struct statsd *s = new_exporter(port, "");
	static struct pkts p;

	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 1);

	/* Nothing changed: only gauges, which are states, not deltas. */
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.data[0], "sonde_test_open:7|g|#a:x\n"
				    "sonde_test_temp:0|g\n"
				    "sonde_test_temp:-3|g");

	metrics__counter_add(m, "sonde_test_calls_total", fn, 2, 5);
	metrics__histogram_observe(m, "sonde_test_latency_seconds", NULL, 0, 0.0625);
	metrics__gauge_set(m, "sonde_test_temp", NULL, 0, 0);
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.data[0],
			 "sonde_test_calls_total:5|c|#binary:/usr/bin/app,function:main\n"
			 "sonde_test_open:7|g|#a:x\n"
			 "sonde_test_temp:0|g\n"
			 "sonde_test_latency_seconds.count:1|c\n"
			 "sonde_test_latency_seconds.sum:0.0625|c\n"
			 "sonde_test_latency_seconds.bucket:1|c|#upper_bound:0.1");

	/* A mirrored counter that went down restarted: its whole value is new. */
	metrics__counter_set(m, "sonde_test_calls_total", NULL, 0, 2);
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.data[0], "sonde_test_calls_total:2|c\n"
				    "sonde_test_open:7|g|#a:x\n"
				    "sonde_test_temp:0|g");
	statsd__free(s);
	close(fd);
	metrics__free(m);
}

Test(export_statsd, removed_series_start_over)
{
	struct metrics *m = metrics__new(0);
	struct metric_label l = {"pid", "1"};
	unsigned int port;
	int fd = udp_listener(&port);
	struct statsd *s = new_exporter(port, NULL);
	static struct pkts p;

	metrics__declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
	metrics__counter_set(m, "c_total", &l, 1, 10);
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_str_eq(p.data[0], "c_total:10|c|#pid:1");
	/* Gone for one flush (its state is pruned), then back from zero. */
	metrics__remove(m, "c_total", &l, 1);
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 0);
	metrics__counter_set(m, "c_total", &l, 1, 4);
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_str_eq(p.data[0], "c_total:4|c|#pid:1");
	statsd__free(s);
	close(fd);
	metrics__free(m);
}

Test(export_statsd, tags_and_names_are_sanitized)
{
	struct metrics *m = metrics__new(0);
	struct metric_label l[] = {{"path", "a|b,c#d\ne:f"}};
	unsigned int port;
	int fd = udp_listener(&port);
	struct statsd *s = new_exporter(port, "my|app:");
	static struct pkts p;

	metrics__declare(m, "ns:calls_total", METRIC_COUNTER, "C.", NULL, 0);
	metrics__counter_add(m, "ns:calls_total", l, 1, 1);
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 1);
	/* ':' stays in a tag value: DogStatsD splits a tag at its first ':'. */
	cr_assert_str_eq(p.data[0], "my_app_.ns_calls_total:1|c|#path:a_b_c_d_e:f");
	statsd__free(s);
	close(fd);
	metrics__free(m);
}

Test(export_statsd, packets_stay_under_1432_bytes_and_lines_are_whole)
{
	struct metrics *m = metrics__new(0);
	unsigned int port;
	int fd = udp_listener(&port);
	struct statsd *s = new_exporter(port, "app");
	struct statsd_stats st;
	static struct pkts p;
	static int seen[300];
	size_t total = 0;
	char v[64];

	metrics__declare(m, "sonde_function_calls_total", METRIC_COUNTER, "C.", NULL, 0);
	for (int i = 0; i < 300; i++) {
		struct metric_label l[] = {{"function", v}, {"binary", "/usr/lib/libexample.so.1"}};

		snprintf(v, sizeof(v), "function_number_%d", i);
		metrics__counter_set(m, "sonde_function_calls_total", l, 2, i + 1);
	}
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_gt(p.n, 1);
	for (int i = 0; i < p.n; i++) {
		char *save = NULL, *line, copy[2048];

		cr_assert_leq(p.len[i], STATSD_MAX_PACKET);
		cr_assert_neq(p.data[i][p.len[i] - 1], '\n');
		/* Full packing: the next packet's first line would not have fit. */
		if (i + 1 < p.n) {
			size_t first = strcspn(p.data[i + 1], "\n");

			cr_assert_gt(p.len[i] + 1 + first, STATSD_MAX_PACKET);
		}
		total += p.len[i];
		strcpy(copy, p.data[i]);
		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			int n = -1, val = -1;
			char want[256];

			cr_assert_eq(sscanf(line, "app.sonde_function_calls_total:%d|c|#", &val), 1,
				     "%s", line);
			cr_assert_eq(sscanf(strrchr(line, '_') + 1, "%d", &n), 1, "%s", line);
			cr_assert(n >= 0 && n < 300);
			snprintf(want, sizeof(want),
				 "app.sonde_function_calls_total:%d|c|#binary:/usr/lib/"
				 "libexample.so.1,function:function_number_%d",
				 n + 1, n);
			cr_assert_str_eq(line, want);
			seen[n]++;
		}
	}
	for (int i = 0; i < 300; i++)
		cr_assert_eq(seen[i], 1, "series %d seen %d times", i, seen[i]);
	statsd__stats(s, &st);
	cr_assert_eq(st.packets_sent, (uint64_t)p.n);
	cr_assert_eq(st.bytes_sent, total);
	statsd__free(s);
	close(fd);
	metrics__free(m);
}

Test(export_statsd, oversized_line_is_dropped_and_counted)
{
	struct metrics *m = metrics__new(0);
	static char big[1500];
	struct metric_label l[] = {{"big", big}};
	unsigned int port;
	int fd = udp_listener(&port);
	struct statsd *s = new_exporter(port, NULL);
	struct statsd_stats st;
	static struct pkts p;

	memset(big, 'x', sizeof(big) - 1);
	metrics__declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
	metrics__declare(m, "g", METRIC_GAUGE, "G.", NULL, 0);
	metrics__counter_add(m, "c_total", l, 1, 1);
	metrics__gauge_set(m, "g", NULL, 0, 1);
	metrics__gauge_set(m, "g", l, 1, 0.0 / 0.0);
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.data[0], "g:1|g");
	statsd__stats(s, &st);
	cr_assert_eq(st.lines_dropped, 2);
	statsd__free(s);
	close(fd);
	metrics__free(m);
}

Test(export_statsd, send_errors_are_counted_not_returned)
{
	struct metrics *m = metrics__new(0);
	unsigned int port;
	int fd = udp_listener(&port);
	struct statsd *s;
	struct statsd_stats st;

	/* Nobody listens there: loopback answers with ICMP port unreachable,
	 * which the connected socket reports on the next send. */
	close(fd);
	s = new_exporter(port, NULL);
	metrics__declare(m, "g", METRIC_GAUGE, "G.", NULL, 0);
	metrics__gauge_set(m, "g", NULL, 0, 1);
	for (int i = 0; i < 4; i++)
		flush(s, m);
	statsd__stats(s, &st);
	cr_assert_geq(st.send_errors, 1);
	cr_assert_eq(st.packets_sent + st.send_errors, 4);
	statsd__free(s);
	metrics__free(m);
}

Test(export_statsd, bad_addresses)
{
	struct statsd *s = NULL;

	cr_assert_eq(statsd__new("8125", NULL, &s), -EINVAL);
	cr_assert_eq(statsd__new(":8125", NULL, &s), -EINVAL);
	cr_assert_eq(statsd__new("127.0.0.1:0", NULL, &s), -EINVAL);
	cr_assert_eq(statsd__new("127.0.0.1:70000", NULL, &s), -EINVAL);
	cr_assert_eq(statsd__new("no-such-host.invalid:8125", NULL, &s), -ENOENT);
	cr_assert_null(s);
	cr_assert_eq(statsd__new("[::1]:8125", NULL, &s), 0);
	statsd__free(s);
}

/* ---- the real consumer: Etsy's statsd server */

static pid_t statsd_pid = -1;

static void stop_statsd(void)
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

/* One management command ("counters", "gauges"), answer up to "END". */
static char *mgmt(unsigned int port, const char *cmd)
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

/* The number after "'KEY': " in util.inspect() output. */
static double inspected(const char *text, const char *key)
{
	char pat[512];
	const char *p;

	snprintf(pat, sizeof(pat), "'%s': ", key);
	p = strstr(text, pat);
	cr_assert_not_null(p, "%s not in:\n%s", key, text);
	return strtod(p + strlen(pat), NULL);
}

TestSuite(export_statsd_real, .fini = stop_statsd, .timeout = 60);

Test(export_statsd_real, etsy_statsd_parses_our_lines)
{
	const char *js = statsd_js();
	unsigned int port, mport;
	char cfg[512], *c, *g;
	struct metrics *m;
	struct statsd *s;
	FILE *f;
	int i;

	require_path("/usr/bin/node", X_OK, "node");
	require_path(js, R_OK, "npm statsd@0.9.0");
	port = closed_port(SOCK_DGRAM);
	mport = closed_port(SOCK_STREAM);
	snprintf(cfg, sizeof(cfg), "%s/statsd-%d.js", test_tmpdir(), getpid());
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
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
	for (i = 0; i < 100 && !mgmt(mport, "counters"); i++)
		usleep(100000);
	cr_assert_lt(i, 100, "statsd did not start");

	m = sample_registry();
	s = new_exporter(port, "app");
	flush(s, m);
	{
		struct metric_label fn[] = {{"binary", "/usr/bin/app"}, {"function", "main"}};

		metrics__counter_add(m, "sonde_test_calls_total", fn, 2, 5);
		metrics__gauge_set(m, "sonde_test_temp", NULL, 0, -7.5);
	}
	flush(s, m);
	usleep(200000);

	c = strdup(mgmt(mport, "counters"));
	g = strdup(mgmt(mport, "gauges"));
	cr_assert_eq(inspected(c, "statsd.bad_lines_seen"), 0, "%s", c);
	cr_assert_eq(inspected(c, "app.sonde_test_calls_total"), 3);
	/* Tags become ";k=v" in the key; '/' becomes '-' in Etsy's sanitizer. */
	cr_assert_eq(inspected(c, "app.sonde_test_calls_total;binary=-usr-bin-app;function=main"),
		     47);
	cr_assert_eq(inspected(c, "app.sonde_test_latency_seconds.count"), 4);
	cr_assert_eq(inspected(c, "app.sonde_test_latency_seconds.sum"), 0.5);
	cr_assert_eq(inspected(c, "app.sonde_test_latency_seconds.bucket;upper_bound=0.01"), 2);
	cr_assert_eq(inspected(g, "app.sonde_test_open;a=x"), 7);
	/* The "0|g" before a negative value keeps it from being a decrement. */
	cr_assert_eq(inspected(g, "app.sonde_test_temp"), -7.5, "%s", g);
	free(c);
	free(g);
	statsd__free(s);
	metrics__free(m);
	stop_statsd();
}
