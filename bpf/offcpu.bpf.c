// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Off-CPU time: how long each thread of a target spends switched out
 * (blocked, or preempted and waiting to run), from sched_switch alone.
 *
 * Switch-out stamps the thread (task storage: no thread limit, freed
 * with the task). Switch-in measures the wait d and decides, now that d
 * is known: under min_ns it is counted only; otherwise it is kept with
 * probability min(1, d / keep_ns) and weighs max(d, keep_ns) ns, so the
 * estimate is unbiased and every wait of keep_ns or more is kept with its
 * exact length. A kept wait reads the kernel stack of the still-sleeping
 * task, and its user stack is read in the thread's own context before it
 * runs user code again (the one it blocked with), with
 * bpf_get_task_stack() and, for DWARF unwinding, bpf_probe_read_user():
 *  - on_switch: a BPF task work scheduled on the thread, which runs on
 *    its way back to user mode, whatever put it to sleep;
 *  - on_switch_exit and on_sys_exit, where this kernel lets only sleepable
 *    programs schedule task works (Linux 6.18.y from some point, and any
 *    kernel without them): a wait inside a syscall is sent at the
 *    syscall's exit; any other (preempted in user mode, a page fault)
 *    right away, with the kernel stack and the user pc only. The raw
 *    sys_exit tracepoint puts every syscall of the host on its slow
 *    path; its program ends at one global read while no wait is pending.
 * Waits that are not kept cost one storage lookup and a few instructions.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sample.bpf.h"

#define ENOSPC 28

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the collector before load. */
const volatile __u64 min_ns = 1000000;
const volatile __u64 keep_ns = 1000000; /* min_ns / sampling probability */

extern int bpf_task_work_schedule_resume_impl(struct task_struct *task, struct bpf_task_work *tw,
					      void *map__map, bpf_task_work_callback_t callback,
					      void *aux__prog) __ksym __weak;

/* When each thread of a target was switched out (0: on CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} switched_out SEC(".maps");

/* A kept wait until its thread is back in its own context. */
struct pending {
	struct bpf_task_work tw;
	__u64 weight;	/* ns this wait stands for */
	__u64 start_ns; /* switch-out */
	__u32 knr;
	__u32 kerr;
};

/* Its kernel stack, apart: a value with a task work is inserted from the stack. */
struct kstack {
	__u64 ips[SONDE_MAX_STACK];
};

/* By TID; max_entries set by the collector (--offcpu-max-pending), both. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kstack);
} pending_kstack SEC(".maps");

/* A zeroed struct kstack to insert from (too large for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kstack);
} kstack_zero SEC(".maps");

/* Who holds each scratch slot (same index as scratch): slot_get(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scratch_busy SEC(".maps");

/*
 * A free sample slot of this CPU, taken: task works may sleep on a page
 * fault or be preempted, and so may the sys_exit program, so a slot is
 * taken by compare-and-swap rather than owned by its CPU. NULL (counted)
 * if there is none. Give it back with slot_put().
 */
static __always_inline struct sonde_sample *slot_get(__u32 **busy)
{
	__u32 idx = bpf_get_smp_processor_id();
	struct sonde_sample *s;

	*busy = bpf_map_lookup_elem(&scratch_busy, &idx);
	s = bpf_map_lookup_elem(&scratch, &idx);
	if (!*busy || !s || __sync_val_compare_and_swap(*busy, 0, 1)) {
		stat_inc(SONDE_OSTAT_SCRATCH_BUSY);
		return NULL;
	}
	return s;
}

static __always_inline void slot_put(__u32 *busy)
{
	__sync_fetch_and_and(busy, 0);
}

/*
 * A kept wait of the current thread, back in its own context before any
 * user code: its kernel stack (@knr addresses at @kips, or the error
 * @kerr), its user stack read now.
 */
static __always_inline void send_kept(__u64 weight, __u64 start, __u32 knr, __u32 kerr,
				      const __u64 *kips)
{
	struct sonde_sample *s;
	__u32 *busy;

	s = slot_get(&busy);
	if (!s)
		return;
	sample_init(s, weight, 0);
	s->time_ns = start;
	if (kips && knr) {
		bpf_probe_read_kernel(s->ips, SONDE_MAX_STACK * sizeof(__u64), kips);
		s->kstack_nr = knr > SONDE_MAX_STACK ? SONDE_MAX_STACK : knr;
	}
	s->kstack_err = kerr;
	stat_inc(SONDE_STAT_SAMPLES);
	ring_send(s, capture_user(NULL, s));
	slot_put(busy);
}

