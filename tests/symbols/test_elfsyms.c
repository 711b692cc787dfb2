// SPDX-License-Identifier: MIT
/*
 * elfsyms against binutils: every expected address, size and build-id is
 * read from the fixture by nm/readelf (or the dynamic loader) at test time.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "symbols/elfsyms.h"
#include "symbols/procmaps.h"

struct nm_sym {
	uint64_t addr;
	uint64_t size;
	char type;
};

/* The symbol @name as "nm -S [-D]" prints it; fails the test when absent. */
static struct nm_sym nm_lookup(const char *path, const char *name, int dynamic)
{
	char *argv[] = { "/usr/bin/nm", "-S", dynamic ? "-D" : "--defined-only",
			 (char *)path, NULL };
	char *out = NULL, *line, *save = NULL;
	struct nm_sym r = { 0 };
	int found = 0;

	cr_assert_eq(run_cmd(argv, &out, NULL), 0, "nm %s", path);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a, sz;
		char t, n[256];

		if (sscanf(line, "%llx %llx %c %255s", &a, &sz, &t, n) == 4 && !strcmp(n, name)) {
			r = (struct nm_sym){ a, sz, t };
			found = 1;
			break;
		}
		if (sscanf(line, "%llx %c %255s", &a, &t, n) == 3 && !strcmp(n, name)) {
			r = (struct nm_sym){ a, 0, t };
			found = 1;
			break;
		}
	}
	free(out);
	cr_assert(found, "nm shows no %s in %s", name, path);
	return r;
}

/* Defined function symbols nm -D lists (distinct addresses). */
static size_t nm_dynamic_func_count(const char *path)
{
	char *argv[] = { "/usr/bin/nm", "-D", "--defined-only", (char *)path, NULL };
	char *out = NULL, *line, *save = NULL;
	size_t n = 0;

	cr_assert_eq(run_cmd(argv, &out, NULL), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a;
		char t;

		if (sscanf(line, "%llx %c", &a, &t) == 2 && a && (t == 'T' || t == 'i'))
			n++;
	}
	free(out);
	return n;
}

static char *readelf_build_id(const char *path)
{
	char *argv[] = { "/usr/bin/readelf", "-n", (char *)path, NULL };
	char *out = NULL, *p, *id;

	cr_assert_eq(run_cmd(argv, &out, NULL), 0);
	p = strstr(out, "Build ID: ");
	cr_assert_not_null(p, "readelf shows no build-id for %s", path);
	p += strlen("Build ID: ");
	id = strndup(p, strcspn(p, "\n "));
	free(out);
	return id;
}

static void check_function(const struct elfsyms *e, const char *path, const char *name,
			   int dynamic)
{
	struct nm_sym want = nm_lookup(path, name, dynamic);
	const struct elfsym *s = elfsyms__by_name(e, name);

	cr_assert_not_null(s, "%s missing", name);
	cr_assert_eq(s->addr, want.addr, "%s: 0x%" PRIx64 " != nm 0x%" PRIx64, name, s->addr,
		     want.addr);
	cr_assert_eq(s->size, want.size, "%s size %" PRIu64 " != nm %" PRIu64, name, s->size,
		     want.size);
	s = elfsyms__find(e, want.addr + 5);
	cr_assert_not_null(s);
	cr_assert_str_eq(s->name, name);
	cr_assert_eq(s->addr, want.addr);
	s = elfsyms__find(e, want.addr + want.size - 1);
	cr_assert_not_null(s);
	cr_assert_str_eq(s->name, name);
}

