/* SPDX-License-Identifier: MIT */
/*
 * The samples of probed calls (sonde trace -f with stack probes). The
 * kernel tags every stack sample taken while a probed call is active with
 * that call's span id, trace id and function (the innermost call: see
 * bpf/callstack.bpf.h), so this is bookkeeping, never a join by time:
 *
 * - Without a filter, each sample goes into the profile at once, its stack
 *   keyed by the call (profile_key: pprof labels span_id, trace_id,
 *   function), and counted for its call: callprof__end() hands the
 *   totals over when the call's span arrives (the spans' sample counts).
 *
 * - With a filter (--slower-than, --slowest), the profile gets only the
 *   samples of the calls kept, and the decision is made when a call ends:
 *   its samples are held until then (bounded by max_held, drops counted).
 *   Held rather than kept and filtered at the end, because then memory
 *   grows with the slow calls alone and not with every call of a long
 *   run. A call that is not kept hands its samples to its caller's call
 *   (parent_span_id), so a slow call keeps the time spent in its fast
 *   probed callees; a root call that is not kept drops them. --slowest N
 *   keeps the N longest calls (of at least slower_than_ns); their samples
 *   go into the profile at callprof__finish(). Samples taken outside any
 *   probed call are dropped by a filter.
 *
 * The session hands a call's end over only after every sample ring was
 * read past it (src/probes/uprobe.c), so a call's samples arrive first;
 * calls whose end never comes (a lost span, longjmp past the probe, still
 * running at the end) are forgotten, the least recently sampled first,
 * when max_open calls await their end, and at callprof__finish().
 */
#ifndef SONDE_MODEL_CALLPROF_H
#define SONDE_MODEL_CALLPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/profile.h"

/* Values one sample adds (alloc: bytes and objects). */
#define CALLPROF_MAX_VALUES 2

struct callprof_opts {
	uint64_t slower_than_ns; /* keep calls at least this long; 0: no threshold */
	unsigned int slowest;	 /* keep the N longest calls; 0: no such limit */
	size_t max_held;	 /* samples held at once (open calls and the N longest) */
	size_t max_open;	 /* calls with samples whose end is awaited */
	/* callprof__end() will be called for every call: count samples per call. */
	bool ends;
};

/* One stack sample, its frames already location ids of the current profile. */
struct callprof_sample {
	uint32_t pid, tid;
	const char *comm;
	uint64_t span_id; /* 0: outside any probed call */
	uint64_t trace_id_hi, trace_id_lo;
	uint32_t func_id;
	const uint32_t *locs; /* root first */
	uint32_t n;
	uint32_t nvals;
	uint32_t types[CALLPROF_MAX_VALUES]; /* profile sample types */
	uint64_t values[CALLPROF_MAX_VALUES];
};

/* A call that ended, as its span says. */
struct callprof_end {
	uint64_t span_id, parent_span_id;
	uint64_t duration_ns;
};

/* The samples one call got (its own: not those of its probed callees). */
struct callprof_totals {
	uint64_t samples;
	uint64_t values[PROFILE_MAX_TYPES]; /* summed per profile sample type */
};

struct callprof_stats {
	uint64_t tagged;     /* samples taken in a probed call */
	uint64_t outside;    /* samples outside any probed call, dropped by a filter */
	uint64_t kept;	     /* samples of kept calls, in the profile */
	uint64_t kept_calls; /* calls kept (filter) */
	uint64_t fast;	     /* samples of calls not kept */
	uint64_t held_full;  /* samples dropped: max_held were held */
	uint64_t unended;    /* samples of calls whose end never came */
	uint64_t forgotten;  /* such calls forgotten: max_open were awaited, or at the end */
	uint64_t held_peak;  /* most samples held at once */
};

struct callprof;

/* Samples into @prof (the session's; see callprof__set_profile). NULL on ENOMEM. */
struct callprof *callprof__new(const struct callprof_opts *o, struct profile *prof);
void callprof__free(struct callprof *c);

/* Whether only the samples of some calls are kept (--slower-than, --slowest). */
bool callprof__filtering(const struct callprof *c);

/* Function @id is called @name (the function label; kept as a pointer). 0 or -ENOMEM. */
int callprof__set_function(struct callprof *c, uint32_t id, const char *name);

/*
 * Add sample @s: into the profile (*@stack its stack index), or held for
 * its call's end or dropped by the filter (*@stack -1). 0 or -errno.
 */
int callprof__add(struct callprof *c, const struct callprof_sample *s, int *stack);

/*
 * Call @e ended: its totals into @out (zero when it got no sample), and
 * with a filter, its samples kept or handed to its caller. 0 or -errno.
 */
int callprof__end(struct callprof *c, const struct callprof_end *e, struct callprof_totals *out);

/*
 * The run ended: the N longest calls' samples into the profile, the calls
 * still awaited forgotten. 0 or -errno.
 */
int callprof__finish(struct callprof *c);

/*
 * The session starts a new profile (a window): held samples' locations
 * are interned in @prof from the current one, which is still alive.
 * 0, or -errno after dropping every held sample (counted in held_full).
 */
int callprof__set_profile(struct callprof *c, struct profile *prof);

void callprof__stats(const struct callprof *c, struct callprof_stats *out);

#endif /* SONDE_MODEL_CALLPROF_H */
