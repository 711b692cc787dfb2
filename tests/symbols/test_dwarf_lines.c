// SPDX-License-Identifier: MIT
/*
 * DWARF lines and inline frames: an address inside an always_inline body
 * of the dbgfix fixture must come back as [inlined fn at its own line,
 * caller at the call's line], with the lines read from LINE: markers in
 * the fixture's source; from the binary itself, through its debuglink
 * file and through its build-id file. Plus the cache bound and corrupt
 * DWARF.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture_child.h"
#include "helpers.h"
#include "symbols/dwarf_lines.h"
#include "symbols/elfsyms.h"
#include "symbols/symbolize.h"

/* The line of the "LINE:@name" marker in the fixture's source. */
static uint32_t marker_line(const char *name)
{
	char *text = read_file(source_path("tests/fixtures/dbgfix.c"), NULL), *p, want[128];
	uint32_t line = 1;

	cr_assert_not_null(text);
	snprintf(want, sizeof(want), "/* LINE:%s */", name);
	p = strstr(text, want);
	cr_assert_not_null(p, "no marker %s", want);
	for (char *q = text; q < p; q++)
		line += *q == '\n';
	free(text);
	return line;
}

static uint64_t link_addr(const char *name)
{
	struct elfsyms *e = elfsyms__open(fixture_path("dbgfix"));
	uint64_t a;

	cr_assert_not_null(e);
	cr_assert_not_null(elfsyms__by_name(e, name));
	a = elfsyms__by_name(e, name)->addr;
	elfsyms__free(e);
	return a;
}

/* The mark's link-time address: its runtime offset from the caller. */
static uint64_t mark_link_addr(void)
{
	uint64_t caller = link_addr("dbgfix_caller"), mark;
	struct child c;

	child_start(&c, "dbgfix");
	mark = caller + child_addr(&c, "dbgfix_inline_mark") - child_addr(&c, "dbgfix_caller");
	child_stop(&c);
	return mark;
}

static void expect_inline_chain(const struct sym_result *r, uint64_t mark, uint64_t caller)
{
	cr_assert_eq(r->nframes, 2, "nframes %d", r->nframes);
	cr_assert_str_eq(r->frames[0].name, "dbgfix_inlined");
	cr_assert_eq(r->frames[0].inlined, 1);
	cr_assert_str_eq(base_name(r->frames[0].file), "dbgfix.c");
	cr_assert_eq(r->frames[0].line, marker_line("dbgfix_inlined"), "inlined line %u",
		     r->frames[0].line);
	cr_assert_str_eq(r->frames[1].name, "dbgfix_caller");
	cr_assert_eq(r->frames[1].inlined, 0);
	cr_assert_str_eq(base_name(r->frames[1].file), "dbgfix.c");
	cr_assert_eq(r->frames[1].line, marker_line("dbgfix_caller"), "call line %u",
		     r->frames[1].line);
	cr_assert_eq(r->frames[1].sym_offset, mark - caller);
}

static void resolve_mark(const char *fixture, const char *debug_dirs)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .debug_dirs = debug_dirs};
	struct symbolizer *s = symbolizer__new(&o);
	struct symbolizer_stats st;
	struct sym_result r;
	struct child c;
	uint64_t mark, caller;

	cr_assert_not_null(s);
	child_start(&c, fixture);
	mark = child_addr(&c, "dbgfix_inline_mark");
	caller = child_addr(&c, "dbgfix_caller");
	cr_assert_gt(mark, caller);
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, mark, &r), 0);
	expect_inline_chain(&r, mark, caller);
	cr_assert_eq(r.rel_addr, link_addr("dbgfix_caller") + (mark - caller));
	symbolizer__stats(s, &st);
	cr_assert_eq(st.dwarf_open, 1);
	child_stop(&c);
	symbolizer__free(s);
}

Test(dwarf_lines, inline_frame_from_the_binary)
{
	resolve_mark("dbgfix", "/nonexistent");
}

Test(dwarf_lines, inline_frame_through_debuglink)
{
	resolve_mark("dbgfix_dbglink", "/nonexistent");
}

