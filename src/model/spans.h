/* SPDX-License-Identifier: MIT */
/*
 * A completed span as every span sink takes it (the --spans file,
 * export/otlp_json.h; OTLP, export/otlp.h): a probed function's call
 * (code.* attributes), or a span with attributes of its own (an LLM
 * call, kind CLIENT, GenAI attributes); and the clock offset that turns
 * BPF's monotonic times into wall-clock ones.
 */
#ifndef SONDE_SPANS_H
#define SONDE_SPANS_H

#include <stdint.h>
#include <stdio.h>

/* OTLP's span kinds (their numbers); 0 in a record means INTERNAL. */
enum span_kind {
	SPAN_KIND_INTERNAL = 1,
	SPAN_KIND_SERVER = 2,
	SPAN_KIND_CLIENT = 3,
};

enum span_attr_type {
	SPAN_ATTR_STRING = 0,
	SPAN_ATTR_INT,
	SPAN_ATTR_STRINGS, /* an array of strings (gen_ai.response.finish_reasons) */
	SPAN_ATTR_DOUBLE,
};

/* Attributes one span may carry of its own, and string values in all its arrays. */
#define SPAN_MAX_ATTRS 24
#define SPAN_MAX_STRINGS 8

/* An attribute of a span's own (a GenAI span's); strings are the caller's. */
struct span_attr {
	const char *key;
	enum span_attr_type type;
	const char *str;	  /* SPAN_ATTR_STRING */
	int64_t i;		  /* SPAN_ATTR_INT */
	double d;		  /* SPAN_ATTR_DOUBLE */
	const char *const *strs;  /* SPAN_ATTR_STRINGS */
	uint32_t nstrs;
};

/*
 * What the stack probes sampled during a call, one span attribute per
 * profile sample type (sonde trace -f with -e cpu,offcpu,...): the sum of
 * that type's values over the samples the kernel tagged with the call
 * (its own: a sample in a probed callee counts for the callee).
 */
enum span_samples {
	SPAN_SAMPLES_CPU,	    /* "sonde.samples.cpu": cpu-clock samples (1/F s each) */
	SPAN_SAMPLES_OFF_CPU,	    /* "sonde.samples.off_cpu_ns": off-CPU time, ns */
	SPAN_SAMPLES_ALLOC_SPACE,   /* "sonde.samples.alloc_space_bytes": bytes allocated */
	SPAN_SAMPLES_ALLOC_OBJECTS, /* "sonde.samples.alloc_objects": allocations */
	SPAN_SAMPLES_PAGE_FAULTS,   /* "sonde.samples.page_faults": page faults */
	SPAN_SAMPLES_MAX,
};

/* The attribute name of each (static strings). */
extern const char *const span_samples_keys[SPAN_SAMPLES_MAX];
/* The attribute of profile sample type @type ("off_cpu"), or -1 for none. */
int span_samples_of_type(const char *type);

struct span_record {
	uint64_t trace_id_hi, trace_id_lo;
	uint64_t span_id;
	uint64_t parent_span_id; /* 0: a root span, written as "" */
	uint64_t start_unix_ns, end_unix_ns;
	uint32_t pid, tid;
	const char *name;     /* the function */
	const char *filepath; /* the binary or library it is in */
	const char *source_file; /* its source file (DWARF), NULL when unknown */
	uint32_t source_line;	 /* the line of its entry, 0 when unknown */
	uint32_t kind;		 /* enum span_kind; 0: INTERNAL */
	/*
	 * A span of something other than a function (an LLM call): its own
	 * attributes, written after thread.id in place of the code.* ones.
	 * At most SPAN_MAX_ATTRS, their arrays SPAN_MAX_STRINGS values in all.
	 */
	const struct span_attr *attrs;
	uint32_t nattrs;
	/* Bit k set: samples[k] (enum span_samples) is an attribute; 0: no stack probe. */
	uint32_t samples_mask;
	uint64_t samples[SPAN_SAMPLES_MAX];
};

/*
 * CLOCK_REALTIME minus CLOCK_MONOTONIC in nanoseconds, to turn
 * bpf_ktime_get_ns() times into wall-clock times. Measured as the
 * tightest of a few bracketed readings.
 */
int64_t clock_mono_to_real_ns(void);

#endif /* SONDE_SPANS_H */
