// SPDX-License-Identifier: MIT
/*
 * sonde trace's exporters end to end, under root with BPF, against the
 * trace_nest fixture (outer -> 2x inner(2 ms)) and real consumers on
 * loopback: a Prometheus server scrapes --listen and its query API
 * returns the exact call counts; an OTLP/HTTP receiver (tests/http_rx.c)
 * captures --otlp-endpoint's requests, decoded by OpenTelemetry JS
 * (tests/otlp_decode.js) and protoc with OTel's .proto files; a UDP
 * socket receives --statsd's lines. Then the failure cases: endpoints
 * closed for 30 s (bounded memory, one report per interval, exact local
 * outputs), SIGTERM with a final flush, and a receiver too slow to wait
 * for.
 */
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "http_rx.h"
#include "prometheus.h"
#include "statsd_server.h"

extern char **environ;

static const char *func_spec(const char *fn)
{
	static char buf[2][512];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s:%s", fixture_path("trace_nest"), fn);
	return buf[i];
}

static int exit_status(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* "NAME (...)\n    calls N" from the summary on stdout. */
static unsigned long calls_of(const char *out, const char *name)
{
	char head[128];
	const char *p;
	unsigned long calls;

	snprintf(head, sizeof(head), "%s (", name);
	p = strstr(out, head);
	cr_assert(p, "no summary for %s in:\n%s", name, out);
	p = strstr(p, "    calls ");
	cr_assert(p);
	cr_assert_eq(sscanf(p, "    calls %lu", &calls), 1);
	return calls;
}

static unsigned int rx_spans(struct rx *r)
{
	unsigned int n = 0;

	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->req[i].path, "/v1/traces"))
			n += spans_in(&r->req[i]);
	return n;
}

