/* SPDX-License-Identifier: MIT */
/*
 * Latency histogram with the bucket layout of struct sonde_hist (log2
 * buckets split into SONDE_HIST_SUB linear sub-buckets): merged from the
 * kernel's per-CPU copies, read as exact counts and percentiles, printed
 * as a log2 text histogram.
 */
#ifndef SONDE_HIST_H
#define SONDE_HIST_H

#include <stdint.h>
#include <stdio.h>

#include "sonde/events.h"

struct hist;

struct hist *hist__new(void);
void hist__free(struct hist *h);

/* Record one value of @ns nanoseconds. */
void hist__add(struct hist *h, uint64_t ns);
/* Merge one CPU's kernel histogram. */
void hist__merge(struct hist *h, const struct sonde_hist *k);

uint64_t hist__count(const struct hist *h);
uint64_t hist__max(const struct hist *h);
uint64_t hist__sum(const struct hist *h);
uint64_t hist__bucket_count(const struct hist *h, uint32_t b);

/* Smallest and largest value of bucket @b. */
uint64_t hist_bucket_lo(uint32_t b);
uint64_t hist_bucket_hi(uint32_t b);

/*
 * The @p-th percentile (0 < p <= 100): the middle of the bucket holding
 * the value of rank ceil(p / 100 * count), never above the maximum. 0 for
 * an empty histogram.
 */
uint64_t hist__percentile(const struct hist *h, double p);

/*
 * Power-of-two rows in nanoseconds, like funclatency: "lo -> hi : count
 * |****|", from the first to the last non-empty row. Returns 0 or -errno.
 */
int hist__print_log2(const struct hist *h, FILE *f);

/* "812 ns", "12.5 us", "1.023 ms", "2.500 s" into @buf; returns @buf. */
const char *hist_fmt_ns(uint64_t ns, char *buf, size_t len);

#endif /* SONDE_HIST_H */
