// SPDX-License-Identifier: MIT
/*
 * OTLP/HTTP exporter: a loopback HTTP receiver (tests/http_rx.c) captures
 * the requests; their bodies are decoded by OpenTelemetry's published
 * schema (`protoc --decode` with the .proto files npm
 * @opentelemetry/otlp-grpc-exporter-base ships) and by OpenTelemetry JS's
 * own decoder (npm @opentelemetry/otlp-transformer, tests/otlp_decode.js).
 * Both come from `npm ci --prefix tests` (scripts/setup.sh); without them
 * the consumer tests skip, or fail when CI=true.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "helpers.h"
#include "http_rx.h"
#include "otlp_collector_logs.pb-c.h"
#include "otlp_collector_trace.pb-c.h"
#include "base/utf8.h"
#include "export/otlp.h"
#include "model/metrics.h"
#include "model/spans.h"

/* ---- checking the decoders' text ------------------------------------- */

/* protoc's text format escapes bytes like C (octal for non-printables). */
static void c_escape(char *dst, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '\n')
			dst += sprintf(dst, "\\n");
		else if (c == '\r')
			dst += sprintf(dst, "\\r");
		else if (c == '\t')
			dst += sprintf(dst, "\\t");
		else if (c == '"' || c == '\'' || c == '\\')
			dst += sprintf(dst, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			dst += sprintf(dst, "\\%03o", c);
		else
			*dst++ = c;
	}
	*dst = '\0';
}

static char *esc_id(uint64_t hi, uint64_t lo, int n16)
{
	uint8_t b[16];
	char *s = malloc(16 * 4 + 1);

	for (int i = 0; i < 8; i++) {
		b[i] = hi >> (56 - 8 * i);
		b[8 + i] = lo >> (56 - 8 * i);
	}
	c_escape(s, n16 ? b : b + 8, n16 ? 16 : 8);
	return s;
}

static char *hostname(void)
{
	static char h[256];

	cr_assert_eq(gethostname(h, sizeof(h)), 0);
	return h;
}

/* ---- fixtures ------------------------------------------------------------ */

#define T0 1700000000000000000ull

static const struct span_record spans4[] = {
	{0x0af7651916cd43ddull, 0x8448eb211c80319cull, 0xb7ad6b7169203331ull, 0, T0, T0 + 5000,
	 4242, 4242, "main", "/usr/bin/myapp", "/src/myapp/main.c", 42},
	{0x0af7651916cd43ddull, 0x8448eb211c80319cull, 0x00f067aa0ba902b7ull, 0xb7ad6b7169203331ull,
	 T0 + 100, T0 + 4000, 4242, 4243, "parse_request", "/usr/bin/myapp"},
	{0x0af7651916cd43ddull, 0x8448eb211c80319cull, 0x1122334455667788ull, 0x00f067aa0ba902b7ull,
	 T0 + 200, T0 + 300, 4242, 4243, "lex", "/usr/lib/x86_64-linux-gnu/libfoo.so.1"},
	{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull, 0x0000000000000001ull, 0, T0 + 9000,
	 T0 + 9999, 4242, 4250, "other \"quoted\"", "/opt/my app/bin"},
};

static struct otlp *new_exporter(struct rx *r, struct otlp_opts *o)
{
	struct otlp *x = NULL;

	o->endpoint = rx_url(r);
	cr_assert_eq(otlp__new(o, &x), 0);
	return x;
}

/* ---- spans through OpenTelemetry's decoders ------------------------------ */

#define EXPECTED_RESOURCE_TEXT                                                      \
	"resource_spans {\n"                                                        \
	"  resource {\n"                                                            \
	"    attributes {\n      key: \"service.name\"\n      value {\n"            \
	"        string_value: \"myapp\"\n      }\n    }\n"                         \
	"    attributes {\n      key: \"host.name\"\n      value {\n"               \
	"        string_value: \"%s\"\n      }\n    }\n"                            \
	"    attributes {\n      key: \"process.pid\"\n      value {\n"             \
	"        int_value: 4242\n      }\n    }\n"                                 \
	"    attributes {\n      key: \"process.executable.name\"\n      value {\n" \
	"        string_value: \"myapp\"\n      }\n    }\n"                         \
	"    attributes {\n      key: \"process.executable.path\"\n      value {\n" \
	"        string_value: \"/usr/bin/myapp\"\n      }\n    }\n"                \
	"    attributes {\n      key: \"process.command\"\n      value {\n"         \
	"        string_value: \"myapp\"\n      }\n    }\n"                         \
	"    attributes {\n      key: \"telemetry.sdk.name\"\n      value {\n"      \
	"        string_value: \"sonde\"\n      }\n    }\n"                         \
	"    attributes {\n      key: \"telemetry.sdk.version\"\n      value {\n"   \
	"        string_value: \"" SONDE_VERSION "\"\n      }\n    }\n"             \
	"  }\n"                                                                     \
	"  scope_spans {\n    scope {\n      name: \"sonde\"\n"                     \
	"      version: \"" SONDE_VERSION "\"\n    }\n"

static void append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert_geq(n, 0);
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	free(s);
}

static void append_attr(char **buf, size_t *len, const char *key, const char *str, long ival)
{
	char v[256];

	append(buf, len, "      attributes {\n        key: \"%s\"\n        value {\n", key);
	if (str) {
		c_escape(v, (const uint8_t *)str, strlen(str));
		append(buf, len, "          string_value: \"%s\"\n", v);
	} else {
		append(buf, len, "          int_value: %ld\n", ival);
	}
	append(buf, len, "        }\n      }\n");
}

/* protoc's text of span @s, whose process runs /usr/bin/myapp. */
static void append_span_text(char **buf, size_t *len, const struct span_record *s)
{
	char *tid = esc_id(s->trace_id_hi, s->trace_id_lo, 1);
	char *sid = esc_id(0, s->span_id, 0);
	char *pid = esc_id(0, s->parent_span_id, 0);
	char name[256];

	c_escape(name, (const uint8_t *)s->name, strlen(s->name));
	append(buf, len, "    spans {\n      trace_id: \"%s\"\n      span_id: \"%s\"\n", tid, sid);
	if (s->parent_span_id)
		append(buf, len, "      parent_span_id: \"%s\"\n", pid);
	append(buf, len,
	       "      name: \"%s\"\n      kind: SPAN_KIND_INTERNAL\n"
	       "      start_time_unix_nano: %" PRIu64 "\n      end_time_unix_nano: %" PRIu64 "\n",
	       name, s->start_unix_ns, s->end_unix_ns);
	append_attr(buf, len, "thread.id", NULL, s->tid);
	append_attr(buf, len, "code.function.name", s->name, 0);
	if (s->source_file) {
		append_attr(buf, len, "code.file.path", s->source_file, 0);
		append_attr(buf, len, "code.line.number", NULL, s->source_line);
	}
	/* The executable is the Resource's: only another file is named. */
	if (strcmp(s->filepath, "/usr/bin/myapp"))
		append_attr(buf, len, "sonde.module.path", s->filepath, 0);
	append(buf, len, "    }\n");
	free(tid);
	free(sid);
	free(pid);
}

