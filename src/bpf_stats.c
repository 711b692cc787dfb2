// SPDX-License-Identifier: MIT
#include <stdlib.h>

#include <bpf/libbpf.h>

#include "sonde/bpf_stats.h"

uint64_t bpf_stats_sum(const struct bpf_map *map, uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals, sum = 0;
	__u32 key = idx;

	if (ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map__lookup_elem(map, &key, sizeof(key), vals, ncpu * sizeof(*vals), 0)) {
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	}
	free(vals);
	return sum;
}
