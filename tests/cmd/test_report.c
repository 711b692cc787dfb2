// SPDX-License-Identifier: MIT
/*
 * sonde report and sonde diff as a user runs them, on saved profiles (no
 * BPF): formats in and out, stdout, windows directories, the table, the
 * SVG's title and subtitle, and one clear line for each mistake.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "export/folded.h"
#include "export/pprof.h"
#include "model/profile.h"

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* main;heavy @h, main;light @l as pprof (CPU samples at 100 Hz). */
static void put_pprof(const char *path, uint64_t h, uint64_t l)
{
	struct profile *p = profile__new();
	struct profile_location loc = {.module = "/opt/app", .address = 0x10, .nlines = 1};
	uint32_t m, hv, lt;
	FILE *f;

	loc.lines[0].function = "main";
	m = profile__intern_location(p, &loc);
	loc.address = 0x20;
	loc.lines[0].function = "heavy";
	hv = profile__intern_location(p, &loc);
	loc.address = 0x30;
	loc.lines[0].function = "light";
	lt = profile__intern_location(p, &loc);
	profile__set_period_ns(p, 10000000);
	cr_assert_eq(profile__add(p, 7, "app", (uint32_t[]){m, hv}, 2, h), 0);
	cr_assert_eq(profile__add(p, 7, "app", (uint32_t[]){m, lt}, 2, l), 0);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(pprof__write(p, f), 0);
	cr_assert_eq(fclose(f), 0);
	profile__free(p);
}

/* sonde ARGS...; stdout and stderr into *out, *err; the exit status. */
static int sonde(char **out, char **err, const char *const *args)
{
	char *argv[32];
	int n = 0;

	argv[n++] = (char *)sonde_bin();
	while (*args && n < 31)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	return run_cmd(argv, out, err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect_fail(const char *const *args, const char *msg)
{
	char *out = NULL, *err = NULL;
	int rc = sonde(&out, &err, args);

	cr_expect_eq(rc, 1, "sonde %s %s: exit %d", args[0], args[1], rc);
	cr_expect_str_eq(err, msg);
	free(out);
	free(err);
}

Test(report, pprof_to_every_format_and_stdout)
{
	const char *pb = tmp_path("r.pb.gz"), *svg = tmp_path("r.svg"),
		   *folded = tmp_path("r.folded");
	char *out = NULL, *err = NULL, *text;
	int rc;

	put_pprof(pb, 30, 10);
	rc = sonde(&out, &err, ARGS("report", pb, "-o", svg, "-o", folded, "--title", "T&T"));
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_str_eq(out, "");
	cr_expect(strstr(err, "sonde: report: 40 samples in ") &&
			  strstr(err, "r.pb.gz (pprof, samples/count), wrote "),
		  "%s", err);
	text = read_file(folded, NULL);
	cr_expect_str_eq(text, "app;main;heavy 30\napp;main;light 10\n");
	free(text);
	text = read_file(svg, NULL);
	cr_expect(strstr(text, "<text id=\"title\" x=\"600.0\" y=\"24\">T&amp;T</text>"), "%s",
		  text);
	/* The subtitle: the command line that made the graph. */
	cr_expect(strstr(text, "<title>sonde report ") &&
			  strstr(text, " --title &apos;T&amp;T&apos;</title>"),
		  "no command line subtitle");
	cr_expect(strstr(text, "<title>heavy (30 samples, 75.00%)</title>"));
	free(text);
	free(out);
	free(err);

	/* -o -: folded on stdout; with --top the table goes to stderr. */
	rc = sonde(&out, &err, ARGS("report", pb, "-o", "-", "--top", "1"));
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_str_eq(out, "app;main;heavy 30\napp;main;light 10\n");
	cr_expect(strstr(err, "Total samples: 40\n"
			      "  SELF%       SELF  TOTAL%      TOTAL  FUNCTION\n"
			      " 75.00%         30  75.00%         30  heavy\n"
			      "sonde: report: "),
		  "%s", err);
	free(out);
	free(err);
	rc = sonde(&out, &err, ARGS("report", pb, "-o", "-", "--format", "pprof"));
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect((unsigned char)out[0] == 0x1f && (unsigned char)out[1] == 0x8b,
		  "stdout is not gzip");
	free(out);
	free(err);
	/* No -o: the table on stdout. */
	rc = sonde(&out, &err, ARGS("report", folded));
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect(!strncmp(out, "Total samples: 40\n", 18), "%s", out);
	free(out);
	free(err);
}

/* Other sample types keep their name and unit: in the SVG and in pprof. */
/*
 * -o - into a reader that stops early (| head) is no failure, in every
 * format; into a full disk it is one, with its cause.
 */
Test(report, stdout_closed_early_or_full)
{
	static const char *const formats[] = {"folded", "svg", "pprof"};
	char path[512], cmd[1024], *err = NULL;
	FILE *f;
	int rc;

	/* 3000 distinct stacks: more than a pipe and stdio's buffer hold. */
	snprintf(path, sizeof(path), "%s/big.folded", test_tmpdir());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 3000; i++)
		fprintf(f, "main;work_%d;leaf_%d %d\n", i, i, i + 1);
	cr_assert_eq(fclose(f), 0);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		snprintf(cmd, sizeof(cmd),
			 "%s report %s -o - --format %s | head -c 10 >/dev/null; "
			 "exit ${PIPESTATUS[0]}",
			 sonde_bin(), path, formats[i]);
		rc = run_sh(cmd, NULL, &err);
		cr_expect_eq(rc, 0, "%s | head gave %d: %s", formats[i], rc, err);
		cr_expect_null(strstr(err, "failed"), "%s | head said: %s", formats[i], err);
		free(err);
	}
	snprintf(cmd, sizeof(cmd), "exec %s report %s -o - >/dev/full", sonde_bin(), path);
	rc = run_sh(cmd, NULL, &err);
	cr_expect_eq(rc, 1, "> /dev/full gave %d", rc);
	/* One line, the writer's own failure said by its caller with the path. */
	cr_expect_str_eq(err, "sonde: report: failed to write '-': No space left on device\n");
	free(err);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		snprintf(cmd, sizeof(cmd), "exec %s report %s -o - --format %s >/dev/full",
			 sonde_bin(), path, formats[i]);
		rc = run_sh(cmd, NULL, &err);
		cr_expect_eq(rc, 1, "%s > /dev/full gave %d", formats[i], rc);
		cr_expect_str_eq(err,
				 "sonde: report: failed to write '-': No space left on device\n",
				 "%s", formats[i]);
		free(err);
	}
}