/* Runs in the thread's context, on its way back to user mode. */
static int send_wait(struct bpf_map *map, void *key, void *value)
{
	struct pending *p = value;
	struct kstack *k = bpf_map_lookup_elem(&pending_kstack, key);

	send_kept(p->weight, p->start_ns, k ? p->knr : 0, p->kerr, k ? k->ips : NULL);
	bpf_map_delete_elem(&pending_kstack, key);
	bpf_map_delete_elem(map, key);
	return 0;
}

/*
 * Whether the wait just measured is kept, and its weight in @w: counted
 * either way (under min_ns: short).
 */
static __always_inline bool keep(__u64 d, __u64 *w)
{
	*w = d;
	if (d < min_ns) {
		stat_inc(SONDE_OSTAT_SHORT);
		stat_add(SONDE_OSTAT_SHORT_NS, d);
		return false;
	}
	stat_inc(SONDE_OSTAT_WAITS);
	stat_add(SONDE_OSTAT_WAIT_NS, d);
	if (d < keep_ns) {
		__u64 r = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();

		if (r % keep_ns >= d)
			return false;
		*w = keep_ns;
	}
	stat_inc(SONDE_OSTAT_KEPT);
	return true;
}

/*
 * The kernel stack of @task (not running) into @ips, SONDE_MAX_STACK
 * addresses at most: their number, or 0 with the error in @err (counted).
 * @ips NULL (no room for it): 0, ENOSPC in @err.
 */
static __always_inline __u32 task_kstack(struct task_struct *task, __u64 *ips, __u32 *err)
{
	long n = ips ? bpf_get_task_stack(task, ips, SONDE_MAX_STACK * sizeof(__u64), 0) : -ENOSPC;

	if (n >= 0)
		return stack_nr(n);
	*err = -n;
	stat_inc(SONDE_STAT_KSTACK_ERR);
	return 0;
}

/* @task, switched back in after @d ns away since @start. */
static __always_inline void wait_ended(struct task_struct *task, __u64 start, __u64 d)
{
	__u32 tid = task->pid, zero = 0;
	struct pending *p, init = {};
	struct kstack *k;
	__u64 w;

	if (!keep(d, &w))
		return;
	/* Waits again before it ran user code (one syscall): same user stack. */
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p) {
		__sync_fetch_and_add(&p->weight, w);
		stat_inc(SONDE_OSTAT_MERGED);
		return;
	}
	init.weight = w;
	init.start_ns = start;
	if (capture_kernel) {
		k = bpf_map_lookup_elem(&kstack_zero, &zero);
		if (k && !bpf_map_update_elem(&pending_kstack, &tid, k, BPF_ANY))
			k = bpf_map_lookup_elem(&pending_kstack, &tid);
		else
			k = NULL;
		init.knr = task_kstack(task, k ? k->ips : NULL, &init.kerr);
	}
	if (bpf_map_update_elem(&pending, &tid, &init, BPF_NOEXIST)) {
		stat_inc(SONDE_OSTAT_PENDING_FULL);
		return;
	}
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p)
		return;
	if (bpf_task_work_schedule_resume_impl(task, &p->tw, &pending, send_wait, NULL)) {
		stat_inc(SONDE_OSTAT_SCHED_ERR);
		bpf_map_delete_elem(&pending, &tid);
	}
}

/*
 * The thread switched in now (@now), if it is a target's switched out
 * earlier: when it was, in @start. Stamps @prev, a target's thread
 * switched out.
 */
static __always_inline bool switch_in(struct task_struct *prev, struct task_struct *next, __u64 now,
				      __u64 *start)
{
	__u64 *ts;
	__u32 tgid;

	tgid = sonde_task_tgid(prev);
	if (tgid && is_target(tgid)) {
		ts = bpf_task_storage_get(&switched_out, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (ts)
			*ts = now;
	}
	tgid = sonde_task_tgid(next);
	if (!tgid || !is_target(tgid))
		return false;
	ts = bpf_task_storage_get(&switched_out, next, 0, 0);
	if (!ts || !*ts)
		return false;
	*start = *ts;
	*ts = 0;
	return true;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns(), start;

	if (switch_in(prev, next, now, &start))
		wait_ended(next, start, now - start);
	return 0;
}

/* ---- without task works: the user stack at the syscall's exit ---- */

#define ENOSYS 38

/* A kept wait of a thread blocked in a syscall, until the syscall returns. */
struct exit_wait {
	__u64 weight; /* 0: none */
	__u64 start_ns;
	__u64 ip, sp; /* its user registers: the same at the exit unless it ran user code */
	__u32 knr;
	__u32 kerr;
	__u64 kips[SONDE_MAX_STACK];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct exit_wait);
} exit_waits SEC(".maps");

/*
 * How many there are: nearly always 0 (a kept wait lives from its
 * switch-in to its syscall's exit, microseconds), and then the sys_exit
 * program of every syscall of the host ends at this read rather than
 * after a task storage lookup (89 ns a call here).
 */
