/* SPDX-License-Identifier: MIT */
/*
 * Hash index: maps a 64-bit hash to the uint32 ids of the caller's entries
 * with that hash. It stores no keys, so the caller confirms a candidate
 * with its own equality callback; this lets one open-addressing table serve
 * strings, locations, stacks and tree nodes without copying their keys.
 */
#ifndef SONDE_HINDEX_H
#define SONDE_HINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hindex;

/* Return true when entry @id equals the key being looked up. */
typedef bool (*hindex_eq_fn)(void *ctx, uint32_t id);

struct hindex *hindex__new(void);
void hindex__free(struct hindex *h);

/* The id of an entry with @hash for which @eq returns true, or -ENOENT. */
int64_t hindex__find(const struct hindex *h, uint64_t hash, hindex_eq_fn eq, void *ctx);
/* Record @id under @hash (duplicates are the caller's business). 0 or -errno. */
int hindex__insert(struct hindex *h, uint64_t hash, uint32_t id);
size_t hindex__size(const struct hindex *h);
/* Heap bytes the index holds (its slot table); 0 for NULL. */
size_t hindex__bytes(const struct hindex *h);

/* Hashing helpers shared by the users of the index. */
uint64_t hash_bytes(const void *data, size_t len, uint64_t seed);
uint64_t hash_mix(uint64_t h, uint64_t v);

#endif /* SONDE_HINDEX_H */
