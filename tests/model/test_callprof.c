// SPDX-License-Identifier: MIT
/*
 * model/callprof: samples tagged with their probed call, counted per call
 * and filtered by --slower-than / --slowest when the call ends.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "model/callprof.h"
#include "model/profile.h"

#define MS 1000000ull

struct fix {
	struct profile *p;
	struct callprof *c;
	uint32_t loc_fast, loc_slow, loc_child;
};

static uint32_t loc(struct profile *p, uint64_t addr, const char *fn)
{
	struct profile_location l = {.module = "/app", .address = addr, .nlines = 1};
	int id;

	l.lines[0].function = fn;
	id = profile__intern_location(p, &l);
	cr_assert_geq(id, 0);
	return (uint32_t)id;
}

static void fix_init(struct fix *f, uint64_t slower_than_ns, unsigned int slowest)
{
	struct callprof_opts o = {
		.slower_than_ns = slower_than_ns,
		.slowest = slowest,
		.max_held = 1000,
		.max_open = 100,
		.ends = true,
	};

	f->p = profile__new();
	cr_assert_not_null(f->p);
	cr_assert_eq(profile__add_type(f->p, "samples", "count"), 0);
	f->loc_fast = loc(f->p, 0x1000, "fast_spin");
	f->loc_slow = loc(f->p, 0x2000, "slow_spin");
	f->loc_child = loc(f->p, 0x3000, "child");
	f->c = callprof__new(&o, f->p);
	cr_assert_not_null(f->c);
	cr_assert_eq(callprof__set_function(f->c, 0, "handle_request"), 0);
	cr_assert_eq(callprof__set_function(f->c, 1, "child"), 0);
}

static void fix_free(struct fix *f)
{
	callprof__free(f->c);
	profile__free(f->p);
}

/* @n samples of one count at leaf @leaf in span @span (0: outside) of function @fn. */
static void add(struct fix *f, uint64_t span, uint32_t fn, uint32_t leaf, int n)
{
	uint32_t locs[1] = {leaf};
	struct callprof_sample s = {
		.pid = 7,
		.tid = 8,
		.comm = "app",
		.span_id = span,
		.trace_id_hi = 0xaa,
		.trace_id_lo = span,
		.func_id = fn,
		.locs = locs,
		.n = 1,
		.nvals = 1,
		.types = {0},
		.values = {1},
	};
	int stack;

	for (int i = 0; i < n; i++)
		cr_assert_eq(callprof__add(f->c, &s, &stack), 0);
}

static struct callprof_totals end(struct fix *f, uint64_t span, uint64_t parent, uint64_t dur)
{
	struct callprof_end e = {span, parent, dur};
	struct callprof_totals t;

	cr_assert_eq(callprof__end(f->c, &e, &t), 0);
	return t;
}

/* Samples in the profile at leaf @leaf, and the span they are labelled with (0: several). */
static uint64_t in_profile(const struct fix *f, uint32_t leaf, uint64_t *span)
{
	uint64_t n = 0;

	*span = 0;
	for (size_t i = 0; i < profile__stack_count(f->p); i++) {
		const struct profile_stack *st = profile__stack(f->p, i);

		if (st->n != 1 || st->locs[0] != leaf)
			continue;
		n += st->count;
		*span = *span && *span != st->span_id ? UINT64_MAX : st->span_id;
	}
	return n;
}

Test(callprof, no_filter_counts_each_call_and_labels_its_samples)
{
	struct fix f;
	struct callprof_totals t;
	uint64_t span;

	fix_init(&f, 0, 0);
	add(&f, 0x11, 0, f.loc_fast, 3);
	add(&f, 0, 0, f.loc_child, 2);
	/* In the profile at once, labelled with their call and function. */
	cr_assert_eq(in_profile(&f, f.loc_fast, &span), 3);
	cr_assert_eq(span, 0x11);
	cr_assert_eq(in_profile(&f, f.loc_child, &span), 2);
	cr_assert_eq(span, 0);
	for (size_t i = 0; i < profile__stack_count(f.p); i++) {
		const struct profile_stack *st = profile__stack(f.p, i);

		if (st->span_id)
			cr_assert_str_eq(st->function, "handle_request");
		else
			cr_assert_null(st->function);
	}
	t = end(&f, 0x11, 0, 5 * MS);
	cr_assert_eq(t.samples, 3);
	cr_assert_eq(t.values[0], 3);
	/* A call with no sample ends with zeros. */
	t = end(&f, 0x12, 0, 5 * MS);
	cr_assert_eq(t.samples, 0);
	fix_free(&f);
}

