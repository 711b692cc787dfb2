// SPDX-License-Identifier: MIT
/*
 * Prometheus exporter: exact text rendering, the HTTP endpoint over a raw
 * loopback socket, then the real consumers: `promtool check metrics`
 * lints what we render, and a real Prometheus server scrapes our endpoint
 * and answers queries with the values we set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "http_rx.h"
#include "prometheus.h"
#include "export/prom.h"
#include "model/metrics.h"
#include "session/procstat.h"

static const double bounds[] = {0.001, 0.01, 0.1};

static char *render(struct metrics *m)
{
	struct metrics_snapshot *s = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(metrics__snapshot(m, &s), 0);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	cr_assert_eq(prom_render(s, f), 0);
	fclose(f);
	metrics_snapshot__free(s);
	return buf;
}

/* A counter, a gauge with awkward label values and help, a histogram. */
static struct metrics *sample_registry(void)
{
	struct metrics *m = metrics__new(0);
	struct metric_label fn[] = {{"function", "main"}, {"binary", "/usr/bin/app"}};
	struct metric_label odd[] = {{"path", "C:\\dir \"x\"\nnext"}};
	const uint64_t counts[] = {100, 600, 250, 50};

	cr_assert_not_null(m);
	cr_assert_eq(metrics__declare(m, "sonde_test_calls_total", METRIC_COUNTER, "Calls seen.",
				      NULL, 0),
		     0);
	cr_assert_eq(metrics__declare(m, "sonde_test_open_files", METRIC_GAUGE,
				      "Open files; a \\ backslash\nand a newline.", NULL, 0),
		     0);
	cr_assert_eq(metrics__declare(m, "sonde_test_latency_seconds", METRIC_HISTOGRAM,
				      "Call latency.", bounds, 3),
		     0);
	cr_assert_eq(metrics__declare(m, "sonde_test_unused", METRIC_GAUGE, "No series.", NULL, 0),
		     0);
	cr_assert_eq(metrics__counter_set(m, "sonde_test_calls_total", NULL, 0, 42), 0);
	cr_assert_eq(metrics__counter_add(m, "sonde_test_calls_total", fn, 2, 0.5), 0);
	cr_assert_eq(metrics__gauge_set(m, "sonde_test_open_files", odd, 1, -3.25), 0);
	cr_assert_eq(
		metrics__histogram_set(m, "sonde_test_latency_seconds", fn, 2, counts, 1000, 12.5),
		0);
	return m;
}

static const char expected_text[] =
	"# HELP sonde_metrics_series_dropped_total Series refused because the registry "
	"reached its max_series limit.\n"
	"# TYPE sonde_metrics_series_dropped_total counter\n"
	"sonde_metrics_series_dropped_total 0\n"
	"# HELP sonde_test_calls_total Calls seen.\n"
	"# TYPE sonde_test_calls_total counter\n"
	"sonde_test_calls_total 42\n"
	"sonde_test_calls_total{binary=\"/usr/bin/app\",function=\"main\"} 0.5\n"
	"# HELP sonde_test_open_files Open files; a \\\\ backslash\\nand a newline.\n"
	"# TYPE sonde_test_open_files gauge\n"
	"sonde_test_open_files{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} -3.25\n"
	"# HELP sonde_test_latency_seconds Call latency.\n"
	"# TYPE sonde_test_latency_seconds histogram\n"
	"sonde_test_latency_seconds_bucket{binary=\"/usr/bin/app\",function=\"main\",le=\"0.001\"} "
	"100\n"
	"sonde_test_latency_seconds_bucket{binary=\"/usr/bin/app\",function=\"main\",le=\"0.01\"} "
	"700\n"
	"sonde_test_latency_seconds_bucket{binary=\"/usr/bin/app\",function=\"main\",le=\"0.1\"} "
	"950\n"
	"sonde_test_latency_seconds_bucket{binary=\"/usr/bin/app\",function=\"main\",le=\"+Inf\"} "
	"1000\n"
	"sonde_test_latency_seconds_sum{binary=\"/usr/bin/app\",function=\"main\"} 12.5\n"
	"sonde_test_latency_seconds_count{binary=\"/usr/bin/app\",function=\"main\"} 1000\n";

Test(export_prom, renders_exact_text)
{
	struct metrics *m = sample_registry();
	char *text = render(m);

	cr_assert_str_eq(text, expected_text);
	free(text);
	metrics__free(m);
}