Test(export_otlp, spans_decode_with_otel_schema)
{
	struct otlp_opts o = {.pid = 4242, .exe_name = "myapp", .batch_ms = 60000};
	struct otlp_stats st;
	struct rx r = {0};
	struct otlp *x;
	char *got, *want = NULL;
	size_t wlen = 0;
	size_t i;

	unsetenv("OTEL_SERVICE_NAME");
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__add_process(x, 4242, "/usr/bin/myapp", "myapp"), 0);
	for (i = 0; i < 4; i++)
		cr_assert_eq(otlp__push_span(x, &spans4[i]), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__stats(x, &st);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 1, "one request for 4 spans, got %d", r.n);
	cr_assert_str_eq(r.req[0].path, "/v1/traces");
	cr_assert_not_null(strstr(r.req[0].head, "\r\nContent-Type: application/x-protobuf\r\n"));
	cr_assert_eq(st.spans_pushed, 4);
	cr_assert_eq(st.spans_sent, 4);
	cr_assert_eq(st.spans_dropped, 0);
	cr_assert_eq(st.spans_queued, 0);
	cr_assert_eq(st.requests_sent, 1);
	cr_assert_eq(st.requests_failed, 0);
	cr_assert_eq(st.bytes_sent, r.req[0].len);

	/* The whole text of protoc's decode, field by field. */
	append(&want, &wlen, EXPECTED_RESOURCE_TEXT, hostname());
	for (i = 0; i < 4; i++)
		append_span_text(&want, &wlen, &spans4[i]);
	append(&want, &wlen, "  }\n}\n");
	got = protoc_decode(&r.req[0],
			    "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
			    "opentelemetry/proto/collector/trace/v1/trace_service.proto");
	cr_assert_str_eq(got, want);
	free(got);
	free(want);

	/* OpenTelemetry JS reads the same ids (hex), parents and attributes. */
	got = node_decode(&r.req[0], "traces");
	want = NULL;
	wlen = 0;
	append(&want, &wlen,
	       "resource service.name=myapp\nresource host.name=%s\nresource process.pid=4242\n"
	       "resource process.executable.name=myapp\n"
	       "resource process.executable.path=/usr/bin/myapp\nresource process.command=myapp\n"
	       "resource telemetry.sdk.name=sonde\nresource telemetry.sdk.version=%s\n"
	       "scope sonde %s\n",
	       hostname(), SONDE_VERSION, SONDE_VERSION);
	append(&want, &wlen,
	       "span 0af7651916cd43dd8448eb211c80319c b7ad6b7169203331 - main kind=1 "
	       "start=1700000000000000000 end=1700000000000005000 "
	       "thread.id=4242 code.function.name=main code.file.path=/src/myapp/main.c "
	       "code.line.number=42\n"
	       "span 0af7651916cd43dd8448eb211c80319c 00f067aa0ba902b7 b7ad6b7169203331 "
	       "parse_request kind=1 start=1700000000000000100 end=1700000000000004000 "
	       "thread.id=4243 code.function.name=parse_request\n"
	       "span 0af7651916cd43dd8448eb211c80319c 1122334455667788 00f067aa0ba902b7 lex "
	       "kind=1 start=1700000000000000200 end=1700000000000000300 "
	       "thread.id=4243 code.function.name=lex "
	       "sonde.module.path=/usr/lib/x86_64-linux-gnu/libfoo.so.1\n"
	       "span 4bf92f3577b34da6a3ce929d0e0e4736 0000000000000001 - other \"quoted\" kind=1 "
	       "start=1700000000000009000 end=1700000000000009999 "
	       "thread.id=4250 code.function.name=other \"quoted\" "
	       "sonde.module.path=/opt/my app/bin\n");
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	rx_free(&r);
}

