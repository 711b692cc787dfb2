/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What every stack-sampling probe's BPF program shares (cpu, offcpu,
 * alloc, faults): the target filter, the sample
 * ring, the per-CPU sample slots, the failure counters, and the capture
 * of kernel and user stacks (frame-pointer walks, and in DWARF mode the
 * user registers and a snapshot of the user stack for the collector to
 * unwind with the binaries' CFI: distro binaries have no frame pointers).
 * Include once, after vmlinux.h and the libbpf headers.
 */
#ifndef SONDE_BPF_SAMPLE_H
#define SONDE_BPF_SAMPLE_H

#include "sonde/events.h"
#include "pidns.bpf.h"
#include "callstack.bpf.h"
#include "wakeup.bpf.h"
#include "ustack.bpf.h"

#define EFAULT 14

/* Set by the collector before load. */
const volatile __u32 target_all = 0;   /* 1: every process (-a) */
const volatile __u32 capture_kernel = 1;
/* Wake the collector only when this much data waits; it polls on a timer. */
const volatile __u64 wakeup_bytes = 256 * 1024;
/* Bytes of user stack to copy per sample; 0 = frame pointers only. */
const volatile __u32 stack_size = 0;
/*
 * Set by the collector when every probe of the run is attached, cleared at
 * the end: every probe counts from the same moment.
 */
volatile __u32 armed = 0;

/*
 * 1 when the uprobe probe runs in the same session: samples are tagged
 * with the probed call active on their thread, read from its per-thread
 * call stacks (callstack.bpf.h), which the collector puts in place of
 * @calls before load (@calls_slot_mask + 1 slots). 0: no lookup at all.
 */
const volatile __u32 tag_calls = 0;
const volatile __u32 calls_slot_mask = 0;

/*
 * TGIDs to sample: the session's target map, shared by every probe and
 * kept by bpf/procevents.bpf.c (forks followed, exits removed).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 1024); /* resized by the collector */
} samples SEC(".maps");

/*
 * A sample is built here, one slot per CPU (indexed by CPU id, sized by the
 * collector): with its stack snapshot it is larger than both the 512-byte
 * BPF stack and the 32 KiB limit of a per-CPU map value.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sonde_sample);
} scratch SEC(".maps");

/* The uprobe program's call stacks with tag_calls; a one-slot stand-in otherwise. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct thread_stack);
} calls SEC(".maps");

/* Counters, enum sonde_stat and the probe's own after it (sized by the collector). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

static __always_inline void stat_inc(__u32 idx)
{
	stat_add(idx, 1);
}

/*
 * @tgid (in sonde's PID namespace, bpf/pidns.bpf.h; 0 for a task outside
 * it, never a target) is watched, and the run is armed. A launched
 * command before its exec is sonde's forked code, not the command: left
 * out (counted).
 */
static __always_inline bool is_target(__u32 tgid)
{
	__u32 *t;

	if (!armed || (!tgid && pidns_ino))
		return false;
	if (target_all)
		return true;
	t = bpf_map_lookup_elem(&targets, &tgid);
	if (t && *t == SONDE_TARGET_PRE_EXEC) {
		stat_inc(SONDE_STAT_PRE_EXEC);
		return false;
	}
	return t != NULL;
}

/*
 * The [uprobes] page (one per process, made at its first uprobe hit):
 * slot 0 holds the uretprobe trampoline (x86: push rax, rcx, r11, the
 * uretprobe syscall, pop, ret: 17 bytes; an int3 where that syscall is
 * not used), the other slots copies of probed instructions being
 * single-stepped out of line (at most 16 bytes on x86).
 */
#define XOL_PAGE_SIZE 4096
#define TRAMPOLINE_SPAN 32
#define XOL_INSN_MAX 16
#define INT3 0xcc

/*
 * Whether return instance @ri is the one whose function returned into the
 * trampoline, where the thread is at @ip and @sp: its slot lies within the
 * trampoline's three pushes of @sp. If so, *@ip and *@sp become the
 * caller's, as after a plain ret.
 */
static __always_inline bool returned_by(struct return_instance *ri, __u64 *ip, __u64 *sp)
{
	__u64 slot = BPF_CORE_READ(ri, stack);

	if (slot + 8 < *sp || slot > *sp + 16)
		return false;
	*ip = BPF_CORE_READ(ri, orig_ret_vaddr);
	*sp = slot + 8;
	return true;
}

