// SPDX-License-Identifier: MIT
/*
 * DWARF unwinding of user stack snapshots, with libdw's CFI parser.
 *
 * Why our own frame loop over dwarf_cfi_addrframe() rather than Dwfl's
 * frame API: the CFI of a file is parsed once and shared by every PID
 * mapping it (Dwfl would hold one copy per PID), a pc without CFI can fall
 * back to a frame-pointer step in the middle of a walk (mixed stacks, JIT
 * code), and each stop is classified (complete, truncated, ...) so the
 * collector can report how good its stacks are.
 *
 * Only the registers an x86-64 walk needs are tracked: the ones a sample
 * carries (ip, sp, bp) and the callee-saved ones CFI may restore from the
 * snapshot (rbx, r12-r15). Caller-saved registers are unknown past the
 * first frame and no CFI for a call site depends on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "base/log.h"
#include "symbols/elfsyms.h"
#include "symbols/procmaps.h"
#include "symbols/unwind.h"

#define DEFAULT_MAX_FILES 256
#define DEFAULT_MAX_PIDS 4096
#define DEFAULT_REREAD_MS 100
/* A file that failed to load is retried after this long (it may be fixed). */
#define FAILED_RETRY_NS 1000000000ULL
#define MAX_SEGS 16
/* Bytes past e_entry still taken as the entry code (glibc's _start: 0x26). */
#define ENTRY_SPAN 64
/* DWARF expression stack depth: CFI expressions are short (PLT: 4 deep). */
#define EVAL_STACK 16

/* x86-64 DWARF register numbers (psABI figure 3.36). */
#define REG_RBX 3
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16 /* the return address column: the caller's rip */
#define NREGS 17

#define OPT(opts, field, def)                                                                     \
	((opts) && (opts)->sz >= offsetof(struct unwinder_opts, field) + sizeof((opts)->field) && \
			 (opts)->field                                                            \
		 ? (opts)->field                                                                  \
		 : (def))

struct file_key {
	uint64_t dev_major, dev_minor, inode;
	int vdso; /* 1: the kernel's vdso image (no device or inode) */
};

struct seg {
	uint64_t off, vaddr, filesz;
};

/* The unwind tables of one mapped file. */
struct cfi_file {
	struct file_key key;
	uint64_t id; /* unique in the unwinder: the frame cache's key */
	struct cfi_file *hnext;
	uint64_t used; /* LRU clock */
	int fd; /* while loading: the tables are read whole, then it is closed */
	void *image; /* vdso: our copy of the image */
	Elf *elf;
	Dwarf_CFI *eh; /* .eh_frame, owned (dwarf_cfi_end) */
	Dwarf *dw;     /* for .debug_frame; owns dbg */
	Dwarf_CFI *dbg;
	Elf *dbg_elf;	 /* dw's: .debug_frame alone (debug_frame_load) */
	void *dbg_image; /* its image */
	struct seg segs[MAX_SEGS];
	int nsegs;
	uint64_t entry; /* e_entry, 0 if none: where a process's first frame is */
	int err; /* loading failed: retry after failed_ns + FAILED_RETRY_NS (-EFBIG: never) */
	uint64_t failed_ns;
	size_t bytes; /* heap its tables take */
};

struct pid_maps {
	pid_t pid;
	struct pid_maps *hnext;
	uint64_t used;
	struct procmaps maps;
	uint64_t read_ns;
};

/*
 * The CFI rules of one address, as libdw computed them: a return address
 * recurs in nearly every stack of a process (the same call sites), and
 * dwarf_cfi_addrframe() searches the FDEs and runs the CIE and FDE
 * programs afresh each time (a quarter of the agent's unwinding). Keyed
 * by the file's id, which table (eh or debug), and the address; a slot of
 * a file since evicted is never read again, only freed when reused (its
 * frame points into the file's CFI, which is gone).
 */
#define FRAME_SLOTS 1024u

struct frame_slot {
	uint64_t key; /* file id << 1 | debug table; 0: empty */
	uint64_t addr;
	Dwarf_Frame *frame; /* NULL: no CFI there */
};

struct unwinder {
	unsigned int max_files, max_pids;
	uint64_t max_bytes, bytes; /* the files' tables: bound (0: none) and total */
	uint64_t next_file_id;
	struct frame_slot *frames; /* FRAME_SLOTS */
	uint64_t reread_ns;
	uint64_t clock;

	struct cfi_file **files;
	size_t nr_file_buckets; /* power of two */
	size_t nr_files;

	struct pid_maps **pids;
	size_t nr_pid_buckets;
	size_t nr_pids;

	struct unwinder_stats stats;
};

/* The registers known in one frame; bit n of valid says r[n] is known. */
struct regs {
	uint64_t r[NREGS];
	uint32_t valid;
};

/* The snapshot: stack bytes [base, base + len). */
struct snap {
	const unsigned char *data;
	uint64_t base;
	size_t len;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p *= 2;
	return p;
}

/* ---- files ---- */

static size_t file_bucket(const struct unwinder *u, const struct file_key *k)
{
	uint64_t h = k->inode * 0x9e3779b97f4a7c15ULL ^ (k->dev_major << 20 | k->dev_minor) ^
		     (uint64_t)k->vdso;

	return (size_t)(h ^ h >> 29) & (u->nr_file_buckets - 1);
}

