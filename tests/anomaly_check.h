/* SPDX-License-Identifier: MIT */
/*
 * What a latency anomaly of --watch leaves, checked the same way for
 * sonde trace and the agent: the first anomaly of a function after a
 * change, its differential flame graph (xmllint, a frame's colour and
 * change) with the folded file beside it, and its OTLP log record
 * (decoded by OpenTelemetry JS, tests/otlp_decode.js).
 */
#ifndef SONDE_TEST_ANOMALY_CHECK_H
#define SONDE_TEST_ANOMALY_CHECK_H

#include "http_rx.h"

/*
 * In @log (sonde's stderr), the first "latency anomaly in @fn" of a
 * window starting at or after @after_ns: its window index, its end in
 * @end_ns. Asserts there is one.
 */
unsigned int anomaly_first_after(const char *log, const char *fn, unsigned long long after_ns,
				 unsigned long long *end_ns);

/*
 * The anomaly of window @window (ending at @end_ns) left, under @dir, a
 * well-formed differential flame graph whose biggest frame @grown is red
 * and up by at least @min_pp points of the samples, the folded stacks
 * beside it with @folded_stack in them, and (unless @r is NULL) a log
 * record on /v1/logs: severity WARN, code.function.name=@fn, that window,
 * the flame graph's path. The flame graph's path, malloc'd.
 */
char *anomaly_check_outputs(const char *log, const char *dir, struct rx *r, const char *fn,
			    unsigned int window, unsigned long long end_ns, const char *grown,
			    double min_pp, const char *folded_stack);

#endif
