// SPDX-License-Identifier: MIT
/*
 * Function symbols of one ELF file through libelf. Everything needed later
 * (names, segments, build-id) is copied out, so the file descriptor and the
 * Elf handle are closed before elfsyms__open() returns: a cache of hundreds
 * of files then holds no descriptors.
 *
 * The input is untrusted (any file a target maps, or fuzzed bytes): every
 * count and offset is checked by libelf against the file size, and anything
 * libelf refuses turns into ENOEXEC.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/elfsyms.h"
#include "symbols/gopclntab.h"
#include "base/log.h"
#include "base/xz.h"

/* Longest build-id we keep; real ones are 20 bytes (SHA-1) or 16 (MD5). */
#define BUILD_ID_MAX 64
/* Fedora's MiniDebugInfo is tens to hundreds of KiB; anything huge is hostile. */
#define MINIDEBUG_MAX_OUT (64u << 20)
/*
 * Size given to a synthetic _start when no CFI says better: glibc's _start
 * is 0x26 bytes on x86-64 and 0x34 on arm64; a sizeless symbol would run on
 * to the next named function and swallow every static function between.
 */
#define ENTRY_FALLBACK_SIZE 64
#define ENTRY_NAME "_start"

struct segment {
	uint64_t off;
	uint64_t vaddr;
	uint64_t filesz;
	uint64_t memsz;
	bool exec;
};

/* A symbol while collecting: names are offsets into the growing blob. */
struct raw_sym {
	uint64_t addr;
	uint64_t size;
	uint64_t sec_end; /* end of the containing section, 0 if unknown */
	size_t name_off;
	unsigned char bind;
};

struct elfsyms {
	struct elfsym *syms; /* address order, one per address */
	size_t nr_syms;
	struct elfsym *by_name; /* every name (aliases too), name order */
	size_t nr_names;
	char *names; /* all name strings */
	struct segment *segs;
	size_t nr_segs;
	char build_id[BUILD_ID_MAX * 2 + 1];
	bool has_build_id;
	bool is_dyn;
	bool is_exec; /* ET_EXEC, or ET_DYN with an interpreter (PIE) */
	bool has_dwarf;
	enum elfsyms_source source;
	char *debuglink;
	uint32_t debuglink_crc;
	size_t bytes; /* heap held: this struct and every array and string below it */
};

/* What load() learns about one file beyond its symbols. */
struct scan {
	uint64_t entry;
	uint64_t entry_sec_end; /* end of the executable section holding e_entry */
	Elf_Scn *debugdata;
	bool has_symtab;
	bool has_gopclntab; /* Go's function table: names a stripped Go program */
	/* PLT stubs: .plt (after its header) or .plt.sec, and .rela.plt. */
	Elf_Scn *plt, *plt_sec, *rela_plt;
	GElf_Shdr plt_sh, plt_sec_sh, rela_plt_sh;
	bool is_ld_so; /* the dynamic loader: its entry point is _start */
};

struct collector {
	struct raw_sym *syms;
	size_t nr, cap;
	char *blob;
	size_t blob_len, blob_cap;
};

static int bind_rank(unsigned char bind)
{
	/* Global names are what users and other tools call a function. */
	switch (bind) {
	case STB_GLOBAL:
		return 0;
	case STB_WEAK:
		return 1;
	default:
		return 2;
	}
}

