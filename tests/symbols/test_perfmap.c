// SPDX-License-Identifier: MIT
/*
 * JIT names from /tmp/perf-PID.map: the parser (partial lines, overlaps,
 * bounds, garbage), and the symbolizer on a live process that emits code
 * into anonymous executable memory and appends to its map while running.
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
#include "symbols/perfmap.h"
#include "symbols/symbolize.h"

static struct perfmap *fed(const char *text, size_t max)
{
	struct perfmap *pm = perfmap__new(NULL, max);

	cr_assert_not_null(pm);
	cr_assert_eq(perfmap__feed(pm, text, strlen(text)), 0);
	return pm;
}

static void expect(struct perfmap *pm, uint64_t addr, const char *name)
{
	const struct perfmap_entry *e = perfmap__find(pm, addr);

	if (!name) {
		cr_assert_null(e, "0x%" PRIx64 " found %s", addr, e ? e->name : "");
		return;
	}
	cr_assert_not_null(e, "0x%" PRIx64 " not found", addr);
	cr_assert_str_eq(e->name, name);
}

Test(perfmap, parses_node_style_lines)
{
	struct perfmap *pm = fed("7f0000001000 40 LazyCompile:*hotLoop /app/x.js:3\n"
				 "7f0000001100 20 Builtin: ArgumentsAdaptorTrampoline\n"
				 "0x7f0000002000 0x10 with_prefix\n"
				 "7f0000003000 8 crlf\r\n",
				 0);

	cr_assert_eq(perfmap__count(pm), 4);
	cr_assert_eq(perfmap__bad_lines(pm), 0);
	expect(pm, 0x7f0000001000, "LazyCompile:*hotLoop /app/x.js:3");
	expect(pm, 0x7f000000103f, "LazyCompile:*hotLoop /app/x.js:3");
	expect(pm, 0x7f0000001040, NULL);
	expect(pm, 0x7f0000001110, "Builtin: ArgumentsAdaptorTrampoline");
	expect(pm, 0x7f000000200f, "with_prefix");
	expect(pm, 0x7f0000003007, "crlf");
	expect(pm, 0x7f0000000fff, NULL);
	expect(pm, 0, NULL);
	perfmap__free(pm);
	perfmap__free(NULL);
}

Test(perfmap, partial_lines_wait_for_their_end)
{
	struct perfmap *pm = perfmap__new(NULL, 0);

	cr_assert_not_null(pm);
	cr_assert_eq(perfmap__feed(pm, "1000 10 fir", 11), 0);
	cr_assert_eq(perfmap__count(pm), 0);
	cr_assert_eq(perfmap__feed(pm, "st\n2000 1", 9), 0);
	cr_assert_eq(perfmap__count(pm), 1);
	expect(pm, 0x1005, "first");
	cr_assert_eq(perfmap__feed(pm, "0 second\n", 9), 0);
	expect(pm, 0x200f, "second");
	cr_assert_eq(perfmap__bad_lines(pm), 0);
	perfmap__free(pm);
}

Test(perfmap, later_entries_win_overlaps)
{
	struct perfmap *pm = fed("1000 100 old_big\n"
				 "1000 10 same_start_old\n"
				 "1000 10 same_start_new\n"
				 "1040 10 newer_inside\n",
				 0);

	expect(pm, 0x1005, "same_start_new");
	expect(pm, 0x1045, "newer_inside");
	expect(pm, 0x1080, "old_big");
	/* Appended out of order: sorted again on the next lookup. */
	cr_assert_eq(perfmap__feed(pm, "500 10 lower\n1080 8 newest\n", 27), 0);
	expect(pm, 0x505, "lower");
	expect(pm, 0x1084, "newest");
	expect(pm, 0x1088, "old_big");
	perfmap__free(pm);
}

Test(perfmap, bounded_entries)
{
	struct perfmap *pm = fed("1000 10 a\n2000 10 b\n3000 10 c\n", 2);

	cr_assert_eq(perfmap__count(pm), 2);
	cr_assert_eq(perfmap__dropped(pm), 1);
	expect(pm, 0x3000, NULL);
	perfmap__free(pm);
}