static unsigned long lines_in(const char *path)
{
	char *text = read_file(path, NULL);
	unsigned long n = 0;

	cr_assert_not_null(text, "no file %s", path);
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* ---- OTLP: the span tree arrives whole ----------------------------------- */

#define MAX_SPANS 1024

struct ospan {
	char trace[33], id[17], parent[17], name[16];
};

/* A "point" line of metric @name in otlp_decode.js output holding @a and @b. */
static bool point_has(const char *text, const char *name, const char *a, const char *b)
{
	char head[128];
	const char *p, *end;

	snprintf(head, sizeof(head), "metric %s ", name);
	p = strstr(text, head);
	if (!p)
		return false;
	p = strchr(p, '\n');
	while (p && !strncmp(p + 1, "point ", 6)) {
		char line[4096];

		end = strchr(p + 1, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(end ? end - p - 1 : (long)strlen(p + 1)),
			 p + 1);
		if (strstr(line, a) && strstr(line, b))
			return true;
		p = end;
	}
	return false;
}

Test(trace_export, otlp_span_tree_and_metrics)
{
	enum { N = 40 };
	static struct ospan sp[MAX_SPANS];
	struct rx r = {0};
	char *out, *err, *text, *save = NULL, *metrics_text = NULL;
	size_t n = 0;
	unsigned long outer = 0, inner = 0;
	int rc, traces_reqs = 0;

	require_bpf();
	rx_start(&r);
	unsetenv("OTEL_SERVICE_NAME");
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--otlp-endpoint",
			(char *)rx_url(&r),
			"-f",
			(char *)func_spec("outer"),
			"-f",
			(char *)func_spec("inner"),
			"--",
			(char *)fixture_path("trace_nest"),
			"40",
			NULL};

	rc = run_cmd(argv, &out, &err);
	rx_stop(&r);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	cr_assert_eq(calls_of(out, "outer"), N);
	for (int i = 0; i < r.n; i++) {
		if (!strcmp(r.req[i].path, "/v1/metrics")) {
			/* Cumulative: the last export holds the final values. */
			free(metrics_text);
			metrics_text = node_decode(&r.req[i], "metrics");
			continue;
		}
		cr_assert_str_eq(r.req[i].path, "/v1/traces");
		traces_reqs++;
		text = node_decode(&r.req[i], "traces");
		cr_assert(strstr(text, "resource service.name=trace_nest\n"), "%s", text);
		cr_assert(strstr(text, "resource process.executable.name=trace_nest\n"), "%s",
			  text);
		cr_assert(strstr(text, "resource process.pid="), "%s", text);
		cr_assert(strstr(text, "resource host.name="), "%s", text);
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			struct ospan *s = &sp[n];

			if (strncmp(l, "span ", 5))
				continue;
			cr_assert_lt(n, MAX_SPANS);
			cr_assert_eq(sscanf(l, "span %32s %16s %16s %15s", s->trace, s->id,
					    s->parent, s->name),
				     4, "%s", l);
			n++;
		}
		free(text);
	}
	cr_assert_geq(traces_reqs, 1);
	/* Exactly N outer roots and 2N inner children of an outer of their trace. */
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(sp[i].name, "outer")) {
			outer++;
			cr_assert_str_eq(sp[i].parent, "-", "outer span with a parent");
			continue;
		}
		cr_assert_str_eq(sp[i].name, "inner");
		inner++;
		bool found = false;

		for (size_t j = 0; j < n && !found; j++) {
			if (strcmp(sp[j].id, sp[i].parent))
				continue;
			found = true;
			cr_assert_str_eq(sp[j].name, "outer");
			cr_assert_str_eq(sp[j].trace, sp[i].trace, "child in another trace");
		}
		cr_assert(found, "inner span %s has no parent span", sp[i].id);
	}
	cr_assert_eq(outer, N);
	cr_assert_eq(inner, 2 * N);
	cr_assert_eq(n, 3 * N);

	/* The published schema reads it too. */
	for (int i = 0; i < r.n; i++) {
		if (strcmp(r.req[i].path, "/v1/traces"))
			continue;
		text = protoc_decode(
			&r.req[i],
			"opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
			"opentelemetry/proto/collector/trace/v1/trace_service.proto");
		cr_assert(strstr(text, "name: \"outer\""), "%s", text);
		free(text);
		break;
	}

	/* The final metrics export: exact calls and histogram counts. */
	cr_assert_not_null(metrics_text, "no /v1/metrics request");
	cr_assert(point_has(metrics_text, "sonde_function_calls_total", " function=outer ",
			    " value=40"),
		  "%s", metrics_text);
	cr_assert(point_has(metrics_text, "sonde_function_calls_total", " function=inner ",
			    " value=80"),
		  "%s", metrics_text);
	cr_assert(point_has(metrics_text, "sonde_function_duration_seconds", " function=inner ",
			    " count=80 "),
		  "%s", metrics_text);
	free(metrics_text);
	rx_free(&r);
	free(out);
	free(err);
}

/* trace -p P1,P2: every span under the Resource of the process that made it. */
Test(trace_export, otlp_one_resource_per_process)
{
	enum { N = 20 };
	char *fargv[] = {(char *)fixture_path("trace_nest"), "20", "--wait-probe", NULL};
	char pids[64], *out, *err, *save = NULL;
	unsigned long spans[2] = {0, 0};
	struct rx r = {0};
	pid_t p[2];
	int rc, st;

	require_bpf();
	for (int i = 0; i < 2; i++)
		cr_assert_eq(posix_spawn(&p[i], fargv[0], NULL, NULL, fargv, environ), 0);
	snprintf(pids, sizeof(pids), "%d,%d", p[0], p[1]);
	rx_start(&r);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-p",
			pids,
			"--otlp-endpoint",
			(char *)rx_url(&r),
			"-f",
			"trace_nest:outer",
			"-f",
			"trace_nest:inner",
			"-d",
			"60",
			NULL};

	rc = run_cmd(argv, &out, &err);
	for (int i = 0; i < 2; i++)
		waitpid(p[i], &st, 0);
	rx_stop(&r);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	for (int i = 0; i < r.n; i++) {
		char *text, *l;
		long cur = -1;

		if (strcmp(r.req[i].path, "/v1/traces"))
			continue;
		text = node_decode(&r.req[i], "traces");
		for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			const char *tid = strstr(l, " thread.id=");

			if (!strncmp(l, "resource process.pid=", 21)) {
				cur = atol(l + 21);
				cr_assert(cur == p[0] || cur == p[1], "a Resource of pid %ld", cur);
				continue;
			}
			if (strncmp(l, "span ", 5))
				continue;
			/* Single-threaded fixtures: the thread id is the pid. */
			cr_assert(tid && atol(tid + 11) == cur, "span of another process under %ld: %s",
				  cur, l);
			spans[cur == p[1]]++;
		}
		free(text);
	}
	cr_assert_eq(spans[0], 3 * N, "%s", err);
	cr_assert_eq(spans[1], 3 * N, "%s", err);
	rx_free(&r);
	free(out);
	free(err);
}