static void clear_env(void)
{
	static const char *const vars[] = {
		"OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"OTEL_EXPORTER_OTLP_HEADERS",
		"OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TIMEOUT",
		"OTEL_SERVICE_NAME",
		"OTEL_RESOURCE_ATTRIBUTES",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

/* trace -p P1,P2: each process's spans under its own Resource, in push order. */
Test(export_otlp, one_resource_per_process)
{
	struct otlp_opts o = {.batch_ms = 60000};
	struct rx r = {0};
	struct otlp *x;
	char *got, *want;
	const struct span_record sp[] = {
		{1, 2, 0x11, 0, T0, T0 + 10, 4242, 4242, "handle", "/usr/bin/a"},
		{1, 3, 0x12, 0, T0 + 1, T0 + 11, 4343, 4344, "handle", "/usr/bin/b"},
		{1, 2, 0x13, 0x11, T0 + 2, T0 + 9, 4242, 4242, "parse", "/usr/lib/libp.so"},
	};

	clear_env();
	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__add_process(x, 4242, "/usr/bin/a", "a"), 0);
	cr_assert_eq(otlp__add_process(x, 4343, "/usr/bin/b", "./b"), 0);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(otlp__push_span(x, &sp[i]), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 1);
	got = node_decode(&r.req[0], "traces");
	cr_assert_geq(
		asprintf(&want,
			 "resource service.name=a\nresource host.name=%s\nresource process.pid=4242\n"
			 "resource process.executable.name=a\n"
			 "resource process.executable.path=/usr/bin/a\nresource process.command=a\n"
			 "resource telemetry.sdk.name=sonde\nresource telemetry.sdk.version=%s\n"
			 "scope sonde %s\n"
			 "span 00000000000000010000000000000002 0000000000000011 - handle kind=1 "
			 "start=1700000000000000000 end=1700000000000000010 thread.id=4242 "
			 "code.function.name=handle\n"
			 "span 00000000000000010000000000000002 0000000000000013 0000000000000011 parse "
			 "kind=1 start=1700000000000000002 end=1700000000000000009 thread.id=4242 "
			 "code.function.name=parse sonde.module.path=/usr/lib/libp.so\n"
			 "resource service.name=b\nresource host.name=%s\nresource process.pid=4343\n"
			 "resource process.executable.name=b\n"
			 "resource process.executable.path=/usr/bin/b\nresource process.command=./b\n"
			 "resource telemetry.sdk.name=sonde\nresource telemetry.sdk.version=%s\n"
			 "scope sonde %s\n"
			 "span 00000000000000010000000000000003 0000000000000012 - handle kind=1 "
			 "start=1700000000000000001 end=1700000000000000011 thread.id=4344 "
			 "code.function.name=handle\n",
			 hostname(), SONDE_VERSION, SONDE_VERSION, hostname(), SONDE_VERSION,
			 SONDE_VERSION),
		0);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	rx_free(&r);
}

/* The targets' process metrics: OpenTelemetry's process.* names, under each process. */
Test(export_otlp, target_process_metrics_use_otel_names)
{
	static const struct metric_series cpu[] = {
		{.labels = {{"comm", "a"}, {"mode", "user"}, {"pid", "4242"}}, .nlabels = 3, .value = 1.5},
		{.labels = {{"comm", "a"}, {"mode", "system"}, {"pid", "4242"}}, .nlabels = 3,
		 .value = 0.5},
		{.labels = {{"comm", "b"}, {"mode", "user"}, {"pid", "4343"}}, .nlabels = 3, .value = 2},
	};
	static const struct metric_series rss[] = {
		{.labels = {{"comm", "a"}, {"pid", "4242"}}, .nlabels = 2, .value = 1e6},
	};
	static const struct metric_series faults[] = {
		{.labels = {{"comm", "b"}, {"kind", "major"}, {"pid", "4343"}}, .nlabels = 3,
		 .value = 3},
	};
	static const struct metric_series calls[] = {
		{.labels = {{"function", "main"}}, .nlabels = 1, .value = 42},
	};
	static const struct metric_family fams[] = {
		{"sonde_target_cpu_seconds_total", "CPU.", METRIC_COUNTER, NULL, 0, cpu, 3},
		{"sonde_target_resident_memory_bytes", "RSS.", METRIC_GAUGE, NULL, 0, rss, 1},
		{"sonde_target_page_faults_total", "Faults.", METRIC_COUNTER, NULL, 0, faults, 1},
		{"sonde_calls_total", "Calls seen.", METRIC_COUNTER, NULL, 0, calls, 1},
	};
	static const struct metrics_snapshot ps = {fams, 4, T0, T0 + 10000000000ull};
	struct otlp_opts o = {.batch_ms = 60000};
	struct rx r = {0};
	struct otlp *x;
	char *got, *want;

	clear_env();
	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__add_process(x, 4242, "/usr/bin/a", "a"), 0);
	cr_assert_eq(otlp__add_process(x, 4343, "/usr/bin/b", "b"), 0);
	cr_assert_eq(otlp__push_metrics(x, &ps), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 1);
	got = node_decode(&r.req[0], "metrics");
	cr_assert_geq(
		asprintf(&want,
			 "resource service.name=a\nresource host.name=%1$s\n"
			 "resource telemetry.sdk.name=sonde\nresource telemetry.sdk.version=%2$s\n"
			 "scope sonde %2$s\n"
			 "metric sonde_calls_total unit= sum temporality=2 monotonic=true\n"
			 "point function=main start=1700000000000000000 time=1700000010000000000 "
			 "value=42\n"
			 "resource service.name=a\nresource host.name=%1$s\nresource process.pid=4242\n"
			 "resource process.executable.name=a\n"
			 "resource process.executable.path=/usr/bin/a\nresource process.command=a\n"
			 "resource telemetry.sdk.name=sonde\nresource telemetry.sdk.version=%2$s\n"
			 "scope sonde %2$s\n"
			 "metric process.cpu.time unit=s sum temporality=2 monotonic=true\n"
			 "point cpu.mode=user start=1700000000000000000 time=1700000010000000000 "
			 "value=1.5\n"
			 "point cpu.mode=system start=1700000000000000000 time=1700000010000000000 "
			 "value=0.5\n"
			 "metric process.memory.usage unit=By sum temporality=2 monotonic=false\n"
			 "point start=1700000000000000000 time=1700000010000000000 value=1000000\n"
			 "resource service.name=b\nresource host.name=%1$s\nresource process.pid=4343\n"
			 "resource process.executable.name=b\n"
			 "resource process.executable.path=/usr/bin/b\nresource process.command=b\n"
			 "resource telemetry.sdk.name=sonde\nresource telemetry.sdk.version=%2$s\n"
			 "scope sonde %2$s\n"
			 "metric process.cpu.time unit=s sum temporality=2 monotonic=true\n"
			 "point cpu.mode=user start=1700000000000000000 time=1700000010000000000 "
			 "value=2\n"
			 "metric process.paging.faults unit={fault} sum temporality=2 monotonic=true\n"
			 "point system.paging.fault.type=major start=1700000000000000000 "
			 "time=1700000010000000000 value=3\n",
			 hostname(), SONDE_VERSION),
		0);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	rx_free(&r);
}

/* ---- metrics through OpenTelemetry's decoders ---------------------------- */

static const double lat_bounds[] = {0.001, 0.01, 0.1};
static const uint64_t lat_counts_a[] = {1, 2, 3, 4};
static const uint64_t lat_counts_b[] = {0, 5, 0, 0};

static const struct metric_series calls_series[] = {
	{.labels = {{"function", "main"}}, .nlabels = 1, .value = 42},
	{.labels = {{"function", "lex"}}, .nlabels = 1, .value = 7},
};
static const struct metric_series depth_series[] = {{.value = 7.5}};
static const struct metric_series lat_series[] = {
	{.labels = {{"function", "main"}, {"pid", "4242"}},
	 .nlabels = 2,
	 .counts = lat_counts_a,
	 .count = 10,
	 .sum = 12.5},
	{.labels = {{"function", "lex"}, {"pid", "4242"}},
	 .nlabels = 2,
	 .counts = lat_counts_b,
	 .count = 5,
	 .sum = 0.025},
};
static const struct metric_family families[] = {
	{"sonde_calls_total", "Calls seen.", METRIC_COUNTER, NULL, 0, calls_series, 2},
	{"sonde_queue_depth", "Spans queued.", METRIC_GAUGE, NULL, 0, depth_series, 1},
	{"sonde_empty_total", "No series yet.", METRIC_COUNTER, NULL, 0, NULL, 0},
	{"sonde_call_duration_seconds", "Call latency.", METRIC_HISTOGRAM, lat_bounds, 3,
	 lat_series, 2},
};
static const struct metrics_snapshot snap = {
	.families = families,
	.nfamilies = 4,
	.start_unix_ns = T0,
	.time_unix_ns = T0 + 10000000000ull,
};

