/* SPDX-License-Identifier: MIT */
/*
 * Function symbols of one ELF file (.symtab and .dynsym, plus a separate
 * debug file's .symtab or the file's MiniDebugInfo), sorted by address,
 * plus what identifies the file (build-id, debuglink) and how its loadable
 * segments map file offsets to virtual addresses.
 */
#ifndef SONDE_ELFSYMS_H
#define SONDE_ELFSYMS_H

#include <stddef.h>
#include <stdint.h>

struct elfsyms;

/* Where the names came from, best last. */
enum elfsyms_source {
	ELFSYMS_SRC_DYNSYM = 0,	   /* exported names only (a stripped file) */
	ELFSYMS_SRC_MINIDEBUGINFO, /* .dynsym + .gnu_debugdata's .symtab */
	ELFSYMS_SRC_GOPCLNTAB,	   /* Go's own function table (a stripped Go program) */
	ELFSYMS_SRC_SYMTAB,	   /* the file's own .symtab */
	ELFSYMS_SRC_DEBUG_FILE,	   /* .dynsym + a separate debug file's .symtab */
};

struct elfsym {
	const char *name;
	uint64_t addr; /* st_value: link-time virtual address */
	uint64_t size;
};

/*
 * Load the symbols of the ELF file at @path. Returns NULL and sets errno
 * (ENOENT, EACCES, ENOEXEC for a file that is not a valid ELF, ...).
 */
struct elfsyms *elfsyms__open(const char *path);
/*
 * The same, adding the .symtab of @debug_path (a separate debug file found
 * through debuginfo.h; NULL = none) in place of the MiniDebugInfo. The
 * debug file must describe @path: the caller verifies that.
 */
struct elfsyms *elfsyms__open_debug(const char *path, const char *debug_path);
/* The same for an ELF image in memory (e.g. a vdso); @data is copied. */
struct elfsyms *elfsyms__open_mem(const void *data, size_t len);
void elfsyms__free(struct elfsyms *e);

/* The symbol containing link-time address @addr, or NULL. */
const struct elfsym *elfsyms__find(const struct elfsyms *e, uint64_t addr);
/*
 * Heap bytes @e holds (the sizes it asked malloc for, not malloc's own
 * overhead): its symbol arrays, the name strings, segments and debuglink.
 * Fixed once open; 0 for NULL.
 */
size_t elfsyms__bytes(const struct elfsyms *e);
/* Symbols in address order. */
size_t elfsyms__count(const struct elfsyms *e);
const struct elfsym *elfsyms__at(const struct elfsyms *e, size_t i);
/* Exact name lookup (first match), or NULL. */
const struct elfsym *elfsyms__by_name(const struct elfsyms *e, const char *name);

/* Lower-case hex build-id, or NULL when the file has none. */
const char *elfsyms__build_id(const struct elfsyms *e);
/* 1 for ET_DYN (PIE or shared library), 0 for ET_EXEC. */
int elfsyms__is_dyn(const struct elfsyms *e);
/*
 * 1 for a program (ET_EXEC, or ET_DYN with PT_INTERP). A program without a
 * symbol at its entry point gets "_start" there (sized by its CFI, else 64
 * bytes), so stacks of stripped binaries end in a name.
 */
int elfsyms__is_exec(const struct elfsyms *e);
enum elfsyms_source elfsyms__source(const struct elfsyms *e);
/* 1 when the file itself carries DWARF (.debug_info with contents). */
int elfsyms__has_dwarf(const struct elfsyms *e);
/*
 * The file name in .gnu_debuglink (never containing '/') and its CRC32 in
 * *@crc, or NULL when the file has none.
 */
const char *elfsyms__debuglink(const struct elfsyms *e, uint32_t *crc);
/*
 * Translate a file offset to a link-time virtual address through the
 * PT_LOAD segment that contains it; returns 0 or -ENOENT.
 */
int elfsyms__off_to_vaddr(const struct elfsyms *e, uint64_t off, uint64_t *vaddr);
/* Translate a link-time virtual address to a file offset; 0 or -ENOENT. */
int elfsyms__vaddr_to_off(const struct elfsyms *e, uint64_t vaddr, uint64_t *off);

/*
 * Open @path for reading only if it is a regular file, never blocking (a
 * FIFO or device put where a binary should be is refused, not waited
 * on): *@fd_out and its size (@size may be NULL). Returns 0, -EISDIR,
 * -ENOEXEC for anything else that is not a regular file, or -errno.
 */
int elf_open_regular(const char *path, int *fd_out, uint64_t *size);

/* Lower-case hex of @n bytes into @out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

typedef struct Elf Elf;
/*
 * libelf handle over a private copy of an in-memory image (libelf may
 * convert in place). The caller frees *@copy after elf_end(). NULL with
 * errno ENOEXEC (empty or not ELF) or ENOMEM.
 */
Elf *elf_memory_copy(const void *data, size_t len, void **copy);

#endif /* SONDE_ELFSYMS_H */
