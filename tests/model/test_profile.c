// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "model/profile.h"

static struct profile_location user_loc(const char *module, uint64_t addr, const char *fn)
{
	struct profile_location l = {.module = module, .address = addr};

	if (fn) {
		l.nlines = 1;
		l.lines[0].function = fn;
	}
	return l;
}

Test(profile, same_location_same_id_and_strings_copied)
{
	struct profile *p = profile__new();
	char mod[] = "/usr/bin/app", fn[] = "main";
	struct profile_location a = user_loc(mod, 0x1130, fn);
	struct profile_location b = user_loc("/usr/bin/app", 0x1130, "main");
	struct profile_location c = user_loc("/usr/bin/app", 0x1140, "main");
	const struct profile_location *got;

	cr_assert_not_null(p);
	cr_assert_eq(profile__intern_location(p, &a), 0);
	cr_assert_eq(profile__intern_location(p, &b), 0);
	cr_assert_eq(profile__intern_location(p, &c), 1);
	cr_assert_eq(profile__location_count(p), 2);

	got = profile__location(p, 0);
	cr_assert_neq(got->module, mod);
	cr_assert_neq(got->lines[0].function, fn);
	mod[1] = 'X';
	fn[0] = 'X';
	cr_assert_str_eq(got->module, "/usr/bin/app");
	cr_assert_str_eq(got->lines[0].function, "main");
	cr_assert_eq(got->address, 0x1130);
	/* Equal strings are stored once. */
	cr_assert_eq(profile__location(p, 1)->module, got->module);
	cr_assert_eq(profile__location(p, 1)->lines[0].function, got->lines[0].function);
	cr_assert_null(profile__location(p, 2));
	profile__free(p);
	profile__free(NULL);
}

Test(profile, every_field_is_part_of_the_key)
{
	struct profile *p = profile__new();
	struct profile_location base = user_loc("/bin/x", 0x10, "f"), l;

	base.lines[0].file = "x.c";
	base.lines[0].line = 3;
	cr_assert_eq(profile__intern_location(p, &base), 0);

	l = base;
	l.lines[0].line = 4;
	cr_assert_eq(profile__intern_location(p, &l), 1);
	l = base;
	l.lines[0].file = "y.c";
	cr_assert_eq(profile__intern_location(p, &l), 2);
	l = base;
	l.lines[0].file = NULL;
	cr_assert_eq(profile__intern_location(p, &l), 3);
	l = base;
	l.flags = PROFILE_LOC_KERNEL;
	cr_assert_eq(profile__intern_location(p, &l), 4);
	l = base;
	l.build_id = "abcd";
	cr_assert_eq(profile__intern_location(p, &l), 5);
	l = base;
	l.map_start = 0x1000;
	cr_assert_eq(profile__intern_location(p, &l), 6);
	l = base;
	l.nlines = 2;
	l.lines[1] = l.lines[0];
	l.lines[0].inlined = 1;
	cr_assert_eq(profile__intern_location(p, &l), 7);
	/* Garbage in unused lines[] must not split equal locations. */
	l = base;
	l.lines[3].function = "junk";
	l.lines[3].line = 99;
	cr_assert_eq(profile__intern_location(p, &l), 0);
	cr_assert_eq(profile__location_count(p), 8);

	l = base;
	l.nlines = PROFILE_MAX_LINES + 1;
	cr_assert_eq(profile__intern_location(p, &l), -EINVAL);
	profile__free(p);
}