#define EXPECTED_METRICS_TEXT                                                          \
	"resource_metrics {\n"                                                         \
	"  resource {\n"                                                               \
	"    attributes {\n      key: \"service.name\"\n      value {\n"               \
	"        string_value: \"sonde\"\n      }\n    }\n"                            \
	"    attributes {\n      key: \"host.name\"\n      value {\n"                  \
	"        string_value: \"%s\"\n      }\n    }\n"                               \
	"    attributes {\n      key: \"telemetry.sdk.name\"\n      value {\n"         \
	"        string_value: \"sonde\"\n      }\n    }\n"                            \
	"    attributes {\n      key: \"telemetry.sdk.version\"\n      value {\n"      \
	"        string_value: \"" SONDE_VERSION "\"\n      }\n    }\n"                \
	"  }\n"                                                                        \
	"  scope_metrics {\n"                                                          \
	"    scope {\n      name: \"sonde\"\n      version: \"" SONDE_VERSION "\"\n"    \
	"    }\n"                                                                      \
	"    metrics {\n"                                                              \
	"      name: \"sonde_calls_total\"\n"                                          \
	"      description: \"Calls seen.\"\n"                                         \
	"      sum {\n"                                                                \
	"        data_points {\n"                                                      \
	"          start_time_unix_nano: 1700000000000000000\n"                        \
	"          time_unix_nano: 1700000010000000000\n"                              \
	"          as_double: 42\n"                                                    \
	"          attributes {\n            key: \"function\"\n            value {\n" \
	"              string_value: \"main\"\n            }\n          }\n"           \
	"        }\n"                                                                  \
	"        data_points {\n"                                                      \
	"          start_time_unix_nano: 1700000000000000000\n"                        \
	"          time_unix_nano: 1700000010000000000\n"                              \
	"          as_double: 7\n"                                                     \
	"          attributes {\n            key: \"function\"\n            value {\n" \
	"              string_value: \"lex\"\n            }\n          }\n"            \
	"        }\n"                                                                  \
	"        aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE\n"        \
	"        is_monotonic: true\n"                                                 \
	"      }\n"                                                                    \
	"    }\n"                                                                      \
	"    metrics {\n"                                                              \
	"      name: \"sonde_queue_depth\"\n"                                          \
	"      description: \"Spans queued.\"\n"                                       \
	"      gauge {\n"                                                              \
	"        data_points {\n"                                                      \
	"          time_unix_nano: 1700000010000000000\n"                              \
	"          as_double: 7.5\n"                                                   \
	"        }\n"                                                                  \
	"      }\n"                                                                    \
	"    }\n"                                                                      \
	"    metrics {\n"                                                              \
	"      name: \"sonde_call_duration_seconds\"\n"                                \
	"      description: \"Call latency.\"\n"                                       \
	"      unit: \"s\"\n"                                                          \
	"      histogram {\n"                                                          \
	"        data_points {\n"                                                      \
	"          start_time_unix_nano: 1700000000000000000\n"                        \
	"          time_unix_nano: 1700000010000000000\n"                              \
	"          count: 10\n"                                                        \
	"          sum: 12.5\n"                                                        \
	"          bucket_counts: 1\n"                                                 \
	"          bucket_counts: 2\n"                                                 \
	"          bucket_counts: 3\n"                                                 \
	"          bucket_counts: 4\n"                                                 \
	"          explicit_bounds: 0.001\n"                                           \
	"          explicit_bounds: 0.01\n"                                            \
	"          explicit_bounds: 0.1\n"                                             \
	"          attributes {\n            key: \"function\"\n            value {\n" \
	"              string_value: \"main\"\n            }\n          }\n"           \
	"          attributes {\n            key: \"pid\"\n            value {\n"      \
	"              string_value: \"4242\"\n            }\n          }\n"           \
	"        }\n"                                                                  \
	"        data_points {\n"                                                      \
	"          start_time_unix_nano: 1700000000000000000\n"                        \
	"          time_unix_nano: 1700000010000000000\n"                              \
	"          count: 5\n"                                                         \
	"          sum: 0.025\n"                                                       \
	"          bucket_counts: 0\n"                                                 \
	"          bucket_counts: 5\n"                                                 \
	"          bucket_counts: 0\n"                                                 \
	"          bucket_counts: 0\n"                                                 \
	"          explicit_bounds: 0.001\n"                                           \
	"          explicit_bounds: 0.01\n"                                            \
	"          explicit_bounds: 0.1\n"                                             \
	"          attributes {\n            key: \"function\"\n            value {\n" \
	"              string_value: \"lex\"\n            }\n          }\n"            \
	"          attributes {\n            key: \"pid\"\n            value {\n"      \
	"              string_value: \"4242\"\n            }\n          }\n"           \
	"        }\n"                                                                  \
	"        aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE\n"        \
	"      }\n"                                                                    \
	"    }\n"                                                                      \
	"  }\n"                                                                        \
	"}\n"

Test(export_otlp, metrics_decode_with_otel_schema)
{
	struct otlp_opts o = {.batch_ms = 60000};
	struct otlp_stats st;
	struct rx r = {0};
	struct otlp *x;
	char *got, *want;

	unsetenv("OTEL_SERVICE_NAME");
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__push_metrics(x, &snap), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__stats(x, &st);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 1);
	cr_assert_str_eq(r.req[0].path, "/v1/metrics");
	cr_assert_eq(st.metric_exports_pushed, 1);
	cr_assert_eq(st.metric_exports_sent, 1);
	cr_assert_eq(st.metric_exports_dropped, 0);
	cr_assert_eq(st.bytes_sent, r.req[0].len);

	got = protoc_decode(&r.req[0],
			    "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
			    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto");
	cr_assert_geq(asprintf(&want, EXPECTED_METRICS_TEXT, hostname()), 0);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);

	got = node_decode(&r.req[0], "metrics");
	cr_assert_geq(asprintf(&want,
			       "resource service.name=sonde\nresource host.name=%s\n"
			       "resource telemetry.sdk.name=sonde\n"
			       "resource telemetry.sdk.version=" SONDE_VERSION "\n"
			       "scope sonde " SONDE_VERSION "\n"
			       "metric sonde_calls_total unit= sum temporality=2 monotonic=true\n"
			       "point function=main start=1700000000000000000 "
			       "time=1700000010000000000 value=42\n"
			       "point function=lex start=1700000000000000000 "
			       "time=1700000010000000000 value=7\n"
			       "metric sonde_queue_depth unit= gauge\n"
			       "point start=0 time=1700000010000000000 value=7.5\n"
			       "metric sonde_call_duration_seconds unit=s histogram temporality=2\n"
			       "point function=main pid=4242 start=1700000000000000000 "
			       "time=1700000010000000000 count=10 sum=12.5 buckets=1,2,3,4 "
			       "bounds=0.001,0.01,0.1\n"
			       "point function=lex pid=4242 start=1700000000000000000 "
			       "time=1700000010000000000 count=5 sum=0.025 buckets=0,5,0,0 "
			       "bounds=0.001,0.01,0.1\n",
			       hostname()),
		      0);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	rx_free(&r);
}

Test(export_otlp, metrics_queue_keeps_newest)
{
	struct otlp_opts o = {.metrics_queue = 2, .endpoint = "http://127.0.0.1:1"};
	struct otlp_stats st;
	struct otlp *x = NULL;
	int i;

	/* Port 1 refuses; the sender retries the first snapshot meanwhile. */
	o.backoff_ms = 60000;
	cr_assert_eq(otlp__new(&o, &x), 0);
	for (i = 0; i < 5; i++)
		cr_assert_eq(otlp__push_metrics(x, &snap), 0);
	otlp__stats(x, &st);
	cr_assert_eq(st.metric_exports_pushed, 5);
	/* 2 held + at most 1 in flight; the rest displaced, none sent. */
	cr_assert_eq(st.metric_exports_dropped == 2 || st.metric_exports_dropped == 3, 1,
		     "dropped %" PRIu64, st.metric_exports_dropped);
	cr_assert_eq(st.metric_exports_sent, 0);
	otlp__free(x);
}

/* ---- batching ------------------------------------------------------------- */

static struct span_record numbered(unsigned int i)
{
	struct span_record s = {
		.trace_id_hi = 1,
		.trace_id_lo = 2,
		.span_id = i + 1,
		.start_unix_ns = T0 + i,
		.end_unix_ns = T0 + i + 1,
		.pid = 10,
		.tid = 11,
		.name = "fn",
		.filepath = "/bin/x",
	};
	return s;
}

