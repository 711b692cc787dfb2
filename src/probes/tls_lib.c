// SPDX-License-Identifier: MIT
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "probes/tls_lib.h"
#include "probes/uprobe_go.h"
#include "symbols/elfsyms.h"
#include "symbols/gopclntab.h"

/* Bytes of a wrapper searched for its call to the internal function. */
#define WRAPPER_SCAN 128
#define MAX_CALLS 8

bool tls_insn_emulated(const unsigned char *c, size_t len)
{
	if (!len)
		return false;
	/* push %reg, push %r8-%r15 */
	if ((c[0] >= 0x50 && c[0] <= 0x57) ||
	    (len >= 2 && (c[0] == 0x41 || c[0] == 0x40) && c[1] >= 0x50 && c[1] <= 0x57))
		return true;
	/* nop, multi-byte nop (0f 1f /0, optionally behind 66 prefixes) */
	if (c[0] == 0x90)
		return true;
	for (size_t i = 0; i + 1 < len && i < 4; i++) {
		if (c[i] == 0x66)
			continue;
		if (c[i] == 0x0f && c[i + 1] == 0x1f)
			return true;
		break;
	}
	/* jmp rel8/rel32, call rel32 */
	return c[0] == 0xeb || c[0] == 0xe9 || c[0] == 0xe8;
}

struct elf_ctx {
	const char *path;
	struct elfsyms *syms;
	int fd;
};

/* File offset and first bytes of function @name; -ENOENT if it has none. */
static int func_code(struct elf_ctx *e, const char *name, uint64_t *vaddr, uint64_t *off,
		     unsigned char *code, size_t len)
{
	const struct elfsym *s = elfsyms__by_name(e->syms, name);
	ssize_t n;

	if (!s || !s->addr || elfsyms__vaddr_to_off(e->syms, s->addr, off))
		return -ENOENT;
	*vaddr = s->addr;
	if (!code)
		return 0;
	memset(code, 0, len);
	n = pread(e->fd, code, len, (off_t)*off);
	return n > 0 ? 0 : -EIO;
}

/* Targets of the direct calls in the first bytes of @name (virtual addresses). */
static size_t call_targets(struct elf_ctx *e, const char *name, uint64_t *out, size_t max)
{
	unsigned char code[WRAPPER_SCAN];
	uint64_t vaddr, off;
	cs_insn *insn = NULL;
	size_t count, n = 0;
	csh cs;

	if (func_code(e, name, &vaddr, &off, code, sizeof(code)))
		return 0;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return 0;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	count = cs_disasm(cs, code, sizeof(code), vaddr, 0, &insn);
	for (size_t i = 0; i < count && n < max; i++) {
		const cs_x86 *x = insn[i].detail ? &insn[i].detail->x86 : NULL;

		if (insn[i].id == X86_INS_RET)
			break;
		if (insn[i].id == X86_INS_CALL && x && x->op_count == 1 &&
		    x->operands[0].type == X86_OP_IMM)
			out[n++] = (uint64_t)x->operands[0].imm;
	}
	cs_free(insn, count);
	cs_close(&cs);
	return n;
}

/*
 * The internal function both wrappers @a and @b call first in common,
 * when its first instruction is emulated: its file offset, or 0.
 */
static uint64_t common_callee(struct elf_ctx *e, const char *a, const char *b)
{
	uint64_t ta[MAX_CALLS], tb[MAX_CALLS], off;
	size_t na = call_targets(e, a, ta, MAX_CALLS), nb = call_targets(e, b, tb, MAX_CALLS);
	unsigned char code[16];

	for (size_t i = 0; i < na; i++) {
		for (size_t j = 0; j < nb; j++) {
			if (ta[i] != tb[j] || elfsyms__vaddr_to_off(e->syms, ta[i], &off))
				continue;
			if (pread(e->fd, code, sizeof(code), (off_t)off) != (ssize_t)sizeof(code) ||
			    !tls_insn_emulated(code, sizeof(code)))
				return 0;
			return off;
		}
	}
	return 0;
}

static int add_func(struct tls_lib *l, uint64_t off, enum tls_role role, uint64_t cookie,
		    const char *name)
{
	struct tls_func *f;

	for (unsigned int i = 0; i < l->nfuncs; i++)
		if (l->funcs[i].offset == off)
			return 0;
	if (l->nfuncs == TLS_LIB_MAX_FUNCS)
		return -E2BIG;
	f = &l->funcs[l->nfuncs++];
	f->offset = off;
	f->role = role;
	f->cookie = cookie;
	snprintf(f->name, sizeof(f->name), "%s", name);
	return 0;
}

