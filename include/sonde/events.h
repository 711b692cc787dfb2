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
 * One CPU sample. ips[] holds kstack_nr kernel addresses (innermost first)
 * followed by ustack_nr user addresses (innermost first); only
 * (kstack_nr + ustack_nr) entries are sent.
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
	__u64 ips[2 * SONDE_MAX_STACK];
};

#define SONDE_SAMPLE_HDR_SIZE 56
#define SONDE_SAMPLE_SIZE(nr) (SONDE_SAMPLE_HDR_SIZE + (nr) * sizeof(__u64))

_Static_assert(sizeof(struct sonde_sample) ==
		       SONDE_SAMPLE_HDR_SIZE + 2 * SONDE_MAX_STACK * 8,
	       "struct sonde_sample layout changed");

/* Per-CPU failure counters, indexed by enum sonde_stat. */
enum sonde_stat {
	SONDE_STAT_SAMPLES = 0, /* samples seen for targeted tasks */
	SONDE_STAT_RB_DROPS, /* ring buffer full: sample lost */
	SONDE_STAT_KSTACK_ERR, /* bpf_get_stack(kernel) failed */
	SONDE_STAT_USTACK_ERR, /* bpf_get_stack(user) failed */
	SONDE_STAT_MAX,
};

#endif /* SONDE_EVENTS_H */
