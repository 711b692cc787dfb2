// SPDX-License-Identifier: MIT
/*
 * sonde record -e alloc end to end (root, BPF) on alloc_fix, built
 * without frame pointers: site_a() mallocs 4000 B N times, site_b()
 * callocs 1000 B N times (4:1 by bytes, 1:1 by objects), leak_site()
 * keeps 1 MiB. Exact totals with --alloc-rate 0, within 10 % sampled,
 * and the leak's stack and size with --inuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define CHAIN "alloc_fix;_start;__libc_start_main;__libc_start_call_main;main;"

static char *tmp(const char *name)
{
	char *p = malloc(512);

	cr_assert(p);
	snprintf(p, 512, "%s/%s", test_tmpdir(), name);
	return p;
}

/* sonde record -e alloc ARGS... -o DIR/NAME.folded -- alloc_fix N. */
static void record(char **args, const char *folded, const char *n, char **out, char **err)
{
	char *argv[32];
	int i = 0, rc;

	argv[i++] = (char *)sonde_bin();
	argv[i++] = "record";
	argv[i++] = "-e";
	argv[i++] = "alloc";
	while (*args)
		argv[i++] = *args++;
	argv[i++] = "-o";
	argv[i++] = (char *)folded;
	argv[i++] = "--";
	argv[i++] = (char *)fixture_path("alloc_fix");
	argv[i++] = (char *)n;
	argv[i] = NULL;
	rc = run_cmd(argv, out, err);
	cr_assert_eq(rc, 0, "sonde record failed (%d): %s", rc, *err);
	cr_log_info("%s", *err);
}

static char *read_out(const char *dir_name)
{
	char *path = tmp(dir_name), *text = read_file(path, NULL);

	cr_assert(text, "no %s", path);
	free(path);
	return text;
}

/*
 * --alloc-rate 0: every call stacked, so the totals are exact: 2000 x
 * 4000 B under site_a;malloc, 2000 x 1000 B under site_b;__libc_calloc,
 * 1 MiB under leak_site;malloc, and 2000, 2000, 1 objects; the summary
 * counts 4001 calls of 11048576 bytes; pprof has both sample types.
 */
Test(alloc, exact_totals, .timeout = 120)
{
	char *out = NULL, *err = NULL, *space, *objects, *raw, *top;
	char *folded = tmp("exact.folded"), *pb = tmp("exact.pb.gz");
	char *args[] = {"--alloc-rate", "0", "-o", pb, NULL};

	require_bpf();
	record(args, folded, "2000", &out, &err);
	space = read_file(folded, NULL);
	objects = read_out("exact.alloc_objects.folded");
	cr_assert(space, "no %s", folded);
	cr_expect_eq(folded_sum(space, CHAIN "site_a;malloc "), 8000000);
	cr_expect_eq(folded_sum(space, CHAIN "site_b;__libc_calloc "), 2000000);
	cr_expect_eq(folded_sum(space, CHAIN "leak_site;malloc "), 1048576);
	cr_expect_eq(folded_sum(objects, CHAIN "site_a;malloc "), 2000);
	cr_expect_eq(folded_sum(objects, CHAIN "site_b;__libc_calloc "), 2000);
	cr_expect_eq(folded_sum(objects, CHAIN "leak_site;malloc "), 1);
	cr_expect(strstr(err, "4001 allocation calls (11048576 bytes), 4001 stacked"),
		  "summary: %s", err);
	raw = pprof_run(pb, "-raw", NULL, NULL);
	cr_expect(strstr(raw, "alloc_space/bytes[dflt] alloc_objects/count\n"),
		  "pprof types:\n%.300s", raw);
	top = pprof_run(pb, "-sample_index=alloc_space", "-top", NULL);
	cr_expect(strstr(top, "site_a") && strstr(top, "site_b"), "pprof top:\n%s", top);
	free(raw);
	free(top);
	free(space);
	free(objects);
	free(out);
	free(err);
	free(folded);
	free(pb);
}