/*
 * The user pc and sp where @task left user mode, as its code sees them.
 * The kernel's uprobe machinery runs user code of its own in the [uprobes]
 * page, which has no CFI and whose pushes fool a frame-pointer step (the
 * unwinder skipped the probed function's caller there):
 *
 * - a probed instruction single-stepped out of line is, to the program,
 *   that instruction at its own address (utask->vaddr);
 * - a thread in the uretprobe trampoline has returned from a return-probed
 *   function (its own or another tool's) and waits for the return
 *   handlers: its frame is the caller's at the original return address,
 *   kept beside the function's return slot in the thread's innermost
 *   pending return instance (pc = that address, sp = the slot + 8, as
 *   after a plain ret), so tag_call() also leaves that call's span, as it
 *   does once the kernel has moved the pc back. Once the handlers have
 *   run, until the trampoline's ret, the instance is the first of the
 *   thread's pool of free ones (the trampoline's stack holds the address
 *   by then, but only this trampoline's layout would say where).
 *
 * Returns whether it moved the pc.
 */
static __always_inline bool user_regs(struct task_struct *task, __u64 *ip, __u64 *sp)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct return_instance *ri;
	struct uprobe_task *utask;
	__u64 base, xol;

	*ip = PT_REGS_IP_CORE(regs);
	*sp = PT_REGS_SP_CORE(regs);
	/* A kernel built without uprobes has none of this (the branch goes at load). */
	if (!bpf_core_field_exists(task->utask))
		return false;
	utask = BPF_CORE_READ(task, utask);
	if (!utask)
		return false;
	base = (__u64)BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	if (!base || *ip - base >= XOL_PAGE_SIZE)
		return false;
	xol = BPF_CORE_READ(utask, xol_vaddr);
	if (BPF_CORE_READ(utask, active_uprobe) && *ip - xol < XOL_INSN_MAX) {
		*ip = BPF_CORE_READ(utask, vaddr) + (*ip - xol);
		return true;
	}
	if (*ip - base >= TRAMPOLINE_SPAN)
		return false;
	ri = BPF_CORE_READ(utask, return_instances);
	if (ri && returned_by(ri, ip, sp))
		return true;
	/* Its handlers have run: the instance is back in the pool (Linux 6.14). */
	if (!bpf_core_field_exists(utask->ri_pool))
		return false;
	ri = BPF_CORE_READ(utask, ri_pool);
	return ri && returned_by(ri, ip, sp);
}

/*
 * Whether user pc @ip of @task (which has hit uprobes) is one byte past an
 * int3 and not at one: SONDE_SAMPLE_AT_INT3. A thread trapped on a
 * uprobe keeps that pc until the kernel handles the trap on its way back
 * to user mode, and a tick held off by the trap lands there: on a hot
 * probe, most of its samples. At the probe itself, once the kernel has
 * moved the pc back, both bytes may be int3 (a compiler's int3 padding
 * before the function): not flagged.
 */
static __always_inline bool at_int3(struct task_struct *task, __u64 ip)
{
	__u8 b[2];

	if (!bpf_core_field_exists(task->utask) || !BPF_CORE_READ(task, utask) ||
	    !BPF_CORE_READ(task, mm, uprobes_state.xol_area))
		return false;
	return !bpf_probe_read_user(b, sizeof(b), (void *)(ip - 1)) && b[0] == INT3 && b[1] != INT3;
}

/*
 * The current task's user registers into @s (none for a kernel thread):
 * where it left user mode, as its code sees them (user_regs()), read once
 * for the call tag, the stack snapshot and the frame-pointer walk; in
 * DWARF mode, SONDE_SAMPLE_AT_INT3 where the unwinder has to choose.
 */
static __always_inline void read_user_regs(struct sonde_sample *s)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;

	/* Kernel threads have no user stack. */
	if (!BPF_CORE_READ(task, mm))
		return;
	/*
	 * The registers saved at the kernel entry: the interrupted user state
	 * for a tick in user mode, the syscall's caller for one in the kernel.
	 */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	s->user_bp = PT_REGS_FP_CORE(regs);
	if (!user_regs(task, &s->user_ip, &s->user_sp) && stack_size && at_int3(task, s->user_ip))
		s->flags |= SONDE_SAMPLE_AT_INT3;
}

/*
 * Copy up to stack_size bytes of the current task's user stack from
 * user_sp (read_user_regs()) upward to byte offset @off of ips[]. Page by
 * page: a read that would cross the top of the stack mapping fails as a
 * whole, so the pages below it are kept. Returns the bytes copied.
 */
static __always_inline __u32 copy_user_stack(struct sonde_sample *s, __u32 off)
{
	__u32 copied;

	if (!s->user_sp)
		return 0;
	copied = copy_stack_pages(s, off, s->user_sp, stack_size);
	if (!copied)
		stat_inc(SONDE_STAT_STACK_COPY_ERR);
	return copied;
}