/* The .debug_frame CFI of debug_frame_load(), and its image. */
static void debug_frame_drop(struct cfi_file *f)
{
	if (f->dw)
		dwarf_end(f->dw);
	if (f->dbg_elf)
		elf_end(f->dbg_elf);
	free(f->dbg_image);
	f->dw = NULL;
	f->dbg = NULL;
	f->dbg_elf = NULL;
	f->dbg_image = NULL;
}

/* Release what a file holds, leaving the (empty) entry. */
static void file_clear(struct cfi_file *f)
{
	if (f->eh)
		dwarf_cfi_end(f->eh);
	debug_frame_drop(f);
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->image);
	f->eh = NULL;
	f->elf = NULL;
	f->fd = -1;
	f->image = NULL;
	f->nsegs = 0;
}

static void file_free(struct cfi_file *f)
{
	if (!f)
		return;
	file_clear(f);
	free(f);
}

/*
 * The file's .debug_frame (or old-style compressed .zdebug_frame): its
 * header in @sh, its name in @name. false if it has none.
 */
static bool debug_frame_scn(Elf *elf, GElf_Shdr *sh, const char **name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, sh) || sh->sh_type != SHT_PROGBITS)
			continue;
		*name = elf_strptr(elf, shstrndx, sh->sh_name);
		if (*name && (!strcmp(*name, ".debug_frame") || !strcmp(*name, ".zdebug_frame")))
			return true;
	}
	return false;
}

/*
 * .debug_frame (Go's only CFI; gcc's under -fno-asynchronous-unwind-tables)
 * through an ELF image of our own holding that section alone: libdw's open
 * loads every debug section of the Elf it is given, all of a -g binary's
 * DWARF (inflated when compressed), where a walk needs this one. The
 * image: the file's ELF header, a section name table, the section's bytes
 * as the file has them (libdw inflates them if compressed), the section
 * headers. Read from the file, as the rest is.
 */
#define DEBUG_FRAME_MAX (256u << 20)

/* 0 with the heap it takes in *@bytes: the image and, compressed, its inflated copy. */
static int debug_frame_load(struct cfi_file *f, size_t *bytes)
{
	static const char names[] = "\0.shstrtab\0.debug_frame\0.zdebug_frame";
	const size_t data_off = (sizeof(Elf64_Ehdr) + sizeof(names) + 7) & ~(size_t)7;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf64_Ehdr *out;
	Elf64_Shdr *shdr;
	const char *name;
	size_t shoff, len;
	struct stat st;
	int err = -EIO;

	if (f->fd < 0 || !debug_frame_scn(f->elf, &sh, &name) || !gelf_getehdr(f->elf, &eh) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_type == ET_REL)
		return -ENOENT;
	if (fstat(f->fd, &st) || sh.sh_size > DEBUG_FRAME_MAX ||
	    sh.sh_offset > (uint64_t)st.st_size || sh.sh_size > (uint64_t)st.st_size - sh.sh_offset)
		return -ENOEXEC;
	shoff = (data_off + sh.sh_size + 7) & ~(size_t)7;
	len = shoff + 3 * sizeof(Elf64_Shdr);
	f->dbg_image = calloc(1, len);
	if (!f->dbg_image)
		return -ENOMEM;
	if (pread(f->fd, (char *)f->dbg_image + data_off, sh.sh_size, (off_t)sh.sh_offset) !=
	    (ssize_t)sh.sh_size)
		goto fail;
	out = f->dbg_image;
	memcpy(out->e_ident, eh.e_ident, EI_NIDENT);
	out->e_type = eh.e_type;
	out->e_machine = eh.e_machine;
	out->e_version = EV_CURRENT;
	out->e_flags = (Elf64_Word)eh.e_flags;
	out->e_ehsize = sizeof(Elf64_Ehdr);
	out->e_shoff = shoff;
	out->e_shentsize = sizeof(Elf64_Shdr);
	out->e_shnum = 3;
	out->e_shstrndx = 1;
	memcpy((char *)f->dbg_image + sizeof(Elf64_Ehdr), names, sizeof(names));
	shdr = (Elf64_Shdr *)((char *)f->dbg_image + shoff);
	shdr[1] = (Elf64_Shdr){.sh_name = 1,
			       .sh_type = SHT_STRTAB,
			       .sh_offset = sizeof(Elf64_Ehdr),
			       .sh_size = sizeof(names),
			       .sh_addralign = 1};
	shdr[2] = (Elf64_Shdr){.sh_name = name[1] == 'z' ? 24 : 11,
			       .sh_type = SHT_PROGBITS,
			       .sh_flags = sh.sh_flags & SHF_COMPRESSED,
			       .sh_offset = data_off,
			       .sh_size = sh.sh_size,
			       .sh_addralign = (sh.sh_flags & SHF_COMPRESSED) ? 8 : 1};
	f->dbg_elf = elf_memory(f->dbg_image, len);
	err = -ENODATA;
	if (f->dbg_elf)
		f->dw = dwarf_begin_elf(f->dbg_elf, DWARF_C_READ, NULL);
	if (f->dw)
		f->dbg = dwarf_getcfi(f->dw);
	if (f->dbg) {
		*bytes = len;
		if (sh.sh_flags & SHF_COMPRESSED)
			*bytes += ((const Elf64_Chdr *)((char *)f->dbg_image + data_off))->ch_size;
		return 0;
	}
fail:
	/* Nothing kept of a table that does not open. */
	debug_frame_drop(f);
	return err;
}

