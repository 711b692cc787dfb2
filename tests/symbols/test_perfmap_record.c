// SPDX-License-Identifier: MIT
/*
 * JIT frames end to end: sonde record on a process running code from
 * anonymous memory named in /tmp/perf-PID.map (the jitfix fixture, then a
 * real JIT: node --perf-basic-prof) must show the JIT names in the folded
 * output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

/* Samples in folded @text whose stack contains @needle. */
static unsigned long samples_with(const char *text, const char *needle, unsigned long *total)
{
	unsigned long hits = 0;
	const char *line = text;

	*total = 0;
	while (*line) {
		const char *nl = strchr(line, '\n'), *sp;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *buf = strndup(line, len);
		unsigned long n;

		cr_assert_not_null(buf);
		sp = strrchr(buf, ' ');
		cr_assert_not_null(sp, "folded line without a count");
		n = strtoul(sp + 1, NULL, 10);
		*total += n;
		if (strstr(buf, needle))
			hits += n;
		free(buf);
		if (!nl)
			break;
		line = nl + 1;
	}
	return hits;
}

static char *record(const char *name, char *const cmd[])
{
	char out[4096], *err = NULL, *argv[32];
	int i = 0, j, rc;
	char *text;

	snprintf(out, sizeof(out), "%s/%s.folded", test_tmpdir(), name);
	argv[i++] = (char *)sonde_bin();
	argv[i++] = "record";
	argv[i++] = "-F";
	argv[i++] = "499";
	argv[i++] = "-o";
	argv[i++] = out;
	argv[i++] = "--";
	for (j = 0; cmd[j] && i < 31; j++)
		argv[i++] = cmd[j];
	argv[i] = NULL;
	rc = run_cmd(argv, NULL, &err);
	cr_assert_eq(rc, 0, "sonde record failed (%d): %s", rc, err);
	free(err);
	text = read_file(out, NULL);
	cr_assert_not_null(text);
	return text;
}

Test(perfmap_record, jit_fixture_frames_are_named, .timeout = 120)
{
	char *cmd[] = {(char *)fixture_path("jitfix"), "spin", "2", NULL};
	unsigned long total, hits;
	char *text;

	require_bpf();
	text = record("jitfix", cmd);
	hits = samples_with(text, ";jitfix_answer", &total);
	cr_log_info("jitfix: %lu of %lu samples in jitfix_answer", hits, total);
	/* The loop spends nearly all its time in the JIT code. */
	cr_assert_gt(total, 499);
	cr_assert_gt(hits, total * 8 / 10, "%lu of %lu samples named jitfix_answer", hits, total);
	free(text);
}

Test(perfmap_record, node_perf_basic_prof_names_js, .timeout = 120)
{
	static const char js[] = "function hotLoop(n) { let s = 0; for (let i = 0; i < n; i++) "
				 "s += Math.sqrt(i) * 1.0001; return s; }"
				 "const end = Date.now() + 2000; let t = 0;"
				 "while (Date.now() < end) t += hotLoop(100000);";
	char *cmd[] = {"/usr/bin/node", "--perf-basic-prof", "-e", (char *)js, NULL};
	unsigned long total, hits;
	char *text;

	require_bpf();
	require_path("/usr/bin/node", X_OK, "node (nodejs)");
	text = record("node", cmd);
	hits = samples_with(text, "hotLoop", &total);
	cr_log_info("node: %lu of %lu samples in a frame named hotLoop", hits, total);
	/* V8 names it "JS:*hotLoop [eval]:1:..." once optimized. */
	cr_assert_gt(hits, total / 4, "%lu of %lu samples name hotLoop", hits, total);
	free(text);
}