Test(perfmap, malformed_lines_are_counted)
{
	static const char *const bad[] = {
		"\n",
		"zzzz 10 name\n",
		"1000\n",
		"1000 10\n",
		"1000 10 \n",
		"1000 0 zero\n",
		"ffffffffffffffff 10 wraps\n",
		"11112222333344445 10 long\n",
		"1000 zz name\n",
		"1000\t10 tab\n",
	};
	struct perfmap *pm = perfmap__new(NULL, 0);
	char nul_line[] = "1000 10 a\0b\n";
	size_t i;

	cr_assert_not_null(pm);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(perfmap__feed(pm, bad[i], strlen(bad[i])), 0);
	cr_assert_eq(perfmap__feed(pm, nul_line, sizeof(nul_line) - 1), 0);
	cr_assert_eq(perfmap__count(pm), 0);
	cr_assert_eq(perfmap__bad_lines(pm), sizeof(bad) / sizeof(bad[0]) + 1);
	perfmap__free(pm);
}

Test(perfmap, garbage_never_crashes)
{
	static const char alphabet[] = "0123456789abcdefx \n\r\t:*zZ\xff";
	uint32_t seed = 99;
	char buf[8192];
	int round;

	for (round = 0; round < 300; round++) {
		struct perfmap *pm = perfmap__new(NULL, 64);
		size_t len = lcg(&seed) % sizeof(buf), i, at;

		cr_assert_not_null(pm);
		for (i = 0; i < len; i++)
			buf[i] = (round & 1) ? (char)lcg(&seed)
					     : alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
		/* Fed in random pieces, as reads of a file being appended. */
		for (at = 0; at < len;) {
			size_t n = 1 + lcg(&seed) % 700;

			if (n > len - at)
				n = len - at;
			cr_assert_eq(perfmap__feed(pm, buf + at, n), 0);
			at += n;
		}
		for (i = 0; i < 200; i++)
			perfmap__find(pm, (uint64_t)lcg(&seed) << (lcg(&seed) % 40));
		cr_assert_leq(perfmap__count(pm), 64);
		perfmap__free(pm);
	}
}

Test(perfmap, file_reads_incrementally_and_restarts)
{
	char path[PATH_MAX];
	struct perfmap *pm;
	FILE *f;

	snprintf(path, sizeof(path), "%s/perf-inc.map", test_tmpdir());
	unlink(path);
	pm = perfmap__new(path, 0);
	cr_assert_not_null(pm);
	cr_assert_eq(perfmap__refresh(pm), -ENOENT);
	f = fopen(path, "w");
	fputs("1000 10 one\n2000 10 tw", f);
	fclose(f);
	cr_assert_eq(perfmap__refresh(pm), 1);
	cr_assert_eq(perfmap__count(pm), 1);
	cr_assert_eq(perfmap__refresh(pm), 0);
	f = fopen(path, "a");
	fputs("o\n", f);
	fclose(f);
	cr_assert_eq(perfmap__refresh(pm), 1);
	expect(pm, 0x2001, "two");
	/* Rewritten shorter: read again from the start. */
	f = fopen(path, "w");
	fputs("3000 10 x\n", f);
	fclose(f);
	cr_assert_eq(perfmap__refresh(pm), 1);
	cr_assert_eq(perfmap__count(pm), 1);
	expect(pm, 0x1001, NULL);
	expect(pm, 0x3001, "x");
	perfmap__free(pm);
	unlink(path);
}

static void unlink_map(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	unlink(path);
}

Test(perfmap, live_jit_process)
{
	struct symbolizer_opts o = {.sz = sizeof(o)};
	struct symbolizer *s = symbolizer__new(&o);
	struct symbolizer_stats st;
	char module[64];
	struct sym_result r;
	uint64_t answer, second;
	struct child c;

	cr_assert_not_null(s);
	child_start(&c, "jitfix");
	snprintf(module, sizeof(module), "[perf-%d.map]", (int)c.pid);
	answer = child_addr(&c, "jitfix_answer");

	cr_assert_eq(symbolizer__resolve_user(s, c.pid, answer + 3, &r), 0);
	cr_assert_str_eq(r.module, module);
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "jitfix_answer");
	cr_assert_eq(r.frames[0].sym_offset, 3);
	cr_assert_eq(r.rel_addr, answer + 3);
	cr_assert(r.map_start <= answer && answer < r.map_end);
	/* Past the function's size: anonymous memory, no name. */
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, answer + 0x200, &r), 0);
	cr_assert_str_eq(r.module, "//anon");
	cr_assert_eq(r.nframes, 0);

	/* The JIT appends: the new function is found by re-reading. */
	child_send(&c, "more");
	second = child_addr(&c, "jitfix_second");
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, second + 1, &r), 0);
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "jitfix_second");
	cr_assert_str_eq(r.module, module);
	symbolizer__stats(s, &st);
	cr_assert_eq(st.jit_resolved, 2);
	cr_assert_eq(st.perfmap_reads, 2);
	cr_assert_eq(st.unresolved, 1);
	child_stop(&c);
	unlink_map(c.pid);
	symbolizer__free(s);
}

