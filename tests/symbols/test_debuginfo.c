// SPDX-License-Identifier: MIT
/*
 * Separate debug information: names of static functions that live only in
 * a .gnu_debuglink file, a build-id file under a debug root, or
 * MiniDebugInfo; verification of stale files; _start for stripped
 * programs; the real libc through libc6-dbg; corrupt .gnu_debugdata.
 */
#include <errno.h>
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
#include "symbols/debuginfo.h"
#include "symbols/elfsyms.h"
#include "symbols/procmaps.h"
#include "symbols/symbolize.h"
#include "base/xz.h"

static struct symbolizer *new_symbolizer(const char *debug_dirs)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .debug_dirs = debug_dirs};
	struct symbolizer *s = symbolizer__new(&o);

	cr_assert_not_null(s);
	return s;
}

/* Link-time address and size of @name in the unstripped dbgfix (its .symtab). */
static uint64_t dbgfix_sym(const char *name, uint64_t *size)
{
	struct elfsyms *e = elfsyms__open(fixture_path("dbgfix"));
	const struct elfsym *s;
	uint64_t a;

	cr_assert_not_null(e);
	cr_assert_eq(elfsyms__source(e), ELFSYMS_SRC_SYMTAB);
	s = elfsyms__by_name(e, name);
	cr_assert_not_null(s, "dbgfix has no %s", name);
	a = s->addr;
	if (size)
		*size = s->size;
	elfsyms__free(e);
	return a;
}

static void expect_static(struct symbolizer *s, const struct child *c, const char *fixture,
			  const char *name)
{
	uint64_t addr = child_addr(c, name) + 6;
	struct sym_result r;

	cr_assert_eq(symbolizer__resolve_user(s, c->pid, addr, &r), 0);
	cr_assert_str_eq(r.module, fixture_realpath(fixture));
	cr_assert_geq(r.nframes, 1, "%s: unnamed", name);
	cr_assert_str_eq(r.frames[r.nframes - 1].name, name);
	cr_assert_eq(r.frames[r.nframes - 1].sym_offset, 6);
	cr_assert_eq(r.rel_addr, dbgfix_sym(name, NULL) + 6);
}

static void expect_unnamed(struct symbolizer *s, const struct child *c, const char *name)
{
	struct sym_result r;

	cr_assert_eq(symbolizer__resolve_user(s, c->pid, child_addr(c, name) + 6, &r), 0);
	cr_assert_not_null(r.module);
	cr_assert_eq(r.nframes, 0, "%s named %s", name, r.nframes ? r.frames[0].name : "");
}

Test(debuginfo, stripped_copies_lack_static_names)
{
	static const char *const stripped[] = {"dbgfix_dbglink", "dbgfix_buildid"};
	size_t i;

	/* The fixtures are what the other tests assume: no names of their own. */
	for (i = 0; i < 2; i++) {
		struct elfsyms *e = elfsyms__open(fixture_path(stripped[i]));

		cr_assert_not_null(e);
		cr_assert_eq(elfsyms__source(e), ELFSYMS_SRC_DYNSYM);
		cr_assert_null(elfsyms__by_name(e, "dbgfix_static_one"));
		cr_assert_eq(elfsyms__has_dwarf(e), 0);
		elfsyms__free(e);
	}
}

Test(debuginfo, debuglink_names_and_crc)
{
	struct elfsyms *e = elfsyms__open(fixture_path("dbgfix_dbglink")), *full;
	uint32_t crc = 0, want;
	const char *link;

	cr_assert_not_null(e);
	link = elfsyms__debuglink(e, &crc);
	cr_assert_str_eq(link, "dbgfix_dbglink.debug");
	cr_assert_eq(debuginfo__crc32(fixture_path("dbgfix_dbglink.debug"), &want), 0);
	cr_assert_eq(crc, want, "crc %08x, file %08x", crc, want);
	full = elfsyms__open(fixture_path("dbgfix"));
	cr_assert_not_null(full);
	cr_assert_null(elfsyms__debuglink(full, NULL));
	elfsyms__free(full);

	full = elfsyms__open_debug(fixture_path("dbgfix_dbglink"),
				   fixture_path("dbgfix_dbglink.debug"));
	cr_assert_not_null(full);
	cr_assert_eq(elfsyms__source(full), ELFSYMS_SRC_DEBUG_FILE);
	cr_assert_eq(elfsyms__by_name(full, "dbgfix_static_two")->addr,
		     dbgfix_sym("dbgfix_static_two", NULL));
	cr_assert_str_eq(elfsyms__build_id(full), elfsyms__build_id(e));
	elfsyms__free(full);
	elfsyms__free(e);
}