/* ---- StatsD: exact counts over UDP ---------------------------------------- */

/* Sum of the DELTAs of "NAME:DELTA|c|#...TAG..." lines in @pkts. */
static unsigned long statsd_sum(char *pkts, const char *name, const char *tag)
{
	unsigned long sum = 0;
	char *save = NULL, *buf = strdup(pkts);

	cr_assert_not_null(buf);
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t nl = strlen(name);
		char *tags = strstr(l, "|#");

		if (strncmp(l, name, nl) || l[nl] != ':' || !tags || !strstr(l, "|c|"))
			continue;
		if (!strstr(tags, tag))
			continue;
		sum += strtoul(l + nl + 1, NULL, 10);
	}
	free(buf);
	return sum;
}

Test(trace_export, statsd_exact_counts)
{
	char *out, *err, *all;
	size_t cap = 1 << 20, len = 0;
	char hostport[64];
	int port, fd, rc, sz = 1 << 20;
	struct pollfd pfd;

	require_bpf();
	fd = loopback_socket(SOCK_DGRAM, &port);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--statsd",
			hostport,
			"--export-interval",
			"0.2",
			"-f",
			(char *)func_spec("outer"),
			"-f",
			(char *)func_spec("inner"),
			"--",
			(char *)fixture_path("trace_nest"),
			"30",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	all = malloc(cap);
	cr_assert_not_null(all);
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	while (poll(&pfd, 1, 200) > 0 && len + 4096 < cap) {
		ssize_t got = recv(fd, all + len, 4095, 0);

		cr_assert_geq(got, 0);
		len += got;
		all[len++] = '\n';
	}
	all[len] = '\0';
	close(fd);
	/* Deltas over several flushes add up to the exact totals. */
	cr_assert_eq(statsd_sum(all, "sonde_function_calls_total", "function:outer"), 30, "%s",
		     all);
	cr_assert_eq(statsd_sum(all, "sonde_function_calls_total", "function:inner"), 60, "%s",
		     all);
	cr_assert_eq(statsd_sum(all, "sonde_function_duration_seconds.count", "function:inner"), 60,
		     "%s", all);
	cr_assert_eq(statsd_sum(all, "sonde_events_total", "kind:call"), 90, "%s", all);
	/* The targets' process metrics have names of their own. */
	cr_assert(strstr(all, "sonde_target_resident_memory_bytes:"), "%s", all);
	cr_assert(strstr(all, "sonde_target_context_switches_total:"), "%s", all);
	cr_assert_null(strstr(all, "process_resident_memory_bytes"), "%s", all);
	free(all);
	free(out);
	free(err);
}

/* ---- StatsD: Etsy's statsd computes the same count and p90 ----------------- */

/* "p90 2.163 ms" of @name's summary, in ms. */
static double p90_of(const char *out, const char *name)
{
	char head[128], unit[8];
	const char *p;
	double v;

	snprintf(head, sizeof(head), "%s (", name);
	p = strstr(out, head);
	cr_assert(p, "no summary for %s in:\n%s", name, out);
	p = strstr(p, "  p90 ");
	cr_assert(p);
	cr_assert_eq(sscanf(p, "  p90 %lf %7s", &v, unit), 2);
	if (!strcmp(unit, "ns"))
		return v / 1e6;
	if (!strcmp(unit, "us"))
		return v / 1e3;
	return !strcmp(unit, "s") ? v * 1e3 : v;
}

