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
#include "pidns.bpf.h"
#include "callstack.bpf.h"
#include "wakeup.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

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
/*
 * 1: give counted calls span and trace ids (set with emit_spans, and when
 * stack probes tag their samples with the active call: callstack.bpf.h).
 */
const volatile __u32 make_ids = 0;
/* 1: frames keep their return address (stack probes in the session: callstack.bpf.h). */
const volatile __u32 save_ret = 0;
const volatile __u32 max_depth = MAX_DEPTH;
const volatile __u32 nfuncs = 1;
const volatile __u32 slot_mask = 0;  /* max_entries of threads - 1 */
const volatile __u64 id_salt = 0;    /* random per run */
const volatile __u64 trace_salt = 0; /* random per run: high half of trace ids */
/* Wake the collector only when this much data waits; it polls on a timer. */
const volatile __u64 wakeup_bytes = 256 * 1024;
/*
 * 1: the probes are attached for every process (a launched command and
 * its children, whatever they exec): only the session's targets count.
 */
const volatile __u32 filter_targets = 0;

/*
 * Set by the collector once every probe of the run is attached, cleared at
 * the end: no call tree that starts while probes are still going in or out
 * is counted (see struct frame's counted), so nested functions count alike.
 * Frames are pushed and popped whatever the state, so calls that entered
 * while armed are timed after the disarm too.
 */
volatile __u32 armed = 0;

/* The session's target map (shared, bpf/procevents.bpf.c keeps it). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

/* The current process is one to time (always, unless filter_targets). */
static __always_inline bool is_target(void)
{
	__u32 tgid, *t;

	if (!filter_targets)
		return true;
	tgid = sonde_pid_tgid() >> 32;
	if (!tgid)
		return false;
	/* A launched command before its exec is sonde's own child still. */
	t = bpf_map_lookup_elem(&targets, &tgid);
	return t && *t != SONDE_TARGET_PRE_EXEC;
}

/*
 * Active calls per thread: an open-addressed table of slots claimed by
 * tid (compare-and-swap) and freed when the thread exits. An array, not a
 * hash map, because array lookups are inlined by the verifier while a
 * hash lookup is a helper call plus jhash: on this probe's hot path that
 * was a third of sonde's cost above an empty uprobe. max_entries is a
 * power of two set by the collector (--max-threads). The stack probes
 * read it too (callstack.bpf.h): their samples name the active call.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
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

/* Per-CPU id counter for next_id(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} idgen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_TSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

static __always_inline void stat_add_atomic(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		__sync_fetch_and_add(v, n);
}

/* The slot @tid owns, or NULL. */
static __always_inline struct thread_stack *slot_find(__u32 tid)
{
	return callstack_find(&threads, slot_mask, tid);
}

/* Claim a free slot for a thread's first call; NULL when all candidates are taken. */
static __always_inline struct thread_stack *slot_claim(__u32 tid)
{
	for (__u32 i = 0; i < SLOT_PROBES; i++) {
		__u32 idx = (tid + i) & slot_mask;
		struct thread_stack *s = bpf_map_lookup_elem(&threads, &idx);

		/*
		 * owner and depth as one 64-bit word (little endian): a free slot
		 * is all zero, and clang 14 only has 64-bit BPF cmpxchg by default.
		 */
		if (s && s->owner == 0 &&
		    __sync_val_compare_and_swap((__u64 *)&s->owner, 0, (__u64)tid) == 0)
			return s;
	}
	return NULL;
}

/*
 * Span and trace ids without helper calls (bpf_get_prandom_u32 is one
 * call per 32 bits): a per-CPU counter and the CPU number, unique within
 * the run, pushed through a bijective mixer and xor'ed with a random salt
 * the collector sets, so ids differ between runs and look random.
 */
static __always_inline __u64 next_id(void)
{
	__u32 zero = 0;
	__u64 *ctr = bpf_map_lookup_elem(&idgen, &zero), x;

	if (!ctr)
		return 1;
	x = (++*ctr << 12) | (bpf_get_smp_processor_id() & 0xfff);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	x ^= id_salt;
	/* Never 0: OTLP treats an all-zero id as invalid / "no parent". */
	return x ? x : 1;
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
static __always_inline __u32 pop_stale(struct thread_stack *s, __u32 d, __u64 sp, __u32 func_id,
				       bool same_sp)
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
		stale += top->counted;
	}
	if (stale)
		stat_add(SONDE_TSTAT_ABANDONED, stale);
	return d;
}

/*
 * Push a frame for function @cookie on @s, whose live depth is @d (stale
 * frames already popped). @sp identifies the activation (0 for Go, whose
 * stacks move: calls too deep to push are counted in s->overflow).
 */