/*
 * The heap @f's .eh_frame and .eh_frame_hdr take, as read. Not counted:
 * what libdw caches as walks look FDEs up.
 */
static size_t eh_frame_bytes(Elf *elf)
{
	size_t shstrndx, total = 0;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".eh_frame") || !strcmp(name, ".eh_frame_hdr"))
			total += sh.sh_size;
	}
	return total;
}

/* Our own vdso: the same image the kernel maps into every 64-bit process. */
static int vdso_copy(void **image, size_t *len)
{
	struct procmaps pm = {0};
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	int err = -ENOENT;

	if (!base)
		return -ENOENT;
	err = procmaps__read(getpid(), &pm);
	if (err)
		return err;
	err = -ENOENT;
	for (size_t i = 0; i < pm.nr; i++) {
		if (strcmp(pm.maps[i].path, "[vdso]"))
			continue;
		*len = pm.maps[i].end - pm.maps[i].start;
		*image = malloc(*len);
		if (!*image) {
			err = -ENOMEM;
			break;
		}
		memcpy(*image, (const void *)base, *len);
		err = 0;
		break;
	}
	procmaps__clear(&pm);
	return err;
}

/*
 * Open the file behind mapping @m of @pid, checking it is the mapped
 * inode: map_files first (the mapping itself, whatever the target did to
 * its paths), then the path through its root. Only regular files, and
 * never blocking: a FIFO put over a path must not hang the collector.
 */
static int open_mapped(pid_t pid, const struct procmap *m, int *fdp)
{
	char path[PATH_MAX + 64];
	struct stat st;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	err = elf_open_regular(path, &fd, NULL);
	if (err && m->path[0] == '/') {
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
		err = elf_open_regular(path, &fd, NULL);
	}
	/* The process is gone: a file on our tree is still there by its path. */
	if (err && m->path[0] == '/' && !strstr(m->path, " (deleted)"))
		err = elf_open_regular(m->path, &fd, NULL);
	if (err)
		return err;
	if (fstat(fd, &st) || st.st_ino != m->inode || major(st.st_dev) != m->dev_major ||
	    minor(st.st_dev) != m->dev_minor) {
		close(fd);
		return -ESTALE;
	}
	*fdp = fd;
	return 0;
}

static int file_load(struct cfi_file *f, pid_t pid, const struct procmap *m)
{
	GElf_Ehdr ehdr;
	size_t phnum, len = 0, dbg_bytes = 0;
	int err;

	if (f->key.vdso) {
		err = vdso_copy(&f->image, &len);
		if (err)
			return err;
		f->elf = elf_memory(f->image, len);
	} else {
		err = open_mapped(pid, m, &f->fd);
		if (err)
			return err;
		/*
		 * Read, never mapped: the file may be the target's, and a
		 * target truncating a file sonde has mapped kills sonde with
		 * SIGBUS on the next walk through its tables.
		 */
		f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	}
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || elf_getphdrnum(f->elf, &phnum))
		return -ENOEXEC;
	if (gelf_getehdr(f->elf, &ehdr))
		f->entry = ehdr.e_entry;
	for (size_t i = 0; i < phnum && f->nsegs < MAX_SEGS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		f->segs[f->nsegs].off = ph.p_offset;
		f->segs[f->nsegs].vaddr = ph.p_vaddr;
		f->segs[f->nsegs].filesz = ph.p_filesz;
		f->nsegs++;
	}
	f->eh = dwarf_getcfi_elf(f->elf);
	err = debug_frame_load(f, &dbg_bytes);
	if (err == -ENOMEM)
		return err;
	if (!f->eh && !f->dbg)
		return -ENODATA;
	/* A vdso's tables are in its copy. */
	f->bytes = f->key.vdso ? len : (f->eh ? eh_frame_bytes(f->elf) : 0) + dbg_bytes;
	/* Both tables were read whole: the descriptor is not needed again. */
	if (f->fd >= 0) {
		elf_cntl(f->elf, ELF_C_FDDONE);
		close(f->fd);
		f->fd = -1;
	}
	return 0;
}

/* Unlink the file at *@pp and free it. */
static void file_drop(struct unwinder *u, struct cfi_file **pp)
{
	struct cfi_file *f = *pp;

	*pp = f->hnext;
	u->bytes -= f->bytes;
	u->nr_files--;
	file_free(f);
}

/* Evict the least recently used file other than @keep; false if there is none. */
static bool file_evict_one(struct unwinder *u, const struct cfi_file *keep)
{
	struct cfi_file **victim = NULL;

	for (size_t b = 0; b < u->nr_file_buckets; b++) {
		for (struct cfi_file **pp = &u->files[b]; *pp; pp = &(*pp)->hnext) {
			if (*pp != keep && (!victim || (*pp)->used < (*victim)->used))
				victim = pp;
		}
	}
	if (!victim)
		return false;
	file_drop(u, victim);
	return true;
}

/*
 * Within max_bytes again after @f loaded: the least recently used files
 * evicted; @f itself, if it does not fit alone, kept as a negative entry
 * never loaded again while cached (its pcs get frame-pointer steps).
 */
