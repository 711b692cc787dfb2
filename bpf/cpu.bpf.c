// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * CPU sampling: runs on every cpu-clock tick of every online CPU, keeps
 * ticks of targeted processes, captures kernel and user stacks and sends
 * them to the collector through a ring buffer (bpf/sample.bpf.h: in DWARF
 * mode with a user-stack snapshot).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sample.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	return send_perf_sample(ctx, 1, 0);
}
