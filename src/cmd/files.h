/* SPDX-License-Identifier: MIT */
/* What sonde report and sonde diff share: reading saved profiles, naming units. */
#ifndef SONDE_CMD_FILES_H
#define SONDE_CMD_FILES_H

#include <stddef.h>

#include "export/load.h"
#include "session/outputs.h"

struct profile;

/*
 * Read @path into a new profile (*@out): a file, or for a directory its
 * last profile window (export/window.h); @resolved gets the file read.
 * A profile without samples is an error. 0 or -errno after one line.
 */
int files_load(const char *cmd, const char *path, const char *sample_type, struct profile **out,
	       struct profile_load_info *info, char *resolved, size_t len);

/*
 * Title, units and pprof sample type of profiles of @info's sample type:
 * samples are CPU samples ("CPU flame graph", "sample"/"samples"), other
 * types are named after themselves ("alloc_space flame graph", "bytes").
 * pprof output keeps the type; CPU samples of @p without a sampling period
 * (read from folded stacks) are written as samples only, no CPU time.
 */
void files_meta(const struct profile_load_info *info, const struct profile *p, const char *graph,
		struct output_meta *m, char *title, size_t len);

#endif /* SONDE_CMD_FILES_H */