Test(elfsyms, pie_symtab_matches_nm)
{
	const char *path = fixture_path("symfix_pie");
	struct elfsyms *e = elfsyms__open(path);
	struct nm_sym region, fd, sized;
	const struct elfsym *s;
	char *bid;
	size_t i;

	cr_assert_not_null(e, "open: %s", strerror(errno));
	cr_assert_eq(elfsyms__is_dyn(e), 1);
	check_function(e, path, "fixture_alpha", 0);
	check_function(e, path, "fixture_beta", 0);
	check_function(e, path, "fixture_static_gamma", 0);
	check_function(e, path, "main", 0);
	cr_assert_null(elfsyms__by_name(e, "fixture_alph"));
	cr_assert_null(elfsyms__by_name(e, "printf")); /* undefined: imported */

	/* Past a sized symbol's end nothing is named. */
	region = nm_lookup(path, "fixture_nosym_region", 0);
	cr_assert_null(elfsyms__find(e, region.addr));
	cr_assert_null(elfsyms__find(e, region.addr + 40));

	/* Sizeless frame_dummy covers up to the next symbol. */
	fd = nm_lookup(path, "frame_dummy", 0);
	sized = nm_lookup(path, "fixture_asm_sized", 0);
	s = elfsyms__find(e, sized.addr - 1);
	cr_assert_not_null(s);
	cr_assert_str_eq(s->name, "frame_dummy");
	cr_assert_eq(s->size, sized.addr - fd.addr);

	/* Address order, one symbol per address. */
	for (i = 1; i < elfsyms__count(e); i++)
		cr_assert_lt(elfsyms__at(e, i - 1)->addr, elfsyms__at(e, i)->addr);
	cr_assert_null(elfsyms__at(e, elfsyms__count(e)));

	bid = readelf_build_id(path);
	cr_assert_not_null(elfsyms__build_id(e));
	cr_assert_str_eq(elfsyms__build_id(e), bid);
	free(bid);
	elfsyms__free(e);
	elfsyms__free(NULL);
}

Test(elfsyms, non_pie_is_et_exec_with_absolute_addresses)
{
	const char *path = fixture_path("symfix_nopie");
	struct elfsyms *e = elfsyms__open(path);
	char *bid;

	cr_assert_not_null(e, "open: %s", strerror(errno));
	cr_assert_eq(elfsyms__is_dyn(e), 0);
	check_function(e, path, "fixture_alpha", 0);
	check_function(e, path, "fixture_beta", 0);
	check_function(e, path, "fixture_static_gamma", 0);
	cr_assert_geq(elfsyms__by_name(e, "fixture_alpha")->addr, 0x400000);
	bid = readelf_build_id(path);
	cr_assert_str_eq(elfsyms__build_id(e), bid);
	free(bid);
	elfsyms__free(e);
}

static size_t count_plt(const struct elfsyms *e)
{
	size_t n = 0;

	for (size_t i = 0; i < elfsyms__count(e); i++) {
		const char *name = elfsyms__at(e, i)->name;
		size_t len = strlen(name);

		n += len > 4 && !strcmp(name + len - 4, "@plt");
	}
	return n;
}

Test(elfsyms, stripped_binary_falls_back_to_dynsym)
{
	const char *path = fixture_path("symfix_stripped");
	struct elfsyms *e = elfsyms__open(path);

	cr_assert_not_null(e, "open: %s", strerror(errno));
	check_function(e, path, "fixture_alpha", 1);
	check_function(e, path, "fixture_beta", 1);
	check_function(e, path, "main", 1);
	/* Static functions lived only in .symtab. */
	cr_assert_null(elfsyms__by_name(e, "fixture_static_gamma"));
	cr_assert_null(elfsyms__by_name(e, "frame_dummy"));
	/* Exported functions, plus one "name@plt" per PLT stub (test plt_stubs_named). */
	cr_assert_eq(elfsyms__count(e) - count_plt(e), nm_dynamic_func_count(path));
	/* Same code, same addresses as the unstripped PIE. */
	cr_assert_eq(elfsyms__by_name(e, "fixture_alpha")->addr,
		     nm_lookup(fixture_path("symfix_pie"), "fixture_alpha", 0).addr);
	elfsyms__free(e);
}

/* What a table holds at least: two entries per symbol and every name kept. */
static size_t held_at_least(const struct elfsyms *e)
{
	size_t n = 2 * elfsyms__count(e) * sizeof(struct elfsym);

	for (size_t i = 0; i < elfsyms__count(e); i++)
		n += strlen(elfsyms__at(e, i)->name) + 1;
	return n;
}

/* The byte budget's measure of a table: no less than it holds, more for more names. */
Test(elfsyms, bytes_cover_what_the_table_holds)
{
	struct elfsyms *full = elfsyms__open(fixture_path("symfix_pie"));
	struct elfsyms *stripped = elfsyms__open(fixture_path("symfix_stripped"));

	cr_assert(full && stripped);
	cr_assert_eq(elfsyms__bytes(NULL), 0);
	cr_assert_geq(elfsyms__bytes(full), held_at_least(full));
	cr_assert_geq(elfsyms__bytes(stripped), held_at_least(stripped));
	cr_assert_gt(elfsyms__count(full), elfsyms__count(stripped));
	cr_assert_gt(elfsyms__bytes(full), elfsyms__bytes(stripped));
	elfsyms__free(full);
	elfsyms__free(stripped);
}

