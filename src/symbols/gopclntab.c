// SPDX-License-Identifier: MIT
/*
 * Go's function table and build information, read from the sections the
 * Go linker writes (layouts: Go's runtime/symtab.go pcHeader and _func,
 * debug/buildinfo).
 *
 * .gopclntab, Go 1.18 and later:
 *   pcHeader  magic u32, 2 zero bytes, minLC u8, ptrSize u8, then
 *             ptrSize words: nfunc, nfiles, textStart, funcnameOffset,
 *             cuOffset, filetabOffset, pctabOffset, pclnOffset
 *             (offsets from the header)
 *   functab   at pclnOffset: nfunc pairs of u32 {entry - textStart,
 *             _func offset from pclnOffset}, then one u32: end of text
 *   _func     entryOff u32 (again), nameOff i32 into funcnametab, ...
 * Go 1.16/1.17 lacks textStart (one word less) and its functab fields
 * and _func's entry are pointer-sized absolute addresses.
 *
 * Bounds: the header is checked against the section once (the functab,
 * its final entry included, must fit, which also bounds nfunc); each
 * function is checked when it is asked for, so one corrupt entry costs
 * that function only.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/gopclntab.h"

#define GO118_MAGIC 0xfffffff0u /* Go 1.18, 1.19 */
#define GO120_MAGIC 0xfffffff1u /* Go 1.20 and later: the 1.18 layout */
#define GO116_MAGIC 0xfffffffau /* Go 1.16, 1.17 */
#define GO12_MAGIC 0xfffffffbu	/* Go 1.2 to 1.15: not read */

/* "\xff Go buildinf:", pointer size, flags, then two pointers (or padding). */
#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HDR 32
#define BUILDINFO_ALIGN 16
/* flags: bit 0 big-endian pointers, bit 1 strings inline after the header. */
#define BUILDINFO_BIG_ENDIAN 1
#define BUILDINFO_INLINE 2
/* Go reads the first 64 KiB for the header; so do we. */
#define BUILDINFO_SCAN (64u << 10)
/* "go1.19.8", "devel go1.22-a1b2c3d4 Tue Jan 2 ...": far below this. */
#define VERSION_MAX 256

struct gopclntab {
	Elf *elf; /* ours to end when opened from a descriptor, else NULL */
	const unsigned char *data;
	size_t size;
	size_t nfunc;
	uint64_t text_start; /* 1.18+: what functab entries are offsets from */
	size_t funcnames;    /* offset of funcnametab */
	size_t functab;	     /* offset of functab; _func offsets count from here too */
	unsigned int ptr_size;
	unsigned int field; /* bytes of a functab field: 4, or ptr_size before 1.18 */
	bool go118;	    /* 1.18 layout (magic 0xfffffff0 or 0xfffffff1) */
	bool big_endian;
};

/* @width (4 or 8) bytes at @p as an unsigned integer. */
static uint64_t load_uint(const unsigned char *p, unsigned int width, bool big_endian)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < width; i++)
		v |= (uint64_t)p[big_endian ? i : width - 1 - i] << (8 * (width - 1 - i));
	return v;
}

/* The @width-byte integer at @off of the table; false when it is not all inside. */
static bool get(const struct gopclntab *t, size_t off, unsigned int width, uint64_t *v)
{
	if (off > t->size || width > t->size - off)
		return false;
	*v = load_uint(t->data + off, width, t->big_endian);
	return true;
}

static Elf_Scn *section_named(Elf *elf, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/*
 * The bytes of section @scn as they are in the file: no conversion, so a
 * compressed or NOBITS section (which no Go linker writes) is refused.
 */
static int section_bytes(Elf_Scn *scn, const GElf_Shdr *sh, const unsigned char **p, size_t *n)
{
	Elf_Data *data;

	if (sh->sh_type == SHT_NOBITS || (sh->sh_flags & SHF_COMPRESSED))
		return -EIO;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf || !data->d_size)
		return -EIO;
	*p = data->d_buf;
	*n = data->d_size;
	return 0;
}

