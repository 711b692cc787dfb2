// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The session's target set in the kernel: one TGID hash map that every
 * probe's program filters on (the collector creates it and hands its fd
 * to each object before load), kept up to date here as targets fork and
 * exit, and the process events the collector needs to follow the set:
 *
 *   exec  every exec on the host, when discovery asks for them (the agent
 *         matches its rules on them: new targets within a poll, without
 *         scanning /proc in a loop); a target's, while stack probes run
 *         (watch_maps: its maps are read then); a launched command's
 *         first makes it SONDE_TARGET_ON
 *   fork  a target forked a process, which is now a target too (follow)
 *   exit  a target's process ended and left the map
 *   mmap  a target mapped a file executable (a library, by ld.so or
 *         dlopen), while stack probes run, when perf's mmap records
 *         (src/probes/mmapwatch.c, which cost no other syscall anything)
 *         cannot be had
 *
 * Events of targets carry SONDE_PROC_F_TARGET: with watch_maps the
 * collector snapshots their maps (src/probes/procwatch.c), so that a
 * short-lived process is symbolized after it is gone. With -a
 * (target_all, loaded only for stack probes) every process is a target
 * and the map is not used.
 *
 * PIDs are sonde's (bpf/pidns.bpf.h): a process outside sonde's PID
 * namespace has none there and is never reported.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sonde/events.h"
#include "pidns.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the collector before load. */
const volatile __u32 follow_forks = 0; /* 1: a target's children become targets */
const volatile __u32 report_execs = 0; /* 1: every exec is an event (discovery) */
const volatile __u32 watch_maps = 0;   /* 1: stack probes run: targets' execs and mmaps too */
const volatile __u32 target_all = 0;   /* 1: every process is a target (-a) */

/* The session's targets (shared: the collector reuses its fd in every probe). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_PSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

static __always_inline void send(__u32 op, __u32 pid, __u32 ppid, __u32 flags,
				 struct task_struct *task, __u64 addr, __u64 len)
{
	struct sonde_proc_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		stat_inc(SONDE_PSTAT_RB_DROPS);
		return;
	}
	e->kind = SONDE_EV_PROC;
	e->op = op;
	e->pid = pid;
	e->ppid = ppid;
	e->time_ns = bpf_ktime_get_ns();
	e->addr = addr;
	e->len = len;
	e->flags = flags;
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_ringbuf_submit(e, 0);
	stat_inc(SONDE_PSTAT_EVENTS);
}

/* Loaded with report_execs, watch_maps or a launched command. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid, on = SONDE_TARGET_ON, *t = NULL;
	bool target;

	tgid = sonde_task_tgid(task);
	if (!tgid)
		return 0;
	if (!target_all)
		t = bpf_map_lookup_elem(&targets, &tgid);
	/* A launched command is itself from its exec on. */
	if (t && *t == SONDE_TARGET_PRE_EXEC)
		bpf_map_update_elem(&targets, &tgid, &on, BPF_EXIST);
	target = target_all || t;
	if (report_execs || (watch_maps && target))
		send(SONDE_PROC_EXEC, tgid, 0, target ? SONDE_PROC_F_TARGET : 0, task, 0, 0);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid, one = SONDE_TARGET_ON, flags = 0;

	/* A new thread shares its creator's process: only new processes matter. */
	if (BPF_CORE_READ(parent, tgid) == BPF_CORE_READ(child, tgid))
		return 0;
	/* Runs in the parent; the child is a new process, its pid its tgid. */
	ptgid = sonde_pid_tgid() >> 32;
	ctgid = sonde_task_pid(child);
	if (!ptgid || !ctgid)
		return 0;
	if (target_all) {
		flags = SONDE_PROC_F_TARGET;
	} else {
		if (!bpf_map_lookup_elem(&targets, &ptgid))
			return 0;
		if (follow_forks) {
			if (bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY))
				stat_inc(SONDE_PSTAT_TARGETS_FULL);
			else
				flags = SONDE_PROC_F_TARGET;
		}
	}
	/* Until it execs, the child runs its parent's code with a copy of its maps. */
	send(SONDE_PROC_FORK, ctgid, ptgid, flags, parent, 0, 0);
	return 0;
}

/* Exited targets leave the map so that it does not fill up. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tgid;

	/* Only the group leader's exit ends the process. */
	if (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid))
		return 0;
	tgid = sonde_task_pid(task);
	if (!tgid || (!target_all && bpf_map_delete_elem(&targets, &tgid)))
		return 0;
	send(SONDE_PROC_EXIT, tgid, 0, SONDE_PROC_F_TARGET, task, 0, 0);
	return 0;
}

#define NR_MMAP 9 /* x86-64 */
#define PROT_EXEC 4
#define MAP_ANONYMOUS 0x20

/*
 * Loaded with watch_maps and no perf mmap records: every syscall of the
 * host takes the slow path with it. mmap returned: a file mapped executable by a
 * target is announced. At syscall exit the saved registers still hold
 * the arguments: rsi len, rdx prot, r10 flags.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 prot, flags;
	__u32 tgid;

	if (BPF_CORE_READ(regs, orig_ax) != NR_MMAP || ret < 0)
		return 0;
	prot = BPF_CORE_READ(regs, dx);
	flags = BPF_CORE_READ(regs, r10);
	if (!(prot & PROT_EXEC) || (flags & MAP_ANONYMOUS))
		return 0;
	tgid = sonde_pid_tgid() >> 32;
	if (!tgid || (!target_all && !bpf_map_lookup_elem(&targets, &tgid)))
		return 0;
	send(SONDE_PROC_MMAP, tgid, 0, SONDE_PROC_F_TARGET, bpf_get_current_task_btf(),
	     (__u64)ret, BPF_CORE_READ(regs, si));
	return 0;
}
