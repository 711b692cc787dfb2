/* SPDX-License-Identifier: MIT */
/*
 * sonde's own memory, as a budget (the agent's memory_limit) counts it:
 * its anonymous resident memory (heap, stacks, queues: RssAnon + RssShmem
 * of /proc/self/status) plus the kernel memory of its BPF maps (the
 * memlock of each map's /proc/self/fdinfo, ring buffers included).
 *
 * File-backed resident pages are left out: the executable's and the
 * libraries' are clean, shared and reclaimable, and a ring buffer's
 * mapping is of pages its map's memlock already counts (mapped twice
 * for the wrap-around: a 256 MiB ring shows as 512 MiB of VmRSS).
 */
#ifndef SONDE_BASE_SELFMEM_H
#define SONDE_BASE_SELFMEM_H

#include <stdint.h>

struct selfmem {
	uint64_t rss;	    /* VmRSS, file-backed pages included (not counted) */
	uint64_t anon;	    /* resident anonymous and shared-memory bytes */
	uint64_t maps;	    /* BPF maps' kernel memory */
	unsigned int nmaps; /* BPF maps open */
	uint64_t largest;   /* the largest map's bytes */
};

/* Read it now. 0, or -errno when /proc/self/status cannot be read. */
int selfmem_read(struct selfmem *m);

/* What the budget counts: anon + maps. */
static inline uint64_t selfmem_used(const struct selfmem *m)
{
	return m->anon + m->maps;
}

#endif /* SONDE_BASE_SELFMEM_H */
