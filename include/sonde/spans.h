/* SPDX-License-Identifier: MIT */
/*
 * Spans as JSON lines, one object per completed call, with the field
 * names of OTLP's JSON encoding (ids in hex, times as decimal strings,
 * attributes as [{"key":..,"value":{"intValue"|"stringValue":..}}]).
 */
#ifndef SONDE_SPANS_H
#define SONDE_SPANS_H

#include <stdint.h>
#include <stdio.h>

struct span_record {
	uint64_t trace_id_hi, trace_id_lo;
	uint64_t span_id;
	uint64_t parent_span_id; /* 0: a root span, written as "" */
	uint64_t start_unix_ns, end_unix_ns;
	uint32_t pid, tid;
	const char *name;     /* the function */
	const char *filepath; /* the binary or library it is in */
};

/* Write @s as one line ending in '\n'. Returns 0 or -EIO. */
int span_json__write(FILE *f, const struct span_record *s);

/*
 * CLOCK_REALTIME minus CLOCK_MONOTONIC in nanoseconds, to turn
 * bpf_ktime_get_ns() times into wall-clock times. Measured as the
 * tightest of a few bracketed readings.
 */
int64_t clock_mono_to_real_ns(void);

#endif /* SONDE_SPANS_H */
