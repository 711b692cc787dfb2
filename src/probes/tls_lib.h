/* SPDX-License-Identifier: MIT */
/*
 * Where a file carries OpenSSL or BoringSSL, and where the tls probe
 * attaches in it: SSL_write/SSL_write_ex, SSL_read/SSL_read_ex (entry and
 * return) and SSL_free/SSL_shutdown (entry), found by name in .dynsym,
 * then .symtab (node exports them from its executable; a statically
 * linked program that kept its symbol table has them there).
 *
 * A uprobe on an instruction the kernel cannot emulate is single-stepped
 * (measured here: ~25 us per SSL_write on Debian's libssl.so.3, whose
 * first instruction is `sub $0x18,%rsp`, against ~1 us on a `push`). When
 * SSL_write and SSL_write_ex (likewise the reads) both call one internal
 * function that starts with a push, that function is probed instead: it
 * is OpenSSL's ssl_write_internal(s, buf, num, &written), the _ex form
 * both wrappers end in, so every call is seen once, cheaply.
 *
 * A Go program (Go 1.17 and later, x86-64) carries crypto/tls instead:
 * crypto/tls.(*Conn).Write and (*Conn).Close at entry, found in .symtab
 * or, in a stripped program, in Go's own function table (.gopclntab).
 * (*Conn).Read returns what its inlined bytes.Reader.Read copies with
 * runtime.memmove(b, plaintext, n): a uprobe on that one call (emulated
 * by the kernel, where one on a RET is single-stepped at some 19 us a
 * hit here) sees every byte read, with the receiver in the slot the
 * prologue spilled it to. A Read compiled otherwise is probed at entry
 * and at each RET. Entry probes sit on the prologue's first jump
 * (uprobe_go.h).
 */
#ifndef SONDE_PROBES_TLS_LIB_H
#define SONDE_PROBES_TLS_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sonde/events.h"

enum tls_role {
	TLS_ROLE_WRITE = 0,
	TLS_ROLE_READ,
	TLS_ROLE_CLOSE,
	TLS_ROLE_GO_WRITE,
	TLS_ROLE_GO_READ,      /* (*Conn).Read's entry, with... */
	TLS_ROLE_GO_READ_RET,  /* ...a probe on each of its RET instructions, or: */
	TLS_ROLE_GO_READ_COPY, /* its copy of the plaintext out (runtime.memmove) */
	TLS_ROLE_GO_CLOSE,
	TLS_ROLE__COUNT,
};

struct tls_func {
	uint64_t offset; /* file offset of the probed instruction */
	enum tls_role role;
	/*
	 * The attach cookie: for SSL functions how the byte count comes back
	 * (enum sonde_tls_flavor), for Go's entries what the prologue
	 * subtracts from SP before its stack check (-1: none; see
	 * bpf/tls.bpf.c), for Read's copy the receiver's slot above SP.
	 */
	uint64_t cookie;
	char name[64]; /* "SSL_write", or "SSL_write's internal callee" */
};

/* Go's (*Conn).Read has a RET per return path: 7 in Go 1.19. */
#define TLS_LIB_MAX_FUNCS 32

struct tls_lib {
	char version[64]; /* "OpenSSL 3.0.19", "BoringSSL", "go1.19.8", or "" when unknown */
	struct tls_func funcs[TLS_LIB_MAX_FUNCS];
	unsigned int nfuncs;
	bool from_symtab; /* the names came from .symtab (not exported) */
	bool internal;	  /* reads and writes are probed at the internal callees */
	bool go;	  /* Go's crypto/tls */
};

/*
 * Inspect the ELF file at @path. Returns 0 with @out filled, -ENOENT when
 * it has no SSL_write and SSL_read (not OpenSSL/BoringSSL, or stripped of
 * them) and is no Go program with crypto/tls sonde can probe, or another
 * -errno when it cannot be read. Prints nothing.
 */
int tls_lib_inspect(const char *path, struct tls_lib *out);

/*
 * Whether the x86-64 instruction at @code (@len bytes available) is one
 * the kernel emulates for a uprobe (push, nop, jmp, call) rather than
 * single-steps.
 */
bool tls_insn_emulated(const unsigned char *code, size_t len);

/* "SSL_write, SSL_read, ..." of @lib's probed functions into @buf; returns @buf. */
const char *tls_lib_funcs(const struct tls_lib *lib, char *buf, size_t len);

/*
 * Why a file holds no TLS sonde can see into, from its name and symbols:
 * GnuTLS, NSS, Go's crypto/tls before Go 1.17, or NULL when nothing is known.
 */
const char *tls_lib_unsupported(const char *path);

#endif /* SONDE_PROBES_TLS_LIB_H */
