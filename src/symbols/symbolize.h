/* SPDX-License-Identifier: MIT */
/*
 * Address -> (module, function, file:line) for user and kernel addresses.
 *
 * Names come from .symtab/.dynsym, a separate debug file (build-id or
 * .gnu_debuglink, see debuginfo.h), MiniDebugInfo, and for JIT code in
 * anonymous mappings from /tmp/perf-PID.map (module "[perf-PID.map]", the
 * PID as the target's namespace numbers it). DWARF, from the file or its
 * debug file, adds file:line and inline frames.
 *
 * Symbol tables are cached per file (keyed by device and inode, so one
 * libc serves every process), process maps per PID. Files are opened
 * through /proc/PID/root so targets in other mount namespaces work.
 * Strings in results are owned by the symbolizer and stay valid until
 * symbolizer__free(). Not thread-safe: one symbolizer per thread, or a lock.
 */
#ifndef SONDE_SYMBOLIZE_H
#define SONDE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SYM_MAX_INLINE 8

struct symbolizer;

struct symbolizer_opts {
	size_t sz; /* sizeof(struct symbolizer_opts), libbpf style */
	/* Read kernel symbols from this file instead of /proc/kallsyms. */
	const char *kallsyms_path;
	/* Upper bound on cached ELF files; 0 = default (256). */
	unsigned int max_files;
	/* Upper bound on PIDs whose maps are kept; 0 = default (4096). */
	unsigned int max_pids;
	/*
	 * Re-reads of a PID's maps on a miss (to catch dlopen) are rate
	 * limited per PID: a burst of maps_reread_burst (0 = default 4),
	 * refilled by one every maps_reread_interval_ms (0 = default 100).
	 */
	unsigned int maps_reread_burst;
	unsigned int maps_reread_interval_ms;
	/*
	 * Colon-separated directories searched for separate debug files
	 * (DIR/.build-id/xx/yyyy.debug, DIR/<binary's dir>/<debuglink>),
	 * each inside the target's root first, then on the host. NULL =
	 * "/usr/lib/debug".
	 */
	const char *debug_dirs;
	/*
	 * Upper bound on files whose DWARF is open at once (LRU; a closed
	 * one reopens on its next lookup); 0 = default (8). An open DWARF
	 * file costs libdw's decompressed sections and per-CU caches plus
	 * the touched pages of its mapping: measured (bench/symbolize_bench)
	 * up to +31 MiB heap / +34 MiB RSS for Debian's libc with libc6-dbg
	 * after every function was resolved, +14 MiB / +19 MiB after the
	 * 871 addresses of a 5 s python3 profile; symbols alone cost ~1 MiB
	 * heap / ~2.3 MiB RSS for libc.
	 */
	unsigned int max_dwarf_files;
	/* Non-zero: no DWARF (no file:line, no inline frames). */
	unsigned int no_dwarf;
	/* Entries kept per /tmp/perf-PID.map; 0 = default (1M). */
	unsigned int perfmap_max_entries;
	/*
	 * Bytes read of one perf map over its life; 0 = default
	 * (PERFMAP_DEFAULT_MAX_BYTES, 256 MiB). A map must belong to the
	 * target's user or root and not be writable by others (perf's rule),
	 * and is never followed through a symlink.
	 */
	uint64_t perfmap_max_bytes;
	/*
	 * Polled during long reads (a huge perf map): returning true cuts the
	 * read short so SIGINT/SIGTERM are honoured. NULL = never.
	 */
	bool (*stopping)(void);
	/*
	 * Heap bytes the caches may hold at the end of every call; 0 = no
	 * byte bound (the counts above still hold). Counted: each cached
	 * file's symbol table, its open DWARF (an estimate: see
	 * dwarf_lines__bytes), each PID's maps and perf map. Not counted: the
	 * interned result strings (they outlive evictions), kallsyms (one
	 * table) and vdso images (at most 4 small ones). A load past it evicts
	 * the least recently used files, DWARF and PIDs, never the file or
	 * PID the call is working on; an object that does not fit beside
	 * those by itself is not kept (stats.oversized): a symbol table then
	 * leaves its file's addresses with module, offset and build-id, DWARF
	 * leaves names without lines, a perf map leaves JIT code anonymous. A
	 * load briefly holds what it loads before evictions make room.
	 */
	uint64_t max_bytes;
};