static __always_inline void push_frame(struct thread_stack *s, __u32 d, __u32 cookie, __u64 sp)
{
	struct frame *f;
	__u32 counted;

	if (d) {
		counted = s->f[frame_idx(d - 1)].counted;
	} else {
		/*
		 * A root: announce it, then look at armed (an atomic add is a
		 * full barrier), while the collector clears armed, then reads
		 * the announcements. One of the two sees the other, so a tree
		 * that starts counted as the run disarms is always waited for.
		 */
		stat_add_atomic(SONDE_TSTAT_PUSHED, 1);
		counted = armed;
		if (!counted)
			stat_add(SONDE_TSTAT_NOT_COUNTED, 1);
	}
	if (counted)
		stat_add(SONDE_TSTAT_CALLS, 1);
	if (d >= max_depth || d >= MAX_DEPTH) {
		s->depth = d;
		if (!sp)
			s->overflow++;
		if (counted)
			stat_add(SONDE_TSTAT_DEPTH_OVERFLOW, 1);
		return;
	}
	f = &s->f[frame_idx(d)];
	f->func_id = cookie;
	f->counted = counted;
	f->sp = sp;
	f->ret = 0;
#if defined(__TARGET_ARCH_x86)
	/* Return probes run after every entry program: this is still the caller's address. */
	if (save_ret && sp)
		bpf_probe_read_user(&f->ret, sizeof(f->ret), (void *)sp);
#endif
	if (make_ids && counted) {
		f->span_id = next_id();
		/* A root call starts a trace: its id embeds the root span's. */
		if (d == 0) {
			s->trace_id_hi = trace_salt;
			s->trace_id_lo = f->span_id;
		}
	}
	s->depth = d + 1;
	if (counted && d)
		stat_add(SONDE_TSTAT_PUSHED, 1);
	/* Last, so the probe's own work is not charged to the function. */
	f->start_ns = bpf_ktime_get_ns();
}