__u64 exit_pending = 0;

/* Take @e's wait away (sent, lost, or its thread gone). */
static __always_inline void exit_wait_clear(struct exit_wait *e)
{
	e->weight = 0;
	__sync_fetch_and_add(&exit_pending, -1);
}

/*
 * Whether saved user registers @regs are a syscall's in progress: x86-64
 * entry stores the number in orig_ax and -ENOSYS in ax, which holds the
 * return value only once the syscall is done; an interrupt or exception
 * from user mode keeps the user's rax there.
 */
static __always_inline bool in_syscall(struct pt_regs *regs)
{
	long nr = BPF_CORE_READ(regs, orig_ax);

	return nr >= 0 && nr < 1024 && (long)BPF_CORE_READ(regs, ax) == -ENOSYS;
}

/*
 * A kept wait of @task that did not happen in a syscall: sent now, from
 * the scheduler, with its kernel stack and the user pc it was stopped at
 * (another task's user memory cannot be read from here).
 */
static __always_inline void send_pc_only(struct task_struct *task, struct pt_regs *regs,
					 __u64 start, __u64 w)
{
	struct sonde_sample *s;
	__u32 *busy, knr = 0, unr = 0;

	s = slot_get(&busy);
	if (!s)
		return;
	__builtin_memset(s, 0, SONDE_SAMPLE_HDR_SIZE);
	s->kind = SONDE_EV_SAMPLE;
	s->pid = sonde_task_tgid(task);
	s->tid = sonde_task_pid(task);
	s->cpu = bpf_get_smp_processor_id();
	s->time_ns = start;
	s->value = w;
	BPF_CORE_READ_STR_INTO(&s->comm, task, comm);
	if (capture_kernel)
		knr = task_kstack(task, s->ips, &s->kstack_err);
	if (knr >= SONDE_MAX_STACK)
		knr = SONDE_MAX_STACK - 1;
	s->kstack_nr = knr;
	if (BPF_CORE_READ(task, mm)) {
		s->user_ip = PT_REGS_IP_CORE(regs);
		s->user_sp = PT_REGS_SP_CORE(regs);
		s->user_bp = PT_REGS_FP_CORE(regs);
		s->ips[knr] = s->user_ip;
		unr = 1;
	}
	s->ustack_nr = unr;
	stat_inc(SONDE_STAT_SAMPLES);
	stat_inc(SONDE_OSTAT_PC_ONLY);
	ring_send(s, SONDE_SAMPLE_SIZE(knr + unr, 0));
	slot_put(busy);
}

static __always_inline void wait_ended_exit(struct task_struct *task, __u64 start, __u64 d)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct exit_wait *e;
	__u64 w;

	if (!keep(d, &w))
		return;
	if (!in_syscall(regs)) {
		send_pc_only(task, regs, start, w);
		return;
	}
	e = bpf_task_storage_get(&exit_waits, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		stat_inc(SONDE_OSTAT_PENDING_FULL);
		return;
	}
	/* Waits again in the same syscall: the same user stack. */
	if (e->weight) {
		e->weight += w;
		stat_inc(SONDE_OSTAT_MERGED);
		return;
	}
	e->weight = w;
	__sync_fetch_and_add(&exit_pending, 1);
	e->start_ns = start;
	e->ip = PT_REGS_IP_CORE(regs);
	e->sp = PT_REGS_SP_CORE(regs);
	e->knr = 0;
	e->kerr = 0;
	if (capture_kernel)
		e->knr = task_kstack(task, e->kips, &e->kerr);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch_exit, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns(), start;

	if (switch_in(prev, next, now, &start))
		wait_ended_exit(next, start, now - start);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct exit_wait *e;

	if (!exit_pending)
		return 0;
	e = bpf_task_storage_get(&exit_waits, bpf_get_current_task_btf(), 0, 0);
	if (!e || !e->weight)
		return 0;
	/* It ran user code since (a wait taken for a syscall's that was not). */
	if (PT_REGS_IP_CORE(regs) != e->ip || PT_REGS_SP_CORE(regs) != e->sp)
		stat_inc(SONDE_OSTAT_STALE);
	else
		send_kept(e->weight, e->start_ns, e->knr, e->kerr, e->kips);
	exit_wait_clear(e);
	return 0;
}

/* A thread that ends in its syscall (exit, a fatal signal): its wait is not sent. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_thread_exit, struct task_struct *task)
{
	struct exit_wait *e;

	if (!exit_pending)
		return 0;
	e = bpf_task_storage_get(&exit_waits, task, 0, 0);
	if (e && e->weight)
		exit_wait_clear(e);
	return 0;
}