TestSuite(trace_export_statsd, .fini = statsd_server_stop, .timeout = 120);

Test(trace_export_statsd, etsy_statsd_timings_match_the_summary)
{
	char hostport[64], dump[512], key[1024], *out, *err, *k;
	unsigned int port = closed_port(SOCK_DGRAM), mport = closed_port(SOCK_STREAM);
	double count, p90, want, lo;
	int rc;

	require_bpf();
	snprintf(dump, sizeof(dump), "%s/etsy-%d.jsonl", test_tmpdir(), getpid());
	unlink(dump);
	statsd_server_start(port, mport, 500, dump);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%u", port);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--statsd",
			hostport,
			"--export-interval",
			"3600",
			"-f",
			(char *)func_spec("inner"),
			"--",
			(char *)fixture_path("trace_nest"),
			"30",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	/* Etsy's key: tags as ";k=v", '/' as '-', other odd characters dropped. */
	k = key + snprintf(key, sizeof(key), "sonde_function_duration;binary=");
	for (const char *s = fixture_path("trace_nest"); *s; s++)
		if (*s == '/' || *s == '_' || *s == '-' || *s == '.' ||
		    (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))
			*k++ = *s == '/' ? '-' : *s;
	strcpy(k, ";function=inner");
	count = statsd_timer(dump, key, "count");
	p90 = statsd_timer(dump, key, "upper_90");
	want = p90_of(out, "inner");
	for (lo = 256e-6; lo * 2 <= want; lo *= 2)
		;
	fprintf(stderr, "test: Etsy statsd count %.6f p90 %.4f ms; sonde 60, p90 %.4f ms\n", count,
		p90, want);
	cr_assert_eq(calls_of(out, "inner"), 60);
	cr_assert(fabs(count - 60) < 1e-6, "count %.9f for %s", count, key);
	/* Within the width of the log2 bucket holding sonde's p90. */
	cr_assert(fabs(p90 - want) <= lo, "p90 %.4f ms vs sonde's %.4f ms", p90, want);
	free(out);
	free(err);
	statsd_server_stop();
}

/* ---- Prometheus: a real server scrapes us ---------------------------------- */

static pid_t sonde_pid = -1;

static void stop_children(void)
{
	if (sonde_pid > 0) {
		kill(sonde_pid, SIGKILL);
		waitpid(sonde_pid, NULL, 0);
		sonde_pid = -1;
	}
	prometheus_stop();
}

#define EXPECT_QUERY(api, q, want)                                                               \
	do {                                                                                     \
		char *v_ = prometheus_wait_query(api, q, want);                                  \
		cr_assert_str_eq(v_ ? v_ : "(none)", want, "query %s; see %s/prometheus.log", q, \
				 prometheus_dir());                                              \
		free(v_);                                                                        \
	} while (0)

TestSuite(trace_export_prom, .fini = stop_children, .timeout = 180);

