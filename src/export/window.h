/* SPDX-License-Identifier: MIT */
/*
 * Names of profile windows on disk, so that whatever cuts windows (the
 * agent) and whatever reads them (sonde diff DIR DIR) agree:
 *
 *	[NAME-]YYYYMMDDTHHMMSS[.fff]Z.pb.gz
 *	[NAME-]YYYYMMDDTHHMMSS[.fff]Z[.TYPE].folded
 *	[NAME-]YYYYMMDDTHHMMSS[.fff]Z[.TYPE].svg
 *
 * NAME is free (the service, a host; no '/'), the timestamp is the
 * window's start in UTC in ISO 8601's basic format, optionally with a
 * fraction of a second, e.g. "checkout-20250314T093000Z.pb.gz". Names sort
 * by time within a NAME, and the last window of a directory is the one
 * with the latest timestamp whatever its NAME (equal times: the greatest
 * file name). Other files in the directory are ignored.
 *
 * A pprof window holds every sample type of the window; folded stacks
 * and flame graphs hold one each, so a window in those formats is a file
 * per sample type: the first type without TYPE, the others with theirs
 * ("checkout-20250314T093000Z.off_cpu.svg"; TYPE is [A-Za-z0-9_]+).
 */
#ifndef SONDE_EXPORT_WINDOW_H
#define SONDE_EXPORT_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define WINDOW_SUFFIX ".pb.gz"

enum window_format {
	WINDOW_PPROF = 0, /* .pb.gz */
	WINDOW_FOLDED,	  /* .folded */
	WINDOW_SVG,	  /* .svg */
};

/* ".pb.gz", ".folded" or ".svg". */
const char *window_suffix(enum window_format fmt);

/*
 * The file name of the window starting at @start_unix_ns, "@name-...": (no
 * prefix when @name is NULL or ""). Whole seconds, or milliseconds when
 * @start_unix_ns has them. Returns the length, or -ENOSPC if @len is short.
 */
int window_name(char *buf, size_t len, const char *name, uint64_t start_unix_ns);

/*
 * window_name() in format @fmt, of sample type @type when not NULL (the
 * folded and SVG files of a window's second and later types; pprof has
 * none: -EINVAL). Characters of @type outside [A-Za-z0-9_] become '_'.
 */
int window_name_fmt(char *buf, size_t len, const char *name, uint64_t start_unix_ns,
		    enum window_format fmt, const char *type);

/*
 * The window start of pprof window file name @base (no directory) in ns
 * since the epoch, or -EINVAL when it does not follow the pattern.
 */
int window_parse(const char *base, uint64_t *start_unix_ns);

/* What a window file name says. */
struct window_info {
	uint64_t start_unix_ns;
	enum window_format format;
	size_t name_len;	   /* bytes of NAME (0: no "NAME-" prefix) */
	size_t type_off, type_len; /* TYPE at @base + type_off; type_len 0: none */
};

/* window_parse() for a window of any format. 0 or -EINVAL. */
int window_parse_info(const char *base, struct window_info *wi);

/*
 * The path of the last window in directory @dir into @path: the last
 * pprof window, or when there is none the last folded one of a first
 * sample type (both are profiles `sonde diff` reads; a flame graph is
 * not). 0, -ENOENT when it holds none (one line logged, naming the
 * pattern), or -errno.
 */
int window_find_last(const char *dir, char *path, size_t len);

#endif /* SONDE_EXPORT_WINDOW_H */
