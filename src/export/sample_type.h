/* SPDX-License-Identifier: MIT */
/*
 * What sonde knows of each sample type its probes record (pprof's
 * names: samples, off_cpu, alloc_space, ...), for the writers that
 * describe them: a flame graph's title and units, and the entry of
 * Pyroscope's sample_type_config (how the server aggregates the values
 * of several profiles and whether they are samples to scale by the rate).
 */
#ifndef SONDE_EXPORT_SAMPLE_TYPE_H
#define SONDE_EXPORT_SAMPLE_TYPE_H

#include <stdbool.h>

struct sample_type_desc {
	const char *type;	  /* "off_cpu" */
	const char *title;	  /* of its flame graph */
	const char *unit, *units; /* one count and many, for tooltips; NULL: samples */
	/* Pyroscope: "samples", "nanoseconds", "bytes", "objects", "count". */
	const char *pyroscope_units;
	const char *aggregation; /* "sum", or "average" for what is live at the end */
	bool sampled;		 /* counts of samples, not measured values */
};

/* The description of @type, or NULL for a type sonde does not record. */
const struct sample_type_desc *sample_type_desc(const char *type);

#endif /* SONDE_EXPORT_SAMPLE_TYPE_H */
