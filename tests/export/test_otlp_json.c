// SPDX-License-Identifier: MIT
/*
 * OTLP-JSON span lines (--spans): the exact text of a line, and lines of
 * two processes read by OpenTelemetry JS's generated decoder
 * (tests/otlp_decode.js traces-json: fromObject, and the message must
 * read back as the object written, so no field is unknown to it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "http_rx.h"
#include "export/otlp_json.h"
#include "model/spans.h"

#define T0 1700000000000000001ull

static char *host(void)
{
	static char h[256];

	cr_assert_eq(gethostname(h, sizeof(h)), 0);
	return h;
}

static struct otlp_json *new_writer(void)
{
	struct otlp_json *x = NULL;

	unsetenv("OTEL_SERVICE_NAME");
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	cr_assert_eq(otlp_json__new(&x), 0);
	cr_assert_eq(otlp_json__add_process(x, 123, "/usr/bin/my\"prog", "my\"prog"), 0);
	cr_assert_eq(otlp_json__add_process(x, 456, "/opt/other", "other"), 0);
	return x;
}

static char *write_lines(struct otlp_json *x, const struct span_record *r, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(otlp_json__write(x, f, &r[i]), 0);
	fclose(f);
	return buf;
}

static const struct span_record child = {
	.trace_id_hi = 0x0123456789abcdefull,
	.trace_id_lo = 0xfedcba9876543210ull,
	.span_id = 0x00000000000000a1ull,
	.parent_span_id = 0x1122334455667788ull,
	.start_unix_ns = T0,
	.end_unix_ns = T0 + 2000001,
	.pid = 123,
	.tid = 124,
	.name = "inner",
	.filepath = "/usr/lib/libx.so",
	.source_file = "/src/x/inner.c",
	.source_line = 17,
};

Test(otlp_json, child_span_line)
{
	struct otlp_json *x = new_writer();
	char *line = write_lines(x, &child, 1), *want;

	cr_assert_geq(
		asprintf(&want,
			 "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
			 "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"my\\\"prog\"}},"
			 "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"%s\"}},"
			 "{\"key\":\"process.pid\",\"value\":{\"intValue\":\"123\"}},"
			 "{\"key\":\"process.executable.name\",\"value\":{\"stringValue\":"
			 "\"my\\\"prog\"}},"
			 "{\"key\":\"process.executable.path\",\"value\":{\"stringValue\":"
			 "\"/usr/bin/my\\\"prog\"}},"
			 "{\"key\":\"process.command\",\"value\":{\"stringValue\":\"my\\\"prog\"}},"
			 "{\"key\":\"telemetry.sdk.name\",\"value\":{\"stringValue\":\"sonde\"}},"
			 "{\"key\":\"telemetry.sdk.version\",\"value\":{\"stringValue\":\"%s\"}}]},"
			 "\"scopeSpans\":[{\"scope\":{\"name\":\"sonde\",\"version\":\"%s\"},"
			 "\"spans\":[{\"traceId\":\"0123456789abcdeffedcba9876543210\","
			 "\"spanId\":\"00000000000000a1\",\"parentSpanId\":\"1122334455667788\","
			 "\"name\":\"inner\",\"kind\":1,\"startTimeUnixNano\":"
			 "\"1700000000000000001\","
			 "\"endTimeUnixNano\":\"1700000000002000002\",\"attributes\":["
			 "{\"key\":\"thread.id\",\"value\":{\"intValue\":\"124\"}},"
			 "{\"key\":\"code.function.name\",\"value\":{\"stringValue\":\"inner\"}},"
			 "{\"key\":\"code.file.path\",\"value\":{\"stringValue\":\"/src/x/"
			 "inner.c\"}},"
			 "{\"key\":\"code.line.number\",\"value\":{\"intValue\":\"17\"}},"
			 "{\"key\":\"sonde.module.path\",\"value\":{\"stringValue\":"
			 "\"/usr/lib/libx.so\"}}]}]}]}]}\n",
			 host(), SONDE_VERSION, SONDE_VERSION),
		0);
	cr_assert_str_eq(line, want);
	free(want);
	free(line);
	otlp_json__free(x);
}

Test(otlp_json, root_span_has_no_parent_and_exe_is_the_resources)
{
	struct span_record r = {.trace_id_hi = 1,
				.trace_id_lo = 2,
				.span_id = 3,
				.pid = 456,
				.tid = 456,
				.name = "outer",
				.filepath = "/opt/other"};
	struct otlp_json *x = new_writer();
	char *line = write_lines(x, &r, 1);

	cr_assert(strstr(line, "\"spans\":[{\"traceId\":\"00000000000000010000000000000002\","
			       "\"spanId\":\"0000000000000003\",\"name\":\"outer\",\"kind\":1,"),
		  "%s", line);
	cr_assert_null(strstr(line, "parentSpanId"), "%s", line);
	cr_assert_null(strstr(line, "sonde.module.path"), "%s", line);
	cr_assert_eq(strchr(line, '\n'), line + strlen(line) - 1, "one line: %s", line);
	free(line);
	otlp_json__free(x);
}

/*
 * A line's Resource is rendered once and reused while the process stays
 * the same: lines of 123, 456, 123 each carry their own, and a process
 * described anew (an exec) is rendered anew.
 */
