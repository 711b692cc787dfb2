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
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture_child.h"
#include "helpers.h"
#include "sonde/perfmap.h"
#include "sonde/symbolize.h"

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
