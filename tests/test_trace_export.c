// SPDX-License-Identifier: MIT
/*
 * sonde trace's exporters end to end, under root with BPF, against the
 * trace_nest fixture (outer -> 2x inner(2 ms)) and real consumers on
 * loopback: a Prometheus server scrapes --listen and its query API
 * returns the exact call counts; an OTLP/HTTP receiver in this file
 * captures --otlp-endpoint's requests, decoded by OpenTelemetry JS
 * (tests/otlp_decode.js) and protoc with OTel's .proto files; a UDP
 * socket receives --statsd's lines. Then the failure cases: endpoints
 * closed for 30 s (bounded memory, one report per interval, exact local
 * outputs), SIGTERM with a final flush, and a receiver too slow to wait
 * for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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
#include "otlp_collector_trace.pb-c.h"

#define PROTOS "tests/node_modules/@opentelemetry/otlp-grpc-exporter-base/build/protos"
#define NODE_DECODER "tests/otlp_decode.js"
#define TRANSFORMER "tests/node_modules/@opentelemetry/otlp-transformer/package.json"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static int in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && (!strcmp(ci, "true") || !strcmp(ci, "1"));
}

/* A real consumer that is missing fails in CI and skips elsewhere. */
static void require_path(const char *path, const char *what)
{
	if (access(path, R_OK) == 0)
		return;
	if (in_ci())
		cr_assert_fail(
			"%s is missing (%s) and CI=true forbids skipping: run scripts/setup.sh",
			what, path);
	cr_skip_test("%s is missing (%s): run scripts/setup.sh", what, path);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *func_spec(const char *fn)
{
	static char buf[2][512];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s:%s", fixture_path("trace_nest"), fn);
	return buf[i];
}

/* Start sonde in the background, stdout and stderr into files. */
static pid_t spawn(char *const argv[], const char *outpath, const char *errpath)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int o = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		/* Never outlive a test that failed half-way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int exit_status(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int count_of(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
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

/* ---- a loopback OTLP/HTTP receiver ------------------------------------- */

#define RX_MAX 256

struct rx_req {
	char path[256];
	uint8_t *body;
	size_t len;
};

struct rx {
	int lfd, port, stopfd[2];
	int delay_ms; /* before each answer: a slow collector */
	pthread_t th;
	pthread_mutex_t lock;
	struct rx_req req[RX_MAX];
	int n;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* The request at the front of @buf if complete: its total length, else 0. */
static size_t complete_request(const char *buf, size_t len, size_t *head_len, size_t *body_len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *cl;
	size_t hl;

	if (!end)
		return 0;
	hl = end - buf + 4;
	*body_len = 0;
	cl = memmem(buf, hl, "\r\nContent-Length:", 17);
	if (!cl)
		cl = memmem(buf, hl, "\r\ncontent-length:", 17);
	if (cl)
		*body_len = strtoul(cl + 17, NULL, 10);
	*head_len = hl;
	return len >= hl + *body_len ? hl + *body_len : 0;
}

static void rx_serve_conn(struct rx *r, int fd)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
				 "Content-Length: 0\r\n\r\n";
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);

	cr_assert_not_null(buf);
	for (;;) {
		struct pollfd pf[2] = {{fd, POLLIN, 0}, {r->stopfd[0], POLLIN, 0}};
		size_t hl, bl, total;
		ssize_t got;

		while ((total = complete_request(buf, len, &hl, &bl))) {
			/* A slow collector takes its time, but still stops with the test. */
			if (r->delay_ms) {
				struct pollfd sp = {r->stopfd[0], POLLIN, 0};

				if (poll(&sp, 1, r->delay_ms) != 0)
					goto out;
			}
			pthread_mutex_lock(&r->lock);
			if (r->n < RX_MAX) {
				struct rx_req *q = &r->req[r->n++];

				q->body = malloc(bl + 1);
				cr_assert_not_null(q->body);
				memcpy(q->body, buf + hl, bl);
				q->len = bl;
				sscanf(buf, "POST %255s", q->path);
			}
			pthread_mutex_unlock(&r->lock);
			if (write_all(fd, ok, sizeof(ok) - 1))
				goto out;
			memmove(buf, buf + total, len - total);
			len -= total;
		}
		if (poll(pf, 2, -1) < 0 || pf[1].revents)
			goto out;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		got = read(fd, buf + len, cap - len);
		if (got <= 0)
			goto out;
		len += got;
	}
out:
	free(buf);
	close(fd);
}

