// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "export/svg.h"

/* Debian's libxml2-utils; the test needs a real XML parser, not ours. */
#define XMLLINT "/usr/bin/xmllint"

static uint32_t loc_at(struct profile *p, uint64_t addr, const char *fn, const char *file,
		       uint32_t line, uint32_t flags)
{
	struct profile_location l = {
		.module = "/bin/app", .address = addr, .flags = flags, .nlines = 1};
	int id;

	l.lines[0].function = fn;
	l.lines[0].file = file;
	l.lines[0].line = line;
	id = profile__intern_location(p, &l);
	cr_assert_geq(id, 0);
	return id;
}

static char *svg_of(const struct profile *p, const struct svg_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(flamegraph_svg__write(p, f, o), 0);
	fclose(f);
	return buf;
}

/* Start of the frame whose tooltip begins with "@title (", or NULL. */
static const char *frame(const char *svg, const char *title)
{
	char pat[256];

	snprintf(pat, sizeof(pat), "<title>%s (", title);
	return strstr(svg, pat);
}

/* The numeric value of @name="..." on the frame's rect. */
static double rect_attr(const char *svg, const char *title, const char *name)
{
	const char *g = frame(svg, title), *r, *a;
	char pat[64];

	cr_assert_not_null(g, "no frame %s", title);
	r = strstr(g, "<rect ");
	cr_assert_not_null(r);
	snprintf(pat, sizeof(pat), " %s=\"", name);
	a = strstr(r, pat);
	cr_assert_not_null(a);
	return strtod(a + strlen(pat), NULL);
}

static void assert_well_formed(const char *svg)
{
	char path[256], *err = NULL;
	char *argv[] = {XMLLINT, "--noout", path, NULL};
	FILE *f;
	int rc;

	cr_assert_eq(access(XMLLINT, X_OK), 0, "install libxml2-utils for xmllint");
	snprintf(path, sizeof(path), "%s/fg-%d.svg", test_tmpdir(), (int)getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(svg, f);
	fclose(f);
	rc = run_cmd(argv, NULL, &err);
	cr_assert_eq(rc, 0, "xmllint: %s", err);
	cr_assert_str_eq(err, "");
	free(err);
	unlink(path);
}

/*
 * app -> main -> b (1 sample, added first), app -> main -> a (3 samples),
 * plus the kernel under a in another process of the same name.
 */
static struct profile *split_profile(void)
{
	struct profile *p = profile__new();
	uint32_t m = loc_at(p, 0x10, "main", "main.c", 12, 0);
	uint32_t a = loc_at(p, 0x20, "a", "a.c", 5, 0);
	uint32_t b = loc_at(p, 0x30, "b", NULL, 0, 0);
	uint32_t k = loc_at(p, 0xffff1000, "schedule", NULL, 0, PROFILE_LOC_KERNEL);
	uint32_t sb[] = {m, b}, sa[] = {m, a}, sk[] = {m, a, k};

	cr_assert_eq(profile__add(p, 1, "app", sb, 2, 1), 0);
	cr_assert_eq(profile__add(p, 1, "app", sa, 2, 2), 0);
	cr_assert_eq(profile__add(p, 2, "app", sk, 3, 1), 0);
	return p;
}

/* A full disk is told as such (ENOSPC), not as "Input/output error". */
Test(export_svg, full_disk_is_enospc)
{
	struct profile *p = split_profile();
	FILE *f = fopen("/dev/full", "w");

	cr_assert_not_null(f);
	cr_assert_eq(flamegraph_svg__write(p, f, NULL), -ENOSPC);
	fclose(f);
	profile__free(p);
}

Test(export_svg, well_formed_xml)
{
	struct profile *p = split_profile();
	struct svg_opts o = {.title = "t", .subtitle = "sonde record -p 1", .width = 800};
	char *svg = svg_of(p, &o);

	assert_well_formed(svg);
	cr_assert(strncmp(svg, "<?xml version=\"1.0\"", 19) == 0);
	cr_assert_not_null(strstr(svg, "width=\"800\""));
	free(svg);
	profile__free(p);
}

Test(export_svg, widths_proportional_and_children_sorted)
{
	struct profile *p = split_profile();
	char *svg = svg_of(p, NULL); /* default width 1200: usable 1180 */
	double wa, wb;

	wa = rect_attr(svg, "a", "width");
	wb = rect_attr(svg, "b", "width");
	cr_assert_float_eq(wa, 885.0, 0.001);
	cr_assert_float_eq(wb, 295.0, 0.001);
	cr_assert_float_eq(wa / wb, 3.0, 0.01);
	cr_assert_float_eq(rect_attr(svg, "all", "width"), 1180.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "main", "width"), 1180.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "schedule_[k]", "width"), 295.0, 0.001);
	/* Alphabetical, not insertion order: a (added second) is leftmost. */
	cr_assert_float_eq(rect_attr(svg, "a", "x"), 10.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "b", "x"), 895.0, 0.001);
	/* Root at the bottom, one 16 px row per level. */
	cr_assert_float_eq(rect_attr(svg, "all", "y") - rect_attr(svg, "app", "y"), 16.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "a", "y") - rect_attr(svg, "schedule_[k]", "y"), 16.0,
			   0.001);
	free(svg);
	profile__free(p);
}

