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

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct elfsyms;

struct uprobe_func {
	char *name;
	uint64_t offset; /* file offset of the first instruction */
	char *src;	 /* its source file (uprobe_resolve_sources), NULL if unknown */
	uint32_t line;	 /* the line of its entry, 0 if unknown */
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
 * Resolve TARGET. With @pid > 0, through the process: a short name or a
 * path among its mapped files gives /proc/PID/map_files/START-END (the
 * mapped file whatever its path names now; uprobes attach through it), a
 * path it does not map is looked up under /proc/PID/root. Otherwise against the executable @exe (a -- CMD that
 * has not run yet). @path receives the file to open, @display the path
 * as the target sees it. Returns 0 or -errno after printing one line
 * mentioning @spec (the -f argument).
 */
int uprobe_resolve_target(const char *spec, const char *target, pid_t pid, const char *exe,
			  char *path, size_t plen, char *display, size_t dlen);

/*
 * Functions of @syms named @pattern (or its compiler clones, as
 * "@pattern.constprop.0"), or matching it as a glob, one per address, in
 * address order. More than @max matches is an error (-E2BIG),
 * none is -ENOENT; @n receives the match count either way. Prints nothing.
 */
int uprobe_match_funcs(const struct elfsyms *syms, const char *pattern, size_t max,
		       struct uprobe_func **out, size_t *n);

/* One -f resolved: the file to attach to and its functions. */
struct uprobe_resolved {
	/* The file to open and attach to: for a PID, /proc/PID/map_files/... of
	 * the mapping (the file mapped, not what its path names now). */
	char path[PATH_MAX + 64];
	char display[PATH_MAX]; /* the file as the target sees it */
	struct uprobe_func *funcs; /* demangled names, with parameters for C++ */
	size_t n;
};

/*
 * Resolve one -f (its text @arg, split by trace_func_spec_parse() into
 * @target and @func) for @pid, or for the command @exe when @pid <= 0:
 * the target file (uprobe_resolve_target), FUNCTION in its symbols, its
 * separate debug file's, or else in the libraries it maps (-p) or links
 * (-- CMD), saying where it was found. FUNCTION matches symbol names as
 * they are or demangled ("ns::Klass::method", globs too). A TARGET path
 * that does not exist may end at a later ':' ("./a:b.so:fn") or "::"
 * ("./a:b.so::fn"). Opens only regular files and never blocks. Returns 0
 * or -errno after one line naming @arg; free r->funcs with
 * uprobe_funcs_free().
 */
int uprobe_resolve_spec(const char *arg, const char *target, const char *func, pid_t pid,
			const char *exe, size_t max, struct uprobe_resolved *r);

/*
 * Fill fns[].src and .line from the DWARF of @path or of its separate
 * debug file (build-id, .gnu_debuglink). Best effort: without DWARF they
 * stay unknown. Prints nothing.
 */
void uprobe_resolve_sources(const char *path, struct uprobe_func *fns, size_t n);

void uprobe_funcs_free(struct uprobe_func *f, size_t n);

#endif /* SONDE_UPROBE_RESOLVE_H */
