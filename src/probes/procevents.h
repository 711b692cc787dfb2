/* SPDX-License-Identifier: MIT */
/*
 * The session's own probe (not an -e one): the shared target map's
 * upkeep in the kernel (bpf/procevents.bpf.c: a target's forked children
 * join it with follow, exited targets leave it) and the process events
 * the session follows its target set by. Each event goes to the host's
 * on_proc callback from the tick, in the order the kernel sent them.
 */
#ifndef SONDE_PROBES_PROCEVENTS_H
#define SONDE_PROBES_PROCEVENTS_H

#include <stdbool.h>

#include "probes/probe.h"

struct procevents_opts {
	bool follow_forks; /* a target's children become targets */
	bool report_execs; /* every exec on the host is an event (discovery) */
};

extern const struct probe_ops procevents_probe_ops;

#endif /* SONDE_PROBES_PROCEVENTS_H */
