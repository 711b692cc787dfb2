/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * When a ring buffer record wakes the collector. Records go in without a
 * wakeup (the collector drains on its tick) until the unread data reaches
 * the probe's mark (wakeup_bytes, a quarter of the ring); above it, each
 * CPU forces at most one wakeup per WAKE_GAP_NS. A wakeup is an irq_work
 * (on a VM, a trapped APIC write of ~10 us): forcing one per record while
 * a slow collector kept the ring above the mark made every traced call
 * 14 times dearer. One forced wakeup per millisecond per CPU is 1 % of a
 * CPU at worst, and the collector, once awake, drains the whole ring.
 */
#ifndef SONDE_WAKEUP_BPF_H
#define SONDE_WAKEUP_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define WAKE_GAP_NS 1000000ULL

/* Per CPU: when this CPU last forced a wakeup (bpf_ktime_get_ns). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wake_last SEC(".maps");

/* The flags for a record going into @ring (a ring buffer map) past @mark unread bytes. */
static __always_inline __u64 ring_wake_flags(void *ring, __u64 mark)
{
	__u32 zero = 0;
	__u64 *last, now;

	if (bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) < mark)
		return BPF_RB_NO_WAKEUP;
	last = bpf_map_lookup_elem(&wake_last, &zero);
	if (!last)
		return BPF_RB_FORCE_WAKEUP;
	now = bpf_ktime_get_ns();
	if (now - *last < WAKE_GAP_NS)
		return BPF_RB_NO_WAKEUP;
	*last = now;
	return BPF_RB_FORCE_WAKEUP;
}

#endif