/*
 * --alloc-rate 64K, N = 100000 (400 MB and 100 MB): about 6000 and 1500
 * samples, so the estimates S/(1-e^(-S/R)) per sample land within 10 %
 * of the true totals (site_b, the smaller, is ~4 sigma from the bound),
 * objects too; far fewer stacks than calls.
 */
Test(alloc, sampled_within_10_percent, .timeout = 120)
{
	char *out = NULL, *err = NULL, *space, *objects;
	char *folded = tmp("sampled.folded");
	char *args[] = {"--alloc-rate", "64K", NULL};
	uint64_t a, b, oa, ob;

	require_bpf();
	record(args, folded, "100000", &out, &err);
	space = read_file(folded, NULL);
	objects = read_out("sampled.alloc_objects.folded");
	cr_assert(space && objects);
	a = folded_sum(space, CHAIN "site_a;malloc ");
	b = folded_sum(space, CHAIN "site_b;__libc_calloc ");
	oa = folded_sum(objects, CHAIN "site_a;malloc ");
	ob = folded_sum(objects, CHAIN "site_b;__libc_calloc ");
	cr_log_info("sampled: site_a %llu B %llu objects, site_b %llu B %llu objects",
		    (unsigned long long)a, (unsigned long long)oa, (unsigned long long)b,
		    (unsigned long long)ob);
	cr_expect(a >= 360000000 && a <= 440000000, "site_a %llu B, want 400000000 +- 10%%",
		  (unsigned long long)a);
	cr_expect(b >= 90000000 && b <= 110000000, "site_b %llu B, want 100000000 +- 10%%",
		  (unsigned long long)b);
	cr_expect(oa >= 90000 && oa <= 110000, "site_a %llu objects, want 100000 +- 10%%",
		  (unsigned long long)oa);
	cr_expect(ob >= 90000 && ob <= 110000, "site_b %llu objects, want 100000 +- 10%%",
		  (unsigned long long)ob);
	cr_expect(strstr(err, "200001 allocation calls (501048576 bytes)"), "summary: %s", err);
	cr_expect(number_before(err, " stacked") < 12000, "too many stacks for sampling: %s", err);
	free(space);
	free(objects);
	free(out);
	free(err);
	free(folded);
}

/*
 * --inuse, exact: every site_a/site_b block was freed, so the in-use
 * profile holds the leak alone, 1048576 bytes in 1 block under
 * leak_site, and the report on stdout leads with it and its stack.
 */
Test(alloc, inuse_reports_the_leak, .timeout = 120)
{
	char *out = NULL, *err = NULL, *inuse;
	char *folded = tmp("inuse.folded");
	char *args[] = {"--alloc-rate", "0", "--inuse", NULL};
	const char *row;

	require_bpf();
	record(args, folded, "2000", &out, &err);
	inuse = read_out("inuse.inuse_space.folded");
	cr_log_info("%s", out);
	cr_expect_eq(folded_sum(inuse, CHAIN "leak_site;malloc "), 1048576);
	cr_expect_eq(folded_sum(inuse, "site_a"), 0, "freed blocks still in use:\n%s", inuse);
	cr_expect_eq(folded_sum(inuse, "site_b"), 0, "freed blocks still in use:\n%s", inuse);
	cr_expect(strstr(out, "In use at the end: 1048576 bytes in 1 blocks from 1 stacks\n"),
		  "report:\n%s", out);
	row = strstr(out, "STACK (leaf first)\n");
	cr_assert(row, "report:\n%s", out);
	row += strlen("STACK (leaf first)\n");
	cr_expect(!strncmp(row, "     1048576        1 ", 22), "leak row: %.120s", row);
	cr_expect(strstr(row, "s  malloc <- leak_site <- main <- __libc_start_call_main"),
		  "leak stack: %.200s", row);
	cr_expect(strstr(err, "4000 frees (4000 of sampled blocks), 1 sampled blocks live"),
		  "summary: %s", err);
	free(inuse);
	free(out);
	free(err);
	free(folded);
}
