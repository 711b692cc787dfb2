// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sonde/log.h"
#include "sonde/privs.h"

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

int privs_check_bpf(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	/* No libcap: the raw syscall is all we need for one check. */
	if (syscall(SYS_capget, &h, d)) {
		log_err("privs: failed to read capabilities: %s", strerror(errno));
		return -errno;
	}
	if (has_cap(d, CAP_SYS_ADMIN))
		return 0;
	if (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON))
		return 0;
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
