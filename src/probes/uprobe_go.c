// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "probes/uprobe_go.h"

struct elf_file {
	int fd;
	Elf *elf;
};

static int elf_open(const char *path, struct elf_file *f)
{
	elf_version(EV_CURRENT);
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0)
		return -errno;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		elf_end(f->elf);
		close(f->fd);
		return -EIO;
	}
	return 0;
}

static void elf_close(struct elf_file *f)
{
	elf_end(f->elf);
	close(f->fd);
}

static Elf_Scn *section_named(Elf *elf, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

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

bool uprobe_go_binary(const char *path)
{
	struct elf_file f;
	GElf_Shdr sh;
	bool go;

	if (elf_open(path, &f))
		return false;
	go = section_named(f.elf, ".go.buildinfo", &sh) || section_named(f.elf, ".note.go.buildid", &sh);
	elf_close(&f);
	return go;
}

/* The PT_LOAD segment holding file offset @off: its vaddr - offset delta. */
static int off_to_vaddr(Elf *elf, uint64_t off, uint64_t *vaddr)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (off >= ph.p_offset && off < ph.p_offset + ph.p_filesz) {
			*vaddr = off - ph.p_offset + ph.p_vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

/* The size of the function symbol at @vaddr, from .symtab; 0 if none. */
static uint64_t func_size(Elf *elf, uint64_t vaddr)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(elf, ".symtab", &sh);
	Elf_Data *d;

	if (!scn || !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
		return 0;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		GElf_Sym sym;

		if (!gelf_getsym(d, (int)i, &sym))
			break;
		if (GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_value == vaddr && sym.st_size)
			return sym.st_size;
	}
	return 0;
}

/* A memory operand [r14 + 0x10]: g->stackguard0 in Go's register ABI. */
static bool is_stackguard(const cs_x86_op *op)
{
	return op->type == X86_OP_MEM && op->mem.base == X86_REG_R14 &&
	       op->mem.index == X86_REG_INVALID && op->mem.disp == 0x10;
}

/*
 * Go's stack checks (cmd/internal/obj/x86 stacksplit):
 *   cmp rsp, [r14+16]                         frames up to 128 bytes
 *   lea r12, [rsp-X]; cmp r12, [r14+16]        up to 4 KiB
 *   mov r12, rsp; sub r12, X; jb ..; cmp r12, [r14+16]   larger
 */
static int64_t stack_adj(const cs_insn *in, size_t n)
{
	const cs_x86 *x0, *x1;

	if (n < 2 || !in[0].detail || !in[1].detail)
		return -1;
	x0 = &in[0].detail->x86;
	x1 = &in[1].detail->x86;
	if (in[0].id == X86_INS_CMP && x0->op_count == 2 && x0->operands[0].type == X86_OP_REG &&
	    x0->operands[0].reg == X86_REG_RSP && is_stackguard(&x0->operands[1]))
		return 0;
	if (in[0].id == X86_INS_LEA && x0->op_count == 2 && x0->operands[1].type == X86_OP_MEM &&
	    x0->operands[1].mem.base == X86_REG_RSP && in[1].id == X86_INS_CMP &&
	    x1->op_count == 2 && is_stackguard(&x1->operands[1]))
		return -x0->operands[1].mem.disp;
	if (n >= 4 && in[0].id == X86_INS_MOV && in[1].id == X86_INS_SUB && x1->op_count == 2 &&
	    x1->operands[1].type == X86_OP_IMM && in[3].id == X86_INS_CMP && in[3].detail &&
	    in[3].detail->x86.op_count == 2 && is_stackguard(&in[3].detail->x86.operands[1]))
		return x1->operands[1].imm;
	return -1;
}

int uprobe_go_func(const char *path, uint64_t func_off, struct uprobe_go_func *res)
{
	struct elf_file f;
	uint64_t vaddr, size, *out = NULL;
	size_t nout = 0;
	unsigned char *code = NULL;
	cs_insn *insn = NULL;
	csh cs;
	size_t count;
	int err;

	memset(res, 0, sizeof(*res));
	res->stack_adj = -1;
	err = elf_open(path, &f);
	if (err)
		return err;
	err = off_to_vaddr(f.elf, func_off, &vaddr);
	size = err ? 0 : func_size(f.elf, vaddr);
	elf_close(&f);
	if (!size || size > (16u << 20))
		return -ENOENT;
	code = malloc(size);
	if (!code)
		return -ENOMEM;
	f.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f.fd < 0 || pread(f.fd, code, size, (off_t)func_off) != (ssize_t)size) {
		err = -EIO;
		goto out;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		err = -EIO;
		goto out;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	count = cs_disasm(cs, code, size, func_off, 0, &insn);
	out = calloc(count ? count : 1, sizeof(*out));
	if (!out) {
		err = -ENOMEM;
	} else {
		for (size_t i = 0; i < count; i++)
			if (insn[i].id == X86_INS_RET)
				out[nout++] = insn[i].address;
		res->rets = out;
		res->nrets = nout;
		res->stack_adj = stack_adj(insn, count);
		err = 0;
	}
	cs_free(insn, count);
	cs_close(&cs);
out:
	if (f.fd >= 0)
		close(f.fd);
	free(code);
	return err;
}
