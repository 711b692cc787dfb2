// SPDX-License-Identifier: MIT
/*
 * Folded stacks ("comm;outer;inner COUNT"), the format of Brendan Gregg's
 * stackcollapse scripts, read by flamegraph.pl, speedscope, inferno and
 * Pyroscope.
 */
/* qsort_r() */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "export/folded.h"
#include "base/log.h"
#include "base/outfile.h"
#include "base/strpool.h"

struct line_buf {
	char *s;
	size_t len, cap;
};

static int buf_reserve(struct line_buf *b, size_t extra)
{
	size_t ncap;
	char *ns;

	if (b->len + extra + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 1024;
	while (ncap < b->len + extra + 1)
		ncap *= 2;
	ns = realloc(b->s, ncap);
	if (!ns)
		return -ENOMEM;
	b->s = ns;
	b->cap = ncap;
	return 0;
}

/*
 * ';' separates frames and '\n' ends a record, so neither may appear in a
 * frame: ';' becomes ':' (keeps C++ "a::b"-like readability) and every
 * control character becomes a space. Spaces are kept: consumers split the
 * count off at the last space only.
 */
static int append_frame(void *ctx, const char *name, const struct profile_location *loc,
			uint32_t li)
{
	struct line_buf *b = ctx;
	size_t n = strlen(name), i;
	char *dst;
	int err;

	err = buf_reserve(b, n + 1);
	if (err)
		return err;
	if (b->len)
		b->s[b->len++] = ';';
	dst = b->s + b->len;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		dst[i] = c == ';' ? ':' : (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int cmp_ids(const void *a, const void *b, void *ctx)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct strpool *lines = ctx;

	return strcmp(strpool__str(lines, ia), strpool__str(lines, ib));
}

/* Distinct folded lines of one or two profiles, with a count per side. */
struct folded_set {
	struct strpool *lines;
	uint64_t *counts[2];
	size_t cap;
	struct line_buf b;
	uint32_t *order; /* line ids in byte order, after sort_lines() */
};

static int count_line(struct folded_set *s, int side, uint32_t id, uint64_t count)
{
	size_t ncap;

	if (id >= s->cap) {
		ncap = s->cap ? s->cap : 1024;
		while (ncap <= id)
			ncap *= 2;
		for (int k = 0; k < 2; k++) {
			uint64_t *nc = realloc(s->counts[k], ncap * sizeof(*nc));

			if (!nc)
				return -ENOMEM;
			memset(nc + s->cap, 0, (ncap - s->cap) * sizeof(*nc));
			s->counts[k] = nc;
		}
		s->cap = ncap;
	}
	s->counts[side][id] += count;
	return 0;
}

static int add_profile(struct folded_set *s, const struct profile *p, int side)
{
	size_t i, n = profile__stack_count(p);
	int64_t id;
	int err;

	for (i = 0; i < n; i++) {
		const struct profile_stack *st = profile__stack(p, i);

		s->b.len = 0;
		err = profile__walk_frames(p, st, append_frame, &s->b);
		if (err)
			return err;
		id = strpool__intern_n(s->lines, s->b.s ? s->b.s : "", s->b.len, NULL);
		if (id < 0)
			return (int)id;
		err = count_line(s, side, id, st->count);
		if (err)
			return err;
	}
	return 0;
}

/* Byte order (strcmp), not the locale's: output must not depend on LANG. */
static int sort_lines(struct folded_set *s, size_t *n)
{
	size_t i;

	*n = strpool__count(s->lines);
	s->order = malloc((*n ? *n : 1) * sizeof(*s->order));
	if (!s->order)
		return -ENOMEM;
	for (i = 0; i < *n; i++)
		s->order[i] = i;
	qsort_r(s->order, *n, sizeof(*s->order), cmp_ids, s->lines);
	return 0;
}

/* The lines of @p (side 1), and of @before (side 0) when given, sorted. */
static int set_build(struct folded_set *s, const struct profile *before, const struct profile *p,
		     size_t *nlines)
{
	int err;

	s->lines = strpool__new();
	if (!s->lines)
		return -ENOMEM;
	err = before ? add_profile(s, before, 0) : 0;
	if (!err)
		err = add_profile(s, p, 1);
	if (!err)
		err = sort_lines(s, nlines);
	return err;
}

/*
 * Flush @f, free @s; returns @err or the flush's error. The caller says
 * what failed, with the path it wrote to.
 */
static int set_finish(struct folded_set *s, FILE *f, int err)
{
	if (!err)
		err = stream_flush_error(f);
	free(s->order);
	free(s->b.s);
	free(s->counts[0]);
	free(s->counts[1]);
	strpool__free(s->lines);
	return err;
}

int folded__write(const struct profile *p, FILE *f)
{
	struct folded_set s = {0};
	size_t nlines = 0, i;
	int err;

	err = set_build(&s, NULL, p, &nlines);
	for (i = 0; !err && i < nlines; i++) {
		uint64_t c = s.counts[1][s.order[i]];

		if (c && fprintf(f, "%s %" PRIu64 "\n", strpool__str(s.lines, s.order[i]), c) < 0)
			err = stream_write_error();
	}
	return set_finish(&s, f, err);
}

int folded_diff__write(const struct profile *before, const struct profile *after, FILE *f,
		       bool normalize)
{
	uint64_t tb = profile__total(before), ta = profile__total(after), c0, c1;
	struct folded_set s = {0};
	size_t nlines = 0, i;
	int err;

	err = set_build(&s, before, after, &nlines);
	for (i = 0; !err && i < nlines; i++) {
		c0 = s.counts[0][s.order[i]];
		c1 = s.counts[1][s.order[i]];
		/* difffolded.pl -n: BEFORE scaled to AFTER's total, rounded. */
		if (normalize && tb)
			c0 = (uint64_t)((double)c0 * (double)ta / (double)tb + 0.5);
		if ((c0 || c1) && fprintf(f, "%s %" PRIu64 " %" PRIu64 "\n",
					  strpool__str(s.lines, s.order[i]), c0, c1) < 0)
			err = stream_write_error();
	}
	return set_finish(&s, f, err);
}