static void *rx_main(void *arg)
{
	struct rx *r = arg;

	for (;;) {
		struct pollfd pf[2] = {{r->lfd, POLLIN, 0}, {r->stopfd[0], POLLIN, 0}};
		int fd;

		if (poll(pf, 2, -1) < 0 || pf[1].revents)
			break;
		fd = accept(r->lfd, NULL, NULL);
		if (fd >= 0)
			rx_serve_conn(r, fd);
	}
	return NULL;
}

/* A loopback socket of @type bound to an ephemeral port. */
static int loopback_socket(int type, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A loopback port nobody listens on (TCP refuses, UDP answers ICMP). */
static int closed_port(int type)
{
	int port, fd = loopback_socket(type, &port);

	close(fd);
	return port;
}

static void rx_start(struct rx *r, int delay_ms)
{
	memset(r, 0, sizeof(*r));
	r->delay_ms = delay_ms;
	r->lfd = loopback_socket(SOCK_STREAM, &r->port);
	cr_assert_eq(listen(r->lfd, 16), 0);
	cr_assert_eq(pipe2(r->stopfd, O_CLOEXEC), 0);
	pthread_mutex_init(&r->lock, NULL);
	cr_assert_eq(pthread_create(&r->th, NULL, rx_main, r), 0);
}

static void rx_stop(struct rx *r)
{
	cr_assert_eq(write(r->stopfd[1], "x", 1), 1);
	pthread_join(r->th, NULL);
	close(r->lfd);
	close(r->stopfd[0]);
	close(r->stopfd[1]);
}

static void rx_free(struct rx *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->req[i].body);
}

static const char *rx_url(const struct rx *r)
{
	static char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", r->port);
	return url;
}

static const char *save_body(const struct rx_req *q, const char *name)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(q->body, 1, q->len, f), q->len);
	fclose(f);
	return path;
}

/* tests/otlp_decode.js: OpenTelemetry JS's own decoder, as plain lines. */
static char *node_decode(const struct rx_req *q, const char *kind)
{
	const char *file = save_body(q, "body-node.pb");
	char *out = NULL, *err = NULL;
	int rc;

	require_path(source_path(TRANSFORMER), "npm @opentelemetry/otlp-transformer");
	rc = run_cmd((char *const[]){"/usr/bin/env", "node", (char *)source_path(NODE_DECODER),
				     (char *)kind, (char *)file, NULL},
		     &out, &err);
	cr_assert_eq(rc, 0, "node decoder failed (%d): %s", rc, err);
	free(err);
	return out;
}

/* `protoc --decode` against OTel's published .proto files. */
static char *protoc_decode(const struct rx_req *q, const char *type, const char *proto)
{
	char cmd[8192], *out = NULL, *err = NULL;
	const char *file = save_body(q, "body.pb");
	int rc;

	require_path(source_path(PROTOS), "OpenTelemetry's .proto files");
	snprintf(cmd, sizeof(cmd), "exec protoc --decode=%s -I '%s' '%s/%s' < '%s'", type,
		 source_path(PROTOS), source_path(PROTOS), proto, file);
	rc = run_cmd((char *const[]){"/bin/sh", "-c", cmd, NULL}, &out, &err);
	cr_assert_eq(rc, 0, "protoc failed (%d): %s", rc, err);
	free(err);
	return out;
}

/* Spans in a /v1/traces body, counted with the protobuf-c decoder. */
static unsigned int spans_in(const struct rx_req *q)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
	unsigned int n = 0;

	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, q->len, q->body);
	cr_assert_not_null(req);
	for (size_t i = 0; i < req->n_resource_spans; i++)
		for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
			n += req->resource_spans[i]->scope_spans[j]->n_spans;
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
		req, NULL);
	return n;
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
	struct rx r;
	char *out, *err, *text, *save = NULL, *metrics_text = NULL;
	size_t n = 0;
	unsigned long outer = 0, inner = 0;
	int rc, traces_reqs = 0;

	require_bpf();
	rx_start(&r, 0);
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
	cr_assert(strstr(all, "process_resident_memory_bytes:"), "%s", all);
	free(all);
	free(out);
	free(err);
}