/* Add @name at its entry if the file has it. */
static void add_entry(struct elf_ctx *e, struct tls_lib *l, const char *name, enum tls_role role,
		      uint64_t flavor)
{
	uint64_t vaddr, off;

	if (!func_code(e, name, &vaddr, &off, NULL, 0))
		add_func(l, off, role, flavor, name);
}

/*
 * One direction (@plain: SSL_write or SSL_read, @ex: its _ex form): at
 * the entries when the first instruction is emulated or no common callee
 * is found, else at the callee. OpenSSL 3.2 (the release that added
 * SSL_write_ex2, @ex2) gave ssl_write_internal a flags argument before
 * &written, and SSL_write_ex calls it through SSL_write_ex2.
 */
static void add_direction(struct elf_ctx *e, struct tls_lib *l, const char *plain, const char *ex,
			  const char *ex2, enum tls_role role)
{
	unsigned char code[16];
	uint64_t vaddr, off, callee = 0;
	bool v32 = ex2 && !func_code(e, ex2, &vaddr, &off, NULL, 0);
	char name[64];

	if (!func_code(e, plain, &vaddr, &off, code, sizeof(code)) &&
	    !tls_insn_emulated(code, sizeof(code)))
		callee = common_callee(e, plain, v32 ? ex2 : ex);
	if (callee) {
		snprintf(name, sizeof(name), "%s's internal callee", plain);
		add_func(l, callee, role, v32 ? SONDE_TLS_EX5 : SONDE_TLS_EX4, name);
		l->internal = true;
		return;
	}
	add_entry(e, l, plain, role, SONDE_TLS_RET);
	add_entry(e, l, ex, role, SONDE_TLS_EX4);
}

static bool is_version_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '+' || c == '-';
}

/* The version banner ("OpenSSL 3.0.19 27 Jan 2026") starting at @p, @n bytes readable. */
static bool banner(const char *p, size_t n, char *out, size_t len)
{
	static const char pat[] = "OpenSSL ";
	const char *v = p + sizeof(pat) - 1, *q = v, *end = p + n;

	while (q < end && is_version_char(*q))
		q++;
	/* A version, a space, a day of the month. */
	if (q - v < 5 || v[0] < '0' || v[0] > '9' || v[1] != '.' || q + 3 >= end || q[0] != ' ' ||
	    q[1] < '0' || q[1] > '9')
		return false;
	snprintf(out, len, "OpenSSL %.*s", (int)(q - v), v);
	return true;
}

/* Bytes read at a time, and kept from one read to the next (a banner across them). */
#define SCAN_CHUNK (1u << 20)
#define SCAN_KEEP 128

/*
 * OpenSSL_version's text in the file's bytes, else "BoringSSL" if that
 * name is there. Read, not mapped: the file may be a target's, and one it
 * truncates while mapped here would kill sonde with SIGBUS.
 */
static void find_version(int fd, char *out, size_t len)
{
	char *buf = malloc(SCAN_KEEP + SCAN_CHUNK);
	size_t keep = 0;
	bool boring = false;
	off_t off = 0;

	out[0] = '\0';
	while (buf && !out[0]) {
		ssize_t got = pread(fd, buf + keep, SCAN_CHUNK, off);
		size_t n, upto;

		if (got <= 0)
			break;
		off += got;
		n = keep + (size_t)got;
		/* A banner starting in the last bytes is looked at again after the next read. */
		upto = (size_t)got == SCAN_CHUNK && n > SCAN_KEEP ? n - SCAN_KEEP : n;
		for (const char *p = buf;
		     !out[0] && (p = memmem(p, n - (size_t)(p - buf), "OpenSSL ", 8)); p++) {
			if ((size_t)(p - buf) >= upto)
				break;
			banner(p, n - (size_t)(p - buf), out, len);
		}
		boring = boring || memmem(buf, n, "BoringSSL", 9);
		keep = n > upto ? n - upto : 0;
		memmove(buf, buf + upto, keep);
	}
	if (!out[0] && boring)
		snprintf(out, len, "BoringSSL");
	free(buf);
}

