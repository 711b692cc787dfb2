// SPDX-License-Identifier: MIT
/*
 * The symbolizer on live fixture processes. The fixtures print the runtime
 * addresses of their functions; every expectation is a name those
 * addresses must resolve to, with the exact offset, module and ELF address.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/log.h"
#include "fixture_child.h"
#include "helpers.h"
#include "symbols/elfsyms.h"
#include "symbols/procmaps.h"
#include "symbols/symbolize.h"

/*
 * Canonical path, as the kernel prints it in maps. A function of this
 * file, not only the helper: own_code_resolves resolves its address.
 */
static const char *real(const char *fixture)
{
	return fixture_realpath(fixture);
}

/* Link-time address of @name in @fixture, as elfsyms reads it (checked against nm). */
static uint64_t link_addr(const char *fixture, const char *name, char *build_id, size_t bid_len)
{
	struct elfsyms *e = elfsyms__open(fixture_path(fixture));
	const struct elfsym *s;
	uint64_t a;

	cr_assert_not_null(e);
	s = elfsyms__by_name(e, name);
	cr_assert_not_null(s, "%s has no %s", fixture, name);
	a = s->addr;
	if (build_id) {
		cr_assert_not_null(elfsyms__build_id(e));
		snprintf(build_id, bid_len, "%s", elfsyms__build_id(e));
	}
	elfsyms__free(e);
	return a;
}

/*
 * binutils' addr2line (an independent DWARF reader) on @fixture at @rel:
 * the source file's basename and line, or "" and 0 when it knows none.
 */
static void addr2line(const char *fixture, uint64_t rel, char *file, size_t len, uint32_t *line)
{
	char addr[32], *out = NULL, *colon, *base;
	char *argv[] = {"/usr/bin/addr2line", "-e", (char *)fixture_path(fixture), addr, NULL};

	snprintf(addr, sizeof(addr), "0x%" PRIx64, rel);
	cr_assert_eq(run_cmd(argv, &out, NULL), 0);
	out[strcspn(out, " \n")] = '\0';
	colon = strrchr(out, ':');
	cr_assert_not_null(colon, "addr2line said %s", out);
	*colon = '\0';
	*line = (uint32_t)strtoul(colon + 1, NULL, 10);
	base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
	snprintf(file, len, "%s", strcmp(base, "??") ? base : "");
	free(out);
}

static void expect_named(struct symbolizer *s, const struct child *c, const char *module_fixture,
			 const char *name, int runtime_is_link_time)
{
	char want_file[256];
	uint32_t want_line;
	uint64_t addr = child_addr(c, name) + 5;
	char bid[160];
	uint64_t link = link_addr(module_fixture, name, bid, sizeof(bid));
	struct sym_result r;

	cr_assert_eq(symbolizer__resolve_user(s, c->pid, addr, &r), 0);
	cr_assert_not_null(r.module, "%s unmapped", name);
	cr_assert_str_eq(r.module, real(module_fixture));
	cr_assert_eq(r.nframes, 1, "%s: nframes %d", name, r.nframes);
	cr_assert_str_eq(r.frames[0].name, name);
	cr_assert_eq(r.frames[0].sym_offset, 5);
	cr_assert_eq(r.frames[0].inlined, 0);
	/* The fixtures are built with -g: DWARF lines agree with addr2line's. */
	addr2line(module_fixture, r.rel_addr, want_file, sizeof(want_file), &want_line);
	if (want_file[0]) {
		cr_assert_not_null(r.frames[0].file, "%s: no file", name);
		cr_assert_str_eq(strrchr(r.frames[0].file, '/') ? strrchr(r.frames[0].file, '/') + 1
								: r.frames[0].file,
				 want_file);
		cr_assert_eq(r.frames[0].line, want_line, "%s: line %u, addr2line %u", name,
			     r.frames[0].line, want_line);
		cr_assert_gt(want_line, 0);
	} else {
		cr_assert_null(r.frames[0].file);
		cr_assert_eq(r.frames[0].line, 0);
	}
	cr_assert_eq(r.rel_addr, link + 5, "%s: rel 0x%" PRIx64 " want 0x%" PRIx64, name,
		     r.rel_addr, link + 5);
	if (runtime_is_link_time)
		cr_assert_eq(r.rel_addr, addr);
	cr_assert_str_eq(r.build_id, bid);
	cr_assert(r.map_start <= addr && addr < r.map_end);
}

