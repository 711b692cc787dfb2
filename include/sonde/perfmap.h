/* SPDX-License-Identifier: MIT */
/*
 * JIT symbol maps, /tmp/perf-PID.map: one "START SIZE name" line per
 * compiled function (hex without 0x), appended while the JIT runs
 * (node --perf-basic-prof, Java's perf-map-agent, LuaJIT, ...).
 */
#ifndef SONDE_PERFMAP_H
#define SONDE_PERFMAP_H

#include <stddef.h>
#include <stdint.h>

struct perfmap;

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
void perfmap__free(struct perfmap *pm);

/*
 * Read what was appended to the file since the last call (the whole file
 * the first time; from the start again if it shrank, i.e. was rewritten).
 * Returns 1 when entries changed, 0 when nothing did, or -errno (-ENOENT
 * while the file does not exist).
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
/* Lines skipped as malformed, and entries dropped over the bound. */
uint64_t perfmap__bad_lines(const struct perfmap *pm);
uint64_t perfmap__dropped(const struct perfmap *pm);

#endif /* SONDE_PERFMAP_H */
