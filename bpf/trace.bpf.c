// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Function timing through uprobes: an entry probe pushes a frame on a
 * bounded per-thread stack, the return probe pops it, adds the latency to
 * the function's in-kernel histogram and, only when spans were requested,
 * sends one span event. The function is identified by the attach cookie.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sonde/events.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Compile-time bound of the per-thread stack; --max-depth lowers it. */
#define MAX_DEPTH 32

/*
 * Stack pointer seen by the return probe minus the one seen at entry: on
 * x86 `ret` pops the return address the call pushed; on arm64 the return
 * address lives in a register and SP is unchanged.
 */
#if defined(__TARGET_ARCH_x86)
#define RET_SP_ADJ 8
#else
#define RET_SP_ADJ 0
#endif

/* Set by the collector before load. */
const volatile __u32 emit_spans = 0; /* 0: histograms only, no ring buffer traffic */
const volatile __u32 max_depth = MAX_DEPTH;
const volatile __u32 nfuncs = 1;
/* Wake the collector only when this much data waits; it polls on a timer. */
const volatile __u64 wakeup_bytes = 256 * 1024;

struct frame {
	__u64 start_ns;
	__u64 sp; /* stack pointer at entry: identifies the activation */
	__u64 span_id;
	__u32 func_id;
	__u32 pad;
};

struct thread_stack {
	__u32 depth;
	__u32 pad;
	__u64 trace_id_hi; /* trace of the current root call */
	__u64 trace_id_lo;
	struct frame f[MAX_DEPTH];
};

/* Active calls per thread; max_entries set by the collector (--max-threads). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct thread_stack);
} threads SEC(".maps");

/* One histogram per probed function; max_entries set to the function count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sonde_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 1024); /* resized by the collector */
} spans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_TSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Template for a thread's first call; never written. */
static struct thread_stack empty_stack;

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

/*
 * Clamp a frame index in a way the compiler cannot drop: clang removes a
 * plain mask it can prove redundant, and the verifier then sees a value
 * tracked only through another register.
 */
static __always_inline __u32 frame_idx(__u32 i)
{
	asm volatile("%[i] &= %[m]" : [i] "+r"(i) : [m] "i"(MAX_DEPTH - 1));
	return i;
}

static __always_inline __u64 rand64(void)
{
	__u64 v;

	v = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();
	/* Never 0: OTLP treats an all-zero id as invalid / "no parent". */
	return v ? v : 1;
}

/*
 * Drop frames that can no longer return. A live caller's entry SP is
 * above (numerically greater than) anything it calls, so frames below
 * @sp were left by longjmp or an exception. A frame at exactly @sp is
 * stale only if it is the same function entered again from the same
 * frame (a loop around setjmp); a different function at the same SP is a
 * tail call, whose caller still returns (the kernel chains both
 * uretprobes on the one `ret`). Returns the new depth.
 */
static __always_inline __u32 pop_stale(struct thread_stack *s, __u32 d, __u64 sp,
				       __u32 func_id, bool same_sp)
{
	__u32 stale = 0;

	for (int i = 0; i < MAX_DEPTH; i++) {
		struct frame *top;

		if (d == 0)
			break;
		top = &s->f[frame_idx(d - 1)];
		if (top->sp > sp || (top->sp == sp && (!same_sp || top->func_id != func_id)))
			break;
		d--;
		stale++;
	}
	if (stale)
		stat_add(SONDE_TSTAT_ABANDONED, stale);
	return d;
}