static struct symbolizer *new_symbolizer(void)
{
	struct symbolizer_opts o = {.sz = sizeof(o)};
	struct symbolizer *s = symbolizer__new(&o);

	cr_assert_not_null(s);
	return s;
}

Test(symbolize, pie_functions)
{
	struct symbolizer *s = new_symbolizer();
	struct symbolizer_stats st;
	struct child c;

	child_start(&c, "symfix_pie");
	expect_named(s, &c, "symfix_pie", "fixture_alpha", 0);
	expect_named(s, &c, "symfix_pie", "fixture_beta", 0);
	expect_named(s, &c, "symfix_pie", "fixture_static_gamma", 0);
	symbolizer__stats(s, &st);
	cr_assert_eq(st.lookups, 3);
	cr_assert_eq(st.unresolved, 0);
	cr_assert_eq(st.files_cached, 1);
	cr_assert_eq(st.maps_reads, 1);
	child_stop(&c);
	symbolizer__free(s);
	symbolizer__free(NULL);
}

Test(symbolize, non_pie_functions)
{
	struct symbolizer *s = new_symbolizer();
	struct child c;

	child_start(&c, "symfix_nopie");
	expect_named(s, &c, "symfix_nopie", "fixture_alpha", 1);
	expect_named(s, &c, "symfix_nopie", "fixture_beta", 1);
	expect_named(s, &c, "symfix_nopie", "fixture_static_gamma", 1);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, shared_library_functions)
{
	struct symbolizer *s = new_symbolizer();
	struct child c;

	child_start(&c, "symfix_linked");
	expect_named(s, &c, "libsymfix.so", "fixture_lib_alpha", 0);
	expect_named(s, &c, "libsymfix.so", "fixture_lib_beta", 0);
	expect_named(s, &c, "libsymfix.so", "fixture_lib_static", 0);
	expect_named(s, &c, "symfix_linked", "fixture_alpha", 0);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, stripped_binary_uses_dynsym)
{
	struct symbolizer *s = new_symbolizer();
	struct sym_result r;
	struct child c;

	child_start(&c, "symfix_stripped");
	expect_named(s, &c, "symfix_stripped", "fixture_alpha", 0);
	expect_named(s, &c, "symfix_stripped", "fixture_beta", 0);
	/* The static function is gone with .symtab: mapped, but nameless. */
	cr_assert_eq(
		symbolizer__resolve_user(s, c.pid, child_addr(&c, "fixture_static_gamma") + 5, &r),
		0);
	cr_assert_str_eq(r.module, real("symfix_stripped"));
	cr_assert_eq(r.nframes, 0);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, unmapped_and_unnamed_addresses)
{
	struct symbolizer *s = new_symbolizer();
	struct symbolizer_stats st;
	struct sym_result r;
	uint64_t region;
	struct child c;

	child_start(&c, "symfix_pie");
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, 0x10, &r), 0);
	cr_assert_null(r.module);
	cr_assert_eq(r.nframes, 0);

	region = child_addr(&c, "fixture_nosym_region");
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, region + 8, &r), 0);
	cr_assert_str_eq(r.module, real("symfix_pie"));
	cr_assert_eq(r.nframes, 0);
	cr_assert_eq(r.rel_addr, link_addr("symfix_pie", "fixture_asm_sized", NULL, 0) + 1 + 8);

	/* The page padding after .fini: mapped executable, in no section. */
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, r.map_end - 1, &r), 0);
	cr_assert_str_eq(r.module, real("symfix_pie"));
	cr_assert_eq(r.nframes, 0);

	symbolizer__stats(s, &st);
	cr_assert_eq(st.lookups, 3);
	cr_assert_eq(st.unresolved, 3);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, resolves_after_exit_when_prepared)
{
	struct symbolizer *s = new_symbolizer();
	struct sym_result r;
	uint64_t alpha, lib;
	struct child c;
	pid_t pid;

	child_start(&c, "symfix_linked");
	alpha = child_addr(&c, "fixture_alpha");
	lib = child_addr(&c, "fixture_lib_beta");
	pid = c.pid;
	cr_assert_eq(symbolizer__prepare_pid(s, pid), 0);
	child_stop(&c);

	cr_assert_eq(symbolizer__resolve_user(s, pid, alpha + 5, &r), 0);
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "fixture_alpha");
	cr_assert_str_eq(r.module, real("symfix_linked"));
	cr_assert_eq(symbolizer__resolve_user(s, pid, lib + 5, &r), 0);
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "fixture_lib_beta");
	cr_assert_str_eq(r.module, real("libsymfix.so"));
	/* A miss on a dead PID keeps what it knew. */
	cr_assert_eq(symbolizer__resolve_user(s, pid, 0x10, &r), 0);
	cr_assert_null(r.module);

	symbolizer__forget_pid(s, pid);
	cr_assert_eq(symbolizer__resolve_user(s, pid, alpha + 5, &r), -ESRCH);
	cr_assert_null(r.module);
	symbolizer__free(s);
}

