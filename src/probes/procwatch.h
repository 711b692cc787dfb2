/* SPDX-License-Identifier: MIT */
/*
 * Process events (struct sonde_proc_event, bpf/procevents.bpf.c) taken
 * off their ring by a thread of their own, which snapshots
 * /proc/PID/maps at each exec, fork and mmap of code of a target
 * (SONDE_PROC_F_TARGET): the collecting thread may be busy for a long
 * while (the first use of a big binary's symbols and DWARF), and a
 * short-lived process is gone by then. The thread reads nothing but
 * maps; records wait, in arrival order and bounded, for
 * procwatch__drain() on the collecting thread, which owns the symbolizer
 * and unwinder. Used by probes/procevents.c while stack probes run.
 */
#ifndef SONDE_PROBES_PROCWATCH_H
#define SONDE_PROBES_PROCWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sonde/events.h"

struct bpf_map;
struct mmapwatch;
struct procwatch;

/* Maps text held at once; past it snapshots are dropped (counted), not the events. */
#define PROCWATCH_MAX_BYTES (16u << 20)
/* Records held at once; past it the thread stops reading the ring until a drain. */
#define PROCWATCH_MAX_RECS 65536u

struct procwatch_rec {
	struct sonde_proc_event ev;
	int same_root;	  /* the process's root was ours when its maps were read */
	const char *maps; /* a target's exec/fork/mmap: the snapshot; NULL if none */
};

struct procwatch_stats {
	uint64_t events;    /* records taken from the ring */
	uint64_t snapshots; /* maps read */
	uint64_t gone;	    /* processes gone before their maps could be read */
	uint64_t merged;    /* mmap snapshots replaced by a newer one before use */
	uint64_t dropped;   /* snapshots dropped over PROCWATCH_MAX_BYTES */
	uint64_t stalls;    /* times the ring was left waiting over PROCWATCH_MAX_RECS */
	uint64_t mmaps_lost; /* mmap records perf could not write (its ring full) */
};

/*
 * Start the thread on ring @map; with @mw (owned from now on, freed on
 * error too), the mmaps of code come from it, for the processes in
 * @targets (any with @target_all), not from the ring. 0 or -errno (logged).
 */
int procwatch__new(const struct bpf_map *map, const struct bpf_map *targets, bool target_all,
		   struct mmapwatch *mw, struct procwatch **out);
/*
 * Take what the ring holds now on the caller's thread (the watcher may
 * lag on a loaded machine), so that every event before this moment is
 * snapshotted before the samples taken before it are processed. Returns
 * true when it stopped at PROCWATCH_MAX_RECS: drain, then call again.
 */
bool procwatch__catch_up(struct procwatch *pw);
/* Hand every waiting record to @fn, oldest first. */
void procwatch__drain(struct procwatch *pw, void (*fn)(void *ctx, const struct procwatch_rec *r),
		      void *ctx);
void procwatch__stats(struct procwatch *pw, struct procwatch_stats *st);
/* Stop and join the thread (what still waits is dropped); NULL is fine. */
void procwatch__free(struct procwatch *pw);

#endif /* SONDE_PROBES_PROCWATCH_H */