Test(debuginfo, debuglink_beside_the_binary)
{
	struct symbolizer *s = new_symbolizer("/nonexistent");
	struct symbolizer_stats st;
	struct child c;

	child_start(&c, "dbgfix_dbglink");
	expect_static(s, &c, "dbgfix_dbglink", "dbgfix_static_one");
	expect_static(s, &c, "dbgfix_dbglink", "dbgfix_static_two");
	symbolizer__stats(s, &st);
	cr_assert_eq(st.debug_files, 1);
	cr_assert_eq(st.unresolved, 0);
	child_stop(&c);
	symbolizer__free(s);
}

/* Copy @src to @dst (whole file). */
static void copy_file(const char *src, const char *dst, mode_t mode)
{
	size_t len;
	char *data = read_file(src, &len);
	FILE *f;

	cr_assert_not_null(data, "read %s", src);
	f = fopen(dst, "wb");
	cr_assert_not_null(f, "write %s", dst);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(dst, mode), 0);
	free(data);
}

/* The debuglink file with one byte appended: same build-id, other CRC. */
static void stale_copy(const char *dst)
{
	FILE *f;

	copy_file(fixture_path("dbgfix_dbglink.debug"), dst, 0644);
	f = fopen(dst, "ab");
	cr_assert_not_null(f);
	fputc(0, f);
	cr_assert_eq(fclose(f), 0);
}

static void mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	cr_assert(!mkdir(buf, 0755) || errno == EEXIST, "mkdir %s", buf);
}

static int find(const char *bin, const char *dirs, char *out, size_t len)
{
	struct elfsyms *e = elfsyms__open(bin);
	struct debuginfo_query q = {.path = bin, .debug_dirs = dirs};
	int err;

	cr_assert_not_null(e);
	q.debuglink = elfsyms__debuglink(e, &q.debuglink_crc);
	err = debuginfo__find(&q, out, len);
	elfsyms__free(e);
	return err;
}

