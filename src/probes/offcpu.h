/* SPDX-License-Identifier: MIT */
/*
 * The offcpu probe: stacks weighted by the time a target's threads spent
 * off the CPU, blocked or waiting to run (sched_switch out to back in),
 * from bpf/offcpu.bpf.c on the scheduler tracepoints.
 *
 * Which waits get a stack is decided when the wait ends, once its length
 * d is known: waits shorter than --offcpu-min are counted only; a longer
 * one is kept with probability min(1, d / T), T = --offcpu-min divided by
 * --offcpu-sample P, and weighs max(d, T) ns: an unbiased estimate whose
 * waits of T or more are all kept, exactly. (Deciding at switch-out, as
 * most profilers do, keeps a rare long wait with probability P only.)
 *
 * The kernel stack is read from the sleeping task when it is switched
 * back in; the user stack (and its DWARF snapshot) in the thread's own
 * context on its way back to user mode, through a BPF task work
 * scheduled only for kept waits: the user stack of a blocked thread is
 * the one it blocked with until it runs user code again, and threads
 * whose waits are not kept pay nothing for it. Where the kernel refuses
 * that (task works only from sleepable programs, Linux 6.18.44) or has
 * none, at the exit of the syscall it waited in (tp_btf/sys_exit), and a
 * wait outside a syscall with the user pc only.
 */
#ifndef SONDE_PROBES_OFFCPU_H
#define SONDE_PROBES_OFFCPU_H

#include <stdint.h>

#include "probes/probe.h"

#define OFFCPU_MIN_NS_DEFAULT 1000000ull /* 1 ms */

struct offcpu_opts {
	uint64_t min_ns;	  /* --offcpu-min: shorter waits are counted only */
	double sample;		  /* --offcpu-sample P in (0, 1]: 1 keeps every wait */
	unsigned int max_pending; /* --offcpu-max-pending: waits awaiting their user stack */
};

void offcpu_opts_default(struct offcpu_opts *o);

extern const struct probe_ops offcpu_probe_ops;

#endif /* SONDE_PROBES_OFFCPU_H */
