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
 * task and schedules a BPF task work on it, which runs in the thread's
 * own context on its way back to user mode: there the user stack is the
 * one it blocked with, readable with bpf_get_task_stack() and, for DWARF
 * unwinding, bpf_probe_read_user(). Waits that are not kept cost one
 * storage lookup and a few instructions.
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
					      void *aux__prog) __ksym;

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

/*
 * Who holds each scratch slot (same index as scratch): task works may
 * sleep on a page fault or be preempted, so a slot is taken by
 * compare-and-swap rather than owned by its CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scratch_busy SEC(".maps");

/* Runs in the thread's context, on its way back to user mode. */
static int send_wait(struct bpf_map *map, void *key, void *value)
{
	struct pending *p = value;
	struct sonde_sample *s;
	struct kstack *k;
	__u32 idx = bpf_get_smp_processor_id(), *busy;

	busy = bpf_map_lookup_elem(&scratch_busy, &idx);
	s = bpf_map_lookup_elem(&scratch, &idx);
	if (!busy || !s || __sync_val_compare_and_swap(busy, 0, 1)) {
		stat_inc(SONDE_OSTAT_SCRATCH_BUSY);
		goto out_delete;
	}
	sample_init(s, p->weight, 0);
	s->time_ns = p->start_ns;
	k = bpf_map_lookup_elem(&pending_kstack, key);
	if (k) {
		bpf_probe_read_kernel(s->ips, sizeof(k->ips), k->ips);
		s->kstack_nr = p->knr > SONDE_MAX_STACK ? SONDE_MAX_STACK : p->knr;
	}
	s->kstack_err = p->kerr;
	stat_inc(SONDE_STAT_SAMPLES);
	ring_send(s, capture_user(NULL, s));
	__sync_fetch_and_and(busy, 0);
out_delete:
	bpf_map_delete_elem(&pending_kstack, key);
	bpf_map_delete_elem(map, key);
	return 0;
}

/* @task, switched back in after @d ns away since @start. */
static __always_inline void wait_ended(struct task_struct *task, __u64 start, __u64 d)
{
	__u32 tid = task->pid, zero = 0;
	struct pending *p, init = {};
	struct kstack *k;
	__u64 w = d;
	long n;

	if (d < min_ns) {
		stat_inc(SONDE_OSTAT_SHORT);
		stat_add(SONDE_OSTAT_SHORT_NS, d);
		return;
	}
	stat_inc(SONDE_OSTAT_WAITS);
	stat_add(SONDE_OSTAT_WAIT_NS, d);
	if (d < keep_ns) {
		__u64 r = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();

		if (r % keep_ns >= d)
			return;
		w = keep_ns;
	}
	stat_inc(SONDE_OSTAT_KEPT);
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
		n = k ? bpf_get_task_stack(task, k->ips, sizeof(k->ips), 0) : -ENOSPC;
		if (n < 0) {
			init.kerr = -n;
			stat_inc(SONDE_STAT_KSTACK_ERR);
		} else {
			init.knr = stack_nr(n);
		}
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

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns(), *ts, start;
	__u32 tgid;

	tgid = sonde_task_tgid(prev);
	if (tgid && is_target(tgid)) {
		ts = bpf_task_storage_get(&switched_out, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (ts)
			*ts = now;
	}
	tgid = sonde_task_tgid(next);
	if (!tgid || !is_target(tgid))
		return 0;
	ts = bpf_task_storage_get(&switched_out, next, 0, 0);
	if (!ts || !*ts)
		return 0;
	start = *ts;
	*ts = 0;
	wait_ended(next, start, now - start);
	return 0;
}