static size_t leading_underscores(const char *s)
{
	size_t n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

/*
 * Which of two names for one address to show: global before weak before
 * local, then fewer leading underscores ("malloc" over "__libc_malloc"),
 * then the shorter, then strcmp, so the choice never depends on the order
 * of the symbol tables.
 */
static int name_pref_cmp(const struct raw_sym *a, const struct raw_sym *b, const char *blob)
{
	const char *na = blob + a->name_off, *nb = blob + b->name_off;
	size_t la, lb;
	int d;

	d = bind_rank(a->bind) - bind_rank(b->bind);
	if (d)
		return d;
	if ((a->size == 0) != (b->size == 0))
		return a->size == 0 ? 1 : -1;
	la = leading_underscores(na);
	lb = leading_underscores(nb);
	if (la != lb)
		return la < lb ? -1 : 1;
	la = strlen(na);
	lb = strlen(nb);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(na, nb);
}

static int raw_addr_cmp(const void *pa, const void *pb, void *blob)
{
	const struct raw_sym *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return name_pref_cmp(a, b, blob);
}

static int raw_name_cmp(const void *pa, const void *pb, void *blob)
{
	const struct raw_sym *a = pa, *b = pb;
	const char *names = blob;
	int d = strcmp(names + a->name_off, names + b->name_off);

	if (d)
		return d;
	d = bind_rank(a->bind) - bind_rank(b->bind);
	if (d)
		return d;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return 0;
}

static int blob_add(struct collector *c, const char *s, size_t *off)
{
	size_t len = strlen(s) + 1;

	if (c->blob_len + len > c->blob_cap) {
		size_t cap = c->blob_cap ? c->blob_cap : 4096;
		char *nb;

		while (cap < c->blob_len + len)
			cap *= 2;
		nb = realloc(c->blob, cap);
		if (!nb)
			return -ENOMEM;
		c->blob = nb;
		c->blob_cap = cap;
	}
	memcpy(c->blob + c->blob_len, s, len);
	*off = c->blob_len;
	c->blob_len += len;
	return 0;
}

static int sym_add(struct collector *c, const struct raw_sym *rs)
{
	if (c->nr == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct raw_sym *ns = realloc(c->syms, cap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		c->syms = ns;
		c->cap = cap;
	}
	c->syms[c->nr++] = *rs;
	return 0;
}

/* Add symbol @rs named @name. */
static int collect(struct collector *c, const char *name, struct raw_sym *rs)
{
	int err = blob_add(c, name, &rs->name_off);

	return err ? err : sym_add(c, rs);
}

static uint64_t section_end(Elf *elf, size_t shnum, GElf_Half shndx)
{
	GElf_Shdr shdr;
	Elf_Scn *scn;

	if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE || shndx >= shnum)
		return 0;
	scn = elf_getscn(elf, shndx);
	if (!scn || !gelf_getshdr(scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC))
		return 0;
	if (shdr.sh_addr + shdr.sh_size < shdr.sh_addr)
		return 0;
	return shdr.sh_addr + shdr.sh_size;
}

static int read_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr, size_t shnum,
		       GElf_Half machine, struct collector *c)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n, entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	int err;

	if (!data || !data->d_buf || !entsize)
		return -ENOEXEC;
	n = data->d_size / entsize;
	if (n > INT_MAX)
		return -ENOEXEC;
	for (i = 1; i < n; i++) {
		struct raw_sym rs = {0};
		const char *name;
		GElf_Sym sym;
		int type;

		if (!gelf_getsym(data, (int)i, &sym))
			return -ENOEXEC;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_value == 0 || sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(elf, shdr->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		rs.addr = sym.st_value;
		/* Thumb functions have bit 0 set in their address. */
		if (machine == EM_ARM)
			rs.addr &= ~1ULL;
		rs.size = sym.st_size;
		if (rs.addr + rs.size < rs.addr)
			continue;
		rs.bind = GELF_ST_BIND(sym.st_info);
		rs.sec_end = section_end(elf, shnum, sym.st_shndx);
		err = collect(c, name, &rs);
		if (err)
			return err;
	}
	return 0;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* Scan one note data block for NT_GNU_BUILD_ID; true when found. */
static bool note_build_id(Elf_Data *data, struct elfsyms *e)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nhdr;

	if (!data || !data->d_buf)
		return false;
	while (off < data->d_size &&
	       (next = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)data->d_buf + name_off;

		if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
		    !memcmp(name, "GNU", 4) && nhdr.n_descsz > 0 && nhdr.n_descsz <= BUILD_ID_MAX) {
			hex_encode((const unsigned char *)data->d_buf + desc_off, nhdr.n_descsz,
				   e->build_id);
			e->has_build_id = true;
			return true;
		}
		off = next;
	}
	return false;
}

static int read_segments(Elf *elf, uint64_t file_size, struct elfsyms *e)
{
	size_t phnum, i;
	GElf_Phdr phdr;

	if (elf_getphdrnum(elf, &phnum))
		return -ENOEXEC;
	if (!phnum)
		return 0;
	e->segs = calloc(phnum, sizeof(*e->segs));
	if (!e->segs)
		return -ENOMEM;
	e->bytes += phnum * sizeof(*e->segs);
	for (i = 0; i < phnum; i++) {
		struct segment *s;

		if (!gelf_getphdr(elf, (int)i, &phdr))
			return -ENOEXEC;
		if (phdr.p_type == PT_INTERP)
			e->is_exec = true;
		if (phdr.p_type != PT_LOAD)
			continue;
		/* A segment past the end of the file means a truncated file. */
		if (phdr.p_offset + phdr.p_filesz < phdr.p_offset ||
		    phdr.p_offset + phdr.p_filesz > file_size ||
		    phdr.p_vaddr + phdr.p_memsz < phdr.p_vaddr)
			return -ENOEXEC;
		s = &e->segs[e->nr_segs++];
		s->off = phdr.p_offset;
		s->vaddr = phdr.p_vaddr;
		s->filesz = phdr.p_filesz;
		s->memsz = phdr.p_memsz;
		s->exec = phdr.p_flags & PF_X;
	}
	return 0;
}

