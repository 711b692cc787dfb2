// SPDX-License-Identifier: MIT
/*
 * gopclntab against the Go toolchain and binutils: gofix_stripped is gofix
 * built again with -ldflags=-s -w, so every expected address is read at
 * test time from gofix's .symtab by nm, and the version from `go version`.
 * Corrupt copies are the stripped fixture with bytes overwritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "symbols/elfsyms.h"
#include "symbols/gopclntab.h"
#include "symbols/symbolize.h"

#define STRIPPED "gofix_stripped"
#define FULL "gofix"

static const char *const main_funcs[] = {"main.work", "main.deep", "main.nap"};

/* The Go fixtures exist only where golang-go was there at build time. */
static const char *go_fixture(const char *name)
{
	const char *path = fixture_path(name);

	require_path(path, R_OK, "the Go fixture (golang-go at build time)");
	return path;
}

static int open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	return fd;
}

/* gopclntab__open() of @path; the descriptor is closed at once. */
static int open_table(const char *path, struct gopclntab **t)
{
	int fd = open_ro(path), err;

	err = gopclntab__open(fd, t);
	close(fd);
	return err;
}

static struct gopclntab *table_of(const char *path)
{
	struct gopclntab *t = NULL;
	int err = open_table(path, &t);

	cr_assert_eq(err, 0, "gopclntab__open(%s): %s", path, strerror(-err));
	cr_assert_not_null(t);
	return t;
}

static int version_of(const char *path, char *buf, size_t len)
{
	int fd = open_ro(path), err;

	err = go_buildinfo_version(fd, buf, len);
	close(fd);
	return err;
}

struct nm_func {
	uint64_t addr, size;
	uint64_t next; /* the next text symbol's address: where the table's entry ends */
};

/*
 * Text symbol @name of @path as `nm -n -S` prints it (next: 0 when it is
 * the last); fails the test when absent.
 */
static struct nm_func nm_lookup(const char *path, const char *name)
{
	char *argv[] = {"/usr/bin/nm", "-n", "-S", "--defined-only", (char *)path, NULL};
	char *out = NULL, *line, *save = NULL;
	struct nm_func r = {0};
	int found = 0;

	cr_assert_eq(run_cmd(argv, &out, NULL), 0, "nm %s", path);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a, sz = 0;
		char t, n[512];

		if (sscanf(line, "%llx %llx %c %511s", &a, &sz, &t, n) != 4 &&
		    sscanf(line, "%llx %c %511s", &a, &t, n) != 3)
			continue;
		if (t != 'T' && t != 't')
			continue;
		if (found && a > r.addr) {
			r.next = a;
			break;
		}
		if (!found && !strcmp(n, name)) {
			r.addr = a;
			r.size = sz;
			found = 1;
		}
	}
	free(out);
	cr_assert(found, "nm shows no %s in %s", name, path);
	return r;
}

/* The same for a function, which another text symbol follows. */
static struct nm_func nm_func(const char *path, const char *name)
{
	struct nm_func r = nm_lookup(path, name);

	cr_assert_gt(r.next, r.addr, "nm shows nothing after %s in %s", name, path);
	return r;
}

/* The address of text symbol @name in @path (nm). */
static uint64_t nm_addr(const char *path, const char *name)
{
	return nm_lookup(path, name).addr;
}

struct section {
	uint64_t off, size, addr;
	uint64_t shdr_off; /* file offset of its section header */
};

static struct section section_named(const char *path, const char *name)
{
	struct section s = {0};
	size_t shstrndx, idx;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf_Scn *scn = NULL;
	int fd = open_ro(path), found = 0;
	Elf *elf;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	cr_assert_not_null(gelf_getehdr(elf, &eh));
	cr_assert_eq(eh.e_ident[EI_CLASS], ELFCLASS64, "the patches assume a 64-bit ELF");
	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		cr_assert_not_null(gelf_getshdr(scn, &sh));
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			idx = elf_ndxscn(scn);
			s = (struct section){sh.sh_offset, sh.sh_size, sh.sh_addr,
					     eh.e_shoff + idx * eh.e_shentsize};
			found = 1;
		}
	}
	elf_end(elf);
	close(fd);
	cr_assert(found, "%s has no %s", path, name);
	return s;
}

