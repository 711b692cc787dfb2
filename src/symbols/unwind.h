/* SPDX-License-Identifier: MIT */
/*
 * DWARF unwinding of user stack snapshots (sonde record --call-graph dwarf).
 *
 * A sample carries the user ip/sp/bp and a copy of the stack from sp
 * upward. The unwinder finds each pc's mapping in the PID's maps, the
 * mapped file's .eh_frame (or .debug_frame) rule for it through libdw, and
 * computes the caller's registers from the snapshot; where no CFI covers a
 * pc (JIT code, a file without unwind tables) it steps by frame pointer.
 * CFI is cached per file, keyed by device and inode, so one libc serves
 * every process; maps are cached per PID and re-read (rate limited) when
 * a pc falls outside them. x86-64 only (other hosts get -EOPNOTSUPP).
 */
#ifndef SONDE_UNWIND_H
#define SONDE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct unwinder;

struct unwinder_opts {
	size_t sz;		/* sizeof(struct unwinder_opts), libbpf style */
	unsigned int max_files; /* ELF files whose CFI is kept; 0 = 256 */
	unsigned int max_pids;	/* PIDs whose maps are kept; 0 = 4096 */
	/* A PID's maps are re-read on a miss at most this often; 0 = 100. */
	unsigned int maps_reread_interval_ms;
	/*
	 * Heap the files' unwind tables may take, least recently used
	 * evicted; a file larger than that alone is not kept. 0: no bound.
	 */
	uint64_t max_bytes;
};

/* The thread's user state at the sample. */
struct unwind_input {
	uint64_t ip, sp, bp;
	const void *stack; /* copy of [sp, sp + stack_len) */
	size_t stack_len;
	/*
	 * ip is one byte past an int3 (SONDE_SAMPLE_AT_INT3): when the frame
	 * at ip - 1 unwinds to a return address in code and the frame at ip
	 * does not, the thread is trapped on a uprobe, its probed instruction
	 * not run, and ip - 1 is its pc.
	 */
	bool at_int3;
};

/* Why the walk stopped. */
enum unwind_end {
	/* The outermost frame: CFI marks its return address undefined
	 * (_start, clone), or a frame-pointer chain ended in 0. */
	UNWIND_END_COMPLETE = 0,
	UNWIND_END_TRUNCATED, /* the next frame lies beyond the snapshot */
	UNWIND_END_NO_INFO,   /* no CFI for a pc and no usable frame pointer */
	UNWIND_END_BAD,	      /* unsupported CFI or an impossible frame (sp not rising) */
	UNWIND_END_DEPTH,     /* the caller's array is full */
	UNWIND_END_NR,
};

struct unwind_result {
	enum unwind_end end;
	unsigned int cfi_frames; /* steps taken with CFI */
	unsigned int fp_frames;	 /* steps taken by frame pointer */
};

struct unwinder *unwinder__new(const struct unwinder_opts *opts);
void unwinder__free(struct unwinder *u);
/*
 * Drop every cached file's unwind tables (a memory budget): read again
 * when a walk next needs them.
 */
void unwinder__shrink(struct unwinder *u);

/*
 * Unwind one sample of @pid into @ips (innermost first; ips[0] is the
 * sampled ip, the rest are return addresses). Returns the number of
 * addresses (>= 1) with @res filled, or -errno: -ESRCH when the PID's maps
 * cannot be read (the process is gone), -EINVAL for an empty input,
 * -EOPNOTSUPP on hosts other than x86-64.
 */
int unwinder__unwind(struct unwinder *u, pid_t pid, const struct unwind_input *in, uint64_t *ips,
		     unsigned int max, struct unwind_result *res);
/*
 * Read the PID's maps now, replacing what was cached (its exec, a new
 * mapping), and open the CFI of every file they map, so that its samples
 * unwind after it exits. Exec is learnt this way (process events), never
 * from a thread's comm: threads rename themselves. 0 or -errno (-ESRCH).
 */
int unwinder__prepare_pid(struct unwinder *u, pid_t pid);
/*
 * Maps from a snapshot of /proc/PID/maps (see symbolizer__set_maps()):
 * the CFI of a file on our own tree is opened on first use (by its path,
 * inode-checked, also after the process exited); files of a process with
 * another root are opened now.
 */
int unwinder__set_maps(struct unwinder *u, pid_t pid, const char *maps_text, int same_root);
/* Forget a PID's maps (its exit). */
void unwinder__forget_pid(struct unwinder *u, pid_t pid);

struct unwinder_stats {
	uint64_t stacks;	      /* successful unwinder__unwind calls */
	uint64_t ends[UNWIND_END_NR]; /* how they stopped */
	uint64_t cfi_frames, fp_frames;
	uint64_t no_maps;      /* calls failed for unreadable maps */
	uint64_t files_cached; /* ELF files in the cache now */
	uint64_t files_failed; /* ELF files that could not be opened or parsed */
	uint64_t maps_reads;
	uint64_t frame_hits; /* CFI lookups answered by the frame cache */
	uint64_t int3_pcs;   /* leaf pcs moved back onto a uprobe's int3 (at_int3) */
	uint64_t bytes;	     /* heap the cached files' tables take */
	uint64_t budget_evictions; /* files evicted to keep within max_bytes */
	uint64_t files_oversized;  /* files whose tables alone exceed max_bytes */
};
void unwinder__stats(const struct unwinder *u, struct unwinder_stats *st);

#endif /* SONDE_UNWIND_H */
