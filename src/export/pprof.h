/* SPDX-License-Identifier: MIT */
/*
 * pprof exporter: a struct profile as a gzip-compressed
 * perftools.profiles.Profile, the file `go tool pprof`, Parca, Pyroscope
 * and Grafana read.
 *
 * Samples carry two values, samples/count and cpu/nanoseconds (count times
 * the sampling period), and the labels "pid" and "tid" (numeric; tid only
 * when the stack's thread is known) and "comm" (string). mapping[0] is the
 * main executable (the heaviest mapped file that is not a shared object),
 * which pprof shows as "File:". Unsymbolized locations keep their exact
 * addresses, each its own Location, whatever the flame graph merges.
 *
 * Addresses: a profile keeps user addresses as ELF virtual addresses, but
 * pprof wants Location.address to be the runtime address inside its
 * Mapping [memory_start, memory_limit) at file_offset, as in the process.
 * Each user Mapping is the process mapping the location was seen in, and
 * the address is rebuilt from it: a non-PIE executable runs at its link
 * address (the vaddr already lies in the mapping); otherwise the address
 * is map_start + vaddr - map_pgoff, which is exact when the segment's
 * p_vaddr equals its p_offset (GNU ld's layout for PIE and shared
 * objects). When that would fall past the mapping's end (lld shifts
 * segments by whole pages) the smallest page-multiple shift that fits is
 * assumed. Every guess keeps the in-page offset, which is always right.
 * Locations without a recorded mapping range (the kernel) keep their
 * address, and their Mapping is sized to cover them.
 */
#ifndef SONDE_EXPORT_PPROF_H
#define SONDE_EXPORT_PPROF_H

#include <stdio.h>

struct profile;

/*
 * Write @p to @f as gzip-compressed pprof. @f is flushed, not closed.
 * Returns 0 or -errno (-ENOMEM, -EIO, or the write error).
 */
int pprof__write(const struct profile *p, FILE *f);

struct pprof_opts {
	/*
	 * One sample type instead of samples/count and cpu/nanoseconds: the
	 * profile's counts are of this (e.g. "alloc_space", "bytes"), and
	 * there is no period. NULL: the default pair.
	 */
	const char *sample_type;
	const char *sample_unit; /* default "count" */
};

/* pprof__write() with @o (may be NULL). */
int pprof__write_opts(const struct profile *p, FILE *f, const struct pprof_opts *o);

#endif /* SONDE_EXPORT_PPROF_H */
