// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "model/spans.h"

const char *const span_samples_keys[SPAN_SAMPLES_MAX] = {
	[SPAN_SAMPLES_CPU] = "sonde.samples.cpu",
	[SPAN_SAMPLES_OFF_CPU] = "sonde.samples.off_cpu_ns",
	[SPAN_SAMPLES_ALLOC_SPACE] = "sonde.samples.alloc_space_bytes",
	[SPAN_SAMPLES_ALLOC_OBJECTS] = "sonde.samples.alloc_objects",
	[SPAN_SAMPLES_PAGE_FAULTS] = "sonde.samples.page_faults",
};

/* The profile sample types the stack probes declare, in enum span_samples order. */
static const char *const sample_types[SPAN_SAMPLES_MAX] = {
	"samples", "off_cpu", "alloc_space", "alloc_objects", "page_faults",
};

int span_samples_of_type(const char *type)
{
	for (int k = 0; k < SPAN_SAMPLES_MAX; k++)
		if (!strcmp(sample_types[k], type))
			return k;
	return -1;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int64_t clock_mono_to_real_ns(void)
{
	int64_t best_gap = INT64_MAX, off = 0;

	/* Bracket a realtime reading between two monotonic ones; keep the tightest. */
	for (int i = 0; i < 5; i++) {
		struct timespec m1, r, m2;
		int64_t gap;

		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		gap = ts_ns(&m2) - ts_ns(&m1);
		if (gap < best_gap) {
			best_gap = gap;
			off = ts_ns(&r) - (ts_ns(&m1) + gap / 2);
		}
	}
	return off;
}
