/* SPDX-License-Identifier: MIT */
/*
 * The cpu probe: every online CPU's software cpu-clock event runs
 * bpf/cpu.bpf.c, which keeps ticks of the target processes (filtered in
 * the kernel) and sends their kernel and user stacks; in DWARF mode also
 * the user registers and a snapshot of the user stack, unwound here with
 * the binaries' CFI. Samples land in the session's profile.
 */
#ifndef SONDE_PROBES_CPU_H
#define SONDE_PROBES_CPU_H

#include <stdbool.h>

#include "probes/probe.h"

/* How user stacks are walked (--call-graph, perf's flag). */
enum call_graph {
	CALL_GRAPH_DWARF = 0, /* stack snapshot unwound with .eh_frame/.debug_frame */
	CALL_GRAPH_FP,	      /* frame pointers only, walked in the kernel */
};

/* --stack-size bounds: perf's range, and our default (see DESIGN.md). */
#define CPU_STACK_SIZE_DEFAULT 16384
#define CPU_STACK_SIZE_MAX 65536
#define CPU_FREQ_DEFAULT 99

struct cpu_opts {
	unsigned int freq;	    /* -F HZ per CPU */
	bool kernel;		    /* include kernel stacks (default on; --no-kernel) */
	unsigned int ring_kib;	    /* --ring-size KiB; 0 = sized from the rate (auto) */
	unsigned int max_pids;	    /* --max-pids: size of the PID filter map */
	enum call_graph call_graph; /* --call-graph fp|dwarf[,SIZE] */
	unsigned int stack_size;    /* --stack-size BYTES copied per sample (dwarf) */
};

/* Defaults of every option above. */
void cpu_opts_default(struct cpu_opts *o);

extern const struct probe_ops cpu_probe_ops;

#endif /* SONDE_PROBES_CPU_H */
