// SPDX-License-Identifier: MIT
/*
 * libFuzzer targets of the parsers of files a profiled target controls
 * (sonde reads them as root) and of the saved profiles `sonde report` and
 * `sonde diff` read, one binary: FUZZ_TARGET picks the parser.
 *
 *   elf       elfsyms__open_mem() on the input, then every accessor
 *   gopclntab the input as a file: gopclntab__open() and every function,
 *             lookups of their names, go_buildinfo_version()
 *   unwind    the input's tail as an ELF file mapped executable in this
 *             process, unwound through the unwinder's file API (its CFI
 *             parsed by libdw, evaluated by us) from registers and a stack
 *             snapshot taken from the input's head
 *   dwarf     dwarf_lines__open_mem() on the input, lookups in each of its
 *             symbols (start, start + 1, middle) and at addresses from its head
 *   procmaps  procmaps__parse() of the input as /proc/PID/maps text
 *   perfmap   the input as /tmp/perf-PID.map: perfmap__refresh(), fed
 *             again in input-chosen pieces, the file cut short, lookups
 *   pprof     pprof__read() of the input as a decompressed profile
 *   folded    folded__read() of the input as folded stacks
 *   load      profile_load() of the input as a file (gzip, sniffing)
 *
 * Checks beyond "no crash, no leak, no UB": a symbol found by address or
 * name is the one asked for, lookups agree with the tables they search,
 * a perf map fed piece by piece reads as it does whole. Log lines are
 * formatted (their arguments are checked) and dropped: the fuzzers would
 * spend their time writing them.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "export/folded_read.h"
#include "export/load.h"
#include "export/pprof_read.h"
#include "model/profile.h"
#include "symbols/dwarf_lines.h"
#include "symbols/elfsyms.h"
#include "symbols/gopclntab.h"
#include "symbols/perfmap.h"
#include "symbols/procmaps.h"
#include "symbols/unwind.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *target = "elf";
/* The file the file-reading targets read, rewritten for each input. */
static char scratch[64];

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];

	vsnprintf(buf, sizeof(buf), fmt, ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static void scratch_remove(void)
{
	unlink(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("FUZZ_TARGET"), *dir = getenv("TMPDIR");
	int fd;

	if (t)
		target = t;
	/*
	 * tmpfs first: ext4 flushes a truncated file on close, which cost
	 * 1.5 ms of each run.
	 */
	if (!access("/dev/shm", W_OK))
		dir = "/dev/shm";
	else if (!dir || !*dir || strlen(dir) > sizeof(scratch) - 20)
		dir = "/tmp";
	snprintf(scratch, sizeof(scratch), "%s/sonde-fuzz-XXXXXX", dir);
	fd = mkstemp(scratch);
	if (fd < 0) {
		perror("fuzz: mkstemp");
		exit(1);
	}
	close(fd);
	atexit(scratch_remove);
	return 0;
}

static void scratch_write(const uint8_t *p, size_t n)
{
	int fd = open(scratch, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n)) {
		perror("fuzz: write scratch file");
		abort();
	}
	close(fd);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool verbose(void)
{
	static int v = -1;

	if (v < 0)
		v = getenv("FUZZ_VERBOSE") != NULL;
	return v;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz: %s: %s\n", target, what);
		abort();
	}
}

/* ---- elf ---- */

static void elf_lookups(const struct elfsyms *e, uint64_t addr)
{
	const struct elfsym *s = elfsyms__find(e, addr);
	uint64_t v, off;

	check(!s || (addr >= s->addr && addr - s->addr < s->size), "find outside the symbol");
	if (!elfsyms__vaddr_to_off(e, addr, &off)) {
		check(!elfsyms__off_to_vaddr(e, off, &v), "vaddr_to_off without its inverse");
	}
	elfsyms__off_to_vaddr(e, addr, &v);
}

static void fuzz_elf(const uint8_t *p, size_t n)
{
	struct elfsyms *e = elfsyms__open_mem(p, n);
	const char *id, *link;
	uint32_t crc = 0;
	size_t i, count;

	if (!e)
		return;
	count = elfsyms__count(e);
	check(!elfsyms__at(e, count), "at(count) is a symbol");
	for (i = 0; i < count; i++) {
		const struct elfsym *s = elfsyms__at(e, i), *f;

		check(s && s->name && *s->name, "at() without a name");
		check(!i || elfsyms__at(e, i - 1)->addr < s->addr, "symbols out of order");
		f = elfsyms__by_name(e, s->name);
		check(f && !strcmp(f->name, s->name), "by_name misses a symbol's name");
		if (s->size)
			check(elfsyms__find(e, s->addr) == s, "find misses a symbol's start");
		elf_lookups(e, s->addr - 1);
		elf_lookups(e, s->addr + s->size);
	}
	check(!elfsyms__by_name(e, ""), "by_name finds \"\"");
	for (i = 0; i + 8 <= n && i < 256; i += 8)
		elf_lookups(e, le64(p + i));
	id = elfsyms__build_id(e);
	if (id)
		check(strlen(id) % 2 == 0 && strspn(id, "0123456789abcdef") == strlen(id),
		      "build-id not lower-case hex");
	link = elfsyms__debuglink(e, &crc);
	if (link)
		check(*link && !strchr(link, '/'), "debuglink empty or with a '/'");
	check(elfsyms__source(e) <= ELFSYMS_SRC_DEBUG_FILE, "source out of range");
	if (verbose())
		fprintf(stderr, "elf: %zu symbols, source %d, build-id %s, debuglink %s\n", count,
			elfsyms__source(e), id ? id : "-", link ? link : "-");
	elfsyms__is_dyn(e);
	elfsyms__is_exec(e);
	elfsyms__has_dwarf(e);
	elfsyms__free(e);
}

/* ---- dwarf ---- */

/* Where string lengths go, so reading the strings is not optimized out. */
static volatile size_t sink;

static void dwarf_lookup(struct dwarf_lines *d, uint64_t addr)
{
	struct dwarf_line_frame frames[4];
	int r = dwarf_lines__lookup(d, addr, frames, 4);

	check(r <= 4, "more frames than asked for");
	for (int i = 0; i < r; i++) {
		/* Strings must be readable (ASan checks). */
		if (frames[i].name)
			sink += strlen(frames[i].name);
		if (frames[i].file)
			sink += strlen(frames[i].file);
	}
	if (verbose())
		fprintf(stderr, "dwarf: %#llx: %d frames, %s at %s:%u\n", (unsigned long long)addr,
			r, r > 0 && frames[0].name ? frames[0].name : "-",
			r > 0 && frames[0].file ? frames[0].file : "-", r > 0 ? frames[0].line : 0);
}

static void fuzz_dwarf(const uint8_t *p, size_t n)
{
	struct dwarf_lines *d = dwarf_lines__open_mem(p, n);
	struct elfsyms *e;

	if (!d)
		return;
	e = elfsyms__open_mem(p, n);
	for (size_t i = 0; e && i < elfsyms__count(e) && i < 64; i++) {
		const struct elfsym *s = elfsyms__at(e, i);

		dwarf_lookup(d, s->addr);
		dwarf_lookup(d, s->addr + 1);
		dwarf_lookup(d, s->addr + s->size / 2);
	}
	for (size_t i = 0; i + 8 <= n && i < 64; i += 8)
		dwarf_lookup(d, le64(p + i));
	elfsyms__free(e);
	dwarf_lines__free(d);
}

/* ---- gopclntab ---- */

/* The bytes of the first section called @name, as libelf has them for @elf. */
static bool section_data(Elf *elf, const char *name, const char **start, size_t *len)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!n || strcmp(n, name))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return false;
		*start = d->d_buf;
		*len = d->d_size;
		return true;
	}
	return false;
}

