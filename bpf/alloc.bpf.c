// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Allocations: uprobes on the allocator's entry points (one uprobe_multi
 * link, the function in the attach cookie). Sampling by bytes, per
 * thread: a countdown drawn from an exponential distribution of mean
 * `rate` bytes; the call that takes it to zero or below is sampled (a
 * Poisson process over allocated bytes, as Go's and jemalloc's heap
 * profilers sample) and sends its stack with its size; the collector
 * weighs it S / (1 - e^(-S/rate)). rate 0 samples every call.
 *
 * With inuse, the program is a uprobe session: a sampled call returns 0
 * and its return runs the same program, which learns the address, keeps
 * it in `live` and tells the collector; an unsampled call returns 1, so
 * the kernel sets no return probe on it. free() drops its pointer from
 * `live`, and only a tracked block costs a record.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sample.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the collector before load. */
const volatile __u64 rate = 512 * 1024; /* mean bytes between samples; 0: every call */
/* ln(1 + (i + 0.5) / 1024) in 16.16 fixed point, for the exponential draw. */
const volatile __u32 ln_table[1024] = {};

#define LN2_FP 45426 /* ln 2 in 16.16 */

extern bool bpf_session_is_return(void) __ksym __weak;
extern __u64 *bpf_session_cookie(void) __ksym __weak;

/* Bytes each thread has left before its next sample. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __s64);
} countdown SEC(".maps");

/* Sampled blocks not yet freed (--inuse); max_entries set by the collector. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u32);
} live SEC(".maps");

/*
 * An exponential variate of mean rate: U = r / 2^64 = 2^(msb - 64) (1 + f),
 * so -ln U = (64 - msb) ln 2 - ln(1 + f), f from the 10 bits after the
 * top one (the tail is exact to 2^-64; the mantissa to 1/2048).
 */
static __always_inline __s64 draw(void)
{
	__u64 r = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32() | 1;
	__u32 msb = sonde_hist_log2(r), idx;
	__u64 e;

	idx = msb >= 10 ? (__u32)(r >> (msb - 10)) : (__u32)(r << (10 - msb));
	idx &= 1023;
	e = (__u64)(64 - msb) * LN2_FP - ln_table[idx];
	return (__s64)((rate * e) >> 16);
}

/* Whether this call of @size bytes on the current thread is sampled. */
static __always_inline bool sampled(__u64 size)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__s64 *left;

	if (!rate)
		return true;
	left = bpf_task_storage_get(&countdown, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!left)
		return false;
	/* A new thread starts a full interval away (memoryless: as good as any). */
	if (*left == 0)
		*left = draw() + 1;
	*left -= size;
	if (*left > 0)
		return false;
	*left = draw() + 1;
	return true;
}

static __always_inline void send_block(__u32 kind, __u64 addr)
{
	__u64 id = sonde_pid_tgid();
	struct sonde_block b = {
		.kind = kind,
		.pid = id >> 32,
		.tid = (__u32)id,
		.addr = addr,
		.time_ns = bpf_ktime_get_ns(),
	};

	ring_send(&b, sizeof(b));
}

/* A block gone (free, or realloc's old block): its record if it was tracked. */
static __always_inline void forget(__u64 addr)
{
	stat_inc(SONDE_ASTAT_FREES);
	if (bpf_map_delete_elem(&live, &addr))
		return;
	stat_inc(SONDE_ASTAT_FREES_TRACKED);
	send_block(SONDE_EV_FREE, addr);
}

/*
 * An allocation call: count it, and sample it. Returns 0 to have the
 * return probe run (session, sampled), 1 otherwise. *@memptr receives
 * posix_memalign's out pointer.
 */
static __always_inline int on_call(struct pt_regs *ctx, bool inuse, __u64 *memptr)
{
	__u64 fn = bpf_get_attach_cookie(ctx), size, old;
	struct sonde_sample *s;

	/* Not armed: not counted (frees still forget the blocks tracked). */
	if (!armed)
		return 1;
	switch (fn) {
	case SONDE_AFN_CALLOC:
		size = PT_REGS_PARM1(ctx) * PT_REGS_PARM2(ctx);
		break;
	case SONDE_AFN_REALLOC:
		old = PT_REGS_PARM1(ctx);
		size = PT_REGS_PARM2(ctx);
		/* glibc's realloc(NULL, n) is malloc(n), realloc(p, 0) free(p): seen there. */
		if (!old || !size)
			return 1;
		if (inuse)
			forget(old);
		break;
	case SONDE_AFN_MEMALIGN:
		size = PT_REGS_PARM2(ctx);
		break;
	case SONDE_AFN_POSIX_MEMALIGN:
		*memptr = PT_REGS_PARM1(ctx);
		size = PT_REGS_PARM3(ctx);
		break;
	default: /* malloc, valloc, pvalloc */
		size = PT_REGS_PARM1(ctx);
		break;
	}
	stat_inc(SONDE_ASTAT_CALLS);
	stat_add(SONDE_ASTAT_BYTES, size);
	if (!sampled(size))
		return 1;
	s = scratch_slot();
	if (!s)
		return 1;
	stat_inc(SONDE_STAT_SAMPLES);
	sample_init(s, size, 0);
	/* The kernel stack of a uprobe is the trap's: nothing to see. */
	ring_send(s, capture_user(ctx, s));
	return 0;
}

SEC("uprobe")
int alloc_entry(struct pt_regs *ctx)
{
	__u64 memptr = 0;

	on_call(ctx, false, &memptr);
	return 0;
}

/* --inuse: entry and (for sampled calls only) return of the same call. */
SEC("uprobe")
int alloc_session(struct pt_regs *ctx)
{
	__u64 *cookie = bpf_session_cookie(), addr, memptr = 0;
	__u32 one = 1;
	int ret;

	if (!cookie)
		return 1;
	if (!bpf_session_is_return()) {
		ret = on_call(ctx, true, &memptr);
		*cookie = memptr;
		return ret;
	}
	addr = PT_REGS_RC(ctx);
	if (bpf_get_attach_cookie(ctx) == SONDE_AFN_POSIX_MEMALIGN) {
		/* posix_memalign returns 0 and stores the block at *memptr. */
		if (addr || !*cookie || bpf_probe_read_user(&addr, sizeof(addr), (void *)*cookie))
			addr = 0;
	}
	if (!addr)
		stat_inc(SONDE_ASTAT_FAILED);
	else if (bpf_map_update_elem(&live, &addr, &one, BPF_ANY))
		stat_inc(SONDE_ASTAT_LIVE_FULL);
	send_block(SONDE_EV_ALLOC_ADDR, addr);
	return 0;
}

/* free(ptr), attached past its NULL check where that is a cheaper instruction. */
SEC("uprobe")
int on_free(struct pt_regs *ctx)
{
	__u64 ptr = PT_REGS_PARM1(ctx);

	if (ptr)
		forget(ptr);
	return 0;
}
