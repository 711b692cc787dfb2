/* SPDX-License-Identifier: MIT */
/*
 * The only contract between BPF programs and the collector.
 *
 * Rules: fixed-width __u32/__u64 fields only, no pointers or bools,
 * explicit padding, sizes pinned by _Static_assert, and a variable-length
 * array only as the last member, of which only the used part is sent.
 */
#ifndef SONDE_EVENTS_H
#define SONDE_EVENTS_H

#ifdef __bpf__
/* BPF side: types come from vmlinux.h, included before this header. */
#else
#include <linux/types.h>
#endif

#define SONDE_COMM_LEN 16
/* Matches the kernel's default perf_event_max_stack. */
#define SONDE_MAX_STACK 127

enum sonde_event_kind {
	SONDE_EV_SAMPLE = 1,
	SONDE_EV_SPAN = 2,
};

/*
 * Bytes of user stack a sample may carry for DWARF unwinding (--stack-size
 * is at most this; perf's own limit is 65528). A multiple of the page size.
 */
#define SONDE_MAX_STACK_BYTES 65536
#define SONDE_PAGE_SIZE 4096

/*
 * One CPU sample. ips[] holds kstack_nr kernel addresses (innermost first)
 * followed by ustack_nr user addresses (innermost first, frame-pointer
 * walk), followed by stack_len bytes of the user stack copied from
 * user_sp upward (DWARF mode; 0 otherwise). Only the used part is sent:
 * SONDE_SAMPLE_SIZE(kstack_nr + ustack_nr, stack_len) bytes.
 */
struct sonde_sample {
	__u32 kind; /* SONDE_EV_SAMPLE */
	__u32 pid; /* thread-group id (userspace "PID") */
	__u32 tid;
	__u32 cpu;
	__u64 time_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 kstack_nr;
	__u32 ustack_nr;
	__u32 kstack_err; /* errno (positive) from bpf_get_stack, or 0 */
	__u32 ustack_err;
	char comm[SONDE_COMM_LEN];
	/*
	 * User registers where the thread left user mode (the interrupted
	 * state, or the syscall entry when the sample hit in the kernel);
	 * only filled in DWARF mode, 0 otherwise.
	 */
	__u64 user_ip;
	__u64 user_sp;
	__u64 user_bp;
	__u32 stack_len; /* bytes of stack snapshot after the ips */
	__u32 stack_err; /* errno (positive) of the page read that ended the copy early */
	/* The ips, then the stack snapshot; a page of slack keeps BPF's bounds simple. */
	__u64 ips[2 * SONDE_MAX_STACK + (SONDE_MAX_STACK_BYTES + SONDE_PAGE_SIZE) / 8];
};

#define SONDE_SAMPLE_HDR_SIZE 88
#define SONDE_SAMPLE_SIZE(nr, stack_len) \
	(SONDE_SAMPLE_HDR_SIZE + (nr) * sizeof(__u64) + (stack_len))

_Static_assert(sizeof(struct sonde_sample) ==
		       SONDE_SAMPLE_HDR_SIZE + 2 * SONDE_MAX_STACK * 8 +
			       SONDE_MAX_STACK_BYTES + SONDE_PAGE_SIZE,
	       "struct sonde_sample layout changed");

/* Per-CPU failure counters, indexed by enum sonde_stat. */
enum sonde_stat {
	SONDE_STAT_SAMPLES = 0, /* samples seen for targeted tasks */
	SONDE_STAT_RB_DROPS, /* ring buffer full: sample lost */
	SONDE_STAT_KSTACK_ERR, /* bpf_get_stack(kernel) failed */
	SONDE_STAT_USTACK_ERR, /* bpf_get_stack(user) failed */
	SONDE_STAT_STACK_COPY_ERR, /* no byte of the user stack could be copied */
	SONDE_STAT_MAX,
};

