// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "sonde/spans.h"

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void attr_int(FILE *f, const char *key, uint64_t v, int last)
{
	fprintf(f, "{\"key\":\"%s\",\"value\":{\"intValue\":\"%" PRIu64 "\"}}%s", key, v,
		last ? "" : ",");
}

static void attr_str(FILE *f, const char *key, const char *v, int last)
{
	fprintf(f, "{\"key\":\"%s\",\"value\":{\"stringValue\":", key);
	json_string(f, v ? v : "");
	fprintf(f, "}}%s", last ? "" : ",");
}

int span_json__write(FILE *f, const struct span_record *s)
{
	fprintf(f, "{\"traceId\":\"%016" PRIx64 "%016" PRIx64 "\",\"spanId\":\"%016" PRIx64 "\",",
		s->trace_id_hi, s->trace_id_lo, s->span_id);
	if (s->parent_span_id)
		fprintf(f, "\"parentSpanId\":\"%016" PRIx64 "\",", s->parent_span_id);
	else
		fputs("\"parentSpanId\":\"\",", f);
	fputs("\"name\":", f);
	json_string(f, s->name);
	fprintf(f, ",\"startTimeUnixNano\":\"%" PRIu64 "\",\"endTimeUnixNano\":\"%" PRIu64 "\",",
		s->start_unix_ns, s->end_unix_ns);
	fputs("\"attributes\":[", f);
	attr_int(f, "process.pid", s->pid, 0);
	attr_int(f, "thread.id", s->tid, 0);
	attr_str(f, "code.function", s->name, 0);
	attr_str(f, "code.filepath", s->filepath, 1);
	fputs("]}\n", f);
	return ferror(f) ? -EIO : 0;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int64_t clock_mono_to_real_ns(void)
{
	int64_t best_gap = INT64_MAX, off = 0;

	/* Bracket a realtime reading between two monotonic ones; keep the tightest. */
	for (int i = 0; i < 5; i++) {
		struct timespec m1, r, m2;
		int64_t gap;

		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		gap = ts_ns(&m2) - ts_ns(&m1);
		if (gap < best_gap) {
			best_gap = gap;
			off = ts_ns(&r) - (ts_ns(&m1) + gap / 2);
		}
	}
	return off;
}