/*
 * A process's snapshot (procwatch) outlives it as a zombie: a miss (a
 * sample taken before its exec, the old image's pc) re-reads its maps,
 * which read "" until the parent reaps it. Taken for new maps, that left
 * every later sample of a short-lived process unnamed.
 */
Test(symbolize, miss_on_zombie_keeps_snapshot)
{
	struct symbolizer *s = new_symbolizer();
	struct symbolizer_stats st;
	struct sym_result r;
	struct child c;
	uint64_t alpha;
	siginfo_t si;
	char *text;

	child_start(&c, "symfix_linked");
	alpha = child_addr(&c, "fixture_alpha");
	cr_assert_eq(procmaps__read_text(c.pid, &text), 0);
	cr_assert_eq(symbolizer__set_maps(s, c.pid, text, 1), 0);
	free(text);
	cr_assert_eq(kill(c.pid, SIGKILL), 0);
	cr_assert_eq(waitid(P_PID, c.pid, &si, WEXITED | WNOWAIT), 0);

	cr_assert_eq(symbolizer__resolve_user(s, c.pid, 0x10, &r), 0);
	cr_assert_null(r.module);
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, alpha + 5, &r), 0);
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "fixture_alpha");
	cr_assert_str_eq(r.module, real("symfix_linked"));
	symbolizer__stats(s, &st);
	/* The snapshot, and the miss's re-read that found the process gone. */
	cr_assert_eq(st.maps_reads, 2);
	cr_assert_eq(st.lookups, 2);
	cr_assert_eq(st.unresolved, 1);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, prepare_loads_every_mapped_file)
{
	struct symbolizer *s = new_symbolizer();
	struct symbolizer_stats st;
	struct procmaps pm;
	size_t i, j, distinct = 0;
	struct child c;

	child_start(&c, "symfix_linked");
	cr_assert_eq(procmaps__read(c.pid, &pm), 0);
	for (i = 0; i < pm.nr; i++) {
		int seen = 0;

		if (pm.maps[i].path[0] != '/')
			continue;
		for (j = 0; j < i; j++)
			seen |= pm.maps[j].inode == pm.maps[i].inode &&
				pm.maps[j].dev_minor == pm.maps[i].dev_minor &&
				pm.maps[j].dev_major == pm.maps[i].dev_major;
		distinct += !seen;
	}
	procmaps__clear(&pm);
	/* symfix_linked, libsymfix.so, libc, ld.so; sanitizer builds add theirs. */
	cr_assert_geq(distinct, 4);
	cr_assert_eq(symbolizer__prepare_pid(s, c.pid), 0);
	symbolizer__stats(s, &st);
	cr_assert_eq(st.files_cached, distinct);
	cr_assert_eq(st.maps_reads, 1);
	cr_assert_eq(st.lookups, 0);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, gone_pid_never_seen_is_esrch)
{
	struct symbolizer *s = new_symbolizer();
	struct sym_result r;
	pid_t pid = gone_pid();

	cr_assert_eq(symbolizer__resolve_user(s, pid, 0x401000, &r), -ESRCH);
	cr_assert_eq(symbolizer__prepare_pid(s, pid), -ESRCH);
	symbolizer__free(s);
}

