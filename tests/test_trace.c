// SPDX-License-Identifier: MIT
/*
 * sonde trace end to end, under root with BPF: time the trace_nest
 * fixture (outer -> 2x inner(2 ms)) by -- CMD, by -p and on several
 * threads, checking exact call counts, p50 and the span tree; recursion,
 * longjmp and a thread exiting mid-call (trace_recurse); bad input.
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define INNER_NS 2000000.0
#define MAX_SPANS 4096

extern char **environ;

struct span {
	char trace[33];
	char id[17];
	char parent[17];
	char name[32];
	unsigned long tid;
};

/* The value of "key":"..." in @line, copied into @out. */
static void json_str(const char *line, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(line, pat);
	cr_assert(p, "no %s in span: %s", key, line);
	p += strlen(pat);
	end = strchr(p, '"');
	cr_assert(end && (size_t)(end - p) < len, "bad %s in span: %s", key, line);
	memcpy(out, p, end - p);
	out[end - p] = '\0';
}

static size_t load_spans(const char *path, struct span *spans)
{
	char *text = read_file(path, NULL), *line, *save = NULL;
	size_t n = 0;

	cr_assert_not_null(text, "no spans file %s", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct span *s = &spans[n++];
		const char *tid;

		cr_assert(n <= MAX_SPANS);
		json_str(line, "traceId", s->trace, sizeof(s->trace));
		json_str(line, "spanId", s->id, sizeof(s->id));
		json_str(line, "parentSpanId", s->parent, sizeof(s->parent));
		json_str(line, "name", s->name, sizeof(s->name));
		cr_assert_eq(strlen(s->trace), 32);
		cr_assert_eq(strlen(s->id), 16);
		tid = strstr(line, "\"thread.id\",\"value\":{\"intValue\":\"");
		cr_assert(tid, "no thread.id in %s", line);
		s->tid =
			strtoul(tid + strlen("\"thread.id\",\"value\":{\"intValue\":\""), NULL, 10);
		cr_assert(strstr(line, "\"startTimeUnixNano\":\"17") ||
				  strstr(line, "\"startTimeUnixNano\":\"18"),
			  "start time is not wall-clock: %s", line);
	}
	free(text);
	return n;
}

/* Every inner span's parent is an outer span of the same trace and thread. */
static void check_tree(const struct span *s, size_t n, unsigned long iters, int threads)
{
	unsigned long outer = 0, inner = 0;
	unsigned long tids[64];
	int ntids = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (int t = 0; t < ntids; t++)
			seen |= tids[t] == s[i].tid;
		if (!seen && ntids < 64)
			tids[ntids++] = s[i].tid;
		if (!strcmp(s[i].name, "outer")) {
			outer++;
			cr_assert_str_eq(s[i].parent, "", "outer span with a parent");
			continue;
		}
		cr_assert_str_eq(s[i].name, "inner");
		inner++;
		bool found = false;

		for (size_t j = 0; j < n && !found; j++) {
			if (strcmp(s[j].id, s[i].parent))
				continue;
			found = true;
			cr_assert_str_eq(s[j].name, "outer");
			cr_assert_str_eq(s[j].trace, s[i].trace, "child in another trace");
			cr_assert_eq(s[j].tid, s[i].tid, "parent on another thread");
		}
		cr_assert(found, "inner span %s has no parent span", s[i].id);
	}
	cr_assert_eq(outer, iters * threads);
	cr_assert_eq(inner, 2 * iters * threads);
	cr_assert_eq(ntids, threads);
}

/* "NAME (...)\n    calls N  p50 X UNIT ..." from the summary. */
static void summary_of(const char *out, const char *name, unsigned long *calls, double *p50_ns)
{
	char head[128], unit[8];
	const char *p;
	double v;

	snprintf(head, sizeof(head), "\n%s (", name);
	p = strstr(out, head);
	if (!strncmp(out, head + 1, strlen(head + 1)))
		p = out;
	cr_assert(p, "no summary for %s in:\n%s", name, out);
	p = strstr(p, "    calls ");
	cr_assert(p);
	cr_assert_eq(sscanf(p, "    calls %lu  p50 %lf %7s", calls, &v, unit), 3);
	if (!strcmp(unit, "ms"))
		v *= 1e6;
	else if (!strcmp(unit, "us"))
		v *= 1e3;
	else if (!strcmp(unit, "s"))
		v *= 1e9;
	*p50_ns = v;
}

