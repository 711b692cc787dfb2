// SPDX-License-Identifier: MIT
#include <errno.h>

#include <criterion/criterion.h>

#include "base/hindex.h"

static const int *eq_values;

static bool eq_value(void *ctx, uint32_t id)
{
	return eq_values[id] == *(const int *)ctx;
}

Test(hindex, finds_inserted_ids_through_growth)
{
	static int values[5000];
	struct hindex *h = hindex__new();
	int i, key;

	cr_assert_not_null(h);
	eq_values = values;
	for (i = 0; i < 5000; i++) {
		values[i] = i * 7;
		cr_assert_eq(hindex__insert(h, hash_mix(0, values[i]), i), 0);
	}
	cr_assert_eq(hindex__size(h), 5000);
	key = 7 * 4321;
	cr_assert_eq(hindex__find(h, hash_mix(0, key), eq_value, &key), 4321);
	key = 8;
	cr_assert_eq(hindex__find(h, hash_mix(0, key), eq_value, &key), -ENOENT);
	hindex__free(h);
}

Test(hindex, equal_hashes_are_told_apart_by_the_callback)
{
	static const int values[] = {10, 20, 30};
	struct hindex *h = hindex__new();
	int key = 30;

	eq_values = values;
	/* Same hash for all three: the callback alone decides. */
	cr_assert_eq(hindex__insert(h, 42, 0), 0);
	cr_assert_eq(hindex__insert(h, 42, 1), 0);
	cr_assert_eq(hindex__insert(h, 42, 2), 0);
	cr_assert_eq(hindex__find(h, 42, eq_value, &key), 2);
	key = 10;
	cr_assert_eq(hindex__find(h, 42, eq_value, &key), 0);
	cr_assert_eq(hindex__find(h, 43, eq_value, &key), -ENOENT);
	hindex__free(h);
}

Test(hindex, empty_index_and_free_null)
{
	struct hindex *h = hindex__new();
	int key = 1;

	cr_assert_eq(hindex__find(h, 1, eq_value, &key), -ENOENT);
	cr_assert_eq(hindex__size(h), 0);
	hindex__free(h);
	hindex__free(NULL);
}

Test(hindex, hash_bytes_is_fnv1a)
{
	/* FNV-1a 64 of "a" with seed 0 is the published test vector. */
	cr_assert_eq(hash_bytes("a", 1, 0), 0xaf63dc4c8601ec8cull);
	cr_assert_eq(hash_bytes("", 0, 0), 0xcbf29ce484222325ull);
	cr_assert_neq(hash_mix(0, 1), hash_mix(0, 2));
}

/* The slot table doubles from 64 at half load: its bytes double with it. */
Test(hindex, bytes_follow_the_slot_table)
{
	struct hindex *h = hindex__new();
	size_t b0, b64;
	uint32_t i;

	cr_assert_eq(hindex__bytes(NULL), 0);
	b0 = hindex__bytes(h);
	cr_assert_gt(b0, 0);
	cr_assert_eq(hindex__insert(h, hash_mix(0, 0), 0), 0);
	b64 = hindex__bytes(h);
	cr_assert_gt(b64, b0);
	for (i = 1; i < 32; i++)
		cr_assert_eq(hindex__insert(h, hash_mix(0, i), i), 0);
	cr_assert_eq(hindex__bytes(h), b64);
	cr_assert_eq(hindex__insert(h, hash_mix(0, 32), 32), 0);
	cr_assert_eq(hindex__bytes(h) - b0, 2 * (b64 - b0));
	hindex__free(h);
}