Test(dwarf_lines, inline_frame_through_build_id)
{
	struct elfsyms *e = elfsyms__open(fixture_path("dbgfix_buildid"));
	char root[PATH_MAX], p[PATH_MAX + 128], target[PATH_MAX];
	const char *bid;

	cr_assert_not_null(e);
	bid = elfsyms__build_id(e);
	snprintf(root, sizeof(root), "%s/dwarf-root", test_tmpdir());
	mkdir(root, 0755);
	snprintf(p, sizeof(p), "%s/.build-id", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/.build-id/%.2s", root, bid);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/.build-id/%.2s/%s.debug", root, bid, bid + 2);
	cr_assert_not_null(realpath(fixture_path("dbgfix_buildid.debug"), target));
	unlink(p);
	cr_assert_eq(symlink(target, p), 0);
	elfsyms__free(e);
	resolve_mark("dbgfix_buildid", root);
}

Test(dwarf_lines, direct_lookup_and_truncation)
{
	struct dwarf_lines *d = dwarf_lines__open(fixture_path("dbgfix"));
	uint64_t mark_link;
	struct dwarf_line_frame f[8];
	int n;

	cr_assert_not_null(d);
	mark_link = mark_link_addr();

	n = dwarf_lines__lookup(d, mark_link, f, 8);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(f[0].name, "dbgfix_inlined");
	cr_assert_eq(f[0].line, marker_line("dbgfix_inlined"));
	cr_assert_str_eq(f[1].name, "dbgfix_caller");
	cr_assert_eq(f[1].line, marker_line("dbgfix_caller"));
	/* Room for one: the real function, at the call's line. */
	n = dwarf_lines__lookup(d, mark_link, f, 1);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(f[0].name, "dbgfix_caller");
	cr_assert_eq(f[0].inlined, 0);
	cr_assert_eq(f[0].line, marker_line("dbgfix_caller"));
	/* No CU covers address 0x10. */
	cr_assert_eq(dwarf_lines__lookup(d, 0x10, f, 8), 0);
	cr_assert_eq(dwarf_lines__lookup(d, mark_link, f, 0), -EINVAL);
	dwarf_lines__free(d);
	dwarf_lines__free(NULL);

	cr_assert_null(dwarf_lines__open(fixture_path("dbgfix_minidebug")));
	cr_assert_eq(errno, ENODATA);
	cr_assert_null(dwarf_lines__open("/nonexistent/file"));
	cr_assert_eq(errno, ENOENT);
	cr_assert_null(dwarf_lines__open(source_path("tests/fixtures/dbgfix.c")));
	cr_assert_eq(errno, ENOEXEC);
}

/*
 * Sizes of @path's .debug_* sections (uncompressed) that @zpath carries
 * compressed (SHF_COMPRESSED, or renamed .zdebug_* by zlib-gnu): what
 * libdw inflates on the heap at open.
 */
static size_t compressed_debug_bytes(const char *path, const char *zpath)
{
	int fd = open(path, O_RDONLY), zfd = open(zpath, O_RDONLY);
	Elf *e, *z;
	size_t total = 0, zstr, estr;
	Elf_Scn *zs = NULL;

	cr_assert_geq(fd, 0);
	cr_assert_geq(zfd, 0);
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	z = elf_begin(zfd, ELF_C_READ, NULL);
	cr_assert(e && z);
	cr_assert_eq(elf_getshdrstrndx(e, &estr), 0);
	cr_assert_eq(elf_getshdrstrndx(z, &zstr), 0);
	while ((zs = elf_nextscn(z, zs))) {
		const char *zname;
		GElf_Shdr zsh;
		Elf_Scn *es = NULL;

		cr_assert_not_null(gelf_getshdr(zs, &zsh));
		zname = elf_strptr(z, zstr, zsh.sh_name);
		/* Compared without the dot: "debug_info". */
		if (!strncmp(zname, ".zdebug_", 8))
			zname += 2;
		else if ((zsh.sh_flags & SHF_COMPRESSED) && !strncmp(zname, ".debug_", 7))
			zname += 1;
		else
			continue;
		while ((es = elf_nextscn(e, es))) {
			GElf_Shdr esh;

			cr_assert_not_null(gelf_getshdr(es, &esh));
			if (!strcmp(elf_strptr(e, estr, esh.sh_name) + 1, zname))
				total += esh.sh_size;
		}
	}
	elf_end(e);
	elf_end(z);
	close(fd);
	close(zfd);
	return total;
}