/*
 * Over a copy in memory: every name must end inside the section, which
 * ASan alone cannot see (the section's neighbours are readable bytes).
 */
static void gopclntab_in_section(const uint8_t *p, size_t n)
{
	struct gopclntab *t;
	const char *sec;
	size_t len;
	void *copy;
	Elf *elf = elf_memory_copy(p, n, &copy);

	if (!elf)
		return;
	if (!gopclntab__open_elf(elf, &t)) {
		check(section_data(elf, ".gopclntab", &sec, &len) ||
			      section_data(elf, ".data.rel.ro.gopclntab", &sec, &len),
		      "a table without its section");
		for (size_t i = 0; i < gopclntab__count(t); i++) {
			const char *name;
			uint64_t a, sz;

			if (gopclntab__func(t, i, &name, &a, &sz))
				continue;
			check(name >= sec && name < sec + len &&
				      (size_t)(name - sec) + strlen(name) < len,
			      "a name outside the section");
		}
		gopclntab__free(t);
	}
	elf_end(elf);
	free(copy);
}

static void fuzz_gopclntab(const uint8_t *p, size_t n)
{
	struct gopclntab *t = NULL;
	size_t i, count, ok = 0;
	char version[64];
	int fd, r;

	scratch_write(p, n);
	fd = open(scratch, O_RDONLY | O_CLOEXEC);
	check(fd >= 0, "cannot open the scratch file");
	r = gopclntab__open(fd, &t);
	check(!r == !!t, "open: a table exactly on success");
	check(r == 0 || r == -ENOENT || r == -ENOTSUP || r == -EIO || r == -ENOMEM,
	      "open: an error outside its contract");
	/* A buffer too short for real versions: -ERANGE, and still a string. */
	r = go_buildinfo_version(fd, version, 5);
	check(r ? !*version : strlen(version) < 5, "version: past a 5-byte buffer");
	r = go_buildinfo_version(fd, version, sizeof(version));
	check(r == 0 || r == -ENOENT || r == -EIO || r == -ERANGE,
	      "version: an error outside its contract");
	check(strlen(version) < sizeof(version) && (!r || !*version), "version: not a string");
	close(fd);
	if (!t)
		return;
	count = gopclntab__count(t);
	for (i = 0; i < count; i++) {
		const char *name;
		uint64_t a, sz, fa, fsz;

		if (gopclntab__func(t, i, &name, &a, &sz))
			continue;
		check(*name && a + sz >= a, "func: empty name or size past 2^64");
		sink += strlen(name);
		/* Found by its name (the first 64: find is a linear scan). */
		if (ok++ < 64)
			check(!gopclntab__find(t, name, &fa, &fsz),
			      "find misses a function's name");
	}
	check(gopclntab__func(t, count, &(const char *){NULL}, &(uint64_t){0}, &(uint64_t){0}) ==
		      -EINVAL,
	      "func(count) is a function");
	if (verbose())
		fprintf(stderr, "gopclntab: %zu functions, %zu readable, version %s\n", count, ok,
			*version ? version : "-");
	gopclntab__free(t);
	gopclntab_in_section(p, n);
}