/*
 * OpenSSL keeps its version banner in libcrypto: for .../libssl.so.3,
 * look in .../libcrypto.so.3 beside it.
 */
static void find_version_beside(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/'), *ssl;
	char crypto[4096];
	int fd;

	base = base ? base + 1 : path;
	ssl = strstr(base, "libssl");
	if (ssl != base)
		return;
	snprintf(crypto, sizeof(crypto), "%.*slibcrypto%s", (int)(base - path), path, base + 6);
	fd = open(crypto, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	find_version(fd, out, len);
	close(fd);
}

/* Whether .dynsym of the ELF file on @fd names @sym (exported, not only in .symtab). */
static bool exported(int fd, const char *sym)
{
	Elf_Scn *scn = NULL;
	bool found = false;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return false;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && !found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize && !found; i++) {
			GElf_Sym st;
			const char *name;

			if (!gelf_getsym(d, (int)i, &st))
				break;
			name = elf_strptr(elf, sh.sh_link, st.st_name);
			found = name && !strcmp(name, sym);
		}
	}
	elf_end(elf);
	return found;
}

/* The minor version of a Go release ("go1.19.8": 19); -1 for another string. */
static int go_minor(const char *v)
{
	return !strncmp(v, "go1.", 4) && v[4] >= '0' && v[4] <= '9' ? atoi(v + 4) : -1;
}

/* Go 1.17 moved arguments and results from the stack to registers. */
#define GO_REGABI_MINOR 17

static const char GO_WRITE[] = "crypto/tls.(*Conn).Write";
static const char GO_READ[] = "crypto/tls.(*Conn).Read";
static const char GO_CLOSE[] = "crypto/tls.(*Conn).Close";

/* The file offset and size of Go function @name in @e; -ENOENT. */
static int go_func(struct elf_ctx *e, const char *name, uint64_t *off, uint64_t *size)
{
	const struct elfsym *s = elfsyms__by_name(e->syms, name);

	if (!s || !s->addr || !s->size || elfsyms__vaddr_to_off(e->syms, s->addr, off))
		return -ENOENT;
	*size = s->size;
	return 0;
}

/* (*Conn).Read: at its one copy out if it has it, else at entry and RETs. */
static int add_go_read(struct elf_ctx *e, struct tls_lib *l)
{
	uint64_t off, size, memmove_off = 0, msize;
	struct uprobe_go_func gf;
	int err;

	if (go_func(e, GO_READ, &off, &size))
		return -ENOENT;
	if (go_func(e, "runtime.memmove", &memmove_off, &msize))
		memmove_off = 0;
	err = uprobe_go_scan(e->fd, off, size, memmove_off, &gf);
	if (err)
		return err;
	if (gf.ncalls == 1 && gf.rax_spill >= 0) {
		err = add_func(l, gf.calls[0], TLS_ROLE_GO_READ_COPY, (uint64_t)gf.rax_spill,
			       GO_READ);
	} else if (!gf.nrets) {
		/* A Read without RET would never return: nothing to read then. */
		err = -ENOENT;
	} else {
		err = add_func(l, gf.entry_probe, TLS_ROLE_GO_READ, (uint64_t)gf.stack_adj,
			       GO_READ);
		for (size_t r = 0; r < gf.nrets && !err; r++)
			err = add_func(l, gf.rets[r], TLS_ROLE_GO_READ_RET, 0, "");
	}
	uprobe_go_func_free(&gf);
	return err;
}

/* Go function @name at the prologue's jump; -ENOENT if it has none. */
static int add_go_entry(struct elf_ctx *e, struct tls_lib *l, const char *name, enum tls_role role)
{
	struct uprobe_go_func gf;
	uint64_t off, size;
	int err;

	if (go_func(e, name, &off, &size))
		return -ENOENT;
	err = uprobe_go_scan(e->fd, off, size, 0, &gf);
	if (!err)
		err = add_func(l, gf.entry_probe, role, (uint64_t)gf.stack_adj, name);
	uprobe_go_func_free(&gf);
	return err;
}

/*
 * Go's crypto/tls in the Go program @e (see tls_lib.h). -ENOENT when it
 * has no Write and Read (a Go program that speaks no TLS) or passes
 * arguments on the stack.
 */