/*
 * The probed call the current thread is in, into @s (tag_calls). The
 * innermost live frame wins: a sample in a probed callee belongs to the
 * callee's span (the caller's is its parent, and the trace id is the
 * same). Frames whose entry SP is below the thread's user SP were left by
 * longjmp or an exception and are skipped, as the uprobe program skips
 * them at its next hit. Every caller runs in the thread's own context
 * (a perf event on it, a uprobe, a task work), so the thread's user
 * registers (read_user_regs(), before) are where it left user mode.
 */
static __always_inline void tag_call(struct sonde_sample *s)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), d;
	struct thread_stack *t;
	struct frame *f = NULL;

	s->span_id = 0;
	s->trace_id_hi = 0;
	s->trace_id_lo = 0;
	s->func_id = 0;
	if (!tag_calls || !tid)
		return;
	t = callstack_find(&calls, calls_slot_mask, tid);
	if (!t)
		return;
	d = t->depth;
	if (!d)
		return;
	if (d > MAX_DEPTH)
		d = MAX_DEPTH;
	for (int i = 0; i < MAX_DEPTH; i++) {
		if (!d)
			return;
		f = &t->f[frame_idx(d - 1)];
		if (f->sp >= s->user_sp)
			break;
		d--;
	}
	/* A tree entered before the arm has no ids (uprobe.bpf.c's counted). */
	if (!d || !f || !f->counted)
		return;
	s->span_id = f->span_id;
	s->trace_id_hi = t->trace_id_hi;
	s->trace_id_lo = t->trace_id_lo;
	s->func_id = f->func_id;
}

/* The header of a sample of the current task. */
static __always_inline void sample_init(struct sonde_sample *s, __u64 value, __u64 addr)
{
	__u64 id = sonde_pid_tgid();

	s->kind = SONDE_EV_SAMPLE;
	s->pid = id >> 32;
	s->tid = (__u32)id;
	s->cpu = bpf_get_smp_processor_id();
	s->time_ns = bpf_ktime_get_ns();
	s->kstack_nr = 0;
	s->ustack_nr = 0;
	s->kstack_err = 0;
	s->ustack_err = 0;
	s->user_ip = 0;
	s->user_sp = 0;
	s->user_bp = 0;
	s->stack_len = 0;
	s->stack_err = 0;
	s->value = value;
	s->addr = addr;
	s->flags = 0;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	read_user_regs(s);
	tag_call(s);
}

/*
 * Put back, in the stack snapshot at byte @off of ips[] (@len bytes from
 * user_sp up), the return addresses the uprobe program's return probes
 * replaced with the uretprobe trampoline: the frames of the thread's
 * probed calls whose return slot the snapshot holds (tag_calls, x86).
 * Read at each entry, they also cover the kernel's window between taking
 * over a return slot and listing it (restore_returns()).
 */
static __always_inline void restore_own_returns(struct sonde_sample *s, __u32 off, __u32 len)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), d;
	struct thread_stack *t;

	if (!tag_calls || !tid || !s->user_sp)
		return;
	t = callstack_find(&calls, calls_slot_mask, tid);
	if (!t)
		return;
	d = t->depth;
	if (d > MAX_DEPTH)
		d = MAX_DEPTH;
	for (int i = 0; i < MAX_DEPTH; i++) {
		struct frame *f;
		__u64 o, at;

		if (i >= d)
			break;
		f = &t->f[frame_idx(i)];
		o = f->sp - s->user_sp;
		if (!f->ret || f->sp < s->user_sp || o + 8 > len || (o & 7))
			continue;
		at = off + o;
		barrier_var(at);
		if (at > STACK_OFF_MAX)
			continue;
		*(__u64 *)((char *)s->ips + at) = f->ret;
	}
}

/* Pending returns looked at per sample (the kernel allows 64 nested ones). */
#define RETURNS_MAX 32

/*
 * Put back, in the stack snapshot at byte @off of ips[] (@len bytes from
 * user_sp up), the return addresses that return probes replaced with the
 * uretprobe trampoline, sonde's own or any other tool's: the unwinder
 * could not get past a frame returning into the [uprobes] page. The
 * kernel keeps each pending return of the thread, innermost first, with
 * the slot it took over (the sp at the function's entry) and the address
 * it held; a slot is written back only while it still holds the
 * trampoline.
 */
static __always_inline void restore_returns(struct sonde_sample *s, __u32 off, __u32 len)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct return_instance *ri;
	struct uprobe_task *utask;
	__u64 tramp;

	restore_own_returns(s, off, len);
	if (!s->user_sp)
		return;
	if (!bpf_core_field_exists(task->utask))
		return;
	utask = BPF_CORE_READ(task, utask);
	if (!utask)
		return;
	ri = BPF_CORE_READ(utask, return_instances);
	if (!ri)
		return;
	tramp = (__u64)BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	for (int i = 0; i < RETURNS_MAX && ri; i++) {
		struct return_instance *cur = ri;
		__u64 slot = BPF_CORE_READ(cur, stack), o = slot - s->user_sp, at;
		__u64 *p;

		ri = BPF_CORE_READ(cur, next);
		if (slot < s->user_sp || o + 8 > len || (o & 7))
			continue;
		at = off + o;
		barrier_var(at);
		if (at > STACK_OFF_MAX)
			continue;
		p = (__u64 *)((char *)s->ips + at);
		if (*p == tramp)
			*p = BPF_CORE_READ(cur, orig_ret_vaddr);
	}
}