Test(report, other_sample_types_named)
{
	const char *folded = tmp_path("s.folded"), *in = tmp_path("space.pb.gz"),
		   *svg = tmp_path("space.svg");
	const char *pb = tmp_path("space2.pb.gz"), *fpb = tmp_path("s.pb.gz");
	struct pprof_opts po = {.sample_type = "alloc_space", .sample_unit = "bytes"};
	struct profile *p = profile__new();
	struct profile_location loc = {.module = "/opt/app", .address = 0x10, .nlines = 1};
	char *out = NULL, *err = NULL, *text, want[1024];
	uint32_t id;
	FILE *f;
	int rc;

	loc.lines[0].function = "alloc";
	id = profile__intern_location(p, &loc);
	cr_assert_eq(profile__add(p, 7, "app", &id, 1, 3072), 0);
	f = fopen(in, "wb");
	cr_assert_eq(pprof__write_opts(p, f, &po), 0);
	cr_assert_eq(fclose(f), 0);
	profile__free(p);
	rc = sonde(&out, &err, ARGS("report", in, "-o", svg, "-o", pb));
	cr_assert_eq(rc, 0, "%s", err);
	free(out);
	free(err);
	text = read_file(svg, NULL);
	cr_expect(strstr(text, ">alloc_space flame graph</text>"), "no title");
	cr_expect(strstr(text, "<title>alloc (3072 bytes, 100.00%)</title>"), "no tooltip");
	free(text);
	text = pprof_run(pb, "-top", NULL, NULL);
	cr_expect(strstr(text, "Type: alloc_space\n"), "%s", text);
	cr_expect(strstr(text, "3kB   100%   100%        3kB   100%  alloc\n"), "%s", text);
	free(text);

	/* A folded file has samples only. */
	put(folded, "app;main;alloc 3\n");
	snprintf(want, sizeof(want),
		 "sonde: cannot read sample type 'alloc_space' of '%s': folded stacks have only "
		 "samples\n",
		 folded);
	expect_fail(ARGS("report", folded, "--sample-type", "alloc_space"), want);
	rc = sonde(&out, &err, ARGS("report", folded, "-o", fpb));
	cr_assert_eq(rc, 0, "%s", err);
	free(out);
	free(err);
	text = pprof_run(fpb, "-top", NULL, NULL);
	/* No sampling period in folded stacks: samples, not CPU time. */
	cr_expect(strstr(text, "Type: samples\n"), "%s", text);
	cr_expect(strstr(text, "of 3 total"), "%s", text);
	free(text);
}

