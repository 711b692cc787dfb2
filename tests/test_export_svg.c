// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "sonde/flamegraph.h"

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
