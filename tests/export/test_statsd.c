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
#include <math.h>
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
#include "statsd_server.h"
#include "export/statsd.h"
#include "model/hist.h"
#include "model/metrics.h"

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
			 "app.sonde_test_latency:0.5|ms:5.5|ms:5.5|ms:100|ms");
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
			 "sonde_test_latency:55|ms");

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

TestSuite(export_statsd_real, .fini = statsd_server_stop, .timeout = 60);

Test(export_statsd_real, etsy_statsd_parses_our_lines)
{
	unsigned int port, mport;
	char *c, *g;
	struct metrics *m;
	struct statsd *s;

	port = closed_port(SOCK_DGRAM);
	mport = closed_port(SOCK_STREAM);
	statsd_server_start(port, mport, 0, NULL);
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

	c = strdup(statsd_mgmt(mport, "counters"));
	g = strdup(statsd_mgmt(mport, "gauges"));
	cr_assert_eq(statsd_inspected(c, "statsd.bad_lines_seen"), 0, "%s", c);
	cr_assert_eq(statsd_inspected(c, "app.sonde_test_calls_total"), 3);
	/* Tags become ";k=v" in the key; '/' becomes '-' in Etsy's sanitizer. */
	cr_assert_eq(statsd_inspected(c, "app.sonde_test_calls_total;binary=-usr-bin-app;function=main"),
		     47);
	cr_assert_eq(statsd_inspected(c, "app.sonde_test_latency_seconds.count"), 4);
	cr_assert_eq(statsd_inspected(c, "app.sonde_test_latency_seconds.sum"), 0.5);
	cr_assert_eq(statsd_inspected(g, "app.sonde_test_open;a=x"), 7);
	/* The "0|g" before a negative value keeps it from being a decrement. */
	cr_assert_eq(statsd_inspected(g, "app.sonde_test_temp"), -7.5, "%s", g);
	free(c);
	free(g);
	statsd__free(s);
	metrics__free(m);
	statsd_server_stop();
}

/*
 * Timings as Etsy's statsd computes them: count and p90 of a histogram
 * spread over four log2 buckets, through the same conversion sonde trace
 * publishes (model/hist -> log2 bounds), match sonde's own within a
 * bucket's width. 1000 calls: past STATSD_TIMING_ENTRIES, so sample rates.
 */
Test(export_statsd_real, etsy_timings_count_and_p90_match_sonde)
{
	static const struct {
		uint64_t ns;
		unsigned int n;
	} calls[] = {{3000, 500}, {40000, 300}, {700000, 150}, {9000000, 50}};
	double b[28], sum = 0, count, p90, want, lo;
	uint64_t counts[29] = {0};
	unsigned int port, mport;
	struct hist *h = hist__new();
	struct metrics *m = metrics__new(0);
	struct metric_label fn = {"function", "handle"};
	struct statsd *s;
	char dump[512], key[128];
	int k;

	for (size_t i = 0; i < 4; i++)
		for (unsigned int j = 0; j < calls[i].n; j++) {
			hist__add(h, calls[i].ns);
			sum += calls[i].ns / 1e9;
		}
	/* uprobe's sonde_function_duration_seconds: log2 bounds 2^8..2^35 ns. */
	for (k = 0; k < 28; k++)
		b[k] = (double)(1ull << (8 + k)) / 1e9;
	for (size_t i = 0; i < 4; i++) {
		for (k = 0; k < 28 && !(calls[i].ns / 1e9 <= b[k]); k++)
			;
		counts[k] += calls[i].n;
	}
	metrics__declare(m, "sonde_function_duration_seconds", METRIC_HISTOGRAM, "L.", b, 28);
	metrics__histogram_set(m, "sonde_function_duration_seconds", &fn, 1, counts, 1000, sum);

	snprintf(dump, sizeof(dump), "%s/statsd-dump-%d.jsonl", test_tmpdir(), getpid());
	unlink(dump);
	port = closed_port(SOCK_DGRAM);
	mport = closed_port(SOCK_STREAM);
	statsd_server_start(port, mport, 500, dump);
	s = new_exporter(port, "app");
	flush(s, m);
	snprintf(key, sizeof(key), "app.sonde_function_duration;function=handle");
	count = statsd_timer(dump, key, "count");
	p90 = statsd_timer(dump, key, "upper_90");
	want = hist__percentile(h, 90) / 1e6;
	/* The log2 bucket holding sonde's p90: [lo, 2 lo). */
	for (lo = 256e-6; lo * 2 <= want; lo *= 2)
		;
	cr_log_info("statsd: count %.9f p90 %.4f ms; sonde: 1000, p90 %.4f ms (bucket %.4f-%.4f)",
		    count, p90, want, lo, 2 * lo);
	cr_assert(fabs(count - 1000) < 1e-6, "count %.9f", count);
	cr_assert(fabs(p90 - want) <= lo, "p90 %.4f ms vs sonde's %.4f ms", p90, want);
	cr_assert_eq(statsd_inspected(statsd_mgmt(mport, "counters"), "statsd.bad_lines_seen"), 0);
	statsd__free(s);
	metrics__free(m);
	hist__free(h);
	statsd_server_stop();
}

