/* SPDX-License-Identifier: MIT */
/*
 * Folded stacks reader: "comm;outer;...;inner COUNT" lines, ours or those
 * of perf's `perf script report stackcollapse`, Brendan Gregg's
 * stackcollapse-*.pl and inferno, into a struct profile.
 *
 * The first frame is the process name. Frame names come back as
 * folded__write() wrote them: "f_[k]" is a kernel frame f, "f_[i]" f
 * inlined into the frame before it (one location, as the profile had it),
 * "[libfoo.so]" an unsymbolized address in libfoo.so, "[unknown]" one in
 * no known file; anything else is a function name. A line ending in two
 * counts (difffolded.pl's "stack BEFORE AFTER") counts the second, as
 * flamegraph.pl does. Empty lines and lines starting with '#' are skipped.
 */
#ifndef SONDE_EXPORT_FOLDED_READ_H
#define SONDE_EXPORT_FOLDED_READ_H

#include <stddef.h>
#include <stdint.h>

struct profile;

struct folded_read_info {
	uint64_t lines;	  /* stack lines read */
	uint64_t samples; /* their counts, summed */
};

/*
 * Parse @len bytes of @text into @p. @name is for messages. 0, -EINVAL
 * for a line without a count (one line logged with @name and its line
 * number), or -ENOMEM.
 */
int folded__read(const char *text, size_t len, const char *name, struct profile *p,
		 struct folded_read_info *info);

#endif /* SONDE_EXPORT_FOLDED_READ_H */