Test(export_svg, tooltips_exact)
{
	struct profile *p = split_profile();
	char *svg = svg_of(p, NULL);

	cr_assert_not_null(strstr(svg, "<title>a (3 samples, 75.00%)\na.c:5</title>"));
	cr_assert_not_null(strstr(svg, "<title>b (1 sample, 25.00%)</title>"));
	cr_assert_not_null(strstr(svg, "<title>main (4 samples, 100.00%)\nmain.c:12</title>"));
	cr_assert_not_null(strstr(svg, "<title>all (4 samples, 100.00%)</title>"));
	cr_assert_not_null(strstr(svg, "<title>schedule_[k] (1 sample, 25.00%)</title>"));
	/* Labels: full name when it fits. */
	cr_assert_not_null(strstr(svg, ">main</text>"));
	free(svg);
	profile__free(p);
}

Test(export_svg, merged_frames_with_different_lines_drop_the_line)
{
	struct profile *p = profile__new();
	uint32_t l1 = loc_at(p, 0x10, "spin", "spin.c", 3, 0);
	uint32_t l2 = loc_at(p, 0x14, "spin", "spin.c", 4, 0);
	uint32_t l3 = loc_at(p, 0x40, "mixed", "x.c", 1, 0);
	uint32_t l4 = loc_at(p, 0x44, "mixed", "y.c", 1, 0);
	char *svg;

	cr_assert_eq(profile__add(p, 1, "app", &l1, 1, 1), 0);
	cr_assert_eq(profile__add(p, 1, "app", &l2, 1, 1), 0);
	cr_assert_eq(profile__add(p, 1, "app2", &l3, 1, 1), 0);
	cr_assert_eq(profile__add(p, 1, "app2", &l4, 1, 1), 0);
	svg = svg_of(p, NULL);
	cr_assert_not_null(strstr(svg, "<title>spin (2 samples, 50.00%)\nspin.c</title>"));
	cr_assert_not_null(strstr(svg, "<title>mixed (2 samples, 50.00%)</title>"));
	free(svg);
	profile__free(p);
}

