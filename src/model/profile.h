/* SPDX-License-Identifier: MIT */
/*
 * Aggregated stack profile: interned locations (an address in a module with
 * its function, file:line and inline chain) and stacks of location ids with
 * one value per sample type. Every exporter (folded, SVG, pprof, top table)
 * reads this.
 *
 * Sample types are pprof's ValueType pairs ("off_cpu", "nanoseconds"). A
 * new profile has one, "samples"/"count" (CPU samples, whose period turns
 * them into cpu/nanoseconds in pprof); the first profile__add_type() made
 * before any value was added replaces it, so a profile of off-CPU time
 * alone starts with off_cpu. profile__add() adds to type 0, so callers of
 * one-type profiles never name a type. pprof writes every type into one
 * file; the one-value writers (folded, SVG, top) write the first type of
 * what they are given, and profile__extract() makes a one-type profile of
 * any other type for them.
 */
#ifndef SONDE_PROFILE_H
#define SONDE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_LINES 8
/* Sample types one profile holds (off-CPU, alloc space and objects, ...). */
#define PROFILE_MAX_TYPES 8

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

/* A sample type: pprof's ValueType ("alloc_space", "bytes"). */
struct profile_type {
	const char *type;
	const char *unit;
};

struct profile_stack {
	uint32_t pid;
	uint32_t tid; /* thread id, 0 when unknown (a label, never in frame names) */
	const char *comm;
	/*
	 * The probed call the samples were taken in (sonde trace with a stack
	 * probe): its span and trace ids and function, labels like tid.
	 * span_id 0: none, and the others are 0 and NULL.
	 */
	uint64_t span_id;
	uint64_t trace_id_hi, trace_id_lo;
	const char *function;
	uint64_t count; /* the value of type 0 (values[0]) */
	uint32_t n;
	const uint32_t *locs; /* location ids, root (outermost caller) first */
	uint64_t values[PROFILE_MAX_TYPES]; /* one per sample type */
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
 * profile__add() for thread @tid of @pid (0: unknown). Stacks of different
 * threads stay apart (pprof labels them) but have the same frames, so
 * folded stacks, the flame graph and the table merge them as before.
 */
int profile__add_thread(struct profile *p, uint32_t pid, uint32_t tid, const char *comm,
			const uint32_t *locs, uint32_t n, uint64_t count);

/* What a stack is keyed by besides its frames (the fields of struct profile_stack). */
struct profile_key {
	uint32_t pid, tid;
	const char *comm;
	uint64_t span_id; /* 0: not in a probed call */
	uint64_t trace_id_hi, trace_id_lo;
	const char *function;
};

/*
 * profile__add_thread_value() for the stack of key @k (strings copied):
 * stacks of different calls stay apart as those of different threads do.
 */
int profile__add_keyed(struct profile *p, uint32_t type, const struct profile_key *k,
		       const uint32_t *locs, uint32_t n, uint64_t value);

/*
 * Declare sample type @type with @unit (strings copied). Returns its index
 * (>= 0): the index it already has if declared, 0 for the first type
 * declared while no value was added (it replaces the default), or
 * -E2BIG past PROFILE_MAX_TYPES, -EEXIST for a known type with another
 * unit, -ENOMEM.
 */
int profile__add_type(struct profile *p, const char *type, const char *unit);
size_t profile__type_count(const struct profile *p);
/* Type @i (NULL past the end); its strings live as long as the profile. */
const struct profile_type *profile__type(const struct profile *p, size_t i);
/* Index of @type, or -ENOENT. */
int profile__type_index(const struct profile *p, const char *type);
/*
 * Add @value to type @type of the stack (pid, comm, locs), as
 * profile__add() does for type 0. Returns the stack's index (>= 0, for
 * profile__stack_add()) or -errno (-EINVAL for an undeclared type).
 */
int profile__add_value(struct profile *p, uint32_t type, uint32_t pid, const char *comm,
		       const uint32_t *locs, uint32_t n, uint64_t value);
/* profile__add_value() for thread @tid (see profile__add_thread()). */
int profile__add_thread_value(struct profile *p, uint32_t type, uint32_t pid, uint32_t tid,
			      const char *comm, const uint32_t *locs, uint32_t n, uint64_t value);
/* Add @value to type @type of stack @stack. 0 or -EINVAL. */
int profile__stack_add(struct profile *p, size_t stack, uint32_t type, uint64_t value);
/* Sum of type @type over every stack (profile__total() is type 0's). */
uint64_t profile__type_total(const struct profile *p, uint32_t type);
/*
 * A new profile of type @type of @p alone: the same locations (same ids),
 * its stacks with a non-zero value, times, and the period when @type is
 * type 0. For the one-value writers. NULL on ENOMEM or a bad @type.
 */
struct profile *profile__extract(const struct profile *p, uint32_t type);

/*
 * A new profile of the stacks of @p that @keep says yes to, with every
 * value, thread, sample type, period and time (the agent's window of one
 * service); only the locations they use, interned anew. NULL on ENOMEM.
 */
struct profile *profile__filter(const struct profile *p,
				bool (*keep)(void *ctx, const struct profile_stack *st), void *ctx);

/*
 * Add every stack of @src to @dst (locations interned anew, each value to
 * the type of the same name, declared in @dst when missing; threads and
 * probed calls kept); @dst's time then covers both, its period is
 * @src's if it had none. The windows of a run merged back into one, a
 * baseline of several windows. 0 or -errno (-E2BIG, -EEXIST, -ENOMEM as
 * profile__add_type(): @dst may then hold part of @src).
 */
int profile__merge(struct profile *dst, const struct profile *src);

/*
 * Stack @stack of @src as a stack of @dst, under the same key (process,
 * thread, probed call) with its locations interned anew, @value added to
 * its type @type: its index in @dst (>= 0), or -errno (-EINVAL for a bad
 * @stack or @type). A stack kept apart from the profile it was sampled
 * into, for gauges that outlive the windows (the alloc probe's blocks in
 * use).
 */
int profile__add_stack_of(struct profile *dst, uint32_t type, const struct profile *src,
			  size_t stack, uint64_t value);

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

/*
 * Sampling period in nanoseconds of CPU time per sample of the
 * samples/count type (pprof's cpu/nanoseconds), and the wall span.
 */
void profile__set_period_ns(struct profile *p, uint64_t period_ns);
uint64_t profile__period_ns(const struct profile *p);
void profile__set_time(struct profile *p, uint64_t start_unix_ns, uint64_t duration_ns);
uint64_t profile__start_unix_ns(const struct profile *p);
uint64_t profile__duration_ns(const struct profile *p);

/*
 * The display name of line @li of location @loc as a flame-graph frame:
 * "func", "func_[k]" for kernel, "func_[i]" for an inlined frame,
 * "[module]" for an unnamed address in a known module (its basename in
 * brackets, as pprof and stackcollapse-perf.pl name them; one frame per
 * module, not per address, so unsymbolized code does not split the graph
 * into a stack per offset; kernel ones also get "_[k]"), "[unknown]"
 * otherwise. The address stays in the location (pprof keeps it exact, the
 * SVG lists the offsets in the tooltip). Writes into @buf (truncating),
 * returns @buf.
 */
const char *profile__frame_name(const struct profile_location *loc, uint32_t li,
				char *buf, size_t len);

/*
 * Expand a stack into display frames, root first: comm, then for each
 * location its lines outermost first; consecutive unnamed addresses of
 * one module are one frame, reported with the innermost of them. Calls
 * @cb once per frame with the frame name and the location/line it came
 * from (loc NULL for the comm).
 * Returns 0, or the first non-zero value @cb returned.
 */
typedef int (*profile_frame_cb)(void *ctx, const char *name,
				const struct profile_location *loc, uint32_t li);
int profile__walk_frames(const struct profile *p, const struct profile_stack *st,
			 profile_frame_cb cb, void *ctx);

#endif /* SONDE_PROFILE_H */
