/* SPDX-License-Identifier: MIT */
/*
 * Go targets. Go copies a goroutine's stack when it grows, return address
 * included, so the address a uretprobe plants ends up on a stack the
 * kernel never saw and the program dies (bpftrace crashes Go programs the
 * same way). For Go, a function's returns are uprobes on each of its RET
 * instructions instead (as OBI does), and the BPF side keys call stacks by
 * goroutine (R14 holds g in Go's register ABI, Go >= 1.17), since a
 * goroutine can block on one thread and resume on another.
 */
#ifndef SONDE_PROBES_UPROBE_GO_H
#define SONDE_PROBES_UPROBE_GO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when @path is a Go executable (.go.buildinfo or .note.go.buildid). */
bool uprobe_go_binary(const char *path);

/*
 * What probing a Go function needs, from its code: the file offsets of
 * its RET instructions, and its stack check. A Go prologue compares SP
 * (less stack_adj for frames past 128 bytes) with g->stackguard0 and, when
 * the stack must grow (or the goroutine is asked to yield), calls
 * morestack, which copies the stack and runs the function again from its
 * entry: that first entry is not a call. stack_adj is -1 for a function
 * without the check (NOSPLIT) or with a prologue not recognised.
 *
 * entry_probe is where an entry probe goes: the prologue's first
 * conditional jump, where every register and SP are still as at the
 * entry. The kernel emulates a jump for a uprobe but single-steps the
 * compare at the entry: measured here, about 1 us against 19 us a hit.
 * Without a recognised prologue it is the entry itself. A RET is
 * single-stepped too, and there is no way around it for a return probe.
 */
struct uprobe_go_func {
	uint64_t *rets; /* malloc'd */
	size_t nrets;
	int64_t stack_adj;
	uint64_t entry_probe;
	/* SP displacement of the prologue's spill of RAX (the receiver), -1 none */
	int64_t rax_spill;
	uint64_t *calls; /* malloc'd: direct calls to uprobe_go_scan()'s @call_target */
	size_t ncalls;
};

/*
 * Decode the function that starts at file offset @func_off in @path (its
 * size from .symtab, or Go's function table when stripped). 0, -ENOENT
 * (no sized symbol there), -EIO (unreadable), -ENOMEM. The caller frees
 * it with uprobe_go_func_free().
 */
int uprobe_go_func(const char *path, uint64_t func_off, struct uprobe_go_func *out);
/*
 * The same for the @size bytes of code at @func_off in the open file @fd,
 * listing the direct calls to file offset @call_target too (0: none).
 */
int uprobe_go_scan(int fd, uint64_t func_off, uint64_t size, uint64_t call_target,
		   struct uprobe_go_func *out);
/* Free @f's rets and calls. */
void uprobe_go_func_free(struct uprobe_go_func *f);

#endif /* SONDE_PROBES_UPROBE_GO_H */
