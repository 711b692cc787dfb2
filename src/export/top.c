// SPDX-License-Identifier: MIT
/* The terminal summary of a profile: hottest functions, like perf top. */
/* qsort_r() */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export/top.h"
#include "base/log.h"
#include "base/outfile.h"
#include "base/strpool.h"

struct fn_stats {
	uint64_t self, total;
	size_t last_stack; /* stack index + 1 that last counted total */
};

struct top_ctx {
	struct strpool *names;
	struct fn_stats *stats[2]; /* per side: the profile, or BEFORE and AFTER */
	size_t cap;
	int side;
	size_t stack; /* current stack index + 1 */
	uint64_t count;
	int64_t leaf;	    /* name id of the last frame seen, -1 for none */
	uint64_t totals[2]; /* diff: BEFORE's and AFTER's samples */
};

static int grow_stats(struct top_ctx *t, size_t need)
{
	size_t ncap = t->cap ? t->cap : 256;
	struct fn_stats *ns;

	while (ncap < need)
		ncap *= 2;
	for (int k = 0; k < 2; k++) {
		ns = realloc(t->stats[k], ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		memset(ns + t->cap, 0, (ncap - t->cap) * sizeof(*ns));
		t->stats[k] = ns;
	}
	t->cap = ncap;
	return 0;
}

static int visit_frame(void *ctx, const char *name, const struct profile_location *loc, uint32_t li)
{
	struct top_ctx *t = ctx;
	int64_t id;
	int err;

	/* The comm is a grouping, not a function. */
	if (!loc)
		return 0;
	id = strpool__intern(t->names, name, NULL);
	if (id < 0)
		return (int)id;
	if ((size_t)id >= t->cap) {
		err = grow_stats(t, id + 1);
		if (err)
			return err;
	}
	/* Recursion: a function on the stack twice is still one sample. */
	if (t->stats[t->side][id].last_stack != t->stack) {
		t->stats[t->side][id].last_stack = t->stack;
		t->stats[t->side][id].total += t->count;
	}
	t->leaf = id;
	return 0;
}

/* Self descending, then total descending, then name: deterministic. */
static int cmp_rows(const void *a, const void *b, void *ctx)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct top_ctx *t = ctx;
	const struct fn_stats *sa = &t->stats[0][ia], *sb = &t->stats[0][ib];

	if (sa->self != sb->self)
		return sa->self > sb->self ? -1 : 1;
	if (sa->total != sb->total)
		return sa->total > sb->total ? -1 : 1;
	return strcmp(strpool__str(t->names, ia), strpool__str(t->names, ib));
}

/* One row per line, whatever the symbol contains. */
static void put_name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
}

static double pct(uint64_t n, uint64_t total)
{
	return total ? 100.0 * (double)n / (double)total : 0.0;
}

/* Self and total samples of every function of @p, on side @side of @t. */
static int tally(struct top_ctx *t, const struct profile *p, int side)
{
	size_t i;
	int err;

	t->side = side;
	for (i = 0; i < profile__stack_count(p); i++) {
		const struct profile_stack *st = profile__stack(p, i);

		t->stack = i + 1;
		t->count = st->count;
		t->leaf = -1;
		err = profile__walk_frames(p, st, visit_frame, t);
		if (err)
			return err;
		if (t->leaf >= 0)
			t->stats[side][t->leaf].self += st->count;
	}
	/* The other side's stack numbers must not look like ours. */
	for (i = 0; i < t->cap; i++)
		t->stats[side][i].last_stack = 0;
	return 0;
}

/* Every name id in @t, sorted by @cmp. */
static int sorted(struct top_ctx *t, int (*cmp)(const void *, const void *, void *),
		  uint32_t **order, size_t *n)
{
	size_t i;

	*n = strpool__count(t->names);
	*order = malloc((*n ? *n : 1) * sizeof(**order));
	if (!*order)
		return -ENOMEM;
	for (i = 0; i < *n; i++)
		(*order)[i] = i;
	qsort_r(*order, *n, sizeof(**order), cmp, t);
	return 0;
}

/*
 * Flush @f, free @t; returns @err or the flush's error. The caller says
 * what failed, with the path it wrote to.
 */
static int top_finish(struct top_ctx *t, uint32_t *order, FILE *f, int err)
{
	if (!err)
		err = stream_flush_error(f);
	free(order);
	free(t->stats[0]);
	free(t->stats[1]);
	strpool__free(t->names);
	return err;
}

