// SPDX-License-Identifier: MIT
#include <string.h>

#include "export/sample_type.h"

/*
 * Windows are deltas, so nothing is cumulative; what is in use at a
 * window's end is a level, which Pyroscope averages over windows rather
 * than adds. "cpu" is the nanoseconds pprof derives from CPU samples.
 */
static const struct sample_type_desc descs[] = {
	{"samples", "CPU flame graph", NULL, NULL, "samples", "sum", true},
	{"cpu", "CPU time flame graph", "ns", "ns", "nanoseconds", "sum", false},
	{"off_cpu", "Off-CPU time flame graph (blocked or waiting to run)", "ns", "ns",
	 "nanoseconds", "sum", false},
	{"alloc_space", "Allocated bytes flame graph", "byte", "bytes", "bytes", "sum", false},
	{"alloc_objects", "Allocations flame graph", "object", "objects", "objects", "sum", false},
	{"inuse_space", "In-use bytes flame graph (live at the end)", "byte", "bytes", "bytes",
	 "average", false},
	{"inuse_objects", "In-use objects flame graph (live at the end)", "object", "objects",
	 "objects", "average", false},
	{"page_faults", "Page faults flame graph", "page fault", "page faults", "count", "sum",
	 false},
	{"input_tokens", "LLM input tokens by the code that sent the request", "token", "tokens",
	 "count", "sum", false},
	{"output_tokens", "LLM output tokens by the code that sent the request", "token", "tokens",
	 "count", "sum", false},
};

const struct sample_type_desc *sample_type_desc(const char *type)
{
	for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++)
		if (!strcmp(descs[i].type, type))
			return &descs[i];
	return NULL;
}
