// SPDX-License-Identifier: MIT
/*
 * sonde trace against a target that lies about its files (BPF, root): an
 * unprivileged user, in its own user and mount namespace, bind-mounts
 * over the directory of its running binary a FIFO or a copy of it. trace
 * must neither block on the FIFO nor attach to the copy: it resolves and
 * attaches through /proc/PID/map_files, so every call is timed.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define ITERS "40"

/* trace -p the hostile fixture with @spec; the fixture runs ITERS outer() calls. */
static void trace_hostile(const char *over, bool by_path)
{
	char dir[PATH_MAX], pid_s[16], spec[PATH_MAX + 32], spec2[PATH_MAX + 32], *out, *err;
	char *fargs[] = {ITERS, "--wait-probe", NULL};
	pid_t pid;
	double t0;
	int rc;

	require_bpf();
	pid = spawn_hostile("trace_nest", fargs, over, dir);
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	/* The fixture starts its calls once both functions are probed. */
	snprintf(spec, sizeof(spec), "%s%s:inner", by_path ? dir : "",
		 by_path ? "/bin/trace_nest" : "trace_nest");
	snprintf(spec2, sizeof(spec2), "%s%s:outer", by_path ? dir : "",
		 by_path ? "/bin/trace_nest" : "trace_nest");
	/* timeout(1): before the fix, the FIFO's open never returned. */
	char *argv[] = {(char *)find_in_path("timeout", "/usr/bin/timeout"),
			"-s",
			"KILL",
			"30",
			(char *)sonde_bin(),
			"trace",
			"-p",
			pid_s,
			"-f",
			spec,
			"-f",
			spec2,
			"-d",
			"20",
			NULL};
	t0 = now_s();
	rc = run_cmd(argv, &out, &err);
	kill(pid, SIGKILL);
	cr_assert_eq(rc, 0, "sonde trace failed or hung (%d) after %.1f s: %s", rc, now_s() - t0,
		     err);
	/* Every call of the mapped binary, none lost to the attacker's copy. */
	cr_assert(strstr(out, "inner (") && strstr(strstr(out, "inner ("), "    calls 80  "),
		  "expected 80 calls of inner:\n%s\n%s", out, err);
	cr_assert(strstr(out, "outer (") && strstr(strstr(out, "outer ("), "    calls 40  "),
		  "expected 40 calls of outer:\n%s\n%s", out, err);
	/* The fixture exits after its calls: the run ends with it, well before -d. */
	cr_assert_lt(now_s() - t0, 15.0, "trace took %.1f s", now_s() - t0);
	free(out);
	free(err);
}

Test(trace_hostile, fifo_over_binary_dir_short_name)
{
	trace_hostile("fifo", false);
}

Test(trace_hostile, fifo_over_binary_dir_path)
{
	trace_hostile("fifo", true);
}

Test(trace_hostile, copy_over_binary_dir_short_name)
{
	trace_hostile("copy", false);
}

Test(trace_hostile, copy_over_binary_dir_path)
{
	trace_hostile("copy", true);
}

/*
 * A target whose name is not UTF-8 (its exe and comm "tc\xff\xfe"): the
 * spans file, its OTLP resource and the JSON log lines still decode as
 * UTF-8 JSON (python3's json, strict), the bad bytes as U+FFFD or '?'.
 * Before, the raw bytes went out and python3 refused the spans file.
 */
Test(trace_hostile, name_not_utf8)
{
	char exe[PATH_MAX], func[PATH_MAX + 8], spans[PATH_MAX], logs[PATH_MAX], cmd[4 * PATH_MAX];
	char *out, *err;
	int rc;

	require_bpf();
	snprintf(exe, sizeof(exe), "%s/tc\xff\xfe", test_tmpdir());
	snprintf(spans, sizeof(spans), "%s/bad.spans", test_tmpdir());
	snprintf(logs, sizeof(logs), "%s/bad.log", test_tmpdir());
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fixture_path("trace_chain"), exe);
	cr_assert_eq(run_sh(cmd, NULL, NULL), 0);
	snprintf(func, sizeof(func), "%s:a", exe);
	char *argv[] = {(char *)sonde_bin(),
			"trace",
			"-v",
			"--log-format",
			"json",
			"-f",
			func,
			"--spans",
			spans,
			"--",
			exe,
			"0.05",
			NULL};
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde trace failed (%d): %s", rc, err);
	cr_assert_not_null(strstr(err, "tc\\ufffd\\ufffd"), "the name is not in the log: %s", err);
	{
		FILE *f = fopen(logs, "w");

		cr_assert_not_null(f);
		fputs(err, f);
		cr_assert_eq(fclose(f), 0);
	}
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\n"
		 "n = 0\n"
		 "for l in open(sys.argv[1], encoding=\"utf-8\"):\n"
		 "    d = json.loads(l); n += "
		 "len(d[\"resourceSpans\"][0][\"scopeSpans\"][0][\"spans\"])\n"
		 "    r = {a[\"key\"]: a[\"value\"] for a in "
		 "d[\"resourceSpans\"][0][\"resource\"][\"attributes\"]}\n"
		 "    assert r[\"process.executable.name\"][\"stringValue\"] == \"tc??\", r\n"
		 "for l in open(sys.argv[2], encoding=\"utf-8\"): json.loads(l)\n"
		 "assert n > 1000, n' '%s' '%s'",
		 spans, logs);
	cr_assert_eq(run_sh(cmd, NULL, NULL), 0, "python3 could not read %s or %s", spans, logs);
	free(out);
	free(err);
}