static void check_nest_output(const char *out, const char *err, unsigned long iters, int threads)
{
	unsigned long calls;
	double p50;

	summary_of(out, "outer", &calls, &p50);
	cr_assert_eq(calls, iters * threads);
	summary_of(out, "inner", &calls, &p50);
	cr_assert_eq(calls, 2 * iters * threads);
	cr_assert(p50 >= INNER_NS * 0.9 && p50 <= INNER_NS * 1.1, "inner p50 %.0f ns", p50);
	cr_assert(strstr(out, "nsecs : count"), "no histogram in:\n%s", out);
	cr_assert(strstr(err, " 0 spans lost, 0 threads tracked (0 mid-call)"), "stats: %s", err);
}

Test(trace, command_spans_and_histograms)
{
	char spans_path[256];
	char *out, *err;
	static struct span spans[MAX_SPANS];
	size_t n;
	int rc;

	require_bpf();
	snprintf(spans_path, sizeof(spans_path), "%s/cmd.jsonl", test_tmpdir());
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			(char *)fixture_path("trace_nest") /* replaced below */,
			"-f",
			"trace_nest:inner",
			"--spans",
			spans_path,
			"--",
			(char *)fixture_path("trace_nest"),
			"40",
			NULL};
	char fo[512];

	snprintf(fo, sizeof(fo), "%s:outer", fixture_path("trace_nest"));
	argv[3] = fo;
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	check_nest_output(out, err, 40, 1);
	n = load_spans(spans_path, spans);
	cr_assert_eq(n, 120);
	check_tree(spans, n, 40, 1);
	free(out);
	free(err);
}

Test(trace, pid_spans_and_histograms)
{
	char spans_path[256], pid_s[16];
	char *out, *err;
	static struct span spans[MAX_SPANS];
	char *fargv[] = {(char *)fixture_path("trace_nest"), "30", "--wait-probe", NULL};
	pid_t pid;
	size_t n;
	int rc, st;

	require_bpf();
	snprintf(spans_path, sizeof(spans_path), "%s/pid.jsonl", test_tmpdir());
	cr_assert_eq(posix_spawn(&pid, fargv[0], NULL, NULL, fargv, environ), 0);
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-p",
			pid_s,
			"-f",
			"trace_nest:outer",
			"-f",
			"trace_nest:inner",
			"--spans",
			spans_path,
			"-d",
			"60",
			NULL};

	rc = run_cmd(argv, &out, &err);
	waitpid(pid, &st, 0);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fixture failed");
	check_nest_output(out, err, 30, 1);
	n = load_spans(spans_path, spans);
	cr_assert_eq(n, 90);
	check_tree(spans, n, 30, 1);
	free(out);
	free(err);
}

Test(trace, threads_never_share_spans)
{
	char spans_path[256], fo[512], fi[512];
	char *out, *err;
	static struct span spans[MAX_SPANS];
	size_t n;
	int rc;

	require_bpf();
	snprintf(spans_path, sizeof(spans_path), "%s/threads.jsonl", test_tmpdir());
	snprintf(fo, sizeof(fo), "%s:outer", fixture_path("trace_nest"));
	snprintf(fi, sizeof(fi), "%s:inner", fixture_path("trace_nest"));
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			fo,
			"-f",
			fi,
			"--spans",
			spans_path,
			"--",
			(char *)fixture_path("trace_nest"),
			"15",
			"4",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	check_nest_output(out, err, 15, 4);
	n = load_spans(spans_path, spans);
	cr_assert_eq(n, 180);
	check_tree(spans, n, 15, 4);
	free(out);
	free(err);
}

Test(trace, recursion_longjmp_thread_exit)
{
	char *out, *err;
	unsigned long calls;
	double p50;
	int rc;
	const char *bin = fixture_path("trace_recurse");
	char f1[512], f2[512], f3[512], f4[512];

	require_bpf();
	snprintf(f1, sizeof(f1), "%s:recurse", bin);
	snprintf(f2, sizeof(f2), "%s:jumper", bin);
	snprintf(f3, sizeof(f3), "%s:after", bin);
	snprintf(f4, sizeof(f4), "%s:exit_inside", bin);
	char *argv[] = {
		(char *)sonde_bin(), "trace", "-v", "-f", f1, "-f", f2, "-f", f3, "-f", f4, "--",
		(char *)bin,	     "50",    "10", NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "recurse", &calls, &p50);
	cr_assert_eq(calls, 50 * 11);
	summary_of(out, "jumper", &calls, &p50);
	cr_assert_eq(calls, 0);
	summary_of(out, "after", &calls, &p50);
	cr_assert_eq(calls, 50);
	summary_of(out, "exit_inside", &calls, &p50);
	cr_assert_eq(calls, 0);
	/* 50 x (11 recurse + jumper + after) + exit_inside entries; stacks freed. */
	cr_assert(strstr(err, "sonde: 4 functions, 651 calls, 600 timed, 0 spans written, 0 "
			      "spans lost, 0 threads tracked (0 mid-call)"),
		  "stats: %s", err);
	free(out);
	free(err);

	/* Deeper than --max-depth: counted in the stats, never mistimed. */
	char *deep[] = {(char *)sonde_bin(), "trace", "--max-depth", "4", "-f", f1, "--",
			(char *)bin,	     "50",    "10",	     NULL};
	rc = run_cmd(deep, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "recurse", &calls, &p50);
	cr_assert_eq(calls, 50 * 4);
	cr_assert(strstr(err, "350 calls nested deeper than --max-depth 4"), "stats: %s", err);
	cr_assert(strstr(err, "0 threads tracked (0 mid-call)"), "stats: %s", err);
	free(out);
	free(err);
}

