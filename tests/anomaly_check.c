// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "anomaly_check.h"
#include "helpers.h"

unsigned int anomaly_first_after(const char *log, const char *fn, unsigned long long after_ns,
				 unsigned long long *end_ns)
{
	char head[128];
	unsigned int window = 0;
	unsigned long long start = 0;
	const char *line;

	/* "latency anomaly in work (window 7, 0.5 s to 1733...000 ns)". The
	 * window the change falls in may hold a few slow calls only, enough to
	 * be flagged but not to show in its flame graph: the first window all
	 * after the change is the one whose profile tells. */
	snprintf(head, sizeof(head), "latency anomaly in %s (window ", fn);
	*end_ns = 0;
	for (line = strstr(log, head); line && start < after_ns; line = strstr(line + 1, head)) {
		const char *comma = strstr(line, ", "), *to = strstr(line, " s to ");

		cr_assert(comma && to, "%s", line);
		window = (unsigned int)strtoul(line + strlen(head), NULL, 10);
		*end_ns = strtoull(to + 6, NULL, 10);
		start = *end_ns - (unsigned long long)(strtod(comma + 2, NULL) * 1e9);
	}
	cr_assert_geq(start, after_ns, "no window after the change was flagged: %s", log);
	return window;
}

/* The biggest frame @fn of a flame graph: its fill and its change in pp. */
static void biggest_frame(const char *svg, const char *fn, unsigned int rgb[3], double *pp)
{
	char want[64];
	unsigned long best = 0;

	snprintf(want, sizeof(want), "<title>%s (", fn);
	for (const char *f = strstr(svg, want); f; f = strstr(f + 1, want)) {
		const char *fill = strstr(f, "fill=\"rgb("), *ch = strstr(f, "%; ");
		unsigned long n;

		cr_assert(fill && ch);
		cr_assert_eq(sscanf(f + strlen(want), "%lu", &n), 1);
		if (n <= best)
			continue;
		best = n;
		cr_assert_eq(sscanf(fill, "fill=\"rgb(%u,%u,%u)", &rgb[0], &rgb[1], &rgb[2]), 3);
		/* "(N samples, S%; before M, T%; +X pp)" */
		ch = strstr(ch + 3, "%; ");
		cr_assert(ch, "%.200s", f);
		cr_assert_eq(sscanf(ch + 3, "%lf pp", pp), 1, "%.200s", f);
	}
	cr_assert_gt(best, 0, "no frame %s", fn);
}

static void check_svg(const char *path, const char *grown, double min_pp)
{
	char *lint[] = {"/usr/bin/xmllint", "--noout", (char *)path, NULL};
	char *out, *err, *svg;
	unsigned int rgb[3];
	double pp;

	require_path(lint[0], X_OK, "xmllint (libxml2-utils)");
	cr_assert_eq(run_cmd(lint, &out, &err), 0, "xmllint %s: %s", path, err);
	free(out);
	free(err);
	svg = read_file(path, NULL);
	cr_assert_not_null(svg, "no %s", path);
	cr_assert(strstr(svg, "Differential CPU flame graph") != NULL, "%.300s", svg);
	biggest_frame(svg, grown, rgb, &pp);
	cr_log_info("%s rgb(%u,%u,%u), %+.2f pp", grown, rgb[0], rgb[1], rgb[2], pp);
	/* Grown: red, the shade of a real change, not the white of none. */
	cr_assert(rgb[0] == 255 && rgb[1] == rgb[2] && rgb[1] < 220,
		  "%s rgb(%u,%u,%u) is not grown red", grown, rgb[0], rgb[1], rgb[2]);
	cr_assert_geq(pp, min_pp, "%s grew %+.2f pp", grown, pp);
	free(svg);
}

static void check_log_record(struct rx *r, const char *fn, unsigned int window,
			     unsigned long long end_ns, const char *diff)
{
	char want[4200], *text = NULL;

	snprintf(want, sizeof(want), " sonde.window.index=%u ", window);
	for (int i = 0; i < r->n && !text; i++) {
		char *t;

		if (strcmp(r->req[i].path, "/v1/logs"))
			continue;
		t = node_decode(&r->req[i], "logs");
		if (strstr(t, want))
			text = t;
		else
			free(t);
	}
	cr_assert(text, "no log record of window %u among %d requests", window, r->n);
	cr_log_info("%s", text);
	cr_assert(strstr(text, "\nlog severity=13 text=WARN ") != NULL, "%s", text);
	snprintf(want, sizeof(want), " code.function.name=%s ", fn);
	cr_assert(strstr(text, want) != NULL, "no %s in %s", want, text);
	snprintf(want, sizeof(want), "\nbody latency anomaly in %s: ", fn);
	cr_assert(strstr(text, want) != NULL, "no %s in %s", want, text);
	snprintf(want, sizeof(want), " sonde.window.end_unix_nano=%llu ", end_ns);
	cr_assert(strstr(text, want) != NULL, "no %s in %s", want, text);
	snprintf(want, sizeof(want), " sonde.anomaly.flamegraph=%s\n", diff);
	cr_assert(strstr(text, want) != NULL, "no %s in %s", want, text);
	free(text);
}

char *anomaly_check_outputs(const char *log, const char *dir, struct rx *r, const char *fn,
			    unsigned int window, unsigned long long end_ns, const char *grown,
			    double min_pp, const char *folded_stack)
{
	char want[128], *diff, *folded;
	const char *line;
	size_t n;

	snprintf(want, sizeof(want),
		 "differential flame graph of the anomaly in window %u: ", window);
	line = strstr(log, want);
	cr_assert(line, "no flame graph for window %u: %s", window, log);
	line += strlen(want);
	n = strcspn(line, "\n");
	diff = strndup(line, n);
	cr_assert(!strncmp(diff, dir, strlen(dir)) && strstr(diff, "/anomaly-2") && n > 4 &&
			  !strcmp(diff + n - 4, ".svg"),
		  "%s", diff);
	check_svg(diff, grown, min_pp);
	/* The two-count folded stacks beside it. */
	cr_assert_geq(asprintf(&folded, "%.*s.folded", (int)(n - 4), diff), 0);
	line = read_file(folded, NULL);
	cr_assert_not_null(line, "no %s", folded);
	cr_assert(strstr(line, folded_stack) != NULL, "no %s in %.500s", folded_stack, line);
	free((char *)line);
	free(folded);
	if (r)
		check_log_record(r, fn, window, end_ns, diff);
	return diff;
}