Test(export_svg, names_and_titles_are_escaped)
{
	struct profile *p = profile__new();
	uint32_t l = loc_at(p, 0x10, "op<&>\"'", "x<y>.c", 1, 0);
	uint32_t bad = loc_at(p, 0x20,
			      "bin\xff\x01"
			      "ary",
			      NULL, 0, 0);
	uint32_t st[] = {l, bad};
	struct svg_opts o = {.title = "T<1>", .subtitle = "a & b"};
	char *svg;

	cr_assert_eq(profile__add(p, 1, "c\"m'd", st, 2, 1), 0);
	svg = svg_of(p, &o);
	assert_well_formed(svg);
	cr_assert_not_null(strstr(svg, "<title>op&lt;&amp;&gt;&quot;&apos; (1 sample, "
				       "100.00%)\nx&lt;y&gt;.c:1</title>"));
	cr_assert_not_null(strstr(svg, ">op&lt;&amp;&gt;&quot;&apos;</text>"));
	cr_assert_not_null(strstr(svg, "<title>c&quot;m&apos;d (1 sample"));
	/* Bytes XML cannot hold become '?'. */
	cr_assert_not_null(strstr(svg, "<title>bin??ary (1 sample"));
	cr_assert_not_null(strstr(svg, ">T&lt;1&gt;</text>"));
	cr_assert_not_null(strstr(svg, ">a &amp; b</text>"));
	cr_assert_null(strstr(svg, "op<&>"));
	free(svg);
	profile__free(p);
}

Test(export_svg, self_contained_with_script)
{
	struct profile *p = split_profile();
	char *svg = svg_of(p, NULL);
	const char *s, *http;
	int nhttp = 0;

	s = strstr(svg, "<script type=\"text/ecmascript\"><![CDATA[");
	cr_assert_not_null(s);
	cr_assert_not_null(strstr(s, "function zoom("));
	cr_assert_not_null(strstr(s, "function search("));
	cr_assert_not_null(strstr(s, "]]></script>"));
	cr_assert_not_null(strstr(svg, "onload=\"init()\""));
	cr_assert_null(strstr(svg, "href=\"http"));
	cr_assert_null(strstr(svg, "src="));
	cr_assert_null(strstr(svg, "@import"));
	/* The only URL is the SVG namespace name, which is never fetched. */
	for (http = svg; (http = strstr(http, "http")); http++)
		nhttp++;
	cr_assert_eq(nhttp, 1);
	cr_assert_not_null(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
	free(svg);
	profile__free(p);
}

Test(export_svg, narrow_frames_omitted_but_counted)
{
	struct profile *p = profile__new();
	uint32_t m = loc_at(p, 0x10, "main", NULL, 0, 0);
	uint32_t big = loc_at(p, 0x20, "big", NULL, 0, 0);
	uint32_t tiny = loc_at(p, 0x30, "tiny", NULL, 0, 0);
	uint32_t deeper = loc_at(p, 0x40, "deeper", NULL, 0, 0);
	uint32_t sb[] = {m, big}, st[] = {m, tiny, deeper};
	char *svg;

	cr_assert_eq(profile__add(p, 1, "app", sb, 2, 99999), 0);
	cr_assert_eq(profile__add(p, 1, "app", st, 3, 1), 0); /* 0.0118 px */
	svg = svg_of(p, NULL);
	cr_assert_null(frame(svg, "tiny"));
	cr_assert_null(frame(svg, "deeper"));
	cr_assert_not_null(strstr(svg, "<title>main (100000 samples, 100.00%)</title>"));
	cr_assert_float_eq(rect_attr(svg, "main", "width"), 1180.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "big", "width"), 1179.988, 0.001);
	assert_well_formed(svg);
	free(svg);
	profile__free(p);
}

Test(export_svg, long_labels_truncated_short_boxes_unlabelled)
{
	struct profile *p = profile__new();
	uint32_t wide = loc_at(p, 0x10, "wide_function_with_a_long_name", NULL, 0, 0);
	uint32_t narrow = loc_at(p, 0x20, "narrow", NULL, 0, 0);
	struct svg_opts o = {.width = 220}; /* usable 200 px */
	char *svg;

	/* wide: 20 % = 40 px = floor(34 / 7.08) = 4 chars; narrow: 1 % = 2 px. */
	cr_assert_eq(profile__add(p, 1, "x", &wide, 1, 20), 0);
	cr_assert_eq(profile__add(p, 1, "x", &narrow, 1, 1), 0);
	cr_assert_eq(profile__add(p, 2, "y", NULL, 0, 79), 0);
	svg = svg_of(p, &o);
	cr_assert_float_eq(rect_attr(svg, "wide_function_with_a_long_name", "width"), 40.0, 0.001);
	cr_assert_not_null(strstr(frame(svg, "wide_function_with_a_long_name"), ">wi..</text>"));
	cr_assert_not_null(strstr(frame(svg, "narrow"), "\"></text>"));
	free(svg);
	profile__free(p);
}