Test(symbolize, dlopen_after_first_resolution)
{
	struct symbolizer *s = new_symbolizer();
	struct symbolizer_stats st;
	char cmd[PATH_MAX + 16];
	struct child c;

	child_start(&c, "symfix_pie");
	expect_named(s, &c, "symfix_pie", "fixture_alpha", 0);
	snprintf(cmd, sizeof(cmd), "dlopen %s", real("libsymfix.so"));
	child_send(&c, cmd);
	expect_named(s, &c, "libsymfix.so", "fixture_lib_alpha", 0);
	expect_named(s, &c, "libsymfix.so", "fixture_lib_beta", 0);
	symbolizer__stats(s, &st);
	/* The first read, and one re-read for the library's first address. */
	cr_assert_eq(st.maps_reads, 2);
	cr_assert_eq(st.files_cached, 2);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, miss_flood_rereads_maps_only_burst_times)
{
	struct symbolizer_opts o = {
		.sz = sizeof(o),
		.maps_reread_burst = 3,
		.maps_reread_interval_ms = 600000,
	};
	struct symbolizer *s = symbolizer__new(&o);
	struct symbolizer_stats st;
	struct sym_result r;
	struct child c;
	int i;

	cr_assert_not_null(s);
	child_start(&c, "symfix_pie");
	expect_named(s, &c, "symfix_pie", "fixture_alpha", 0);
	for (i = 0; i < 1000; i++) {
		cr_assert_eq(symbolizer__resolve_user(s, c.pid, 0x1000 + (uint64_t)i, &r), 0);
		cr_assert_null(r.module);
	}
	symbolizer__stats(s, &st);
	cr_assert_eq(st.maps_reads, 1 + 3);
	cr_assert_eq(st.lookups, 1001);
	cr_assert_eq(st.unresolved, 1000);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, evicted_files_reload_and_old_strings_stay_valid)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .max_files = 1};
	struct symbolizer *s = symbolizer__new(&o);
	struct symbolizer_stats st;
	struct sym_result r1, r2, r3;
	struct child c;

	cr_assert_not_null(s);
	child_start(&c, "symfix_linked");
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, child_addr(&c, "fixture_alpha") + 5, &r1),
		     0);
	cr_assert_eq(
		symbolizer__resolve_user(s, c.pid, child_addr(&c, "fixture_lib_alpha") + 5, &r2),
		0);
	symbolizer__stats(s, &st);
	cr_assert_eq(st.files_cached, 1);
	/* r1's file was evicted; its strings are the symbolizer's, not the file's. */
	cr_assert_str_eq(r1.frames[0].name, "fixture_alpha");
	cr_assert_str_eq(r1.module, real("symfix_linked"));
	cr_assert_str_eq(r2.frames[0].name, "fixture_lib_alpha");
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, child_addr(&c, "fixture_alpha") + 7, &r3),
		     0);
	cr_assert_str_eq(r3.frames[0].name, "fixture_alpha");
	cr_assert_eq(r3.frames[0].sym_offset, 7);
	cr_assert_eq(r3.frames[0].name, r1.frames[0].name);
	child_stop(&c);
	symbolizer__free(s);
}

Test(symbolize, vdso_of_a_process)
{
	struct symbolizer *s = new_symbolizer();
	uint64_t base = getauxval(AT_SYSINFO_EHDR), fn;
	struct elfsyms *vdso = NULL;
	struct sym_result r;
	struct procmaps pm;
	size_t i;

	cr_assert_neq(base, 0);
	cr_assert_eq(procmaps__read(getpid(), &pm), 0);
	for (i = 0; i < pm.nr; i++)
		if (!strcmp(pm.maps[i].path, "[vdso]"))
			vdso = elfsyms__open_mem((const void *)base,
						 pm.maps[i].end - pm.maps[i].start);
	procmaps__clear(&pm);
	cr_assert_not_null(vdso);
	/* The vdso is linked at 0, so its runtime address is base + st_value. */
	fn = base + elfsyms__by_name(vdso, "__vdso_gettimeofday")->addr;
	elfsyms__free(vdso);

	cr_assert_eq(symbolizer__resolve_user(s, getpid(), fn + 3, &r), 0);
	cr_assert_str_eq(r.module, "[vdso]");
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "__vdso_gettimeofday");
	cr_assert_eq(r.frames[0].sym_offset, 3);
	cr_assert_eq(r.rel_addr, fn + 3 - base);
	symbolizer__free(s);
}

Test(symbolize, own_code_resolves)
{
	struct symbolizer *s = new_symbolizer();
	struct sym_result r;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_eq(symbolizer__resolve_user(s, getpid(), (uint64_t)(uintptr_t)&real + 2, &r), 0);
	cr_assert_str_eq(r.module, exe);
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "real");
	cr_assert_eq(r.frames[0].sym_offset, 2);
	symbolizer__free(s);
}

