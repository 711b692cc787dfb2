// SPDX-License-Identifier: MIT
/* Folded stacks back into a profile: ours round-trip, perf's and difffolded's read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "export/folded.h"
#include "export/folded_read.h"
#include "model/profile.h"

static struct profile *read_text(const char *text, struct folded_read_info *info)
{
	struct profile *p = profile__new();

	cr_assert_not_null(p);
	cr_assert_eq(folded__read(text, strlen(text), "test.folded", p, info), 0);
	return p;
}

/* Our own output, every kind of frame, reads back to the same text. */
Test(folded_read, our_output_round_trips)
{
	static const char text[] = "app;main 1\n"
				   "app;main;outer;mid_[i];leaf_[i] 9\n"
				   "app;main;work 5\n"
				   "app;main;work;do_syscall_64_[k];[kernel.kallsyms]_[k] 4\n"
				   "my:comm;ns::f<a:b>;bad na me 6\n"
				   "zed;[libc.so.6];[unknown] 2\n";
	struct folded_read_info info;
	struct profile *p = read_text(text, &info);
	char *again = folded_text(p);

	cr_assert_str_eq(again, text);
	cr_assert_eq(info.lines, 6);
	cr_assert_eq(info.samples, 27);
	cr_assert_eq(profile__total(p), 27);
	free(again);
	profile__free(p);
}

/* Frames become what the profile had: kinds, modules, one location per inline chain. */
Test(folded_read, frames_become_locations)
{
	struct folded_read_info info;
	struct profile *p = read_text("app;outer;inl_[i];sys_[k];[libz.so.1];[unknown] 3\n", &info);
	const struct profile_stack *st = profile__stack(p, 0);
	const struct profile_location *l;

	cr_assert_eq(profile__stack_count(p), 1);
	cr_assert_str_eq(st->comm, "app");
	cr_assert_eq(st->pid, 0);
	cr_assert_eq(st->count, 3);
	/* outer+inl is one location, innermost line first. */
	cr_assert_eq(st->n, 4);
	l = profile__location(p, st->locs[0]);
	cr_assert_eq(l->nlines, 2);
	cr_assert_str_eq(l->lines[0].function, "inl");
	cr_assert_eq(l->lines[0].inlined, 1);
	cr_assert_str_eq(l->lines[1].function, "outer");
	cr_assert_eq(l->lines[1].inlined, 0);
	l = profile__location(p, st->locs[1]);
	cr_assert_eq(l->flags, PROFILE_LOC_KERNEL);
	cr_assert_str_eq(l->lines[0].function, "sys");
	l = profile__location(p, st->locs[2]);
	cr_assert_eq(l->nlines, 0);
	cr_assert_str_eq(l->module, "libz.so.1");
	l = profile__location(p, st->locs[3]);
	cr_assert_eq(l->nlines, 0);
	cr_assert_null(l->module);
	profile__free(p);
}

/*
 * perf script report stackcollapse: comm first, "[unknown]" for unnamed
 * frames, no kernel suffix, CRLF tolerated, blank and '#' lines skipped;
 * merged by frames like our own stacks.
 */
Test(folded_read, perf_stackcollapse_output)
{
	static const char text[] = "# perf script report stackcollapse\n"
				   "\n"
				   "cpu_split;__libc_start_call_main;main;run;parent;heavy 749\r\n"
				   "cpu_split;__libc_start_call_main;main;run;parent;light 228\n"
				   "swapper;[unknown];secondary_startup_64;cpu_startup_entry 17\n"
				   "cpu_split;__libc_start_call_main;main;run;parent;heavy 1\n";
	struct folded_read_info info;
	struct profile *p = read_text(text, &info);
	char *again = folded_text(p);

	cr_assert_eq(info.lines, 4);
	cr_assert_eq(profile__total(p), 995);
	cr_assert_str_eq(again, "cpu_split;__libc_start_call_main;main;run;parent;heavy 750\n"
				"cpu_split;__libc_start_call_main;main;run;parent;light 228\n"
				"swapper;[unknown];secondary_startup_64;cpu_startup_entry 17\n");
	free(again);
	profile__free(p);
}

/* difffolded.pl's "stack BEFORE AFTER": AFTER is the profile, as flamegraph.pl draws it. */
Test(folded_read, two_counts_read_the_second)
{
	struct folded_read_info info;
	struct profile *p = read_text("app;a 10 3\napp;b 0 7\napp;gone 5 0\n", &info);
	char *again = folded_text(p);

	cr_assert_str_eq(again, "app;a 3\napp;b 7\n");
	cr_assert_eq(profile__total(p), 10);
	free(again);
	profile__free(p);
}

Test(folded_read, line_without_count_is_an_error)
{
	struct profile *p = profile__new();
	struct folded_read_info info;
	static const char text[] = "app;a 1\napp;b\n";

	cr_assert_eq(folded__read(text, strlen(text), "bad.folded", p, &info), -EINVAL);
	cr_assert_eq(folded__read("app;a 1x\n", 9, "bad.folded", p, &info), -EINVAL);
	cr_assert_eq(folded__read("app;a 99999999999999999999\n", 27, "big.folded", p, &info),
		     -EINVAL);
	profile__free(p);
}

/* Random bytes and mutated lines: an error or a profile, never a crash. */
Test(folded_read, mutated_text_never_crashes)
{
	static const char good[] = "app;main;outer;inl_[i];[libz.so];sys_[k] 9\nzed;[unknown] 2\n";
	char buf[sizeof(good)];
	uint32_t seed = 7;
	unsigned int ok = 0;

	for (int round = 0; round < 3000; round++) {
		struct folded_read_info info;
		struct profile *p = profile__new();
		size_t n = sizeof(good) - 1;
		int err;

		memcpy(buf, good, sizeof(good));
		for (int k = 0; k < 1 + round % 3; k++) {
			size_t at = lcg(&seed) % n;
			uint32_t r = lcg(&seed);

			/* Any byte, or one the format gives meaning to. */
			buf[at] = round % 2 ? (char)r : "[];_ \n0"[r % 8];
		}
		err = folded__read(buf, n, "mutated", p, &info);
		cr_assert(err == 0 || err == -EINVAL, "round %d: %d", round, err);
		if (!err) {
			char *text = folded_text(p);

			ok++;
			free(text);
		}
		profile__free(p);
	}
	cr_assert_gt(ok, 100);
}