Test(export_svg, empty_profile_is_still_valid)
{
	struct profile *p = profile__new();
	char *svg = svg_of(p, NULL);

	assert_well_formed(svg);
	cr_assert_not_null(strstr(svg, "No samples"));
	cr_assert_null(strstr(svg, "<g class=\"f\""));
	free(svg);
	profile__free(p);
}

/*
 * app;main;work;heavy 6, app;main;work;light 2, app;main;HeavyIO 2: a
 * case-sensitive "heavy" matches 6 of 10 samples, ignoring case 8 of 10;
 * within work, 6 of its 8 either way.
 */
static struct profile *browser_profile(void)
{
	struct profile *p = profile__new();
	uint32_t m = loc_at(p, 0x10, "main", "main.c", 3, 0);
	uint32_t w = loc_at(p, 0x20, "work", "work.c", 7, 0);
	uint32_t h = loc_at(p, 0x30, "heavy", NULL, 0, 0);
	uint32_t l = loc_at(p, 0x40, "light", NULL, 0, 0);
	uint32_t io = loc_at(p, 0x50, "HeavyIO", NULL, 0, 0);
	uint32_t sh[] = {m, w, h}, sl[] = {m, w, l}, si[] = {m, io};

	cr_assert_eq(profile__add(p, 1, "app", sh, 3, 6), 0);
	cr_assert_eq(profile__add(p, 1, "app", sl, 3, 2), 0);
	cr_assert_eq(profile__add(p, 1, "app", si, 2, 2), 0);
	return p;
}

static const char *write_svg(const struct profile *p, const struct svg_opts *o, const char *name)
{
	static char path[512];
	char *svg = svg_of(p, o);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(svg, f);
	cr_assert_eq(fclose(f), 0);
	free(svg);
	return path;
}

/* Run tests/svg_view.js on @file with @steps (NULL-terminated); its stdout. */
static char *view(const char *file, const char *const *steps)
{
	char *argv[32], *out = NULL, *err = NULL;
	int n = 0, rc;

	require_path("/usr/bin/chromium", X_OK, "Debian's chromium");
	require_path(source_path("tests/node_modules/playwright-core/package.json"), R_OK,
		     "npm playwright-core");
	argv[n++] = "/usr/bin/env";
	argv[n++] = "node";
	argv[n++] = (char *)source_path("tests/svg_view.js");
	argv[n++] = (char *)file;
	while (*steps && n < 31)
		argv[n++] = (char *)*steps++;
	argv[n] = NULL;
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "svg_view.js failed (%d): %s\n%s", rc, err, out);
	free(err);
	return out;
}

/* The lines svg_view.js printed after step @step (a copy). */
static char *after_step(const char *out, const char *step)
{
	char head[256];
	const char *s, *e;

	snprintf(head, sizeof(head), "== %s\n", step);
	s = strstr(out, head);
	cr_assert_not_null(s, "no step %s in:\n%s", step, out);
	s += strlen(head);
	e = strstr(s, "\n== ");
	return strndup(s, e ? (size_t)(e - s + 1) : strlen(s));
}

static void expect_lines(const char *out, const char *step, const char *const *lines)
{
	char *sec = after_step(out, step);

	for (; *lines; lines++)
		cr_expect(strstr(sec, *lines) != NULL, "after %s: no line '%s' in:\n%s", step,
			  *lines, sec);
	free(sec);
}