/* DogStatsD: one |d line a bucket, its sample rate the bucket's count. */
Test(export_statsd, dogstatsd_distributions_one_line_a_bucket)
{
	static const double bnd[] = {0.001, 0.01, 0.1};
	const uint64_t counts[] = {3, 0, 1, 0};
	struct metric_label fn = {"function", "f"};
	struct metrics *m = metrics__new(0);
	struct statsd *s = NULL;
	static struct pkts p;
	unsigned int port;
	int fd = udp_listener(&port);
	char addr[64];

	metrics__declare(m, "x_seconds", METRIC_HISTOGRAM, "X.", bnd, 3);
	metrics__histogram_set(m, "x_seconds", &fn, 1, counts, 4, 0.06);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	cr_assert_eq(statsd__new_flavor(addr, NULL, STATSD_FLAVOR_DOGSTATSD, &s), 0);
	flush(s, m);
	recv_all(fd, &p);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.data[0], "x_seconds.count:4|c|#function:f\n"
				    "x_seconds.sum:0.06|c|#function:f\n"
				    "x:0.5|d|@0.3333333333333333|#function:f\n"
				    "x:55|d|#function:f");
	statsd__free(s);
	close(fd);
	metrics__free(m);
}

/* Many calls: entries in proportion, sample rates that add up to the count exactly. */
Test(export_statsd, timing_entries_are_proportional_and_lines_fit)
{
	static const double bnd[] = {0.001, 0.01};
	const uint64_t counts[] = {7000, 2999, 1};
	struct metrics *m = metrics__new(0);
	unsigned int port;
	int fd = udp_listener(&port);
	struct statsd *s = new_exporter(port, NULL);
	static struct pkts p;
	int n05 = 0, n55 = 0, n10 = 0;
	double total = 0;

	metrics__declare(m, "y_seconds", METRIC_HISTOGRAM, "Y.", bnd, 2);
	metrics__histogram_set(m, "y_seconds", NULL, 0, counts, 10000, 20);
	flush(s, m);
	recv_all(fd, &p);
	for (int i = 0; i < p.n; i++) {
		char *save = NULL, *line;

		cr_assert_leq(p.len[i], STATSD_MAX_PACKET);
		for (line = strtok_r(p.data[i], "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *e, *s2 = NULL;

			if (strncmp(line, "y:", 2))
				continue;
			for (e = strtok_r(line + 2, ":", &s2); e; e = strtok_r(NULL, ":", &s2)) {
				double v = strtod(e, NULL);
				const char *r = strstr(e, "|@");

				cr_assert(strstr(e, "|ms"), "%s", e);
				total += r ? 1 / strtod(r + 2, NULL) : 1;
				n05 += v == 0.5;
				n55 += v == 5.5;
				n10 += v == 10;
			}
		}
	}
	/* 70, 29 and at least one entry; counts exact to 1e-9. */
	cr_assert_eq(n05, 70);
	cr_assert_eq(n55, 29);
	cr_assert_eq(n10, 1);
	cr_assert(fabs(total - 10000) < 1e-9, "%.12f", total);
	statsd__free(s);
	close(fd);
	metrics__free(m);
}
