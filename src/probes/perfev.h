/* SPDX-License-Identifier: MIT */
/* Per-CPU perf events that drive sampling programs. */
#ifndef SONDE_PERFEV_H
#define SONDE_PERFEV_H

#include <stdbool.h>

struct bpf_program;
struct bpf_link;

/*
 * Parse a kernel CPU list ("0-3,5") into a newly allocated array of CPU
 * numbers. Returns the count or -errno.
 */
int cpulist_parse(const char *s, int **cpus);
/* Online CPUs from /sys/devices/system/cpu/online. Count or -errno. */
int cpus_online(int **cpus);

struct perfev_set;

/*
 * Open a software cpu-clock event at @freq Hz on every online CPU and
 * attach @prog to each. Returns 0 or -errno (message printed).
 */
int perfev_set__open(struct bpf_program *prog, unsigned int freq, struct perfev_set **out);
/*
 * The same for software event @config (PERF_COUNT_SW_PAGE_FAULTS...), one
 * sample every @n events, or with @freq about @n samples a second on each
 * CPU, the kernel adjusting the period (the program reads it from
 * ctx->sample_period).
 */
int perfev_set__open_sw(struct bpf_program *prog, unsigned int config, unsigned long long n,
			bool freq, struct perfev_set **out);
int perfev_set__count(const struct perfev_set *s);
void perfev_set__free(struct perfev_set *s);

#endif /* SONDE_PERFEV_H */