/* @zpath: a copy of dbgfix with its debug sections compressed by objcopy in @how. */
static struct dwarf_lines *open_compressed(const char *how, const char *zpath)
{
	char opt[64];
	char *argv[] = {"/usr/bin/objcopy", opt, (char *)fixture_path("dbgfix"), (char *)zpath,
			NULL};
	struct dwarf_lines *z;

	snprintf(opt, sizeof(opt), "--compress-debug-sections=%s", how);
	cr_assert_eq(run_cmd(argv, NULL, NULL), 0);
	z = dwarf_lines__open(zpath);
	cr_assert_not_null(z);
	return z;
}

/*
 * What the byte budget counts for DWARF: a file its debug sections, the
 * same compressed (either kind) or not; an image in memory its copy
 * instead (the sections are in it); a lookup grows the count once per
 * unit it reaches.
 */
Test(dwarf_lines, bytes_count_debug_sections_and_reached_units)
{
	const char *hows[] = {"zlib", "zlib-gnu"};
	uint64_t mark_link;
	struct dwarf_lines *d, *m;
	struct dwarf_line_frame f[8];
	size_t plain, len, grown, dbg;
	char *image;

	cr_assert_eq(dwarf_lines__bytes(NULL), 0);
	d = dwarf_lines__open(fixture_path("dbgfix"));
	image = read_file(fixture_path("dbgfix"), &len);
	cr_assert_not_null(image);
	m = dwarf_lines__open_mem(image, len);
	cr_assert(d && m);
	plain = dwarf_lines__bytes(d);
	/* libdw reads every .debug_* section of a file onto the heap at open. */
	dbg = section_sizes(fixture_path("dbgfix"), ".debug_", true, false);
	cr_assert_gt(dbg, 0);
	cr_assert_eq(dwarf_lines__bytes(m) + dbg, plain + len);

	mark_link = mark_link_addr();
	cr_assert_eq(dwarf_lines__lookup(d, mark_link, f, 8), 2);
	grown = dwarf_lines__bytes(d);
	cr_assert_gt(grown, plain);
	/* The same unit again: nothing new counted. */
	cr_assert_eq(dwarf_lines__lookup(d, mark_link, f, 8), 2);
	cr_assert_eq(dwarf_lines__bytes(d), grown);

	for (int i = 0; i < 2; i++) {
		const char *zpath = tmp_path(hows[i]);
		struct dwarf_lines *z = open_compressed(hows[i], zpath);
		size_t inflated = compressed_debug_bytes(fixture_path("dbgfix"), zpath);

		cr_assert_gt(inflated, 0, "%s", hows[i]);
		cr_assert_eq(dwarf_lines__bytes(z), plain, "%s", hows[i]);
		/* The same unit at the same cost as uncompressed. */
		cr_assert_eq(dwarf_lines__lookup(z, mark_link, f, 8), 2);
		cr_assert_eq(dwarf_lines__bytes(z), grown, "%s", hows[i]);
		dwarf_lines__free(z);
	}
	dwarf_lines__free(d);
	dwarf_lines__free(m);
	free(image);
}

/*
 * A target may truncate its file once sonde has opened it: the debug
 * sections were read at open, so the answers stay (a mapping would have
 * been a SIGBUS on the lookup).
 */
Test(dwarf_lines, file_truncated_after_open)
{
	const char *copy = tmp_path("dbgfix-truncated");
	char *argv[] = {"/bin/cp", (char *)fixture_path("dbgfix"), (char *)copy, NULL};
	uint64_t mark_link;
	struct dwarf_line_frame f[8];
	struct dwarf_lines *d;

	cr_assert_eq(run_cmd(argv, NULL, NULL), 0);
	d = dwarf_lines__open(copy);
	cr_assert_not_null(d);
	cr_assert_eq(truncate(copy, 0), 0);
	mark_link = mark_link_addr();
	cr_assert_eq(dwarf_lines__lookup(d, mark_link, f, 8), 2);
	cr_assert_str_eq(f[0].name, "dbgfix_inlined");
	cr_assert_eq(f[0].line, marker_line("dbgfix_inlined"));
	cr_assert_str_eq(f[1].name, "dbgfix_caller");
	cr_assert_eq(f[1].line, marker_line("dbgfix_caller"));
	dwarf_lines__free(d);
	/* Opened truncated: no DWARF, and no crash. */
	cr_assert_null(dwarf_lines__open(copy));
	unlink(copy);
}