SEC("uprobe")
int BPF_KPROBE(on_entry)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_stack *s;
	struct frame *f;
	__u64 sp = PT_REGS_SP(ctx);
	__u32 d, cookie;

	stat_add(SONDE_TSTAT_CALLS, 1);
	s = bpf_map_lookup_elem(&threads, &tid);
	if (!s) {
		/* A thread's stack lives until the thread exits (see on_exit). */
		bpf_map_update_elem(&threads, &tid, &empty_stack, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&threads, &tid);
		if (!s) {
			stat_add(SONDE_TSTAT_THREADS_FULL, 1);
			return 0;
		}
	}
	cookie = (__u32)bpf_get_attach_cookie(ctx);
	d = s->depth;
	if (d > MAX_DEPTH)
		d = MAX_DEPTH;
	/* Our own entry SP is below every live caller's. */
	d = pop_stale(s, d, sp, cookie, true);
	if (d >= max_depth || d >= MAX_DEPTH) {
		s->depth = d;
		stat_add(SONDE_TSTAT_DEPTH_OVERFLOW, 1);
		return 0;
	}
	f = &s->f[frame_idx(d)];
	f->func_id = cookie;
	f->sp = sp;
	if (emit_spans) {
		f->span_id = rand64();
		if (d == 0) {
			s->trace_id_hi = rand64();
			s->trace_id_lo = rand64();
		}
	}
	s->depth = d + 1;
	/* Last, so the probe's own work is not charged to the function. */
	f->start_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline void hist_add(__u32 func_id, __u64 lat)
{
	struct sonde_hist *h = bpf_map_lookup_elem(&hists, &func_id);
	__u32 b;

	if (!h)
		return;
	b = sonde_hist_bucket(lat);
	if (b < SONDE_HIST_BUCKETS)
		h->buckets[b]++;
	h->sum_ns += lat;
	if (lat > h->max_ns)
		h->max_ns = lat;
}

static __always_inline void send_span(struct thread_stack *s, struct frame *f, __u32 d,
				      __u64 now)
{
	struct sonde_span *e;
	__u64 id = bpf_get_current_pid_tgid();
	__u64 flags;

	e = bpf_ringbuf_reserve(&spans, sizeof(*e), 0);
	if (!e) {
		stat_add(SONDE_TSTAT_RB_DROPS, 1);
		return;
	}
	e->kind = SONDE_EV_SPAN;
	e->func_id = f->func_id;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->start_ns = f->start_ns;
	e->end_ns = now;
	e->trace_id_hi = s->trace_id_hi;
	e->trace_id_lo = s->trace_id_lo;
	e->span_id = f->span_id;
	e->parent_span_id = d ? s->f[frame_idx(d - 1)].span_id : 0;
	e->depth = d;
	e->pad = 0;
	flags = bpf_ringbuf_query(&spans, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
			BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	stat_add(SONDE_TSTAT_SPANS, 1);
}

SEC("uretprobe")
int BPF_KRETPROBE(on_return)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 cookie = (__u32)bpf_get_attach_cookie(ctx);
	struct thread_stack *s;
	struct frame *f;
	__u64 sp;
	__u32 d;

	s = bpf_map_lookup_elem(&threads, &tid);
	if (!s) {
		stat_add(SONDE_TSTAT_UNMATCHED, 1);
		return 0;
	}
	sp = PT_REGS_SP(ctx) - RET_SP_ADJ;
	d = s->depth;
	if (d > MAX_DEPTH)
		d = MAX_DEPTH;
	/* Frames deeper than the returning one were abandoned (longjmp). */
	d = pop_stale(s, d, sp, cookie, false);
	if (d == 0) {
		s->depth = 0;
		stat_add(SONDE_TSTAT_UNMATCHED, 1);
		return 0;
	}
	f = &s->f[frame_idx(d - 1)];
	/*
	 * Not ours: a call that was never pushed (deeper than max_depth, or
	 * entered before we attached) returns past a frame that is still live.
	 */
	if (f->sp != sp || f->func_id != cookie) {
		s->depth = d;
		stat_add(SONDE_TSTAT_UNMATCHED, 1);
		return 0;
	}
	d--;
	s->depth = d;
	hist_add(cookie, now - f->start_ns);
	stat_add(SONDE_TSTAT_TIMED, 1);
	if (emit_spans)
		send_span(s, f, d, now);
	return 0;
}

/*
 * A thread that exits mid-call never returns: reclaim its stack so the map
 * holds only live threads. Fires for every exiting task; a miss is cheap.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);
	struct thread_stack *s;

	s = bpf_map_lookup_elem(&threads, &tid);
	if (!s)
		return 0;
	if (s->depth)
		stat_add(SONDE_TSTAT_EXIT_FRAMES, s->depth > MAX_DEPTH ? MAX_DEPTH : s->depth);
	bpf_map_delete_elem(&threads, &tid);
	stat_add(SONDE_TSTAT_THREAD_EXITS, 1);
	return 0;
}