/*
 * A perf map that does not fit max_bytes beside its PID's maps: dropped,
 * counted, never read again; JIT addresses stay anonymous.
 */
Test(perfmap, byte_budget_drops_a_map_too_big_for_it)
{
	struct symbolizer_opts o = {.sz = sizeof(o)};
	struct symbolizer *s = symbolizer__new(&o);
	struct symbolizer_stats st;
	uint64_t answer, maps, with_map;
	struct sym_result r;
	struct child c;

	cr_assert_not_null(s);
	child_start(&c, "jitfix");
	answer = child_addr(&c, "jitfix_answer");
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, 0x10, &r), 0);
	symbolizer__stats(s, &st);
	maps = st.bytes;
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, answer + 3, &r), 0);
	cr_assert_str_eq(r.frames[0].name, "jitfix_answer");
	symbolizer__stats(s, &st);
	with_map = st.bytes;
	cr_assert_gt(with_map, maps);
	symbolizer__free(s);

	o.max_bytes = with_map - 1;
	s = symbolizer__new(&o);
	cr_assert_not_null(s);
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, answer + 3, &r), 0);
	cr_assert_str_eq(r.module, "//anon");
	cr_assert_eq(r.nframes, 0);
	child_send(&c, "more");
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, child_addr(&c, "jitfix_second") + 1, &r),
		     0);
	cr_assert_eq(r.nframes, 0);
	symbolizer__stats(s, &st);
	cr_assert_eq(st.oversized, 1);
	cr_assert_eq(st.perfmap_reads, 1);
	cr_assert_eq(st.jit_resolved, 0);
	cr_assert_eq(st.budget_evictions, 0);
	cr_assert_leq(st.bytes, o.max_bytes);
	child_stop(&c);
	unlink_map(c.pid);
	symbolizer__free(s);
}

Test(perfmap, nspid_names_the_map)
{
	char status[4096], *p;
	char *text = read_file("/proc/self/status", NULL);

	/* Our own namespace: NSpid is our PID, which the live test relies on. */
	cr_assert_not_null(text);
	p = strstr(text, "NSpid:");
	cr_assert_not_null(p, "kernel without NSpid");
	snprintf(status, sizeof(status), "%s", p + 6);
	cr_assert_eq(strtol(status, NULL, 10), getpid());
	free(text);
}

/*
 * Replace the live child's /tmp/perf-PID.map by @how ("symlink" to a
 * root-only file, "owner" a copy owned by nobody, "writable" a copy any
 * user may write), each naming the JIT function "planted"; the
 * symbolizer must not believe it.
 */
static void planted_map_refused(const char *how)
{
	struct symbolizer_opts o = {.sz = sizeof(o)};
	struct symbolizer *s = symbolizer__new(&o);
	struct symbolizer_stats st;
	char map[64], secret[PATH_MAX], line[128];
	struct sym_result r;
	uint64_t answer;
	struct child c;
	FILE *f;

	cr_assert_not_null(s);
	child_start(&c, "jitfix");
	answer = child_addr(&c, "jitfix_answer");
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", (int)c.pid);
	snprintf(line, sizeof(line), "%" PRIx64 " 100 planted\n", answer);
	snprintf(secret, sizeof(secret), "%s/secret-%s", test_tmpdir(), how);
	f = fopen(secret, "w");
	cr_assert_not_null(f);
	fputs(line, f);
	fclose(f);
	cr_assert_eq(unlink(map), 0);
	if (!strcmp(how, "symlink")) {
		cr_assert_eq(chmod(secret, 0600), 0);
		cr_assert_eq(symlink(secret, map), 0);
	} else {
		cr_assert_eq(rename(secret, map), 0);
		if (!strcmp(how, "owner"))
			cr_assert_eq(chown(map, 65534, 65534), 0);
		else
			cr_assert_eq(chmod(map, 0666), 0);
	}
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, answer + 3, &r), 0);
	cr_assert_eq(r.nframes, 0, "named %s from a planted map", r.frames[0].name);
	cr_assert_str_eq(r.module, "//anon");
	symbolizer__stats(s, &st);
	cr_assert_eq(st.perfmap_refused, 1);
	cr_assert_eq(st.jit_resolved, 0);
	child_stop(&c);
	unlink_map(c.pid);
	symbolizer__free(s);
}

