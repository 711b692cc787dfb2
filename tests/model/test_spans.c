// SPDX-License-Identifier: MIT
/* The clock offset that turns BPF's monotonic span times into wall-clock ones. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <criterion/criterion.h>

#include "model/spans.h"

Test(spans, clock_offset_matches_realtime)
{
	struct timespec m, r;
	int64_t off = clock_mono_to_real_ns(), now_mono, now_real;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	now_mono = (int64_t)m.tv_sec * 1000000000 + m.tv_nsec;
	now_real = (int64_t)r.tv_sec * 1000000000 + r.tv_nsec;
	/* Within a millisecond: the two readings above are microseconds apart. */
	cr_assert(llabs(now_mono + off - now_real) < 1000000, "offset off by %lld ns",
		  (long long)(now_mono + off - now_real));
}
