/* SPDX-License-Identifier: MIT */
/* The table of the hottest functions (no -o). */
#ifndef SONDE_EXPORT_TOP_H
#define SONDE_EXPORT_TOP_H

#include <stdio.h>

#include "model/profile.h"

/*
 * Table of the @max (0 = all) hottest functions: self = samples with the
 * function as the leaf frame, total = samples with it anywhere on the stack
 * (once per stack under recursion). Sorted by self, then total, both
 * descending, then name. Values are of the profile's first sample type (the
 * header names it and its unit unless it is CPU samples). Returns 0 or
 * -errno.
 */
int report_top__write(const struct profile *p, FILE *f, unsigned int max);
/* The same, its total "Total: N @units" (NULL: "Total samples: N"). */
int report_top__write_as(const struct profile *p, FILE *f, unsigned int max, const char *units);

/*
 * The top movers between @before and @after, @max rows (0 = all): per
 * function its self share of each side's samples, the change of the self
 * share and of the total share, in percentage points. Sorted by the size
 * of the self change, then of the total change, then name. @units names
 * the counts (NULL: "samples"). Returns 0 or -errno.
 */
int report_top_diff__write(const struct profile *before, const struct profile *after, FILE *f,
			   unsigned int max, const char *units);

#endif /* SONDE_EXPORT_TOP_H */