static int parse_header(struct gopclntab *t)
{
	const unsigned char *d = t->data;
	uint32_t le, be, magic;
	uint64_t nfunc = 0, names = 0, pcln = 0, room;
	unsigned int words;

	/* Go's own sanity check (debug/gosym): zero pad, pc quantum, pointer size. */
	if (t->size < 8 || d[4] || d[5] || (d[6] != 1 && d[6] != 2 && d[6] != 4) ||
	    (d[7] != 4 && d[7] != 8))
		return -EIO;
	le = (uint32_t)load_uint(d, 4, false);
	be = (uint32_t)load_uint(d, 4, true);
	if (le == GO118_MAGIC || le == GO120_MAGIC || le == GO116_MAGIC) {
		magic = le;
	} else if (be == GO118_MAGIC || be == GO120_MAGIC || be == GO116_MAGIC) {
		magic = be;
		t->big_endian = true;
	} else {
		/* 0xfffffffb (Go 1.2-1.15), or a layout newer than this code. */
		return -ENOTSUP;
	}
	t->ptr_size = d[7];
	t->go118 = magic != GO116_MAGIC;
	t->field = t->go118 ? 4 : t->ptr_size;
	words = t->go118 ? 8 : 7;
	if (t->size < 8 + (size_t)words * t->ptr_size)
		return -EIO;
	get(t, 8, t->ptr_size, &nfunc);
	if (t->go118) {
		get(t, 8 + 2 * t->ptr_size, t->ptr_size, &t->text_start);
		get(t, 8 + 3 * t->ptr_size, t->ptr_size, &names);
		get(t, 8 + 7 * t->ptr_size, t->ptr_size, &pcln);
	} else {
		get(t, 8 + 2 * t->ptr_size, t->ptr_size, &names);
		get(t, 8 + 6 * t->ptr_size, t->ptr_size, &pcln);
	}
	if (names >= t->size || pcln >= t->size)
		return -EIO;
	/* nfunc pairs and the final end-of-text field must fit: bounds nfunc too. */
	room = (t->size - pcln) / t->field;
	if (!room || nfunc > (room - 1) / 2)
		return -EIO;
	t->nfunc = (size_t)nfunc;
	t->funcnames = (size_t)names;
	t->functab = (size_t)pcln;
	return 0;
}

int gopclntab__open_elf(Elf *elf, struct gopclntab **out)
{
	struct gopclntab *t;
	GElf_Shdr sh;
	Elf_Scn *scn;
	int err;

	*out = NULL;
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		return -EIO;
	/* An internally linked PIE puts the table in relro, under this name. */
	scn = section_named(elf, ".gopclntab", &sh);
	if (!scn)
		scn = section_named(elf, ".data.rel.ro.gopclntab", &sh);
	if (!scn)
		return -ENOENT;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	err = section_bytes(scn, &sh, &t->data, &t->size);
	if (!err)
		err = parse_header(t);
	/*
	 * textStart is runtime.text, which an external link (cgo) puts after
	 * the C start-up code, past the start of .text: only when the header
	 * has none (a relocation not applied in the file) is .text the guess,
	 * as Go's debug/gosym always does.
	 */
	if (!err && t->go118 && !t->text_start) {
		if (section_named(elf, ".text", &sh) && sh.sh_addr)
			t->text_start = sh.sh_addr;
		else
			err = -EIO;
	}
	if (err) {
		free(t);
		return err;
	}
	*out = t;
	return 0;
}

int gopclntab__open(int fd, struct gopclntab **out)
{
	Elf *elf;
	int err;

	*out = NULL;
	elf_version(EV_CURRENT);
	/*
	 * Read, not mapped: the file may be a target's, and one it truncates
	 * while it is mapped here would kill sonde with SIGBUS.
	 */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -EIO;
	err = gopclntab__open_elf(elf, out);
	if (err) {
		elf_end(elf);
		return err;
	}
	/* The section is read by now: the caller may close @fd. */
	elf_cntl(elf, ELF_C_FDDONE);
	(*out)->elf = elf;
	return 0;
}

void gopclntab__free(struct gopclntab *t)
{
	if (!t)
		return;
	elf_end(t->elf);
	free(t);
}

size_t gopclntab__count(const struct gopclntab *t)
{
	return t->nfunc;
}

int gopclntab__func(const struct gopclntab *t, size_t i, const char **name, uint64_t *vaddr,
		    uint64_t *size)
{
	uint64_t entry = 0, end = 0, funcoff = 0, fentry, nameoff;
	unsigned int entry_width = t->go118 ? 4 : t->ptr_size;
	const unsigned char *s, *nul;
	size_t ent, f, left;

	if (i >= t->nfunc)
		return -EINVAL;
	/* In bounds, final field included: parse_header() checked the whole functab. */
	ent = t->functab + 2 * i * t->field;
	get(t, ent, t->field, &entry);
	get(t, ent + t->field, t->field, &funcoff);
	get(t, ent + 2 * t->field, t->field, &end);
	/* Entries are sorted: a function ending before it starts is damage. */
	if (end < entry)
		return -EIO;
	if (funcoff > t->size - t->functab)
		return -EIO;
	f = t->functab + (size_t)funcoff;
	if (!get(t, f, entry_width, &fentry) || !get(t, f + entry_width, 4, &nameoff))
		return -EIO;
	/* _func repeats the entry: a mismatch means funcoff points elsewhere. */
	if (fentry != entry)
		return -EIO;
	/* nameOff is an int32; names live after funcnametab's start. */
	if (nameoff > INT32_MAX || nameoff >= t->size - t->funcnames)
		return -EIO;
	s = t->data + t->funcnames + nameoff;
	left = t->size - t->funcnames - (size_t)nameoff;
	nul = memchr(s, '\0', left);
	if (!nul || nul == s)
		return -EIO;
	if (t->go118) {
		if (t->text_start > UINT64_MAX - end)
			return -EIO;
		entry += t->text_start;
		end += t->text_start;
	}
	*name = (const char *)s;
	*vaddr = entry;
	*size = end - entry;
	return 0;
}

