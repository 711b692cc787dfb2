/* SPDX-License-Identifier: MIT */
/*
 * Finding the separate debug file of a binary, as gdb does: by build-id
 * under each debug directory (DIR/.build-id/xx/yyyy.debug), then by
 * .gnu_debuglink next to the binary, in its .debug/ subdirectory and under
 * each debug directory (DIR/<binary's dir>/<link>). Every candidate is
 * tried inside the target's root first (containers), then on the host.
 * A build-id candidate must carry the same build-id, a debuglink one the
 * CRC32 the binary recorded: a stale debug file gives wrong names.
 */
#ifndef SONDE_DEBUGINFO_H
#define SONDE_DEBUGINFO_H

#include <stddef.h>
#include <stdint.h>

#define DEBUGINFO_DEFAULT_DIRS "/usr/lib/debug"

struct debuginfo_query {
	/* Prefix reaching the target's root ("/proc/PID/root"); NULL or ""
	 * when the target shares ours. */
	const char *root;
	/* The binary as the target sees it ("/usr/bin/python3"). */
	const char *path;
	const char *build_id;  /* lower-case hex, or NULL */
	const char *debuglink; /* .gnu_debuglink name, or NULL */
	uint32_t debuglink_crc;
	/* Colon-separated debug directories; NULL = DEBUGINFO_DEFAULT_DIRS. */
	const char *debug_dirs;
};

/*
 * Write the path of the verified debug file into @out (@len bytes).
 * Returns 0, -ENOENT when there is none, -ENAMETOOLONG, -ENOMEM.
 */
int debuginfo__find(const struct debuginfo_query *q, char *out, size_t len);

/* CRC32 of a whole file (the .gnu_debuglink checksum); 0 or -errno. */
int debuginfo__crc32(const char *path, uint32_t *crc);

#endif /* SONDE_DEBUGINFO_H */