#define LINES(...) ((const char *const[]){__VA_ARGS__, NULL})

/*
 * In Chromium: zoom by a click, search by typing into the prompt, the case
 * toggle, percentages of the zoomed frame, the view in the URL fragment
 * kept over a reload and restored from a shared link, Esc resetting it.
 */
Test(export_svg, browser_zoom_search_and_url)
{
	struct profile *p = browser_profile();
	struct svg_opts o = {.subtitle = "sonde record -F 99 -o 'my dir/cpu.svg' -- ./app"};
	const char *file = write_svg(p, &o, "browser.svg");
	char *out = view(file, LINES("open", "click:work", "search:heavy", "icase", "unzoom",
				     "reload", "click:HeavyIO", "escape",
				     "open:#zoom=2,0&search=light", "open:#zoom=9,9&search=%28"));

	/* Unzoomed: default width 1200, usable 1180, 118 px a sample. */
	expect_lines(
		out, "open",
		LINES("url -\n", "matched -\n", "highlight 0\n", "frame all 10.000 1180.000\n",
		      "frame heavy 246.000 708.000\n", "frame HeavyIO 10.000 236.000\n",
		      "legend process,user\n",
		      "subtitle sonde record -F 99 -o 'my dir/cpu.svg' -- ./app | sonde record "
		      "-F 99 -o 'my dir/cpu.svg' -- ./app\n"));
	/* work (depth 3, offset 2 after HeavyIO) fills the width; HeavyIO is gone. */
	expect_lines(out, "click:work",
		     LINES("url #zoom=3,2\n", "frame work 10.000 1180.000\n",
			   "frame heavy 10.000 885.000\n", "frame light 895.000 295.000\n",
			   "frame main 10.000 1180.000\n"));
	{
		char *sec = after_step(out, "click:work");

		cr_expect_null(strstr(sec, "frame HeavyIO"));
		free(sec);
	}
	/* Percentages of the zoomed frame: 6 of work's 8 samples. */
	expect_lines(out, "search:heavy",
		     LINES("url #zoom=3,2&search=heavy\n",
			   "matched Matched: 75.00% of work (6 of 8 samples)\n", "highlight 1\n"));
	/* Ignoring case adds HeavyIO, which is outside work. */
	expect_lines(out, "icase",
		     LINES("url #zoom=3,2&search=heavy&icase=1\n",
			   "matched Matched: 75.00% of work (6 of 8 samples)\n", "highlight 2\n"));
	expect_lines(out, "unzoom",
		     LINES("url #search=heavy&icase=1\n",
			   "matched Matched: 80.00% (8 of 10 samples)\n",
			   "frame HeavyIO 10.000 236.000\n"));
	/* A reload shows the same view. */
	expect_lines(out, "reload",
		     LINES("url #search=heavy&icase=1\n",
			   "matched Matched: 80.00% (8 of 10 samples)\n", "highlight 2\n"));
	/* Zoomed into a match: all of it matches. */
	expect_lines(out, "click:HeavyIO",
		     LINES("url #zoom=3,0&search=heavy&icase=1\n",
			   "matched Matched: 100.00% of HeavyIO (2 of 2 samples)\n",
			   "frame HeavyIO 10.000 1180.000\n"));
	/* Esc drops search and zoom; ignoring case is a preference, it stays. */
	expect_lines(out, "escape",
		     LINES("url #icase=1\n", "matched -\n", "highlight 0\n",
			   "frame all 10.000 1180.000\n"));
	/* A shared link: main zoomed (depth 2, offset 0), light searched. */
	expect_lines(out, "open:#zoom=2,0&search=light",
		     LINES("url #zoom=2,0&search=light\n",
			   "matched Matched: 20.00% of main (2 of 10 samples)\n", "highlight 1\n"));
	/* A fragment naming no frame and a bad regular expression: no zoom, a plain search. */
	expect_lines(
		out, "open:#zoom=9,9&search=%28",
		LINES("matched Matched: 0.00% (0 of 10 samples)\n", "frame all 10.000 1180.000\n"));
	free(out);
	profile__free(p);
}

