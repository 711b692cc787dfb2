/* SPDX-License-Identifier: MIT */
/*
 * JIT symbol maps, /tmp/perf-PID.map: one "START SIZE name" line per
 * compiled function (hex without 0x), appended while the JIT runs
 * (node --perf-basic-prof, Java's perf-map-agent, LuaJIT, ...).
 */
#ifndef SONDE_PERFMAP_H
#define SONDE_PERFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes of one map ever read (a hostile map may be a sparse terabyte). */
#define PERFMAP_DEFAULT_MAX_BYTES (256ull << 20)

struct perfmap;

/*
 * Where the map is and what it must be. The file is written by the
 * target, so nothing about it is trusted: it is opened with O_NOFOLLOW
 * and O_NONBLOCK, must be a regular file, and with @root its path is
 * resolved inside that directory (openat2 RESOLVE_IN_ROOT: a symlink in
 * a container cannot point at the host's files).
 */
struct perfmap_opts {
	size_t sz;	    /* sizeof(struct perfmap_opts) */
	size_t max_entries; /* 0 = default 1M; later lines are counted, not kept */
	uint64_t max_bytes; /* bytes read over the map's life; 0 = PERFMAP_DEFAULT_MAX_BYTES */
	const char *root;   /* "/proc/PID/root", or NULL: @path as is */
	/*
	 * Non-zero: the file must belong to uid @owner (the target's) or to
	 * root, and not be writable by others, as perf requires; else
	 * refresh returns -EPERM.
	 */
	int check_owner;
	uid_t owner;
	/* Polled while reading: true stops a long read (SIGINT, SIGTERM). */
	bool (*stopping)(void);
};

struct perfmap_entry {
	uint64_t start, size;
	const char *name;
};

/*
 * A map read from @path (nothing is read until perfmap__refresh()), keeping
 * at most @max_entries entries (0 = default 1M); later lines past the
 * bound are counted, not kept. NULL on ENOMEM.
 */
struct perfmap *perfmap__new(const char *path, size_t max_entries);
/* The same with every option; @o may be NULL. */
struct perfmap *perfmap__new_opts(const char *path, const struct perfmap_opts *o);
void perfmap__free(struct perfmap *pm);

/*
 * Read what was appended to the file since the last call (the whole file
 * the first time; from the start again if it shrank, i.e. was rewritten).
 * Returns 1 when entries changed, 0 when nothing did, or -errno (-ENOENT
 * while the file does not exist, -ELOOP for a symlink, -EINVAL for what is
 * not a regular file, -EPERM for a file of another owner). Past max_bytes,
 * or once a read was interrupted by stopping(), nothing more is read.
 */
int perfmap__refresh(struct perfmap *pm);
/*
 * Parse map text as if appended to the file; a trailing partial line is
 * kept until its end arrives. Malformed lines are skipped and counted.
 * Returns 0 or -ENOMEM.
 */
int perfmap__feed(struct perfmap *pm, const char *text, size_t len);

/*
 * The entry containing @addr; where entries overlap (the JIT reused
 * memory), the one appended last. NULL when none.
 */
const struct perfmap_entry *perfmap__find(struct perfmap *pm, uint64_t addr);

size_t perfmap__count(const struct perfmap *pm);
/*
 * Heap bytes the map holds: its entries (by capacity), the interned names
 * and the struct (with its partial-line buffer); 0 for NULL. Changes only
 * in perfmap__refresh() and perfmap__feed().
 */
size_t perfmap__bytes(const struct perfmap *pm);
/* Lines skipped as malformed, and entries dropped over the bound. */
uint64_t perfmap__bad_lines(const struct perfmap *pm);
uint64_t perfmap__dropped(const struct perfmap *pm);
/* Bytes read so far, and whether reading stopped at max_bytes or a stop. */
uint64_t perfmap__bytes_read(const struct perfmap *pm);
bool perfmap__truncated(const struct perfmap *pm);

#endif /* SONDE_PERFMAP_H */