Test(otlp_json, each_line_its_own_processes_resource)
{
	struct span_record r[3] = {child, child, child};
	struct otlp_json *x = new_writer();
	char *text, *l2, *l3, *p;

	r[1].pid = 456;
	text = write_lines(x, r, 3);
	l2 = strchr(text, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	p = strstr(text, "\"process.pid\",\"value\":{\"intValue\":\"123\"}");
	cr_assert(p && p < l2, "%s", text);
	p = strstr(l2, "\"process.pid\",\"value\":{\"intValue\":\"456\"}");
	cr_assert(p && p < l3, "%s", text);
	cr_assert_not_null(strstr(l3, "\"process.pid\",\"value\":{\"intValue\":\"123\"}"), "%s",
			   text);
	cr_assert_eq(strncmp(text, l3, (size_t)(l2 - text)), 0, "lines 1 and 3 differ: %s", text);
	free(text);
	cr_assert_eq(otlp_json__add_process(x, 123, "/usr/bin/after-exec", "after-exec"), 0);
	text = write_lines(x, r, 1);
	cr_assert_not_null(strstr(text, "{\"stringValue\":\"/usr/bin/after-exec\"}"), "%s", text);
	free(text);
	otlp_json__free(x);
}

Test(otlp_json, otel_decoder_reads_every_line)
{
	struct span_record r[3] = {child, child, child};
	struct otlp_json *x = new_writer();
	char path[512], *text, *got, *want;
	FILE *f;

	r[1].pid = 456;
	r[1].tid = 457;
	r[1].span_id = 0xb2;
	r[1].parent_span_id = 0;
	r[1].name = "outer \"q\" \xc3\xa9";
	r[1].filepath = "/opt/other";
	r[1].source_file = NULL;
	r[2].span_id = 0xc3;
	text = write_lines(x, r, 3);
	snprintf(path, sizeof(path), "%s/spans.jsonl", test_tmpdir());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	got = node_decode_file(path, "traces-json");
	cr_assert_geq(
		asprintf(&want,
			 "resource service.name=my\"prog\nresource host.name=%1$s\n"
			 "resource process.pid=123\nresource process.executable.name=my\"prog\n"
			 "resource process.executable.path=/usr/bin/my\"prog\n"
			 "resource process.command=my\"prog\nresource telemetry.sdk.name=sonde\n"
			 "resource telemetry.sdk.version=%2$s\nscope sonde %2$s\n"
			 "span 0123456789abcdeffedcba9876543210 00000000000000a1 1122334455667788 "
			 "inner kind=1 start=1700000000000000001 end=1700000000002000002 "
			 "thread.id=124 code.function.name=inner code.file.path=/src/x/inner.c "
			 "code.line.number=17 sonde.module.path=/usr/lib/libx.so\n"
			 "resource service.name=other\nresource host.name=%1$s\n"
			 "resource process.pid=456\nresource process.executable.name=other\n"
			 "resource process.executable.path=/opt/other\n"
			 "resource process.command=other\nresource telemetry.sdk.name=sonde\n"
			 "resource telemetry.sdk.version=%2$s\nscope sonde %2$s\n"
			 "span 0123456789abcdeffedcba9876543210 00000000000000b2 - "
			 "outer \"q\" \xc3\xa9 kind=1 start=1700000000000000001 "
			 "end=1700000000002000002 thread.id=457 code.function.name=outer \"q\" "
			 "\xc3\xa9\n"
			 "resource service.name=my\"prog\nresource host.name=%1$s\n"
			 "resource process.pid=123\nresource process.executable.name=my\"prog\n"
			 "resource process.executable.path=/usr/bin/my\"prog\n"
			 "resource process.command=my\"prog\nresource telemetry.sdk.name=sonde\n"
			 "resource telemetry.sdk.version=%2$s\nscope sonde %2$s\n"
			 "span 0123456789abcdeffedcba9876543210 00000000000000c3 1122334455667788 "
			 "inner kind=1 start=1700000000000000001 end=1700000000002000002 "
			 "thread.id=124 code.function.name=inner code.file.path=/src/x/inner.c "
			 "code.line.number=17 sonde.module.path=/usr/lib/libx.so\n",
			 host(), SONDE_VERSION),
		0);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	free(text);
	otlp_json__free(x);
}
