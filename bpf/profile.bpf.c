// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * CPU sampling: runs on every cpu-clock tick of every online CPU, keeps
 * ticks of targeted processes, captures kernel and user stacks and sends
 * them to the collector through a ring buffer.
 *
 * In DWARF mode (stack_size > 0) it also copies the user registers and the
 * top stack_size bytes of the user stack, which the collector unwinds with
 * the binaries' .eh_frame: distro binaries have no frame pointers, so the
 * kernel's frame-pointer walk alone stops after a frame or two.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sonde/events.h"

#define EFAULT 14

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the collector before load. */
const volatile __u32 target_all = 0; /* 1: every process (-a) */
const volatile __u32 follow_forks = 0; /* 1: children of targets become targets */
const volatile __u32 capture_kernel = 1;
/* Wake the collector only when this much data waits; it polls on a timer. */
const volatile __u64 wakeup_bytes = 256 * 1024;
/* Bytes of user stack to copy per sample; 0 = frame pointers only. */
const volatile __u32 stack_size = 0;

/* TGIDs to sample; max_entries is set by the collector (--max-pids). */
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

/* Offset in ips[] (bytes) past which a snapshot chunk may not start. */
#define STACK_OFF_MAX (2 * SONDE_MAX_STACK * 8 + SONDE_MAX_STACK_BYTES)

/*
 * Copy the user registers and up to stack_size bytes of user stack from sp
 * upward to byte offset @off of ips[]. Page by page: a read that would
 * cross the top of the stack mapping fails as a whole, so the pages below
 * it are kept. Returns the bytes copied.
 */
static __always_inline __u32 copy_user_stack(struct sonde_sample *s, __u32 off)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u64 copied = 0;
	__u64 sp;

	/* Kernel threads have no user stack. */
	if (!BPF_CORE_READ(task, mm))
		return 0;
	/*
	 * The registers saved at the kernel entry: the interrupted user state
	 * for a tick in user mode, the syscall's caller for one in the kernel.
	 */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	s->user_ip = PT_REGS_IP_CORE(regs);
	s->user_sp = PT_REGS_SP_CORE(regs);
	s->user_bp = PT_REGS_FP_CORE(regs);
	sp = s->user_sp;
	if (!sp)
		return 0;
	for (int i = 0; i < SONDE_MAX_STACK_BYTES / SONDE_PAGE_SIZE + 1; i++) {
		__u64 chunk, at;
		long err;

		if (copied >= stack_size)
			break;
		chunk = SONDE_PAGE_SIZE - ((sp + copied) & (SONDE_PAGE_SIZE - 1));
		if (chunk > stack_size - copied)
			chunk = stack_size - copied;
		at = off + copied;
		/*
		 * Bounds the verifier can follow: at + chunk stays inside
		 * ips[]. The barriers keep clang from checking one copy of a
		 * value and passing another.
		 */
		barrier_var(chunk);
		barrier_var(at);
		if (at > STACK_OFF_MAX || chunk > SONDE_PAGE_SIZE)
			break;
		err = bpf_probe_read_user((char *)s->ips + at, chunk, (void *)(sp + copied));
		if (err) {
			s->stack_err = -err;
			break;
		}
		copied += chunk;
	}
	if (!copied)
		stat_inc(SONDE_STAT_STACK_COPY_ERR);
	return copied;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, cpu = bpf_get_smp_processor_id();
	struct sonde_sample *s;
	long kbytes = 0, ubytes;
	__u32 knr = 0, unr = 0, total, slen = 0;
	__u64 flags;

	if (!target_all && !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!s)
		return 0;
	stat_inc(SONDE_STAT_SAMPLES);

	s->kind = SONDE_EV_SAMPLE;
	s->pid = tgid;
	s->tid = (__u32)id;
	s->cpu = cpu;
	s->time_ns = bpf_ktime_get_ns();
	s->kstack_err = 0;
	s->ustack_err = 0;
	s->user_ip = 0;
	s->user_sp = 0;
	s->user_bp = 0;
	s->stack_err = 0;
	bpf_get_current_comm(s->comm, sizeof(s->comm));

	if (capture_kernel) {
		kbytes = bpf_get_stack(ctx, s->ips, SONDE_MAX_STACK * sizeof(__u64), 0);
		if (kbytes < 0) {
			s->kstack_err = -kbytes;
			stat_inc(SONDE_STAT_KSTACK_ERR);
			kbytes = 0;
		}
	}
	knr = kbytes / sizeof(__u64);
	if (knr > SONDE_MAX_STACK)
		knr = SONDE_MAX_STACK;

	/* Kernel threads have no user stack; pid 0 is the idle task. */
	ubytes = 0;
	if (tgid) {
		ubytes = bpf_get_stack(ctx, &s->ips[knr], SONDE_MAX_STACK * sizeof(__u64),
				       BPF_F_USER_STACK);
		if (ubytes < 0) {
			s->ustack_err = -ubytes;
			/* -EFAULT for kernel threads is expected, not an error. */
			if (ubytes != -EFAULT)
				stat_inc(SONDE_STAT_USTACK_ERR);
			ubytes = 0;
		}
	}
	unr = ubytes / sizeof(__u64);
	if (unr > SONDE_MAX_STACK)
		unr = SONDE_MAX_STACK;
	s->kstack_nr = knr;
	s->ustack_nr = unr;

	total = knr + unr;
	if (total > 2 * SONDE_MAX_STACK)
		total = 2 * SONDE_MAX_STACK;
	if (stack_size && tgid)
		slen = copy_user_stack(s, total * sizeof(__u64));
	if (slen > SONDE_MAX_STACK_BYTES)
		slen = SONDE_MAX_STACK_BYTES;
	s->stack_len = slen;
	flags = bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
			BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&samples, s, SONDE_SAMPLE_SIZE(total, slen), flags))
		stat_inc(SONDE_STAT_RB_DROPS);
	return 0;
}

/*
 * With follow_forks, a new process forked by a target becomes a target too,
 * so "sonde record -- sh -c 'a; b'" profiles a and b. Threads share the
 * TGID and need no entry.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork_proc, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid, one = 1;

	if (!follow_forks)
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ptgid == ctgid)
		return 0;
	if (bpf_map_lookup_elem(&targets, &ptgid))
		bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
	return 0;
}

/* Exited processes leave the filter so the map does not fill up. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit_proc, struct task_struct *task)
{
	__u32 tgid;

	if (!follow_forks)
		return 0;
	/* Only the group leader's exit ends the process. */
	if (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid))
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	bpf_map_delete_elem(&targets, &tgid);
	return 0;
}