/* A shrink drops every cached file; the next lookup reads them again, same name. */
Test(symbolize, shrink_drops_files_and_reloads)
{
	struct symbolizer *s = new_symbolizer();
	struct symbolizer_stats st;
	struct sym_result r;
	const char *first;

	cr_assert_eq(symbolizer__resolve_user(s, getpid(), (uint64_t)(uintptr_t)&real + 2, &r), 0);
	first = r.frames[0].name;
	symbolizer__stats(s, &st);
	cr_assert_eq(st.files_cached, 1);
	symbolizer__shrink(s);
	symbolizer__stats(s, &st);
	cr_assert_eq(st.files_cached, 0);
	cr_assert_eq(st.dwarf_open, 0);
	/* A name handed out before stays valid. */
	cr_assert_str_eq(first, "real");
	cr_assert_eq(symbolizer__resolve_user(s, getpid(), (uint64_t)(uintptr_t)&real + 2, &r), 0);
	cr_assert_str_eq(r.frames[0].name, "real");
	symbolizer__stats(s, &st);
	cr_assert_eq(st.files_cached, 1);
	symbolizer__free(s);
}

/* ---- the byte budget (max_bytes) ---- */

static struct symbolizer_stats stats_of(const struct symbolizer *s)
{
	struct symbolizer_stats st;

	symbolizer__stats(s, &st);
	return st;
}

/* @name at +5 in @fixture: its exact name, with a source line when @lines. */
static void expect_func(struct symbolizer *s, const struct child *c, const char *fixture,
			const char *name, bool lines)
{
	struct sym_result r;

	cr_assert_eq(symbolizer__resolve_user(s, c->pid, child_addr(c, name) + 5, &r), 0);
	cr_assert_str_eq(r.module, real(fixture));
	cr_assert_eq(r.nframes, 1, "%s: nframes %d", name, r.nframes);
	cr_assert_str_eq(r.frames[0].name, name);
	cr_assert_eq(r.frames[0].sym_offset, 5);
	if (lines)
		cr_assert_gt(r.frames[0].line, 0, "%s has no line", name);
	else
		cr_assert_eq(r.frames[0].line, 0);
}

/* What an unbounded symbolizer counts for symfix_linked. */
struct costs {
	uint64_t pid;	 /* its maps (after a lookup that maps nothing) */
	uint64_t a, b;	 /* fixture_alpha's file, then fixture_lib_alpha's: their tables */
	uint64_t da, db; /* and their DWARF, with @dwarf */
};

static void measure(const struct child *c, bool dwarf, struct costs *k)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .no_dwarf = !dwarf};
	struct symbolizer *s = symbolizer__new(&o);
	struct sym_result r;
	uint64_t before;

	cr_assert_not_null(s);
	cr_assert_eq(symbolizer__resolve_user(s, c->pid, 0x10, &r), 0);
	k->pid = stats_of(s).bytes;
	cr_assert_gt(k->pid, 0);
	expect_func(s, c, "symfix_linked", "fixture_alpha", dwarf);
	k->da = stats_of(s).dwarf_bytes;
	k->a = stats_of(s).bytes - k->pid - k->da;
	before = stats_of(s).bytes;
	expect_func(s, c, "libsymfix.so", "fixture_lib_alpha", dwarf);
	k->db = stats_of(s).dwarf_bytes - k->da;
	k->b = stats_of(s).bytes - before - k->db;
	cr_assert_gt(k->a, 0);
	cr_assert_gt(k->b, 0);
	cr_assert_eq(k->da > 0 && k->db > 0, dwarf);
	cr_assert_eq(stats_of(s).budget_evictions, 0);
	cr_assert_eq(stats_of(s).bytes_peak, k->pid + k->a + k->b + k->da + k->db);
	symbolizer__free(s);
}

static struct symbolizer *budget_symbolizer(uint64_t max_bytes, bool dwarf)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .max_bytes = max_bytes, .no_dwarf = !dwarf};
	struct symbolizer *s = symbolizer__new(&o);

	cr_assert_not_null(s);
	return s;
}

/* One budget test: symfix_linked running, its costs measured. */
struct budget_case {
	struct child c;
	struct costs k;
	struct symbolizer *s; /* the bounded one, set by the test */
	uint64_t max;
};

static void budget_start(struct budget_case *b, bool dwarf)
{
	child_start(&b->c, "symfix_linked");
	measure(&b->c, dwarf, &b->k);
}

static void budget_end(struct budget_case *b)
{
	child_stop(&b->c);
	symbolizer__free(b->s);
}