/* Notes through program headers: files (vdso, some stripped) may lack sections. */
static void segment_build_id(Elf *elf, struct elfsyms *e)
{
	size_t phnum, i;
	GElf_Phdr phdr;

	if (elf_getphdrnum(elf, &phnum))
		return;
	for (i = 0; i < phnum && !e->has_build_id; i++) {
		Elf_Data *data;

		if (!gelf_getphdr(elf, (int)i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, phdr.p_offset, phdr.p_filesz,
					    phdr.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		note_build_id(data, e);
	}
}

/* End of the executable segment holding @addr; bounds a last, sizeless symbol. */
static uint64_t segment_end(const struct elfsyms *e, uint64_t addr)
{
	size_t i;

	for (i = 0; i < e->nr_segs; i++) {
		const struct segment *s = &e->segs[i];

		if (addr >= s->vaddr && addr - s->vaddr < s->memsz)
			return s->vaddr + s->memsz;
	}
	return 0;
}

/*
 * Sort, keep one name per address, and give sizeless symbols (hand-written
 * assembly, _init) the room up to the next symbol, but never past the end
 * of their section so they do not swallow the PLT or padding.
 */
static int build_tables(struct collector *c, struct elfsyms *e)
{
	size_t i, j;
	char *fit;

	/* The blob grew by doubling: give back its unused tail before it is kept. */
	fit = c->blob_len < c->blob_cap ? realloc(c->blob, c->blob_len) : NULL;
	if (fit) {
		c->blob = fit;
		c->blob_cap = c->blob_len;
	}
	e->names = c->blob;
	e->bytes += c->blob_cap;
	c->blob = NULL;
	if (!c->nr)
		return 0;

	e->by_name = calloc(c->nr, sizeof(*e->by_name));
	e->syms = calloc(c->nr, sizeof(*e->syms));
	if (!e->by_name || !e->syms)
		return -ENOMEM;
	e->bytes += 2 * c->nr * sizeof(struct elfsym);

	qsort_r(c->syms, c->nr, sizeof(*c->syms), raw_name_cmp, e->names);
	for (i = 0; i < c->nr; i++) {
		const struct raw_sym *rs = &c->syms[i];
		struct elfsym *prev = e->nr_names ? &e->by_name[e->nr_names - 1] : NULL;
		const char *name = e->names + rs->name_off;

		/* .symtab and .dynsym repeat exported names. */
		if (prev && prev->addr == rs->addr && !strcmp(prev->name, name))
			continue;
		e->by_name[e->nr_names++] = (struct elfsym){name, rs->addr, rs->size};
	}

	qsort_r(c->syms, c->nr, sizeof(*c->syms), raw_addr_cmp, e->names);
	for (i = 0; i < c->nr; i = j) {
		const struct raw_sym *best = &c->syms[i];
		uint64_t size = best->size, end;

		for (j = i + 1; j < c->nr && c->syms[j].addr == best->addr; j++)
			if (c->syms[j].size > size)
				size = c->syms[j].size;
		if (!size) {
			end = best->sec_end ? best->sec_end : segment_end(e, best->addr);
			if (j < c->nr && (!end || c->syms[j].addr < end))
				end = c->syms[j].addr;
			size = end > best->addr ? end - best->addr : 0;
		}
		e->syms[e->nr_syms++] =
			(struct elfsym){e->names + best->name_off, best->addr, size};
	}
	/* The name index has the final sizes too. */
	for (i = 0; i < e->nr_names; i++) {
		const struct elfsym *s = elfsyms__find(e, e->by_name[i].addr);

		if (!e->by_name[i].size && s && s->addr == e->by_name[i].addr)
			e->by_name[i].size = s->size;
	}
	return 0;
}

/* libelf quietly treats out-of-file header tables as absent: refuse them. */
static bool headers_fit(const GElf_Ehdr *ehdr, size_t phnum, size_t shnum, uint64_t file_size)
{
	/* libelf reports 0 sections when their table lies outside the file. */
	if (ehdr->e_shnum > shnum)
		shnum = ehdr->e_shnum;
	if (ehdr->e_phnum != PN_XNUM && ehdr->e_phnum > phnum)
		phnum = ehdr->e_phnum;
	if (ehdr->e_shoff && !shnum)
		shnum = 1;

	uint64_t ph_end, sh_end;

	ph_end = ehdr->e_phoff + (uint64_t)phnum * ehdr->e_phentsize;
	sh_end = ehdr->e_shoff + (uint64_t)shnum * ehdr->e_shentsize;
	if (phnum && (ehdr->e_phoff > file_size || ph_end > file_size))
		return false;
	if (shnum && (ehdr->e_shoff > file_size || sh_end > file_size))
		return false;
	return true;
}

/* ".gnu_debuglink": a NUL-terminated file name, padding to 4, a CRC32. */
static int read_debuglink(Elf *elf, Elf_Scn *scn, const GElf_Ehdr *ehdr, struct elfsyms *e)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	const unsigned char *p;
	size_t n, crc_off;

	if (!data || !data->d_buf || e->debuglink)
		return 0;
	p = data->d_buf;
	n = strnlen((const char *)p, data->d_size);
	crc_off = (n + 4) & ~(size_t)3;
	/* A name with a slash would let a file point us anywhere. */
	if (!n || n == data->d_size || crc_off + 4 > data->d_size || memchr(p, '/', n))
		return 0;
	e->debuglink = strndup((const char *)p, n);
	if (!e->debuglink)
		return -ENOMEM;
	e->bytes += n + 1;
	p += crc_off;
	if (ehdr->e_ident[EI_DATA] == ELFDATA2MSB)
		e->debuglink_crc =
			(uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	else
		e->debuglink_crc =
			(uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	return 0;
}

/* Function symbols of every .symtab in @elf (a debug file or MiniDebugInfo). */
static int read_symtabs(Elf *elf, GElf_Half machine, struct collector *c, bool *found)
{
	Elf_Scn *scn = NULL;
	size_t shnum;
	int err;

	if (elf_kind(elf) != ELF_K_ELF || elf_getshdrnum(elf, &shnum))
		return -ENOEXEC;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr))
			return -ENOEXEC;
		if (shdr.sh_type != SHT_SYMTAB)
			continue;
		err = read_symtab(elf, scn, &shdr, shnum, machine, c);
		if (err)
			return err;
		*found = true;
	}
	return 0;
}