/* An icicle graph: the same frames, the root on the top row. */
Test(export_svg, inverted_puts_the_root_on_top)
{
	struct profile *p = split_profile();
	struct svg_opts o = {.inverted = true};
	char *svg = svg_of(p, &o), *flame = svg_of(p, NULL);

	assert_well_formed(svg);
	/* Title 24, legend 44, frames from 56: all, app, main, a|b, schedule. */
	cr_assert_float_eq(rect_attr(svg, "all", "y"), 56.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "app", "y"), 72.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "a", "y"), 104.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "schedule_[k]", "y"), 120.0, 0.001);
	/* The flame graph of the same profile: root at the bottom, same widths. */
	cr_assert_float_eq(rect_attr(flame, "all", "y"), 120.0, 0.001);
	cr_assert_float_eq(rect_attr(flame, "schedule_[k]", "y"), 56.0, 0.001);
	cr_assert_float_eq(rect_attr(svg, "a", "width"), rect_attr(flame, "a", "width"), 0.001);
	cr_assert_not_null(strstr(svg, "height=\"170\""));
	free(flame);
	free(svg);
	profile__free(p);
}

/* The legend names the kinds drawn, in their colours' middle, and no others. */
Test(export_svg, legend_lists_the_kinds_drawn)
{
	struct profile *p = split_profile();
	struct profile_location unsym = {.module = "/lib/libz.so.1", .address = 0x99};
	uint32_t u = profile__intern_location(p, &unsym);
	char *svg;

	cr_assert_eq(profile__add(p, 3, "zz", &u, 1, 1), 0);
	svg = svg_of(p, NULL);
	assert_well_formed(svg);
	cr_assert_not_null(strstr(svg,
				  "<g id=\"legend\" class=\"legend\">"
				  "<rect x=\"10.0\" y=\"35\" width=\"10\" height=\"10\" "
				  "fill=\"rgb(185,175,220)\"/><text x=\"23.0\" y=\"44\">process"
				  "</text>"));
	cr_assert_not_null(strstr(svg, ">user</text>"));
	cr_assert_not_null(strstr(svg, ">kernel</text>"));
	cr_assert_not_null(strstr(svg, ">unsymbolized</text>"));
	cr_assert_null(strstr(svg, ">inlined</text>"));
	/* The case toggle sits at the right of the legend row. */
	cr_assert_not_null(strstr(
		svg,
		"<text id=\"icase\" class=\"btn\" x=\"1190\" y=\"44\">[ ] ignore case</text>"));
	free(svg);
	profile__free(p);
}

/* One frame per module for unnamed code; its offsets, busiest first, in the tooltip. */
Test(export_svg, unsymbolized_frame_lists_offsets)
{
	struct profile *p = profile__new();
	uint32_t m = loc_at(p, 0x10, "main", NULL, 0, 0), ids[10];
	char *svg;

	for (uint32_t i = 0; i < 10; i++) {
		struct profile_location l = {.module = "/usr/lib/liblzma.so.5.4.1",
					     .address = 0x1000 + 0x10 * i};
		uint32_t st[2];

		ids[i] = profile__intern_location(p, &l);
		st[0] = m;
		st[1] = ids[i];
		/* 0x1000: 1 sample, 0x1010: 2, ... 0x1090: 10. */
		cr_assert_eq(profile__add(p, 1, "xz", st, 2, i + 1), 0);
	}
	svg = svg_of(p, NULL);
	assert_well_formed(svg);
	cr_assert_eq(count_of(svg, "<title>[liblzma.so.5.4.1] ("), 1);
	cr_assert_not_null(strstr(svg, "<title>[liblzma.so.5.4.1] (55 samples, 100.00%)\n"
				       "+0x1090 (10), +0x1080 (9), +0x1070 (8), +0x1060 (7), "
				       "+0x1050 (6), +0x1040 (5), +0x1030 (4), +0x1020 (3), 2 more"
				       "</title>"));
	free(svg);
	profile__free(p);
}