Test(report, bad_inputs_one_line_each)
{
	const char *bad = tmp_path("bad.folded"), *empty = tmp_path("zero.folded"),
		   *pb = tmp_path("one.pb.gz");
	char want[1024];

	put(bad, "app;a 3\napp;b x\n");
	snprintf(want, sizeof(want),
		 "sonde: folded: failed to read '%s' line 2: no count after the last space\n", bad);
	expect_fail(ARGS("report", bad), want);
	put(empty, "app;a 0\n");
	snprintf(want, sizeof(want), "sonde: report: '%s' has no samples to show\n", empty);
	expect_fail(ARGS("report", empty), want);
	expect_fail(ARGS("report", "/nonexistent/cpu.pb.gz"),
		    "sonde: cannot read '/nonexistent/cpu.pb.gz': No such file or directory\n");
	put_pprof(pb, 1, 1);
	snprintf(want, sizeof(want),
		 "sonde: pprof: '%s' has no sample type 'alloc' (it has samples/count, "
		 "cpu/nanoseconds)\n",
		 pb);
	expect_fail(ARGS("report", pb, "--sample-type", "alloc"), want);
	expect_fail(ARGS("report", pb, "-o", "x.png"),
		    "sonde: report: cannot tell the format of 'x.png': name it *.folded, *.svg or "
		    "*.pb.gz (or -o - for stdout)\n");
	expect_fail(ARGS("report"),
		    "sonde: report: give one profile FILE, got 0 arguments (see sonde report "
		    "--help)\n");
}

/* Directories of windows: the last of each is compared. */
Test(diff, window_directories)
{
	char before[512], after[512], want[1200];
	char *out = NULL, *err = NULL, *text;
	int rc;

	snprintf(before, sizeof(before), "%s", tmp_path("v1"));
	snprintf(after, sizeof(after), "%s", tmp_path("v2"));
	cr_assert_eq(mkdir(before, 0700), 0);
	cr_assert_eq(mkdir(after, 0700), 0);
	/* v1's last window (09:30) is 3:1; v2's last (10:00) 1:3; older ones differ. */
	put_pprof(tmp_path("v1/api-20250314T090000Z.pb.gz"), 1, 99);
	put_pprof(tmp_path("v1/api-20250314T093000Z.pb.gz"), 30, 10);
	put_pprof(tmp_path("v2/api-20250314T095959Z.pb.gz"), 99, 1);
	put_pprof(tmp_path("v2/api-20250314T100000Z.pb.gz"), 10, 30);
	put(tmp_path("v2/notes.txt"), "not a window\n");
	rc = sonde(&out, &err, ARGS("diff", before, after, "-o", tmp_path("w.folded")));
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_str_eq(out, "Before: 40 samples, after: 40 samples. Shares of each side's "
			      "total; changes in percentage points.\n"
			      " BEFORE   AFTER   CHANGE    TOTAL  FUNCTION\n"
			      " 75.00%  25.00%   -50.00   -50.00  heavy\n"
			      " 25.00%  75.00%   +50.00   +50.00  light\n"
			      "  0.00%   0.00%    +0.00    +0.00  main\n");
	snprintf(want, sizeof(want),
		 "sonde: diff: before %s/api-20250314T093000Z.pb.gz (40 samples), after "
		 "%s/api-20250314T100000Z.pb.gz (40), wrote %s\n",
		 before, after, tmp_path("w.folded"));
	cr_expect_str_eq(err, want);
	text = read_file(tmp_path("w.folded"), NULL);
	cr_expect_str_eq(text, "app;main;heavy 30 10\napp;main;light 10 30\n");
	free(text);
	free(out);
	free(err);

	snprintf(want, sizeof(want),
		 "sonde: no profile windows in '%s': expected files named "
		 "[NAME-]YYYYMMDDTHHMMSSZ.pb.gz (the window's start, UTC)\n",
		 test_tmpdir());
	expect_fail(ARGS("diff", test_tmpdir(), after), want);
	expect_fail(ARGS("diff", before, after, "-o", "d.pb.gz"),
		    "sonde: diff: cannot write 'd.pb.gz': a difference is written as .svg or "
		    ".folded (for pprof, give both files to go tool pprof -diff_base)\n");
}
