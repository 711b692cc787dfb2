/* SPDX-License-Identifier: MIT */
/*
 * A saved profile back into a struct profile, whatever its format: the
 * file (or "-", stdin) is read whole, gunzipped when it starts with the
 * gzip magic, then read as folded stacks when it is text and as pprof
 * otherwise. So FILE.pb.gz, an uncompressed pprof, FILE.folded and a
 * gzipped folded file all work, whatever their names.
 */
#ifndef SONDE_EXPORT_LOAD_H
#define SONDE_EXPORT_LOAD_H

#include <stdint.h>

#include "export/pprof_read.h"

struct profile;

/* Bytes a profile may have once decompressed: a bound on memory. */
#define PROFILE_LOAD_MAX (1ull << 30)

enum profile_format {
	PROFILE_FORMAT_FOLDED = 1,
	PROFILE_FORMAT_PPROF,
};

struct profile_load_info {
	enum profile_format format;
	int gzipped;
	/* pprof: the sample type read; folded: "samples"/"count". */
	char sample_type[PPROF_TYPE_LEN];
	char sample_unit[PPROF_TYPE_LEN];
	char types[512];  /* pprof: every sample type there is */
	uint64_t samples; /* samples (pprof) or stack lines (folded) read */
	uint64_t skipped; /* pprof samples with a value <= 0 */
};

/*
 * Read @path into @p (empty), the pprof sample type @sample_type (NULL:
 * the first; folded files have one). 0 or -errno after one line naming
 * @path and what is wrong.
 */
int profile_load(const char *path, const char *sample_type, struct profile *p,
		 struct profile_load_info *info);

#endif /* SONDE_EXPORT_LOAD_H */
