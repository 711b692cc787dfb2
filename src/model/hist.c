// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "model/hist.h"

struct hist {
	uint64_t buckets[SONDE_HIST_BUCKETS];
	uint64_t count;
	uint64_t sum;
	uint64_t max;
};

struct hist *hist__new(void)
{
	return calloc(1, sizeof(struct hist));
}

void hist__free(struct hist *h)
{
	free(h);
}

void hist__add(struct hist *h, uint64_t ns)
{
	h->buckets[sonde_hist_bucket(ns)]++;
	h->count++;
	h->sum += ns;
	if (ns > h->max)
		h->max = ns;
}

void hist__merge(struct hist *h, const struct sonde_hist *k)
{
	for (uint32_t b = 0; b < SONDE_HIST_BUCKETS; b++) {
		h->buckets[b] += k->buckets[b];
		h->count += k->buckets[b];
	}
	h->sum += k->sum_ns;
	if (k->max_ns > h->max)
		h->max = k->max_ns;
}

uint64_t hist__count(const struct hist *h)
{
	return h->count;
}

uint64_t hist__max(const struct hist *h)
{
	return h->max;
}

uint64_t hist__sum(const struct hist *h)
{
	return h->sum;
}

uint64_t hist__bucket_count(const struct hist *h, uint32_t b)
{
	return b < SONDE_HIST_BUCKETS ? h->buckets[b] : 0;
}

uint64_t hist_bucket_lo(uint32_t b)
{
	uint32_t shift;

	if (b < 2 * SONDE_HIST_SUB)
		return b;
	/* Inverse of sonde_hist_bucket(): row r holds [2^(r+3), 2^(r+4)). */
	shift = b / SONDE_HIST_SUB - 1;
	return (uint64_t)(SONDE_HIST_SUB + b % SONDE_HIST_SUB) << shift;
}

uint64_t hist_bucket_hi(uint32_t b)
{
	if (b + 1 >= SONDE_HIST_BUCKETS)
		return UINT64_MAX;
	return hist_bucket_lo(b + 1) - 1;
}

uint64_t hist__percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0, lo, mid, milli;

	if (!h->count || p <= 0)
		return 0;
	if (p > 100)
		p = 100;
	/* Integer ceil in thousandths of a percent: 0.99 * 100 must give 99. */
	milli = (uint64_t)(p * 1000.0 + 0.5);
	rank = (milli * h->count + 99999) / 100000;
	if (rank < 1)
		rank = 1;
	for (uint32_t b = 0; b < SONDE_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen < rank)
			continue;
		lo = hist_bucket_lo(b);
		mid = lo + (hist_bucket_hi(b) - lo) / 2;
		return mid > h->max ? h->max : mid;
	}
	return h->max;
}

/* Row of a value in the log2 view: 0 holds 0 and 1, row k holds [2^k, 2^(k+1)). */
static uint32_t log2_row(uint64_t v)
{
	return v < 2 ? 0 : sonde_hist_log2(v);
}

int hist__print_log2(const struct hist *h, FILE *f)
{
	uint64_t rows[64] = {0}, top = 0;
	int first = -1, last = -1;
	const int width = 40;

	/* Sub-buckets never straddle a power of two, so rows are exact sums. */
	for (uint32_t b = 0; b < SONDE_HIST_BUCKETS; b++)
		rows[log2_row(hist_bucket_lo(b))] += h->buckets[b];
	for (int r = 0; r < 64; r++) {
		if (!rows[r])
			continue;
		if (first < 0)
			first = r;
		last = r;
		if (rows[r] > top)
			top = rows[r];
	}
	if (fprintf(f, "%24s : %-10s %s\n", "nsecs", "count", "distribution") < 0)
		return -EIO;
	for (int r = first; r >= 0 && r <= last; r++) {
		uint64_t lo = r ? 1ull << r : 0;
		uint64_t hi = r == 63 ? UINT64_MAX : (2ull << r) - 1;
		int stars = (int)(rows[r] * width / top);
		char bar[64];

		for (int i = 0; i < width; i++)
			bar[i] = i < stars ? '*' : ' ';
		bar[width] = '\0';
		if (fprintf(f, "%10llu -> %-10llu : %-10llu |%s|\n", (unsigned long long)lo,
			    (unsigned long long)hi, (unsigned long long)rows[r], bar) < 0)
			return -EIO;
	}
	return 0;
}

const char *hist_fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.3f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.3f s", ns / 1e9);
	return buf;
}