SEC("uprobe")
int BPF_KPROBE(on_entry)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_stack *s;
	__u64 sp = PT_REGS_SP(ctx);
	__u32 d, cookie;

	if (!is_target())
		return 0;
	s = slot_find(tid);
	if (!s) {
		/* A thread's slot stays claimed until the thread exits (see on_exit). */
		s = slot_claim(tid);
		if (!s) {
			if (armed)
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
	push_frame(s, d, cookie, sp);
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

static __always_inline void send_span(struct thread_stack *s, struct frame *f, __u32 d, __u64 now)
{
	struct sonde_span *e;
	__u64 id = sonde_pid_tgid();

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
	bpf_ringbuf_submit(e, ring_wake_flags(&spans, wakeup_bytes));
	stat_add(SONDE_TSTAT_SPANS, 1);
}

/* The call of frame @f returned at @now; @d frames stay below it. */
static __always_inline void pop_frame(struct thread_stack *s, struct frame *f, __u32 d, __u64 now)
{
	s->depth = d;
	if (!f->counted)
		return;
	hist_add(f->func_id, now - f->start_ns);
	stat_add(SONDE_TSTAT_TIMED, 1);
	if (emit_spans)
		send_span(s, f, d, now);
}

SEC("uretprobe")
int BPF_KRETPROBE(on_return)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_stack *s;
	struct frame *f;
	__u64 sp;
	__u32 d;

	/*
	 * Returns with nothing to match are unmatched only while armed:
	 * before the arm and after the disarm every return is one.
	 */
	s = slot_find(tid);
	if (!s) {
		/* Other processes' returns, with filter_targets, are none of ours. */
		if (armed && is_target())
			stat_add(SONDE_TSTAT_UNMATCHED, 1);
		return 0;
	}
	sp = PT_REGS_SP(ctx) - RET_SP_ADJ;
	d = s->depth;
	if (d > MAX_DEPTH)
		d = MAX_DEPTH;
	/* Frames deeper than the returning one were abandoned (longjmp). */
	d = pop_stale(s, d, sp, 0, false);
	if (d == 0) {
		s->depth = 0;
		if (armed)
			stat_add(SONDE_TSTAT_UNMATCHED, 1);
		return 0;
	}
	f = &s->f[frame_idx(d - 1)];
	/*
	 * Not ours: a call that was never pushed (deeper than max_depth, or
	 * entered before we attached) returns past a frame that is still live.
	 * The entry SP identifies the activation, so the function id needs no
	 * check (and no bpf_get_attach_cookie() call: helper calls are what
	 * this probe costs beyond the uprobe itself).
	 */
	if (f->sp != sp) {
		s->depth = d;
		if (armed)
			stat_add(SONDE_TSTAT_UNMATCHED, 1);
		return 0;
	}
	pop_frame(s, f, d - 1, now);
	return 0;
}

/*
 * Go (see src/probes/uprobe_go.h): call stacks per goroutine, keyed by
 * the g pointer Go's register ABI keeps in R14, in an LRU map (a
 * goroutine that ends mid-call is evicted in time); returns are uprobes
 * on the function's RET instructions, matched by function, since a
 * goroutine's stack moves when it grows and SPs do not compare.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct thread_stack);
} goroutines SEC(".maps");

/* An empty stack to insert new goroutines from (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct thread_stack);
} empty_stack SEC(".maps");

/* Per function: what its prologue subtracts from SP before the stack check; -1 none. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} go_stack_adj SEC(".maps");

/*
 * The prologue will find the stack too small (or the goroutine asked to
 * yield) and call morestack, which runs the function again from its
 * entry on a new stack: this entry is not a call, the next one is.
 */
static __always_inline bool go_will_restart(struct pt_regs *ctx, __u64 g, __u32 func)
{
	__s64 *adj = bpf_map_lookup_elem(&go_stack_adj, &func);
	__u64 guard;

	if (!adj || *adj < 0)
		return false;
	if (bpf_probe_read_user(&guard, sizeof(guard), (void *)(g + 16)))
		return false;
	return PT_REGS_SP(ctx) - (__u64)*adj <= guard;
}

SEC("uprobe")
int BPF_KPROBE(on_go_entry)
{
	__u64 g = ctx->r14;
	__u32 cookie = (__u32)bpf_get_attach_cookie(ctx);
	struct thread_stack *s, *zero;
	__u32 d, key = 0;

	if (!g || !is_target() || go_will_restart(ctx, g, cookie))
		return 0;
	s = bpf_map_lookup_elem(&goroutines, &g);
	if (!s) {
		zero = bpf_map_lookup_elem(&empty_stack, &key);
		if (!zero)
			return 0;
		bpf_map_update_elem(&goroutines, &g, zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&goroutines, &g);
		if (!s) {
			if (armed)
				stat_add(SONDE_TSTAT_THREADS_FULL, 1);
			return 0;
		}
	}
	d = s->depth;
	if (d > MAX_DEPTH)
		d = MAX_DEPTH;
	push_frame(s, d, cookie, 0);
	return 0;
}

/* At a RET of function @cookie: its frame is the topmost one of that function. */
SEC("uprobe")
int BPF_KPROBE(on_go_return)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 g = ctx->r14;
	__u32 cookie = (__u32)bpf_get_attach_cookie(ctx);
	struct thread_stack *s;
	__u32 d, stale = 0;

	/* Goroutines are keyed by g alone: another process's g is not ours. */
	if (!is_target())
		return 0;
	s = g ? bpf_map_lookup_elem(&goroutines, &g) : NULL;
	if (!s) {
		if (armed)
			stat_add(SONDE_TSTAT_UNMATCHED, 1);
		return 0;
	}
	if (s->overflow) {
		s->overflow--;
		return 0;
	}
	d = s->depth;
	if (d > MAX_DEPTH)
		d = MAX_DEPTH;
	/* Frames above it belong to calls a panic unwound (recovered). */
	for (int i = 0; i < MAX_DEPTH; i++) {
		struct frame *f;

		if (d == 0)
			break;
		f = &s->f[frame_idx(d - 1)];
		if (f->func_id == cookie) {
			if (stale)
				stat_add(SONDE_TSTAT_ABANDONED, stale);
			pop_frame(s, f, d - 1, now);
			return 0;
		}
		stale += f->counted;
		d--;
	}
	/* Entered before attach, or deeper than max_depth: nothing to pop. */
	if (armed)
		stat_add(SONDE_TSTAT_UNMATCHED, 1);
	return 0;
}

/*
 * A thread that exits mid-call never returns: free its slot so the table
 * holds only live threads. Fires for every exiting task; a miss is cheap.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);
	struct thread_stack *s;

	if (!tid)
		return 0;
	s = slot_find(tid);
	if (!s)
		return 0;
	if (s->depth) {
		__u32 n = 0;

		for (__u32 i = 0; i < MAX_DEPTH; i++) {
			if (i >= s->depth)
				break;
			n += s->f[frame_idx(i)].counted;
		}
		if (n)
			stat_add(SONDE_TSTAT_EXIT_FRAMES, n);
	}
	/* Only the exiting thread owns the slot: a plain store frees it. */
	*(volatile __u64 *)&s->owner = 0;
	stat_add(SONDE_TSTAT_THREAD_EXITS, 1);
	return 0;
}