Test(trace_export_prom, prometheus_scrapes_exact_call_counts)
{
	char listen[64], outp[512], errp[512];
	unsigned int api;
	int port, rc;
	char *err;
	double t0;

	require_bpf();
	require_path(PROMETHEUS_BIN, X_OK, "Debian's prometheus");
	port = closed_port(SOCK_STREAM);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(outp, sizeof(outp), "%s/prom.out", test_tmpdir());
	snprintf(errp, sizeof(errp), "%s/prom.err", test_tmpdir());
	/* The fixture idles after its calls, so sonde stays up to be scraped. */
	setenv("TRACE_NEST_LINGER_MS", "120000", 1);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--listen",
			listen,
			"-f",
			(char *)func_spec("outer"),
			"-f",
			(char *)func_spec("inner"),
			"--",
			(char *)fixture_path("trace_nest"),
			"25",
			NULL};
	sonde_pid = spawn(argv, outp, errp);
	unsetenv("TRACE_NEST_LINGER_MS");
	api = prometheus_start(port);

	EXPECT_QUERY(api, "up%7Bjob%3D%22sonde%22%7D", "1");
	EXPECT_QUERY(api, "sonde_function_calls_total%7Bfunction%3D%22outer%22%7D", "25");
	EXPECT_QUERY(api, "sonde_function_calls_total%7Bfunction%3D%22inner%22%7D", "50");
	EXPECT_QUERY(api, "sonde_function_duration_seconds_count%7Bfunction%3D%22inner%22%7D",
		     "50");
	/* inner sleeps 2 ms: nothing below 2^20 ns, all below +Inf. */
	EXPECT_QUERY(api,
		     "sonde_function_duration_seconds_bucket%7Bfunction%3D%22inner%22%2C"
		     "le%3D%220.001048576%22%7D",
		     "0");
	EXPECT_QUERY(api,
		     "sonde_function_duration_seconds_bucket%7Bfunction%3D%22inner%22%2C"
		     "le%3D%22%2BInf%22%7D",
		     "50");
	EXPECT_QUERY(api, "sonde_events_total%7Bkind%3D%22call%22%7D", "75");
	EXPECT_QUERY(api, "count(sonde_target_resident_memory_bytes%7Bcomm%3D%22trace_nest%22%7D)",
		     "1");
	EXPECT_QUERY(api,
		     "count(sonde_target_context_switches_total%7Bcomm%3D%22trace_nest%22%2C"
		     "kind%3D%22voluntary%22%7D%20%3E%2040)",
		     "1");
	EXPECT_QUERY(api, "count(sonde_target_cpu_seconds_total%7Bcomm%3D%22trace_nest%22%7D)", "2");
	/* sonde's own, as client libraries name them: no pid or comm label. */
	EXPECT_QUERY(api, "count(process_resident_memory_bytes)", "1");
	EXPECT_QUERY(api, "count(process_start_time_seconds%20%3E%201.6e9)", "1");
	EXPECT_QUERY(api, "sonde_build_info%7Bversion%3D%22" SONDE_VERSION "%22%7D", "1");
	/* And promtool lints the live page clean. */
	{
		struct http_reply hr;
		char *lint = NULL;

		cr_assert_eq(http_request(AF_INET, (unsigned int)port, "GET", "/metrics", &hr), 0);
		cr_assert_eq(promtool_check(hr.body, &lint), 0, "%s", lint);
		cr_assert_str_eq(lint, "", "promtool lint of /metrics:\n%s", lint);
		free(lint);
		http_reply_free(&hr);
	}
	EXPECT_QUERY(api, "sonde_events_dropped_total%7Breason%3D%22ring_full%22%7D", "0");

	/* SIGTERM: a clean exit with the summary. */
	t0 = now_s();
	kill(sonde_pid, SIGTERM);
	rc = exit_status(sonde_pid);
	sonde_pid = -1;
	err = read_file(errp, NULL);
	cr_assert_eq(rc, 0, "sonde exited %d: %s", rc, err);
	cr_assert_lt(now_s() - t0, 3.0);
	free(err);
	err = read_file(outp, NULL);
	cr_assert_eq(calls_of(err, "outer"), 25);
	free(err);
}

/* ---- failures: endpoints down, SIGTERM, a slow collector ------------------ */

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

