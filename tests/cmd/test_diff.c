// SPDX-License-Identifier: MIT
/*
 * sonde diff on real recordings, under root with BPF: cpu_split run with
 * heavy:light work 3:1 (BEFORE) and 1:3 (AFTER). heavy's share of the
 * samples falls by about 50 points and light's rises as much; the table,
 * the two-count folded output and the flame graph's colours must say so,
 * with the magnitudes the fixture itself measured, and with exactly the
 * numbers the two inputs give. BEFORE also as perf's stackcollapse.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define SECS "2"

/* The heavy/light CPU time the fixture measured over its run, from $CPU_SPLIT_OUT. */
static double measured(const char *file)
{
	char *text = read_file(file, NULL);
	double r;

	cr_assert(text, "cpu_split wrote no split to %s", file);
	r = strtod(text, NULL);
	free(text);
	return r;
}

/* sonde record -F 999 -o OUT1 -o OUT2 -- cpu_split 2 --split SPLIT; the measured split. */
static double record(const char *split, const char *out1, const char *out2)
{
	const char *sf = tmp_path(split[0] == '3' ? "split31" : "split13");
	char *argv[] = {(char *)sonde_bin(),
			"record",
			"-F",
			"999",
			"-o",
			(char *)out1,
			"-o",
			(char *)out2,
			"--",
			(char *)fixture_path("cpu_split"),
			SECS,
			"--split",
			(char *)split,
			NULL};
	char *err = NULL;
	int rc;

	setenv("CPU_SPLIT_OUT", sf, 1);
	rc = run_cmd(argv, NULL, &err);
	cr_assert_eq(rc, 0, "sonde record --split %s failed (%d): %s", split, rc, err);
	free(err);
	return measured(sf);
}

struct shares {
	unsigned long total, heavy, light;
};

/* Samples whose leaf is heavy or light in folded text (one count per line). */
static struct shares folded_shares(const char *text)
{
	struct shares s = {0};

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t len = strcspn(l, "\n");
		const char *sp = memrchr(l, ' ', len);
		unsigned long c;

		cr_assert(sp, "folded line without a count");
		c = strtoul(sp + 1, NULL, 10);
		s.total += c;
		if (sp - l > 6 && !memcmp(sp - 6, ";heavy", 6))
			s.heavy += c;
		if (sp - l > 6 && !memcmp(sp - 6, ";light", 6))
			s.light += c;
	}
	return s;
}

/* A table row: "BEFORE% AFTER% CHANGE TOTAL  FUNCTION". */
static void row(const char *table, const char *fn, double *before, double *after, double *change)
{
	char want[64];
	const char *r;

	snprintf(want, sizeof(want), "  %s\n", fn);
	r = strstr(table, want);
	cr_assert(r, "no row for %s in:\n%s", fn, table);
	while (r > table && r[-1] != '\n')
		r--;
	cr_assert_eq(sscanf(r, " %lf%% %lf%% %lf", before, after, change), 3, "row: %.60s", r);
}

/* Does the table line at @line end in "  heavy" or "  light"? */
static bool is_mover(const char *line)
{
	size_t len = strcspn(line, "\n");

	return len > 7 &&
	       (!strncmp(line + len - 7, "  heavy", 7) || !strncmp(line + len - 7, "  light", 7));
}

static double pct(unsigned long n, unsigned long total)
{
	return 100.0 * (double)n / (double)total;
}

/* The fill of frame @fn in an SVG: "rgb(R,G,B)". */
static void fill_of(const char *svg, const char *fn, unsigned int *r, unsigned int *g,
		    unsigned int *b)
{
	char want[64];
	const char *f;

	double best = -1;

	/*
	 * The widest frame of that name: under load a few samples lose their
	 * callers and make a narrow frame of their own elsewhere.
	 */
	snprintf(want, sizeof(want), "<title>%s (", fn);
	for (f = strstr(svg, want); f; f = strstr(f + 1, want)) {
		const char *w = strstr(f, "width=\""), *c = strstr(f, "fill=\"rgb(");
		double width;

		cr_assert(w && c);
		width = atof(w + 7);
		if (width > best) {
			best = width;
			cr_assert_eq(sscanf(c, "fill=\"rgb(%u,%u,%u)", r, g, b), 3);
		}
	}
	cr_assert(best >= 0, "no frame %s", fn);
}