static void file_budget(struct unwinder *u, struct cfi_file *f, const char *path)
{
	if (!u->max_bytes)
		return;
	if (f->bytes > u->max_bytes) {
		log_debug("unwind: the tables of '%s' (%zu KiB) do not fit max_bytes (%llu KiB)",
			  path, f->bytes >> 10, (unsigned long long)(u->max_bytes >> 10));
		u->bytes -= f->bytes;
		file_clear(f);
		f->bytes = 0;
		f->err = -EFBIG;
		u->stats.files_oversized++;
		return;
	}
	while (u->bytes > u->max_bytes && file_evict_one(u, f))
		u->stats.budget_evictions++;
}

/* The CFI of the file mapped at @m, loading it on first use; NULL if none. */
static struct cfi_file *file_get(struct unwinder *u, pid_t pid, const struct procmap *m)
{
	struct file_key k = {0};
	struct cfi_file *f;
	size_t b;
	int err;

	if (!strcmp(m->path, "[vdso]"))
		k.vdso = 1;
	else if (!m->inode)
		return NULL; /* anonymous: JIT code, no tables */
	else {
		k.dev_major = m->dev_major;
		k.dev_minor = m->dev_minor;
		k.inode = m->inode;
	}
	b = file_bucket(u, &k);
	for (f = u->files[b]; f; f = f->hnext) {
		if (!memcmp(&f->key, &k, sizeof(k)))
			break;
	}
	if (f) {
		f->used = ++u->clock;
		if (!f->err)
			return f;
		if (f->err == -EFBIG || now_ns() - f->failed_ns < FAILED_RETRY_NS)
			return NULL;
		/* Retry: unlink and load afresh below. */
		for (struct cfi_file **pp = &u->files[b]; *pp; pp = &(*pp)->hnext) {
			if (*pp == f) {
				file_drop(u, pp);
				break;
			}
		}
	}
	if (u->nr_files >= u->max_files)
		file_evict_one(u, NULL);
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = k;
	f->id = ++u->next_file_id;
	f->fd = -1;
	f->used = ++u->clock;
	err = file_load(f, pid, m);
	if (err) {
		/* Keep a negative entry so a broken file is not reopened per sample. */
		file_clear(f);
		f->err = err;
		f->failed_ns = now_ns();
		u->stats.files_failed++;
		log_debug("unwind: no CFI for '%s' of PID %d: %s", m->path, (int)pid,
			  strerror(-err));
	}
	f->hnext = u->files[b];
	u->files[b] = f;
	u->nr_files++;
	u->bytes += f->bytes;
	if (!f->err)
		file_budget(u, f, m->path);
	return f->err ? NULL : f;
}

