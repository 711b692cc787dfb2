// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hindex.h"

/*
 * Linear probing over a power-of-two array, kept at most half full so a
 * miss ends after a short run. The full hash is kept in each slot: growing
 * needs no callback, and mismatching hashes never reach the (costlier)
 * equality callback.
 */
struct slot {
	uint64_t hash;
	uint32_t id_plus1; /* 0 = empty */
};

struct hindex {
	struct slot *slots;
	size_t cap; /* power of two, or 0 before the first insert */
	size_t n;
};

struct hindex *hindex__new(void)
{
	return calloc(1, sizeof(struct hindex));
}

void hindex__free(struct hindex *h)
{
	if (!h)
		return;
	free(h->slots);
	free(h);
}

size_t hindex__size(const struct hindex *h)
{
	return h->n;
}

size_t hindex__bytes(const struct hindex *h)
{
	return h ? sizeof(*h) + h->cap * sizeof(*h->slots) : 0;
}

int64_t hindex__find(const struct hindex *h, uint64_t hash, hindex_eq_fn eq, void *ctx)
{
	size_t mask, i;

	if (!h->cap)
		return -ENOENT;
	mask = h->cap - 1;
	for (i = hash & mask; h->slots[i].id_plus1; i = (i + 1) & mask) {
		uint32_t id = h->slots[i].id_plus1 - 1;

		if (h->slots[i].hash == hash && eq(ctx, id))
			return id;
	}
	return -ENOENT;
}

static void place(struct slot *slots, size_t mask, uint64_t hash, uint32_t id_plus1)
{
	size_t i = hash & mask;

	while (slots[i].id_plus1)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].id_plus1 = id_plus1;
}

static int grow(struct hindex *h)
{
	size_t ncap = h->cap ? h->cap * 2 : 64, i;
	struct slot *ns;

	if (ncap < h->cap || ncap > SIZE_MAX / sizeof(*ns))
		return -ENOMEM;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++)
		if (h->slots[i].id_plus1)
			place(ns, ncap - 1, h->slots[i].hash, h->slots[i].id_plus1);
	free(h->slots);
	h->slots = ns;
	h->cap = ncap;
	return 0;
}

int hindex__insert(struct hindex *h, uint64_t hash, uint32_t id)
{
	int err;

	if (id == UINT32_MAX)
		return -EOVERFLOW;
	if ((h->n + 1) * 2 > h->cap) {
		err = grow(h);
		if (err)
			return err;
	}
	place(h->slots, h->cap - 1, hash, id + 1);
	h->n++;
	return 0;
}

/* FNV-1a: simple and good enough for symbol names; hash_mix() spreads it. */
uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* splitmix64's finalizer over the running hash and the next value. */
uint64_t hash_mix(uint64_t h, uint64_t v)
{
	uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
