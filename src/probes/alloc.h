/* SPDX-License-Identifier: MIT */
/*
 * The alloc probe: uprobes on the C allocator (malloc, calloc, realloc,
 * posix_memalign, aligned_alloc/memalign, valloc, pvalloc, and free with
 * --inuse) of the target's libc, from bpf/alloc.bpf.c. libstdc++'s
 * operator new and delete call malloc and free, so C++ allocations are
 * seen there, under an `operator new` frame (probing both would count
 * each allocation twice).
 *
 * Sampling by bytes, decided in the kernel: a per-thread countdown of
 * bytes drawn from an exponential distribution of mean R (--alloc-rate);
 * the allocation that crosses it is sampled and weighs S / (1 - e^(-S/R))
 * bytes and 1 / (1 - e^(-S/R)) objects (S its size), an unbiased estimate
 * of both. --alloc-rate 0 stacks every call. Only sampled calls pay for a
 * stack and, with --inuse, for the return probe that learns the address
 * (uprobe sessions: unsampled calls return without the uretprobe trap).
 *
 * Sample types alloc_space/bytes and alloc_objects/count; with --inuse
 * also inuse_space/bytes and inuse_objects/count of the sampled blocks
 * still live at the end, and the leak report (largest first, with ages).
 */
#ifndef SONDE_PROBES_ALLOC_H
#define SONDE_PROBES_ALLOC_H

#include <stdbool.h>

#include "probes/probe.h"

#define ALLOC_RATE_DEFAULT (512u * 1024)

struct alloc_opts {
	unsigned int rate;     /* --alloc-rate BYTES mean sampling interval; 0 = every call */
	bool inuse;	       /* --inuse: track frees, report live blocks */
	unsigned int max_live; /* --alloc-max-live: sampled blocks tracked at once */
	const char *libc;      /* --alloc-lib: the allocator's file (default: the target's libc) */
};

void alloc_opts_default(struct alloc_opts *o);

extern const struct probe_ops alloc_probe_ops;

#endif /* SONDE_PROBES_ALLOC_H */