/*
 * MiniDebugInfo (Fedora and others): an xz-compressed ELF in .gnu_debugdata
 * whose .symtab holds the functions .dynsym lacks. Any damage to it only
 * costs those names: errors other than ENOMEM are logged and ignored.
 */
static int read_minidebug(Elf_Scn *scn, GElf_Half machine, struct collector *c, struct elfsyms *e)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	GElf_Ehdr mehdr;
	size_t out_len, shnum, phnum;
	bool found = false;
	void *out;
	Elf *mini;
	int err;

	if (!data || !data->d_buf || !data->d_size)
		return 0;
	err = xz_decompress(data->d_buf, data->d_size, MINIDEBUG_MAX_OUT, &out, &out_len);
	if (err) {
		log_debug("elfsyms: failed to decompress .gnu_debugdata: %s", strerror(-err));
		return err == -ENOMEM ? err : 0;
	}
	mini = elf_memory(out, out_len);
	if (!mini) {
		err = 0;
		goto out_buf;
	}
	if (elf_kind(mini) != ELF_K_ELF || !gelf_getehdr(mini, &mehdr) ||
	    elf_getshdrnum(mini, &shnum) || elf_getphdrnum(mini, &phnum) ||
	    !headers_fit(&mehdr, phnum, shnum, out_len)) {
		log_debug("elfsyms: .gnu_debugdata is not a valid ELF");
		err = 0;
		goto out_elf;
	}
	err = read_symtabs(mini, machine, c, &found);
	if (err == -ENOEXEC) {
		log_debug("elfsyms: .gnu_debugdata has a corrupt symbol table");
		err = 0;
	}
	if (!err && found)
		e->source = ELFSYMS_SRC_MINIDEBUGINFO;

out_elf:
	elf_end(mini);
out_buf:
	free(out);
	return err;
}

/*
 * A Go program built with -ldflags=-s -w (as most are shipped) has no
 * .symtab, but keeps the runtime's own function table, which its
 * tracebacks need: name its functions from that. Damage to the table only
 * costs those names: errors other than ENOMEM are logged and ignored.
 * Returns 1 when the table was read, 0 when not, -ENOMEM.
 */