Test(export_prom, renders_special_floats_and_unlabelled_histograms)
{
	struct metrics *m = metrics__new(0);
	const double b[] = {1e-06, 0.5, 1e+21};
	char *text;

	metrics__declare(m, "g", METRIC_GAUGE, "", NULL, 0);
	metrics__declare(m, "h_seconds", METRIC_HISTOGRAM, "H.", b, 3);
	metrics__gauge_set(m, "g", NULL, 0, 1.0 / 0.0);
	metrics__histogram_observe(m, "h_seconds", NULL, 0, 0.1);
	text = render(m);
	cr_assert_not_null(strstr(text, "# HELP g \n# TYPE g gauge\ng +Inf\n"), "%s", text);
	cr_assert_not_null(strstr(text, "# TYPE h_seconds histogram\n"
					"h_seconds_bucket{le=\"1e-06\"} 0\n"
					"h_seconds_bucket{le=\"0.5\"} 1\n"
					"h_seconds_bucket{le=\"1e+21\"} 1\n"
					"h_seconds_bucket{le=\"+Inf\"} 1\n"
					"h_seconds_sum 0.1\n"
					"h_seconds_count 1\n"),
			   "%s", text);
	free(text);
	metrics__free(m);
}

static const char *header(const struct http_reply *r, const char *name)
{
	static char val[256];
	size_t nl = strlen(name);

	for (const char *p = strstr(r->raw, "\r\n"); p && p + 2 < r->body;
	     p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
			const char *v = p + 2 + nl + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(val, sizeof(val), "%.*s", (int)(e - v), v);
			return val;
		}
	}
	return NULL;
}

