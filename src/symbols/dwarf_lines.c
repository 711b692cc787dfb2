// SPDX-License-Identifier: MIT
/*
 * libdw does the DWARF parsing; this file finds the compilation unit of
 * an address (through .debug_aranges, or a CU range table of our own when
 * the producer wrote none, as clang does), walks its scopes innermost
 * first and turns DW_TAG_inlined_subroutine chains into frames whose
 * lines are the call sites (DW_AT_call_file/DW_AT_call_line).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/dwarf_lines.h"
#include "symbols/elfsyms.h"
#include "base/log.h"

/* Bounds on what corrupt DWARF can make us allocate or walk. */
#define MAX_CU_RANGES (1u << 22)
#define MAX_SCOPES 256

struct cu_range {
	uint64_t lo, hi;
	Dwarf_Off cu_off; /* offset of the CU DIE */
};

struct dwarf_lines {
	Elf *elf;
	Dwarf *dw;
	void *mem; /* the image of dwarf_lines__open_mem() */
	bool ranges_built;
	struct cu_range *ranges; /* sorted by lo */
	size_t nr_ranges;
};

static struct dwarf_lines *open_elf(Elf *elf, void *mem)
{
	struct dwarf_lines *d;

	if (!elf) {
		errno = ENOEXEC;
		return NULL;
	}
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		errno = ENOEXEC;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		elf_end(elf);
		errno = ENOMEM;
		return NULL;
	}
	d->elf = elf;
	d->mem = mem;
	d->dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!d->dw) {
		d->mem = NULL; /* the caller frees it on failure */
		dwarf_lines__free(d);
		errno = ENODATA;
		return NULL;
	}
	return d;
}

struct dwarf_lines *dwarf_lines__open(const char *path)
{
	struct dwarf_lines *d;
	Elf *elf;
	int fd, err;

	err = elf_open_regular(path, &fd, NULL);
	if (err) {
		errno = -err;
		return NULL;
	}
	elf_version(EV_CURRENT);
	/* Mapped: only the DWARF pages that lookups touch become resident. */
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	d = open_elf(elf, NULL);
	err = d ? 0 : errno;
	/* libelf reads through the mapping from now on; drop the descriptor. */
	if (d)
		elf_cntl(d->elf, ELF_C_FDDONE);
	close(fd);
	if (err) {
		errno = err;
		return NULL;
	}
	return d;
}

struct dwarf_lines *dwarf_lines__open_mem(const void *data, size_t len)
{
	struct dwarf_lines *d;
	void *copy;
	Elf *elf;

	elf = elf_memory_copy(data, len, &copy);
	if (!elf)
		return NULL;
	d = open_elf(elf, copy);
	if (!d)
		free(copy);
	return d;
}

void dwarf_lines__free(struct dwarf_lines *d)
{
	if (!d)
		return;
	dwarf_end(d->dw);
	elf_end(d->elf);
	free(d->mem);
	free(d->ranges);
	free(d);
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct cu_range *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

static int add_range(struct dwarf_lines *d, size_t *cap, uint64_t lo, uint64_t hi, Dwarf_Off off)
{
	if (d->nr_ranges == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct cu_range *nr;

		if (ncap > MAX_CU_RANGES)
			return -E2BIG;
		nr = realloc(d->ranges, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		d->ranges = nr;
		*cap = ncap;
	}
	d->ranges[d->nr_ranges++] = (struct cu_range){lo, hi, off};
	return 0;
}

/* Address ranges of every CU, for producers that write no .debug_aranges. */
static int build_ranges(struct dwarf_lines *d)
{
	Dwarf_Off off = 0, next;
	size_t hsize, cap = 0;
	int err = 0;

	d->ranges_built = true;
	while (!err && !dwarf_nextcu(d->dw, off, &next, &hsize, NULL, NULL, NULL)) {
		Dwarf_Addr base, lo, hi;
		Dwarf_Die cu;
		ptrdiff_t it = 0;

		if (dwarf_offdie(d->dw, off + hsize, &cu)) {
			while (!err && (it = dwarf_ranges(&cu, it, &base, &lo, &hi)) > 0)
				if (hi > lo)
					err = add_range(d, &cap, lo, hi, off + hsize);
		}
		if (next <= off)
			break;
		off = next;
	}
	if (err == -E2BIG) {
		log_debug("dwarf_lines: more than %u CU ranges; ignoring the rest", MAX_CU_RANGES);
		err = 0;
	}
	if (d->nr_ranges)
		qsort(d->ranges, d->nr_ranges, sizeof(*d->ranges), range_cmp);
	return err;
}

/* The CU DIE covering @vaddr; false when none does. */
static bool find_cu(struct dwarf_lines *d, uint64_t vaddr, Dwarf_Die *cu, int *err)
{
	size_t lo = 0, hi, i;

	*err = 0;
	if (dwarf_addrdie(d->dw, vaddr, cu))
		return true;
	if (!d->ranges_built) {
		*err = build_ranges(d);
		if (*err)
			return false;
	}
	hi = d->nr_ranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->ranges[mid].lo <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges of different CUs may nest (rare); look back a little. */
	for (i = lo; i-- > 0 && lo - i <= 8;)
		if (vaddr < d->ranges[i].hi)
			return dwarf_offdie(d->dw, d->ranges[i].cu_off, cu) != NULL;
	return false;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr)) {
		name = dwarf_formstring(&attr);
		if (name && *name)
			return name;
	}
	if (dwarf_attr_integrate(die, DW_AT_name, &attr)) {
		name = dwarf_formstring(&attr);
		if (name && *name)
			return name;
	}
	return NULL;
}