static int read_gopclntab(Elf *elf, struct collector *c)
{
	struct gopclntab *t;
	size_t i, n, bad = 0;
	int err;

	err = gopclntab__open_elf(elf, &t);
	if (err) {
		log_debug("elfsyms: failed to read .gopclntab: %s", strerror(-err));
		return err == -ENOMEM ? err : 0;
	}
	n = gopclntab__count(t);
	for (i = 0; i < n && !err; i++) {
		struct raw_sym rs = {0};
		const char *name;

		if (gopclntab__func(t, i, &name, &rs.addr, &rs.size)) {
			bad++;
			continue;
		}
		rs.bind = STB_GLOBAL;
		err = collect(c, name, &rs);
	}
	if (bad)
		log_debug("elfsyms: .gopclntab: %zu of %zu functions corrupt", bad, n);
	gopclntab__free(t);
	return err ? err : 1;
}

/* The CFI range of the function at @addr, from .eh_frame or .debug_frame. */
static uint64_t cfi_size_at(Elf *elf, uint64_t addr)
{
	Dwarf_CFI *cfi = dwarf_getcfi_elf(elf);
	Dwarf_Frame *frame = NULL;
	Dwarf_Addr start, end;
	uint64_t size = 0;

	if (!cfi)
		return 0;
	if (!dwarf_cfi_addrframe(cfi, addr, &frame) &&
	    dwarf_frame_info(frame, &start, &end, NULL) >= 0 && start == addr && end > start)
		size = end - start;
	free(frame);
	dwarf_cfi_end(cfi);
	return size;
}

/*
 * Stripped executables have no name for their entry point, so unwound
 * stacks would end in an anonymous address: call it _start, as every libc
 * does, sized by its CFI when there is one. The dynamic loader too: every
 * dynamically linked process starts in ld.so's _start, and Debian's ld.so
 * has no .symtab.
 */
static int name_entry(Elf *elf, const struct scan *sc, struct collector *c, const struct elfsyms *e)
{
	struct raw_sym rs = {0};
	size_t i;

	if ((!e->is_exec && !sc->is_ld_so) || !sc->entry || !sc->entry_sec_end)
		return 0;
	for (i = 0; i < c->nr; i++)
		if (c->syms[i].addr == sc->entry)
			return 0;
	rs.addr = sc->entry;
	rs.size = cfi_size_at(elf, sc->entry);
	if (!rs.size)
		rs.size = ENTRY_FALLBACK_SIZE;
	if (rs.size > sc->entry_sec_end - sc->entry)
		rs.size = sc->entry_sec_end - sc->entry;
	rs.bind = STB_LOCAL;
	rs.sec_end = sc->entry_sec_end;
	return collect(c, ENTRY_NAME, &rs);
}

/* "ld-linux-x86-64.so.2", "ld64.so.1", "ld-linux-aarch64.so.1", "ld.so.1". */
static bool is_loader_soname(const char *so)
{
	return !strncmp(so, "ld-linux", 8) || !strncmp(so, "ld64.so", 7) ||
	       !strncmp(so, "ld.so", 5) || !strncmp(so, "ld-musl", 7);
}

/* DT_SONAME of a SHT_DYNAMIC section: is this file the dynamic loader? */
static void scan_dynamic(Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr, struct scan *sc)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = shdr->sh_entsize ? shdr->sh_size / shdr->sh_entsize : 0;

	for (size_t i = 0; data && i < n && i < 4096; i++) {
		GElf_Dyn dyn;
		const char *so;

		if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_SONAME)
			continue;
		so = elf_strptr(elf, shdr->sh_link, dyn.d_un.d_val);
		sc->is_ld_so = so && is_loader_soname(so);
		break;
	}
}

/* Bytes of the lazy-binding header that starts .plt, per machine. */
static uint64_t plt_header_size(GElf_Half machine)
{
	switch (machine) {
	case EM_X86_64:
	case EM_386:
		return 16;
	case EM_AARCH64:
		return 32;
	default:
		return 0;
	}
}

/*
 * PLT stubs named "func@plt", as perf and objdump do: the i-th
 * R_*_JUMP_SLOT relocation of .rela.plt is the i-th stub of .plt.sec (IBT
 * builds: Debian's gcc uses -fcf-protection) or of .plt after its header.
 * Without these, every call through the PLT is an anonymous frame.
 */
static int name_plt(Elf *elf, const GElf_Ehdr *ehdr, size_t shnum, struct scan *sc,
		    struct collector *c)
{
	const GElf_Shdr *stubs = sc->plt_sec ? &sc->plt_sec_sh : &sc->plt_sh;
	uint64_t hdr = sc->plt_sec ? 0 : plt_header_size(ehdr->e_machine), ent = 16;
	Elf_Scn *symscn;
	GElf_Shdr symsh;
	Elf_Data *rel, *syms;
	size_t nrel, i;
	int err;