Test(dwarf_lines, no_dwarf_option)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .no_dwarf = 1};
	struct symbolizer *s = symbolizer__new(&o);
	struct sym_result r;
	struct child c;

	cr_assert_not_null(s);
	child_start(&c, "dbgfix");
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, child_addr(&c, "dbgfix_inline_mark"), &r),
		     0);
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "dbgfix_caller");
	cr_assert_null(r.frames[0].file);
	cr_assert_eq(r.frames[0].line, 0);
	child_stop(&c);
	symbolizer__free(s);
}

Test(dwarf_lines, open_dwarf_files_are_bounded)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .max_dwarf_files = 1};
	struct symbolizer *s = symbolizer__new(&o);
	struct symbolizer_stats st;
	struct sym_result r;
	struct child a, b;
	uint64_t mark;

	cr_assert_not_null(s);
	child_start(&a, "dbgfix");
	child_start(&b, "symfix_pie");
	mark = child_addr(&a, "dbgfix_inline_mark");
	cr_assert_eq(symbolizer__resolve_user(s, a.pid, mark, &r), 0);
	expect_inline_chain(&r, mark, child_addr(&a, "dbgfix_caller"));
	cr_assert_eq(symbolizer__resolve_user(s, b.pid, child_addr(&b, "fixture_alpha") + 5, &r),
		     0);
	cr_assert_str_eq(r.frames[0].name, "fixture_alpha");
	cr_assert_str_eq(base_name(r.frames[0].file), "symfix_main.c");
	symbolizer__stats(s, &st);
	cr_assert_eq(st.dwarf_open, 1);
	cr_assert_eq(st.dwarf_opens, 2);
	cr_assert_eq(st.files_cached, 2);
	/* The evicted DWARF reopens, with the same answer. */
	cr_assert_eq(symbolizer__resolve_user(s, a.pid, mark, &r), 0);
	expect_inline_chain(&r, mark, child_addr(&a, "dbgfix_caller"));
	symbolizer__stats(s, &st);
	cr_assert_eq(st.dwarf_open, 1);
	cr_assert_eq(st.dwarf_opens, 3);
	child_stop(&a);
	child_stop(&b);
	symbolizer__free(s);
}

/*
 * libdw 0.188 (Debian 12) leaks small blocks allocated inside its own
 * code (libdw.so.1+0x419f0, next to dwarf_getsrc_die) on some corrupt
 * inputs, unreachable from our handle after dwarf_end(). Only this binary
 * ignores leaks whose allocation is inside libdw: leaks of our own
 * allocations still fail, and the valid-input tests above run clean.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libdw.so.1\n";
}

Test(dwarf_lines, corrupt_dwarf_never_crashes, .timeout = 300)
{
	static const char *const secs[] = {".debug_info",    ".debug_abbrev", ".debug_line",
					   ".debug_aranges", ".debug_str",    ".debug_rnglists"};
	const char *path = fixture_path("dbgfix");
	size_t len, off[6], size[6], i;
	char *orig = read_file(path, &len), *img;
	uint64_t caller = link_addr("dbgfix_caller");
	uint32_t seed = 777;
	int opened = 0;

	cr_assert_not_null(orig);
	for (i = 0; i < 6; i++) {
		section_of(path, secs[i], &off[i], &size[i]);
		cr_assert_leq(off[i] + size[i], len);
	}
	img = malloc(len);
	cr_assert_not_null(img);
	for (i = 0; i < 3000; i++) {
		struct dwarf_line_frame f[8];
		struct dwarf_lines *d;
		int k, flips = 1 + (int)(lcg(&seed) % 6);
		uint64_t a;

		memcpy(img, orig, len);
		for (k = 0; k < flips; k++) {
			size_t s = lcg(&seed) % 6;

			img[off[s] + lcg(&seed) % size[s]] = (char)lcg(&seed);
		}
		d = dwarf_lines__open_mem(img, len);
		if (!d)
			continue;
		opened++;
		for (a = caller; a < caller + 0x80; a += 7)
			dwarf_lines__lookup(d, a, f, 8);
		dwarf_lines__lookup(d, 0x10, f, 8);
		dwarf_lines__free(d);
	}
	cr_assert_gt(opened, 0);
	free(img);
	free(orig);
}
