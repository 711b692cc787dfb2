// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "model/hist.h"

Test(hist, bucket_math)
{
	cr_assert_eq(sonde_hist_bucket(0), 0);
	cr_assert_eq(sonde_hist_bucket(31), 31);
	cr_assert_eq(sonde_hist_bucket(32), 32);
	cr_assert_eq(sonde_hist_bucket(33), 32);
	cr_assert_eq(sonde_hist_bucket(34), 33);
	cr_assert_eq(sonde_hist_bucket(63), 47);
	cr_assert_eq(sonde_hist_bucket(64), 48);
	cr_assert_eq(sonde_hist_bucket(1000000), 270);
	cr_assert_eq(sonde_hist_bucket(UINT64_MAX), SONDE_HIST_BUCKETS - 1);
	cr_assert_eq(hist_bucket_lo(270), 983040);
	cr_assert_eq(hist_bucket_hi(270), 1015807);
	cr_assert_eq(hist_bucket_lo(32), 32);
	cr_assert_eq(hist_bucket_hi(32), 33);
	cr_assert_eq(hist_bucket_hi(SONDE_HIST_BUCKETS - 1), UINT64_MAX);
}

Test(hist, buckets_cover_every_value_once)
{
	/* Contiguous: each bucket starts right after the previous one ends. */
	for (uint32_t b = 1; b < SONDE_HIST_BUCKETS; b++)
		cr_assert_eq(hist_bucket_lo(b), hist_bucket_hi(b - 1) + 1, "bucket %u", b);
	for (uint64_t v = 1; v < (1ull << 62); v = v * 3 + 1) {
		uint32_t b = sonde_hist_bucket(v);

		cr_assert(hist_bucket_lo(b) <= v && v <= hist_bucket_hi(b), "value %llu",
			  (unsigned long long)v);
		/* At most 1/16 of the value wide: percentiles within ~3 %. */
		cr_assert(hist_bucket_hi(b) - hist_bucket_lo(b) <= v / 16 + 1);
	}
}

Test(hist, percentiles_exact)
{
	struct hist *h = hist__new();

	cr_assert_not_null(h);
	for (uint64_t v = 1; v <= 100; v++)
		hist__add(h, v);
	cr_assert_eq(hist__count(h), 100);
	cr_assert_eq(hist__sum(h), 5050);
	cr_assert_eq(hist__max(h), 100);
	cr_assert_eq(hist__percentile(h, 50), 50);
	cr_assert_eq(hist__percentile(h, 90), 89);
	cr_assert_eq(hist__percentile(h, 99), 97);
	/* The middle of [100, 103] is above the maximum: clamp. */
	cr_assert_eq(hist__percentile(h, 100), 100);
	hist__free(h);

	h = hist__new();
	hist__add(h, 1000000);
	hist__add(h, 1000000);
	hist__add(h, 1000000);
	hist__add(h, 4000000);
	cr_assert_eq(hist__percentile(h, 50), 999423);
	cr_assert_eq(hist__percentile(h, 75), 999423);
	cr_assert_eq(hist__percentile(h, 99), 3997695);
	hist__free(h);
}

Test(hist, empty_and_null)
{
	struct hist *h = hist__new();

	cr_assert_eq(hist__percentile(h, 50), 0);
	cr_assert_eq(hist__count(h), 0);
	hist__free(h);
	hist__free(NULL);
}

Test(hist, merge_kernel_copies)
{
	struct sonde_hist *k = calloc(1, sizeof(*k));
	struct hist *h = hist__new();

	k->buckets[sonde_hist_bucket(5000)] = 3;
	k->sum_ns = 15000;
	k->max_ns = 5000;
	hist__merge(h, k);
	k->max_ns = 7000;
	k->sum_ns = 7000;
	memset(k->buckets, 0, sizeof(k->buckets));
	k->buckets[sonde_hist_bucket(7000)] = 1;
	hist__merge(h, k);
	cr_assert_eq(hist__count(h), 4);
	cr_assert_eq(hist__sum(h), 22000);
	cr_assert_eq(hist__max(h), 7000);
	cr_assert_eq(hist__bucket_count(h, sonde_hist_bucket(5000)), 3);
	free(k);
	hist__free(h);
}

Test(hist, print_log2)
{
	struct hist *h = hist__new();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	hist__add(h, 1);
	hist__add(h, 2);
	hist__add(h, 3);
	hist__add(h, 5);
	cr_assert_eq(hist__print_log2(h, f), 0);
	fclose(f);
	cr_assert_str_eq(
		buf,
		"                   nsecs : count      distribution\n"
		"         0 -> 1          : 1          |********************                    |\n"
		"         2 -> 3          : 2          |****************************************|\n"
		"         4 -> 7          : 1          |********************                    "
		"|\n");
	free(buf);
	hist__free(h);
}

Test(hist, format_ns)
{
	char b[32];

	cr_assert_str_eq(hist_fmt_ns(812, b, sizeof(b)), "812 ns");
	cr_assert_str_eq(hist_fmt_ns(12500, b, sizeof(b)), "12.5 us");
	cr_assert_str_eq(hist_fmt_ns(1023456, b, sizeof(b)), "1.023 ms");
	cr_assert_str_eq(hist_fmt_ns(2500000000ull, b, sizeof(b)), "2.500 s");
}
