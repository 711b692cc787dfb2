// SPDX-License-Identifier: MIT
/*
 * Closing lines with figures: the text format is log_summary()'s, and in
 * JSON (OTLP LogRecord fields) the figures are attributes too.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "base/log.h"

/* What @fn prints on stderr. */
static char *stderr_of(int (*fn)(void *))
{
	int ret;

	return capture_stderr(fn, NULL, &ret);
}

static int closing_line(void *unused)
{
	struct log_line l;

	log_line_init(&l);
	log_line_add(&l, "%d samples, %d lost", 120, 3);
	log_line_int(&l, "sonde.samples", 120);
	log_line_int(&l, "sonde.samples.lost", 3);
	log_line_add(&l, ", %.2f s CPU", 1.5);
	log_line_double(&l, "sonde.cpu.seconds", 1.5);
	log_summary_line(&l);
	return 0;
}

static int plain_summary(void *unused)
{
	log_summary("%d samples, %d lost, %.2f s CPU", 120, 3, 1.5);
	return 0;
}

Test(log, closing_line_text_is_log_summarys)
{
	char *a, *b;

	log_set_format(LOG_FORMAT_TEXT);
	a = stderr_of(closing_line);
	b = stderr_of(plain_summary);
	cr_assert_str_eq(a, "sonde: 120 samples, 3 lost, 1.50 s CPU\n");
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(log, json_closing_line_has_its_figures_as_attributes)
{
	char *a;
	const char *body;

	log_set_format(LOG_FORMAT_JSON);
	a = stderr_of(closing_line);
	log_set_format(LOG_FORMAT_TEXT);
	cr_assert_eq(strncmp(a, "{\"timeUnixNano\":\"", 17), 0, "%s", a);
	body = strstr(a, ",\"severityNumber\":9,");
	cr_assert_not_null(body, "%s", a);
	cr_assert_str_eq(
		body, ",\"severityNumber\":9,\"severityText\":\"INFO\",\"body\":{\"stringValue\":"
		      "\"120 samples, 3 lost, 1.50 s CPU\"},\"attributes\":["
		      "{\"key\":\"sonde.samples\",\"value\":{\"intValue\":\"120\"}},"
		      "{\"key\":\"sonde.samples.lost\",\"value\":{\"intValue\":\"3\"}},"
		      "{\"key\":\"sonde.cpu.seconds\",\"value\":{\"doubleValue\":1.5}}]}\n");
	free(a);
}

#define RACE_LINES 300

static void *log_lines(void *arg)
{
	for (int i = 0; i < RACE_LINES; i++)
		closing_line(arg);
	return NULL;
}

static int two_threads(void *unused)
{
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, log_lines, NULL), 0);
	log_lines(NULL);
	pthread_join(t, NULL);
	return 0;
}

/*
 * Two threads logging JSON at once: every line is one whole record (they
 * were written piece by piece, and interleaved into lines that were not
 * JSON).
 */
Test(log, json_lines_of_two_threads_do_not_interleave)
{
	char *a, *save = NULL;
	int n = 0;

	log_set_format(LOG_FORMAT_JSON);
	a = stderr_of(two_threads);
	log_set_format(LOG_FORMAT_TEXT);
	for (char *l = strtok_r(a, "\n", &save); l; l = strtok_r(NULL, "\n", &save), n++) {
		cr_assert_eq(strncmp(l, "{\"timeUnixNano\":\"", 17), 0, "line %d: %s", n, l);
		cr_assert(strstr(l, "\"120 samples, 3 lost, 1.50 s CPU\"},\"attributes\":[") &&
				  !strcmp(l + strlen(l) - 4, "}}]}"),
			  "line %d: %s", n, l);
	}
	cr_assert_eq(n, 2 * RACE_LINES);
	free(a);
}

Test(log, line_is_cut_not_overflowed)
{
	struct log_line l;

	log_line_init(&l);
	for (int i = 0; i < 1000; i++)
		log_line_add(&l, "%s", "0123456789");
	cr_assert_eq(l.len, LOG_LINE_MAX - 1);
	cr_assert_eq(strlen(l.text), LOG_LINE_MAX - 1);
	for (int i = 0; i < LOG_LINE_FIGURES + 5; i++)
		log_line_int(&l, "k", i);
	cr_assert_eq(l.nfig, LOG_LINE_FIGURES);
}
