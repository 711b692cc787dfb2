/* SPDX-License-Identifier: MIT */
/*
 * Stack samples into profile stacks, shared by every probe that captures
 * stacks (cpu, offcpu, alloc, faults). A sample (struct
 * sonde_sample) carries kernel addresses, the frame-pointer user stack and,
 * in DWARF mode, the user registers and a stack snapshot: the user stack is
 * unwound from the snapshot (completed from the frame-pointer stack where
 * the snapshot ends first), every new address is symbolized once (cached
 * per PID and address, bounded), and the stack is added to the profile.
 * Never called from a ring-buffer callback: symbolizing reads files.
 */
#ifndef SONDE_PROBES_STACKS_H
#define SONDE_PROBES_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sonde/events.h"

struct symbolizer;
struct unwinder;
struct profile;
struct callprof;

struct stacks;

struct stacks_stats {
	uint64_t samples;
	uint64_t frames;
	uint64_t unsymbolized; /* frames given no function name */
	uint64_t fp_fallbacks; /* DWARF unwinding impossible: FP stack used */
	uint64_t spliced;      /* DWARF stack completed from the FP stack */
	uint64_t stack_bytes;  /* snapshot bytes received */
	uint64_t unwind_ns;    /* CLOCK_MONOTONIC time spent unwinding */
	uint64_t bad_samples;  /* malformed records */
	uint64_t execs, mmaps, forks, exits; /* process events handled */
	uint64_t maps_unreadable;     /* exec/mmap events whose maps were already gone */
	uint64_t proc_nomem;	      /* process events lost to ENOMEM */
};

/* @unw NULL: frame-pointer stacks only. NULL on ENOMEM. */
struct stacks *stacks__new(struct symbolizer *sym, struct unwinder *unw, struct profile *prof);
void stacks__free(struct stacks *st);

/*
 * Whether @len bytes at @data are a well-formed sample (header counts
 * within bounds and the record long enough for them). A malformed one is
 * counted in bad_samples.
 */
bool stacks__valid(struct stacks *st, const void *data, size_t len);

/*
 * A process event with the maps its exec, fork or mmap left
 * (probes/procwatch.h, read while the process lived; events of processes
 * that are not targets are ignored): the symbolizer and the unwinder
 * take them, replacing older ones, and open the files a process of
 * another root maps; an exit waits until a sample taken
 * STACKS_EXIT_AFTER_MS after it has been processed (every sample of the
 * process, taken before, has been by then: the rings are read in order),
 * or STACKS_EXIT_GRACE_MS when none comes, then stacks__reap() releases
 * the process's state (bounded memory however many processes come and
 * go). Called by probes/procevents.c before the stack probes' ticks.
 */
#define STACKS_EXIT_AFTER_MS 100
#define STACKS_EXIT_GRACE_MS 5000
/* Exits waiting; past this many the oldest are released early. */
#define STACKS_MAX_PENDING_EXITS 65536
struct procwatch_rec;
void stacks__proc(struct stacks *st, const struct procwatch_rec *r);
/* Release the processes whose samples are all done (every tick). */
void stacks__reap(struct stacks *st);

/* Unwind, symbolize and add one sample with weight @count. 0 or -errno. */
int stacks__add(struct stacks *st, const struct sonde_sample *s, uint64_t count);
/* The same into sample type @type of the profile (profile__add_type()). 0 or -errno. */
int stacks__add_value(struct stacks *st, const struct sonde_sample *s, uint32_t type,
		      uint64_t value);
/*
 * The same with @nvals values (at most CALLPROF_MAX_VALUES) of @types.
 * *@stack is the profile stack's index, or -1 when the sample is not in
 * the profile (held for its call's end, or dropped by the slow-call
 * filter: model/callprof.h). 0 or -errno.
 */
int stacks__add_values(struct stacks *st, const struct sonde_sample *s, uint32_t nvals,
		       const uint32_t *types, const uint64_t *values, int *stack);

/*
 * Samples tagged with a probed call go through @c (the uprobe probe's,
 * model/callprof.h) from now on: per-call counts, labels, the slow-call
 * filter. NULL: straight into the profile, without labels.
 */
void stacks__set_calls(struct stacks *st, struct callprof *c);

void stacks__stats(const struct stacks *st, struct stacks_stats *out);
/*
 * Add samples to @prof from now on (a new window): location ids belong to
 * a profile, so the address cache starts over (the symbolizer's caches
 * stay), and samples held for their call move to @prof.
 */
void stacks__set_profile(struct stacks *st, struct profile *prof);
struct unwinder *stacks__unwinder(const struct stacks *st);

#endif /* SONDE_PROBES_STACKS_H */