Test(trace_export, endpoints_down_30s_bounded_and_nothing_lost, .timeout = 240)
{
	enum { ITERS = 7300, INTERVAL = 5 };
	char url[64], statsd[64], outp[512], errp[512], spans[512];
	long rss, warm = -1, peak = 0;
	double t0, elapsed;
	char *out, *err;
	int rc, lines, ticks;
	pid_t pid;

	require_bpf();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port(SOCK_STREAM));
	snprintf(statsd, sizeof(statsd), "127.0.0.1:%d", closed_port(SOCK_DGRAM));
	snprintf(outp, sizeof(outp), "%s/down.out", test_tmpdir());
	snprintf(errp, sizeof(errp), "%s/down.err", test_tmpdir());
	snprintf(spans, sizeof(spans), "%s/down.jsonl", test_tmpdir());
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--otlp-endpoint",
			url,
			"--statsd",
			statsd,
			"--export-interval",
			"5",
			"--flush-timeout",
			"1",
			"--spans",
			spans,
			"-f",
			(char *)func_spec("outer"),
			"-f",
			(char *)func_spec("inner"),
			"--",
			(char *)fixture_path("trace_nest"),
			"7300",
			NULL};

	t0 = now_s();
	pid = spawn(argv, outp, errp);
	/* RSS once a second; the first 5 s are warm-up (queues, libcurl, BPF). */
	while (waitpid(pid, &rc, WNOHANG) == 0) {
		usleep(1000000);
		rss = rss_kib(pid);
		if (rss < 0)
			continue;
		if (warm < 0 && now_s() - t0 >= 5)
			warm = rss;
		if (warm >= 0 && rss > peak)
			peak = rss;
	}
	elapsed = now_s() - t0;
	rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
	out = read_file(outp, NULL);
	err = read_file(errp, NULL);
	cr_assert_eq(rc, 0, "sonde exited %d: %s", rc, err);
	cr_assert_geq(elapsed, 25, "the run took %.1f s only", elapsed);
	fprintf(stderr, "test: %.1f s run, RSS %ld KiB after warm-up, peak %ld KiB (+%ld KiB)\n",
		elapsed, warm, peak, peak - warm);
	cr_assert_geq(warm, 0);
	cr_assert_lt(peak - warm, SANITIZED ? 64 * 1024 : 10 * 1024, "RSS grew from %ld to %ld KiB",
		     warm, peak);

	/* The local outputs have every call. */
	cr_assert_eq(calls_of(out, "outer"), ITERS);
	cr_assert_eq(calls_of(out, "inner"), 2 * ITERS);
	cr_assert_eq(lines_in(spans), 3 * ITERS);
	/* Written to the file, never delivered over OTLP: one count, the same everywhere. */
	cr_assert(strstr(err, "21900 timed, 21900 spans written, 21900 spans lost (0 ring buffer "
			      "full, 0 queue full, 21900 by OTLP), "),
		  "%s", err);
	cr_assert(strstr(err, "trace: otlp: 21900 of 21900 spans lost ("), "%s", err);

	/* One report per interval: both exporters fail in each one. */
	lines = count_of(err, "trace: exporters failing in the last --export-interval");
	ticks = (int)((elapsed - 1) / INTERVAL); /* the run ends ~1 s (flush) before exit */
	cr_assert(lines >= ticks - 1 && lines <= ticks + 1, "%d reports in %.1f s:\n%s", lines,
		  elapsed, err);
	cr_assert_leq(count_of(err, "trace: exporters failing since the last report"), 1, "%s",
		      err);
	cr_assert(strstr(err, "; statsd 127.0.0.1:"), "%s", err);
	/* The exporter's own lines: its first failure (with the reason), its last words. */
	cr_assert_leq(count_of(err, "otlp: failed to export"), 4, "%s", err);
	cr_assert_leq(count_of(err, "otlp: failed to queue"), 1, "%s", err);
	cr_assert(strstr(err, "Connection refused"), "%s", err);
	free(out);
	free(err);
}

Test(trace_export, sigterm_flushes_within_deadline)
{
	enum { DEADLINE = 3 };
	char outp[512], errp[512], spans[512];
	unsigned long written;
	struct rx r = {0};
	double t0, dt;
	char *err;
	int rc;
	pid_t pid;

	require_bpf();
	rx_start(&r);
	snprintf(outp, sizeof(outp), "%s/term.out", test_tmpdir());
	snprintf(errp, sizeof(errp), "%s/term.err", test_tmpdir());
	snprintf(spans, sizeof(spans), "%s/term.jsonl", test_tmpdir());
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--otlp-endpoint",
			(char *)rx_url(&r),
			"--flush-timeout",
			"3",
			"--spans",
			spans,
			"-f",
			(char *)func_spec("outer"),
			"-f",
			(char *)func_spec("inner"),
			"--",
			(char *)fixture_path("trace_nest"),
			"5000",
			NULL};

	pid = spawn(argv, outp, errp);
	usleep(2500000);
	t0 = now_s();
	kill(pid, SIGTERM);
	rc = exit_status(pid);
	dt = now_s() - t0;
	rx_stop(&r);
	err = read_file(errp, NULL);
	cr_assert_eq(rc, 0, "sonde exited %d: %s", rc, err);
	cr_assert_lt(dt, DEADLINE + 1.0, "exit took %.2f s", dt);
	/* Every span produced before the signal reached the collector. */
	written = lines_in(spans);
	fprintf(stderr, "test: exit %.2f s after SIGTERM, %lu spans delivered\n", dt, written);
	cr_assert_gt(written, 300);
	cr_assert_eq(rx_spans(&r), written, "%s", err);
	rx_free(&r);
	free(err);
}