Test(profile, stacks_merge_by_pid_comm_and_locations)
{
	struct profile *p = profile__new();
	struct profile_location a = user_loc("/bin/x", 0x10, "a");
	struct profile_location b = user_loc("/bin/x", 0x20, "b");
	uint32_t ab[2], ba[2];
	char comm[] = "worker";
	const struct profile_stack *st;

	ab[0] = ba[1] = profile__intern_location(p, &a);
	ab[1] = ba[0] = profile__intern_location(p, &b);

	cr_assert_eq(profile__add(p, 100, comm, ab, 2, 3), 0);
	cr_assert_eq(profile__add(p, 100, "worker", ab, 2, 4), 0);
	cr_assert_eq(profile__add(p, 101, "worker", ab, 2, 5), 0);
	cr_assert_eq(profile__add(p, 100, "other", ab, 2, 1), 0);
	cr_assert_eq(profile__add(p, 100, "worker", ba, 2, 2), 0);
	cr_assert_eq(profile__add(p, 100, "worker", ab, 1, 10), 0);
	cr_assert_eq(profile__add(p, 100, NULL, NULL, 0, 1), 0);

	cr_assert_eq(profile__stack_count(p), 6);
	cr_assert_eq(profile__total(p), 26);
	st = profile__stack(p, 0);
	cr_assert_eq(st->pid, 100);
	cr_assert_eq(st->count, 7);
	cr_assert_eq(st->n, 2);
	cr_assert_eq(st->locs[0], ab[0]);
	cr_assert_eq(st->locs[1], ab[1]);
	comm[0] = 'X';
	cr_assert_str_eq(st->comm, "worker");
	cr_assert_eq(profile__stack(p, 1)->count, 5);
	cr_assert_str_eq(profile__stack(p, 2)->comm, "other");
	cr_assert_eq(profile__stack(p, 3)->locs[0], ba[0]);
	cr_assert_eq(profile__stack(p, 4)->n, 1);
	cr_assert_eq(profile__stack(p, 4)->count, 10);
	cr_assert_str_eq(profile__stack(p, 5)->comm, "[unknown]");
	cr_assert_eq(profile__stack(p, 5)->n, 0);
	cr_assert_null(profile__stack(p, 6));
	profile__free(p);
}

Test(profile, add_rejects_unknown_location_ids)
{
	struct profile *p = profile__new();
	uint32_t bad[] = {0};

	cr_assert_eq(profile__add(p, 1, "x", bad, 1, 1), -EINVAL);
	cr_assert_eq(profile__stack_count(p), 0);
	cr_assert_eq(profile__total(p), 0);
	profile__free(p);
}

Test(profile, metadata)
{
	struct profile *p = profile__new();

	cr_assert_eq(profile__period_ns(p), 0);
	profile__set_period_ns(p, 10101010);
	profile__set_time(p, 1700000000000000000ull, 5000000000ull);
	cr_assert_eq(profile__period_ns(p), 10101010);
	cr_assert_eq(profile__start_unix_ns(p), 1700000000000000000ull);
	cr_assert_eq(profile__duration_ns(p), 5000000000ull);
	profile__free(p);
}

Test(profile, frame_names)
{
	struct profile_location l = user_loc("/usr/lib/libc.so.6", 0x2a0f0, "memcpy");
	char buf[64];

	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "memcpy");
	l.flags = PROFILE_LOC_KERNEL;
	l.module = "[kernel.kallsyms]";
	l.lines[0].function = "do_syscall_64";
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "do_syscall_64_[k]");

	l = user_loc("/usr/bin/app", 0x1234, "helper");
	l.nlines = 2;
	l.lines[0].inlined = 1;
	l.lines[1].function = "caller";
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "helper_[i]");
	cr_assert_str_eq(profile__frame_name(&l, 1, buf, sizeof(buf)), "caller");

	l = user_loc("/usr/lib/x86_64-linux-gnu/libfoo.so.1", 0xbeef, NULL);
	/* One frame per module: the address is not in the name. */
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "[libfoo.so.1]");
	l.address = 0xbef0;
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "[libfoo.so.1]");
	/* A line without a function name is as good as no name. */
	l.nlines = 1;
	l.lines[0].file = "foo.c";
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "[libfoo.so.1]");

	/* A module already in brackets keeps its own. */
	l = user_loc("[kernel.kallsyms]", 0xffffffff81000010ull, NULL);
	l.flags = PROFILE_LOC_KERNEL;
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "[kernel.kallsyms]_[k]");
	l = user_loc("[vdso]", 0x7ff0, NULL);
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "[vdso]");
	l = user_loc("", 0x10, NULL);
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "[]");

	l = user_loc(NULL, 0x7f0000001000ull, NULL);
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, sizeof(buf)), "[unknown]");

	/* Truncates, never overflows. */
	l = user_loc("/bin/x", 0, "a_rather_long_function_name");
	cr_assert_str_eq(profile__frame_name(&l, 0, buf, 8), "a_rathe");
}

struct walk_log {
	char names[16][64];
	const struct profile_location *locs[16];
	uint32_t lis[16];
	int n;
	int stop_at;
};