Test(perfmap, symlink_to_root_only_file_refused)
{
	planted_map_refused("symlink");
}

Test(perfmap, map_of_another_user_refused)
{
	planted_map_refused("owner");
}

Test(perfmap, world_writable_map_refused)
{
	planted_map_refused("writable");
}

/* A sparse 1 TiB map: its first line is used, and at most the cap is read. */
Test(perfmap, sparse_terabyte_map_capped, .timeout = 60)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .perfmap_max_bytes = 64u << 20};
	struct symbolizer *s = symbolizer__new(&o);
	char map[64], line[128];
	struct sym_result r;
	uint64_t answer;
	struct child c;
	double t0;
	FILE *f;

	cr_assert_not_null(s);
	child_start(&c, "jitfix");
	answer = child_addr(&c, "jitfix_answer");
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", (int)c.pid);
	snprintf(line, sizeof(line), "%" PRIx64 " 100 jitfix_answer\n", answer);
	f = fopen(map, "w");
	cr_assert_not_null(f);
	fputs(line, f);
	cr_assert_eq(ftruncate(fileno(f), 1ll << 40), 0);
	fclose(f);
	t0 = now_s();
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, answer + 3, &r), 0);
	cr_assert_eq(r.nframes, 1);
	cr_assert_str_eq(r.frames[0].name, "jitfix_answer");
	/* 64 MiB of zeros, not a terabyte (hours at ~130 MB/s). */
	cr_assert_lt(now_s() - t0, 20.0);
	/* A miss reads nothing more: the cap is for the map's whole life. */
	t0 = now_s();
	cr_assert_eq(symbolizer__resolve_user(s, c.pid, answer + 0x200, &r), 0);
	cr_assert_eq(r.nframes, 0);
	cr_assert_lt(now_s() - t0, 1.0);
	child_stop(&c);
	unlink_map(c.pid);
	symbolizer__free(s);
}

static bool always_stopping(void)
{
	return true;
}

/* SIGINT during a huge read: the read stops within a few MiB, for good. */
Test(perfmap, stop_cuts_a_long_read)
{
	struct perfmap_opts o = {.sz = sizeof(o), .stopping = always_stopping};
	char path[PATH_MAX];
	struct perfmap *pm;
	FILE *f;

	snprintf(path, sizeof(path), "%s/perf-sparse.map", test_tmpdir());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("1000 10 first\n", f);
	cr_assert_eq(ftruncate(fileno(f), 1ll << 40), 0);
	fclose(f);
	pm = perfmap__new_opts(path, &o);
	cr_assert_not_null(pm);
	cr_assert_geq(perfmap__refresh(pm), 0);
	/* Stopping is looked at after 4 MiB: one chunk of 1 MiB more at most. */
	cr_assert_eq(perfmap__bytes_read(pm), 4u << 20);
	cr_assert(perfmap__truncated(pm));
	expect(pm, 0x1001, "first");
	cr_assert_eq(perfmap__refresh(pm), 0);
	cr_assert_eq(perfmap__bytes_read(pm), 4u << 20);
	perfmap__free(pm);
	unlink(path);
}

/* A symlink in the target's root resolves inside it, not on our tree. */
Test(perfmap, paths_resolve_inside_the_root)
{
	struct perfmap_opts o = {.sz = sizeof(o)};
	char root[PATH_MAX], host[PATH_MAX], p[PATH_MAX + 32];
	struct perfmap *pm;
	FILE *f;

	snprintf(root, sizeof(root), "%s/root", test_tmpdir());
	/* Not under /tmp, which would loop back through root/tmp itself. */
	snprintf(host, sizeof(host), "/var/tmp/sonde-perfmap-%d", (int)getpid());
	cr_assert_eq(mkdir(root, 0755) | mkdir(host, 0755), 0);
	snprintf(p, sizeof(p), "%s/perf-1.map", host);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs("1000 10 host_secret\n", f);
	fclose(f);
	/* root/tmp -> the host directory, by absolute path. */
	snprintf(p, sizeof(p), "%s/tmp", root);
	cr_assert_eq(symlink(host, p), 0);
	o.root = root;
	pm = perfmap__new_opts("/tmp/perf-1.map", &o);
	cr_assert_not_null(pm);
	/* root/var/tmp/... does not exist; the host's file is never read. */
	cr_assert_eq(perfmap__refresh(pm), -ENOENT);
	cr_assert_eq(perfmap__count(pm), 0);
	perfmap__free(pm);
	snprintf(p, sizeof(p), "%s/perf-1.map", host);
	unlink(p);
	rmdir(host);
}