static __always_inline __u32 stack_nr(long bytes)
{
	__u32 nr = bytes > 0 ? bytes / sizeof(__u64) : 0;

	return nr > SONDE_MAX_STACK ? SONDE_MAX_STACK : nr;
}

/*
 * The current task's user stack after the s->kstack_nr kernel addresses:
 * the frame-pointer walk (from @ctx's registers, or with @ctx NULL from
 * the task's saved user registers), then in DWARF mode the snapshot. Sets
 * ustack_nr and stack_len; returns the record's size to send.
 */
static __always_inline __u32 capture_user(void *ctx, struct sonde_sample *s)
{
	__u32 knr = s->kstack_nr, unr, total, slen = 0;
	long ubytes = 0;

	if (knr > SONDE_MAX_STACK)
		knr = SONDE_MAX_STACK;
	/* Kernel threads have no user stack; pid 0 is the idle task. */
	if (s->pid) {
		if (ctx)
			ubytes = bpf_get_stack(ctx, &s->ips[knr], SONDE_MAX_STACK * sizeof(__u64),
					       BPF_F_USER_STACK);
		else
			ubytes = bpf_get_task_stack(bpf_get_current_task_btf(), &s->ips[knr],
						    SONDE_MAX_STACK * sizeof(__u64),
						    BPF_F_USER_STACK);
		if (ubytes < 0) {
			s->ustack_err = -ubytes;
			/* -EFAULT for kernel threads is expected, not an error. */
			if (ubytes != -EFAULT)
				stat_inc(SONDE_STAT_USTACK_ERR);
			ubytes = 0;
		}
	}
	unr = stack_nr(ubytes);
	s->ustack_nr = unr;
	/*
	 * The frame-pointer walk starts at the pc the thread stopped at, in
	 * the [uprobes] page too: its first pc is read_user_regs()'s.
	 */
	if (unr && s->user_ip)
		s->ips[knr] = s->user_ip;
	total = knr + unr;
	if (total > 2 * SONDE_MAX_STACK)
		total = 2 * SONDE_MAX_STACK;
	if (stack_size && s->pid)
		slen = copy_user_stack(s, total * sizeof(__u64));
	if (slen > SONDE_MAX_STACK_BYTES)
		slen = SONDE_MAX_STACK_BYTES;
	s->stack_len = slen;
	restore_returns(s, total * sizeof(__u64), slen);
	return SONDE_SAMPLE_SIZE(total, slen);
}

/* The current task's kernel stack from @ctx's registers into ips[]. */
static __always_inline void capture_kernel_stack(void *ctx, struct sonde_sample *s)
{
	long kbytes;

	if (!capture_kernel)
		return;
	kbytes = bpf_get_stack(ctx, s->ips, SONDE_MAX_STACK * sizeof(__u64), 0);
	if (kbytes < 0) {
		s->kstack_err = -kbytes;
		stat_inc(SONDE_STAT_KSTACK_ERR);
		kbytes = 0;
	}
	s->kstack_nr = stack_nr(kbytes);
}

static __always_inline void ring_send(const void *rec, __u32 size)
{
	if (bpf_ringbuf_output(&samples, (void *)rec, size, ring_wake_flags(&samples, wakeup_bytes)))
		stat_inc(SONDE_STAT_RB_DROPS);
}

/* This CPU's sample slot. */
static __always_inline struct sonde_sample *scratch_slot(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch, &cpu);
}

/*
 * A perf-event sample of the current task if it is a target (cpu-clock
 * ticks, page faults): kernel and user stacks, weighing @value.
 */
static __always_inline int send_perf_sample(struct bpf_perf_event_data *ctx, __u64 value,
					    __u64 addr)
{
	__u32 tgid = sonde_pid_tgid() >> 32;
	struct sonde_sample *s;

	if (!is_target(tgid))
		return 0;
	s = scratch_slot();
	if (!s)
		return 0;
	stat_inc(SONDE_STAT_SAMPLES);
	sample_init(s, value, addr);
	capture_kernel_stack(ctx, s);
	ring_send(s, capture_user(ctx, s));
	return 0;
}

#endif /* SONDE_BPF_SAMPLE_H */
