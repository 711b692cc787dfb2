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