Test(export_prom, serves_metrics_healthz_404_405)
{
	struct metrics *m = sample_registry();
	struct prom_server *srv = NULL;
	struct http_reply r;
	unsigned int port;

	cr_assert_eq(prom_server__new("127.0.0.1:0", m, &srv), 0);
	port = prom_server__port(srv);
	cr_assert_gt(port, 0);

	cr_assert_eq(http_request(AF_INET, port, "GET", "/metrics", &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	cr_assert_str_eq(r.body, expected_text);
	http_reply_free(&r);

	/* Later updates show in the next scrape. */
	metrics__counter_add(m, "sonde_test_calls_total", NULL, 0, 1);
	cr_assert_eq(http_request(AF_INET, port, "GET", "/metrics", &r), 0);
	cr_assert_not_null(strstr(r.body, "\nsonde_test_calls_total 43\n"));
	http_reply_free(&r);

	cr_assert_eq(http_request(AF_INET, port, "GET", "/healthz", &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ok\n");
	http_reply_free(&r);

	cr_assert_eq(http_request(AF_INET, port, "GET", "/", &r), 0);
	cr_assert_eq(r.status, 404);
	http_reply_free(&r);

	cr_assert_eq(http_request(AF_INET, port, "POST", "/metrics", &r), 0);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(header(&r, "Allow"), "GET, HEAD");
	http_reply_free(&r);

	cr_assert_eq(http_request(AF_INET, port, "HEAD", "/metrics", &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "");
	http_reply_free(&r);

	prom_server__free(srv);
	prom_server__free(NULL);
	metrics__free(m);
}

Test(export_prom, serves_on_ipv6_loopback)
{
	struct metrics *m = sample_registry();
	struct prom_server *srv = NULL;
	struct http_reply r;

	cr_assert_eq(prom_server__new("[::1]:0", m, &srv), 0);
	cr_assert_eq(http_request(AF_INET6, prom_server__port(srv), "GET", "/healthz", &r), 0);
	cr_assert_eq(r.status, 200);
	http_reply_free(&r);
	prom_server__free(srv);
	metrics__free(m);
}

/* Run @fn with stderr captured into a malloc'd string. */

struct new_args {
	const char *addr;
	struct metrics *m;
	struct prom_server *srv;
};

static int try_new(void *p)
{
	struct new_args *a = p;

	return prom_server__new(a->addr, a->m, &a->srv);
}

Test(export_prom, port_in_use_is_one_clear_line)
{
	struct metrics *m = sample_registry();
	struct prom_server *srv = NULL;
	struct new_args a = {.m = m};
	char addr[64], want[256], *err;
	int ret;

	cr_assert_eq(prom_server__new("127.0.0.1:0", m, &srv), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", prom_server__port(srv));
	a.addr = addr;
	err = capture_stderr(try_new, &a, &ret);
	cr_assert_eq(ret, -EADDRINUSE);
	cr_assert_null(a.srv);
	snprintf(want, sizeof(want),
		 "sonde: cannot listen on %s: Address already in use (choose another port with "
		 "--listen)\n",
		 addr);
	cr_assert_str_eq(err, want);
	free(err);
	prom_server__free(srv);
	metrics__free(m);
}

Test(export_prom, bad_addresses_are_einval)
{
	struct metrics *m = metrics__new(0);
	struct new_args a = {.m = m};
	char *err;
	int ret;

	a.addr = "9464";
	err = capture_stderr(try_new, &a, &ret);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_str_eq(err, "sonde: cannot listen on '9464': expected HOST:PORT, [IPV6]:PORT "
			      "or :PORT (e.g. --listen 127.0.0.1:9464)\n");
	free(err);
	a.addr = "127.0.0.1:99999";
	free(capture_stderr(try_new, &a, &ret));
	cr_assert_eq(ret, -EINVAL);
	a.addr = "::1:9464";
	free(capture_stderr(try_new, &a, &ret));
	cr_assert_eq(ret, -EINVAL);
	a.addr = "192.0.2.1:0"; /* TEST-NET: not ours, the kernel refuses to bind */
	err = capture_stderr(try_new, &a, &ret);
	cr_assert_eq(ret, -EADDRNOTAVAIL);
	cr_assert_str_eq(err, "sonde: cannot listen on 192.0.2.1:0: Cannot assign requested "
			      "address (choose another port with --listen)\n");
	free(err);
	metrics__free(m);
}

/* ---- hostile clients */

/* 200 idle connections from one address, scrapes from another still answered. */
Test(export_prom, slowloris_from_one_client_does_not_starve_others, .timeout = 60)
{
	enum { IDLE = 200, SCRAPES = 45 };
	struct metrics *m = sample_registry();
	struct prom_server *srv = NULL;
	int fds[IDLE], opened = 0, answered = 0;
	struct http_reply r;
	unsigned int port;
	double t0, worst = 0;

	cr_assert_eq(prom_server__new("127.0.0.1:0", m, &srv), 0);
	port = prom_server__port(srv);
	for (int i = 0; i < IDLE; i++) {
		fds[i] = idle_connection_from("127.0.0.2", port);
		opened += fds[i] >= 0;
	}
	/* Let the server accept (and refuse) them all before the scrapes. */
	usleep(200000);
	for (int i = 0; i < SCRAPES; i++) {
		double dt;

		t0 = now_s();
		if (!http_get_from("127.0.0.1", port, "/metrics", NULL, &r) && r.status == 200 &&
		    !strcmp(r.body, expected_text))
			answered++;
		dt = now_s() - t0;
		worst = dt > worst ? dt : worst;
		http_reply_free(&r);
	}
	cr_log_info("%d of %d idle connections opened; %d of %d scrapes answered, slowest %.3f s",
		    opened, IDLE, answered, SCRAPES, worst);
	cr_assert_eq(answered, SCRAPES);
	cr_assert_lt(worst, 1.0);
	for (int i = 0; i < IDLE; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	prom_server__free(srv);
	metrics__free(m);
}

/* An idle connection is closed after the timeout, not held forever. */
Test(export_prom, idle_connections_time_out)
{
	struct prom_server_opts o = {.listen = "127.0.0.1:0", .timeout_s = 1};
	struct prom_server *srv = NULL;
	char c;
	int fd;
	double t0;

	o.metrics = sample_registry();
	cr_assert_eq(prom_server__start(&o, &srv), 0);
	fd = idle_connection_from("127.0.0.2", prom_server__port(srv));
	cr_assert_geq(fd, 0);
	t0 = now_s();
	/* read() returns 0 when the server closes it. */
	cr_assert_eq(read(fd, &c, 1), 0);
	cr_assert(now_s() - t0 >= 0.9 && now_s() - t0 < 3.5, "closed after %.2f s", now_s() - t0);
	close(fd);
	prom_server__free(srv);
	metrics__free(o.metrics);
}

static const char *header_of(struct http_reply *r, const char *name)
{
	static char v[256];
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	p = strcasestr(r->raw, pat);
	if (!p)
		return "";
	p += strlen(pat);
	snprintf(v, sizeof(v), "%.*s", (int)strcspn(p, "\r\n"), p);
	return v;
}

Test(export_prom, allowlist_answers_403_to_others)
{
	struct prom_cidr allow[2];
	struct prom_server_opts o = {.listen = "127.0.0.1:0", .allow = allow, .nallow = 2};
	struct prom_server *srv = NULL;
	struct http_reply r;
	uint64_t forbidden, unauthorized;
	unsigned int port;

	cr_assert_eq(prom_cidr_parse("127.0.0.2", &allow[0]), 0);
	cr_assert_eq(prom_cidr_parse("10.0.0.0/8", &allow[1]), 0);
	o.metrics = sample_registry();
	cr_assert_eq(prom_server__start(&o, &srv), 0);
	port = prom_server__port(srv);

	cr_assert_eq(http_get_from("127.0.0.2", port, "/metrics", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, expected_text);
	http_reply_free(&r);
	cr_assert_eq(http_get_from("127.0.0.1", port, "/metrics", NULL, &r), 0);
	cr_assert_eq(r.status, 403);
	cr_assert_str_eq(r.body, "forbidden: not in --listen-allow\n");
	http_reply_free(&r);
	cr_assert_eq(http_get_from("127.0.0.3", port, "/healthz", NULL, &r), 0);
	cr_assert_eq(r.status, 403);
	http_reply_free(&r);
	prom_server__refused(srv, &forbidden, &unauthorized);
	cr_assert_eq(forbidden, 2);
	cr_assert_eq(unauthorized, 0);
	prom_server__free(srv);
	metrics__free(o.metrics);
}

Test(export_prom, cidrs_parse_and_match_exactly)
{
	static const char *const bad[] = {"", "10.0.0.0/33", "10.0.0.1/8", "::1/129", "10.0.0/8",
					  "10.0.0.0/", "10.0.0.0/-1", "example.com", "1.2.3.4/+8"};
	struct prom_cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(prom_cidr_parse(bad[i], &c), -EINVAL, "%s", bad[i]);
	cr_assert_eq(prom_cidr_parse("10.0.0.0/8", &c), 0);
	cr_assert_eq(c.bits, 104);
	cr_assert_eq(c.addr[10], 0xff);
	cr_assert_eq(c.addr[12], 10);
	cr_assert_eq(prom_cidr_parse("fd00::/8", &c), 0);
	cr_assert_eq(c.bits, 8);
	cr_assert_eq(c.addr[0], 0xfd);
	cr_assert_eq(prom_cidr_parse("::1", &c), 0);
	cr_assert_eq(c.bits, 128);
	cr_assert_eq(prom_cidr_parse("0.0.0.0/0", &c), 0);
	cr_assert_eq(c.bits, 96);
}

/* "USER:HASH" with a hash openssl made; @mode for the file. */
static const char *auth_file(mode_t mode)
{
	static char path[512];
	char cmd[2048];
	int rc;

	snprintf(path, sizeof(path), "%s/auth-%o", test_tmpdir(), (unsigned int)mode);
	snprintf(cmd, sizeof(cmd),
		 "umask 077; { echo '# scrapers'; echo; printf 'prom:'; "
		 "openssl passwd -6 -salt s0ndesalt 'correct horse'; } > '%s' && chmod %o '%s'",
		 path, (unsigned int)mode, path);
	rc = run_sh(cmd, NULL, NULL);
	cr_assert_eq(rc, 0, "openssl passwd failed");
	return path;
}

static int try_start(void *arg)
{
	struct prom_server *srv = NULL;
	int err = prom_server__start(arg, &srv);

	prom_server__free(srv);
	return err;
}

/* @fn's return value, what it prints thrown away. */
static int capture_stderr_ret(int (*fn)(void *), void *arg)
{
	int ret;

	free(capture_stderr(fn, arg, &ret));
	return ret;
}

Test(export_prom, basic_auth_answers_401_without_the_password)
{
	struct prom_server_opts o = {.listen = "127.0.0.1:0"};
	struct prom_server *srv = NULL;
	struct http_reply r;
	uint64_t forbidden, unauthorized;
	unsigned int port;
	char *err, *want;
	int ret;

	require_path("/usr/bin/openssl", X_OK, "openssl");
	o.metrics = sample_registry();
	o.auth_file = auth_file(0600);
	cr_assert_eq(prom_server__start(&o, &srv), 0);
	port = prom_server__port(srv);

	cr_assert_eq(http_get_from(NULL, port, "/metrics", NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(header_of(&r, "WWW-Authenticate"), "Basic realm=\"sonde\"");
	http_reply_free(&r);
	/* prom:wrong */
	cr_assert_eq(http_get_from(NULL, port, "/metrics", "Authorization: Basic cHJvbTp3cm9uZw==",
				   &r),
		     0);
	cr_assert_eq(r.status, 401);
	http_reply_free(&r);
	/* prom:correct horse, twice (the second from the cache) */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(http_get_from(NULL, port, "/metrics",
					   "Authorization: Basic cHJvbTpjb3JyZWN0IGhvcnNl", &r),
			     0);
		cr_assert_eq(r.status, 200);
		cr_assert_str_eq(r.body, expected_text);
		http_reply_free(&r);
	}
	/* Another user with that password is still refused. */
	cr_assert_eq(http_get_from(NULL, port, "/metrics",
				   "Authorization: Basic b3RoZXI6Y29ycmVjdCBob3JzZQ==", &r),
		     0);
	cr_assert_eq(r.status, 401);
	http_reply_free(&r);
	/* /healthz tells nothing: no password needed. */
	cr_assert_eq(http_get_from(NULL, port, "/healthz", NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	http_reply_free(&r);
	prom_server__refused(srv, &forbidden, &unauthorized);
	cr_assert_eq(forbidden, 0);
	cr_assert_eq(unauthorized, 3);
	prom_server__free(srv);

	/* Readable by other users: refused, with the fix in the message. */
	o.auth_file = auth_file(0644);
	err = capture_stderr(try_start, &o, &ret);
	cr_assert_eq(ret, -EACCES);
	cr_assert_geq(asprintf(&want,
			       "sonde: cannot use --listen-auth %s: other users may read or change "
			       "it (mode 0644); chmod 600 %s\n",
			       o.auth_file, o.auth_file),
		      0);
	cr_assert_str_eq(err, want);
	free(want);
	free(err);
	o.auth_file = "/nonexistent/auth";
	cr_assert_eq(capture_stderr_ret(try_start, &o), -ENOENT);
	metrics__free(o.metrics);
}

/* ---- real consumers */

/* What sonde trace will publish, per the exporter's usage comment. */
static struct metrics *trace_like_registry(void)
{
	static const double secs[] = {1e-06, 1e-05, 0.0001, 0.001, 0.01, 0.1, 1};
	struct metrics *m = metrics__new(0);
	struct metric_label fn[] = {{"function", "malloc"}, {"binary", "/usr/lib/libc.so.6"}};
	struct metric_label ex[] = {{"exporter", "statsd"}};
	const uint64_t counts[] = {0, 900, 90, 9, 1, 0, 0, 0};

	metrics__declare(m, "sonde_function_duration_seconds", METRIC_HISTOGRAM,
			 "Time from function entry to return.", secs, 7);
	metrics__declare(m, "sonde_function_calls_total", METRIC_COUNTER,
			 "Calls of traced functions.", NULL, 0);
	metrics__declare(m, "sonde_events_total", METRIC_COUNTER,
			 "Events read from the ring buffer.", NULL, 0);
	metrics__declare(m, "sonde_events_dropped_total", METRIC_COUNTER,
			 "Events lost because the ring buffer was full.", NULL, 0);
	metrics__declare(m, "sonde_export_errors_total", METRIC_COUNTER,
			 "Failed exports by exporter.", NULL, 0);
	metrics__histogram_set(m, "sonde_function_duration_seconds", fn, 2, counts, 1000, 0.0123);
	metrics__counter_set(m, "sonde_function_calls_total", fn, 2, 1000);
	metrics__counter_set(m, "sonde_events_total", NULL, 0, 1000);
	metrics__counter_set(m, "sonde_events_dropped_total", NULL, 0, 0);
	metrics__counter_set(m, "sonde_export_errors_total", ex, 1, 2);
	{
		struct procstat ps;

		cr_assert_eq(procstat_read(getpid(), &ps), 0);
		cr_assert_eq(procstat_publish(m, getpid(), "test_export_pro", &ps), 0);
	}
	cr_assert_eq(procstat_publish_self(m), 0);
	return m;
}

Test(export_prom, promtool_check_metrics_passes)
{
	struct metrics *m, *m2;
	char *text, *out = NULL, *err = NULL;
	int rc;

	require_path("/usr/bin/promtool", X_OK, "promtool");
	m = trace_like_registry();
	text = render(m);
	rc = promtool_check(text, &out);
	cr_assert_eq(rc, 0, "promtool failed (%d):\n%s\n--- input:\n%s", rc, out, text);
	cr_assert_str_eq(out, "", "promtool lint: %s", out);
	free(text);
	free(out);
	free(err);
	metrics__free(m);

	/* The exact sample too (its gauge has no unit suffix to lint). */
	m2 = sample_registry();
	text = render(m2);
	out = err = NULL;
	rc = promtool_check(text, &out);
	cr_assert_eq(rc, 0, "promtool failed (%d):\n%s", rc, out);
	free(text);
	free(out);
	free(err);
	metrics__free(m2);
}

/* sonde's own process_* come after the registry's, each family once; promtool lints it clean. */
Test(export_prom, self_metrics_are_served_once_and_lint_clean)
{
	struct prom_server_opts o = {.listen = "127.0.0.1:0"};
	struct prom_server *srv = NULL;
	struct http_reply r;
	char *lint = NULL;

	o.metrics = trace_like_registry();
	o.self = metrics__new(8);
	cr_assert_eq(procstat_publish_self(o.self), 0);
	cr_assert_eq(prom_server__start(&o, &srv), 0);
	cr_assert_eq(http_request(AF_INET, prom_server__port(srv), "GET", "/metrics", &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(count_of(r.body, "# TYPE sonde_metrics_series_dropped_total counter\n"), 1);
	cr_assert_eq(count_of(r.body, "# TYPE process_cpu_seconds_total counter\n"), 1);
	cr_assert_eq(count_of(r.body, "\nprocess_resident_memory_bytes "), 1, "%s", r.body);
	cr_assert_eq(count_of(r.body, "\nsonde_build_info{libbpf=\""), 1, "%s", r.body);
	cr_assert_eq(promtool_check(r.body, &lint), 0, "%s", lint);
	cr_assert_str_eq(lint, "", "%s", lint);
	free(lint);
	http_reply_free(&r);
	prom_server__free(srv);
	metrics__free(o.metrics);
	metrics__free(o.self);
}

TestSuite(export_prom_real, .fini = prometheus_stop, .timeout = 100);

Test(export_prom_real, prometheus_scrapes_exact_values)
{
	struct metrics *m;
	struct prom_server *srv = NULL;
	unsigned int api_port;
	char *v;

	require_path(PROMETHEUS_BIN, X_OK, "Debian's prometheus");
	m = sample_registry();
	cr_assert_eq(prom_server__new("127.0.0.1:0", m, &srv), 0);
	api_port = prometheus_start(prom_server__port(srv));

	v = prometheus_wait_query(api_port, "up%7Bjob%3D%22sonde%22%7D", "1");
	cr_assert_str_eq(v ? v : "(no answer)", "1",
			 "Prometheus never scraped us; see %s/prometheus.log", prometheus_dir());
	free(v);
	v = prometheus_query(api_port, "sonde_test_calls_total%7Bfunction%3D%22%22%7D");
	cr_assert_str_eq(v ? v : "(none)", "42");
	free(v);
	v = prometheus_query(api_port, "sonde_test_calls_total%7Bfunction%3D%22main%22%7D");
	cr_assert_str_eq(v ? v : "(none)", "0.5");
	free(v);
	v = prometheus_query(api_port, "sonde_test_latency_seconds_count");
	cr_assert_str_eq(v ? v : "(none)", "1000");
	free(v);
	v = prometheus_query(api_port, "sonde_test_latency_seconds_bucket%7Ble%3D%220.01%22%7D");
	cr_assert_str_eq(v ? v : "(none)", "700");
	free(v);
	v = prometheus_query(api_port, "sonde_test_latency_seconds_sum");
	cr_assert_str_eq(v ? v : "(none)", "12.5");
	free(v);
	/* The escaped label value comes back as we set it. */
	v = prometheus_query(
		api_port,
		"sonde_test_open_files%7Bpath%3D%22C%3A%5C%5Cdir%20%5C%22x%5C%22%5Cnnext%22%7D");
	cr_assert_str_eq(v ? v : "(none)", "-3.25");
	free(v);

	/* A change reaches Prometheus on a later scrape. */
	metrics__counter_set(m, "sonde_test_calls_total", NULL, 0, 100);
	v = prometheus_wait_query(api_port, "sonde_test_calls_total%7Bfunction%3D%22%22%7D", "100");
	cr_assert_str_eq(v ? v : "(none)", "100");
	free(v);

	prometheus_stop();
	prom_server__free(srv);
	metrics__free(m);
}