/* One error line, non-zero exit, the expected words in it. */
static void expect_error(const char *spec, const char *want)
{
	char *out, *err;
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			(char *)spec,
			"--",
			(char *)fixture_path("trace_nest"),
			"1",
			NULL};
	int rc = run_cmd(argv, &out, &err);

	cr_assert_neq(rc, 0, "'%s' was accepted", spec);
	cr_assert(strstr(err, want), "for '%s' expected '%s' in: %s", spec, want, err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
	free(out);
	free(err);
}

Test(trace, bad_input)
{
	char spec[512];

	require_bpf();
	snprintf(spec, sizeof(spec), "%s:outr", fixture_path("trace_nest"));
	expect_error(spec, "no function 'outr' in");
	expect_error(spec, "(did you mean: outer");
	expect_error("/etc/passwd:main", "/etc/passwd is not an ELF executable or library");
	expect_error("/nonexistent/prog:main", "/nonexistent/prog: No such file or directory");
	expect_error("libnosuch:foo", "links no library named 'libnosuch'");
	snprintf(spec, sizeof(spec), "%s:*", fixture_path("trace_nest"));
	{
		char *out, *err;
		char *argv[] = {(char *)sonde_bin(),
				"trace",
				"--max-probes",
				"2",
				"-f",
				spec,
				"--",
				(char *)fixture_path("trace_nest"),
				"1",
				NULL};
		int rc = run_cmd(argv, &out, &err);

		cr_assert_neq(rc, 0);
		cr_assert(strstr(err, "more than --max-probes 2; narrow the pattern"), "%s", err);
		free(out);
		free(err);
	}
	/* Stripped: only .dynsym is left, and the message says so. */
	snprintf(spec, sizeof(spec), "%s:fixture_static_gamma", fixture_path("symfix_stripped"));
	expect_error(spec, "stripped");
	/* An exported function of the stripped file is still found. */
	{
		char *out, *err;
		char *argv[] = {(char *)sonde_bin(),
				"trace",
				"-d",
				"0.2",
				"-f",
				spec,
				"--",
				(char *)fixture_path("symfix_stripped"),
				NULL};

		snprintf(spec, sizeof(spec), "%s:fixture_alpha", fixture_path("symfix_stripped"));
		cr_assert_eq(run_cmd(argv, &out, &err), 0, "%s", err);
		cr_assert(strstr(out, "fixture_alpha ("), "%s", out);
		free(out);
		free(err);
	}
}

Test(trace, libc_short_name)
{
	char *out, *err;
	unsigned long calls;
	double p50;
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			"libc:clock_nanosleep",
			"--",
			(char *)fixture_path("trace_nest"),
			"5",
			NULL};
	int rc;

	require_bpf();
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	summary_of(out, "clock_nanosleep", &calls, &p50);
	cr_assert_eq(calls, 10);
	cr_assert(strstr(out, "libc.so.6)"), "%s", out);
	free(out);
	free(err);
}

/* More spans than the collector's queue holds between two polls: none lost. */
Test(trace, many_spans_none_lost)
{
	char spans_path[256], f1[512];
	char *out, *err, *text;
	unsigned long lines = 0;
	int rc;

	require_bpf();
	snprintf(spans_path, sizeof(spans_path), "%s/many.jsonl", test_tmpdir());
	snprintf(f1, sizeof(f1), "%s:recurse", fixture_path("trace_recurse"));
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-f",
			f1,
			"--spans",
			spans_path,
			"--",
			(char *)fixture_path("trace_recurse"),
			"3000",
			"10",
			NULL};

	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	text = read_file(spans_path, NULL);
	cr_assert_not_null(text);
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 33000);
	cr_assert(strstr(err, "33000 timed, 33000 spans written, 0 spans lost"), "%s", err);
	free(text);
	free(out);
	free(err);
}
