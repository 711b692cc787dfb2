// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Page faults: runs on the software page-faults perf event of every
 * online CPU (one sample per N faults, or about N samples a second with
 * the kernel choosing the period), keeps the faults of targeted
 * processes and sends them with their kernel and user stacks and the
 * faulting address, each weighing the event's period at that sample.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sample.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("perf_event")
int on_fault(struct bpf_perf_event_data *ctx)
{
	return send_perf_sample(ctx, ctx->sample_period, ctx->addr);
}
