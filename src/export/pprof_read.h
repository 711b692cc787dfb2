/* SPDX-License-Identifier: MIT */
/*
 * pprof reader: a perftools.profiles.Profile (already decompressed) into
 * a struct profile, so a saved profile, ours or any other pprof writer's,
 * can be rendered again or compared. One sample type is read: the one
 * named, or the first.
 *
 * Locations: the mapping's file becomes the module, and the address is
 * kept as the offset into the file (address - memory_start + file_offset)
 * with the mapping's range, which pprof__write() turns back into the very
 * same runtime address. Kernel mappings ("[kernel.kallsyms]", or addresses
 * in the kernel half) keep absolute addresses. Line entries are innermost
 * first in both formats: all but the last are inlined. Labels: "pid" and
 * "tid" (numbers), "comm" (a string); without a comm the stack's root is
 * named after the main file (mapping[0]).
 */
#ifndef SONDE_EXPORT_PPROF_READ_H
#define SONDE_EXPORT_PPROF_READ_H

#include <stddef.h>
#include <stdint.h>

struct profile;

#define PPROF_TYPE_LEN 64

struct pprof_read_info {
	char sample_type[PPROF_TYPE_LEN]; /* the one read, e.g. "samples" */
	char sample_unit[PPROF_TYPE_LEN]; /* e.g. "count" */
	char types[512];		  /* every sample type, "samples/count, cpu/nanoseconds" */
	uint64_t samples;		  /* samples added */
	uint64_t skipped;		  /* samples with a value <= 0 (diff profiles), left out */
};

/*
 * Decode @len bytes at @data into @p (which should be empty), reading the
 * sample type named @sample_type (NULL: the first). @name is for messages.
 * 0, or -EINVAL for a malformed profile or an unknown sample type (one
 * line logged, naming @name and the types there are), -ENOMEM.
 */
int pprof__read(const uint8_t *data, size_t len, const char *name, const char *sample_type,
		struct profile *p, struct pprof_read_info *info);

#endif /* SONDE_EXPORT_PPROF_READ_H */
