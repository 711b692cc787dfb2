// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "probes/uprobe_multi.h"

/* From the kernel's include/uapi/linux/bpf.h (6.6+); Debian 12's headers are 6.1. */
#define SONDE_BPF_TRACE_UPROBE_MULTI 48
#define SONDE_BPF_TRACE_UPROBE_SESSION 57
#define SONDE_BPF_F_UPROBE_MULTI_RETURN 1u

/* union bpf_attr's link_create with its uprobe_multi member. */
struct link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 pad;
};

_Static_assert(sizeof(struct link_create_uprobe_multi) == 64, "uprobe_multi attr layout");

static __u32 attach_type(enum uprobe_multi_kind kind)
{
	return kind == UPROBE_MULTI_SESSION ? SONDE_BPF_TRACE_UPROBE_SESSION
					    : SONDE_BPF_TRACE_UPROBE_MULTI;
}

int uprobe_multi_prepare(struct bpf_program *prog, enum uprobe_multi_kind kind)
{
	return bpf_program__set_expected_attach_type(prog, attach_type(kind));
}

int uprobe_multi_attach(const struct bpf_program *prog, const char *path, pid_t pid,
			const uint64_t *offsets, const uint64_t *cookies, size_t n,
			enum uprobe_multi_kind kind)
{
	struct link_create_uprobe_multi attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = bpf_program__fd(prog);
	attr.attach_type = attach_type(kind);
	attr.path = (__u64)(uintptr_t)path;
	attr.offsets = (__u64)(uintptr_t)offsets;
	attr.cookies = (__u64)(uintptr_t)cookies;
	attr.cnt = (__u32)n;
	attr.multi_flags = kind == UPROBE_MULTI_RETURN ? SONDE_BPF_F_UPROBE_MULTI_RETURN : 0;
	attr.pid = pid > 0 ? (__u32)pid : 0; /* 0: every process */
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return -errno;
	return (int)fd;
}