/* A collector answering after 5 s must not hold sonde past its deadline. */
Test(trace_export, slow_collector_does_not_delay_exit_json_logs)
{
	char outp[512], errp[512], spans[512];
	char *out, *err, *text, *save = NULL;
	struct rx r = {.delay_ms = 5000};
	double t0, dt;
	int rc, nlines = 0;
	pid_t pid;

	require_bpf();
	rx_start(&r);
	snprintf(outp, sizeof(outp), "%s/slow.out", test_tmpdir());
	snprintf(errp, sizeof(errp), "%s/slow.err", test_tmpdir());
	snprintf(spans, sizeof(spans), "%s/slow.jsonl", test_tmpdir());
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--log-format",
			"json",
			"--otlp-endpoint",
			(char *)rx_url(&r),
			"--flush-timeout",
			"2",
			"--spans",
			spans,
			"-f",
			(char *)func_spec("outer"),
			"-f",
			(char *)func_spec("inner"),
			"--",
			(char *)fixture_path("trace_nest"),
			"100",
			NULL};

	t0 = now_s();
	pid = spawn(argv, outp, errp);
	rc = exit_status(pid);
	dt = now_s() - t0;
	rx_stop(&r);
	out = read_file(outp, NULL);
	err = read_file(errp, NULL);
	cr_assert_eq(rc, 0, "sonde exited %d: %s", rc, err);
	fprintf(stderr, "test: run with a 5 s/request collector took %.2f s\n", dt);
	/* Under 1 s to load and run 100 calls, then the 2 s deadline, plus 1 s. */
	cr_assert_lt(dt, 1.0 + 2 + 1.0, "exit took %.2f s:\n%s", dt, err);
	cr_assert_eq(calls_of(out, "outer"), 100);
	cr_assert_eq(calls_of(out, "inner"), 200);
	cr_assert_eq(lines_in(spans), 300);
	/* Each --spans line an ExportTraceServiceRequest OpenTelemetry's decoder reads. */
	text = node_decode_file(spans, "traces-json");
	cr_assert_eq(count_of(text, "\nspan "), 300, "%s", text);
	cr_assert_eq(count_of(text, "resource service.name=trace_nest\n"), 300, "%s", text);
	cr_assert_eq(count_of(text, "resource process.executable.name=trace_nest\n"), 300);
	cr_assert_eq(count_of(text, " code.function.name=inner"), 200, "%s", text);
	cr_assert_eq(count_of(text, "code.file.path="), 300, "no source file:\n%s", text);
	free(text);

	/* Every log line is one OTLP/JSON LogRecord. */
	text = strdup(err);
	cr_assert_not_null(text);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		nlines++;
		cr_assert(!strncmp(l, "{\"timeUnixNano\":\"", 17), "not JSON: %s", l);
		cr_assert_eq(l[strlen(l) - 1], '}', "not JSON: %s", l);
		cr_assert(strstr(l, ",\"body\":{\"stringValue\":\""), "%s", l);
	}
	free(text);
	cr_assert_geq(nlines, 2);
	/* The closing line's figures are attributes too, not only prose. */
	cr_assert(strstr(err, "\"severityNumber\":9,\"severityText\":\"INFO\",\"body\":{"
			      "\"stringValue\":\"2 functions, 300 calls, 300 timed, 300 spans "
			      "written, 300 spans lost (0 ring buffer full, 0 queue full, 300 by "
			      "OTLP), 0 threads tracked (0 mid-call)\"},\"attributes\":["
			      "{\"key\":\"sonde.functions\",\"value\":{\"intValue\":\"2\"}},"
			      "{\"key\":\"sonde.calls\",\"value\":{\"intValue\":\"300\"}},"
			      "{\"key\":\"sonde.calls.timed\",\"value\":{\"intValue\":\"300\"}},"
			      "{\"key\":\"sonde.spans.written\",\"value\":{\"intValue\":\"300\"}},"
			      "{\"key\":\"sonde.spans.lost\",\"value\":{\"intValue\":\"300\"}},"
			      "{\"key\":\"sonde.spans.lost.ring_full\",\"value\":{\"intValue\":\"0\"}},"
			      "{\"key\":\"sonde.spans.lost.queue_full\",\"value\":{\"intValue\":\"0\"}},"
			      "{\"key\":\"sonde.spans.lost.otlp\",\"value\":{\"intValue\":\"300\"}},"
			      "{\"key\":\"sonde.threads.tracked\",\"value\":{\"intValue\":\"0\"}},"
			      "{\"key\":\"sonde.threads.mid_call\",\"value\":{\"intValue\":\"0\"}}]}\n"),
		  "%s", err);
	cr_assert(strstr(err, "{\"key\":\"sonde.target.threads\",\"value\":{\"intValue\":\"1\"}}"),
		  "%s", err);
	cr_assert(strstr(err, "\"severityNumber\":13,\"severityText\":\"WARN\",\"body\":{"
			      "\"stringValue\":\"trace: otlp: failed to deliver everything "
			      "within --flush-timeout 2 s"),
		  "%s", err);
	cr_assert(strstr(err, "\"attributes\":[{\"key\":\"sonde.subsystem\",\"value\":{"
			      "\"stringValue\":\"trace\"}}]}\n"),
		  "%s", err);
	rx_free(&r);
	free(out);
	free(err);
}

