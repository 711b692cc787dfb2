// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>

#include "probes/uprobe_go.h"
#include "symbols/elfsyms.h"
#include "symbols/gopclntab.h"

bool uprobe_go_binary(const char *path)
{
	bool go;
	int fd;

	/* A regular file only, never blocking on a FIFO put in a binary's place. */
	if (elf_open_regular(path, &fd, NULL))
		return false;
	go = go_executable(fd);
	close(fd);
	return go;
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
 * The adjustment X, and in *@jcc the index of the first conditional jump
 * (the jbe after the compare, or the jb of the third form); -1 for both
 * when the prologue is none of these.
 */
static int64_t stack_adj(const cs_insn *in, size_t n, ssize_t *jcc)
{
	const cs_x86 *x0, *x1;

	*jcc = -1;
	if (n < 3 || !in[0].detail || !in[1].detail)
		return -1;
	x0 = &in[0].detail->x86;
	x1 = &in[1].detail->x86;
	if (in[0].id == X86_INS_CMP && x0->op_count == 2 && x0->operands[0].type == X86_OP_REG &&
	    x0->operands[0].reg == X86_REG_RSP && is_stackguard(&x0->operands[1])) {
		*jcc = in[1].id == X86_INS_JBE ? 1 : -1;
		return 0;
	}
	if (in[0].id == X86_INS_LEA && x0->op_count == 2 && x0->operands[1].type == X86_OP_MEM &&
	    x0->operands[1].mem.base == X86_REG_RSP && in[1].id == X86_INS_CMP &&
	    x1->op_count == 2 && is_stackguard(&x1->operands[1])) {
		*jcc = in[2].id == X86_INS_JBE ? 2 : -1;
		return -x0->operands[1].mem.disp;
	}
	if (n >= 5 && in[0].id == X86_INS_MOV && in[1].id == X86_INS_SUB && x1->op_count == 2 &&
	    x1->operands[1].type == X86_OP_IMM && in[3].id == X86_INS_CMP && in[3].detail &&
	    in[3].detail->x86.op_count == 2 && is_stackguard(&in[3].detail->x86.operands[1])) {
		*jcc = in[2].id == X86_INS_JB ? 2 : -1;
		return x1->operands[1].imm;
	}
	return -1;
}

/* mov [rsp+X], rax: X, or -1 for another instruction. */
static int64_t rax_store(const cs_insn *in)
{
	const cs_x86 *x = in->detail ? &in->detail->x86 : NULL;

	if (in->id != X86_INS_MOV || !x || x->op_count != 2 || x->operands[0].type != X86_OP_MEM ||
	    x->operands[0].mem.base != X86_REG_RSP || x->operands[0].mem.index != X86_REG_INVALID ||
	    x->operands[0].size != 8 || x->operands[1].type != X86_OP_REG ||
	    x->operands[1].reg != X86_REG_RAX)
		return -1;
	return x->operands[0].mem.disp;
}

/*
 * Where the prologue from instruction @from spills the first argument
 * (RAX): Go's register ABI gives it the slot just above the return
 * address, SP at entry + 8, so a store of RAX there counts once the frame
 * (its pushes and its sub rsp, N) is taken off, before any call. The
 * displacement from the body's SP, or -1.
 */
static int64_t rax_spill(const cs_insn *in, size_t n, size_t from)
{
	int64_t frame = 0, disp;

	for (size_t i = from; i < n && i < from + 32; i++) {
		const cs_x86 *x = in[i].detail ? &in[i].detail->x86 : NULL;

		if (in[i].id == X86_INS_CALL || !x)
			return -1;
		if (in[i].id == X86_INS_PUSH)
			frame += 8;
		else if (in[i].id == X86_INS_SUB && x->op_count == 2 &&
			 x->operands[0].type == X86_OP_REG && x->operands[0].reg == X86_REG_RSP &&
			 x->operands[1].type == X86_OP_IMM)
			frame += x->operands[1].imm;
		else if ((disp = rax_store(&in[i])) >= 0)
			return disp == frame + 8 ? disp : -1;
	}
	return -1;
}

int uprobe_go_scan(int fd, uint64_t func_off, uint64_t size, uint64_t call_target,
		   struct uprobe_go_func *res)
{
	size_t count, nrets = 0, ncalls = 0;
	unsigned char *code;
	cs_insn *insn = NULL;
	ssize_t jcc;
	csh cs;
	int err = 0;

	memset(res, 0, sizeof(*res));
	res->stack_adj = -1;
	res->rax_spill = -1;
	res->entry_probe = func_off;
	if (!size || size > (16u << 20))
		return -ENOENT;
	code = malloc(size);
	if (!code)
		return -ENOMEM;
	if (pread(fd, code, size, (off_t)func_off) != (ssize_t)size) {
		free(code);
		return -EIO;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		free(code);
		return -EIO;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	/* Addresses are file offsets: a direct call's target is one too. */
	count = cs_disasm(cs, code, size, func_off, 0, &insn);
	res->rets = calloc(count ? count : 1, sizeof(*res->rets));
	res->calls = calloc(count ? count : 1, sizeof(*res->calls));
	if (!res->rets || !res->calls) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const cs_x86 *x = insn[i].detail ? &insn[i].detail->x86 : NULL;

		if (insn[i].id == X86_INS_RET)
			res->rets[nrets++] = insn[i].address;
		if (insn[i].id == X86_INS_CALL && call_target && x && x->op_count == 1 &&
		    x->operands[0].type == X86_OP_IMM &&
		    (uint64_t)x->operands[0].imm == call_target)
			res->calls[ncalls++] = insn[i].address;
	}
	res->nrets = nrets;
	res->ncalls = ncalls;
	res->stack_adj = stack_adj(insn, count, &jcc);
	if (jcc >= 0) {
		res->entry_probe = insn[jcc].address;
		res->rax_spill = rax_spill(insn, count, (size_t)jcc + 1);
	}
out:
	if (err)
		uprobe_go_func_free(res);
	cs_free(insn, count);
	cs_close(&cs);
	free(code);
	return err;
}

void uprobe_go_func_free(struct uprobe_go_func *f)
{
	free(f->rets);
	free(f->calls);
	f->rets = f->calls = NULL;
}

int uprobe_go_func(const char *path, uint64_t func_off, struct uprobe_go_func *res)
{
	struct elfsyms *syms;
	const struct elfsym *s;
	uint64_t vaddr;
	int fd, err;

	memset(res, 0, sizeof(*res));
	res->stack_adj = -1;
	err = elf_open_regular(path, &fd, NULL);
	if (err)
		return err;
	syms = elfsyms__open(path);
	if (!syms) {
		close(fd);
		return -EIO;
	}
	/* Its size: from .symtab or, in a stripped program, Go's own function table. */
	if (elfsyms__off_to_vaddr(syms, func_off, &vaddr) || !(s = elfsyms__find(syms, vaddr)) ||
	    s->addr != vaddr)
		err = -ENOENT;
	else
		err = uprobe_go_scan(fd, func_off, s->size, 0, res);
	elfsyms__free(syms);
	close(fd);
	return err;
}
