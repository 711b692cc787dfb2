// SPDX-License-Identifier: MIT
/*
 * sonde inside a PID namespace (a sidecar container's view): the kernel's
 * PIDs are not the ones on its command line or in its /proc, and a
 * `record -p` there used to get 0 samples and exit 0. Run for real under
 * `unshare --pid --fork --mount-proc`, and from the host into one.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

/* Samples of folded @text whose leaf is @fn. */
static unsigned long leaf_samples(const char *text, const char *fn)
{
	char want[64];
	unsigned long n = 0;

	snprintf(want, sizeof(want), ";%s ", fn);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *nl = strchr(l, '\n'), *hit = strstr(l, want);

		if (hit && (!nl || hit < nl))
			n += strtoul(hit + strlen(want), NULL, 10);
	}
	return n;
}

static char *run_in_pidns(const char *script, int *rc)
{
	char *out = NULL, *err = NULL;
	char *argv[] = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "/bin/sh", "-c",
			(char *)script, NULL};

	*rc = run_cmd(argv, &out, &err);
	cr_log_info("%s", err);
	free(out);
	return err;
}

Test(pidns, record_pid_inside, .timeout = 120)
{
	char script[2048], path[512], *err, *text;
	int rc;

	require_bpf();
	snprintf(path, sizeof(path), "%s/ns_pid.folded", test_tmpdir());
	snprintf(script, sizeof(script),
		 "%s 3 >/dev/null & sleep 0.3; exec %s record -v -F 199 -p $! -d 1.5 -o %s",
		 fixture_path("cpu_split"), sonde_bin(), path);
	err = run_in_pidns(script, &rc);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(err, "in a PID namespace"), "%s", err);
	text = read_file(path, NULL);
	cr_assert(text);
	/*
	 * 1.5 s at 199 Hz of a busy process: up to ~300 samples as the CPU
	 * allows, not 0; heavy about 3 times light.
	 */
	cr_assert_gt(leaf_samples(text, "heavy") + leaf_samples(text, "light"), 100, "%s", text);
	cr_assert_gt(leaf_samples(text, "heavy"), 1.5 * leaf_samples(text, "light"), "%s", text);
	free(text);
	free(err);
}

Test(pidns, record_and_trace_command_inside, .timeout = 120)
{
	char script[2048], path[512], spans[512], *err, *text;
	int rc;

	require_bpf();
	snprintf(path, sizeof(path), "%s/ns_cmd.folded", test_tmpdir());
	/* The launched shell's child is followed by its namespace PID. */
	snprintf(script, sizeof(script), "exec %s record -F 199 -o %s -- /bin/sh -c '%s 1 >/dev/null'",
		 sonde_bin(), path, fixture_path("cpu_split"));
	err = run_in_pidns(script, &rc);
	cr_assert_eq(rc, 0, "%s", err);
	text = read_file(path, NULL);
	cr_assert(text);
	cr_assert_gt(leaf_samples(text, "heavy"), 60, "%s", text);
	free(text);
	free(err);

	snprintf(spans, sizeof(spans), "%s/ns.jsonl", test_tmpdir());
	snprintf(script, sizeof(script), "exec %s trace -f %s:inner --spans %s -- %s 10",
		 sonde_bin(), fixture_path("trace_nest"), spans, fixture_path("trace_nest"));
	err = run_in_pidns(script, &rc);
	cr_assert_eq(rc, 0, "%s", err);
	text = read_file(spans, NULL);
	cr_assert(text);
	cr_assert_eq(count_of(text, "\"traceId\""), 20);
	/* In the new namespace sonde is PID 1 and the command it launches PID 2. */
	cr_assert_eq(count_of(text, "\"process.pid\",\"value\":{\"intValue\":\"2\"}"), 20, "%s",
		     text);
	free(text);
	free(err);
}

Test(pidns, record_from_the_host, .timeout = 120)
{
	char path[512], pid_s[16], *out = NULL, *err = NULL, *text, line[64];
	char *fargv[] = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc",
			 (char *)fixture_path("cpu_split"), "3", NULL};
	pid_t ns_sh, target = 0;
	FILE *f;
	int rc;

	require_bpf();
	snprintf(path, sizeof(path), "%s/ns_host.folded", test_tmpdir());
	ns_sh = spawn(fargv, "/dev/null", "/dev/null");
	usleep(300 * 1000);
	/* The fixture is unshare's child: its host PID. */
	snprintf(line, sizeof(line), "/proc/%d/task/%d/children", ns_sh, ns_sh);
	f = fopen(line, "r");
	cr_assert(f);
	cr_assert_eq(fscanf(f, "%d", &target), 1);
	fclose(f);
	snprintf(pid_s, sizeof(pid_s), "%d", target);
	char *argv[] = {(char *)sonde_bin(), "record", "-F", "199", "-p", pid_s, "-d", "1.5", "-o",
			path, NULL};
	rc = run_cmd(argv, &out, &err);
	kill(ns_sh, SIGKILL);
	waitpid(ns_sh, NULL, 0);
	cr_assert_eq(rc, 0, "%s", err);
	text = read_file(path, NULL);
	cr_assert(text);
	cr_assert_gt(leaf_samples(text, "heavy") + leaf_samples(text, "light"), 100, "%s", text);
	free(text);
	free(out);
	free(err);
}
