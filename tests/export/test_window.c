// SPDX-License-Identifier: MIT
/* Profile window names: written, parsed, and the last one of a directory. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "export/window.h"

/* 2025-03-14 09:30:00 UTC */
#define T0 1741944600ull
#define NS 1000000000ull

Test(window, names_round_trip)
{
	char buf[128];
	uint64_t ns;

	cr_assert_eq(window_name(buf, sizeof(buf), "checkout", T0 * NS), 31);
	cr_assert_str_eq(buf, "checkout-20250314T093000Z.pb.gz");
	cr_assert_eq(window_parse(buf, &ns), 0);
	cr_assert_eq(ns, T0 * NS);
	cr_assert_gt(window_name(buf, sizeof(buf), NULL, T0 * NS + 250000000), 0);
	cr_assert_str_eq(buf, "20250314T093000.250Z.pb.gz");
	cr_assert_eq(window_parse(buf, &ns), 0);
	cr_assert_eq(ns, T0 * NS + 250000000);
	cr_assert_eq(window_name(buf, 10, "checkout", T0 * NS), -ENOSPC);
	/* Names with dashes and digits of their own. */
	cr_assert_eq(window_parse("api-v2-eu-1-20250314T093001Z.pb.gz", &ns), 0);
	cr_assert_eq(ns, (T0 + 1) * NS);
}

Test(window, other_names_are_not_windows)
{
	static const char *const bad[] = {
		"20250314T093000Z.folded", "checkout.pb.gz",	      "x20250314T093000Z.pb.gz",
		"20250314T0930Z.pb.gz",	   "20251314T093000Z.pb.gz",  "20250314 093000Z.pb.gz",
		"20250314T093000.pb.gz",   "20250314T093000.Z.pb.gz", "Z.pb.gz",
	};
	uint64_t ns;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(window_parse(bad[i], &ns), -EINVAL, "%s parsed", bad[i]);
}

static void touch(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
}

Test(window, last_window_by_time_not_by_name)
{
	char dir[512], path[1024];

	snprintf(dir, sizeof(dir), "%s/windows", test_tmpdir());
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(window_find_last(dir, path, sizeof(path)), -ENOENT);
	touch(dir, "zeta-20250314T090000Z.pb.gz");
	touch(dir, "alpha-20250314T093000Z.pb.gz");
	touch(dir, "beta-20250314T092959.999Z.pb.gz");
	/* Not windows, however late their names sort. */
	touch(dir, "zzz.pb.gz");
	touch(dir, "zeta-20260101T000000Z.folded");
	cr_assert_eq(window_find_last(dir, path, sizeof(path)), 0);
	cr_assert_str_eq(strrchr(path, '/') + 1, "alpha-20250314T093000Z.pb.gz");
	/* Equal times: the greatest name. */
	touch(dir, "gamma-20250314T093000Z.pb.gz");
	cr_assert_eq(window_find_last(dir, path, sizeof(path)), 0);
	cr_assert_str_eq(strrchr(path, '/') + 1, "gamma-20250314T093000Z.pb.gz");
	cr_assert_eq(window_find_last("/nonexistent/dir", path, sizeof(path)), -ENOENT);
}

Test(window, folded_and_svg_windows_with_their_types)
{
	struct window_info wi;
	char buf[128];
	uint64_t ns;

	cr_assert_eq(window_name_fmt(buf, sizeof(buf), "api", T0 * NS, WINDOW_FOLDED, NULL), 27);
	cr_expect_str_eq(buf, "api-20250314T093000Z.folded");
	cr_assert_eq(window_parse_info(buf, &wi), 0);
	cr_expect_eq(wi.format, WINDOW_FOLDED);
	cr_expect_eq(wi.start_unix_ns, T0 * NS);
	cr_expect_eq(wi.name_len, 3);
	cr_expect_eq(wi.type_len, 0);
	/* Not a pprof window: window_parse() and sonde diff's reader say no. */
	cr_expect_eq(window_parse(buf, &ns), -EINVAL);

	cr_assert_gt(window_name_fmt(buf, sizeof(buf), "api", T0 * NS + 5000000, WINDOW_SVG,
				     "off_cpu"),
		     0);
	cr_expect_str_eq(buf, "api-20250314T093000.005Z.off_cpu.svg");
	cr_assert_eq(window_parse_info(buf, &wi), 0);
	cr_expect_eq(wi.format, WINDOW_SVG);
	cr_expect_eq(wi.start_unix_ns, T0 * NS + 5000000);
	cr_expect_eq(wi.type_len, 7);
	cr_expect_eq(strncmp(buf + wi.type_off, "off_cpu", 7), 0);

	/* Type names keep [A-Za-z0-9_]; pprof windows have none. */
	cr_assert_gt(window_name_fmt(buf, sizeof(buf), NULL, T0 * NS, WINDOW_FOLDED, "a.b-c"), 0);
	cr_expect_str_eq(buf, "20250314T093000Z.a_b_c.folded");
	cr_assert_eq(window_parse_info(buf, &wi), 0);
	cr_expect_eq(wi.name_len, 0);
	cr_expect_eq(window_name_fmt(buf, sizeof(buf), "x", T0 * NS, WINDOW_PPROF, "off_cpu"),
		     -EINVAL);
	cr_expect_eq(window_parse_info("x-20250314T093000Z.off_cpu.pb.gz", &wi), -EINVAL);
	cr_expect_eq(window_parse_info("x-20250314T093000Z..svg", &wi), -EINVAL);
	cr_expect_eq(window_parse_info("x-20250314T093000Zoff.svg", &wi), -EINVAL);
	cr_expect_eq(window_parse_info("x-20250314T093000Z.svg.bak", &wi), -EINVAL);
}

/* A folded-only directory (the agent's format folded) still has a last window. */
Test(window, last_folded_window_when_there_is_no_pprof)
{
	char dir[512], path[1024];

	snprintf(dir, sizeof(dir), "%s/folded", test_tmpdir());
	cr_assert_eq(mkdir(dir, 0700), 0);
	touch(dir, "api-20250314T093000Z.folded");
	touch(dir, "api-20250314T093100Z.folded");
	/* A later second type and a flame graph are no profile diff reads. */
	touch(dir, "api-20250314T093200Z.off_cpu.folded");
	touch(dir, "api-20250314T093300Z.svg");
	cr_assert_eq(window_find_last(dir, path, sizeof(path)), 0);
	cr_assert_str_eq(strrchr(path, '/') + 1, "api-20250314T093100Z.folded");
	/* Any pprof window wins over folded ones. */
	touch(dir, "api-20250314T090000Z.pb.gz");
	cr_assert_eq(window_find_last(dir, path, sizeof(path)), 0);
	cr_assert_str_eq(strrchr(path, '/') + 1, "api-20250314T090000Z.pb.gz");
}