Test(debuginfo, debuglink_search_order_and_crc_check)
{
	char dir[PATH_MAX], bin[PATH_MAX + 16], p[3 * PATH_MAX], got[PATH_MAX], root[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/dl/bin", test_tmpdir());
	snprintf(root, sizeof(root), "%s/dl/debugroot", test_tmpdir());
	mkdirs(dir);
	snprintf(bin, sizeof(bin), "%s/prog", dir);
	copy_file(fixture_path("dbgfix_dbglink"), bin, 0755);
	cr_assert_eq(find(bin, root, got, sizeof(got)), -ENOENT);

	/* Under the debug root, by the binary's directory. */
	snprintf(p, sizeof(p), "%s%s", root, dir);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s%s/dbgfix_dbglink.debug", root, dir);
	copy_file(fixture_path("dbgfix_dbglink.debug"), p, 0644);
	cr_assert_eq(find(bin, root, got, sizeof(got)), 0);
	cr_assert_str_eq(got, p);

	/* .debug/ beside the binary comes before the debug root. */
	snprintf(p, sizeof(p), "%s/.debug", dir);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/.debug/dbgfix_dbglink.debug", dir);
	copy_file(fixture_path("dbgfix_dbglink.debug"), p, 0644);
	cr_assert_eq(find(bin, root, got, sizeof(got)), 0);
	cr_assert_str_eq(got, p);

	/* Beside the binary comes first; but a stale file there (one more
	 * byte: another CRC, the same build-id) is skipped. */
	snprintf(p, sizeof(p), "%s/dbgfix_dbglink.debug", dir);
	stale_copy(p);
	cr_assert_eq(find(bin, root, got, sizeof(got)), 0);
	snprintf(p, sizeof(p), "%s/.debug/dbgfix_dbglink.debug", dir);
	cr_assert_str_eq(got, p);
	snprintf(p, sizeof(p), "%s/dbgfix_dbglink.debug", dir);
	copy_file(fixture_path("dbgfix_dbglink.debug"), p, 0644);
	cr_assert_eq(find(bin, root, got, sizeof(got)), 0);
	cr_assert_str_eq(got, p);

	/* Only stale files anywhere: nothing. */
	stale_copy(p);
	snprintf(p, sizeof(p), "%s/.debug/dbgfix_dbglink.debug", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s%s/dbgfix_dbglink.debug", root, dir);
	unlink(p);
	cr_assert_eq(find(bin, root, got, sizeof(got)), -ENOENT);
}

/* A debug root holding @debug_file at .build-id/xx/yyyy.debug for @fixture's build-id. */
static void fake_build_id_root(const char *root, const char *fixture, const char *debug_file)
{
	struct elfsyms *e = elfsyms__open(fixture_path(fixture));
	char p[PATH_MAX];
	const char *bid;

	cr_assert_not_null(e);
	bid = elfsyms__build_id(e);
	cr_assert_not_null(bid);
	snprintf(p, sizeof(p), "%s/.build-id/%.2s", root, bid);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/.build-id/%.2s/%s.debug", root, bid, bid + 2);
	unlink(p);
	cr_assert_eq(symlink(fixture_realpath(debug_file), p), 0, "symlink %s", p);
	elfsyms__free(e);
}

Test(debuginfo, build_id_in_a_debug_root)
{
	char root[PATH_MAX], dirs[2 * PATH_MAX];
	struct symbolizer *s;
	struct symbolizer_stats st;
	struct child c;

	snprintf(root, sizeof(root), "%s/bid-root", test_tmpdir());
	fake_build_id_root(root, "dbgfix_buildid", "dbgfix_buildid.debug");
	child_start(&c, "dbgfix_buildid");

	/* Without the root, the names are not there: the test can fail. */
	s = new_symbolizer("/nonexistent");
	expect_unnamed(s, &c, "dbgfix_static_one");
	symbolizer__free(s);

	/* The second directory of the list. */
	snprintf(dirs, sizeof(dirs), "/nonexistent:%s", root);
	s = new_symbolizer(dirs);
	expect_static(s, &c, "dbgfix_buildid", "dbgfix_static_one");
	expect_static(s, &c, "dbgfix_buildid", "dbgfix_static_two");
	symbolizer__stats(s, &st);
	cr_assert_eq(st.debug_files, 1);
	symbolizer__free(s);
	child_stop(&c);
}

Test(debuginfo, build_id_mismatch_is_refused)
{
	char root[PATH_MAX], got[PATH_MAX];
	struct elfsyms *e = elfsyms__open(fixture_path("dbgfix_buildid"));
	struct debuginfo_query q = {.path = "/x/dbgfix_buildid", .debug_dirs = root};

	cr_assert_not_null(e);
	snprintf(root, sizeof(root), "%s/bad-bid-root", test_tmpdir());
	/* A debug file of another program under this build-id's name. */
	fake_build_id_root(root, "dbgfix_buildid", "symfix_pie");
	q.build_id = elfsyms__build_id(e);
	cr_assert_eq(debuginfo__find(&q, got, sizeof(got)), -ENOENT);
	fake_build_id_root(root, "dbgfix_buildid", "dbgfix_buildid.debug");
	cr_assert_eq(debuginfo__find(&q, got, sizeof(got)), 0);
	cr_assert(strstr(got, "/.build-id/"), "%s", got);
	/* Malformed build-ids never build paths. */
	q.build_id = "../../etc";
	cr_assert_eq(debuginfo__find(&q, got, sizeof(got)), -ENOENT);
	elfsyms__free(e);
}

Test(debuginfo, minidebuginfo_static_names)
{
	struct elfsyms *e = elfsyms__open(fixture_path("dbgfix_minidebug"));
	struct symbolizer *s = new_symbolizer("/nonexistent");
	struct sym_result r;
	struct child c;

	cr_assert_not_null(e);
	cr_assert_eq(elfsyms__source(e), ELFSYMS_SRC_MINIDEBUGINFO);
	cr_assert_eq(elfsyms__by_name(e, "dbgfix_static_one")->addr,
		     dbgfix_sym("dbgfix_static_one", NULL));
	elfsyms__free(e);

	child_start(&c, "dbgfix_minidebug");
	expect_static(s, &c, "dbgfix_minidebug", "dbgfix_static_one");
	expect_static(s, &c, "dbgfix_minidebug", "dbgfix_static_two");
	/* Names only: MiniDebugInfo has no DWARF. */
	cr_assert_eq(
		symbolizer__resolve_user(s, c.pid, child_addr(&c, "dbgfix_static_one") + 6, &r), 0);
	cr_assert_eq(r.nframes, 1);
	cr_assert_null(r.frames[0].file);
	child_stop(&c);
	symbolizer__free(s);
}

Test(debuginfo, entry_point_named_start_in_stripped_programs)
{
	uint64_t size, start = dbgfix_sym("_start", &size);
	struct elfsyms *e = elfsyms__open(fixture_path("dbgfix_buildid"));
	struct elfsyms *lib = elfsyms__open(fixture_path("libsymfix.so"));
	const struct elfsym *s;

	cr_assert_not_null(e);
	cr_assert_eq(elfsyms__is_exec(e), 1);
	cr_assert_null(elfsyms__by_name(e, "dbgfix_static_one"));
	s = elfsyms__find(e, start + 3);
	cr_assert_not_null(s);
	cr_assert_str_eq(s->name, "_start");
	cr_assert_eq(s->addr, start);
	/* Sized by its CFI exactly as the symbol table sizes it. */
	cr_assert_eq(s->size, size, "size %" PRIu64 " want %" PRIu64, s->size, size);
	cr_assert_null(elfsyms__find(e, start + size));
	elfsyms__free(e);
	/* A library is no program: no _start invented. */
	cr_assert_not_null(lib);
	cr_assert_eq(elfsyms__is_exec(lib), 0);
	cr_assert_null(elfsyms__by_name(lib, "_start"));
	elfsyms__free(lib);
}

/* The runtime address of link-time @vaddr of the file at @path in our own process. */
static uint64_t self_runtime(const char *path, const struct elfsyms *e, uint64_t vaddr)
{
	struct procmaps pm;
	uint64_t off, addr = 0;
	size_t i;

	cr_assert_eq(elfsyms__vaddr_to_off(e, vaddr, &off), 0);
	cr_assert_eq(procmaps__read(getpid(), &pm), 0);
	for (i = 0; i < pm.nr; i++) {
		const struct procmap *m = &pm.maps[i];

		if (!strcmp(m->path, path) && off >= m->pgoff && off - m->pgoff < m->end - m->start)
			addr = m->start + off - m->pgoff;
	}
	procmaps__clear(&pm);
	cr_assert_neq(addr, 0, "%s not mapped", path);
	return addr;
}

static const char *self_libc(void)
{
	static char path[PATH_MAX];
	struct procmaps pm;
	size_t i;

	cr_assert_eq(procmaps__read(getpid(), &pm), 0);
	for (i = 0; i < pm.nr; i++)
		if (strstr(pm.maps[i].path, "/libc.so.6"))
			snprintf(path, sizeof(path), "%s", pm.maps[i].path);
	procmaps__clear(&pm);
	cr_assert(path[0], "libc.so.6 is not mapped");
	return path;
}

Test(debuginfo, debian_libc_internal_function_by_build_id)
{
	const char *libc = self_libc();
	struct elfsyms *e = elfsyms__open(libc), *dbg;
	struct symbolizer *s = new_symbolizer(NULL);
	struct symbolizer_stats st;
	char dpath[PATH_MAX];
	const char *bid;
	struct sym_result r;
	uint64_t link, addr;

	cr_assert_not_null(e);
	bid = elfsyms__build_id(e);
	cr_assert_not_null(bid);
	/* Debian's libc exports no __libc_start_call_main. */
	cr_assert_null(elfsyms__by_name(e, "__libc_start_call_main"));
	snprintf(dpath, sizeof(dpath), "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
	require_path(dpath, R_OK, "libc6-dbg's debug file");
	dbg = elfsyms__open(dpath);
	cr_assert_not_null(dbg);
	link = elfsyms__by_name(dbg, "__libc_start_call_main")->addr;
	elfsyms__free(dbg);
	addr = self_runtime(libc, e, link) + 4;

	cr_assert_eq(symbolizer__resolve_user(s, getpid(), addr, &r), 0);
	cr_assert_str_eq(r.module, libc);
	cr_assert_str_eq(r.build_id, bid);
	cr_assert_geq(r.nframes, 1);
	cr_assert_str_eq(r.frames[r.nframes - 1].name, "__libc_start_call_main");
	cr_assert_eq(r.frames[r.nframes - 1].sym_offset, 4);
	cr_assert_eq(r.frames[r.nframes - 1].inlined, 0);
	/* libc6-dbg carries DWARF too: the function's own source file. */
	cr_assert_str_eq(base_name(r.frames[r.nframes - 1].file), "libc_start_call_main.h");
	cr_assert_gt(r.frames[r.nframes - 1].line, 0);
	symbolizer__stats(s, &st);
	cr_assert_eq(st.debug_files, 1);
	elfsyms__free(e);
	symbolizer__free(s);
}

Test(debuginfo, corrupt_minidebuginfo_never_crashes)
{
	const char *path = fixture_path("dbgfix_minidebug");
	size_t len, off, size, i;
	char *orig = read_file(path, &len), *img;
	uint32_t seed = 12345;
	int named = 0;

	cr_assert_not_null(orig);
	section_of(path, ".gnu_debugdata", &off, &size);
	cr_assert_leq(off + size, len);
	img = malloc(len);
	cr_assert_not_null(img);
	for (i = 0; i < 3000; i++) {
		struct elfsyms *e;
		int k, flips = 1 + (int)(lcg(&seed) % 8);

		memcpy(img, orig, len);
		for (k = 0; k < flips; k++) {
			size_t at = off + lcg(&seed) % size;

			/* Mostly the xz header and the start of the stream. */
			if (k == 0 && (i & 1))
				at = off + lcg(&seed) % (size < 64 ? size : 64);
			img[at] = (char)lcg(&seed);
		}
		e = elfsyms__open_mem(img, len);
		/* Damage loses at most the MiniDebugInfo names, never the file. */
		cr_assert_not_null(e, "iteration %zu", i);
		named += elfsyms__by_name(e, "dbgfix_static_one") != NULL;
		elfsyms__free(e);
	}
	/* xz checks its CRC, so almost every mutation loses the names. */
	cr_log_info("names survived %d of 3000 mutations", named);
	cr_assert_lt(named, 300);
	free(img);
	free(orig);
}

Test(debuginfo, xz_rejects_bad_input)
{
	static const unsigned char garbage[] = "definitely not xz";
	char xz_path[PATH_MAX], cmd[PATH_MAX * 2];
	size_t len, out_len, i;
	char *xz;
	void *out;

	cr_assert_eq(xz_decompress(garbage, sizeof(garbage), 1 << 20, &out, &out_len), -EINVAL);
	cr_assert_null(out);
	cr_assert_eq(xz_decompress(garbage, 0, 1 << 20, &out, &out_len), -EINVAL);

	/* A megabyte of zeros compresses to a few hundred bytes. */
	snprintf(xz_path, sizeof(xz_path), "%s/zeros.xz", test_tmpdir());
	snprintf(cmd, sizeof(cmd), "head -c 1048576 /dev/zero | xz -c > %s", xz_path);
	cr_assert_eq(system(cmd), 0);
	xz = read_file(xz_path, &len);
	cr_assert_not_null(xz);
	cr_assert_eq(xz_decompress(xz, len, 1 << 20, &out, &out_len), 0);
	cr_assert_eq(out_len, 1 << 20);
	free(out);
	/* Over the bound: refused, not allocated. */
	cr_assert_eq(xz_decompress(xz, len, (1 << 20) - 1, &out, &out_len), -EFBIG);
	cr_assert_null(out);
	/* Every truncation is an error, never a crash or a short success. */
	for (i = 0; i < len; i++) {
		cr_assert_eq(xz_decompress(xz, i, 1 << 20, &out, &out_len), -EINVAL, "len %zu", i);
		cr_assert_null(out);
	}
	free(xz);
}

/* cp @from @to (creating @to's directories). */
static void copy_into(const char *from, const char *to)
{
	char dir[PATH_MAX], *slash;
	char *data;
	size_t len;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", to);
	slash = strrchr(dir, '/');
	*slash = '\0';
	mkdirs(dir);
	data = read_file(from, &len);
	cr_assert_not_null(data, "read %s", from);
	f = fopen(to, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	chmod(to, 0755);
	free(data);
}

/*
 * A container started by pivot_root (Docker, podman): readlink of its
 * /proc/PID/root says "/", yet its /usr/lib/debug is its own. The debug
 * file of its stripped binary exists only there.
 */
Test(debuginfo, pivot_root_container_debug_file)
{
	char root[PATH_MAX], p[2 * PATH_MAX], link[8];
	struct elfsyms *e = elfsyms__open(fixture_path("dbgfix_buildid"));
	const char *bid;
	struct symbolizer *s;
	struct symbolizer_stats st;
	struct child c;
	char *args[8];

	require_bpf(); /* root: pivot_root */
	cr_assert_not_null(e);
	bid = elfsyms__build_id(e);
	snprintf(root, sizeof(root), "%s/container", test_tmpdir());
	snprintf(p, sizeof(p), "%s/bin/dbgfix_buildid", root);
	copy_into(fixture_path("dbgfix_buildid"), p);
	snprintf(p, sizeof(p), "%s/lib64/ld-linux-x86-64.so.2", root);
	copy_into("/lib64/ld-linux-x86-64.so.2", p);
	snprintf(p, sizeof(p), "%s/lib/x86_64-linux-gnu/libc.so.6", root);
	copy_into("/lib/x86_64-linux-gnu/libc.so.6", p);
	snprintf(p, sizeof(p), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", root, bid, bid + 2);
	copy_into(fixture_path("dbgfix_buildid.debug"), p);
	elfsyms__free(e);

	args[0] = (char *)fixture_path("pivot_run");
	args[1] = root;
	args[2] = "/bin/dbgfix_buildid";
	args[3] = "addrs";
	args[4] = NULL;
	child_start_argv(&c, args);
	snprintf(p, sizeof(p), "/proc/%d/root", (int)c.pid);
	cr_assert_eq(readlink(p, link, sizeof(link)), 1, "not the case under test");
	cr_assert_eq(link[0], '/');

	s = new_symbolizer(NULL);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "dbgfix_static_two" : "dbgfix_static_one";
		struct sym_result r;

		cr_assert_eq(symbolizer__resolve_user(s, c.pid, child_addr(&c, name) + 6, &r), 0);
		cr_assert_str_eq(r.module, "/bin/dbgfix_buildid");
		cr_assert_eq(r.nframes, 1, "%s: unnamed", name);
		cr_assert_str_eq(r.frames[0].name, name);
		cr_assert_eq(r.frames[0].sym_offset, 6);
		cr_assert_eq(r.rel_addr, dbgfix_sym(name, NULL) + 6);
	}
	symbolizer__stats(s, &st);
	cr_assert_eq(st.debug_files, 1);
	symbolizer__free(s);
	child_stop(&c);
}