Test(elfsyms, shared_library_matches_dynamic_loader)
{
	const char *path = fixture_path("libsymfix.so");
	struct elfsyms *e = elfsyms__open(path);
	void *h = dlopen(path, RTLD_NOW);
	void *fn;
	Dl_info info;

	cr_assert_not_null(e, "open: %s", strerror(errno));
	cr_assert_not_null(h, "dlopen: %s", dlerror());
	cr_assert_eq(elfsyms__is_dyn(e), 1);
	check_function(e, path, "fixture_lib_alpha", 0);
	check_function(e, path, "fixture_lib_beta", 0);
	check_function(e, path, "fixture_lib_static", 0);

	fn = dlsym(h, "fixture_lib_alpha");
	cr_assert_not_null(fn);
	cr_assert_neq(dladdr(fn, &info), 0);
	cr_assert_eq(elfsyms__by_name(e, "fixture_lib_alpha")->addr,
		     (uint64_t)((uintptr_t)fn - (uintptr_t)info.dli_fbase));
	dlclose(h);
	elfsyms__free(e);
}

struct load_seg {
	uint64_t off, vaddr, filesz;
};

static size_t readelf_loads(const char *path, struct load_seg *segs, size_t max)
{
	char *argv[] = { "/usr/bin/readelf", "-lW", (char *)path, NULL };
	char *out = NULL, *line, *save = NULL;
	size_t n = 0;

	cr_assert_eq(run_cmd(argv, &out, NULL), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long off, va, pa, fs;

		if (n < max && sscanf(line, " LOAD 0x%llx 0x%llx 0x%llx 0x%llx", &off, &va, &pa,
				      &fs) == 4)
			segs[n++] = (struct load_seg){ off, va, fs };
	}
	free(out);
	return n;
}

static void check_translation(const char *name)
{
	const char *path = fixture_path(name);
	struct elfsyms *e = elfsyms__open(path);
	struct load_seg segs[16];
	size_t n = readelf_loads(path, segs, 16), i;
	uint64_t v, o;

	cr_assert_not_null(e);
	cr_assert_geq(n, 2);
	for (i = 0; i < n; i++) {
		uint64_t probe[2] = { segs[i].off, segs[i].off + segs[i].filesz - 1 };
		int j;

		for (j = 0; j < 2; j++) {
			cr_assert_eq(elfsyms__off_to_vaddr(e, probe[j], &v), 0);
			cr_assert_eq(v, probe[j] - segs[i].off + segs[i].vaddr,
				     "%s seg %zu off 0x%" PRIx64, name, i, probe[j]);
			cr_assert_eq(elfsyms__vaddr_to_off(e, v, &o), 0);
			cr_assert_eq(o, probe[j]);
		}
	}
	/* Past the last segment's file bytes: nothing. */
	cr_assert_eq(elfsyms__off_to_vaddr(e, segs[n - 1].off + segs[n - 1].filesz + 0x100000, &v),
		     -ENOENT);
	cr_assert_eq(elfsyms__vaddr_to_off(e, segs[n - 1].vaddr + 0x100000, &o), -ENOENT);
	elfsyms__free(e);
}

Test(elfsyms, offset_translation_matches_readelf)
{
	check_translation("symfix_pie");
	check_translation("symfix_nopie");
	check_translation("libsymfix.so");
}

Test(elfsyms, non_pie_code_offset_is_vaddr_minus_base)
{
	struct elfsyms *e = elfsyms__open(fixture_path("symfix_nopie"));
	const struct elfsym *s;
	uint64_t off, v;

	cr_assert_not_null(e);
	s = elfsyms__by_name(e, "fixture_alpha");
	cr_assert_eq(elfsyms__vaddr_to_off(e, s->addr, &off), 0);
	/* ld's default x86-64 base: text at 0x401000 from file offset 0x1000. */
	cr_assert_eq(off, s->addr - 0x400000);
	cr_assert_eq(elfsyms__off_to_vaddr(e, off, &v), 0);
	cr_assert_eq(v, s->addr);
	cr_assert_eq(elfsyms__vaddr_to_off(e, 0x10, &off), -ENOENT);
	elfsyms__free(e);
}

