// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "session/privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

static int read_caps(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};

	/* No libcap: the raw syscall is all we need. */
	if (syscall(SYS_capget, &h, d)) {
		log_err("privs: failed to read capabilities: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int privs_report_optional(const char *cmd)
{
	static const struct {
		int cap;
		const char *name, *cost;
	} optional[] = {
		{CAP_SYS_PTRACE, "CAP_SYS_PTRACE",
		 "processes of other users (and in other containers) cannot be symbolized "
		 "or unwound: their maps and root are unreadable"},
		{CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH",
		 "binaries and debug files root cannot read by mode stay unsymbolized"},
		{CAP_SYSLOG, "CAP_SYSLOG", "kernel frames are addresses (/proc/kallsyms is hidden)"},
	};
	struct __user_cap_data_struct d[2];
	int missing = 0;

	if (read_caps(d))
		return 0;
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		if (has_cap(d, optional[i].cap))
			continue;
		log_warn("%s: missing %s: %s", cmd, optional[i].name, optional[i].cost);
		missing++;
	}
	return missing;
}

int privs_check_bpf(bool uprobes)
{
	struct __user_cap_data_struct d[2];
	int err = read_caps(d);

	if (err)
		return err;
	if (has_cap(d, CAP_SYS_ADMIN))
		return 0;
	if (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON) && !uprobes)
		return 0;
	if (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON)) {
		log_err("missing privilege: CAP_SYS_ADMIN is needed to attach uprobes (-f) on this "
			"kernel, CAP_BPF and CAP_PERFMON are not enough; run as root (sudo sonde "
			"...)");
		return -EPERM;
	}
	if (!has_cap(d, CAP_BPF) && !has_cap(d, CAP_PERFMON))
		log_err("missing privilege: CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) are "
			"needed to load BPF programs; run as root (sudo sonde ...)");
	else
		log_err("missing privilege: %s (or CAP_SYS_ADMIN) is needed to load BPF "
			"programs; run as root (sudo sonde ...)",
			has_cap(d, CAP_BPF) ? "CAP_PERFMON" : "CAP_BPF");
	return -EPERM;
}

int privs_bump_memlock(void)
{
	struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};

	/* Kernels >= 5.11 charge BPF memory to the cgroup; older use this. */
	if (setrlimit(RLIMIT_MEMLOCK, &r)) {
		log_debug("privs: failed to raise RLIMIT_MEMLOCK: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
