/* SPDX-License-Identifier: MIT */
/*
 * Spans as OTLP-JSON lines (the --spans file): one ExportTraceServiceRequest
 * per line and per completed span, with the process's Resource
 * (export/resource.h), the scope (name "sonde", version) and the span in
 * OTLP's JSON encoding: ids in lower-case hex, times and 64-bit ints as
 * decimal strings, kind as its number (1 INTERNAL for functions, 3 CLIENT
 * for LLM calls), no parentSpanId on a root span:
 *
 *   {"resourceSpans":[{"resource":{"attributes":[...]},"scopeSpans":[{
 *    "scope":{"name":"sonde","version":"0.1.0"},"spans":[{"traceId":"..",
 *    "spanId":"..","parentSpanId":"..","name":"..","kind":1,
 *    "startTimeUnixNano":"..","endTimeUnixNano":"..","attributes":[...]}]}]}]}
 *
 * That is what the OpenTelemetry Collector's otlpjsonfile receiver reads,
 * and a line is whole as soon as its span completes, so `tail -f` works.
 */
#ifndef SONDE_EXPORT_OTLP_JSON_H
#define SONDE_EXPORT_OTLP_JSON_H

#include <stdio.h>

struct otlp_json;
struct span_record;

/* Resources from the environment (OTEL_SERVICE_NAME, ...). 0 or -ENOMEM. */
int otlp_json__new(struct otlp_json **out);
void otlp_json__free(struct otlp_json *x);
/* As otlp__add_process(): describe target @pid (both NULL: from /proc now). */
int otlp_json__add_process(struct otlp_json *x, int pid, const char *exe_path,
			   const char *command);
/* Write @s as one line ending in '\n'. 0, -ENOMEM or -EIO. */
int otlp_json__write(struct otlp_json *x, FILE *f, const struct span_record *s);

#endif /* SONDE_EXPORT_OTLP_JSON_H */
