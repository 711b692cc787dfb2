/* SPDX-License-Identifier: MIT */
/* Reading the per-CPU failure/event counters every BPF program keeps. */
#ifndef SONDE_BPF_STATS_H
#define SONDE_BPF_STATS_H

#include <stdint.h>

struct bpf_map;

/*
 * Sum over all possible CPUs of entry @idx of a BPF_MAP_TYPE_PERCPU_ARRAY
 * of __u64. 0 when the map cannot be read (the count is then unknown, not
 * an error worth failing a run for).
 */
uint64_t bpf_stats_sum(const struct bpf_map *map, uint32_t idx);

/*
 * Times the kernel skipped @prog because another BPF program was running
 * on that CPU (bpf_prog_info.recursion_misses); 0 when unknown.
 */
struct bpf_program;
uint64_t bpf_prog_misses(const struct bpf_program *prog);

#endif /* SONDE_BPF_STATS_H */