/* File offset of @pc in mapping @m -> the ELF virtual address CFI uses. */
static int file_vaddr(const struct cfi_file *f, const struct procmap *m, uint64_t pc,
		      uint64_t *vaddr)
{
	uint64_t off = pc - m->start + m->pgoff;

	for (int i = 0; i < f->nsegs; i++) {
		const struct seg *s = &f->segs[i];

		if (off >= s->off && off - s->off < s->filesz) {
			*vaddr = off - s->off + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- PIDs ---- */

static size_t pid_bucket(const struct unwinder *u, pid_t pid)
{
	uint64_t h = (uint64_t)(uint32_t)pid * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (u->nr_pid_buckets - 1);
}

static void pid_free(struct pid_maps *p)
{
	if (!p)
		return;
	procmaps__clear(&p->maps);
	free(p);
}

void unwinder__forget_pid(struct unwinder *u, pid_t pid)
{
	struct pid_maps **pp;

	if (!u)
		return;
	for (pp = &u->pids[pid_bucket(u, pid)]; *pp; pp = &(*pp)->hnext) {
		struct pid_maps *p = *pp;

		if (p->pid == pid) {
			*pp = p->hnext;
			pid_free(p);
			u->nr_pids--;
			return;
		}
	}
}

static void pid_evict_one(struct unwinder *u)
{
	struct pid_maps *victim = NULL;

	for (size_t b = 0; b < u->nr_pid_buckets; b++) {
		for (struct pid_maps *p = u->pids[b]; p; p = p->hnext) {
			if (!victim || p->used < victim->used)
				victim = p;
		}
	}
	if (victim)
		unwinder__forget_pid(u, victim->pid);
}

static int pid_read(struct unwinder *u, struct pid_maps *p)
{
	struct procmaps fresh = {0};
	int err;

	p->read_ns = now_ns();
	u->stats.maps_reads++;
	err = procmaps__read(p->pid, &fresh);
	if (err)
		return err;
	procmaps__clear(&p->maps);
	p->maps = fresh;
	return 0;
}

static struct pid_maps *pid_get(struct unwinder *u, pid_t pid, int *errp)
{
	struct pid_maps *p;
	size_t b = pid_bucket(u, pid);
	int err;

	for (p = u->pids[b]; p; p = p->hnext) {
		if (p->pid == pid)
			break;
	}
	if (p) {
		p->used = ++u->clock;
		return p;
	}
	if (u->nr_pids >= u->max_pids)
		pid_evict_one(u);
	p = calloc(1, sizeof(*p));
	if (!p) {
		*errp = -ENOMEM;
		return NULL;
	}
	p->pid = pid;
	p->used = ++u->clock;
	err = pid_read(u, p);
	if (err) {
		pid_free(p);
		*errp = err == -ENOENT ? -ESRCH : err;
		return NULL;
	}
	p->hnext = u->pids[b];
	u->pids[b] = p;
	u->nr_pids++;
	return p;
}

/* The mapping of @pc, re-reading maps (rate limited) on a miss: dlopen. */
static const struct procmap *pid_find(struct unwinder *u, struct pid_maps *p, uint64_t pc)
{
	const struct procmap *m = procmaps__find(&p->maps, pc);

	if (m || now_ns() - p->read_ns < u->reread_ns)
		return m;
	if (pid_read(u, p))
		return NULL;
	return procmaps__find(&p->maps, pc);
}

int unwinder__prepare_pid(struct unwinder *u, pid_t pid)
{
	struct pid_maps *p;
	bool fresh = true;
	int err = 0;

	for (p = u->pids[pid_bucket(u, pid)]; p; p = p->hnext)
		if (p->pid == pid)
			fresh = false;
	p = pid_get(u, pid, &err);
	if (!p)
		return err;
	if (!fresh) {
		err = pid_read(u, p);
		if (err)
			return err == -ENOENT ? -ESRCH : err;
	}
	for (size_t i = 0; i < p->maps.nr; i++) {
		const struct procmap *m = &p->maps.maps[i];

		if (m->inode || !strcmp(m->path, "[vdso]"))
			file_get(u, pid, m);
	}
	return 0;
}

int unwinder__set_maps(struct unwinder *u, pid_t pid, const char *maps_text, int same)
{
	struct procmaps fresh;
	struct pid_maps *p = NULL;
	size_t b = pid_bucket(u, pid);
	int err = procmaps__parse(maps_text, &fresh);

	if (err)
		return err;
	u->stats.maps_reads++;
	for (p = u->pids[b]; p; p = p->hnext)
		if (p->pid == pid)
			break;
	if (!p) {
		if (u->nr_pids >= u->max_pids)
			pid_evict_one(u);
		p = calloc(1, sizeof(*p));
		if (!p) {
			procmaps__clear(&fresh);
			return -ENOMEM;
		}
		p->pid = pid;
		p->hnext = u->pids[b];
		u->pids[b] = p;
		u->nr_pids++;
	}
	procmaps__clear(&p->maps);
	p->maps = fresh;
	p->read_ns = now_ns();
	p->used = ++u->clock;
	if (same)
		return 0;
	for (size_t i = 0; i < p->maps.nr; i++)
		if (p->maps.maps[i].inode)
			file_get(u, pid, &p->maps.maps[i]);
	return 0;
}

/* ---- the walk ---- */

/* -ERANGE: beyond the top of the snapshot (truncated); -EFAULT: below it. */
static int snap_read(const struct snap *s, uint64_t addr, uint64_t *val)
{
	if (addr < s->base)
		return -EFAULT;
	if (addr - s->base > s->len || s->len - (addr - s->base) < sizeof(*val))
		return -ERANGE;
	memcpy(val, s->data + (addr - s->base), sizeof(*val));
	return 0;
}

/* @n is a file's register number: any 64-bit value (ULEB128). */
static bool reg_known(const struct regs *r, uint64_t n)
{
	return n < NREGS && (r->valid & (1u << n));
}

static void reg_set(struct regs *r, unsigned int n, uint64_t v)
{
	r->r[n] = v;
	r->valid |= 1u << n;
}

/*
 * Evaluate a CFI expression in frame @r. *is_value says whether the result
 * is the register's value (DW_OP_stack_value, DW_OP_regN) or the address
 * where it is saved. -ENOTSUP for operations CFI does not use.
 */
static int eval(const Dwarf_Op *ops, size_t nops, const struct regs *r, const uint64_t *cfa,
		const struct snap *s, uint64_t *out, bool *is_value)
{
	uint64_t st[EVAL_STACK], a, b;
	unsigned int n = 0;
	int err;

	*is_value = false;
	for (size_t i = 0; i < nops; i++) {
		const Dwarf_Op *op = &ops[i];
		uint8_t at = op->atom;

		/* Every operation below pops at most 2 and pushes at most 1. */
		if (n >= EVAL_STACK)
			return -ENOTSUP;
		if (at >= DW_OP_lit0 && at <= DW_OP_lit31) {
			st[n++] = at - DW_OP_lit0;
			continue;
		}
		if (at >= DW_OP_breg0 && at <= DW_OP_breg31) {
			if (!reg_known(r, at - DW_OP_breg0))
				return -ENOTSUP;
			st[n++] = r->r[at - DW_OP_breg0] + op->number;
			continue;
		}
		if (at >= DW_OP_reg0 && at <= DW_OP_reg31) {
			/* A register rule: the caller's value is in this register. */
			if (!reg_known(r, at - DW_OP_reg0) || nops != 1)
				return -ENOTSUP;
			*out = r->r[at - DW_OP_reg0];
			*is_value = true;
			return 0;
		}
		switch (at) {
		case DW_OP_regx:
			if (!reg_known(r, op->number) || nops != 1)
				return -ENOTSUP;
			*out = r->r[op->number];
			*is_value = true;
			return 0;
		case DW_OP_bregx:
			if (!reg_known(r, op->number))
				return -ENOTSUP;
			st[n++] = r->r[op->number] + op->number2;
			break;
		case DW_OP_const1u:
		case DW_OP_const2u:
		case DW_OP_const4u:
		case DW_OP_const8u:
		case DW_OP_constu:
		case DW_OP_const1s:
		case DW_OP_const2s:
		case DW_OP_const4s:
		case DW_OP_const8s:
		case DW_OP_consts:
			/* libdw stores signed constants sign-extended. */
			st[n++] = op->number;
			break;
		case DW_OP_call_frame_cfa:
			if (!cfa)
				return -ENOTSUP;
			st[n++] = *cfa;
			break;
		case DW_OP_dup:
			if (n < 1)
				return -ENOTSUP;
			st[n] = st[n - 1];
			n++;
			break;
		case DW_OP_over:
			if (n < 2)
				return -ENOTSUP;
			st[n] = st[n - 2];
			n++;
			break;
		case DW_OP_drop:
			if (n < 1)
				return -ENOTSUP;
			n--;
			break;
		case DW_OP_swap:
			if (n < 2)
				return -ENOTSUP;
			a = st[n - 1];
			st[n - 1] = st[n - 2];
			st[n - 2] = a;
			break;
		case DW_OP_deref:
			if (n < 1)
				return -ENOTSUP;
			err = snap_read(s, st[n - 1], &st[n - 1]);
			if (err)
				return err;
			break;
		case DW_OP_plus_uconst:
			if (n < 1)
				return -ENOTSUP;
			st[n - 1] += op->number;
			break;
		case DW_OP_neg:
			if (n < 1)
				return -ENOTSUP;
			st[n - 1] = -st[n - 1];
			break;
		case DW_OP_not:
			if (n < 1)
				return -ENOTSUP;
			st[n - 1] = ~st[n - 1];
			break;
		case DW_OP_plus:
		case DW_OP_minus:
		case DW_OP_mul:
		case DW_OP_and:
		case DW_OP_or:
		case DW_OP_xor:
		case DW_OP_shl:
		case DW_OP_shr:
		case DW_OP_shra:
		case DW_OP_eq:
		case DW_OP_ne:
		case DW_OP_lt:
		case DW_OP_le:
		case DW_OP_gt:
		case DW_OP_ge:
			if (n < 2)
				return -ENOTSUP;
			b = st[--n];
			a = st[n - 1];
			switch (at) {
			case DW_OP_plus:
				a += b;
				break;
			case DW_OP_minus:
				a -= b;
				break;
			case DW_OP_mul:
				a *= b;
				break;
			case DW_OP_and:
				a &= b;
				break;
			case DW_OP_or:
				a |= b;
				break;
			case DW_OP_xor:
				a ^= b;
				break;
			case DW_OP_shl:
				a = b < 64 ? a << b : 0;
				break;
			case DW_OP_shr:
				a = b < 64 ? a >> b : 0;
				break;
			case DW_OP_shra:
				a = (uint64_t)((int64_t)a >> (b < 63 ? b : 63));
				break;
			/* Comparisons are signed (DWARF 5, 2.5.1.4). */
			case DW_OP_eq:
				a = a == b;
				break;
			case DW_OP_ne:
				a = a != b;
				break;
			case DW_OP_lt:
				a = (int64_t)a < (int64_t)b;
				break;
			case DW_OP_le:
				a = (int64_t)a <= (int64_t)b;
				break;
			case DW_OP_gt:
				a = (int64_t)a > (int64_t)b;
				break;
			default:
				a = (int64_t)a >= (int64_t)b;
				break;
			}
			st[n - 1] = a;
			break;
		case DW_OP_stack_value:
			*is_value = true;
			break;
		case DW_OP_nop:
			break;
		default:
			return -ENOTSUP;
		}
	}
	if (n < 1)
		return -ENOTSUP;
	*out = st[n - 1];
	return 0;
}

/* Callee-saved registers other than sp and the return address. */
static const unsigned int saved_regs[] = {REG_RBX, REG_RBP, 12, 13, 14, 15};

/*
 * One step with CFI at ELF address @addr: @next gets the caller's
 * registers. -ENOENT when @cfi has no entry for @addr, -ERANGE when a
 * value lies beyond the snapshot. *outermost is set when CFI marks the
 * return address undefined (the end of the chain).
 */
/* The frame of @addr in @f's table @cfi from the cache, or libdw's into it; NULL: none. */
static Dwarf_Frame *frame_get(struct unwinder *u, const struct cfi_file *f, Dwarf_CFI *cfi,
			      uint64_t addr)
{
	uint64_t key = f->id << 1 | (cfi == f->dbg), h = (addr ^ key << 40) * 0x9e3779b97f4a7c15ULL;
	struct frame_slot *sl = &u->frames[(h >> 32) & (FRAME_SLOTS - 1)];
	Dwarf_Frame *frame = NULL;

	if (sl->key == key && sl->addr == addr) {
		u->stats.frame_hits++;
		return sl->frame;
	}
	if (dwarf_cfi_addrframe(cfi, addr, &frame))
		frame = NULL;
	free(sl->frame);
	sl->key = key;
	sl->addr = addr;
	sl->frame = frame;
	return frame;
}

static int step_cfi(struct unwinder *u, const struct cfi_file *f, Dwarf_CFI *cfi, uint64_t addr,
		    const struct regs *cur, struct regs *next, const struct snap *s,
		    bool *outermost, bool *signal)
{
	Dwarf_Frame *frame = frame_get(u, f, cfi, addr);
	Dwarf_Op ops_mem[3], *ops;
	size_t nops;
	uint64_t cfa, v;
	bool is_value;
	int ra, err;

	if (!frame)
		return -ENOENT;
	ra = dwarf_frame_info(frame, NULL, NULL, signal);
	if (ra != REG_RA || dwarf_frame_cfa(frame, &ops, &nops) || !nops) {
		err = -ENOTSUP;
		goto out_frame;
	}
	err = eval(ops, nops, cur, NULL, s, &cfa, &is_value);
	if (err)
		goto out_frame;
	next->valid = 0;
	for (size_t i = 0; i < sizeof(saved_regs) / sizeof(saved_regs[0]); i++) {
		unsigned int reg = saved_regs[i];

		if (dwarf_frame_register(frame, (int)reg, ops_mem, &ops, &nops)) {
			err = -ENOTSUP;
			goto out_frame;
		}
		/*
		 * No rule: "same value", or "undefined" when libdw has no ABI
		 * defaults for the file; both mean untouched for a
		 * callee-saved register.
		 */
		if (!nops) {
			if (reg_known(cur, reg))
				reg_set(next, reg, cur->r[reg]);
			continue;
		}
		err = eval(ops, nops, cur, &cfa, s, &v, &is_value);
		if (!err && !is_value)
			err = snap_read(s, v, &v);
		if (err == -ERANGE)
			goto out_frame;
		/* Unknowable here; only a later frame that needs it fails. */
		if (err)
			continue;
		reg_set(next, reg, v);
	}
	err = 0;
	/* x86-64: the caller's sp is the CFA, by definition. */
	reg_set(next, REG_RSP, cfa);
	if (dwarf_frame_register(frame, REG_RA, ops_mem, &ops, &nops)) {
		err = -ENOTSUP;
		goto out_frame;
	}
	if (!nops) {
		/* Undefined return address: the outermost frame. */
		if (ops)
			*outermost = true;
		else
			err = -ENOTSUP;
		goto out_frame;
	}
	err = eval(ops, nops, cur, &cfa, s, &v, &is_value);
	if (!err && !is_value)
		err = snap_read(s, v, &v);
	if (err)
		goto out_frame;
	reg_set(next, REG_RA, v);

out_frame:
	/* The frame stays in the cache. */
	return err;
}

/* One CFI step at @vaddr of @f: .eh_frame first, then .debug_frame; -ENOENT without either. */
static int step_file(struct unwinder *u, const struct cfi_file *f, uint64_t vaddr,
		     const struct regs *cur, struct regs *next, const struct snap *s,
		     bool *outermost, bool *signal)
{
	int err = -ENOENT;

	if (f->eh)
		err = step_cfi(u, f, f->eh, vaddr, cur, next, s, outermost, signal);
	if (err == -ENOENT && f->dbg)
		err = step_cfi(u, f, f->dbg, vaddr, cur, next, s, outermost, signal);
	return err;
}

/*
 * One step by frame pointer, for code without CFI: [rbp] is the caller's
 * rbp, [rbp + 8] the return address. Only trusted inside the snapshot.
 */
static int step_fp(const struct regs *cur, struct regs *next, const struct snap *s)
{
	uint64_t bp, ra, fp;

	if (!reg_known(cur, REG_RBP) || !reg_known(cur, REG_RSP))
		return -ENOENT;
	fp = cur->r[REG_RBP];
	if (fp < cur->r[REG_RSP] || fp % 8)
		return -ENOENT;
	if (snap_read(s, fp, &bp) || snap_read(s, fp + 8, &ra))
		return -ENOENT;
	next->valid = 0;
	reg_set(next, REG_RBP, bp);
	reg_set(next, REG_RSP, fp + 16);
	reg_set(next, REG_RA, ra);
	return 0;
}

/*
 * Whether the innermost frame, at @pc exactly, unwinds by CFI to a return
 * address in mapped code (unwind_input.at_int3).
 */
static bool leaf_unwinds(struct unwinder *u, pid_t pid, struct pid_maps *p, uint64_t pc,
			 const struct regs *cur, const struct snap *s)
{
	const struct procmap *m = pid_find(u, p, pc);
	struct cfi_file *f = m ? file_get(u, pid, m) : NULL;
	bool outermost = false, signal = false;
	struct regs next;
	uint64_t vaddr;

	if (!f || file_vaddr(f, m, pc, &vaddr))
		return false;
	if (step_file(u, f, vaddr, cur, &next, s, &outermost, &signal) || outermost || signal ||
	    !reg_known(&next, REG_RA))
		return false;
	return procmaps__find(&p->maps, next.r[REG_RA] - 1) != NULL;
}

int unwinder__unwind(struct unwinder *u, pid_t pid, const struct unwind_input *in, uint64_t *ips,
		     unsigned int max, struct unwind_result *res)
{
#if defined(__x86_64__)
	struct snap s = {.data = in->stack, .base = in->sp, .len = in->stack_len};
	struct regs cur = {0}, next;
	struct pid_maps *p;
	bool exact_pc = true; /* the sampled pc, or a signal frame's: no call to step back over */
	unsigned int n = 0;
	int err = 0;

	if (!in->ip || !max)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	p = pid_get(u, pid, &err);
	if (!p) {
		u->stats.no_maps++;
		return err;
	}
	reg_set(&cur, REG_RA, in->ip);
	reg_set(&cur, REG_RSP, in->sp);
	reg_set(&cur, REG_RBP, in->bp);
	/*
	 * Trapped on a uprobe's int3, the probed instruction not run: the
	 * CFI one byte on (after a push, say) reads the return address from
	 * the wrong slot. Where both pcs unwind, the one the thread reported.
	 */
	if (in->at_int3 && !leaf_unwinds(u, pid, p, in->ip, &cur, &s) &&
	    leaf_unwinds(u, pid, p, in->ip - 1, &cur, &s)) {
		reg_set(&cur, REG_RA, in->ip - 1);
		u->stats.int3_pcs++;
	}
	res->end = UNWIND_END_DEPTH;
	while (n < max) {
		uint64_t pc = cur.r[REG_RA];
		/* A return address follows its call: look up the call itself. */
		uint64_t lookup = exact_pc ? pc : pc - 1;
		const struct procmap *m;
		struct cfi_file *f = NULL;
		bool outermost = false, signal = false;
		uint64_t vaddr;

		ips[n++] = pc;
		if (n == max)
			break;
		err = -ENOENT;
		m = pid_find(u, p, lookup);
		if (m)
			f = file_get(u, pid, m);
		if (f && !file_vaddr(f, m, lookup, &vaddr)) {
			err = step_file(u, f, vaddr, &cur, &next, &s, &outermost, &signal);
			/*
			 * The entry point (ld.so's _start has no CFI): the first
			 * frame of the process, so the walk is complete.
			 */
			if (err == -ENOENT && f->entry && vaddr - f->entry < ENTRY_SPAN) {
				res->end = UNWIND_END_COMPLETE;
				break;
			}
		}
		if (err == -ERANGE) {
			res->end = UNWIND_END_TRUNCATED;
			break;
		}
		if (!err) {
			res->cfi_frames++;
		} else {
			err = step_fp(&cur, &next, &s);
			if (err) {
				res->end = err == -ENOTSUP ? UNWIND_END_BAD : UNWIND_END_NO_INFO;
				break;
			}
			res->fp_frames++;
		}
		if (outermost || !next.r[REG_RA]) {
			res->end = UNWIND_END_COMPLETE;
			break;
		}
		/* The stack grows down: a caller's frame is above its callee's. */
		if (next.r[REG_RSP] <= cur.r[REG_RSP] && !signal) {
			res->end = UNWIND_END_BAD;
			break;
		}
		exact_pc = signal;
		cur = next;
	}
	u->stats.stacks++;
	u->stats.ends[res->end]++;
	u->stats.cfi_frames += res->cfi_frames;
	u->stats.fp_frames += res->fp_frames;
	return (int)n;
#else
	return -EOPNOTSUPP;
#endif
}

struct unwinder *unwinder__new(const struct unwinder_opts *opts)
{
	struct unwinder *u;

	elf_version(EV_CURRENT);
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->max_files = OPT(opts, max_files, DEFAULT_MAX_FILES);
	u->max_pids = OPT(opts, max_pids, DEFAULT_MAX_PIDS);
	u->max_bytes = OPT(opts, max_bytes, 0);
	u->reread_ns = (uint64_t)OPT(opts, maps_reread_interval_ms, DEFAULT_REREAD_MS) * 1000000;
	u->nr_file_buckets = pow2_at_least(u->max_files);
	u->nr_pid_buckets = pow2_at_least(u->max_pids);
	u->files = calloc(u->nr_file_buckets, sizeof(*u->files));
	u->pids = calloc(u->nr_pid_buckets, sizeof(*u->pids));
	u->frames = calloc(FRAME_SLOTS, sizeof(*u->frames));
	if (!u->files || !u->pids || !u->frames)
		goto err_free;
	return u;

err_free:
	unwinder__free(u);
	return NULL;
}

/* Every cached file and the frames computed from its tables. */
static void files_drop(struct unwinder *u)
{
	for (size_t b = 0; u->files && b < u->nr_file_buckets; b++) {
		while (u->files[b]) {
			struct cfi_file *f = u->files[b];

			u->files[b] = f->hnext;
			file_free(f);
		}
	}
	u->nr_files = 0;
	u->bytes = 0;
	for (size_t i = 0; u->frames && i < FRAME_SLOTS; i++) {
		free(u->frames[i].frame);
		u->frames[i] = (struct frame_slot){0};
	}
}

void unwinder__shrink(struct unwinder *u)
{
	if (u)
		files_drop(u);
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	files_drop(u);
	for (size_t b = 0; u->pids && b < u->nr_pid_buckets; b++) {
		while (u->pids[b]) {
			struct pid_maps *p = u->pids[b];

			u->pids[b] = p->hnext;
			pid_free(p);
		}
	}
	free(u->frames);
	free(u->files);
	free(u->pids);
	free(u);
}

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *st)
{
	*st = u->stats;
	st->files_cached = u->nr_files;
	st->bytes = u->bytes;
}
