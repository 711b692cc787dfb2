/* SPDX-License-Identifier: MIT */
/* Folded stacks, the format of flamegraph.pl and speedscope. */
#ifndef SONDE_EXPORT_FOLDED_H
#define SONDE_EXPORT_FOLDED_H

#include <stdbool.h>
#include <stdio.h>

#include "model/profile.h"

/*
 * Folded stacks, one per line: "comm;outer;...;inner COUNT", root first,
 * identical frame strings merged, lines sorted bytewise (strcmp). A ';' in
 * a frame or comm is written as ':', control characters as ' '.
 * Returns 0 or -errno.
 */
int folded__write(const struct profile *p, FILE *f);

/*
 * Differential folded stacks, difffolded.pl's format: "stack BEFORE AFTER"
 * for every stack of either profile, sorted as above. With @normalize,
 * BEFORE's counts are scaled to AFTER's total (difffolded.pl -n), so the
 * two columns compare shares. Returns 0 or -errno.
 */
int folded_diff__write(const struct profile *before, const struct profile *after, FILE *f,
		       bool normalize);

#endif /* SONDE_EXPORT_FOLDED_H */
