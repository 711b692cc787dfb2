/* SPDX-License-Identifier: MIT */
/* Executable mappings of a process, from /proc/PID/maps. */
#ifndef SONDE_PROCMAPS_H
#define SONDE_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct procmap {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff; /* file offset of start */
	uint64_t dev_major;
	uint64_t dev_minor;
	uint64_t inode;
	char *path; /* as shown in maps: "/usr/lib/...", "[vdso]", or "" */
};

struct procmaps {
	struct procmap *maps; /* executable mappings only, sorted by start */
	size_t nr;
};

/*
 * Parse maps text (the content of /proc/PID/maps). Keeps executable
 * mappings. Returns 0 or -errno (-EINVAL on malformed text).
 */
int procmaps__parse(const char *text, struct procmaps *out);
/*
 * Read and parse /proc/PID/maps; -ESRCH when the process is gone or has
 * exited (a zombie's maps read empty), or has no address space at all (a
 * kernel thread).
 */
int procmaps__read(pid_t pid, struct procmaps *out);
/* The text of /proc/PID/maps (malloc'd, never empty). 0 or -errno, -ESRCH as above. */
int procmaps__read_text(pid_t pid, char **text);
const struct procmap *procmaps__find(const struct procmaps *m, uint64_t addr);
/* Heap bytes @m holds (its array, fitted by parse, and the paths): O(nr). */
size_t procmaps__bytes(const struct procmaps *m);
void procmaps__clear(struct procmaps *m);

#endif /* SONDE_PROCMAPS_H */
