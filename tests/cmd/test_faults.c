// SPDX-License-Identifier: MIT
/*
 * sonde record -e faults end to end (root, BPF) on faults_fix (no frame
 * pointers): fault_big() touches 16384 fresh pages, fault_small() 4096.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define CHAIN "faults_fix;_start;__libc_start_main;__libc_start_call_main;main;"

/*
 * sonde record -e faults [@opt @val] on faults_fix: the folded profile's
 * text, and the closing lines in *@err.
 */
static char *record_faults(const char *opt, const char *val, char **err)
{
	char path[512], *text, *argv[12];
	int rc, n = 0;

	require_bpf();
	argv[n++] = (char *)sonde_bin();
	argv[n++] = "record";
	argv[n++] = "-e";
	argv[n++] = "faults";
	argv[n++] = "-o";
	argv[n++] = path;
	if (opt) {
		argv[n++] = (char *)opt;
		argv[n++] = (char *)val;
	}
	argv[n++] = "--";
	argv[n++] = (char *)fixture_path("faults_fix");
	argv[n] = NULL;
	snprintf(path, sizeof(path), "%s/faults%s.folded", test_tmpdir(), opt ? opt : "");
	rc = run_cmd(argv, NULL, err);
	cr_assert_eq(rc, 0, "sonde record failed (%d): %s", rc, *err);
	cr_log_info("%s", *err);
	text = read_file(path, NULL);
	cr_assert(text, "no %s", path);
	return text;
}

/*
 * Every fault is a sample (--faults-period 1): 16384 and 4096 faults with
 * their full stacks, 4:1, within 1 % (page-table and libc faults on the
 * way would add a few; none are expected on these fresh mappings).
 */
Test(faults, big_and_small_4_to_1, .timeout = 120)
{
	char *err = NULL, *text = record_faults(NULL, NULL, &err);
	uint64_t big, small;

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
	free(err);
}

/*
 * --faults-freq 2000: the kernel picks each sample's period to keep about
 * 2000 samples a second per CPU, and each sample weighs that period. The
 * sums are an estimate: every overflow adds the period it completed, so
 * a CPU's total lacks at most its last unfinished period, and the
 * fixture's share of a period is its share of the CPU's faults then.
 * Within 25 % of 16384 and 4096, 4:1 within 40 %, from fewer samples
 * than faults.
 */
Test(faults, by_frequency_weighs_the_kernels_period, .timeout = 120)
{
	char *err = NULL, *text = record_faults("--faults-freq", "2000", &err);
	unsigned long long faults = 0, samples = 0;
	uint64_t big, small;
	const char *line;

	big = folded_sum(text, CHAIN "fault_big;touch ");
	small = folded_sum(text, CHAIN "fault_small;touch ");
	cr_log_info("faults by frequency: big %llu, small %llu", (unsigned long long)big,
		    (unsigned long long)small);
	cr_expect(big >= 16384 * 0.75 && big <= 16384 * 1.25, "fault_big: %llu faults, want ~16384",
		  (unsigned long long)big);
	cr_expect(small >= 4096 * 0.75 && small <= 4096 * 1.25,
		  "fault_small: %llu faults, want ~4096", (unsigned long long)small);
	cr_expect(small && (double)big / small >= 4 * 0.6 && (double)big / small <= 4 * 1.4,
		  "ratio %llu:%llu", (unsigned long long)big, (unsigned long long)small);
	line = strstr(err, " page faults in ");
	cr_assert(line, "summary: %s", err);
	while (line > err && line[-1] != ' ' && line[-1] != '\n')
		line--;
	cr_assert_eq(sscanf(line, "%llu page faults in %llu samples (2000 Hz per CPU), 0 lost",
			    &faults, &samples),
		     2, "summary: %s", err);
	cr_expect_lt(samples, faults, "%s", err);
	free(text);
	free(err);
}