	if (!sc->rela_plt || (!sc->plt && !sc->plt_sec) || (!sc->plt_sec && !hdr))
		return 0;
	if (sc->rela_plt_sh.sh_link >= shnum || !sc->rela_plt_sh.sh_entsize)
		return 0;
	symscn = elf_getscn(elf, sc->rela_plt_sh.sh_link);
	if (!symscn || !gelf_getshdr(symscn, &symsh))
		return 0;
	rel = elf_getdata(sc->rela_plt, NULL);
	syms = elf_getdata(symscn, NULL);
	if (!rel || !syms)
		return 0;
	nrel = sc->rela_plt_sh.sh_size / sc->rela_plt_sh.sh_entsize;
	for (i = 0; i < nrel; i++) {
		struct raw_sym rs = {0};
		char name[512];
		const char *sname;
		GElf_Rela rela;
		GElf_Sym sym;
		size_t symi;

		if (hdr + (i + 1) * ent > stubs->sh_size)
			break;
		if (sc->rela_plt_sh.sh_type == SHT_RELA) {
			if (!gelf_getrela(rel, (int)i, &rela))
				break;
		} else {
			GElf_Rel r;

			if (!gelf_getrel(rel, (int)i, &r))
				break;
			rela.r_info = r.r_info;
		}
		symi = ehdr->e_ident[EI_CLASS] == ELFCLASS32 ? ELF32_R_SYM(rela.r_info)
							     : GELF_R_SYM(rela.r_info);
		/* IRELATIVE slots have no symbol: no name to give. */
		if (!symi || !gelf_getsym(syms, (int)symi, &sym))
			continue;
		sname = elf_strptr(elf, symsh.sh_link, sym.st_name);
		if (!sname || !*sname)
			continue;
		snprintf(name, sizeof(name), "%s@plt", sname);
		rs.addr = stubs->sh_addr + hdr + i * ent;
		rs.size = ent;
		rs.bind = STB_LOCAL;
		rs.sec_end = stubs->sh_addr + stubs->sh_size;
		err = collect(c, name, &rs);
		if (err)
			return err;
	}
	return 0;
}

static int scan_section(Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr, const GElf_Ehdr *ehdr,
			size_t shnum, size_t shstrndx, struct collector *c, struct scan *sc,
			struct elfsyms *e)
{
	const char *name = elf_strptr(elf, shstrndx, shdr->sh_name);

	switch (shdr->sh_type) {
	case SHT_SYMTAB:
		sc->has_symtab = true;
		/* fallthrough */
	case SHT_DYNSYM:
		return read_symtab(elf, scn, shdr, shnum, ehdr->e_machine, c);
	case SHT_NOTE:
		if (!e->has_build_id)
			note_build_id(elf_getdata(scn, NULL), e);
		return 0;
	case SHT_DYNAMIC:
		scan_dynamic(elf, scn, shdr, sc);
		return 0;
	case SHT_RELA:
	case SHT_REL:
		if (name && !strcmp(name, shdr->sh_type == SHT_RELA ? ".rela.plt" : ".rel.plt")) {
			sc->rela_plt = scn;
			sc->rela_plt_sh = *shdr;
		}
		return 0;
	case SHT_PROGBITS:
		if ((shdr->sh_flags & SHF_EXECINSTR) && sc->entry >= shdr->sh_addr &&
		    sc->entry - shdr->sh_addr < shdr->sh_size)
			sc->entry_sec_end = shdr->sh_addr + shdr->sh_size;
		if (!name)
			return 0;
		if (!strcmp(name, ".plt")) {
			sc->plt = scn;
			sc->plt_sh = *shdr;
		} else if (!strcmp(name, ".plt.sec")) {
			sc->plt_sec = scn;
			sc->plt_sec_sh = *shdr;
		}
		if (!strcmp(name, ".gopclntab") || !strcmp(name, ".data.rel.ro.gopclntab"))
			sc->has_gopclntab = true;
		if (!strcmp(name, ".gnu_debuglink"))
			return read_debuglink(elf, scn, ehdr, e);
		if (!strcmp(name, ".gnu_debugdata"))
			sc->debugdata = scn;
		else if (!strcmp(name, ".debug_info") && shdr->sh_size)
			e->has_dwarf = true;
		return 0;
	default:
		return 0;
	}
}

/*
 * Symbols of @elf, plus those of the separate debug file @dbg when given,
 * else of its MiniDebugInfo when it has no .symtab of its own.
 */