/* ---- unwind ---- */

/*
 * Where the ELF is mapped and where the snapshot claims to be: fixed, so
 * a seed's stack can hold return addresses into the file.
 */
#define MAP_BASE 0x5a0000000000ull
#define STACK_BASE 0x7ff000000000ull
#define UNWIND_HEAD 12
#define UNWIND_MAX_STACK 2048

/*
 * [u16 pc offset into the mapping][u16 stack length][u64 bp][stack][ELF]:
 * sp is STACK_BASE, the snapshot [sp, sp + length).
 */
static void fuzz_unwind(const uint8_t *p, size_t n)
{
	struct unwind_input in = {.sp = STACK_BASE};
	struct unwinder_opts o = {.sz = sizeof(o), .max_files = 4, .max_pids = 4};
	struct unwind_result res;
	uint64_t ips[64];
	size_t slen, elen, mlen, pg = (size_t)sysconf(_SC_PAGESIZE);
	struct unwinder *u;
	void *map;
	int fd, r;

	if (n < UNWIND_HEAD)
		return;
	slen = (size_t)(p[2] | p[3] << 8) % (UNWIND_MAX_STACK + 1);
	if (slen > n - UNWIND_HEAD)
		slen = n - UNWIND_HEAD;
	elen = n - UNWIND_HEAD - slen;
	if (!elen)
		return;
	in.ip = MAP_BASE + (uint64_t)(p[0] | p[1] << 8);
	in.bp = le64(p + 4);
	in.stack = p + UNWIND_HEAD;
	in.stack_len = slen;
	scratch_write(p + UNWIND_HEAD + slen, elen);
	fd = open(scratch, O_RDONLY | O_CLOEXEC);
	check(fd >= 0, "cannot open the scratch file");
	/* At least 64 KiB mapped: any u16 pc offset falls inside. */
	mlen = (elen + pg - 1) / pg * pg;
	if (mlen < 65536)
		mlen = 65536;
	map = mmap((void *)MAP_BASE, mlen, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED_NOREPLACE,
		   fd, 0);
	close(fd);
	check(map == (void *)MAP_BASE, "cannot map the ELF file at MAP_BASE");
	u = unwinder__new(&o);
	check(u, "unwinder__new");
	r = unwinder__unwind(u, getpid(), &in, ips, 64, &res);
	check(r >= 1 && r <= 64 && ips[0] == in.ip && res.end < UNWIND_END_NR,
	      "unwind result out of range");
	check(res.cfi_frames + res.fp_frames <= (unsigned int)r, "more steps than frames");
	/* FUZZ_VERBOSE=1 with a seed shows its walk (checking a new seed). */
	if (verbose()) {
		fprintf(stderr, "unwind: end %d, %u cfi + %u fp steps:", res.end, res.cfi_frames,
			res.fp_frames);
		for (int i = 0; i < r; i++)
			fprintf(stderr, " %#llx", (unsigned long long)(ips[i] - MAP_BASE));
		fputc('\n', stderr);
	}
	unwinder__free(u);
	munmap(map, mlen);
}