Test(callprof, slower_than_keeps_slow_calls_and_their_fast_callees)
{
	struct callprof_stats st;
	struct fix f;
	uint64_t span;

	fix_init(&f, 50 * MS, 0);
	/* A fast root call: dropped at its end. */
	add(&f, 0x21, 0, f.loc_fast, 4);
	cr_assert_eq(in_profile(&f, f.loc_fast, &span), 0, "held, not in the profile yet");
	end(&f, 0x21, 0, 1 * MS);
	/* A slow root call with a fast probed callee: the callee's samples go with it. */
	add(&f, 0x31, 0, f.loc_slow, 5);
	add(&f, 0x32, 1, f.loc_child, 2);
	cr_assert_eq(end(&f, 0x32, 0x31, 2 * MS).samples, 2);
	cr_assert_eq(in_profile(&f, f.loc_child, &span), 0);
	cr_assert_eq(end(&f, 0x31, 0, 80 * MS).samples, 5);
	/* Outside any call: left out by a filter. */
	add(&f, 0, 0, f.loc_fast, 1);

	cr_assert_eq(in_profile(&f, f.loc_fast, &span), 0);
	cr_assert_eq(in_profile(&f, f.loc_slow, &span), 5);
	cr_assert_eq(span, 0x31);
	cr_assert_eq(in_profile(&f, f.loc_child, &span), 2);
	cr_assert_eq(span, 0x32, "the callee's samples keep their own span");
	callprof__stats(f.c, &st);
	cr_assert_eq(st.tagged, 11);
	cr_assert_eq(st.kept, 7);
	cr_assert_eq(st.kept_calls, 1);
	cr_assert_eq(st.fast, 4);
	cr_assert_eq(st.outside, 1);
	cr_assert_eq(st.held_peak, 7);
	cr_assert_eq(callprof__finish(f.c), 0);
	fix_free(&f);
}

Test(callprof, slowest_keeps_the_n_longest_at_finish)
{
	struct callprof_stats st;
	struct fix f;
	uint64_t span;
	const uint64_t dur[5] = {10, 70, 30, 90, 50};

	fix_init(&f, 0, 2);
	for (int i = 0; i < 5; i++) {
		add(&f, 0x40 + i, 0, f.loc_slow, i + 1);
		end(&f, 0x40 + i, 0, dur[i] * MS);
	}
	cr_assert_eq(in_profile(&f, f.loc_slow, &span), 0, "decided only at the end");
	cr_assert_eq(callprof__finish(f.c), 0);
	/* The 90 ms call (4 samples) and the 70 ms one (2). */
	cr_assert_eq(in_profile(&f, f.loc_slow, &span), 6);
	callprof__stats(f.c, &st);
	cr_assert_eq(st.kept_calls, 2);
	cr_assert_eq(st.kept, 6);
	cr_assert_eq(st.fast, 1 + 3 + 5);
	fix_free(&f);
}

Test(callprof, held_samples_are_bounded_and_unended_calls_forgotten)
{
	struct callprof_opts o = {.slower_than_ns = MS, .max_held = 3, .max_open = 2, .ends = true};
	struct callprof_stats st;
	struct fix f;
	uint64_t span;

	fix_init(&f, 0, 0);
	callprof__free(f.c);
	f.c = callprof__new(&o, f.p);
	cr_assert_not_null(f.c);
	add(&f, 0x51, 0, f.loc_slow, 5); /* 2 over max_held */
	add(&f, 0x52, 0, f.loc_slow, 1); /* held_full too: 3 held */
	add(&f, 0x53, 0, f.loc_fast, 1); /* a third open call: 0x51 is forgotten */
	end(&f, 0x53, 0, 5 * MS);
	cr_assert_eq(in_profile(&f, f.loc_fast, &span), 1);
	cr_assert_eq(callprof__finish(f.c), 0);
	callprof__stats(f.c, &st);
	cr_assert_eq(st.held_full, 3);
	cr_assert_eq(st.forgotten, 2);
	/* 0x51 held 3 when forgotten; 0x52 held none, counted 1, forgotten at the end. */
	cr_assert_eq(st.unended, 3 + 1);
	cr_assert_eq(st.kept, 1);
	fix_free(&f);
}

Test(callprof, held_samples_move_to_the_next_window)
{
	struct fix f;
	struct profile *next;
	uint64_t span;

	fix_init(&f, 10 * MS, 0);
	add(&f, 0x61, 0, f.loc_child, 2);
	next = profile__new();
	cr_assert_not_null(next);
	cr_assert_eq(profile__add_type(next, "samples", "count"), 0);
	cr_assert_eq(callprof__set_profile(f.c, next), 0);
	profile__free(f.p);
	f.p = next;
	end(&f, 0x61, 0, 20 * MS);
	/* Interned anew in the window's profile: "child" is its first location. */
	cr_assert_eq(profile__location_count(next), 1);
	cr_assert_str_eq(profile__location(next, 0)->lines[0].function, "child");
	f.loc_child = 0;
	cr_assert_eq(in_profile(&f, 0, &span), 2);
	cr_assert_eq(span, 0x61);
	fix_free(&f);
}