static int load(Elf *elf, uint64_t file_size, Elf *dbg, struct elfsyms *e)
{
	struct collector c = {0};
	struct scan sc = {0};
	size_t shnum, phnum, shstrndx;
	GElf_Ehdr ehdr;
	Elf_Scn *scn = NULL;
	int err;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr))
		return -ENOEXEC;
	if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)
		return -ENOEXEC;
	e->is_dyn = ehdr.e_type == ET_DYN;
	e->is_exec = ehdr.e_type == ET_EXEC;
	if (elf_getshdrnum(elf, &shnum) || elf_getphdrnum(elf, &phnum) ||
	    !headers_fit(&ehdr, phnum, shnum, file_size))
		return -ENOEXEC;
	if (elf_getshdrstrndx(elf, &shstrndx))
		shstrndx = 0;
	err = read_segments(elf, file_size, e);
	if (err)
		goto out_collector;

	sc.entry = ehdr.e_entry;
	if (ehdr.e_machine == EM_ARM)
		sc.entry &= ~1ULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr)) {
			err = -ENOEXEC;
			goto out_collector;
		}
		err = scan_section(elf, scn, &shdr, &ehdr, shnum, shstrndx, &c, &sc, e);
		if (err)
			goto out_collector;
	}
	e->source = sc.has_symtab ? ELFSYMS_SRC_SYMTAB : ELFSYMS_SRC_DYNSYM;
	if (dbg) {
		bool found = false;

		err = read_symtabs(dbg, ehdr.e_machine, &c, &found);
		if (err)
			goto out_collector;
		if (found)
			e->source = ELFSYMS_SRC_DEBUG_FILE;
	} else if (!sc.has_symtab && sc.debugdata) {
		err = read_minidebug(sc.debugdata, ehdr.e_machine, &c, e);
		if (err)
			goto out_collector;
	}
	/* Nothing better came: neither a debug file nor MiniDebugInfo. */
	if (!sc.has_symtab && sc.has_gopclntab && e->source == ELFSYMS_SRC_DYNSYM) {
		err = read_gopclntab(elf, &c);
		if (err < 0)
			goto out_collector;
		if (err)
			e->source = ELFSYMS_SRC_GOPCLNTAB;
		err = 0;
	}
	if (!e->has_build_id)
		segment_build_id(elf, e);
	err = name_plt(elf, &ehdr, shnum, &sc, &c);
	if (!err)
		err = name_entry(elf, &sc, &c, e);
	if (!err)
		err = build_tables(&c, e);

out_collector:
	free(c.syms);
	free(c.blob);
	return err;
}

static struct elfsyms *open_elf(Elf *elf, uint64_t file_size, Elf *dbg)
{
	struct elfsyms *e;
	int err;

	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->bytes = sizeof(*e);
	err = load(elf, file_size, dbg, e);
	if (err) {
		elfsyms__free(e);
		errno = -err;
		return NULL;
	}
	return e;
}

int elf_open_regular(const char *path, int *fd_out, uint64_t *size)
{
	struct stat st;
	int fd, err;

	/*
	 * O_NONBLOCK: a FIFO a target put in our way must not block the
	 * open; O_NOCTTY: nor may a terminal become ours. Regular files
	 * ignore both.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_fd;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out_fd;
	}
	/* A FIFO or device could block or never end. */
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto out_fd;
	}
	*fd_out = fd;
	if (size)
		*size = (uint64_t)st.st_size;
	return 0;

out_fd:
	close(fd);
	return err;
}

struct elfsyms *elfsyms__open_debug(const char *path, const char *debug_path)
{
	struct elfsyms *e = NULL;
	Elf *elf, *dbg = NULL;
	uint64_t size, dbg_size;
	int fd, dbg_fd = -1, err;

	err = elf_open_regular(path, &fd, &size);
	if (err) {
		errno = -err;
		return NULL;
	}
	elf_version(EV_CURRENT);
	if (debug_path) {
		err = elf_open_regular(debug_path, &dbg_fd, &dbg_size);
		if (err)
			goto out_fd;
		dbg = elf_begin(dbg_fd, ELF_C_READ, NULL);
		if (!dbg) {
			err = -ENOEXEC;
			goto out_dbg_fd;
		}
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		err = -ENOEXEC;
		goto out_dbg;
	}
	e = open_elf(elf, size, dbg);
	err = e ? 0 : -errno;
	elf_end(elf);
	if (!e)
		log_debug("elfsyms: failed to load %s%s%s: %s", path, dbg ? " with " : "",
			  dbg ? debug_path : "", strerror(-err));

out_dbg:
	elf_end(dbg);
out_dbg_fd:
	if (dbg_fd >= 0)
		close(dbg_fd);
out_fd:
	close(fd);
	errno = -err;
	return e;
}

