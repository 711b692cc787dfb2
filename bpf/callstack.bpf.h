/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The per-thread stacks of probed calls: bpf/uprobe.bpf.c keeps them (an
 * entry pushes a frame, the return pops it), and the stack probes
 * (bpf/sample.bpf.h) read them to tag each sample with the call it was
 * taken in. One map, created by the uprobe probe's object and reused by
 * the stack probes' (bpf_map__reuse_fd before load). Include after
 * vmlinux.h and the libbpf headers.
 */
#ifndef SONDE_BPF_CALLSTACK_H
#define SONDE_BPF_CALLSTACK_H

/* Compile-time bound of the per-thread stack; --max-depth lowers it. */
#define MAX_DEPTH 32

/* Slots tried per tid before a thread counts as "threads full". */
#define SLOT_PROBES 4

struct frame {
	__u64 start_ns;
	__u64 sp; /* stack pointer at entry: identifies the activation */
	__u64 span_id;
	/*
	 * The return address at entry (x86: at sp, with save_ret), before the
	 * return probe put its trampoline there: the stack probes write it
	 * back into their stack snapshots, which the unwinder could not get
	 * past otherwise.
	 */
	__u64 ret;
	__u32 func_id;
	/*
	 * 1: counted and timed. A root call is counted when it enters while
	 * the run is armed; a nested call when its caller is, so a call tree
	 * is counted whole or not at all and nested functions count alike.
	 */
	__u32 counted;
};

/* Starts with struct sonde_thread_hdr (owner tid, depth): the collector reads it. */
struct thread_stack {
	__u32 owner; /* tid owning this slot, 0 = free; 8-byte aligned with depth */
	__u32 depth;
	__u64 trace_id_hi; /* trace of the current root call */
	__u64 trace_id_lo;
	/*
	 * Go: calls deeper than max_depth, not pushed. They are the deepest
	 * ones, so they return first: the next that many RETs are theirs.
	 */
	__u32 overflow;
	__u32 pad;
	struct frame f[MAX_DEPTH];
};

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

/*
 * The slot of @map (an array of struct thread_stack, @mask + 1 entries)
 * that @tid owns, or NULL. Probes every candidate: slots free up out of
 * order.
 */
static __always_inline struct thread_stack *callstack_find(void *map, __u32 mask, __u32 tid)
{
	for (__u32 i = 0; i < SLOT_PROBES; i++) {
		__u32 idx = (tid + i) & mask;
		struct thread_stack *s = bpf_map_lookup_elem(map, &idx);

		if (s && s->owner == tid)
			return s;
	}
	return NULL;
}

#endif /* SONDE_BPF_CALLSTACK_H */
