/* SPDX-License-Identifier: MIT */
/*
 * The faults probe: the software page-faults perf event on every online
 * CPU runs bpf/faults.bpf.c, which keeps the target's faults (one in
 * --faults-period) with their stacks. Sample type page_faults/count.
 */
#ifndef SONDE_PROBES_FAULTS_H
#define SONDE_PROBES_FAULTS_H

#include "probes/probe.h"

struct faults_opts {
	unsigned int period; /* --faults-period N: one sample per N faults (default 1) */
	/*
	 * --faults-freq HZ: about HZ samples a second per CPU instead, each
	 * weighing the period the kernel set for it (0: by period).
	 */
	unsigned int freq;
};

void faults_opts_default(struct faults_opts *o);

extern const struct probe_ops faults_probe_ops;

#endif /* SONDE_PROBES_FAULTS_H */