struct sym_frame {
	const char *name;    /* function; NULL when unknown */
	const char *file;    /* source file, NULL when unknown */
	uint32_t line;	     /* 0 when unknown */
	uint32_t inlined;    /* 1 when this frame was inlined into the next */
	uint64_t sym_offset; /* addr - function start */
};

struct sym_result {
	/* Module path ("/usr/lib/x86_64-linux-gnu/libc.so.6", "[kernel.kallsyms]",
	 * "[vdso]"); NULL when the address is in no known mapping. */
	const char *module;
	const char *build_id;			/* lower-case hex, NULL if none */
	uint64_t rel_addr;			/* ELF virtual address (user), absolute (kernel) */
	uint64_t map_start, map_end, map_pgoff; /* the mapping; 0 for kernel */
	/* Innermost first: frames[0] is the most deeply inlined function,
	 * frames[nframes - 1] the real (outermost) function. 0 = unnamed. */
	int nframes;
	struct sym_frame frames[SYM_MAX_INLINE];
};

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts);
void symbolizer__free(struct symbolizer *s);
/*
 * Drop every cached file and its DWARF (a memory budget): they are read
 * again when next needed; names already handed out stay valid.
 */
void symbolizer__shrink(struct symbolizer *s);

/*
 * Resolve a user address of @pid. Returns 0 (res filled; res->nframes may be
 * 0 when the address is mapped but has no symbol, res->module NULL when it
 * is not mapped at all) or -errno (-ESRCH: the process is gone and was
 * never seen). A miss re-reads the PID's maps once, to catch dlopen().
 */
int symbolizer__resolve_user(struct symbolizer *s, pid_t pid, uint64_t addr,
			     struct sym_result *res);
int symbolizer__resolve_kernel(struct symbolizer *s, uint64_t addr, struct sym_result *res);
/*
 * Read /proc/PID/maps now (and open the files it maps) so that addresses
 * can be resolved after the process exits. Returns 0 or -errno.
 */
int symbolizer__prepare_pid(struct symbolizer *s, pid_t pid);
/*
 * Maps read by someone else (a snapshot of /proc/PID/maps taken while the
 * process lived: @maps_text; they replace older ones, e.g. at exec), and
 * whether its root was ours (@same_root). Cheap enough for every exec and
 * mmap of a busy system: only the files that will be out of reach once
 * the process exits are loaded now (deleted ones, and all those of a
 * process with another root, e.g. a container); files on our own tree
 * load on first use by their path, checked against the mapped inode.
 * 0 or -errno (-EINVAL for malformed text).
 */
int symbolizer__set_maps(struct symbolizer *s, pid_t pid, const char *maps_text, int same_root);
/* Forget a PID's maps (its exit). */
void symbolizer__forget_pid(struct symbolizer *s, pid_t pid);

struct symbolizer_stats {
	uint64_t lookups;
	uint64_t unresolved;	/* addresses given no function name */
	uint64_t files_cached;	/* ELF files in the cache now */
	uint64_t maps_reads;	/* /proc/PID/maps reads, first ones included */
	uint64_t debug_files;	/* separate debug files found (loads, not lookups) */
	uint64_t dwarf_open;	/* files with DWARF open now */
	uint64_t dwarf_opens;	/* DWARF opens, reopens after eviction included */
	uint64_t perfmap_reads; /* perf-PID.map refreshes that read new lines */
	uint64_t jit_resolved;	/* addresses named by a perf map */
	uint64_t perfmap_refused; /* perf maps ignored: wrong owner, symlink, not a file */
	uint64_t bytes;		  /* heap the caches hold now, as max_bytes counts it */
	uint64_t dwarf_bytes;	  /* of which open DWARF (an estimate: dwarf_lines.h) */
	uint64_t bytes_peak;	  /* the most they held, loads before evictions included */
	uint64_t budget_evictions; /* files, DWARF and PIDs evicted to keep to max_bytes */
	uint64_t oversized;	   /* objects not kept: too big for max_bytes alone */
};
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *st);

#endif /* SONDE_SYMBOLIZE_H */