int gopclntab__find(const struct gopclntab *t, const char *name, uint64_t *vaddr, uint64_t *size)
{
	for (size_t i = 0; i < t->nfunc; i++) {
		const char *n;
		uint64_t a, sz;

		if (gopclntab__func(t, i, &n, &a, &sz))
			continue;
		if (!strcmp(n, name)) {
			*vaddr = a;
			*size = sz;
			return 0;
		}
	}
	return -ENOENT;
}

/* @len bytes at link-time address @vaddr, inside one PT_LOAD's file bytes. */
static int read_vaddr(Elf *elf, uint64_t vaddr, uint64_t len, const unsigned char **out)
{
	size_t phnum;
	GElf_Phdr ph;

	if (!len || elf_getphdrnum(elf, &phnum))
		return -EIO;
	for (size_t i = 0; i < phnum; i++) {
		uint64_t delta;
		Elf_Data *data;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		delta = vaddr - ph.p_vaddr;
		/* libelf checks the chunk against the file; off_t must hold the offset. */
		if (len > ph.p_filesz - delta || ph.p_offset > INT64_MAX ||
		    delta > INT64_MAX - ph.p_offset)
			return -EIO;
		data = elf_getdata_rawchunk(elf, (int64_t)(ph.p_offset + delta), (size_t)len,
					    ELF_T_BYTE);
		if (!data || !data->d_buf || data->d_size < len)
			return -EIO;
		*out = data->d_buf;
		return 0;
	}
	return -EIO;
}

/* An unsigned LEB128 of at most 10 bytes within @n; its length, or 0 if damaged. */
static size_t uvarint(const unsigned char *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;

	for (size_t i = 0; i < n && i < 10; i++) {
		/* The tenth byte may hold only bit 63. */
		if (i == 9 && p[i] > 1)
			return 0;
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

/* The version string of the build info header @h (@n bytes from it to the section end). */
static int buildinfo_string(Elf *elf, const unsigned char *h, size_t n, const unsigned char **s,
			    uint64_t *slen)
{
	unsigned int ptr_size = h[BUILDINFO_MAGIC_LEN];
	unsigned char flags = h[BUILDINFO_MAGIC_LEN + 1];
	bool big_endian = flags & BUILDINFO_BIG_ENDIAN;
	const unsigned char *str_hdr;
	uint64_t addr;
	size_t used;
	int err;

	if (ptr_size != 4 && ptr_size != 8)
		return -EIO;
	if (flags & BUILDINFO_INLINE) {
		used = uvarint(h + BUILDINFO_HDR, n - BUILDINFO_HDR, slen);
		if (!used || *slen > n - BUILDINFO_HDR - used)
			return -EIO;
		*s = h + BUILDINFO_HDR + used;
		return 0;
	}
	/* Before Go 1.18: the address of runtime.buildVersion, a Go string {ptr, len}. */
	addr = load_uint(h + 16, ptr_size, big_endian);
	err = read_vaddr(elf, addr, 2 * ptr_size, &str_hdr);
	if (err)
		return err;
	addr = load_uint(str_hdr, ptr_size, big_endian);
	*slen = load_uint(str_hdr + ptr_size, ptr_size, big_endian);
	if (!*slen || *slen > VERSION_MAX)
		return -EIO;
	return read_vaddr(elf, addr, *slen, s);
}

int go_buildinfo_version(int fd, char *buf, size_t len)
{
	const unsigned char *d, *h = NULL, *s = NULL;
	uint64_t slen = 0;
	size_t n, off;
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf *elf;
	int err;

	if (!buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -EIO;
	if (elf_kind(elf) != ELF_K_ELF) {
		err = -EIO;
		goto out_elf;
	}
	scn = section_named(elf, ".go.buildinfo", &sh);
	if (!scn) {
		err = -ENOENT;
		goto out_elf;
	}
	err = section_bytes(scn, &sh, &d, &n);
	if (err)
		goto out_elf;
	/* The header starts the section; Go itself looks at every 16th byte. */
	for (off = 0; off < BUILDINFO_SCAN && n - off >= BUILDINFO_HDR; off += BUILDINFO_ALIGN) {
		if (!memcmp(d + off, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN)) {
			h = d + off;
			break;
		}
	}
	if (!h) {
		err = -EIO;
		goto out_elf;
	}
	err = buildinfo_string(elf, h, n - off, &s, &slen);
	if (err)
		goto out_elf;
	if (!slen || slen > VERSION_MAX) {
		err = -EIO;
		goto out_elf;
	}
	/* Printable ASCII only: the caller prints it and compares it. */
	for (uint64_t i = 0; i < slen; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e) {
			err = -EIO;
			goto out_elf;
		}
	}
	if (slen >= len) {
		err = -ERANGE;
		goto out_elf;
	}
	memcpy(buf, s, (size_t)slen);
	buf[slen] = '\0';

out_elf:
	elf_end(elf);
	return err;
}

bool go_executable(int fd)
{
	GElf_Shdr sh;
	bool go = false;
	Elf *elf;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		go = section_named(elf, ".go.buildinfo", &sh) ||
		     section_named(elf, ".note.go.buildid", &sh);
	elf_end(elf);
	return go;
}
