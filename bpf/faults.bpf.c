// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Page faults: runs on the software page-faults perf event of every
 * online CPU (one sample per `period` faults, set on the event), keeps
 * the faults of targeted processes and sends them with their kernel and
 * user stacks and the faulting address.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sample.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Faults each sample stands for (the event's sample period). */
const volatile __u64 period = 1;

SEC("perf_event")
int on_fault(struct bpf_perf_event_data *ctx)
{
	return send_perf_sample(ctx, period, ctx->addr);
}
