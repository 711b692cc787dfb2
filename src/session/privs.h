/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PRIVS_H
#define SONDE_PRIVS_H

#include <stdbool.h>

/*
 * Check that this process may load BPF programs and open system-wide perf
 * events: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON; with @uprobes,
 * CAP_SYS_ADMIN (the uprobe PMU asks for it on this kernel). On failure
 * prints one line naming the missing capability and the fix, returns
 * -EPERM.
 */
int privs_check_bpf(bool uprobes);

/*
 * The capabilities beyond BPF that a long run (the agent) works better
 * with, each missing one logged once with what it costs: CAP_SYS_PTRACE
 * (other users' /proc/PID/maps, root and mem), CAP_DAC_READ_SEARCH
 * (their files), CAP_SYSLOG (kernel symbols). Returns how many are missing.
 */
int privs_report_optional(const char *cmd);

/* Raise RLIMIT_MEMLOCK for kernels that still charge BPF maps to it. */
int privs_bump_memlock(void);

#endif /* SONDE_PRIVS_H */