/* --flush-timeout 600 against a hung collector: a second SIGTERM ends the flush at once. */
Test(trace_export, second_signal_cuts_a_hung_flush_short)
{
	char outp[512], errp[512];
	struct rx r = {.delay_ms = 600000};
	double t0, dt;
	char *err;
	int rc;
	pid_t pid;

	require_bpf();
	rx_start(&r);
	snprintf(outp, sizeof(outp), "%s/hung.out", test_tmpdir());
	snprintf(errp, sizeof(errp), "%s/hung.err", test_tmpdir());
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"--otlp-endpoint",
			(char *)rx_url(&r),
			"--flush-timeout",
			"600",
			"-f",
			(char *)func_spec("outer"),
			"-f",
			(char *)func_spec("inner"),
			"--",
			(char *)fixture_path("trace_nest"),
			"5000",
			NULL};

	pid = spawn(argv, outp, errp);
	usleep(2500000);
	kill(pid, SIGTERM);
	/* The first signal ends the run; the flush then waits on the collector. */
	usleep(1500000);
	cr_assert_eq(waitpid(pid, &rc, WNOHANG), 0, "sonde did not wait for its flush");
	t0 = now_s();
	kill(pid, SIGTERM);
	for (dt = 0; waitpid(pid, &rc, WNOHANG) == 0 && dt < 5; dt = now_s() - t0)
		usleep(10000);
	if (dt >= 5) {
		kill(pid, SIGKILL);
		waitpid(pid, &rc, 0);
	}
	rx_stop(&r);
	err = read_file(errp, NULL);
	cr_assert_lt(dt, 1.0, "exit took %.2f s after the second SIGTERM:\n%s", dt, err);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "sonde ended with %#x: %s", rc, err);
	fprintf(stderr, "test: exit %.2f s after the second SIGTERM\n", dt);
	cr_assert(strstr(err, "trace: otlp: flush to "), "%s", err);
	cr_assert(strstr(err, "/v1/traces cut short by a second signal: "), "%s", err);
	rx_free(&r);
	free(err);
}