/* The call site of an inlined_subroutine DIE, in its CU's file table. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inl, struct dwarf_line_frame *f)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word w;
	size_t nfiles;

	if (dwarf_attr(inl, DW_AT_call_line, &attr) && !dwarf_formudata(&attr, &w) &&
	    w <= UINT32_MAX)
		f->line = (uint32_t)w;
	if (dwarf_attr(inl, DW_AT_call_file, &attr) && !dwarf_formudata(&attr, &w) &&
	    !dwarf_getsrcfiles(cu, &files, &nfiles) && w < nfiles)
		f->file = dwarf_filesrc(files, (size_t)w, NULL, NULL);
}

static void address_line(Dwarf_Die *cu, uint64_t vaddr, struct dwarf_line_frame *f)
{
	Dwarf_Line *line = dwarf_getsrc_die(cu, vaddr);
	int lineno;

	if (!line)
		return;
	f->file = dwarf_linesrc(line, NULL, NULL);
	if (!dwarf_lineno(line, &lineno) && lineno > 0)
		f->line = (uint32_t)lineno;
}

int dwarf_lines__lookup(struct dwarf_lines *d, uint64_t vaddr, struct dwarf_line_frame *frames,
			int max)
{
	Dwarf_Die cu, *scopes = NULL, *funcs[MAX_SCOPES];
	int nscopes, nfuncs = 0, i, n, err;

	if (max <= 0)
		return -EINVAL;
	if (!find_cu(d, vaddr, &cu, &err))
		return err;
	/*
	 * dwarf_getscopes() continues from an inlined subroutine into its
	 * abstract origin (what a debugger needs for variables), so it only
	 * finds the innermost function; the concrete chain of callers comes
	 * from that DIE's parents, dwarf_getscopes_die().
	 */
	nscopes = dwarf_getscopes(&cu, vaddr, &scopes);
	for (i = 0; i < nscopes; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram)
			break;
	}
	if (i < nscopes) {
		Dwarf_Die inner = scopes[i];

		free(scopes);
		scopes = NULL;
		nscopes = dwarf_getscopes_die(&inner, &scopes);
	}
	for (i = 0; i < nscopes && nfuncs < MAX_SCOPES; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram)
			funcs[nfuncs++] = &scopes[i];
		/* The real function ends the chain (C has no nested functions). */
		if (tag == DW_TAG_subprogram)
			break;
	}
	if (!nfuncs) {
		/* Lines without a function DIE (assembly): one nameless frame. */
		memset(&frames[0], 0, sizeof(frames[0]));
		address_line(&cu, vaddr, &frames[0]);
		n = frames[0].file || frames[0].line ? 1 : 0;
		goto out_scopes;
	}
	/* Keep the innermost max - 1 frames and the outermost one. */
	n = nfuncs <= max ? nfuncs : max;
	for (i = 0; i < n; i++) {
		int fi = i == n - 1 ? nfuncs - 1 : i;
		struct dwarf_line_frame *f = &frames[i];

		memset(f, 0, sizeof(*f));
		f->name = die_name(funcs[fi]);
		f->inlined = dwarf_tag(funcs[fi]) == DW_TAG_inlined_subroutine;
		if (fi == 0)
			address_line(&cu, vaddr, f);
		else
			call_site(&cu, funcs[fi - 1], f);
	}

out_scopes:
	free(scopes);
	return n;
}
