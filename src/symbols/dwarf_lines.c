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
#include <gelf.h>
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

/*
 * What libdw allocates cannot be asked of it, so dwarf_lines__bytes()
 * estimates it from what was measured on Debian's libc6-dbg files (heap
 * growth around dwarf_lines calls, mallinfo2, elfutils 0.188):
 *  - at open, libdw inflates every compressed debug section onto the heap
 *    (libc: 10013701 bytes of sections, 10042704 bytes of heap), plus a
 *    handle and libelf's section tables (21584 bytes for an uncompressed
 *    copy of libc's): counted as the sections' sizes + DWARF_OPEN_BYTES;
 *  - libdw interns units in file order up to the one a lookup asks for
 *    (all of them when we build our own CU ranges): 1382-2330 bytes per
 *    unit (libm, libc, libresolv, ld.so): DWARF_UNIT_BYTES for each unit
 *    up to the farthest one a lookup reached;
 *  - per unit a lookup reached, its decoded line table and the DIEs,
 *    abbreviations and files the lookups visit, which grow with its line
 *    rows: 50-59 bytes per row once the units are counted (libresolv 50,
 *    ld.so 56, libm 58, libc 59 after every function was looked up):
 *    DWARF_ROW_BYTES for each row.
 * Against the measured heap the estimate came out 4-18 % high (libc after
 * 3, 30, 300 and all 3720 functions, compressed and not; libm, ld.so,
 * libresolv, the test fixtures), never low.
 * A file's uncompressed .debug_* sections are read onto the heap at open
 * too (ELF_C_READ): counted at their sizes, so a file costs the same
 * compressed or not. Not counted: the DIEs of other units that a lookup
 * follows references into, nor a dwz alternate file.
 *
 * Read, never mapped: the file may be the target's, and a target that
 * truncates a file sonde has mapped kills sonde with SIGBUS on the next
 * lookup that touches a page past the new end.
 */
#define DWARF_OPEN_BYTES (24u << 10)
#define DWARF_UNIT_BYTES 2048
#define DWARF_ROW_BYTES 64

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
	size_t nr_ranges, ranges_cap;
	/* CUs lookups reached (DIE offsets, open addressing, 0 = free slot). */
	Dwarf_Off *cus;
	size_t nr_cus, cus_cap;
	size_t fixed_bytes; /* this struct, the image copy, inflated sections */
	size_t rows;	    /* line rows of the CUs in @cus */
	/* Units libdw has interned: those up to @unit_walk (the next header). */
	size_t units;
	Dwarf_Off unit_walk;
	bool units_done;
};

/*
 * Heap that libdw's open takes for the sections it loads: every
 * SHF_COMPRESSED .debug_* section inflated (ch_size), old-style .zdebug_*
 * ones ("ZLIB" and the size, big-endian), and with @read (a file, not an
 * image in memory) the uncompressed .debug_* sections at their sizes.
 */
static size_t section_bytes(Elf *elf, bool read)
{
	size_t shstrndx, total = 0;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		GElf_Chdr ch;
		const char *name;
		Elf_Data *raw;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) && !strncmp(name, ".debug_", 7)) {
			if (gelf_getchdr(scn, &ch))
				total += ch.ch_size;
		} else if (!strncmp(name, ".zdebug_", 8) && (raw = elf_rawdata(scn, NULL)) &&
			   raw->d_buf && raw->d_size >= 12 && !memcmp(raw->d_buf, "ZLIB", 4)) {
			const unsigned char *p = (const unsigned char *)raw->d_buf + 4;
			uint64_t n = 0;

			for (int i = 0; i < 8; i++)
				n = n << 8 | p[i];
			total += n;
		} else if (read && !strncmp(name, ".debug_", 7)) {
			total += sh.sh_size;
		}
	}
	return total;
}

static struct dwarf_lines *open_elf(Elf *elf, void *mem, size_t mem_len)
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
	/* Before libdw inflates them: afterwards the headers say "not compressed". */
	d->fixed_bytes = sizeof(*d) + mem_len + DWARF_OPEN_BYTES + section_bytes(elf, !mem);
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
	elf = elf_begin(fd, ELF_C_READ, NULL);
	d = open_elf(elf, NULL, 0);
	err = d ? 0 : errno;
	/* libdw read every debug section at open: drop the descriptor. */
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
	d = open_elf(elf, copy, len);
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
	free(d->cus);
	free(d);
}