int report_top__write(const struct profile *p, FILE *f, unsigned int max)
{
	return report_top__write_as(p, f, max, NULL);
}

int report_top__write_as(const struct profile *p, FILE *f, unsigned int max, const char *units)
{
	struct top_ctx t = {0};
	uint64_t total = profile__total(p);
	size_t i, n = 0, rows;
	uint32_t *order = NULL;
	int err;

	t.names = strpool__new();
	err = t.names ? tally(&t, p, 0) : -ENOMEM;
	if (!err)
		err = sorted(&t, cmp_rows, &order, &n);
	if (err)
		goto out_free;
	rows = max && max < n ? max : n;

	if (units)
		fprintf(f, "Total: %" PRIu64 " %s\n", total, units);
	else if (!strcmp(profile__type(p, 0)->type, "samples"))
		fprintf(f, "Total samples: %" PRIu64 "\n", total);
	else
		/* Another sample type names itself and its unit. */
		fprintf(f, "Total %s: %" PRIu64 " %s\n", profile__type(p, 0)->type, total,
			profile__type(p, 0)->unit);
	fprintf(f, "%7s %10s %7s %10s  %s\n", "SELF%", "SELF", "TOTAL%", "TOTAL", "FUNCTION");
	for (i = 0; i < rows; i++) {
		const struct fn_stats *s = &t.stats[0][order[i]];

		fprintf(f, "%6.2f%% %10" PRIu64 " %6.2f%% %10" PRIu64 "  ", pct(s->self, total),
			s->self, pct(s->total, total), s->total);
		put_name(f, strpool__str(t.names, order[i]));
		fputc('\n', f);
	}
out_free:
	return top_finish(&t, order, f, err);
}

static double absd(double x)
{
	return x < 0 ? -x : x;
}

struct shares {
	double self_before, self_after, total_delta;
};

static struct shares shares_of(const struct top_ctx *t, uint32_t id)
{
	const struct fn_stats *b = &t->stats[0][id], *a = &t->stats[1][id];

	return (struct shares){
		.self_before = pct(b->self, t->totals[0]),
		.self_after = pct(a->self, t->totals[1]),
		.total_delta = pct(a->total, t->totals[1]) - pct(b->total, t->totals[0]),
	};
}

/* Largest change of self share first, then of total share, then name. */
static int cmp_movers(const void *a, const void *b, void *ctx)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct top_ctx *t = ctx;
	struct shares sa = shares_of(t, ia), sb = shares_of(t, ib);
	double da = absd(sa.self_after - sa.self_before), db = absd(sb.self_after - sb.self_before);

	if (da != db)
		return da > db ? -1 : 1;
	if (absd(sa.total_delta) != absd(sb.total_delta))
		return absd(sa.total_delta) > absd(sb.total_delta) ? -1 : 1;
	return strcmp(strpool__str(t->names, ia), strpool__str(t->names, ib));
}

int report_top_diff__write(const struct profile *before, const struct profile *after, FILE *f,
			   unsigned int max, const char *units)
{
	struct top_ctx t = {0};
	size_t i, n = 0, rows;
	uint32_t *order = NULL;
	int err;

	t.totals[0] = profile__total(before);
	t.totals[1] = profile__total(after);
	t.names = strpool__new();
	err = t.names ? tally(&t, before, 0) : -ENOMEM;
	if (!err)
		err = tally(&t, after, 1);
	if (!err)
		err = sorted(&t, cmp_movers, &order, &n);
	if (err)
		goto out_free;
	rows = max && max < n ? max : n;

	fprintf(f,
		"Before: %" PRIu64 " %s, after: %" PRIu64 " %s. Shares of each side's total; "
		"changes in percentage points.\n",
		t.totals[0], units ? units : "samples", t.totals[1], units ? units : "samples");
	fprintf(f, "%7s %7s %8s %8s  %s\n", "BEFORE", "AFTER", "CHANGE", "TOTAL", "FUNCTION");
	for (i = 0; i < rows; i++) {
		struct shares s = shares_of(&t, order[i]);

		fprintf(f, "%6.2f%% %6.2f%% %+8.2f %+8.2f  ", s.self_before, s.self_after,
			s.self_after - s.self_before, s.total_delta);
		put_name(f, strpool__str(t.names, order[i]));
		fputc('\n', f);
	}
out_free:
	return top_finish(&t, order, f, err);
}
