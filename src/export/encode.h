/* SPDX-License-Identifier: MIT */
/*
 * A profile in one of the window formats, written into memory by the
 * file writers (pprof.c, folded.c, svg.c): for the sinks that send or
 * place whole windows (pyroscope.c, outdir.c) and must know every byte
 * and the first error before anything leaves the process.
 */
#ifndef SONDE_EXPORT_ENCODE_H
#define SONDE_EXPORT_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "export/svg.h"
#include "export/window.h"

struct profile;

/*
 * @p in format @fmt into *@buf (malloc'd, *@len bytes): pprof with every
 * sample type, folded stacks and the flame graph (@so, may be NULL) of
 * the first. 0 or -errno (-ENOMEM, or the writer's error).
 */
int profile_encode(const struct profile *p, enum window_format fmt, const struct svg_opts *so,
		   char **buf, size_t *len);

/* Whether any sample type of @p has a value: an empty window is not written or sent. */
bool profile_has_samples(const struct profile *p);

#endif /* SONDE_EXPORT_ENCODE_H */