struct elfsyms *elfsyms__open(const char *path)
{
	return elfsyms__open_debug(path, NULL);
}

Elf *elf_memory_copy(const void *data, size_t len, void **copy)
{
	Elf *elf;

	*copy = NULL;
	if (!len) {
		errno = ENOEXEC;
		return NULL;
	}
	/* libelf may convert in place; never touch the caller's bytes. */
	*copy = malloc(len);
	if (!*copy) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(*copy, data, len);
	elf_version(EV_CURRENT);
	elf = elf_memory(*copy, len);
	if (!elf) {
		free(*copy);
		*copy = NULL;
		errno = ENOEXEC;
	}
	return elf;
}

struct elfsyms *elfsyms__open_mem(const void *data, size_t len)
{
	struct elfsyms *e;
	void *copy;
	Elf *elf;
	int err;

	elf = elf_memory_copy(data, len, &copy);
	if (!elf)
		return NULL;
	e = open_elf(elf, len, NULL);
	err = e ? 0 : errno;
	elf_end(elf);
	free(copy);
	errno = err;
	return e;
}

void elfsyms__free(struct elfsyms *e)
{
	if (!e)
		return;
	free(e->syms);
	free(e->by_name);
	free(e->names);
	free(e->segs);
	free(e->debuglink);
	free(e);
}

const struct elfsym *elfsyms__find(const struct elfsyms *e, uint64_t addr)
{
	size_t lo = 0, hi = e->nr_syms;
	const struct elfsym *s;

	/* Last symbol starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &e->syms[lo - 1];
	return addr - s->addr < s->size ? s : NULL;
}

size_t elfsyms__bytes(const struct elfsyms *e)
{
	return e ? e->bytes : 0;
}

size_t elfsyms__count(const struct elfsyms *e)
{
	return e->nr_syms;
}

const struct elfsym *elfsyms__at(const struct elfsyms *e, size_t i)
{
	return i < e->nr_syms ? &e->syms[i] : NULL;
}

const struct elfsym *elfsyms__by_name(const struct elfsyms *e, const char *name)
{
	size_t lo = 0, hi = e->nr_names;

	/* Lower bound: the first entry of a name is its preferred one. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(e->by_name[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < e->nr_names && !strcmp(e->by_name[lo].name, name))
		return &e->by_name[lo];
	return NULL;
}

const char *elfsyms__build_id(const struct elfsyms *e)
{
	return e->has_build_id ? e->build_id : NULL;
}

int elfsyms__is_dyn(const struct elfsyms *e)
{
	return e->is_dyn;
}

int elfsyms__is_exec(const struct elfsyms *e)
{
	return e->is_exec;
}

enum elfsyms_source elfsyms__source(const struct elfsyms *e)
{
	return e->source;
}

int elfsyms__has_dwarf(const struct elfsyms *e)
{
	return e->has_dwarf;
}

const char *elfsyms__debuglink(const struct elfsyms *e, uint32_t *crc)
{
	if (e->debuglink && crc)
		*crc = e->debuglink_crc;
	return e->debuglink;
}

/*
 * Exact containment first, preferring an executable segment where linkers
 * let two segments share bytes; then the page-rounded start of a segment,
 * because a mapping starts on a page boundary that may lie before p_offset.
 */
int elfsyms__off_to_vaddr(const struct elfsyms *e, uint64_t off, uint64_t *vaddr)
{
	const struct segment *hit = NULL;
	int pass;
	size_t i;

	for (pass = 0; pass < 2 && !hit; pass++) {
		for (i = 0; i < e->nr_segs; i++) {
			const struct segment *s = &e->segs[i];
			uint64_t start = pass ? s->off & ~4095ULL : s->off;

			if (off < start || off >= s->off + s->filesz)
				continue;
			if (!hit || (s->exec && !hit->exec))
				hit = s;
		}
	}
	if (!hit)
		return -ENOENT;
	/* Wraps when off is below p_offset (pass 2); the sum is still right. */
	*vaddr = off - hit->off + hit->vaddr;
	return 0;
}

int elfsyms__vaddr_to_off(const struct elfsyms *e, uint64_t vaddr, uint64_t *off)
{
	size_t i;

	for (i = 0; i < e->nr_segs; i++) {
		const struct segment *s = &e->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz) {
			*off = vaddr - s->vaddr + s->off;
			return 0;
		}
	}
	return -ENOENT;
}