/*
 * One completed call of a probed function (sonde trace), sent only when
 * spans were requested; histograms are aggregated in the kernel.
 * Times are CLOCK_MONOTONIC (bpf_ktime_get_ns). Ids are random and never
 * 0; parent_span_id is 0 for a root call (no probed caller on the thread).
 */
struct sonde_span {
	__u32 kind; /* SONDE_EV_SPAN */
	__u32 func_id; /* index of the probed function (the attach cookie) */
	__u32 pid;
	__u32 tid;
	__u64 start_ns;
	__u64 end_ns;
	__u64 trace_id_hi;
	__u64 trace_id_lo;
	__u64 span_id;
	__u64 parent_span_id;
	__u32 depth; /* 0 for a root call */
	__u32 pad;
};

_Static_assert(sizeof(struct sonde_span) == 72, "struct sonde_span layout changed");

/*
 * Latency histogram of one probed function, per CPU: log2 buckets split
 * into SONDE_HIST_SUB linear sub-buckets, so a bucket is at most 1/16 of
 * its value wide and a percentile read at the bucket middle is within
 * ~3 %. Values below 2 * SONDE_HIST_SUB ns are exact. The call count is
 * the sum of the buckets (exact: every timed call lands in one).
 */
#define SONDE_HIST_SUB_BITS 4
#define SONDE_HIST_SUB (1u << SONDE_HIST_SUB_BITS)
#define SONDE_HIST_BUCKETS ((64 - SONDE_HIST_SUB_BITS + 1) * SONDE_HIST_SUB)

struct sonde_hist {
	__u64 buckets[SONDE_HIST_BUCKETS];
	__u64 sum_ns;
	__u64 max_ns;
};

_Static_assert(sizeof(struct sonde_hist) == (SONDE_HIST_BUCKETS + 2) * 8,
	       "struct sonde_hist layout changed");

/* Index of the highest set bit of @v (v != 0); branchy so BPF can use it. */
static inline __u32 sonde_hist_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/* The bucket of a latency of @ns nanoseconds; shared by BPF and userspace. */
static inline __u32 sonde_hist_bucket(__u64 ns)
{
	__u32 msb;

	if (ns < 2 * SONDE_HIST_SUB)
		return (__u32)ns;
	msb = sonde_hist_log2(ns);
	return (msb - SONDE_HIST_SUB_BITS + 1) * SONDE_HIST_SUB +
	       (__u32)((ns >> (msb - SONDE_HIST_SUB_BITS)) & (SONDE_HIST_SUB - 1));
}

/*
 * sonde trace's per-thread call stacks live in an array of slots; each
 * starts with this header, which the collector reads to count the
 * threads still tracked and those mid-call.
 */
struct sonde_thread_hdr {
	__u32 owner_tid; /* 0: free slot */
	__u32 depth; /* active probed calls */
};

/* Per-CPU counters of sonde trace, indexed by enum sonde_trace_stat. */
enum sonde_trace_stat {
	SONDE_TSTAT_CALLS = 0, /* entries seen */
	SONDE_TSTAT_TIMED, /* returns matched to their entry (histogram adds) */
	SONDE_TSTAT_SPANS, /* span events sent */
	SONDE_TSTAT_RB_DROPS, /* ring buffer full: span lost (still in the histogram) */
	SONDE_TSTAT_DEPTH_OVERFLOW, /* entry deeper than max_depth: call not timed */
	SONDE_TSTAT_UNMATCHED, /* return with no matching entry (e.g. deeper than max_depth) */
	SONDE_TSTAT_ABANDONED, /* frames left without a return (longjmp, exceptions) */
	SONDE_TSTAT_EXIT_FRAMES, /* frames still active when their thread exited */
	SONDE_TSTAT_THREADS_FULL, /* per-thread map full: call not timed */
	SONDE_TSTAT_THREAD_EXITS, /* per-thread stacks reclaimed at thread exit */
	SONDE_TSTAT_MAX,
};

#endif /* SONDE_EVENTS_H */