Test(export_otlp, batches_by_size)
{
	struct otlp_opts o = {.batch_spans = 512, .batch_ms = 60000};
	struct otlp_stats st;
	struct rx r = {0};
	struct otlp *x;

	rx_start(&r);
	x = new_exporter(&r, &o);
	for (unsigned int i = 0; i < 1000; i++) {
		struct span_record s = numbered(i);

		cr_assert_eq(otlp__push_span(x, &s), 0);
	}
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__stats(x, &st);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 2);
	cr_assert_eq(spans_in(&r.req[0]), 512);
	cr_assert_eq(spans_in(&r.req[1]), 488);
	cr_assert_eq(st.spans_sent, 1000);
	cr_assert_eq(st.requests_sent, 2);
	rx_free(&r);
}

Test(export_otlp, batches_by_time)
{
	struct otlp_opts o = {.batch_ms = 200};
	struct rx r = {0};
	struct otlp *x;
	uint64_t t0;

	rx_start(&r);
	x = new_exporter(&r, &o);
	t0 = now_ns();
	for (unsigned int i = 0; i < 3; i++) {
		struct span_record s = numbered(i);

		cr_assert_eq(otlp__push_span(x, &s), 0);
	}
	while (rx_count(&r) < 1 && now_ns() - t0 < 3000000000ull)
		usleep(5000);
	cr_assert_eq(rx_count(&r), 1, "a partial batch goes out on the timer, without a flush");
	cr_assert_lt(r.req[0].t_ns - t0, 1000000000ull);
	cr_assert_eq(spans_in(&r.req[0]), 3);
	otlp__free(x);
	rx_stop(&r);
	rx_free(&r);
}

/* ---- retries -------------------------------------------------------------- */

Test(export_otlp, retries_503_then_delivers_once)
{
	struct otlp_opts o = {.batch_ms = 60000, .backoff_ms = 20};
	struct otlp_stats st;
	struct rx r = {.script = {503, 503}, .nscript = 2};
	struct otlp *x;
	unsigned int i;

	rx_start(&r);
	x = new_exporter(&r, &o);
	for (i = 0; i < 10; i++) {
		struct span_record s = numbered(i);

		cr_assert_eq(otlp__push_span(x, &s), 0);
	}
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__stats(x, &st);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 3);
	cr_assert_eq(r.req[0].status, 503);
	cr_assert_eq(r.req[1].status, 503);
	cr_assert_eq(r.req[2].status, 200);
	/* The same batch each time, so the one accepted copy has every span. */
	cr_assert_eq(r.req[0].len, r.req[2].len);
	cr_assert_eq(memcmp(r.req[0].body, r.req[2].body, r.req[0].len), 0);
	cr_assert_eq(spans_in(&r.req[2]), 10);
	/* Backoff: the second retry waits longer than the first (10-20, 20-40 ms). */
	cr_assert_geq(r.req[1].t_ns - r.req[0].t_ns, 10000000ull);
	cr_assert_geq(r.req[2].t_ns - r.req[1].t_ns, 20000000ull);
	cr_assert_eq(st.spans_sent, 10);
	cr_assert_eq(st.spans_dropped, 0);
	cr_assert_eq(st.requests_failed, 2);
	cr_assert_eq(st.requests_sent, 1);
	cr_assert_eq(st.bytes_sent, r.req[2].len);
	rx_free(&r);
}

Test(export_otlp, honors_retry_after)
{
	struct otlp_opts o = {.batch_ms = 50, .backoff_ms = 10};
	struct rx r = {.script = {429}, .nscript = 1, .retry_after = "1"};
	struct span_record s = numbered(0);
	struct otlp *x;

	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__push_span(x, &s), 0);
	/* Nothing between attempts may shorten the receiver's delay. */
	while (rx_count(&r) < 2)
		usleep(10000);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.req[0].status, 429);
	cr_assert_eq(r.req[1].status, 200);
	cr_assert_geq(r.req[1].t_ns - r.req[0].t_ns, 1000000000ull);
	cr_assert_lt(r.req[1].t_ns - r.req[0].t_ns, 1500000000ull);
	rx_free(&r);
}

/* "Retry-After: 3600" on a 429: nothing more for the hour, even past retry_max_ms. */
Test(export_otlp, retry_after_3600_stops_every_request)
{
	struct otlp_opts o = {.batch_ms = 100, .backoff_ms = 10, .retry_max_ms = 500};
	struct rx r = {.script = {429}, .nscript = 1, .retry_after = "3600"};
	struct otlp_stats st;
	struct otlp *x;
	uint64_t t0, dt;
	unsigned int i;
	int rc;

	rx_start(&r);
	x = new_exporter(&r, &o);
	/* 2 s of a span every 10 ms: a batch every 100 ms would be ~20 requests. */
	for (i = 0; i < 200; i++) {
		struct span_record s = numbered(i);

		cr_assert_eq(otlp__push_span(x, &s), 0);
		usleep(10000);
	}
	cr_assert_eq(rx_count(&r), 1, "%d requests while the collector said to wait an hour",
		     rx_count(&r));
	/* The pause outlasts the flush: the flush gives up at once. */
	t0 = now_ns();
	rc = otlp__flush(x, 2000);
	dt = now_ns() - t0;
	otlp__stats(x, &st);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(rc, 0);
	cr_assert_lt(dt, 200000000ull, "flush took %" PRIu64 " ns", dt);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.req[0].status, 429);
	cr_assert_eq(st.spans_pushed, 200);
	cr_assert_eq(st.spans_sent, 0);
	cr_assert_eq(st.spans_given_up, 200);
	cr_assert_eq(st.spans_dropped, 200);
	cr_assert_eq(st.spans_queued, 0);
	cr_assert_eq(st.requests_failed, 1);
	rx_free(&r);
}

/* A collector answering 100 MB costs a closed connection, not 100 MB of reading. */
Test(export_otlp, replies_are_read_at_most_a_few_kib)
{
	struct otlp_opts o = {.batch_ms = 60000};
	struct rx r = {.reply_bytes = 100u << 20};
	struct otlp_stats st;
	struct otlp *x;
	unsigned int i;

	rx_start(&r);
	x = new_exporter(&r, &o);
	for (i = 0; i < 4; i++) {
		struct span_record s = numbered(i);

		cr_assert_eq(otlp__push_span(x, &s), 0);
		cr_assert_eq(otlp__flush(x, 10000), 0);
	}
	otlp__stats(x, &st);
	otlp__free(x);
	rx_stop(&r);

	cr_log_info("4 requests, 100 MB replies: %zu reply bytes taken", r.reply_written);
	cr_assert_eq(r.n, 4);
	cr_assert_eq(st.spans_sent, 4);
	cr_assert_eq(st.requests_sent, 4);
	/* Socket buffers take a few MiB each time; reading all would be 400 MiB. */
	cr_assert_lt(r.reply_written, (size_t)4 * (16u << 20), "%zu bytes", r.reply_written);
	rx_free(&r);
}

