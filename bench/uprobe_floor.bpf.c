// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The overhead floor: an entry uprobe and a uretprobe that do nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

SEC("uprobe")
int BPF_KPROBE(floor_entry)
{
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(floor_return)
{
	return 0;
}
