/* SPDX-License-Identifier: MIT */
/*
 * Aggregated stack profile: interned locations (an address in a module with
 * its function, file:line and inline chain) and stacks of location ids with
 * sample counts. Every exporter (folded, SVG, pprof, top table) reads this.
 */
#ifndef SONDE_PROFILE_H
#define SONDE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_LINES 8

enum profile_loc_flags {
	PROFILE_LOC_KERNEL = 1u << 0,
};

struct profile_line {
	const char *function; /* NULL when the address has no name */
	const char *file; /* NULL when unknown */
	uint32_t line; /* 0 when unknown */
	uint32_t inlined; /* 1: inlined into the next (outer) line */
};

struct profile_location {
	const char *module; /* path, "[kernel.kallsyms]", or NULL if unmapped */
	const char *build_id; /* hex or NULL */
	uint64_t address; /* module-relative (ELF vaddr) for user, absolute for kernel */
	uint64_t map_start, map_end, map_pgoff; /* for pprof Mapping; 0 if none */
	uint32_t flags; /* enum profile_loc_flags */
	uint32_t nlines; /* 0 = unsymbolized */
	/* Innermost first, as struct sym_result::frames. */
	struct profile_line lines[PROFILE_MAX_LINES];
};

struct profile_stack {
	uint32_t pid;
	const char *comm;
	uint64_t count;
	uint32_t n;
	const uint32_t *locs; /* location ids, root (outermost caller) first */
};

struct profile;

struct profile *profile__new(void);
void profile__free(struct profile *p);

/*
 * Intern a location; strings are copied. Returns the id (>= 0) or -ENOMEM.
 * Equal locations (module, address, flags, same lines) get the same id.
 */
int profile__intern_location(struct profile *p, const struct profile_location *loc);
/*
 * Add @count samples of the stack @locs[0..n) (root first) seen in process
 * @pid named @comm. Equal (pid, comm, stack) keys are merged.
 * Returns 0 or -errno.
 */
int profile__add(struct profile *p, uint32_t pid, const char *comm,
		 const uint32_t *locs, uint32_t n, uint64_t count);

/*
 * Pointers returned below stay valid until profile__free(), however much
 * the profile grows; profile strings are interned, so equal strings in
 * locations and comms have equal pointers.
 */
size_t profile__stack_count(const struct profile *p);
const struct profile_stack *profile__stack(const struct profile *p, size_t i);
size_t profile__location_count(const struct profile *p);
const struct profile_location *profile__location(const struct profile *p, uint32_t id);
uint64_t profile__total(const struct profile *p);

/* Sampling period in nanoseconds of CPU time per sample, and wall span. */
void profile__set_period_ns(struct profile *p, uint64_t period_ns);
uint64_t profile__period_ns(const struct profile *p);
void profile__set_time(struct profile *p, uint64_t start_unix_ns, uint64_t duration_ns);
uint64_t profile__start_unix_ns(const struct profile *p);
uint64_t profile__duration_ns(const struct profile *p);

/*
 * The display name of line @li of location @loc as a flame-graph frame:
 * "func", "func_[k]" for kernel, "func_[i]" for an inlined frame,
 * "module+0xOFF" for an unnamed address in a known module (basename, the
 * location's address; kernel ones also get "_[k]"), "[unknown]"
 * otherwise. Writes into @buf (truncating), returns @buf.
 */
const char *profile__frame_name(const struct profile_location *loc, uint32_t li,
				char *buf, size_t len);

/*
 * Expand a stack into display frames, root first: comm, then for each
 * location its lines outermost first. Calls @cb once per frame with the
 * frame name and the location/line it came from (loc NULL for the comm).
 * Returns 0, or the first non-zero value @cb returned.
 */
typedef int (*profile_frame_cb)(void *ctx, const char *name,
				const struct profile_location *loc, uint32_t li);
int profile__walk_frames(const struct profile *p, const struct profile_stack *st,
			 profile_frame_cb cb, void *ctx);

#endif /* SONDE_PROFILE_H */
