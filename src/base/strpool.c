// SPDX-License-Identifier: MIT
/*
 * String interning on hindex: the strings live in arena chunks that never
 * move, an id -> pointer array numbers them, and the hash index finds an
 * existing copy.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/hindex.h"
#include "base/strpool.h"

#define CHUNK_SIZE 65536

struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

struct strpool {
	struct hindex *index;
	const char **strs; /* by id */
	size_t *lens;
	size_t count, cap;
	struct chunk *chunks;
	size_t chunk_bytes; /* every chunk, headers included */
};

struct lookup {
	const struct strpool *p;
	const char *s;
	size_t len;
};

struct strpool *strpool__new(void)
{
	struct strpool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->index = hindex__new();
	if (!p->index) {
		free(p);
		return NULL;
	}
	return p;
}

void strpool__free(struct strpool *p)
{
	struct chunk *c, *next;

	if (!p)
		return;
	for (c = p->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	hindex__free(p->index);
	free(p->strs);
	free(p->lens);
	free(p);
}

static bool str_eq(void *ctx, uint32_t id)
{
	const struct lookup *l = ctx;

	return l->p->lens[id] == l->len && !memcmp(l->p->strs[id], l->s, l->len);
}

static char *arena_copy(struct strpool *p, const char *s, size_t len)
{
	struct chunk *c = p->chunks;
	char *dst;

	if (!c || c->cap - c->used < len + 1) {
		/* Long strings get a chunk of their own, short ones share. */
		size_t cap = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = p->chunks;
		p->chunks = c;
		p->chunk_bytes += sizeof(*c) + cap;
	}
	dst = c->data + c->used;
	memcpy(dst, s, len);
	dst[len] = '\0';
	c->used += len + 1;
	return dst;
}

static int reserve(struct strpool *p)
{
	size_t cap = p->cap ? p->cap * 2 : 64;
	const char **ns;
	size_t *nl;

	if (p->count < p->cap)
		return 0;
	ns = realloc(p->strs, cap * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	p->strs = ns;
	nl = realloc(p->lens, cap * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	p->lens = nl;
	p->cap = cap;
	return 0;
}

int64_t strpool__intern_n(struct strpool *p, const char *s, size_t len, const char **out)
{
	struct lookup l = { p, s, len };
	uint64_t hash = hash_bytes(s, len, 0);
	int64_t id;
	char *copy;
	int err;

	id = hindex__find(p->index, hash, str_eq, &l);
	if (id >= 0)
		goto out_found;
	if (p->count >= UINT32_MAX - 1)
		return -ENOMEM;
	err = reserve(p);
	if (err)
		return err;
	copy = arena_copy(p, s, len);
	if (!copy)
		return -ENOMEM;
	err = hindex__insert(p->index, hash, (uint32_t)p->count);
	if (err)
		return err;
	id = (int64_t)p->count;
	p->strs[id] = copy;
	p->lens[id] = len;
	p->count++;

out_found:
	if (out)
		*out = p->strs[id];
	return id;
}

int64_t strpool__intern(struct strpool *p, const char *s, const char **out)
{
	return strpool__intern_n(p, s, strlen(s), out);
}

const char *strpool__str(const struct strpool *p, uint32_t id)
{
	return id < p->count ? p->strs[id] : NULL;
}

size_t strpool__count(const struct strpool *p)
{
	return p->count;
}

size_t strpool__bytes(const struct strpool *p)
{
	if (!p)
		return 0;
	return sizeof(*p) + p->chunk_bytes + p->cap * (sizeof(*p->strs) + sizeof(*p->lens)) +
	       hindex__bytes(p->index);
}