Test(elfsyms, vdso_aliases_prefer_the_global_name)
{
	struct procmaps pm;
	const struct elfsym *g, *w, *f;
	struct elfsyms *e = NULL;
	size_t i;

	cr_assert_eq(procmaps__read(getpid(), &pm), 0);
	for (i = 0; i < pm.nr; i++)
		if (!strcmp(pm.maps[i].path, "[vdso]"))
			e = elfsyms__open_mem((const void *)getauxval(AT_SYSINFO_EHDR),
					      pm.maps[i].end - pm.maps[i].start);
	procmaps__clear(&pm);
	cr_assert_not_null(e);
	cr_assert_eq(elfsyms__is_dyn(e), 1);
	/* The vdso exports clock_gettime (weak) and __vdso_clock_gettime (global). */
	g = elfsyms__by_name(e, "__vdso_clock_gettime");
	w = elfsyms__by_name(e, "clock_gettime");
	cr_assert_not_null(g);
	cr_assert_not_null(w);
	cr_assert_eq(g->addr, w->addr);
	f = elfsyms__find(e, g->addr + 1);
	cr_assert_not_null(f);
	cr_assert_str_eq(f->name, "__vdso_clock_gettime");
	elfsyms__free(e);
}

static const char *write_tmp(const char *name, const void *data, size_t len)
{
	static char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void expect_fail(const char *path, int err)
{
	errno = 0;
	cr_assert_null(elfsyms__open(path), "%s opened", path);
	cr_assert_eq(errno, err, "%s: errno %d (%s), want %d", path, errno, strerror(errno), err);
}

Test(elfsyms, bad_inputs_fail_with_errno)
{
	unsigned char junk[4096];
	size_t len, i;
	char *elf = read_file(fixture_path("symfix_pie"), &len);

	cr_assert_not_null(elf);
	srand(7);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	expect_fail(write_tmp("empty", "", 0), ENOEXEC);
	expect_fail(write_tmp("junk", junk, sizeof(junk)), ENOEXEC);
	expect_fail(write_tmp("text", "#!/bin/sh\necho hi\n", 18), ENOEXEC);
	expect_fail(write_tmp("magic_only", "\177ELF", 4), ENOEXEC);
	expect_fail(write_tmp("trunc64", elf, 64), ENOEXEC);
	expect_fail(write_tmp("trunc1000", elf, 1000), ENOEXEC);
	expect_fail(write_tmp("trunc_half", elf, len / 2), ENOEXEC);
	expect_fail(test_tmpdir(), EISDIR);
	expect_fail("/nonexistent/sonde/file", ENOENT);
	expect_fail("/dev/null", ENOEXEC);
	/* A relocatable object is ELF but has no load addresses. */
	expect_fail(fixture_path("symfix_pie.p/symfix_main.c.o"), ENOEXEC);
	errno = 0;
	cr_assert_null(elfsyms__open_mem(junk, sizeof(junk)));
	cr_assert_eq(errno, ENOEXEC);
	cr_assert_null(elfsyms__open_mem(elf, 0));
	cr_assert_eq(errno, ENOEXEC);
	free(elf);
}

/* Touch everything a caller could touch on a successfully opened file. */
static void exercise(const struct elfsyms *e)
{
	size_t i, n = elfsyms__count(e);
	uint64_t v;

	for (i = 0; i < n; i++) {
		const struct elfsym *s = elfsyms__at(e, i);
		const struct elfsym *f = elfsyms__find(e, s->addr);

		cr_assert_not_null(s->name);
		cr_assert_not_null(elfsyms__by_name(e, s->name));
		if (s->size)
			cr_assert_eq(f, s);
		elfsyms__vaddr_to_off(e, s->addr, &v);
	}
	elfsyms__off_to_vaddr(e, 0x1234, &v);
	if (elfsyms__build_id(e))
		cr_assert_gt(strlen(elfsyms__build_id(e)), 0);
}

Test(elfsyms, fuzzed_files_never_crash, .timeout = 110)
{
	size_t len, i;
	char *orig = read_file(fixture_path("libsymfix.so"), &len);
	char *buf = malloc(len);
	unsigned int seed = 12345, opened = 0, failed = 0;

	cr_assert_not_null(orig);
	cr_assert_not_null(buf);
	for (i = 0; i < 2000; i++) {
		size_t n = len, k, flips = 1 + rand_r(&seed) % 16;
		struct elfsyms *e;
		const char *path;

		memcpy(buf, orig, len);
		for (k = 0; k < flips; k++) {
			/* Half the hits on the headers, where damage matters most. */
			size_t at = rand_r(&seed) % 2 ? (size_t)rand_r(&seed) % 128 : (size_t)rand_r(&seed) % len;

			buf[at] = (char)rand_r(&seed);
		}
		/* Section headers sit at the end: corrupt them too. */
		if (rand_r(&seed) % 4 == 0)
			for (k = 0; k < 8; k++)
				buf[len - 1 - rand_r(&seed) % 1024] = (char)rand_r(&seed);
		if (rand_r(&seed) % 8 == 0)
			n = rand_r(&seed) % len;
		path = write_tmp("fuzz", buf, n);
		errno = 0;
		e = elfsyms__open(path);
		if (e) {
			exercise(e);
			opened++;
		} else {
			cr_assert(errno == ENOEXEC, "iteration %zu: errno %d", i, errno);
			failed++;
		}
		elfsyms__free(e);
	}
	cr_assert_eq(opened + failed, 2000);
	/* Both outcomes occur, or the mutations test nothing. */
	cr_assert_gt(opened, 0);
	cr_assert_gt(failed, 0);
	free(buf);
	free(orig);
}

/*
 * "NAME@plt" for every stub objdump names in .plt.sec (or .plt), at the
 * same address, as perf shows them; ".plt.got" stubs (no lazy binding
 * slot) are left unnamed by both of us or only by us.
 */
static void check_plt(const char *path)
{
	char *argv[] = {"/usr/bin/objdump", "-d", "-j", ".plt.sec", "-j", ".plt", (char *)path,
			NULL};
	char *out = NULL, *line, *save = NULL;
	struct elfsyms *e = elfsyms__open(path);
	size_t seen = 0;

	cr_assert_not_null(e, "open %s", path);
	cr_assert_eq(run_cmd(argv, &out, NULL), 0, "objdump %s", path);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a;
		char name[256];
		const struct elfsym *s;

		/* "0000000000001030 <fixture_lib_alpha@plt>:" */
		/* "<x@plt-0x10>" is the lazy-binding header, no stub. */
		if (sscanf(line, "%llx <%255[^>]>:", &a, name) != 2 || strlen(name) < 5 ||
		    strcmp(name + strlen(name) - 4, "@plt"))
			continue;
		s = elfsyms__find(e, a);
		cr_assert_not_null(s, "no symbol at %s's 0x%llx", name, a);
		cr_assert_str_eq(s->name, name);
		cr_assert_eq(s->addr, a);
		cr_assert_eq(s->size, 16);
		seen++;
	}
	cr_assert_gt(seen, 3, "objdump named only %zu PLT stubs in %s", seen, path);
	cr_assert_eq(count_plt(e), seen);
	free(out);
	elfsyms__free(e);
}

Test(elfsyms, plt_stubs_named)
{
	check_plt(fixture_path("symfix_linked"));
	check_plt("/usr/bin/ls");
}

/* Every dynamically linked process starts in ld.so's _start: name it. */
Test(elfsyms, loader_entry_named_start)
{
	const char *ld = "/lib64/ld-linux-x86-64.so.2";
	char *argv[] = {"/usr/bin/readelf", "-h", (char *)ld, NULL};
	char *out = NULL, *p;
	unsigned long long entry;
	struct elfsyms *e = elfsyms__open(ld);
	const struct elfsym *s;

	cr_assert_not_null(e);
	cr_assert_eq(run_cmd(argv, &out, NULL), 0);
	p = strstr(out, "Entry point address:");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "Entry point address: %llx", &entry), 1);
	/* Debian's ld.so has no .symtab: the name is ours. */
	cr_assert_eq(elfsyms__source(e), ELFSYMS_SRC_DYNSYM);
	s = elfsyms__find(e, entry);
	cr_assert_not_null(s, "nothing at ld.so's entry 0x%llx", entry);
	cr_assert_str_eq(s->name, "_start");
	cr_assert_eq(s->addr, entry);
	elfsyms__free(e);
	free(out);
}
