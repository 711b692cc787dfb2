/* SPDX-License-Identifier: MIT */
/*
 * Source lines and inline frames of addresses, from one ELF file's DWARF
 * (the binary itself or its separate debug file), through libdw.
 */
#ifndef SONDE_DWARF_LINES_H
#define SONDE_DWARF_LINES_H

#include <stddef.h>
#include <stdint.h>

struct dwarf_lines;

struct dwarf_line_frame {
	const char *name; /* function (linkage name if any); NULL if unknown */
	const char *file; /* source path as DWARF gives it; NULL if unknown */
	uint32_t line;	  /* 0 when unknown */
	uint32_t inlined; /* 1: this frame was inlined into the next one */
};

/*
 * Open the DWARF of the ELF file at @path. Returns NULL and sets errno:
 * ENODATA when the file has no DWARF, ENOEXEC when it is no ELF. Keeps no
 * file descriptor: the file is mapped, so only the pages touched by
 * lookups cost memory, plus libdw's per-CU caches (see bench/).
 */
struct dwarf_lines *dwarf_lines__open(const char *path);
/* The same for an ELF image in memory; @data is copied. */
struct dwarf_lines *dwarf_lines__open_mem(const void *data, size_t len);
void dwarf_lines__free(struct dwarf_lines *d);
/*
 * Heap bytes @d holds, an estimate (libdw's allocations cannot be seen;
 * what is counted and how it was measured: dwarf_lines.c): the sections
 * libdw inflated at open, the in-memory image copied, our CU tables, the
 * units libdw interned and the line rows of every CU a lookup reached.
 * Grows with lookups that reach new CUs; 0 for NULL.
 */
size_t dwarf_lines__bytes(const struct dwarf_lines *d);

/*
 * Describe link-time address @vaddr: fill @frames innermost first, the
 * last one being the real (not inlined) function. The innermost frame has
 * the line of @vaddr itself, each outer one the line of the call site of
 * the frame it inlined. When the chain is longer than @max, the innermost
 * max - 1 frames and the outermost are kept. Returns the number of frames
 * (0: the address has no DWARF) or -errno. Strings stay valid until
 * dwarf_lines__free().
 */
int dwarf_lines__lookup(struct dwarf_lines *d, uint64_t vaddr, struct dwarf_line_frame *frames,
			int max);

#endif /* SONDE_DWARF_LINES_H */
