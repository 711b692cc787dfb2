/* SPDX-License-Identifier: MIT */
/*
 * Mappings of code as perf learns of them: a dummy software event on
 * every online CPU asking for mmap2 side-band records (PERF_RECORD_MMAP2:
 * the process, the range, the file), each in a small ring of its own.
 * Only an mmap (or an mprotect) that makes code costs anything, one
 * record; the raw sys_exit tracepoint this replaces put every syscall of
 * the host on the slow path (about 30 ns each, targets or not). Read by
 * procwatch's thread, which snapshots the process's maps.
 */
#ifndef SONDE_PROBES_MMAPWATCH_H
#define SONDE_PROBES_MMAPWATCH_H

#include <stdint.h>

struct mmapwatch;

/* A file mapped executable (anonymous code, the vDSO and the like are left out). */
struct mmapwatch_ev {
	uint32_t pid; /* as sonde's PID namespace sees it, as perf reports it */
	uint32_t tid;
	uint64_t addr, len;
	uint64_t time_ns; /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */
};

/* Open the events and their rings. 0 or -errno (not logged: the caller falls back). */
int mmapwatch__new(struct mmapwatch **out);
/* The events' fds, to poll for POLLIN. */
int mmapwatch__nfds(const struct mmapwatch *m);
int mmapwatch__fd(const struct mmapwatch *m, int i);
/* Every record the rings hold now, oldest first per CPU, to @fn. */
void mmapwatch__read(struct mmapwatch *m, void (*fn)(void *ctx, const struct mmapwatch_ev *e),
		     void *ctx);
/* Records the kernel could not write (a ring full), and records read. */
uint64_t mmapwatch__lost(const struct mmapwatch *m);
uint64_t mmapwatch__records(const struct mmapwatch *m);
/* NULL is fine. */
void mmapwatch__free(struct mmapwatch *m);

#endif /* SONDE_PROBES_MMAPWATCH_H */
