// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <criterion/criterion.h>

#include "sonde/spans.h"

static char *write_one(const struct span_record *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(span_json__write(f, r), 0);
	fclose(f);
	return buf;
}

Test(spans, child_span_line)
{
	struct span_record r = {
		.trace_id_hi = 0x0123456789abcdefull,
		.trace_id_lo = 0xfedcba9876543210ull,
		.span_id = 0x00000000000000a1ull,
		.parent_span_id = 0x1122334455667788ull,
		.start_unix_ns = 1700000000000000001ull,
		.end_unix_ns = 1700000000002000002ull,
		.pid = 123,
		.tid = 124,
		.name = "inner",
		.filepath = "/usr/bin/my\"prog",
	};
	char *line = write_one(&r);

	cr_assert_str_eq(
		line,
		"{\"traceId\":\"0123456789abcdeffedcba9876543210\",\"spanId\":\"00000000000000a1\","
		"\"parentSpanId\":\"1122334455667788\",\"name\":\"inner\","
		"\"startTimeUnixNano\":\"1700000000000000001\","
		"\"endTimeUnixNano\":\"1700000000002000002\",\"attributes\":["
		"{\"key\":\"process.pid\",\"value\":{\"intValue\":\"123\"}},"
		"{\"key\":\"thread.id\",\"value\":{\"intValue\":\"124\"}},"
		"{\"key\":\"code.function\",\"value\":{\"stringValue\":\"inner\"}},"
		"{\"key\":\"code.filepath\",\"value\":{\"stringValue\":\"/usr/bin/"
		"my\\\"prog\"}}]}\n");
	free(line);
}

Test(spans, root_span_has_empty_parent)
{
	struct span_record r = {.trace_id_hi = 1, .trace_id_lo = 2, .span_id = 3, .name = "outer"};
	char *line = write_one(&r);

	cr_assert(strstr(line, "\"traceId\":\"00000000000000010000000000000002\""));
	cr_assert(strstr(line, "\"parentSpanId\":\"\","));
	free(line);
}

Test(spans, clock_offset_matches_realtime)
{
	struct timespec m, r;
	int64_t off = clock_mono_to_real_ns(), now_mono, now_real;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	now_mono = (int64_t)m.tv_sec * 1000000000 + m.tv_nsec;
	now_real = (int64_t)r.tv_sec * 1000000000 + r.tv_nsec;
	/* Within a millisecond: the two readings above are microseconds apart. */
	cr_assert(llabs(now_mono + off - now_real) < 1000000, "offset off by %lld ns",
		  (long long)(now_mono + off - now_real));
}
