/* SPDX-License-Identifier: MIT */
/*
 * Many uprobes in one BPF link (BPF_LINK_TYPE_UPROBE_MULTI, Linux 6.6):
 * one syscall attaches every function of a file for a process, with a
 * cookie each, and closing the link removes them all with one RCU wait
 * (per-function perf-event uprobes cost ~120 ms each to remove here: 40
 * functions took 9.6 s to detach). libbpf 1.1 has no API for it, so the
 * syscall is made here.
 */
#ifndef SONDE_PROBES_UPROBE_MULTI_H
#define SONDE_PROBES_UPROBE_MULTI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpf_program;

enum uprobe_multi_kind {
	UPROBE_MULTI_ENTRY,
	UPROBE_MULTI_RETURN,
	/*
	 * One program at entry and return (Linux 6.13): an entry that returns
	 * non-zero skips its return probe, and a call the program does not
	 * want costs no return trampoline (~0.55 us here).
	 */
	UPROBE_MULTI_SESSION,
};

/* The program's attach type, to set before load for uprobe_multi_attach() of @kind. */
int uprobe_multi_prepare(struct bpf_program *prog, enum uprobe_multi_kind kind);

/*
 * Attach @prog (prepared for @kind, loaded) to @n file offsets of @path in
 * process @pid (0: every process). Returns the link fd, or -errno:
 * -ENOTSUPP (524) or -EINVAL when the kernel refuses one of the
 * instructions, -ENOSYS/-EOPNOTSUPP without kernel support.
 */
int uprobe_multi_attach(const struct bpf_program *prog, const char *path, pid_t pid,
			const uint64_t *offsets, const uint64_t *cookies, size_t n,
			enum uprobe_multi_kind kind);

#endif /* SONDE_PROBES_UPROBE_MULTI_H */