/* After a call: exactly @bytes counted (within @max), @evictions so far. */
static void expect_budget(const struct symbolizer *s, uint64_t max, uint64_t bytes,
			  uint64_t evictions)
{
	struct symbolizer_stats st = stats_of(s);

	cr_assert_leq(st.bytes, max);
	cr_assert_eq(st.bytes, bytes, "bytes %llu, want %llu", (unsigned long long)st.bytes,
		     (unsigned long long)bytes);
	cr_assert_eq(st.budget_evictions, evictions, "evictions %llu, want %llu",
		     (unsigned long long)st.budget_evictions, (unsigned long long)evictions);
	cr_assert_eq(st.oversized, 0);
}

#define MAX2(a, b) ((a) > (b) ? (a) : (b))
#define MIN2(a, b) ((a) < (b) ? (a) : (b))

/* The lookups A, B, A: fixture_alpha's file, fixture_lib_alpha's, the first again. */
static const char *const aba_fixtures[] = {"symfix_linked", "libsymfix.so", "symfix_linked"};
static const char *const aba_names[] = {"fixture_alpha", "fixture_lib_alpha", "fixture_alpha"};

/* A, B, A within @max: exact names each time, @want bytes after each, i evictions after the i-th.
 */
static void lookups_aba(struct symbolizer *s, const struct child *c, bool dwarf, uint64_t max,
			const uint64_t want[3])
{
	for (int i = 0; i < 3; i++) {
		expect_func(s, c, aba_fixtures[i], aba_names[i], dwarf);
		expect_budget(s, max, want[i], (uint64_t)i);
	}
}

/* Room for the maps and one table, not two: A, B, A evicts twice. */
Test(symbolize, byte_budget_evicts_the_least_recently_used_file)
{
	struct budget_case b;
	const struct costs *k = &b.k;

	budget_start(&b, false);
	b.max = k->pid + MAX2(k->a, k->b) + MIN2(k->a, k->b) / 2;
	b.s = budget_symbolizer(b.max, false);
	lookups_aba(b.s, &b.c, false, b.max,
		    (uint64_t[]){k->pid + k->a, k->pid + k->b, k->pid + k->a});
	/* Each table was counted before the other made room for it. */
	cr_assert_eq(stats_of(b.s).bytes_peak, k->pid + k->a + k->b);
	cr_assert_eq(stats_of(b.s).files_cached, 1);
	cr_assert_eq(stats_of(b.s).unresolved, 0);
	budget_end(&b);
}

/*
 * Room for both tables and one DWARF: the least recently used DWARF goes
 * (before its own table, used in the same lookup), tables stay.
 */
Test(symbolize, byte_budget_closes_dwarf_before_tables)
{
	struct budget_case b;
	const struct costs *k = &b.k;
	uint64_t tables;

	budget_start(&b, true);
	tables = k->pid + k->a + k->b;
	b.max = tables + MAX2(k->da, k->db) + MIN2(k->da, k->db) / 2;
	b.s = budget_symbolizer(b.max, true);
	lookups_aba(b.s, &b.c, true, b.max,
		    (uint64_t[]){k->pid + k->a + k->da, tables + k->db, tables + k->da});
	cr_assert_eq(stats_of(b.s).dwarf_bytes, k->da);
	cr_assert_eq(stats_of(b.s).files_cached, 2);
	cr_assert_eq(stats_of(b.s).dwarf_open, 1);
	cr_assert_eq(stats_of(b.s).dwarf_opens, 3);
	budget_end(&b);
}

/*
 * DWARF that outgrows the room beside its table: the lookup that grew it
 * keeps its line, then it is closed and not reopened; names stay.
 */
Test(symbolize, byte_budget_closes_dwarf_too_big_for_it)
{
	struct budget_case b;

	budget_start(&b, true);
	b.max = b.k.pid + b.k.a + b.k.da - 1;
	b.s = budget_symbolizer(b.max, true);
	for (int i = 0; i < 2; i++) {
		struct symbolizer_stats st;

		expect_func(b.s, &b.c, "symfix_linked", "fixture_alpha", i == 0);
		st = stats_of(b.s);
		cr_assert_eq(st.bytes, b.k.pid + b.k.a);
		cr_assert_eq(st.oversized, 1);
		cr_assert_eq(st.dwarf_open, 0);
		cr_assert_eq(st.dwarf_opens, 1);
		cr_assert_eq(st.budget_evictions, 0);
	}
	budget_end(&b);
}

struct oversized_run {
	struct symbolizer *s;
	const struct child *c;
	struct sym_result r[3];
	int err[3];
};

