/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * PIDs as sonde sees them. When sonde runs in a child PID namespace (a
 * sidecar container), the kernel's PIDs are not the ones in its /proc or
 * on its command line: every PID that crosses to the collector (filters,
 * sample and span fields) is the one of sonde's namespace, which the
 * collector sets before load (0: the initial namespace, no translation).
 * A task outside that namespace has no PID there: 0, never a target.
 */
#ifndef SONDE_BPF_PIDNS_H
#define SONDE_BPF_PIDNS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

/* The current task's tgid << 32 | pid in sonde's namespace; 0 if it has none. */
static __always_inline __u64 sonde_pid_tgid(void)
{
	struct bpf_pidns_info ns;

	if (!pidns_ino)
		return bpf_get_current_pid_tgid();
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return 0;
	return (__u64)ns.tgid << 32 | ns.pid;
}

/* Namespace levels searched for sonde's (containers nest a few deep at most). */
#define PIDNS_MAX_LEVEL 8

/* The PID of @task (its thread id) in sonde's namespace; 0 if it has none. */
static __always_inline __u32 sonde_task_pid(struct task_struct *task)
{
	struct pid *pid;
	unsigned int level;

	if (!pidns_ino)
		return BPF_CORE_READ(task, pid);
	pid = BPF_CORE_READ(task, thread_pid);
	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	for (unsigned int i = 0; i < PIDNS_MAX_LEVEL; i++) {
		struct upid up;

		if (i > level)
			break;
		if (bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[i]))
			return 0;
		if (BPF_CORE_READ(up.ns, ns.inum) == pidns_ino)
			return up.nr;
	}
	return 0;
}

/* The thread-group id of @task in sonde's namespace; 0 if it has none. */
static __always_inline __u32 sonde_task_tgid(struct task_struct *task)
{
	if (!pidns_ino)
		return BPF_CORE_READ(task, tgid);
	return sonde_task_pid(BPF_CORE_READ(task, group_leader));
}

#endif /* SONDE_BPF_PIDNS_H */