Test(export_otlp, drops_on_400_without_retry)
{
	struct otlp_opts o = {.batch_ms = 60000, .backoff_ms = 10};
	struct otlp_stats st;
	struct rx r = {.script = {400}, .nscript = 1};
	struct otlp *x;
	unsigned int i;

	rx_start(&r);
	x = new_exporter(&r, &o);
	for (i = 0; i < 10; i++) {
		struct span_record s = numbered(i);

		cr_assert_eq(otlp__push_span(x, &s), 0);
	}
	cr_assert_eq(otlp__flush(x, 5000), 0);
	usleep(100000); /* a retry would come within 10-20 ms */
	otlp__stats(x, &st);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 1);
	cr_assert_eq(st.spans_sent, 0);
	cr_assert_eq(st.spans_dropped, 10);
	cr_assert_eq(st.spans_rejected, 10);
	cr_assert_eq(st.spans_queued, 0);
	cr_assert_eq(st.requests_failed, 1);
	cr_assert_eq(st.requests_sent, 0);
	cr_assert_eq(st.bytes_sent, 0);
	rx_free(&r);
}

/* ---- graceful degradation --------------------------------------------------- */

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld %ld", &pages, &rss), 2);
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

Test(export_otlp, unreachable_endpoint_stays_bounded)
{
	enum { CAP = 4096, TOTAL = 200000, BURST = 1000 };
	struct otlp_opts o = {
		.queue_spans = CAP, .batch_spans = 512, .backoff_ms = 50, .backoff_max_ms = 200};
	char url[64], want[512], *log;
	struct otlp_stats st;
	struct otlp *x = NULL;
	uint64_t push_ns = 0, t, flush_ns;
	long rss0, rss1 = 0, rss2;
	int saved, lfd, rc;
	char logpath[4096];

	/* A loopback port nobody listens on: connections are refused. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port(SOCK_STREAM));
	o.endpoint = url;

	snprintf(logpath, sizeof(logpath), "%s/otlp-stderr.log", test_tmpdir());
	lfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(lfd, 0);
	saved = dup(2);
	dup2(lfd, 2);

	rss0 = rss_bytes();
	cr_assert_eq(otlp__new(&o, &x), 0);
	for (unsigned int i = 0; i < TOTAL; i += BURST) {
		t = now_ns();
		for (unsigned int j = 0; j < BURST; j++) {
			struct span_record s = numbered(i + j);

			otlp__push_span(x, &s);
		}
		push_ns += now_ns() - t;
		if (i == 20 * BURST)
			rss1 = rss_bytes();
		usleep(10000); /* 200 bursts: about 2 s of pushing */
	}
	rss2 = rss_bytes();
	otlp__stats(x, &st);

	t = now_ns();
	rc = otlp__flush(x, 300);
	t = now_ns() - t;
	cr_assert_eq(rc, -ETIMEDOUT);
	cr_assert_geq(t, 300000000ull);
	cr_assert_lt(t, 400000000ull, "flush took %" PRIu64 " ns", t);
	flush_ns = t;
	t = now_ns();
	otlp__free(x);
	t = now_ns() - t;
	cr_assert_lt(t, 200000000ull, "free took %" PRIu64 " ns", t);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(lfd);

	fprintf(stderr,
		"test: %" PRIu64 " ns a push; RSS +%ld bytes in all, +%ld while dropping; "
		"%" PRIu64 " failed requests; flush %" PRIu64 " ns\n",
		push_ns / TOTAL, rss2 - rss0, rss2 - rss1, st.requests_failed, flush_ns);
	cr_assert_eq(st.spans_pushed, TOTAL);
	cr_assert_eq(st.spans_sent, 0);
	cr_assert_eq(st.spans_queued, CAP);
	cr_assert_eq(st.spans_dropped, TOTAL - CAP - st.spans_sent);
	cr_assert_eq(st.spans_dropped_full, TOTAL - CAP);
	cr_assert_geq(st.requests_failed, 2);
	cr_assert_eq(st.requests_sent, 0);
	/* Never blocks: well under a few µs a push on average. */
	cr_assert_lt(push_ns / TOTAL, SANITIZED ? 20000 : 2000, "%" PRIu64 " ns a push",
		     push_ns / TOTAL);
	/* Bounded: the queue is allocated up front; nothing grows after. */
	cr_assert_lt(rss2 - rss1, 1 << 20, "RSS grew %ld bytes while dropping", rss2 - rss1);
	if (!SANITIZED)
		cr_assert_lt(rss2 - rss0, 8 << 20, "RSS grew %ld bytes", rss2 - rss0);

	/* One line per 10 s interval, whatever the number of failures. */
	log = read_file(logpath, NULL);
	cr_assert_not_null(log);
	snprintf(want, sizeof(want),
		 "sonde: warn: otlp: failed to export 512 spans to %s/v1/traces: "
		 "Connection refused (retrying; ",
		 url);
	cr_assert_eq(count_of(log, want), 1, "log:\n%s", log);
	cr_assert_eq(count_of(log, "otlp: failed to export"), 2, "log:\n%s", log);
	cr_assert_eq(count_of(log, "sonde: warn: otlp: failed to queue "), 1, "log:\n%s", log);
	snprintf(want, sizeof(want),
		 "sonde: warn: otlp: failed to export 4096 spans to %s/v1/traces: exporter "
		 "stopped with them queued (200000 dropped in all)\n",
		 url);
	cr_assert_eq(count_of(log, want), 1, "log:\n%s", log);
	free(log);
}

/* ---- configuration from the environment ------------------------------------ */


static void check_urls(const struct otlp_opts *o, const char *traces, const char *metrics)
{
	struct otlp *x = NULL;

	cr_assert_eq(otlp__new(o, &x), 0);
	cr_assert_str_eq(otlp__url(x, OTLP_TRACES), traces);
	cr_assert_str_eq(otlp__url(x, OTLP_METRICS), metrics);
	otlp__free(x);
}

Test(export_otlp, endpoint_composition)
{
	struct otlp_opts o = {0};
	struct otlp *x = NULL;

	clear_env();
	check_urls(&o, "http://localhost:4318/v1/traces", "http://localhost:4318/v1/metrics");

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", 1);
	check_urls(&o, "http://collector:4318/v1/traces", "http://collector:4318/v1/metrics");

	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://gw.example.com/otlp", 1);
	check_urls(&o, "https://gw.example.com/otlp/v1/traces",
		   "https://gw.example.com/otlp/v1/metrics");

	/* A signal's own variable is used as-is, path and all. */
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom/path", 1);
	check_urls(&o, "http://traces:9999/custom/path", "https://gw.example.com/otlp/v1/metrics");
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:9090/m", 1);
	check_urls(&o, "http://traces:9999/custom/path", "http://metrics:9090/m");

	/* The explicit option (--otlp-endpoint) outranks every variable. */
	o.endpoint = "http://127.0.0.1:4318";
	check_urls(&o, "http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/metrics");

	o.endpoint = "collector:4318";
	cr_assert_eq(otlp__new(&o, &x), -EINVAL);
	cr_assert_null(x);

	o.endpoint = NULL;
	clear_env();
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	cr_assert_eq(otlp__new(&o, &x), -EPROTONOSUPPORT);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	check_urls(&o, "http://localhost:4318/v1/traces", "http://localhost:4318/v1/metrics");
	otlp__free(NULL);
}