/*
 * A differential graph: AFTER's widths, colours by the change of share.
 * before: main;a 3, main;b 1 (a 75 %); after: main;a 1, main;b 3 (a 25 %).
 */
Test(export_svg, differential_colours_by_change_of_share)
{
	struct profile *before = profile__new(), *after = profile__new();
	struct profile *both[2] = {before, after};
	struct svg_opts o = {0};
	char *svg;

	for (int i = 0; i < 2; i++) {
		uint32_t m = loc_at(both[i], 0x10, "main", NULL, 0, 0);
		uint32_t a = loc_at(both[i], 0x20, "a", NULL, 0, 0);
		uint32_t b = loc_at(both[i], 0x30, "b", NULL, 0, 0);
		uint32_t sa[] = {m, a}, sb[] = {m, b};

		/* BEFORE has 40 samples, AFTER 400: shares, not counts, compare. */
		cr_assert_eq(profile__add(both[i], 1, "app", sa, 2, i ? 100 : 30), 0);
		cr_assert_eq(profile__add(both[i], 1, "app", sb, 2, i ? 300 : 10), 0);
	}
	o.before = before;
	svg = svg_of(after, &o);
	assert_well_formed(svg);
	cr_assert_not_null(strstr(svg, "<title>a (100 samples, 25.00%; before 30, 75.00%; "
				       "-50.00 pp)</title><rect x=\"10.000\" y=\"56.0\" "
				       "width=\"295.000\" height=\"15\" fill=\"rgb(30,30,255)\""));
	cr_assert_not_null(strstr(svg, "<title>b (300 samples, 75.00%; before 10, 25.00%; "
				       "+50.00 pp)</title>"));
	cr_assert_not_null(strstr(frame(svg, "b"), "fill=\"rgb(255,30,30)\""));
	/* Unchanged shares: neutral. */
	cr_assert_not_null(strstr(frame(svg, "main"), "fill=\"rgb(230,230,230)\""));
	cr_assert_not_null(strstr(svg, ">share of samples grew (deepest: +50.00 pp)</text>"));
	free(svg);
	profile__free(before);
	profile__free(after);
}

/* A long command line is cut to the width; the whole of it is its tooltip. */
Test(export_svg, long_subtitle_fits_and_keeps_the_whole_line)
{
	struct profile *p = split_profile();
	char sub[400];
	struct svg_opts o = {.subtitle = sub, .width = 300};
	char *svg, want[512];

	memset(sub, 'x', sizeof(sub) - 1);
	sub[sizeof(sub) - 1] = '\0';
	memcpy(sub, "sonde ", 6);
	svg = svg_of(p, &o);
	assert_well_formed(svg);
	/* 280 px / 7.08 px = 39.5 characters: 37 and "..". */
	snprintf(want, sizeof(want), "<title>%s</title>%.37s..</text>", sub, sub);
	cr_assert_not_null(strstr(svg, want));
	free(svg);
	profile__free(p);
}

/* A unit (off-CPU ns, bytes) replaces "samples" in every tooltip. */
Test(export_svg, tooltips_with_a_unit)
{
	struct profile *p = split_profile();
	struct svg_opts o = {.title = "Off-CPU time flame graph", .unit = "ns", .units = "ns"};
	char *svg = svg_of(p, &o);

	cr_assert_not_null(strstr(svg, "<title>a (3 ns, 75.00%)\na.c:5</title>"));
	cr_assert_not_null(strstr(svg, "<title>b (1 ns, 25.00%)</title>"));
	cr_assert_not_null(strstr(svg, ">Off-CPU time flame graph</text>"));
	free(svg);
	profile__free(p);
}
