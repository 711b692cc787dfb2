// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "export/top.h"

static uint32_t fn(struct profile *p, uint64_t addr, const char *name, uint32_t flags)
{
	struct profile_location l = {
		.module = "/bin/app", .address = addr, .flags = flags, .nlines = 1};
	int id;

	l.lines[0].function = name;
	id = profile__intern_location(p, &l);
	cr_assert_geq(id, 0);
	return id;
}

static char *top_of(const struct profile *p, unsigned int max)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(report_top__write(p, f, max), 0);
	fclose(f);
	return buf;
}

/*
 * main -> fib -> fib -> fib (recursion, 6 samples), main -> work (3),
 * main -> work -> read_[k] (1): 10 samples.
 */
static struct profile *sample_profile(void)
{
	struct profile *p = profile__new();
	uint32_t m = fn(p, 0x10, "main", 0), f1 = fn(p, 0x20, "fib", 0);
	uint32_t f2 = fn(p, 0x24, "fib", 0), w = fn(p, 0x30, "work", 0);
	uint32_t k = fn(p, 0xffff0000, "read", PROFILE_LOC_KERNEL);
	uint32_t rec[] = {m, f1, f2, f2}, wk[] = {m, w}, wkk[] = {m, w, k};

	cr_assert_eq(profile__add(p, 1, "app", rec, 4, 6), 0);
	cr_assert_eq(profile__add(p, 1, "app", wk, 2, 3), 0);
	cr_assert_eq(profile__add(p, 2, "app", wkk, 3, 1), 0);
	return p;
}

/* A full disk is told as such (ENOSPC), not as "Input/output error". */
Test(report_top, full_disk_is_enospc)
{
	struct profile *p = sample_profile();
	FILE *f = fopen("/dev/full", "w");

	cr_assert_not_null(f);
	cr_assert_eq(report_top__write(p, f, 10), -ENOSPC);
	fclose(f);
	profile__free(p);
}

Test(report_top, exact_rows_recursion_counted_once)
{
	struct profile *p = sample_profile();
	char *out = top_of(p, 0);

	cr_assert_str_eq(out, "Total samples: 10\n"
			      "  SELF%       SELF  TOTAL%      TOTAL  FUNCTION\n"
			      " 60.00%          6  60.00%          6  fib\n"
			      " 30.00%          3  40.00%          4  work\n"
			      " 10.00%          1  10.00%          1  read_[k]\n"
			      "  0.00%          0 100.00%         10  main\n");
	free(out);
	profile__free(p);
}

Test(report_top, max_limits_rows_and_ties_sort_by_name)
{
	struct profile *p = profile__new();
	uint32_t b = fn(p, 0x10, "beta", 0), a = fn(p, 0x20, "alpha", 0);
	uint32_t c = fn(p, 0x30, "gamma", 0);
	char *out;

	cr_assert_eq(profile__add(p, 1, "x", &b, 1, 2), 0);
	cr_assert_eq(profile__add(p, 1, "x", &a, 1, 2), 0);
	cr_assert_eq(profile__add(p, 1, "x", &c, 1, 1), 0);
	out = top_of(p, 2);
	cr_assert_str_eq(out, "Total samples: 5\n"
			      "  SELF%       SELF  TOTAL%      TOTAL  FUNCTION\n"
			      " 40.00%          2  40.00%          2  alpha\n"
			      " 40.00%          2  40.00%          2  beta\n");
	free(out);
	profile__free(p);
}

Test(report_top, empty_profile_has_header_only)
{
	struct profile *p = profile__new();
	char *out = top_of(p, 10);

	cr_assert_str_eq(out, "Total samples: 0\n"
			      "  SELF%       SELF  TOTAL%      TOTAL  FUNCTION\n");
	free(out);
	profile__free(p);
}

/*
 * BEFORE: main;fib 6, main;work 3, main;work;read_[k] 1 (10 samples);
 * AFTER: main;fib 10, main;work 30, main;new 10 (50 samples).
 * Shares: fib 60 -> 20 (-40), work self 30 -> 60 (+30), total 40 -> 60,
 * new 0 -> 20 (+20), read 10 -> 0 (-10), main 0 -> 0 (total 100 -> 100).
 */
Test(report_top, diff_rows_by_change_of_share)
{
	struct profile *before = sample_profile(), *after = profile__new();
	uint32_t m = fn(after, 0x10, "main", 0), f = fn(after, 0x20, "fib", 0);
	uint32_t w = fn(after, 0x30, "work", 0), n = fn(after, 0x40, "new", 0);
	uint32_t sf[] = {m, f}, sw[] = {m, w}, sn[] = {m, n};
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_eq(profile__add(after, 1, "app", sf, 2, 10), 0);
	cr_assert_eq(profile__add(after, 1, "app", sw, 2, 30), 0);
	cr_assert_eq(profile__add(after, 1, "app", sn, 2, 10), 0);
	cr_assert_eq(report_top_diff__write(before, after, out, 0, NULL), 0);
	fclose(out);
	cr_assert_str_eq(buf, "Before: 10 samples, after: 50 samples. Shares of each side's "
			      "total; changes in percentage points.\n"
			      " BEFORE   AFTER   CHANGE    TOTAL  FUNCTION\n"
			      " 60.00%  20.00%   -40.00   -40.00  fib\n"
			      " 30.00%  60.00%   +30.00   +20.00  work\n"
			      "  0.00%  20.00%   +20.00   +20.00  new\n"
			      " 10.00%   0.00%   -10.00   -10.00  read_[k]\n"
			      "  0.00%   0.00%    +0.00    +0.00  main\n");
	free(buf);
	/* --top 2: the two largest movers. */
	buf = NULL;
	out = open_memstream(&buf, &len);
	cr_assert_eq(report_top_diff__write(before, after, out, 2, "bytes"), 0);
	fclose(out);
	cr_assert_str_eq(buf, "Before: 10 bytes, after: 50 bytes. Shares of each side's "
			      "total; changes in percentage points.\n"
			      " BEFORE   AFTER   CHANGE    TOTAL  FUNCTION\n"
			      " 60.00%  20.00%   -40.00   -40.00  fib\n"
			      " 30.00%  60.00%   +30.00   +20.00  work\n");
	free(buf);
	profile__free(before);
	profile__free(after);
}

/* Another sample type names itself and its unit in the header. */
Test(report_top, header_names_the_sample_type)
{
	struct profile *p = profile__new();
	uint32_t m, s;
	char *out;

	cr_assert_eq(profile__add_type(p, "off_cpu", "nanoseconds"), 0);
	m = fn(p, 0x10, "main", 0);
	s = fn(p, 0x40, "sleep", 0);
	cr_assert_eq(profile__add(p, 1, "app", (uint32_t[]){m, s}, 2, 2000000000), 0);
	out = top_of(p, 0);
	cr_assert_str_eq(out, "Total off_cpu: 2000000000 nanoseconds\n"
			      "  SELF%       SELF  TOTAL%      TOTAL  FUNCTION\n"
			      "100.00% 2000000000 100.00% 2000000000  sleep\n"
			      "  0.00%          0 100.00% 2000000000  main\n");
	free(out);
	profile__free(p);
}
