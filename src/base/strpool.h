/* SPDX-License-Identifier: MIT */
/*
 * Interned strings: one stable copy per distinct string, numbered 0, 1, 2...
 * in insertion order. Pointers never move, so pooled strings can be
 * compared by address, and they stay valid until strpool__free().
 */
#ifndef SONDE_STRPOOL_H
#define SONDE_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

struct strpool;

struct strpool *strpool__new(void);
void strpool__free(struct strpool *p);

/*
 * The id of @s, adding a copy when new; *out (if non-NULL) gets the pool's
 * stable copy. Returns the id (>= 0) or -ENOMEM.
 */
int64_t strpool__intern(struct strpool *p, const char *s, const char **out);
/* Same for the @len bytes at @s (need not be NUL-terminated). */
int64_t strpool__intern_n(struct strpool *p, const char *s, size_t len, const char **out);
/* The string with @id (< strpool__count()). */
const char *strpool__str(const struct strpool *p, uint32_t id);
/* Distinct strings held. */
size_t strpool__count(const struct strpool *p);
/* Heap bytes the pool holds: string chunks, the id arrays, its index; 0 for NULL. */
size_t strpool__bytes(const struct strpool *p);

#endif /* SONDE_STRPOOL_H */