Test(diff, split_moves_from_3_1_to_1_3, .timeout = 300)
{
	const char *b_pb = tmp_path("before.pb.gz"), *b_fold = tmp_path("before.folded");
	const char *a_pb = tmp_path("after.pb.gz"), *a_fold = tmp_path("after.folded");
	const char *d_svg = tmp_path("diff.svg"), *d_fold = tmp_path("diff.folded");
	double s_before, s_after, want_h, want_l, b, a, ch_h, ch_l;
	struct shares sb, sa;
	char *table = NULL, *err = NULL, *tb, *ta, *text;
	unsigned int r, g, bl;
	unsigned long c0 = 0, c1 = 0;
	int rc;

	require_bpf();
	s_before = record("3:1", b_pb, b_fold);
	s_after = record("1:3", a_pb, a_fold);
	tb = read_file(b_fold, NULL);
	ta = read_file(a_fold, NULL);
	sb = folded_shares(tb);
	sa = folded_shares(ta);
	cr_log_info("before: split %.3f measured, %lu/%lu/%lu samples; after: split %.3f, "
		    "%lu/%lu/%lu",
		    s_before, sb.heavy, sb.light, sb.total, s_after, sa.heavy, sa.light, sa.total);

	/* pprof BEFORE, folded AFTER: the formats mix. */
	{
		char *argv[] = {(char *)sonde_bin(),
				"diff",
				(char *)b_pb,
				(char *)a_fold,
				"-o",
				(char *)d_svg,
				"-o",
				(char *)d_fold,
				"--top",
				"5",
				NULL};

		rc = run_cmd(argv, &table, &err);
	}
	cr_assert_eq(rc, 0, "sonde diff failed (%d): %s", rc, err);
	cr_log_info("%s", table);

	/* The two movers come first, with the numbers of the two inputs exactly. */
	cr_assert(strstr(table, "  FUNCTION\n") && strstr(table, "  heavy\n"), "%s", table);
	row(table, "heavy", &b, &a, &ch_h);
	cr_expect(b > pct(sb.heavy, sb.total) - 0.006 && b < pct(sb.heavy, sb.total) + 0.006,
		  "heavy before %.2f, the input says %.3f", b, pct(sb.heavy, sb.total));
	cr_expect(a > pct(sa.heavy, sa.total) - 0.006 && a < pct(sa.heavy, sa.total) + 0.006,
		  "heavy after %.2f, the input says %.3f", a, pct(sa.heavy, sa.total));
	row(table, "light", &b, &a, &ch_l);
	cr_expect(b > pct(sb.light, sb.total) - 0.006 && b < pct(sb.light, sb.total) + 0.006);
	cr_expect(a > pct(sa.light, sa.total) - 0.006 && a < pct(sa.light, sa.total) + 0.006);
	{
		/* The two rows after the header, in either order. */
		const char *r1 = strstr(table, "FUNCTION\n") + strlen("FUNCTION\n");
		const char *r2 = strchr(r1, '\n') + 1;

		cr_expect(is_mover(r1) && is_mover(r2) && strncmp(r1, r2, strcspn(r1, "\n")),
			  "heavy and light are not the two top rows:\n%s", table);
	}
	/*
	 * Signs and magnitudes against the fixture's own measure: heavy's
	 * share of the work is s/(1+s) (75 % at 3:1, 25 % at 1:3), of all
	 * samples that times the share the work has (about 99 %).
	 */
	want_h = pct(sa.heavy + sa.light, sa.total) * s_after / (1 + s_after) -
		 pct(sb.heavy + sb.light, sb.total) * s_before / (1 + s_before);
	want_l = pct(sa.heavy + sa.light, sa.total) / (1 + s_after) -
		 pct(sb.heavy + sb.light, sb.total) / (1 + s_before);
	cr_log_info("heavy %+.2f pp (fixture: %+.2f), light %+.2f pp (fixture: %+.2f)", ch_h,
		    want_h, ch_l, want_l);
	cr_expect(ch_h < -35 && ch_l > 35, "heavy %+.2f, light %+.2f: not a move of ~50 points",
		  ch_h, ch_l);
	cr_expect(ch_h > want_h - 6 && ch_h < want_h + 6,
		  "heavy %+.2f pp, the fixture measured %+.2f", ch_h, want_h);
	cr_expect(ch_l > want_l - 6 && ch_l < want_l + 6,
		  "light %+.2f pp, the fixture measured %+.2f", ch_l, want_l);

	/* diff.folded: BEFORE and AFTER per stack; the columns sum to each side. */
	text = read_file(d_fold, NULL);
	cr_assert(text);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long x, y;
		const char *sp = memrchr(l, ' ', strcspn(l, "\n"));

		cr_assert(sp && sp > l);
		y = strtoul(sp + 1, NULL, 10);
		sp = memrchr(l, ' ', sp - l);
		cr_assert(sp);
		x = strtoul(sp + 1, NULL, 10);
		c0 += x;
		c1 += y;
	}
	cr_expect_eq(c0, sb.total);
	cr_expect_eq(c1, sa.total);
	free(text);

	/* The flame graph: heavy shrank (blue), light grew (red). */
	text = read_file(d_svg, NULL);
	cr_assert(text);
	fill_of(text, "heavy", &r, &g, &bl);
	cr_expect(bl == 255 && r < 100 && g < 100, "heavy rgb(%u,%u,%u) is not deep blue", r, g,
		  bl);
	fill_of(text, "light", &r, &g, &bl);
	cr_expect(r == 255 && g < 100 && bl < 100, "light rgb(%u,%u,%u) is not deep red", r, g, bl);
	free(text);
	free(table);
	free(err);
	free(tb);
	free(ta);
}

