/* SPDX-License-Identifier: MIT */
/* Profile writers: folded stacks, interactive SVG, top-functions table. */
#ifndef SONDE_FLAMEGRAPH_H
#define SONDE_FLAMEGRAPH_H

#include <stdio.h>

#include "sonde/profile.h"

/*
 * Folded stacks, one per line: "comm;outer;...;inner COUNT", root first,
 * identical frame strings merged, lines sorted bytewise (strcmp). A ';' in
 * a frame or comm is written as ':', control characters as ' '.
 * Returns 0 or -errno.
 */
int folded__write(const struct profile *p, FILE *f);

struct svg_opts {
	const char *title; /* default "CPU flame graph" */
	const char *subtitle; /* e.g. the command line; may be NULL */
	unsigned int width; /* pixels, default 1200 */
};
/*
 * Self-contained interactive flame graph (zoom, search, hover details; no
 * external references). @opts may be NULL. Frames narrower than 0.1 px
 * ("minwidth") are left out with everything above them; their samples
 * still count in their ancestors. Returns 0 or -errno.
 */
int flamegraph_svg__write(const struct profile *p, FILE *f, const struct svg_opts *opts);

/*
 * Table of the @max (0 = all) hottest functions: self = samples with the
 * function as the leaf frame, total = samples with it anywhere on the stack
 * (once per stack under recursion). Sorted by self, then total, both
 * descending, then name. Returns 0 or -errno.
 */
int report_top__write(const struct profile *p, FILE *f, unsigned int max);

#endif /* SONDE_FLAMEGRAPH_H */