/* ---- procmaps ---- */

static void fuzz_procmaps(const uint8_t *p, size_t n)
{
	char *text = malloc(n + 1);
	struct procmaps m;
	size_t i;
	int r;

	check(text, "malloc");
	memcpy(text, p, n);
	text[n] = '\0';
	r = procmaps__parse(text, &m);
	if (verbose())
		fprintf(stderr, "procmaps: %d, %zu executable mappings\n", r, m.nr);
	if (!r) {
		for (i = 0; i < m.nr; i++) {
			const struct procmap *f;

			check(m.maps[i].start <= m.maps[i].end && m.maps[i].path, "bad mapping");
			check(!i || m.maps[i - 1].start <= m.maps[i].start, "maps out of order");
			/*
			 * Only the kernel writes maps: mappings never overlap
			 * there, and where they do here, find() may miss one.
			 */
			f = procmaps__find(&m, m.maps[i].start);
			check(!f || (f->start <= m.maps[i].start && m.maps[i].start < f->end),
			      "find outside the mapping");
			f = procmaps__find(&m, m.maps[i].end);
			check(!f || (f->start <= m.maps[i].end && m.maps[i].end < f->end),
			      "find outside the mapping");
		}
		procmaps__clear(&m);
	} else {
		check(!m.nr && !m.maps, "failed parse left mappings");
	}
	free(text);
}

/* ---- perfmap ---- */

static void perfmap_lookups(struct perfmap *pm, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n && i < 512; i += 8) {
		uint64_t a = le64(p + i);
		const struct perfmap_entry *e = perfmap__find(pm, a);

		check(!e || (a >= e->start && a - e->start < e->size && e->name),
		      "find outside the entry");
	}
	perfmap__find(pm, 0);
	perfmap__find(pm, UINT64_MAX);
}

