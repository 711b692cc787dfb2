// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "export/folded.h"

static uint32_t loc(struct profile *p, const char *module, uint64_t addr, const char *fn,
		    uint32_t flags)
{
	struct profile_location l = {.module = module, .address = addr, .flags = flags};
	int id;

	if (fn) {
		l.nlines = 1;
		l.lines[0].function = fn;
	}
	id = profile__intern_location(p, &l);
	cr_assert_geq(id, 0);
	return id;
}

Test(export_folded, exact_text_merged_sorted_and_sanitized)
{
	struct profile *p = profile__new();
	uint32_t main_l = loc(p, "/bin/app", 0x10, "main", 0);
	uint32_t work = loc(p, "/bin/app", 0x20, "work", 0);
	uint32_t sys = loc(p, "[kernel.kallsyms]", 0xffffffff81000000ull, "do_syscall_64",
			   PROFILE_LOC_KERNEL);
	uint32_t anon = loc(p, "/lib/x86_64-linux-gnu/libc.so.6", 0x1f00, NULL, 0);
	uint32_t unk = loc(p, NULL, 0xdead, NULL, 0);
	uint32_t tmpl = loc(p, "/bin/app", 0x30, "ns::f<a;b>", 0);
	uint32_t nl = loc(p, "/bin/app", 0x40, "bad\nna\tme", 0);
	uint32_t s1[] = {main_l, work}, s2[] = {main_l}, s3[] = {main_l, work, sys};
	uint32_t s4[] = {anon, unk}, s5[] = {tmpl, nl};
	char *out;

	cr_assert_eq(profile__add(p, 1, "app", s1, 2, 3), 0);
	cr_assert_eq(profile__add(p, 2, "app", s1, 2, 2), 0); /* other pid: same line */
	cr_assert_eq(profile__add(p, 1, "app", s2, 1, 1), 0);
	cr_assert_eq(profile__add(p, 1, "app", s3, 3, 4), 0);
	cr_assert_eq(profile__add(p, 3, "zed", s4, 2, 2), 0);
	cr_assert_eq(profile__add(p, 3, "my;comm", s5, 2, 6), 0);
	cr_assert_eq(profile__add(p, 4, "idle", NULL, 0, 0), 0); /* no samples: no line */

	out = folded_text(p);
	cr_assert_str_eq(out, "app;main 1\n"
			      "app;main;work 5\n"
			      "app;main;work;do_syscall_64_[k] 4\n"
			      "my:comm;ns::f<a:b>;bad na me 6\n"
			      "zed;[libc.so.6];[unknown] 2\n");
	free(out);
	profile__free(p);
}

Test(export_folded, inlined_frames_expand_outermost_first)
{
	struct profile *p = profile__new();
	struct profile_location l = {.module = "/bin/app", .address = 0x50, .nlines = 2};
	uint32_t id;
	char *out;

	l.lines[0].function = "inl";
	l.lines[0].inlined = 1;
	l.lines[1].function = "outer";
	id = profile__intern_location(p, &l);
	cr_assert_eq(profile__add(p, 9, "app", &id, 1, 7), 0);
	out = folded_text(p);
	cr_assert_str_eq(out, "app;outer;inl_[i] 7\n");
	free(out);
	profile__free(p);
}

Test(export_folded, same_frames_from_different_locations_merge)
{
	struct profile *p = profile__new();
	/* Two addresses in one function: the folded line cannot tell them apart. */
	uint32_t a = loc(p, "/bin/app", 0x10, "spin", 0);
	uint32_t b = loc(p, "/bin/app", 0x14, "spin", 0);
	char *out;

	cr_assert_eq(profile__add(p, 1, "app", &a, 1, 2), 0);
	cr_assert_eq(profile__add(p, 1, "app", &b, 1, 3), 0);
	cr_assert_eq(profile__stack_count(p), 2);
	out = folded_text(p);
	cr_assert_str_eq(out, "app;spin 5\n");
	free(out);
	profile__free(p);
}

/* The tid is a label of the stack, never a frame: threads merge into one line. */
Test(export_folded, threads_of_a_process_merge)
{
	struct profile *p = profile__new();
	uint32_t a = loc(p, "/bin/app", 0x10, "spin", 0);
	char *out;

	cr_assert_eq(profile__add_thread(p, 1, 1, "app", &a, 1, 2), 0);
	cr_assert_eq(profile__add_thread(p, 1, 2, "app", &a, 1, 3), 0);
	cr_assert_eq(profile__stack_count(p), 2);
	out = folded_text(p);
	cr_assert_str_eq(out, "app;spin 5\n");
	free(out);
	profile__free(p);
}

Test(export_folded, empty_profile_writes_nothing)
{
	struct profile *p = profile__new();
	char *out = folded_text(p);

	cr_assert_str_eq(out, "");
	free(out);
	profile__free(p);
}

/* A write error is the write's errno: EBADF on a read-only stream, ENOSPC on a full disk. */
Test(export_folded, write_error_is_reported)
{
	struct profile *p = profile__new();
	uint32_t a = loc(p, "/bin/app", 0x10, "spin", 0);
	FILE *f = fopen("/dev/null", "r");

	cr_assert_not_null(f);
	cr_assert_eq(profile__add(p, 1, "app", &a, 1, 2), 0);
	cr_assert_eq(folded__write(p, f), -EBADF);
	fclose(f);
	f = fopen("/dev/full", "w");
	cr_assert_not_null(f);
	cr_assert_eq(folded__write(p, f), -ENOSPC);
	fclose(f);
	f = fopen("/dev/full", "w");
	cr_assert_not_null(f);
	cr_assert_eq(folded_diff__write(p, p, f, false), -ENOSPC);
	fclose(f);
	profile__free(p);
}

/* difffolded.pl's format: every stack of either side with both counts. */
Test(export_folded, diff_two_counts_raw_and_normalized)
{
	struct profile *before = profile__new(), *after = profile__new();
	uint32_t a0 = loc(before, "/bin/app", 0x10, "a", 0),
		 b0 = loc(before, "/bin/app", 0x20, "b", 0);
	uint32_t a1 = loc(after, "/bin/app", 0x10, "a", 0),
		 c1 = loc(after, "/bin/app", 0x30, "c", 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(profile__add(before, 1, "app", &a0, 1, 30), 0);
	cr_assert_eq(profile__add(before, 1, "app", &b0, 1, 10), 0);
	cr_assert_eq(profile__add(after, 2, "app", &a1, 1, 100), 0);
	cr_assert_eq(profile__add(after, 2, "app", &c1, 1, 300), 0);
	f = open_memstream(&buf, &len);
	cr_assert_eq(folded_diff__write(before, after, f, false), 0);
	fclose(f);
	cr_assert_str_eq(buf, "app;a 30 100\napp;b 10 0\napp;c 0 300\n");
	free(buf);
	/* -n: BEFORE scaled to AFTER's 400 samples (x10). */
	f = open_memstream(&buf, &len);
	cr_assert_eq(folded_diff__write(before, after, f, true), 0);
	fclose(f);
	cr_assert_str_eq(buf, "app;a 300 100\napp;b 100 0\napp;c 0 300\n");
	free(buf);
	profile__free(before);
	profile__free(after);
}