/*
 * Resource attributes of the one request an exporter sends, "k=v\n" each,
 * for a span of opts->pid (or of @pid: a process that is gone).
 */
static char *resource_of(const struct otlp_opts *opts, pid_t pid)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
	struct otlp_opts o = *opts;
	struct span_record s = numbered(0);
	char *text = NULL;
	size_t len = 0;
	struct rx r = {0};
	struct otlp *x;

	s.pid = o.pid > 0 ? (uint32_t)o.pid : (uint32_t)pid;
	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__push_span(x, &s), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__free(x);
	rx_stop(&r);
	cr_assert_eq(r.n, 1);
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, r.req[0].len, r.req[0].body);
	cr_assert_not_null(req);
	for (size_t i = 0; i < req->resource_spans[0]->resource->n_attributes; i++) {
		Opentelemetry__Proto__Common__V1__KeyValue *kv =
			req->resource_spans[0]->resource->attributes[i];

		if (kv->value->value_case ==
		    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE)
			append(&text, &len, "%s=%" PRId64 "\n", kv->key, kv->value->int_value);
		else
			append(&text, &len, "%s=%s\n", kv->key, kv->value->string_value);
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
		req, NULL);
	rx_free(&r);
	return text;
}

Test(export_otlp, resource_attributes_from_env)
{
	struct otlp_opts o = {.pid = 4242, .exe_name = "myapp"};
	char *got, *want;

	clear_env();
	got = resource_of(&o, 0);
	cr_assert_geq(asprintf(&want,
			       "service.name=myapp\nhost.name=%s\nprocess.pid=4242\n"
			       "process.executable.name=myapp\ntelemetry.sdk.name=sonde\n"
			       "telemetry.sdk.version=%s\n",
			       hostname(), SONDE_VERSION),
		      0);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);

	/* Percent-decoded values, whitespace trimmed, empty members skipped;
	 * the variable's values override detected ones. */
	setenv("OTEL_RESOURCE_ATTRIBUTES",
	       "deployment.environment=prod%20eu, team = a%2Cb%3Dc ,,service.name=from-attrs,"
	       "host.name=node-7,k8s.pod.name=p%C3%A9",
	       1);
	got = resource_of(&o, 0);
	cr_assert_str_eq(got,
			 "service.name=from-attrs\nhost.name=node-7\nprocess.pid=4242\n"
			 "process.executable.name=myapp\ntelemetry.sdk.name=sonde\n"
			 "telemetry.sdk.version=" SONDE_VERSION "\n"
			 "deployment.environment=prod eu\nteam=a,b=c\nk8s.pod.name=p\xc3\xa9\n");
	free(got);

	/* OTEL_SERVICE_NAME outranks OTEL_RESOURCE_ATTRIBUTES... */
	setenv("OTEL_SERVICE_NAME", "checkout", 1);
	got = resource_of(&o, 0);
	cr_assert_not_null(strstr(got, "service.name=checkout\n"));
	cr_assert_null(strstr(got, "from-attrs"));
	free(got);

	/* ...and the explicit option outranks both. */
	o.service_name = "explicit";
	got = resource_of(&o, 0);
	cr_assert_eq(strncmp(got, "service.name=explicit\n", 22), 0, "%s", got);
	free(got);
}

Test(export_otlp, malformed_resource_attributes_ignored)
{
	static const char *const bad[] = {"a=1,b", "a=%zz", "a=1,=2", "a=%4", "a=x%00y"};
	struct otlp_opts o = {0};
	pid_t gone = gone_pid();

	clear_env();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got, *want;

		setenv("OTEL_RESOURCE_ATTRIBUTES", bad[i], 1);
		got = resource_of(&o, gone);
		cr_assert_geq(asprintf(&want,
				       "service.name=sonde\nhost.name=%s\nprocess.pid=%d\n"
				       "telemetry.sdk.name=sonde\ntelemetry.sdk.version=%s\n",
				       hostname(), (int)gone, SONDE_VERSION),
			      0);
		cr_assert_str_eq(got, want, "OTEL_RESOURCE_ATTRIBUTES=%s", bad[i]);
		free(got);
		free(want);
	}
}

Test(export_otlp, headers_from_env)
{
	struct otlp_opts o = {0};
	struct span_record s = numbered(0);
	struct rx r = {0};
	struct otlp *x;

	clear_env();
	setenv("OTEL_EXPORTER_OTLP_HEADERS",
	       "x-api-key=abc%3D%3D, X-Tenant = team 1 ,bad%0Aname=v,x-evil=a%0D%0Ab: c", 1);
	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__push_span(x, &s), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 1);
	cr_assert_not_null(strstr(r.req[0].head, "\r\nx-api-key: abc==\r\n"), "%s", r.req[0].head);
	cr_assert_not_null(strstr(r.req[0].head, "\r\nX-Tenant: team 1\r\n"), "%s", r.req[0].head);
	/* Header injection attempts are skipped, not sent. */
	cr_assert_null(strstr(r.req[0].head, "bad"), "%s", r.req[0].head);
	cr_assert_null(strstr(r.req[0].head, "x-evil"), "%s", r.req[0].head);
	cr_assert_null(strstr(r.req[0].head, "\r\nb: c"), "%s", r.req[0].head);
	cr_assert_null(strstr(r.req[0].head, "Expect:"), "%s", r.req[0].head);
	rx_free(&r);
}

/*
 * A long name is cut, not dropped; and protobuf strings must be UTF-8 (a
 * Go collector refuses the whole request otherwise): a target's exe name
 * that is not, and a cut through a character, come out with '?' for each
 * bad byte.
 */
Test(export_otlp, long_strings_are_cut_not_dropped)
{
	struct otlp_opts o = {.pid = 4242,
			      .exe_name = "my\xff\xc0"
					  "pp"};
	struct span_record s = numbered(0);
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
	const Opentelemetry__Proto__Resource__V1__Resource *res;
	char *longname = malloc(10000);
	const char *got;
	struct rx r = {0};
	struct otlp *x;

	clear_env();
	memset(longname, 'n', 9999);
	longname[9999] = '\0';
	/* The cut at 4095 bytes splits the euro sign. */
	memcpy(longname + 4094, "\xe2\x82\xac", 3);
	s.name = longname;
	s.pid = o.pid; /* the process described by the options, not whatever runs as PID 10 */
	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__push_span(x, &s), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__free(x);
	rx_stop(&r);

	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, r.req[0].len, r.req[0].body);
	cr_assert_not_null(req);
	got = req->resource_spans[0]->scope_spans[0]->spans[0]->name;
	cr_assert_eq(strlen(got), 4095);
	cr_expect_eq(got[4094], '?');
	cr_expect(utf8_valid(got));
	res = req->resource_spans[0]->resource;
	for (size_t i = 0; i < res->n_attributes; i++) {
		const Opentelemetry__Proto__Common__V1__KeyValue *kv = res->attributes[i];

		if (kv->value->value_case ==
		    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
			cr_expect(utf8_valid(kv->value->string_value), "%s", kv->key);
		if (!strcmp(kv->key, "process.executable.name"))
			cr_expect_str_eq(kv->value->string_value, "my??pp");
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
		req, NULL);
	free(longname);
	rx_free(&r);
}

