/* SPDX-License-Identifier: MIT */
/* Interactive flame graph as one self-contained SVG file. */
#ifndef SONDE_EXPORT_SVG_H
#define SONDE_EXPORT_SVG_H

#include <stdio.h>

#include "model/profile.h"

#include <stdbool.h>

struct svg_opts {
	const char *title;    /* default "CPU flame graph" */
	const char *subtitle; /* e.g. the command line; may be NULL */
	unsigned int width;   /* pixels, default 1200 */
	bool inverted;	      /* icicle graph: the root at the top */
	/* What a count counts, for tooltips: default "sample" / "samples". */
	const char *unit, *units;
	/*
	 * A differential flame graph: the profile drawn is AFTER, and each
	 * frame is coloured by the change of its share of all samples since
	 * @before (red grew, blue shrank); tooltips give both sides.
	 */
	const struct profile *before;
};
/*
 * Self-contained interactive flame graph (zoom, search with a case toggle,
 * hover details, a legend of the colours; no external references), its
 * view kept in the URL fragment "#zoom=DEPTH,OFFSET&search=RE&icase=1".
 * @opts may be NULL. Frames narrower than 0.1 px ("minwidth") are left
 * out with everything above them; their samples still count in their
 * ancestors. Unsymbolized frames (one per module) list their busiest
 * offsets in the tooltip. Returns 0 or -errno.
 */
int flamegraph_svg__write(const struct profile *p, FILE *f, const struct svg_opts *opts);

#endif /* SONDE_EXPORT_SVG_H */
