/* SPDX-License-Identifier: MIT */
/*
 * From -f TARGET:FUNCTION to (file, offset) pairs a uprobe attaches to.
 * TARGET is a path, or a short name ("libc", "myprog") found among the
 * files a process maps (-p) or a command links (-- CMD: its DT_NEEDED
 * closure, searched like the dynamic loader). FUNCTION is a symbol name
 * or a glob. Failures print one line naming the spec and the fix.
 */
#ifndef SONDE_UPROBE_RESOLVE_H
#define SONDE_UPROBE_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct elfsyms;

struct uprobe_func {
	char *name;
	uint64_t offset; /* file offset of the first instruction */
};

/*
 * True when @path is the file a short name means: same basename, or the
 * basename is @name followed by '.' or '-' ("libc" -> "libc.so.6",
 * "libc-2.31.so"; not "libcrypto.so.3").
 */
bool uprobe_short_name_matches(const char *name, const char *path);

/* True when @pattern has glob characters (*, ?, [). */
bool uprobe_is_glob(const char *pattern);

/*
 * Look up command @cmd0 like execvp: a name without '/' is searched in
 * $PATH. Writes the path to @out. Returns 0 or -ENOENT.
 */
int uprobe_find_exe(const char *cmd0, char *out, size_t len);

/*
 * Resolve TARGET. With @pid > 0, through the process: a short name among
 * its mapped files, and every path under /proc/PID/root so other mount
 * namespaces work. Otherwise against the executable @exe (a -- CMD that
 * has not run yet). @path receives the file to open, @display the path
 * as the target sees it. Returns 0 or -errno after printing one line
 * mentioning @spec (the -f argument).
 */
int uprobe_resolve_target(const char *spec, const char *target, pid_t pid, const char *exe,
			  char *path, size_t plen, char *display, size_t dlen);

/*
 * Functions of @syms named @pattern, or matching it as a glob, one per
 * address, in address order. More than @max matches is an error (-E2BIG),
 * none is -ENOENT; @n receives the match count either way. Prints nothing.
 */
int uprobe_match_funcs(const struct elfsyms *syms, const char *pattern, size_t max,
		       struct uprobe_func **out, size_t *n);

/*
 * Open @path and resolve @pattern in it (uprobe_match_funcs), printing
 * one line for a missing file, a non-ELF file, a missing function (with
 * close matches) or a glob over --max-probes. Returns 0 or -errno.
 */
int uprobe_resolve_funcs(const char *spec, const char *path, const char *display,
			 const char *pattern, size_t max, struct uprobe_func **out, size_t *n);

void uprobe_funcs_free(struct uprobe_func *f, size_t n);

#endif /* SONDE_UPROBE_RESOLVE_H */