/* ---- log records through OpenTelemetry's decoders ------------------------ */

static const struct span_attr log_attrs[] = {
	{.key = "code.function.name", .type = SPAN_ATTR_STRING, .str = "handle_request"},
	{.key = "sonde.latency.p99_ns", .type = SPAN_ATTR_INT, .i = 10485760},
	{.key = "sonde.anomaly.p_value", .type = SPAN_ATTR_DOUBLE, .d = 0.00025},
	{.key = "ignored.array", .type = SPAN_ATTR_STRINGS},
};

Test(export_otlp, log_record_decodes_with_otel_schema)
{
	struct otlp_opts o = {.batch_ms = 60000};
	struct otlp_log l = {
		.time_unix_ns = T0 + 5000000000ull,
		.observed_unix_ns = T0 + 5000000123ull,
		.severity = OTLP_SEVERITY_WARN,
		.severity_text = "WARN",
		.body = "latency anomaly in handle_request: p99 1 ms -> 10 ms",
		.attrs = log_attrs,
		.nattrs = 4,
	};
	struct otlp_stats st;
	struct rx r = {0};
	struct otlp *x;
	char *got, *want, url[128];

	unsetenv("OTEL_SERVICE_NAME");
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	unsetenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
	rx_start(&r);
	x = new_exporter(&r, &o);
	snprintf(url, sizeof(url), "%s/v1/logs", rx_url(&r));
	cr_assert_str_eq(otlp__url(x, OTLP_LOGS), url);
	cr_assert_eq(otlp__push_log(x, &l), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__stats(x, &st);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 1);
	cr_assert_str_eq(r.req[0].path, "/v1/logs");
	cr_assert(strstr(r.req[0].head, "Content-Type: application/x-protobuf") != NULL, "%s",
		  r.req[0].head);
	cr_assert_eq(st.logs_pushed, 1);
	cr_assert_eq(st.logs_sent, 1);
	cr_assert_eq(st.logs_dropped, 0);
	cr_assert_eq(st.bytes_sent, r.req[0].len);

	got = protoc_decode(&r.req[0],
			    "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
			    "opentelemetry/proto/collector/logs/v1/logs_service.proto");
	cr_assert_geq(
		asprintf(&want,
			 "resource_logs {\n"
			 "  resource {\n"
			 "    attributes {\n      key: \"service.name\"\n      value {\n"
			 "        string_value: \"sonde\"\n      }\n    }\n"
			 "    attributes {\n      key: \"host.name\"\n      value {\n"
			 "        string_value: \"%s\"\n      }\n    }\n"
			 "    attributes {\n      key: \"telemetry.sdk.name\"\n      value {\n"
			 "        string_value: \"sonde\"\n      }\n    }\n"
			 "    attributes {\n      key: \"telemetry.sdk.version\"\n      value {\n"
			 "        string_value: \"" SONDE_VERSION "\"\n      }\n    }\n"
			 "  }\n"
			 "  scope_logs {\n"
			 "    scope {\n      name: \"sonde\"\n      version: \"" SONDE_VERSION "\"\n"
			 "    }\n"
			 "    log_records {\n"
			 "      time_unix_nano: 1700000005000000000\n"
			 "      severity_number: SEVERITY_NUMBER_WARN\n"
			 "      severity_text: \"WARN\"\n"
			 "      body {\n"
			 "        string_value: \"latency anomaly in handle_request: p99 1 ms -> 10 "
			 "ms\"\n"
			 "      }\n"
			 "      attributes {\n        key: \"code.function.name\"\n        value {\n"
			 "          string_value: \"handle_request\"\n        }\n      }\n"
			 "      attributes {\n        key: \"sonde.latency.p99_ns\"\n        value {\n"
			 "          int_value: 10485760\n        }\n      }\n"
			 "      attributes {\n        key: \"sonde.anomaly.p_value\"\n        value {\n"
			 "          double_value: 0.00025\n        }\n      }\n"
			 "      observed_time_unix_nano: 1700000005000000123\n"
			 "    }\n"
			 "  }\n"
			 "}\n",
			 hostname()),
		0);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);

	got = node_decode(&r.req[0], "logs");
	cr_assert_geq(asprintf(&want,
			       "resource service.name=sonde\nresource host.name=%s\n"
			       "resource telemetry.sdk.name=sonde\n"
			       "resource telemetry.sdk.version=" SONDE_VERSION "\n"
			       "scope sonde " SONDE_VERSION "\n"
			       "log severity=13 text=WARN time=1700000005000000000 "
			       "observed=1700000005000000123 code.function.name=handle_request "
			       "sonde.latency.p99_ns=10485760 sonde.anomaly.p_value=0.00025\n"
			       "body latency anomaly in handle_request: p99 1 ms -> 10 ms\n",
			       hostname()),
		      0);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	rx_free(&r);
}

/*
 * An anomaly's function name is the target's and need not be UTF-8: the
 * body and string attributes come out with '?' for each bad byte, and the
 * request still decodes.
 */
Test(export_otlp, log_strings_are_made_utf8)
{
	static const struct span_attr attrs[] = {
		{.key = "code.function.name", .type = SPAN_ATTR_STRING, .str = "f\xff\xfe"},
	};
	struct otlp_opts o = {.batch_ms = 60000};
	struct otlp_log l = {
		.time_unix_ns = T0,
		.severity = OTLP_SEVERITY_WARN,
		.severity_text = "WARN",
		.body = "latency anomaly in f\xff\xfe",
		.attrs = attrs,
		.nattrs = 1,
	};
	Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req;
	const Opentelemetry__Proto__Logs__V1__LogRecord *rec;
	struct rx r = {0};
	struct otlp *x;

	clear_env();
	rx_start(&r);
	x = new_exporter(&r, &o);
	cr_assert_eq(otlp__push_log(x, &l), 0);
	cr_assert_eq(otlp__flush(x, 5000), 0);
	otlp__free(x);
	rx_stop(&r);

	cr_assert_eq(r.n, 1);
	req = opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
		NULL, r.req[0].len, r.req[0].body);
	cr_assert_not_null(req);
	rec = req->resource_logs[0]->scope_logs[0]->log_records[0];
	cr_expect_str_eq(rec->body->string_value, "latency anomaly in f??");
	cr_expect_str_eq(rec->severity_text, "WARN");
	cr_assert_eq(rec->n_attributes, 1);
	cr_expect_str_eq(rec->attributes[0]->value->string_value, "f??");
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(req,
											      NULL);
	rx_free(&r);
}