static int oversized_lookups(void *arg)
{
	struct oversized_run *o = arg;

	for (int i = 0; i < 3; i++)
		o->err[i] = symbolizer__resolve_user(o->s, o->c->pid,
						     child_addr(o->c, aba_names[i]) + 5, &o->r[i]);
	return 0;
}

/*
 * Neither table fits beside the maps: neither is kept (nor loaded again),
 * both counted, one line logged; the addresses keep module, file offset
 * and build-id.
 */
Test(symbolize, byte_budget_keeps_no_table_too_big_for_it)
{
	struct oversized_run run = {0};
	struct symbolizer_stats st;
	struct budget_case b;
	enum log_level level = log_get_level();
	char *err;
	int ret;

	budget_start(&b, false);
	b.max = b.k.pid + MIN2(b.k.a, b.k.b) - 1;
	b.s = run.s = budget_symbolizer(b.max, false);
	run.c = &b.c;
	log_set_level(LOG_INFO);
	err = capture_stderr(oversized_lookups, &run, &ret);
	log_set_level(level);
	for (int i = 0; i < 3; i++) {
		const struct sym_result *r = &run.r[i];
		char bid[160];

		link_addr(aba_fixtures[i], aba_names[i], bid, sizeof(bid));
		cr_assert_eq(run.err[i], 0);
		cr_assert_str_eq(r->module, real(aba_fixtures[i]));
		cr_assert_eq(r->nframes, 0);
		cr_assert_str_eq(r->build_id, bid);
		cr_assert_eq(r->rel_addr,
			     child_addr(&b.c, aba_names[i]) + 5 - r->map_start + r->map_pgoff);
	}
	st = stats_of(b.s);
	cr_assert_leq(st.bytes, b.max);
	cr_assert_eq(st.oversized, 2);
	cr_assert_eq(st.budget_evictions, 0);
	cr_assert_eq(st.files_cached, 2);
	cr_assert_eq(st.unresolved, 3);
	cr_assert_eq(count_of(err, "symbolize: the symbol table of "), 1, "stderr: %s", err);
	cr_assert_eq(count_of(err, "libsymfix.so"), 0, "stderr: %s", err);
	free(err);
	budget_end(&b);
}

/* Loading every mapped file (libc, ld.so too) stays within a budget of two tables. */
Test(symbolize, byte_budget_holds_while_preparing_a_pid)
{
	struct budget_case b;

	budget_start(&b, false);
	b.max = b.k.pid + b.k.a + b.k.b;
	b.s = budget_symbolizer(b.max, false);
	cr_assert_eq(symbolizer__prepare_pid(b.s, b.c.pid), 0);
	cr_assert_leq(stats_of(b.s).bytes, b.max);
	/* libc's table alone is larger than both fixtures': something was evicted or refused. */
	cr_assert_gt(stats_of(b.s).budget_evictions + stats_of(b.s).oversized, 0);
	for (int i = 0; i < 3; i++) {
		expect_func(b.s, &b.c, "symfix_linked", "fixture_alpha", false);
		cr_assert_leq(stats_of(b.s).bytes, b.max);
		expect_func(b.s, &b.c, "libsymfix.so", "fixture_lib_beta", false);
		cr_assert_leq(stats_of(b.s).bytes, b.max);
	}
	budget_end(&b);
}

/* The address kallsyms gives @name (type T), or 0. */
static uint64_t kallsyms_addr(const char *name)
{
	char *text = read_file("/proc/kallsyms", NULL), *line, *save = NULL;
	uint64_t addr = 0;

	cr_assert_not_null(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a;
		char t, n[256];

		if (sscanf(line, "%llx %c %255s", &a, &t, n) == 3 && t == 'T' && !strcmp(n, name)) {
			addr = a;
			break;
		}
	}
	free(text);
	return addr;
}

Test(symbolize, kernel_schedule)
{
	struct symbolizer *s;
	uint64_t addr = kallsyms_addr("schedule");
	struct sym_result r;

	if (!addr)
		cr_skip("kallsyms hides addresses (not root or kptr_restrict)");
	s = new_symbolizer();
	cr_assert_eq(symbolizer__resolve_kernel(s, addr + 1, &r), 0);
	cr_assert_str_eq(r.module, "[kernel.kallsyms]");
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "schedule");
	cr_assert_eq(r.frames[0].sym_offset, 1);
	cr_assert_eq(r.rel_addr, addr + 1);
	cr_assert_eq(r.map_start, 0);
	symbolizer__free(s);
}