/* The first byte bounds the entries kept (0: the default) and cuts the pieces. */
static void fuzz_perfmap(const uint8_t *p, size_t n)
{
	struct perfmap *whole, *pieces;
	size_t max, i, k;
	int r;

	if (!n)
		return;
	max = p[0] & 0x80 ? (size_t)(p[0] & 0x7f) : 0;
	scratch_write(p + 1, n - 1);
	whole = perfmap__new(scratch, max);
	pieces = perfmap__new(NULL, max);
	check(whole && pieces, "perfmap__new");
	r = perfmap__refresh(whole);
	check(r == (perfmap__count(whole) > 0), "refresh: 1 exactly when entries were read");
	if (verbose())
		fprintf(stderr, "perfmap: %zu entries, %llu bad lines, %llu dropped\n",
			perfmap__count(whole), (unsigned long long)perfmap__bad_lines(whole),
			(unsigned long long)perfmap__dropped(whole));
	check(perfmap__refresh(whole) == 0, "second refresh changed entries");
	for (i = 1; i < n; i += k) {
		k = (size_t)(p[i] % 97) + 1;
		if (k > n - i)
			k = n - i;
		check(!perfmap__feed(pieces, (const char *)p + i, k), "perfmap__feed");
	}
	check(perfmap__count(pieces) == perfmap__count(whole) &&
		      perfmap__bad_lines(pieces) == perfmap__bad_lines(whole) &&
		      perfmap__dropped(pieces) == perfmap__dropped(whole),
	      "pieces read differently from the whole file");
	perfmap_lookups(whole, p + 1, n - 1);
	/* Cut short: read again from the start. */
	scratch_write(p + 1, (n - 1) / 2);
	r = perfmap__refresh(whole);
	check(r == (n > 1), "refresh after a cut: 1 (started over) unless the file was empty");
	perfmap_lookups(whole, p + 1, n - 1);
	perfmap__free(whole);
	perfmap__free(pieces);
}

/* ---- saved profiles ---- */

/* pprof, folded or load (the file, gzipped or not, either format). */
static void fuzz_profile(const uint8_t *p, size_t n)
{
	struct profile *pr = profile__new();
	uint64_t samples;
	int r;

	check(pr, "profile__new");
	if (!strcmp(target, "pprof")) {
		struct pprof_read_info info;

		r = pprof__read(p, n, "fuzz.pb", n && p[0] & 1 ? "cpu" : NULL, pr, &info);
		samples = info.samples;
		check(r || samples <= n, "more samples than bytes");
	} else if (!strcmp(target, "folded")) {
		struct folded_read_info info;

		r = folded__read((const char *)p, n, "fuzz.folded", pr, &info);
		samples = info.lines;
		check(r || (samples <= n && profile__total(pr) == info.samples),
		      "the profile's total is not the lines' sum");
	} else {
		struct profile_load_info info;

		scratch_write(p, n);
		r = profile_load(scratch, NULL, pr, &info);
		samples = info.samples;
	}
	if (verbose())
		fprintf(stderr, "%s: %d, %llu samples (lines), total %llu\n", target, r,
			(unsigned long long)samples, (unsigned long long)profile__total(pr));
	profile__free(pr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!strcmp(target, "elf"))
		fuzz_elf(data, size);
	else if (!strcmp(target, "gopclntab"))
		fuzz_gopclntab(data, size);
	else if (!strcmp(target, "dwarf"))
		fuzz_dwarf(data, size);
	else if (!strcmp(target, "unwind"))
		fuzz_unwind(data, size);
	else if (!strcmp(target, "procmaps"))
		fuzz_procmaps(data, size);
	else if (!strcmp(target, "perfmap"))
		fuzz_perfmap(data, size);
	else if (!strcmp(target, "pprof") || !strcmp(target, "folded") || !strcmp(target, "load"))
		fuzz_profile(data, size);
	else
		check(false, "unknown FUZZ_TARGET");
	return 0;
}