static int has_symtab(const char *path)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int fd = open_ro(path), found = 0;
	Elf *elf;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			found = 1;
	elf_end(elf);
	close(fd);
	return found;
}

/* A private copy of @path to overwrite bytes of. */
static const char *copy_of(const char *path, const char *name)
{
	const char *dst = tmp_path(name);
	size_t len;
	char *data = read_file(path, &len);
	FILE *f;

	cr_assert_not_null(data, "read %s", path);
	f = fopen(dst, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(data);
	return dst;
}

static void patch(const char *path, uint64_t off, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/* Little-endian, as on every machine these tests run on (x86-64, arm64). */
static void patch_u32(const char *path, uint64_t off, uint32_t v)
{
	unsigned char b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	patch(path, off, b, sizeof(b));
}

static void patch_u64(const char *path, uint64_t off, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	patch(path, off, b, sizeof(b));
}

static uint64_t read_uint(const char *path, uint64_t off, size_t width)
{
	unsigned char b[8];
	uint64_t v = 0;
	int fd = open_ro(path);

	cr_assert_eq(pread(fd, b, width, (off_t)off), (ssize_t)width);
	close(fd);
	for (size_t i = 0; i < width; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* Index of the function called @name. */
static size_t index_of(const struct gopclntab *t, const char *name)
{
	for (size_t i = 0; i < gopclntab__count(t); i++) {
		const char *n;
		uint64_t a, sz;

		if (!gopclntab__func(t, i, &n, &a, &sz) && !strcmp(n, name))
			return i;
	}
	cr_assert_fail("no %s in the table", name);
	return 0;
}

/* Where the pieces of .gopclntab are in the file (Go 1.18+ layout, 8-byte words). */
struct layout {
	struct section sec;
	uint64_t nfunc, funcnames, pcln;
};

static struct layout layout_of(const char *path)
{
	struct layout l = {.sec = section_named(path, ".gopclntab")};
	uint32_t magic = (uint32_t)read_uint(path, l.sec.off, 4);

	cr_assert(magic == 0xfffffff0 || magic == 0xfffffff1, "magic %#x", magic);
	cr_assert_eq(read_uint(path, l.sec.off + 7, 1), 8, "pointer size");
	l.nfunc = read_uint(path, l.sec.off + 8, 8);
	l.funcnames = read_uint(path, l.sec.off + 8 + 3 * 8, 8);
	l.pcln = read_uint(path, l.sec.off + 8 + 7 * 8, 8);
	return l;
}

/* File offset of the _func of function @i. */
static uint64_t func_struct_off(const char *path, const struct layout *l, size_t i)
{
	uint64_t funcoff = read_uint(path, l->sec.off + l->pcln + 8 * i + 4, 4);

	return l->sec.off + l->pcln + funcoff;
}

static void expect_find(const struct gopclntab *t, const char *name, uint64_t addr, uint64_t size)
{
	uint64_t a = 0, sz = 0;

	cr_assert_eq(gopclntab__find(t, name, &a, &sz), 0, "%s not found", name);
	cr_assert_eq(a, addr, "%s at %#" PRIx64 ", want %#" PRIx64, name, a, addr);
	cr_assert_eq(sz, size, "%s size %#" PRIx64 ", want %#" PRIx64, name, sz, size);
}

Test(gopclntab, stripped_functions_match_symtab)
{
	const char *stripped = go_fixture(STRIPPED), *full = go_fixture(FULL);
	struct gopclntab *t;

	/* Otherwise this would test nothing a .symtab could not do. */
	cr_assert(!has_symtab(stripped), "%s has a .symtab", stripped);
	cr_assert(has_symtab(full));
	t = table_of(stripped);
	for (size_t i = 0; i < sizeof(main_funcs) / sizeof(main_funcs[0]); i++) {
		struct nm_func f = nm_func(full, main_funcs[i]);

		/* The table's size runs to the next function: .symtab's plus padding. */
		expect_find(t, main_funcs[i], f.addr, f.next - f.addr);
		cr_assert_geq(f.next - f.addr, f.size);
		cr_assert_lt(f.next - f.addr - f.size, 64, "%s: padding", main_funcs[i]);
	}
	gopclntab__free(t);
}

Test(gopclntab, absent_function)
{
	struct gopclntab *t = table_of(go_fixture(STRIPPED));
	uint64_t a = 1, sz = 2;

	cr_assert_eq(gopclntab__find(t, "crypto/tls.(*Conn).Write", &a, &sz), -ENOENT);
	cr_assert_eq(gopclntab__find(t, "main.wor", &a, &sz), -ENOENT);
	cr_assert_eq(gopclntab__find(t, "", &a, &sz), -ENOENT);
	cr_assert_eq(a, 1);
	cr_assert_eq(sz, 2);
	gopclntab__free(t);
}

/*
 * Every entry is readable, in order and contiguous, from runtime.text to
 * runtime.etext (nm of the unstripped twin), and both builds have the
 * same table: -s -w moves no code.
 */
Test(gopclntab, whole_table)
{
	const char *stripped = go_fixture(STRIPPED), *full = go_fixture(FULL);
	struct gopclntab *t = table_of(stripped), *u = table_of(full);
	struct layout l = layout_of(stripped);
	uint64_t prev_end = 0, first = 0;
	size_t n = gopclntab__count(t);

	cr_assert_eq(n, l.nfunc);
	cr_assert_eq(gopclntab__count(u), n);
	cr_assert_gt(n, 1000, "nfunc %zu", n);
	for (size_t i = 0; i < n; i++) {
		const char *name, *uname;
		uint64_t a, sz, ua, usz;

		cr_assert_eq(gopclntab__func(t, i, &name, &a, &sz), 0, "function %zu", i);
		cr_assert_eq(gopclntab__func(u, i, &uname, &ua, &usz), 0, "function %zu", i);
		cr_assert_str_eq(name, uname);
		cr_assert_eq(a, ua, "%s", name);
		cr_assert_eq(sz, usz, "%s", name);
		cr_assert_gt(strlen(name), 0);
		if (i)
			cr_assert_eq(a, prev_end, "%s at %#" PRIx64 " after %#" PRIx64, name, a,
				     prev_end);
		else
			first = a;
		prev_end = a + sz;
	}
	cr_assert_eq(first, nm_addr(full, "runtime.text"));
	cr_assert_eq(prev_end, nm_addr(full, "runtime.etext"));
	cr_assert_eq(gopclntab__func(t, n, &(const char *){NULL}, &(uint64_t){0}, &(uint64_t){0}),
		     -EINVAL);
	gopclntab__free(u);
	gopclntab__free(t);
}

/* The table stays valid once the descriptor is closed (open_table() closes it). */
Test(gopclntab, names_outlive_fd)
{
	struct gopclntab *t = table_of(go_fixture(STRIPPED));
	const char *name;
	uint64_t a, sz;
	size_t i = index_of(t, "main.nap");

	cr_assert_eq(gopclntab__func(t, i, &name, &a, &sz), 0);
	cr_assert_str_eq(name, "main.nap");
	gopclntab__free(t);
	gopclntab__free(NULL);
}

/* "PATH: go1.19.8" from `go version PATH`: the version the fixture was built with. */
static void go_version_of(const char *path, char *out, size_t len)
{
	const char *go = go_bin();
	char *argv[] = {(char *)go, "version", (char *)path, NULL};
	char *text = NULL, *v;

	cr_assert_eq(run_cmd(argv, &text, NULL), 0, "go version %s", path);
	text[strcspn(text, "\n")] = '\0';
	v = strrchr(text, ' ');
	cr_assert_not_null(v, "go version said %s", text);
	snprintf(out, len, "%s", v + 1);
	free(text);
}

Test(gopclntab, version)
{
	const char *stripped = go_fixture(STRIPPED);
	char want[128], got[128], env[128];
	char *argv[] = {(char *)go_bin(), "env", "GOVERSION", NULL};
	char *text = NULL;

	go_version_of(stripped, want, sizeof(want));
	cr_assert_eq(strncmp(want, "go1.", 4), 0, "go version said %s", want);
	cr_assert_eq(version_of(stripped, got, sizeof(got)), 0);
	cr_assert_str_eq(got, want);
	cr_assert_eq(version_of(go_fixture(FULL), got, sizeof(got)), 0);
	cr_assert_str_eq(got, want);
	/* The toolchain that built the fixture is the one here. */
	cr_assert_eq(run_cmd(argv, &text, NULL), 0);
	snprintf(env, sizeof(env), "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
	cr_assert_str_eq(got, env);

	/* Exactly enough room, one byte short, none. */
	cr_assert_eq(version_of(stripped, got, strlen(want) + 1), 0);
	cr_assert_str_eq(got, want);
	cr_assert_eq(version_of(stripped, got, strlen(want)), -ERANGE);
	cr_assert_eq(version_of(stripped, got, 0), -EINVAL);
	cr_assert_eq(version_of(stripped, NULL, 16), -EINVAL);
}

/*
 * Before Go 1.18 the header held the address of runtime.buildVersion, a
 * Go string {ptr, len}: rewrite the fixture's header that way, pointing
 * into the section itself, and the version must still come out.
 */
Test(gopclntab, version_pointer_format)
{
	const char *stripped = go_fixture(STRIPPED);
	const char *copy = copy_of(stripped, "buildinfo_ptr");
	struct section s = section_named(copy, ".go.buildinfo");
	char want[128], got[128];
	unsigned char flags = 0; /* little-endian pointers, no inline strings */

	cr_assert_eq(version_of(stripped, want, sizeof(want)), 0);
	cr_assert_geq(s.size, 48 + strlen(want));
	patch(copy, s.off + 15, &flags, 1);
	patch_u64(copy, s.off + 16, s.addr + 32);
	patch_u64(copy, s.off + 24, 0);
	patch_u64(copy, s.off + 32, s.addr + 48);
	patch_u64(copy, s.off + 40, strlen(want));
	patch(copy, s.off + 48, want, strlen(want));
	cr_assert_eq(version_of(copy, got, sizeof(got)), 0);
	cr_assert_str_eq(got, want);

	/* The string's bytes in no segment, then its header nowhere either. */
	patch_u64(copy, s.off + 32, 0x10);
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
	patch_u64(copy, s.off + 32, s.addr + 48);
	patch_u64(copy, s.off + 40, UINT64_MAX);
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
	patch_u64(copy, s.off + 16, UINT64_MAX - 3);
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
}

Test(gopclntab, version_corrupt)
{
	const char *copy = copy_of(go_fixture(STRIPPED), "buildinfo_bad");
	struct section s = section_named(copy, ".go.buildinfo");
	unsigned char run[10], nul = 0, bad_ptr = 5;
	char got[128];

	/* A varint that never ends, then one longer than the section. */
	memset(run, 0xff, sizeof(run));
	patch(copy, s.off + 32, run, sizeof(run));
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
	run[0] = 0xff;
	run[1] = 0x7f;
	patch(copy, s.off + 32, run, 2);
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
	/*
	 * A string that fits the file but not the section cut to 48 bytes;
	 * whole again, it is read.
	 */
	patch(copy, s.off + 32, "\x13go1.99-twenty-bytes", 20);
	patch_u64(copy, s.shdr_off + offsetof(Elf64_Shdr, sh_size), 48);
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
	patch_u64(copy, s.shdr_off + offsetof(Elf64_Shdr, sh_size), s.size);
	cr_assert_eq(version_of(copy, got, sizeof(got)), 0);
	cr_assert_str_eq(got, "go1.99-twenty-bytes");
	/* Empty. */
	patch(copy, s.off + 32, &nul, 1);
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
	/* A pointer size that is neither 4 nor 8. */
	patch(copy, s.off + 14, &bad_ptr, 1);
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
	/* No magic. */
	patch(copy, s.off, "\0", 1);
	cr_assert_eq(version_of(copy, got, sizeof(got)), -EIO);
}

Test(gopclntab, not_go)
{
	const char *text = tmp_path("not_elf");
	struct gopclntab *t = (struct gopclntab *)1;
	char v[64];
	FILE *f;

	cr_assert_eq(open_table("/bin/true", &t), -ENOENT);
	cr_assert_null(t);
	cr_assert_eq(version_of("/bin/true", v, sizeof(v)), -ENOENT);
	cr_assert_eq(open_table(fixture_path("symfix_stripped"), &t), -ENOENT);
	f = fopen(text, "w");
	cr_assert_not_null(f);
	fputs("#!/bin/sh\necho not an ELF file\n", f);
	fclose(f);
	cr_assert_eq(open_table(text, &t), -EIO);
	cr_assert_eq(version_of(text, v, sizeof(v)), -EIO);
	cr_assert_eq(open_table("/dev/null", &t), -EIO);
}

/* The section header says .gopclntab is 12 bytes: less than its header. */
Test(gopclntab, corrupt_truncated_header)
{
	const char *copy = copy_of(go_fixture(STRIPPED), "pcln_short");
	struct section s = section_named(copy, ".gopclntab");
	struct gopclntab *t;

	patch_u64(copy, s.shdr_off + offsetof(Elf64_Shdr, sh_size), 12);
	cr_assert_eq(open_table(copy, &t), -EIO);
	cr_assert_null(t);
	/* 71 bytes: the 1.18 header is 8 + 8 * 8. */
	patch_u64(copy, s.shdr_off + offsetof(Elf64_Shdr, sh_size), 71);
	cr_assert_eq(open_table(copy, &t), -EIO);
}

Test(gopclntab, corrupt_nfunc)
{
	const char *copy = copy_of(go_fixture(STRIPPED), "pcln_nfunc");
	struct layout l = layout_of(copy);
	uint64_t room = (l.sec.size - l.pcln) / 4, fits = (room - 1) / 2;
	struct gopclntab *t;

	patch_u64(copy, l.sec.off + 8, UINT64_MAX);
	cr_assert_eq(open_table(copy, &t), -EIO);
	patch_u64(copy, l.sec.off + 8, 1ull << 62);
	cr_assert_eq(open_table(copy, &t), -EIO);
	patch_u64(copy, l.sec.off + 8, 0xffffffff);
	cr_assert_eq(open_table(copy, &t), -EIO);
	/* One more than the section holds fails; the most it holds opens. */
	patch_u64(copy, l.sec.off + 8, fits + 1);
	cr_assert_eq(open_table(copy, &t), -EIO);
	patch_u64(copy, l.sec.off + 8, fits);
	cr_assert_eq(open_table(copy, &t), 0);
	cr_assert_eq(gopclntab__count(t), fits);
	/* Entries past the real ones are whatever bytes follow: no crash. */
	for (size_t i = 0; i < gopclntab__count(t); i++) {
		const char *n;
		uint64_t a, sz;

		if (!gopclntab__func(t, i, &n, &a, &sz))
			cr_assert_gt(strlen(n), 0);
	}
	gopclntab__free(t);
	/* Offsets past the section. */
	patch_u64(copy, l.sec.off + 8, l.nfunc);
	patch_u64(copy, l.sec.off + 8 + 7 * 8, l.sec.size);
	cr_assert_eq(open_table(copy, &t), -EIO);
	patch_u64(copy, l.sec.off + 8 + 7 * 8, l.pcln);
	patch_u64(copy, l.sec.off + 8 + 3 * 8, UINT64_MAX);
	cr_assert_eq(open_table(copy, &t), -EIO);
}

/*
 * main.work's entry is damaged in @copy: it is lost, main.nap (two
 * functions before, so its end is not main.work's start) is not.
 */
static void expect_only_work_lost(const char *copy, size_t i)
{
	struct gopclntab *t = table_of(copy);
	struct nm_func nap = nm_func(go_fixture(FULL), "main.nap");
	const char *n;
	uint64_t a, sz;

	cr_assert_eq(gopclntab__func(t, i, &n, &a, &sz), -EIO);
	cr_assert_eq(gopclntab__find(t, "main.work", &a, &sz), -ENOENT);
	expect_find(t, "main.nap", nap.addr, nap.next - nap.addr);
	gopclntab__free(t);
}

Test(gopclntab, corrupt_name)
{
	const char *stripped = go_fixture(STRIPPED);
	const char *copy = copy_of(stripped, "pcln_name");
	struct layout l = layout_of(copy);
	struct gopclntab *t = table_of(stripped);
	size_t i = index_of(t, "main.work");
	uint64_t f = func_struct_off(copy, &l, i);
	uint64_t nameoff = read_uint(copy, f + 4, 4), last = l.sec.size - l.funcnames - 1;

	gopclntab__free(t);
	/* Past the section, negative, at the last byte with no NUL after it. */
	patch_u32(copy, f + 4, 0x7fffffff);
	expect_only_work_lost(copy, i);
	patch_u32(copy, f + 4, 0x80000000);
	expect_only_work_lost(copy, i);
	patch_u32(copy, f + 4, (uint32_t)(l.sec.size - l.funcnames));
	expect_only_work_lost(copy, i);
	patch(copy, l.sec.off + l.sec.size - 1, "x", 1);
	patch_u32(copy, f + 4, (uint32_t)last);
	expect_only_work_lost(copy, i);
	/* Back to the real name: found again, so the checks above were the cause. */
	patch_u32(copy, f + 4, (uint32_t)nameoff);
	t = table_of(copy);
	cr_assert_eq(gopclntab__find(t, "main.work", &(uint64_t){0}, &(uint64_t){0}), 0);
	gopclntab__free(t);
}

Test(gopclntab, corrupt_func_offset)
{
	const char *stripped = go_fixture(STRIPPED);
	const char *copy = copy_of(stripped, "pcln_funcoff");
	struct layout l = layout_of(copy);
	struct gopclntab *t = table_of(stripped);
	size_t i = index_of(t, "main.work");
	uint64_t ft = l.sec.off + l.pcln + 8 * i, f = func_struct_off(copy, &l, i);
	uint32_t entry = (uint32_t)read_uint(copy, ft, 4), next;

	gopclntab__free(t);
	/* _func past the section, then one whose entry disagrees with functab's. */
	patch_u32(copy, ft + 4, 0xffffffff);
	expect_only_work_lost(copy, i);
	patch_u32(copy, ft + 4, (uint32_t)(l.sec.size - l.pcln - 4));
	expect_only_work_lost(copy, i);
	patch_u32(copy, ft + 4, (uint32_t)(f - l.sec.off - l.pcln));
	patch_u32(copy, f, entry + 1);
	expect_only_work_lost(copy, i);
	/* Starting after the next function starts: both entries say so. */
	next = (uint32_t)read_uint(copy, ft + 8, 4);
	patch_u32(copy, ft, next + 1);
	patch_u32(copy, f, next + 1);
	expect_only_work_lost(copy, i);
}

Test(gopclntab, unsupported_magic)
{
	const char *copy = copy_of(go_fixture(STRIPPED), "pcln_magic");
	struct layout l = layout_of(copy);
	struct gopclntab *t;
	unsigned char one = 1, three = 3;

	/* Go 1.2-1.15, and a magic from the future. */
	patch_u32(copy, l.sec.off, 0xfffffffb);
	cr_assert_eq(open_table(copy, &t), -ENOTSUP);
	patch_u32(copy, l.sec.off, 0xfffffff7);
	cr_assert_eq(open_table(copy, &t), -ENOTSUP);
	/* A header that is not one: nonzero pad, bad quantum. */
	patch_u32(copy, l.sec.off, 0xfffffff0);
	patch(copy, l.sec.off + 4, &one, 1);
	cr_assert_eq(open_table(copy, &t), -EIO);
	patch(copy, l.sec.off + 4, "\0", 1);
	patch(copy, l.sec.off + 6, &three, 1);
	cr_assert_eq(open_table(copy, &t), -EIO);
	patch(copy, l.sec.off + 6, &one, 1);
	cr_assert_eq(open_table(copy, &t), 0);
	gopclntab__free(t);
}

/* A header without textStart (left to a relocation): .text's address instead. */
Test(gopclntab, text_start_fallback)
{
	const char *full = go_fixture(FULL);
	const char *copy = copy_of(go_fixture(STRIPPED), "pcln_text");
	struct layout l = layout_of(copy);
	struct section text = section_named(copy, ".text");
	struct nm_func work = nm_func(full, "main.work");
	struct gopclntab *t;

	/* The fixture is internally linked: runtime.text starts .text. */
	cr_assert_eq(nm_addr(full, "runtime.text"), text.addr);
	patch_u64(copy, l.sec.off + 8 + 2 * 8, 0);
	t = table_of(copy);
	expect_find(t, "main.work", work.addr, work.next - work.addr);
	gopclntab__free(t);
}

/* elfsyms names a stripped Go program from its table, the unstripped one as before. */
Test(gopclntab, elfsyms_stripped)
{
	const char *stripped = go_fixture(STRIPPED), *full = go_fixture(FULL);
	struct elfsyms *e = elfsyms__open(stripped), *f = elfsyms__open(full);
	struct gopclntab *t = table_of(stripped);

	cr_assert_not_null(e);
	cr_assert_not_null(f);
	cr_assert_eq(elfsyms__source(f), ELFSYMS_SRC_SYMTAB);
	cr_assert_geq(elfsyms__count(e), gopclntab__count(t));
	for (size_t i = 0; i < sizeof(main_funcs) / sizeof(main_funcs[0]); i++) {
		struct nm_func nf = nm_func(full, main_funcs[i]);
		const struct elfsym *s = elfsyms__find(e, nf.addr + 5), *b;

		cr_assert_not_null(s, "%s", main_funcs[i]);
		cr_assert_str_eq(s->name, main_funcs[i]);
		cr_assert_eq(s->addr, nf.addr);
		cr_assert_eq(s->size, nf.next - nf.addr);
		b = elfsyms__by_name(e, main_funcs[i]);
		cr_assert_not_null(b);
		cr_assert_eq(b->addr, nf.addr);
		/* The full binary's .symtab, with its exact size, still wins there. */
		s = elfsyms__find(f, nf.addr + 5);
		cr_assert_not_null(s);
		cr_assert_str_eq(s->name, main_funcs[i]);
		cr_assert_eq(s->size, nf.size);
	}
	cr_assert_null(elfsyms__by_name(e, "crypto/tls.(*Conn).Write"));
	gopclntab__free(t);
	elfsyms__free(f);
	elfsyms__free(e);
}

/* A damaged table costs its damaged functions only; elfsyms still opens. */
Test(gopclntab, elfsyms_corrupt)
{
	const char *stripped = go_fixture(STRIPPED);
	const char *copy = copy_of(stripped, "elfsyms_bad");
	struct layout l = layout_of(copy);
	struct gopclntab *t = table_of(stripped);
	size_t i = index_of(t, "main.work");
	struct elfsyms *e;

	gopclntab__free(t);
	patch_u32(copy, func_struct_off(copy, &l, i) + 4, 0x7fffffff);
	e = elfsyms__open(copy);
	cr_assert_not_null(e);
	cr_assert_null(elfsyms__by_name(e, "main.work"));
	cr_assert_not_null(elfsyms__by_name(e, "main.deep"));
	elfsyms__free(e);
	/* A header past repair: no Go names, the file still opens. */
	patch_u64(copy, l.sec.off + 8, UINT64_MAX);
	e = elfsyms__open(copy);
	cr_assert_not_null(e);
	cr_assert_null(elfsyms__by_name(e, "main.deep"));
	elfsyms__free(e);
}

/* The running stripped program symbolizes through the symbolizer, as a profile does. */
Test(gopclntab, symbolize_running)
{
	const char *path = go_fixture(STRIPPED), *out = tmp_path("gofix_out");
	char *argv[] = {(char *)path, "100000", "1", NULL};
	struct nm_func work = nm_func(go_fixture(FULL), "main.work");
	struct symbolizer_opts o = {.sz = sizeof(o)};
	struct symbolizer *s;
	struct sym_result r;
	char *text = NULL;
	pid_t pid;

	pid = spawn(argv, out, out);
	for (int i = 0; i < 500; i++) {
		free(text);
		text = read_file(out, NULL);
		if (text && strstr(text, "ready"))
			break;
		usleep(10000);
	}
	cr_assert(text && strstr(text, "ready"), "gofix_stripped did not start: %s",
		  text ? text : "");
	free(text);
	s = symbolizer__new(&o);
	cr_assert_not_null(s);
	/* ET_EXEC: the run-time address is the link-time one. */
	cr_assert_eq(symbolizer__resolve_user(s, pid, work.addr + 5, &r), 0);
	cr_assert_not_null(r.module);
	cr_assert_str_eq(r.module, fixture_realpath(STRIPPED));
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "main.work");
	cr_assert_eq(r.frames[0].sym_offset, 5);
	cr_assert_eq(r.rel_addr, work.addr + 5);
	symbolizer__free(s);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Layouts no toolchain here writes: make_seeds.py's tiny ELF files with
 * the 1.16 (pointer-sized functab, absolute entries) and 1.20 tables and
 * pointer-format build info (checked against Go's debug/gosym and
 * debug/buildinfo when written).
 */
static void expect_synthetic(const char *seed, const char *version)
{
	static const struct {
		const char *name;
		uint64_t addr, size;
	} funcs[] = {
		{"main.main", 0x400080, 0x40},
		{"main.work", 0x4000c0, 0x20},
		{"runtime.goexit", 0x4000e0, 0x10},
	};
	char rel[128], got[64];
	const char *path;
	struct gopclntab *t;

	snprintf(rel, sizeof(rel), "tests/fuzz/corpus/gopclntab/%s", seed);
	path = source_path(rel);
	t = table_of(path);
	cr_assert_eq(gopclntab__count(t), 3);
	for (size_t i = 0; i < 3; i++) {
		const char *n;
		uint64_t a, sz;

		cr_assert_eq(gopclntab__func(t, i, &n, &a, &sz), 0);
		cr_assert_str_eq(n, funcs[i].name);
		cr_assert_eq(a, funcs[i].addr, "%s at %#" PRIx64, n, a);
		cr_assert_eq(sz, funcs[i].size, "%s size %#" PRIx64, n, sz);
		expect_find(t, funcs[i].name, funcs[i].addr, funcs[i].size);
	}
	gopclntab__free(t);
	cr_assert_eq(version_of(path, got, sizeof(got)), 0);
	cr_assert_str_eq(got, version);
}

Test(gopclntab, synthetic_layouts)
{
	expect_synthetic("go116", "go1.16.15");
	expect_synthetic("go118_ptr_buildinfo", "go1.19.8");
	expect_synthetic("go120", "go1.21.5");
}
