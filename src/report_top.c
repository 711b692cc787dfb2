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

#include "sonde/flamegraph.h"
#include "sonde/log.h"
#include "sonde/strpool.h"

struct fn_stats {
	uint64_t self, total;
	size_t last_stack; /* stack index + 1 that last counted total */
};

struct top_ctx {
	struct strpool *names;
	struct fn_stats *stats;
	size_t cap;
	size_t stack; /* current stack index + 1 */
	uint64_t count;
	int64_t leaf; /* name id of the last frame seen, -1 for none */
};

static int grow_stats(struct top_ctx *t, size_t need)
{
	size_t ncap = t->cap ? t->cap : 256;
	struct fn_stats *ns;

	while (ncap < need)
		ncap *= 2;
	ns = realloc(t->stats, ncap * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	memset(ns + t->cap, 0, (ncap - t->cap) * sizeof(*ns));
	t->stats = ns;
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
	if (t->stats[id].last_stack != t->stack) {
		t->stats[id].last_stack = t->stack;
		t->stats[id].total += t->count;
	}
	t->leaf = id;
	return 0;
}

/* Self descending, then total descending, then name: deterministic. */
static int cmp_rows(const void *a, const void *b, void *ctx)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct top_ctx *t = ctx;
	const struct fn_stats *sa = &t->stats[ia], *sb = &t->stats[ib];

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

int report_top__write(const struct profile *p, FILE *f, unsigned int max)
{
	struct top_ctx t = {0};
	uint64_t total = profile__total(p);
	size_t i, n, rows;
	uint32_t *order = NULL;
	int err = 0;

	t.names = strpool__new();
	if (!t.names) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < profile__stack_count(p); i++) {
		const struct profile_stack *st = profile__stack(p, i);

		t.stack = i + 1;
		t.count = st->count;
		t.leaf = -1;
		err = profile__walk_frames(p, st, visit_frame, &t);
		if (err)
			goto out_free;
		if (t.leaf >= 0)
			t.stats[t.leaf].self += st->count;
	}

	n = strpool__count(t.names);
	order = malloc((n ? n : 1) * sizeof(*order));
	if (!order) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_rows, &t);
	rows = max && max < n ? max : n;

	fprintf(f, "Total samples: %" PRIu64 "\n", total);
	fprintf(f, "%7s %10s %7s %10s  %s\n", "SELF%", "SELF", "TOTAL%", "TOTAL", "FUNCTION");
	for (i = 0; i < rows; i++) {
		const struct fn_stats *s = &t.stats[order[i]];

		fprintf(f, "%6.2f%% %10" PRIu64 " %6.2f%% %10" PRIu64 "  ", pct(s->self, total),
			s->self, pct(s->total, total), s->total);
		put_name(f, strpool__str(t.names, order[i]));
		fputc('\n', f);
	}
	if (fflush(f) == EOF || ferror(f))
		err = -EIO;

out_free:
	if (err)
		log_err("top: failed to write function table: %s", strerror(-err));
	free(order);
	free(t.stats);
	strpool__free(t.names);
	return err;
}