/* BEFORE as perf's own folded stacks (perf script report stackcollapse). */
Test(diff, perf_stackcollapse_before, .timeout = 300)
{
	const char *data = tmp_path("perf.data"), *pf = tmp_path("perf.folded");
	const char *a_pb = tmp_path("after2.pb.gz"), *a_fold = tmp_path("after2.folded");
	char cmd[2048], *table = NULL, *err = NULL, *text;
	double b, a, ch;
	struct shares sp;
	int rc;

	require_bpf();
	require_path("/usr/bin/perf", X_OK, "perf (linux-perf)");
	setenv("CPU_SPLIT_OUT", tmp_path("perfsplit"), 1);
	snprintf(cmd, sizeof(cmd),
		 "perf record -q -g -F 999 -o '%s' -- '%s' " SECS " --split 3:1 >/dev/null "
		 "</dev/null && perf script report stackcollapse -i '%s' > '%s' </dev/null",
		 data, fixture_path("cpu_split"), data, pf);
	rc = run_sh(cmd, NULL, &err);
	cr_assert_eq(rc, 0, "perf failed (%d): %s", rc, err);
	free(err);
	text = read_file(pf, NULL);
	sp = folded_shares(text);
	free(text);
	cr_assert_gt(sp.heavy, 0, "perf's folded stacks have no heavy");
	record("1:3", a_pb, a_fold);
	{
		char *argv[] = {(char *)sonde_bin(), "diff", (char *)pf, (char *)a_pb, NULL};

		rc = run_cmd(argv, &table, &err);
	}
	cr_assert_eq(rc, 0, "sonde diff failed (%d): %s", rc, err);
	row(table, "heavy", &b, &a, &ch);
	cr_expect(b > pct(sp.heavy, sp.total) - 0.006 && b < pct(sp.heavy, sp.total) + 0.006,
		  "heavy before %.2f, perf's file says %.3f", b, pct(sp.heavy, sp.total));
	cr_expect(ch < -35, "heavy %+.2f pp: not a fall of ~50 points\n%s", ch, table);
	row(table, "light", &b, &a, &ch);
	cr_expect(ch > 35, "light %+.2f pp: not a rise of ~50 points\n%s", ch, table);
	free(table);
	free(err);
}