size_t dwarf_lines__bytes(const struct dwarf_lines *d)
{
	if (!d)
		return 0;
	return d->fixed_bytes + d->ranges_cap * sizeof(*d->ranges) + d->cus_cap * sizeof(*d->cus) +
	       d->units * DWARF_UNIT_BYTES + d->rows * DWARF_ROW_BYTES;
}

static size_t cu_slot(Dwarf_Off off, size_t cap)
{
	uint64_t h = (uint64_t)off * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h ^ h >> 31) & (cap - 1);
}

static void cu_put(Dwarf_Off *cus, size_t cap, Dwarf_Off off)
{
	size_t i = cu_slot(off, cap);

	while (cus[i])
		i = (i + 1) & (cap - 1);
	cus[i] = off;
}

/*
 * The units before the one at DIE offset @off, and it: libdw interned
 * them on the way (only headers are read here, which libdw read too).
 */
static void count_units_to(struct dwarf_lines *d, Dwarf_Off off)
{
	Dwarf_Off next;
	size_t hsize;

	while (!d->units_done && d->unit_walk < off) {
		if (dwarf_nextcu(d->dw, d->unit_walk, &next, &hsize, NULL, NULL, NULL) ||
		    next <= d->unit_walk) {
			d->units_done = true;
			break;
		}
		d->units++;
		d->unit_walk = next;
	}
}

/*
 * Count the line rows of @cu once, the first time a lookup reaches it
 * (after the lookup decoded its line table: libdw hands back its cached
 * one). A failed allocation only leaves the CU uncounted.
 */
static void count_cu(struct dwarf_lines *d, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	Dwarf_Lines *lines;
	size_t i, nlines;

	if (!off)
		return;
	count_units_to(d, off);
	if (d->cus_cap) {
		for (i = cu_slot(off, d->cus_cap); d->cus[i]; i = (i + 1) & (d->cus_cap - 1))
			if (d->cus[i] == off)
				return;
	}
	if ((d->nr_cus + 1) * 2 > d->cus_cap) {
		size_t ncap = d->cus_cap ? d->cus_cap * 2 : 64;
		Dwarf_Off *ncus = calloc(ncap, sizeof(*ncus));

		if (!ncus)
			return;
		for (i = 0; i < d->cus_cap; i++)
			if (d->cus[i])
				cu_put(ncus, ncap, d->cus[i]);
		free(d->cus);
		d->cus = ncus;
		d->cus_cap = ncap;
	}
	cu_put(d->cus, d->cus_cap, off);
	d->nr_cus++;
	if (!dwarf_getsrclines(cu, &lines, &nlines))
		d->rows += nlines;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct cu_range *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

static int add_range(struct dwarf_lines *d, uint64_t lo, uint64_t hi, Dwarf_Off off)
{
	if (d->nr_ranges == d->ranges_cap) {
		size_t ncap = d->ranges_cap ? d->ranges_cap * 2 : 64;
		struct cu_range *nr;

		if (ncap > MAX_CU_RANGES)
			return -E2BIG;
		nr = realloc(d->ranges, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		d->ranges = nr;
		d->ranges_cap = ncap;
	}
	d->ranges[d->nr_ranges++] = (struct cu_range){lo, hi, off};
	return 0;
}

/* Address ranges of every CU, for producers that write no .debug_aranges. */
static int build_ranges(struct dwarf_lines *d)
{
	Dwarf_Off off = 0, next;
	size_t hsize, units = 0;
	int err = 0;

	d->ranges_built = true;
	while (!err && !dwarf_nextcu(d->dw, off, &next, &hsize, NULL, NULL, NULL)) {
		Dwarf_Addr base, lo, hi;
		Dwarf_Die cu;
		ptrdiff_t it = 0;

		units++;

		if (dwarf_offdie(d->dw, off + hsize, &cu)) {
			while (!err && (it = dwarf_ranges(&cu, it, &base, &lo, &hi)) > 0)
				if (hi > lo)
					err = add_range(d, lo, hi, off + hsize);
		}
		if (next <= off)
			break;
		off = next;
	}
	/* Every unit is interned now (an error stops short: still counted). */
	if (units > d->units)
		d->units = units;
	d->units_done = true;
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
	count_cu(d, &cu);
	return n;
}