static struct symbolizer *fake_kallsyms(const char *name, const char *text)
{
	char path[4096];
	struct symbolizer_opts o = {.sz = sizeof(o), .kallsyms_path = path};
	FILE *f;
	struct symbolizer *s;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	s = symbolizer__new(&o);
	cr_assert_not_null(s);
	return s;
}

static void expect_kernel(struct symbolizer *s, uint64_t addr, const char *module, const char *name,
			  uint64_t off)
{
	struct sym_result r;

	cr_assert_eq(symbolizer__resolve_kernel(s, addr, &r), 0);
	if (!module) {
		cr_assert_null(r.module);
		cr_assert_eq(r.nframes, 0);
		return;
	}
	cr_assert_str_eq(r.module, module);
	if (!name) {
		cr_assert_eq(r.nframes, 0);
		return;
	}
	cr_assert_eq(r.nframes, 1, "0x%" PRIx64, addr);
	cr_assert_str_eq(r.frames[0].name, name);
	cr_assert_eq(r.frames[0].sym_offset, off);
}

Test(symbolize, kernel_from_given_kallsyms_file)
{
	struct symbolizer *s = fake_kallsyms("kallsyms", "ffffffff81000000 T _text\n"
							 "ffffffff81000000 T _stext\n"
							 "ffffffff81000000 t _a_local\n"
							 "ffffffff81001000 t __alpha_fn\n"
							 "ffffffff81001000 T alpha_fn\n"
							 "ffffffff81002000 D some_data\n"
							 "ffffffff81003000 W weak_fn\n"
							 "garbage line\n"
							 "ffffffffc0001000 t mod_fn\t[mymod]\n");
	struct symbolizer_stats st;

	expect_kernel(s, 0xffffffff81000005ULL, "[kernel.kallsyms]", "_stext", 5);
	expect_kernel(s, 0xffffffff81001010ULL, "[kernel.kallsyms]", "alpha_fn", 0x10);
	/* Data symbols are not functions: alpha_fn runs on to weak_fn. */
	expect_kernel(s, 0xffffffff81002001ULL, "[kernel.kallsyms]", "alpha_fn", 0x1001);
	expect_kernel(s, 0xffffffff81003000ULL, "[kernel.kallsyms]", "weak_fn", 0);
	expect_kernel(s, 0xffffffffc0001004ULL, "[mymod]", "mod_fn", 4);
	expect_kernel(s, 0xffffffff80000000ULL, NULL, NULL, 0);
	symbolizer__stats(s, &st);
	cr_assert_eq(st.lookups, 6);
	cr_assert_eq(st.unresolved, 1);
	symbolizer__free(s);
}

Test(symbolize, kernel_with_hidden_addresses)
{
	struct symbolizer *s = fake_kallsyms("kallsyms0", "0000000000000000 T _text\n"
							  "0000000000000000 T schedule\n");

	expect_kernel(s, 0xffffffff81000005ULL, "[kernel.kallsyms]", NULL, 0);
	symbolizer__free(s);
}

Test(symbolize, kernel_without_kallsyms_file)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .kallsyms_path = "/nonexistent/kallsyms"};
	struct symbolizer *s = symbolizer__new(&o);
	struct sym_result r;

	cr_assert_not_null(s);
	cr_assert_eq(symbolizer__resolve_kernel(s, 0xffffffff81000005ULL, &r), -ENOENT);
	cr_assert_null(r.module);
	symbolizer__free(s);
}

/* C++ frames read as the source does, not as the linker spells them. */
Test(symbolize, cpp_names_demangled)
{
	struct symbolizer_opts o = {.sz = sizeof(o)};
	struct symbolizer *s = symbolizer__new(&o);
	struct sym_result r;
	struct child c;

	cr_assert_not_null(s);
	child_start(&c, "cxxfix");
	for (int i = 0; i < 2; i++) {
		uint64_t a = child_addr(&c, i ? "method_double" : "method_int");

		cr_assert_eq(symbolizer__resolve_user(s, c.pid, a + 1, &r), 0);
		cr_assert_geq(r.nframes, 1);
		/* Without parameters, as perf: overloads share a frame. */
		cr_assert_str_eq(r.frames[r.nframes - 1].name, "ns::Klass::method");
		cr_assert_eq(r.frames[r.nframes - 1].sym_offset, 1);
	}
	child_stop(&c);
	symbolizer__free(s);
}