/* ---- Prometheus: a real server scrapes us ---------------------------------- */

static pid_t prom_pid = -1, sonde_pid = -1;
static char prom_dir[256];

static void stop_children(void)
{
	pid_t *pids[] = {&sonde_pid, &prom_pid};

	for (int i = 0; i < 2; i++) {
		if (*pids[i] <= 0)
			continue;
		kill(*pids[i], SIGKILL);
		waitpid(*pids[i], NULL, 0);
		*pids[i] = -1;
	}
	if (prom_dir[0]) {
		char *argv[] = {"/bin/rm", "-rf", prom_dir, NULL};

		run_cmd(argv, NULL, NULL);
		prom_dir[0] = '\0';
	}
}

static void start_prometheus(unsigned int target_port, unsigned int *api_port)
{
	char cfg[512], tsdb[512], logp[512], listen[64], cfgarg[600], tsdbarg[600];
	FILE *f;
	int p;

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
		"scrape_configs:\n"
		"  - job_name: sonde\n"
		"    scrape_interval: 1s\n"
		"    scrape_timeout: 1s\n"
		"    static_configs:\n"
		"      - targets: ['127.0.0.1:%u']\n",
		target_port);
	fclose(f);
	close(loopback_socket(SOCK_STREAM, &p));
	*api_port = p;
	snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%u", *api_port);
	snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", cfg);
	snprintf(tsdbarg, sizeof(tsdbarg), "--storage.tsdb.path=%s", tsdb);
	char *argv[] = {"/usr/bin/prometheus", cfgarg, tsdbarg, listen, "--log.level=warn", NULL};
	prom_pid = spawn(argv, logp, logp);
}

/* An instant query through Prometheus' HTTP API: the first sample's value. */
static char *query(unsigned int api_port, const char *q)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 5};
	char req[1024], buf[65536], *v = NULL;
	const char *p;
	size_t n = 0;
	ssize_t got;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	a.sin_port = htons(api_port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		goto out;
	snprintf(req, sizeof(req), "GET /api/v1/query?query=%s HTTP/1.0\r\nHost: x\r\n\r\n", q);
	if (write_all(fd, req, strlen(req)))
		goto out;
	while (n < sizeof(buf) - 1 && (got = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += got;
	buf[n] = '\0';
	/* ..."result":[{"metric":{..},"value":[1700000000.123,"42"]}]... */
	p = strstr(buf, "\"value\":[");
	if (p && (p = strchr(p, ',')) && p[1] == '"') {
		const char *e = strchr(p + 2, '"');

		if (e)
			v = strndup(p + 2, e - p - 2);
	}
out:
	close(fd);
	return v;
}

static char *wait_query(unsigned int api_port, const char *q, const char *want)
{
	double t0 = now_s();
	char *v = NULL;

	do {
		free(v);
		v = query(api_port, q);
		if (v && !strcmp(v, want))
			break;
		usleep(250000);
	} while (now_s() - t0 < 60);
	return v;
}

#define EXPECT_QUERY(api, q, want)                                                               \
	do {                                                                                     \
		char *v_ = wait_query(api, q, want);                                             \
		cr_assert_str_eq(v_ ? v_ : "(none)", want, "query %s; see %s/prometheus.log", q, \
				 prom_dir);                                                      \
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
	require_path("/usr/bin/prometheus", "Debian's prometheus");
	close(loopback_socket(SOCK_STREAM, &port));
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
	start_prometheus(port, &api);

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
	EXPECT_QUERY(api, "count(process_resident_memory_bytes%7Bcomm%3D%22trace_nest%22%7D)", "1");
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
	cr_assert(strstr(err, "21900 timed, 21900 spans written, 0 spans lost"), "%s", err);

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
	struct rx r;
	double t0, dt;
	char *err;
	int rc;
	pid_t pid;

	require_bpf();
	rx_start(&r, 0);
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
	struct rx r;
	double t0, dt;
	int rc, nlines = 0;
	pid_t pid;

	require_bpf();
	rx_start(&r, 5000);
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
	cr_assert(strstr(err, "\"severityNumber\":9,\"severityText\":\"INFO\",\"body\":{"
			      "\"stringValue\":\"2 functions, 300 calls, 300 timed, 300 spans "
			      "written, 0 spans lost, 0 threads tracked (0 mid-call)\"}}\n"),
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
