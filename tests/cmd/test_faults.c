// SPDX-License-Identifier: MIT
/*
 * sonde record -e faults end to end (root, BPF) on faults_fix (no frame
 * pointers): fault_big() touches 16384 fresh pages, fault_small() 4096.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define CHAIN "faults_fix;_start;__libc_start_main;__libc_start_call_main;main;"

/*
 * Every fault is a sample (--faults-period 1): 16384 and 4096 faults with
 * their full stacks, 4:1, within 1 % (page-table and libc faults on the
 * way would add a few; none are expected on these fresh mappings).
 */
Test(faults, big_and_small_4_to_1, .timeout = 120)
{
	char path[512], *out = NULL, *err = NULL, *text;
	char *argv[] = {(char *)sonde_bin(),
			"record",
			"-e",
			"faults",
			"-o",
			path,
			"--",
			(char *)fixture_path("faults_fix"),
			NULL};
	uint64_t big, small;
	int rc;

	require_bpf();
	snprintf(path, sizeof(path), "%s/faults.folded", test_tmpdir());
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "sonde record failed (%d): %s", rc, err);
	cr_log_info("%s", err);
	text = read_file(path, NULL);
	cr_assert(text, "no %s", path);
	big = folded_sum(text, CHAIN "fault_big;touch ");
	small = folded_sum(text, CHAIN "fault_small;touch ");
	cr_log_info("faults: big %llu, small %llu", (unsigned long long)big,
		    (unsigned long long)small);
	cr_expect(big >= 16384 && big <= 16384 * 1.01, "fault_big: %llu faults, want 16384",
		  (unsigned long long)big);
	cr_expect(small >= 4096 && small <= 4096 * 1.01, "fault_small: %llu faults, want 4096",
		  (unsigned long long)small);
	cr_expect(strstr(err, "page faults in") && strstr(err, ", 0 lost"), "summary: %s", err);
	free(text);
	free(out);
	free(err);
}
