/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PRIVS_H
#define SONDE_PRIVS_H

/*
 * Check that this process may load BPF programs and open system-wide perf
 * events: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON. On failure prints
 * one line naming the missing capability and the fix, returns -EPERM.
 */
int privs_check_bpf(void);

/* Raise RLIMIT_MEMLOCK for kernels that still charge BPF maps to it. */
int privs_bump_memlock(void);

#endif /* SONDE_PRIVS_H */
