// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/suggest.h"

/* Names longer than this are never close to a typed query; skip the work. */
#define SUGGEST_MAX_LEN 256

size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[SUGGEST_MAX_LEN + 1];

	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return la > lb ? la : lb;
	/* One row of the dynamic-programming table, updated in place. */
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

struct cand {
	size_t score;
	size_t idx;
};

/* Symbol tables list aliases twice; suggest each name once. */
static int kept(const char *const *names, const struct cand *best, size_t nbest, const char *name)
{
	for (size_t i = 0; i < nbest; i++)
		if (!strcmp(names[best[i].idx], name))
			return 1;
	return 0;
}

size_t suggest_closest(const char *const *names, size_t n, const char *query, const char **out,
		       size_t max)
{
	size_t qlen = strlen(query), limit = qlen / 3 > 2 ? qlen / 3 : 2;
	struct cand best[16];
	size_t nbest = 0;

	if (max > 16)
		max = 16;
	for (size_t i = 0; i < n && max; i++) {
		size_t d, pos;

		if (!strcmp(names[i], query))
			continue;
		d = edit_distance(names[i], query);
		/* A substring ("request" in "handle_request") is a good hint too. */
		if (d > limit && qlen >= 3 && strstr(names[i], query))
			d = limit;
		if (d > limit || kept(names, best, nbest, names[i]))
			continue;
		/* Insertion sort into the kept candidates; stable for ties. */
		pos = nbest;
		while (pos > 0 && best[pos - 1].score > d)
			pos--;
		if (pos >= max)
			continue;
		if (nbest < max)
			nbest++;
		memmove(&best[pos + 1], &best[pos], (nbest - 1 - pos) * sizeof(best[0]));
		best[pos] = (struct cand){d, i};
	}
	for (size_t i = 0; i < nbest; i++)
		out[i] = names[best[i].idx];
	return nbest;
}