static int inspect_go(struct elf_ctx *e, struct tls_lib *l)
{
	int minor, err;

	e->fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (e->fd < 0)
		return -errno;
	go_buildinfo_version(e->fd, l->version, sizeof(l->version));
	minor = go_minor(l->version);
	/* A development build ("devel go1.23-...") is new. */
	if (minor >= 0 && minor < GO_REGABI_MINOR)
		return -ENOENT;
	l->go = true;
	err = add_go_entry(e, l, GO_WRITE, TLS_ROLE_GO_WRITE);
	if (!err)
		err = add_go_read(e, l);
	/* Close is not needed: a connection also ends with its process. */
	if (!err && add_go_entry(e, l, GO_CLOSE, TLS_ROLE_GO_CLOSE) == -ENOMEM)
		err = -ENOMEM;
	return err;
}

int tls_lib_inspect(const char *path, struct tls_lib *out)
{
	struct elf_ctx e = {.path = path, .fd = -1};
	uint64_t vaddr, off;
	int err;

	memset(out, 0, sizeof(*out));
	e.syms = elfsyms__open(path);
	if (!e.syms)
		return errno ? -errno : -EIO;
	if (func_code(&e, "SSL_write", &vaddr, &off, NULL, 0) ||
	    func_code(&e, "SSL_read", &vaddr, &off, NULL, 0)) {
		err = uprobe_go_binary(path) ? inspect_go(&e, out) : -ENOENT;
		if (err)
			memset(out, 0, sizeof(*out));
		goto out;
	}
	e.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e.fd < 0) {
		err = -errno;
		goto out;
	}
	out->from_symtab = !exported(e.fd, "SSL_write");
	find_version(e.fd, out->version, sizeof(out->version));
	if (!out->version[0])
		find_version_beside(path, out->version, sizeof(out->version));
	add_direction(&e, out, "SSL_write", "SSL_write_ex", "SSL_write_ex2", TLS_ROLE_WRITE);
	add_direction(&e, out, "SSL_read", "SSL_read_ex", NULL, TLS_ROLE_READ);
	add_entry(&e, out, "SSL_shutdown", TLS_ROLE_CLOSE, SONDE_TLS_RET);
	add_entry(&e, out, "SSL_free", TLS_ROLE_CLOSE, SONDE_TLS_RET);
	err = 0;
out:
	if (e.fd >= 0)
		close(e.fd);
	elfsyms__free(e.syms);
	return err;
}

const char *tls_lib_funcs(const struct tls_lib *lib, char *buf, size_t len)
{
	unsigned int rets = 0;
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < lib->nfuncs; i++)
		rets += lib->funcs[i].role == TLS_ROLE_GO_READ_RET;
	for (unsigned int i = 0; i < lib->nfuncs; i++) {
		if (lib->funcs[i].role == TLS_ROLE_GO_READ_RET)
			continue;
		n = str_append(buf, len, n, "%s%s", n ? ", " : "", lib->funcs[i].name);
		if (lib->funcs[i].role == TLS_ROLE_GO_READ)
			n = str_append(buf, len, n, " (and its %u RET%s)", rets, plural_s(rets));
		if (lib->funcs[i].role == TLS_ROLE_GO_READ_COPY)
			n = str_append(buf, len, n, " (at its copy out)");
	}
	return buf;
}

/* A Go program with crypto/tls, built by a Go older than GO_REGABI_MINOR. */
static bool go_too_old(const char *path)
{
	struct elfsyms *syms = elfsyms__open(path);
	char v[64] = "";
	bool old = false;
	int fd, minor;

	if (!syms)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0 && elfsyms__by_name(syms, GO_WRITE) &&
	    !go_buildinfo_version(fd, v, sizeof(v))) {
		minor = go_minor(v);
		old = minor >= 0 && minor < GO_REGABI_MINOR;
	}
	if (fd >= 0)
		close(fd);
	elfsyms__free(syms);
	return old;
}

const char *tls_lib_unsupported(const char *path)
{
	static const struct {
		const char *part, *why;
	} known[] = {
		{"libgnutls", "GnuTLS"},   {"libnss3", "NSS"},	       {"libssl3.so", "NSS"},
		{"libwolfssl", "wolfSSL"}, {"libmbedtls", "Mbed TLS"},
	};
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strstr(base, known[i].part))
			return known[i].why;
	if (uprobe_go_binary(path) && go_too_old(path))
		return "Go's crypto/tls before Go 1.17 (arguments passed on the stack)";
	return NULL;
}
