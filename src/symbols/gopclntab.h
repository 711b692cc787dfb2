/* SPDX-License-Identifier: MIT */
/*
 * A Go executable's own function table (.gopclntab, which the runtime
 * needs for tracebacks and so survives `go build -ldflags=-s -w`) and the
 * Go version it was built with (.go.buildinfo): the names of a stripped
 * Go program.
 *
 * Formats read: Go 1.18/1.19 (magic 0xfffffff0), 1.20 and later
 * (0xfffffff1, the same layout), and 1.16/1.17 (0xfffffffa), in either
 * byte order, with 4- or 8-byte pointers. Go 1.2-1.15 (0xfffffffb), and
 * any other magic behind a well-formed header, is -ENOTSUP.
 *
 * The section is looked up as ".gopclntab", or ".data.rel.ro.gopclntab" in
 * an internally linked PIE. An externally linked PIE (cgo with
 * -buildmode=pie) has no such section: the table is somewhere inside
 * .data.rel.ro, and is -ENOENT here.
 *
 * Everything read from the file is untrusted: every offset and count is
 * checked against the section, names must end within it.
 */
#ifndef SONDE_GOPCLNTAB_H
#define SONDE_GOPCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gopclntab;

/*
 * Read the table of the ELF file open on @fd (not closed, and not needed
 * after the call: the caller may close it at once). Returns 0; -ENOENT
 * (no .gopclntab section); -ENOTSUP (a format not handled, see above);
 * -EIO (not an ELF file, or a corrupt or unreadable table); -ENOMEM.
 */
int gopclntab__open(int fd, struct gopclntab **out);
typedef struct Elf Elf;
/*
 * The same over an Elf handle the caller keeps: @elf must outlive the
 * table (names point into its section data).
 */
int gopclntab__open_elf(Elf *elf, struct gopclntab **out);
void gopclntab__free(struct gopclntab *t);

/* Number of functions (corrupt ones included: see gopclntab__func()). */
size_t gopclntab__count(const struct gopclntab *t);
/*
 * Function @i, in entry order: its name (NUL-terminated, pointing into the
 * table, valid until gopclntab__free()), the link-time virtual address of
 * its entry and its size: up to the next function's entry (alignment
 * padding included, as Go's debug/gosym counts it), the last one up to the
 * end of text. Returns 0, -EIO when this entry is corrupt (the others may
 * still be fine), -EINVAL when @i >= count.
 */
int gopclntab__func(const struct gopclntab *t, size_t i, const char **name, uint64_t *vaddr,
		    uint64_t *size);
/*
 * The function named exactly @name (a linear scan: meant for a handful of
 * lookups, not one per sample): 0 with *@vaddr and *@size, or -ENOENT.
 */
int gopclntab__find(const struct gopclntab *t, const char *name, uint64_t *vaddr, uint64_t *size);

/*
 * The Go version the executable open on @fd was built with, as `go
 * version FILE` prints it ("go1.19.8"), into @buf (@len bytes, NUL
 * included). Reads .go.buildinfo: Go 1.18+'s inline strings, or the older
 * pointers to a Go string, followed through PT_LOAD segments. Returns 0;
 * -ENOENT (no .go.buildinfo section); -EIO (not an ELF file, or corrupt);
 * -ERANGE (@buf too small); -EINVAL (no @buf).
 */
int go_buildinfo_version(int fd, char *buf, size_t len);

/* Whether the ELF file open on @fd is a Go executable (.go.buildinfo or .note.go.buildid). */
bool go_executable(int fd);

#endif /* SONDE_GOPCLNTAB_H */