static int log_frame(void *ctx, const char *name, const struct profile_location *loc, uint32_t li)
{
	struct walk_log *w = ctx;

	if (w->n == w->stop_at)
		return 42;
	snprintf(w->names[w->n], sizeof(w->names[0]), "%s", name);
	w->locs[w->n] = loc;
	w->lis[w->n] = li;
	w->n++;
	return 0;
}

Test(profile, walk_is_comm_then_root_to_leaf_with_inlines_outermost_first)
{
	struct profile *p = profile__new();
	struct profile_location main_l = user_loc("/bin/app", 0x100, "main");
	struct profile_location inl = user_loc("/bin/app", 0x200, "leaf_inline");
	struct profile_location unk = user_loc(NULL, 0x300, NULL);
	struct walk_log w = {.stop_at = -1};
	uint32_t locs[3];
	int ret;

	/* One address: leaf_inline inlined into mid_inline inlined into work. */
	inl.nlines = 3;
	inl.lines[0].inlined = 1;
	inl.lines[1].function = "mid_inline";
	inl.lines[1].inlined = 1;
	inl.lines[2].function = "work";
	locs[0] = profile__intern_location(p, &main_l);
	locs[1] = profile__intern_location(p, &inl);
	locs[2] = profile__intern_location(p, &unk);
	cr_assert_eq(profile__add(p, 7, "app", locs, 3, 1), 0);

	ret = profile__walk_frames(p, profile__stack(p, 0), log_frame, &w);
	cr_assert_eq(ret, 0);
	cr_assert_eq(w.n, 6);
	cr_assert_str_eq(w.names[0], "app");
	cr_assert_null(w.locs[0]);
	cr_assert_str_eq(w.names[1], "main");
	cr_assert_str_eq(w.names[2], "work");
	cr_assert_eq(w.lis[2], 2);
	cr_assert_str_eq(w.names[3], "mid_inline_[i]");
	cr_assert_eq(w.lis[3], 1);
	cr_assert_str_eq(w.names[4], "leaf_inline_[i]");
	cr_assert_eq(w.lis[4], 0);
	cr_assert_eq(w.locs[4], profile__location(p, locs[1]));
	cr_assert_str_eq(w.names[5], "[unknown]");
	cr_assert_eq(w.lis[5], 0);

	/* A callback's non-zero return stops the walk and is passed on. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	cr_assert_eq(profile__walk_frames(p, profile__stack(p, 0), log_frame, &w), 42);
	cr_assert_eq(w.n, 2);
	profile__free(p);
}

Test(profile, pointers_stay_valid_while_growing)
{
	struct profile *p = profile__new();
	struct profile_location l = user_loc("/bin/x", 0, "f");
	const struct profile_location *first;
	const struct profile_stack *st0;
	uint32_t id = 0;
	int i;

	cr_assert_eq(profile__intern_location(p, &l), 0);
	cr_assert_eq(profile__add(p, 1, "x", &id, 1, 1), 0);
	first = profile__location(p, 0);
	st0 = profile__stack(p, 0);
	for (i = 1; i < 20000; i++) {
		l.address = i;
		cr_assert_eq(profile__intern_location(p, &l), i);
		id = i;
		cr_assert_eq(profile__add(p, 1, "x", &id, 1, 1), 0);
	}
	cr_assert_eq(profile__location(p, 0), first);
	cr_assert_eq(profile__stack(p, 0), st0);
	cr_assert_eq(first->address, 0);
	cr_assert_eq(profile__stack(p, 19999)->locs[0], 19999);
	profile__free(p);
}

/* The record loop adds one stack per sample: a million must be cheap. */
Test(profile, million_adds_merge_into_distinct_stacks, .timeout = 60)
{
	struct profile *p = profile__new();
	struct profile_location l = user_loc("/bin/x", 0, "f");
	uint32_t locs[16];
	int i, j;

	for (i = 0; i < 1000; i++) {
		l.address = i;
		cr_assert_eq(profile__intern_location(p, &l), i);
	}
	for (i = 0; i < 1000000; i++) {
		unsigned int s = i % 5000;

		/* locs[0..1] make each s distinct; the rest is filler. */
		locs[0] = s % 1000;
		locs[1] = s / 1000;
		for (j = 2; j < 16; j++)
			locs[j] = (s * 31 + j * 17) % 1000;
		if (profile__add(p, 1000 + s % 3, "bench", locs, 16, 1))
			cr_assert_fail("add failed at %d", i);
	}
	cr_assert_eq(profile__stack_count(p), 5000);
	cr_assert_eq(profile__total(p), 1000000);
	cr_assert_eq(profile__stack(p, 4999)->count, 200);
	profile__free(p);
}

/* Threads of one process stay apart in the profile (pprof labels them by tid). */
Test(profile, threads_are_separate_stacks_with_their_tid)
{
	struct profile *p = profile__new();
	struct profile_location l = user_loc("/bin/x", 0x10, "f");
	uint32_t id;

	cr_assert_eq(profile__intern_location(p, &l), 0);
	id = 0;
	cr_assert_eq(profile__add_thread(p, 10, 10, "x", &id, 1, 2), 0);
	cr_assert_eq(profile__add_thread(p, 10, 11, "x", &id, 1, 3), 0);
	cr_assert_eq(profile__add_thread(p, 10, 11, "x", &id, 1, 4), 0);
	/* profile__add(): tid unknown (0), a stack of its own. */
	cr_assert_eq(profile__add(p, 10, "x", &id, 1, 5), 0);
	cr_assert_eq(profile__stack_count(p), 3);
	cr_assert_eq(profile__stack(p, 0)->tid, 10);
	cr_assert_eq(profile__stack(p, 0)->count, 2);
	cr_assert_eq(profile__stack(p, 1)->tid, 11);
	cr_assert_eq(profile__stack(p, 1)->count, 7);
	cr_assert_eq(profile__stack(p, 2)->tid, 0);
	cr_assert_eq(profile__stack(p, 2)->pid, 10);
	cr_assert_eq(profile__total(p), 14);
	profile__free(p);
}

/* Unnamed code of one module, calls deep, is one frame: "[liblzma.so.5]" once. */
Test(profile, walk_folds_a_run_of_one_modules_unnamed_frames)
{
	struct profile *p = profile__new();
	struct profile_location m = user_loc("/bin/xz", 0x10, "lzma_code");
	struct profile_location u1 = user_loc("/lib/liblzma.so.5", 0x100, NULL);
	struct profile_location u2 = user_loc("/lib/liblzma.so.5", 0x200, NULL);
	struct profile_location u3 = user_loc("/lib/liblzma.so.5", 0x300, NULL);
	struct profile_location c = user_loc("/lib/libc.so.6", 0x400, NULL);
	struct profile_location u4 = user_loc("/lib/liblzma.so.5", 0x500, NULL);
	struct walk_log w = {.stop_at = -1};
	uint32_t locs[6];

	locs[0] = profile__intern_location(p, &m);
	locs[1] = profile__intern_location(p, &u1);
	locs[2] = profile__intern_location(p, &u2);
	locs[3] = profile__intern_location(p, &u3);
	locs[4] = profile__intern_location(p, &c);
	locs[5] = profile__intern_location(p, &u4);
	cr_assert_eq(profile__add(p, 7, "xz", locs, 6, 1), 0);
	cr_assert_eq(profile__walk_frames(p, profile__stack(p, 0), log_frame, &w), 0);
	cr_assert_eq(w.n, 5);
	cr_assert_str_eq(w.names[1], "lzma_code");
	cr_assert_str_eq(w.names[2], "[liblzma.so.5]");
	/* The innermost address of the run stands for it. */
	cr_assert_eq(w.locs[2]->address, 0x300);
	cr_assert_str_eq(w.names[3], "[libc.so.6]");
	/* Another module in between: a new frame. */
	cr_assert_str_eq(w.names[4], "[liblzma.so.5]");
	cr_assert_eq(w.locs[4]->address, 0x500);
	profile__free(p);
}

/*
 * Sample types: a new profile has samples/count; the first type declared
 * before any value replaces it; declaring again returns the same index;
 * profile__add() is type 0; values per type and totals; extract keeps
 * location ids and only the stacks with that type.
 */
Test(profile, sample_types_and_extract)
{
	struct profile *p = profile__new(), *q;
	struct profile_location a = user_loc("/bin/x", 0x10, "sleep_fn");
	struct profile_location b = user_loc("/bin/x", 0x20, "spin_fn");
	uint32_t la, lb;
	int off, cpu, s1, s2;

	cr_assert_not_null(p);
	cr_assert_eq(profile__type_count(p), 1);
	cr_assert_str_eq(profile__type(p, 0)->type, "samples");
	cr_assert_str_eq(profile__type(p, 0)->unit, "count");
	cr_assert_eq(profile__add_type(p, "off_cpu", "nanoseconds"), 0);
	cr_assert_eq(profile__type_count(p), 1);
	cr_assert_eq(profile__add_type(p, "samples", "count"), 1);
	cr_assert_eq(profile__add_type(p, "off_cpu", "nanoseconds"), 0);
	cr_assert_eq(profile__add_type(p, "off_cpu", "bytes"), -EEXIST);
	cr_assert_eq(profile__type_index(p, "samples"), 1);
	cr_assert_eq(profile__type_index(p, "nope"), -ENOENT);
	off = 0;
	cpu = 1;
	la = profile__intern_location(p, &a);
	lb = profile__intern_location(p, &b);

	s1 = profile__add_value(p, off, 7, "app", &la, 1, 2000000000);
	cr_assert_geq(s1, 0);
	cr_assert_eq(profile__add(p, 7, "app", &la, 1, 500000000), 0);
	s2 = profile__add_value(p, cpu, 7, "app", &lb, 1, 99);
	cr_assert_eq(s2, 1);
	cr_assert_eq(profile__add_value(p, cpu, 7, "app", &la, 1, 1), s1);
	cr_assert_eq(profile__stack_add(p, s2, cpu, 1), 0);
	cr_assert_eq(profile__stack_add(p, s2, 5, 1), -EINVAL);
	cr_assert_eq(profile__stack_add(p, 9, cpu, 1), -EINVAL);
	cr_assert_eq(profile__add_value(p, 5, 7, "app", &la, 1, 1), -EINVAL);
	cr_expect_eq(profile__stack(p, s1)->values[off], 2500000000ull);
	cr_expect_eq(profile__stack(p, s1)->count, 2500000000ull);
	cr_expect_eq(profile__stack(p, s1)->values[cpu], 1);
	cr_expect_eq(profile__stack(p, s2)->values[cpu], 100);
	cr_expect_eq(profile__stack(p, s2)->values[off], 0);
	cr_expect_eq(profile__total(p), 2500000000ull);
	cr_expect_eq(profile__type_total(p, off), 2500000000ull);
	cr_expect_eq(profile__type_total(p, cpu), 101);
	cr_expect_eq(profile__type_total(p, 7), 0);
	/* Once values exist, a new type is appended, not swapped in. */
	cr_assert_eq(profile__add_type(p, "alloc_space", "bytes"), 2);
	for (int i = 3; i < PROFILE_MAX_TYPES; i++) {
		char name[16];

		snprintf(name, sizeof(name), "t%d", i);
		cr_assert_eq(profile__add_type(p, name, "count"), i);
	}
	cr_assert_eq(profile__add_type(p, "one_too_many", "count"), -E2BIG);

	profile__set_period_ns(p, 10101010);
	profile__set_time(p, 5, 6);
	q = profile__extract(p, cpu);
	cr_assert_not_null(q);
	cr_expect_eq(profile__type_count(q), 1);
	cr_expect_str_eq(profile__type(q, 0)->type, "samples");
	cr_expect_eq(profile__location_count(q), 2);
	cr_expect_str_eq(profile__location(q, lb)->lines[0].function, "spin_fn");
	cr_expect_eq(profile__stack_count(q), 2);
	cr_expect_eq(profile__total(q), 101);
	cr_expect_eq(profile__period_ns(q), 0, "the period belongs to type 0 of @p");
	cr_expect_eq(profile__start_unix_ns(q), 5);
	cr_expect_eq(profile__duration_ns(q), 6);
	profile__free(q);
	q = profile__extract(p, 2);
	cr_assert_not_null(q);
	cr_expect_eq(profile__stack_count(q), 0, "no stack has alloc_space");
	profile__free(q);
	cr_expect_null(profile__extract(p, PROFILE_MAX_TYPES));
	q = profile__extract(p, off);
	cr_expect_eq(profile__stack_count(q), 1);
	cr_expect_eq(profile__period_ns(q), 10101010);
	profile__free(q);
	profile__free(p);
}

static bool keep_pid_7(void *ctx, const struct profile_stack *st)
{
	(void)ctx;
	return st->pid == 7;
}

/* One service's window: its stacks, threads and types, only its locations. */
Test(profile, filter_keeps_chosen_stacks_whole)
{
	struct profile *p = profile__new(), *q;
	struct profile_location a = {.module = "/bin/a", .address = 0x10}, b = a, c = a;
	uint32_t s1[2], s2[1];
	int off;

	b.address = 0x20;
	c.address = 0x30;
	cr_assert_not_null(p);
	cr_assert_eq(profile__add_type(p, "samples", "count"), 0);
	off = profile__add_type(p, "off_cpu", "nanoseconds");
	cr_assert_eq(off, 1);
	s1[0] = (uint32_t)profile__intern_location(p, &a);
	s1[1] = (uint32_t)profile__intern_location(p, &b);
	s2[0] = (uint32_t)profile__intern_location(p, &c);
	profile__set_period_ns(p, 10101010);
	profile__set_time(p, 1000, 60);
	cr_assert_geq(profile__add_thread_value(p, 0, 7, 70, "seven", s1, 2, 5), 0);
	cr_assert_geq(profile__add_thread_value(p, 1, 7, 71, "seven", s1, 2, 900), 0);
	cr_assert_geq(profile__add_thread_value(p, 0, 8, 80, "eight", s2, 1, 3), 0);

	q = profile__filter(p, keep_pid_7, NULL);
	cr_assert_not_null(q);
	cr_assert_eq(profile__type_count(q), 2);
	cr_assert_str_eq(profile__type(q, 1)->type, "off_cpu");
	cr_assert_eq(profile__stack_count(q), 2, "threads 70 and 71 stay apart");
	cr_assert_eq(profile__location_count(q), 2, "pid 8's location is left out");
	cr_assert_eq(profile__type_total(q, 0), 5);
	cr_assert_eq(profile__type_total(q, 1), 900);
	cr_assert_eq(profile__period_ns(q), 10101010);
	cr_assert_eq(profile__start_unix_ns(q), 1000);
	cr_assert_eq(profile__duration_ns(q), 60);
	for (size_t i = 0; i < profile__stack_count(q); i++) {
		const struct profile_stack *st = profile__stack(q, i);

		cr_assert_eq(st->pid, 7);
		cr_assert_str_eq(st->comm, "seven");
		cr_assert(st->tid == 70 || st->tid == 71);
		cr_assert_eq(profile__location(q, st->locs[1])->address, 0x20);
	}
	profile__free(q);
	profile__free(p);
}

/* Windows merged back into one: types by name, locations anew, calls and threads kept. */
Test(profile, merge_adds_by_type_name_and_covers_both_times)
{
	struct profile *a = profile__new(), *b = profile__new(), *m = profile__new();
	struct profile_location x = {.module = "/bin/a", .address = 0x10}, y = x;
	struct profile_key k = {.pid = 7, .tid = 71, .comm = "seven", .span_id = 0xabc,
				.trace_id_hi = 1, .trace_id_lo = 2, .function = "work"};
	uint32_t sa[2], sb[1];

	y.address = 0x20;
	cr_assert(a && b && m);
	cr_assert_eq(profile__add_type(a, "samples", "count"), 0);
	cr_assert_eq(profile__add_type(a, "off_cpu", "nanoseconds"), 1);
	sa[0] = (uint32_t)profile__intern_location(a, &x);
	sa[1] = (uint32_t)profile__intern_location(a, &y);
	profile__set_period_ns(a, 2000000);
	profile__set_time(a, 1000, 500);
	cr_assert_geq(profile__add_thread_value(a, 0, 7, 70, "seven", sa, 2, 5), 0);
	cr_assert_geq(profile__add_keyed(a, 1, &k, sa, 2, 900), 0);
	/* b: off_cpu only, at index 0; y alone. */
	cr_assert_eq(profile__add_type(b, "off_cpu", "nanoseconds"), 0);
	sb[0] = (uint32_t)profile__intern_location(b, &y);
	profile__set_time(b, 1500, 700);
	cr_assert_geq(profile__add_thread_value(b, 0, 7, 70, "seven", sb, 1, 100), 0);

	cr_assert_eq(profile__merge(m, a), 0);
	cr_assert_eq(profile__merge(m, b), 0);
	cr_assert_eq(profile__type_count(m), 2);
	cr_assert_str_eq(profile__type(m, 0)->type, "samples");
	cr_assert_str_eq(profile__type(m, 1)->type, "off_cpu");
	cr_assert_eq(profile__type_total(m, 0), 5);
	cr_assert_eq(profile__type_total(m, 1), 1000);
	cr_assert_eq(profile__location_count(m), 2, "y is one location in both");
	cr_assert_eq(profile__stack_count(m), 3);
	cr_assert_eq(profile__period_ns(m), 2000000);
	cr_assert_eq(profile__start_unix_ns(m), 1000);
	cr_assert_eq(profile__duration_ns(m), 1200, "1000 to 2200");
	/* The call's stack keeps its span and function. */
	for (size_t i = 0; i < profile__stack_count(m); i++) {
		const struct profile_stack *st = profile__stack(m, i);

		if (st->values[1] == 900) {
			cr_assert_eq(st->span_id, 0xabc);
			cr_assert_eq(st->trace_id_lo, 2);
			cr_assert_str_eq(st->function, "work");
			cr_assert_eq(st->tid, 71);
		} else if (st->values[1] == 100) {
			cr_assert_eq(st->n, 1);
			cr_assert_eq(profile__location(m, st->locs[0])->address, 0x20);
			cr_assert_eq(st->span_id, 0);
		} else {
			cr_assert_eq(st->values[0], 5);
		}
	}
	/* Merging a again doubles it, into the same stacks. */
	cr_assert_eq(profile__merge(m, a), 0);
	cr_assert_eq(profile__stack_count(m), 3);
	cr_assert_eq(profile__type_total(m, 0), 10);
	cr_assert_eq(profile__type_total(m, 1), 1900);
	profile__free(a);
	profile__free(b);
	profile__free(m);
}

/* One stack into another profile: same key, locations anew, only the value given. */
Test(profile, add_stack_of_copies_one_stack_under_its_key)
{
	struct profile *a = profile__new(), *h = profile__new();
	struct profile_location x = {.module = "/bin/a", .address = 0x10}, y = x;
	struct profile_key k = {.pid = 7,
				.tid = 71,
				.comm = "seven",
				.span_id = 0xabc,
				.trace_id_hi = 1,
				.trace_id_lo = 2,
				.function = "work"};
	const struct profile_stack *st;
	uint32_t locs[2];
	int i, j;

	y.address = 0x20;
	cr_assert(a && h);
	cr_assert_eq(profile__add_type(a, "alloc_space", "bytes"), 0);
	cr_assert_eq(profile__add_type(h, "inuse_space", "bytes"), 0);
	cr_assert_eq(profile__add_type(h, "inuse_objects", "count"), 1);
	/* h's location ids differ from a's: y is interned first there. */
	cr_assert_eq(profile__intern_location(h, &y), 0);
	locs[0] = (uint32_t)profile__intern_location(a, &x);
	locs[1] = (uint32_t)profile__intern_location(a, &y);
	cr_assert_geq(profile__add_thread_value(a, 0, 8, 80, "eight", locs, 1, 5), 0);
	i = profile__add_keyed(a, 0, &k, locs, 2, 4000);
	cr_assert_eq(i, 1);

	j = profile__add_stack_of(h, 1, a, (size_t)i, 3);
	cr_assert_eq(j, 0);
	cr_assert_eq(profile__add_stack_of(h, 0, a, (size_t)i, 0), j,
		     "the same key: the same stack");
	cr_assert_eq(profile__stack_count(h), 1);
	cr_assert_eq(profile__location_count(h), 2);
	st = profile__stack(h, (size_t)j);
	cr_assert_eq(st->pid, 7);
	cr_assert_eq(st->tid, 71);
	cr_assert_str_eq(st->comm, "seven");
	cr_assert_eq(st->span_id, 0xabc);
	cr_assert_eq(st->trace_id_lo, 2);
	cr_assert_str_eq(st->function, "work");
	cr_assert_eq(st->n, 2);
	cr_assert_eq(profile__location(h, st->locs[0])->address, 0x10);
	cr_assert_eq(profile__location(h, st->locs[1])->address, 0x20);
	cr_assert_eq(st->values[0], 0, "a's values stay in a");
	cr_assert_eq(st->values[1], 3);
	cr_assert_eq(profile__add_stack_of(h, 0, a, 2, 1), -EINVAL);
	cr_assert_eq(profile__add_stack_of(h, 2, a, 0, 1), -EINVAL);
	cr_assert_eq(profile__stack_count(h), 1);
	profile__free(a);
	profile__free(h);
}
