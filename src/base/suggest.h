/* SPDX-License-Identifier: MIT */
/* "Did you mean" suggestions: names close to a misspelt one. */
#ifndef SONDE_SUGGEST_H
#define SONDE_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance (insert, delete, substitute: cost 1 each). */
size_t edit_distance(const char *a, const char *b);

/*
 * Up to @max names of @names[0..n) close to @query, best first: an edit
 * distance of at most max(2, strlen(query) / 3), or names containing
 * @query. Ties keep the order of @names. Stores pointers into @names in
 * @out and returns how many (0 when nothing is close).
 */
size_t suggest_closest(const char *const *names, size_t n, const char *query, const char **out,
		       size_t max);

#endif /* SONDE_SUGGEST_H */
