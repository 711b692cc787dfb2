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
#include <stdlib.h>
#include <string.h>

#include "sonde/flamegraph.h"
#include "sonde/log.h"
#include "sonde/strpool.h"

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

int folded__write(const struct profile *p, FILE *f)
{
	size_t nstacks = profile__stack_count(p), nlines, i;
	struct line_buf b = {0};
	struct strpool *lines;
	uint64_t *counts;
	uint32_t *order = NULL;
	int64_t id;
	int err = 0;

	lines = strpool__new();
	/* At most one folded line per stack: the counts can be sized now. */
	counts = calloc(nstacks ? nstacks : 1, sizeof(*counts));
	if (!lines || !counts) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < nstacks; i++) {
		const struct profile_stack *st = profile__stack(p, i);

		b.len = 0;
		err = profile__walk_frames(p, st, append_frame, &b);
		if (err)
			goto out_free;
		id = strpool__intern_n(lines, b.s, b.len, NULL);
		if (id < 0) {
			err = (int)id;
			goto out_free;
		}
		counts[id] += st->count;
	}

	nlines = strpool__count(lines);
	order = malloc((nlines ? nlines : 1) * sizeof(*order));
	if (!order) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < nlines; i++)
		order[i] = i;
	/* Byte order (strcmp), not the locale's: output must not depend on LANG. */
	qsort_r(order, nlines, sizeof(*order), cmp_ids, lines);

	for (i = 0; i < nlines; i++) {
		if (!counts[order[i]])
			continue;
		if (fprintf(f, "%s %" PRIu64 "\n", strpool__str(lines, order[i]),
			    counts[order[i]]) < 0) {
			err = -EIO;
			goto out_free;
		}
	}
	if (fflush(f) == EOF || ferror(f))
		err = -EIO;

out_free:
	if (err)
		log_err("folded: failed to write folded stacks: %s", strerror(-err));
	free(order);
	free(b.s);
	free(counts);
	strpool__free(lines);
	return err;
}
