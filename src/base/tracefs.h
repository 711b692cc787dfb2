/* SPDX-License-Identifier: MIT */
/*
 * The tracefs that classic tracepoints need: libbpf finds a tracepoint's
 * id under /sys/kernel/tracing/events (or /sys/kernel/debug/tracing). A
 * host that never mounted tracefs (a minimal VM without systemd's mount,
 * a fresh container) has neither, and every syscall tracepoint fails
 * with ENOENT.
 */
#ifndef SONDE_TRACEFS_H
#define SONDE_TRACEFS_H

/*
 * Make the tracepoints' events reachable: when neither directory has
 * them, mount tracefs at /sys/kernel/tracing (once per process, logged)
 * and leave it mounted: another sonde may be attaching through it, and
 * systemd would have mounted it there anyway. 0 when the events are
 * there, -errno when they cannot be.
 */
int tracefs_ensure(void);

#endif /* SONDE_TRACEFS_H */
