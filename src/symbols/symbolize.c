// SPDX-License-Identifier: MIT
/*
 * The symbolizer: user addresses through the PID's executable mappings and
 * the mapped file's symbol table, kernel addresses through kallsyms.
 *
 * Two caches with their own bounds: process maps per PID (opts->max_pids)
 * and symbol tables per file, keyed by the (device, inode) that maps shows
 * (opts->max_files), so every process mapping one libc shares it. Both are
 * LRU. Strings handed out are interned in a pool that outlives evictions,
 * which keeps the promise that result strings live until symbolizer__free();
 * the pool grows only with the distinct names actually resolved.
 *
 * Over both, a byte budget (opts->max_bytes): every cached object records
 * the heap it holds (a file's symbol table, its open DWARF, a PID's maps
 * and perf map) in one running total. A load that takes the total past
 * the budget evicts the least recently used objects of any kind, except
 * the file and PID the current call works on; what that call needs but
 * cannot fit even alone is dropped (counted, logged once) and its
 * addresses get what is known without it.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "symbols/debuginfo.h"
#include "symbols/demangle.h"
#include "symbols/dwarf_lines.h"
#include "symbols/elfsyms.h"
#include "base/log.h"
#include "symbols/perfmap.h"
#include "symbols/procmaps.h"
#include "base/strpool.h"
#include "symbols/symbolize.h"

#define DEFAULT_MAX_FILES 256
#define DEFAULT_MAX_PIDS 4096
#define DEFAULT_REREAD_BURST 4
#define DEFAULT_REREAD_INTERVAL_MS 100
#define DEFAULT_MAX_DWARF_FILES 8
/* A perf map that answered is still checked for new lines this often. */
#define PERFMAP_RECHECK_NS 100000000ULL
/* A file that failed to load is retried after this long (another PID may see it). */
#define FAILED_RETRY_NS 1000000000ULL
/* Distinct vdso images kept (one per kernel ABI: 64-bit, 32-bit, x32). */
#define MAX_VDSO_IMAGES 4
#define MAX_VDSO_SIZE (1 << 20)
#define DELETED_SUFFIX " (deleted)"
#define KERNEL_MODULE "[kernel.kallsyms]"
#define ANON_MODULE "//anon"

/* Read an opts field only when the caller's struct is new enough to have it. */
#define OPT(opts, field, def)                                                    \
	((opts) &&                                                               \
			 (opts)->sz >= offsetof(struct symbolizer_opts, field) + \
					       sizeof((opts)->field) &&          \
			 (opts)->field                                           \
		 ? (opts)->field                                                 \
		 : (def))

struct lru {
	struct lru *prev, *next;
};

struct file_key {
	uint64_t dev_major, dev_minor, inode;
};

/*
 * One mapped file. Its debug information is loaded once and shared by every
 * process: the symbol table (with a debug file's or MiniDebugInfo's names)
 * at once, the DWARF on the first lookup. Open DWARF handles are the big
 * cost, so they have an LRU and a bound of their own (max_dwarf_files).
 */
struct elf_file {
	struct file_key key;
	struct elf_file *hnext;
	struct lru lru;
	uint64_t used;	      /* tick of its last use (the byte budget's LRU order) */
	struct elfsyms *syms; /* NULL: loading failed, or too big for max_bytes */
	const char *build_id; /* interned */
	int err;
	uint64_t failed_ns;
	bool oversized;	  /* its table exceeded max_bytes: not loaded again while cached */
	char *dwarf_path; /* the file, or its debug file, that has DWARF */
	struct dwarf_lines *dw;
	bool dw_tried;	   /* opened, or failed to: do not retry */
	struct lru dw_lru; /* linked while dw is open */
	uint64_t dw_used;
	size_t bytes;	 /* counted in the total: this struct, its table, dwarf_path */
	size_t dw_bytes; /* counted in the total: dwarf_lines__bytes() */
};

struct vdso_image {
	void *data;
	size_t len;
	struct elfsyms *syms;
	const char *build_id; /* interned */
};

struct proc_entry {
	pid_t pid;
	struct proc_entry *hnext;
	struct lru lru;
	uint64_t used;
	size_t bytes; /* counted in the total: this struct, its maps, its perf map */
	struct procmaps maps;
	bool same_root; /* the target's root is our root (same directory) */
	/* Token bucket for maps re-reads on misses. */
	unsigned int tokens;
	uint64_t refill_ns;
	const struct vdso_image *vdso;
	bool vdso_failed;
	/* JIT names, from /tmp/perf-NSPID.map inside the target's root. */
	struct perfmap *perfmap;
	const char *perfmap_module; /* interned "[perf-NSPID.map]" */
	uint64_t perfmap_checked_ns;
	bool perfmap_refused;	/* warned once about an untrusted map */
	bool perfmap_oversized; /* dropped for max_bytes: not read again */
};

struct ksym {
	uint64_t addr;
	uint32_t name_off;
	uint32_t module_off : 31; /* 0: the kernel itself */
	uint32_t global : 1;	  /* T/W rather than t/w */
};

struct kallsyms {
	bool loaded;
	int err;
	struct ksym *syms;
	size_t nr;
	char *blob;
};

struct symbolizer {
	unsigned int max_files, max_pids;
	unsigned int reread_burst;
	uint64_t reread_interval_ns;
	char *kallsyms_path;
	char *debug_dirs;
	unsigned int max_dwarf_files;
	bool no_dwarf;
	unsigned int perfmap_max_entries;
	uint64_t perfmap_max_bytes;
	bool (*stopping)(void);
	uint64_t max_bytes; /* 0: no byte bound */

	/*
	 * The byte budget: each public call is one tick; objects remember the
	 * tick of their last use. The file and PID the current call works on
	 * are never evicted to make room.
	 */
	uint64_t tick;
	struct elf_file *pin_file;
	struct proc_entry *pin_pid;
	bool oversized_logged;

	struct elf_file **file_buckets;
	size_t nr_file_buckets; /* power of two */
	struct lru file_lru;	/* head: most recently used */
	size_t nr_files;
	struct lru dwarf_lru; /* files with open DWARF, most recent first */
	size_t nr_dwarf;

	struct proc_entry **pid_buckets;
	size_t nr_pid_buckets;
	struct lru pid_lru;
	size_t nr_pids;

	struct vdso_image vdso[MAX_VDSO_IMAGES];
	size_t nr_vdso;
	size_t self_vdso_len; /* 0: not yet looked up */

	struct kallsyms ksyms;
	struct strpool *strings;
	struct symbolizer_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void lru_init(struct lru *l)
{
	l->prev = l->next = l;
}

static void lru_del(struct lru *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	lru_init(n);
}

static void lru_push_front(struct lru *head, struct lru *n)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static void lru_touch(struct lru *head, struct lru *n)
{
	lru_del(n);
	lru_push_front(head, n);
}

#define lru_entry(ptr, type) ((type *)((char *)(ptr)-offsetof(type, lru)))
#define dw_lru_entry(ptr) ((struct elf_file *)((char *)(ptr)-offsetof(struct elf_file, dw_lru)))

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p *= 2;
	return p;
}

static int intern(struct symbolizer *s, const char *str, const char **out)
{
	int64_t id = strpool__intern(s->strings, str, out);

	return id < 0 ? (int)id : 0;
}

/* A function name as frames show it: C++ and Rust names demangled. */
static int intern_func(struct symbolizer *s, const char *name, const char **out)
{
	char *dem = sym_is_mangled(name) ? sym_demangle(name, false) : NULL;
	int err = intern(s, dem ? dem : name, out);

	free(dem);
	return err;
}

/* ---- byte budget (the functions are below the caches they evict from) ---- */

static void bytes_set(struct symbolizer *s, size_t *slot, size_t now);
static bool pinned_fit(const struct symbolizer *s);
static void make_room(struct symbolizer *s);
static void note_oversized(struct symbolizer *s, const char *what, const char *name, pid_t pid,
			   size_t bytes, const char *outcome);

/* ---- file cache ---- */

static size_t file_bucket(const struct symbolizer *s, const struct file_key *k)
{
	uint64_t h = k->inode * 0x9e3779b97f4a7c15ULL ^ (k->dev_major << 20 | k->dev_minor);

	return (size_t)(h ^ h >> 29) & (s->nr_file_buckets - 1);
}

static void file_free(struct elf_file *f)
{
	if (!f)
		return;
	elfsyms__free(f->syms);
	dwarf_lines__free(f->dw);
	free(f->dwarf_path);
	free(f);
}

/* Close a file's DWARF; it reopens on the next lookup that needs it. */
static void file_close_dwarf(struct symbolizer *s, struct elf_file *f)
{
	if (!f->dw)
		return;
	dwarf_lines__free(f->dw);
	f->dw = NULL;
	f->dw_tried = false;
	lru_del(&f->dw_lru);
	s->nr_dwarf--;
	bytes_set(s, &f->dw_bytes, 0);
}

static size_t file_bytes(const struct elf_file *f)
{
	return sizeof(*f) + elfsyms__bytes(f->syms) +
	       (f->dwarf_path ? strlen(f->dwarf_path) + 1 : 0);
}

static void file_unlink(struct symbolizer *s, struct elf_file *f)
{
	struct elf_file **pp = &s->file_buckets[file_bucket(s, &f->key)];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	lru_del(&f->lru);
	file_close_dwarf(s, f);
	s->nr_files--;
	bytes_set(s, &f->bytes, 0);
}

static bool path_is_deleted(const char *path, size_t *len)
{
	size_t n = strlen(path), sl = strlen(DELETED_SUFFIX);

	*len = n;
	if (n > sl && !strcmp(path + n - sl, DELETED_SUFFIX)) {
		*len = n - sl;
		return true;
	}
	return false;
}

static bool same_file(const char *path, const struct file_key *k)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_ino == k->inode &&
	       major(st.st_dev) == k->dev_major && minor(st.st_dev) == k->dev_minor;
}

/*
 * The mapped file itself: /proc/PID/map_files/START-END reaches the
 * mapping's file whatever the target did to its paths since (deleted,
 * replaced, a FIFO or a copy bind-mounted over it in its own mount
 * namespace), in whatever mount namespace it lives. Paths are only a
 * fallback (map_files unreadable): through the target's root, then our
 * own when it shares our root, each only when its (device, inode) is the
 * one maps shows. Nothing that is not a regular file is opened, and
 * nothing blocks (elf_open_regular).
 */
static struct elfsyms *load_mapped(const struct proc_entry *pe, const struct procmap *m,
				   const struct file_key *k, char *chosen, int *err)
{
	char cand[3][PATH_MAX + 64];
	int nr = 0, i;
	size_t len;
	bool deleted = path_is_deleted(m->path, &len);

	if (len > PATH_MAX) {
		*err = -ENAMETOOLONG;
		return NULL;
	}
	snprintf(cand[nr++], sizeof(cand[0]), "/proc/%d/map_files/%llx-%llx", (int)pe->pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	if (!deleted)
		snprintf(cand[nr++], sizeof(cand[0]), "/proc/%d/root%.*s", (int)pe->pid, (int)len,
			 m->path);
	if (!deleted && pe->same_root)
		snprintf(cand[nr++], sizeof(cand[0]), "%.*s", (int)len, m->path);

	*err = -ENOENT;
	for (i = 0; i < nr; i++) {
		struct elfsyms *e;

		/*
		 * map_files is the mapping even where overlayfs reports other
		 * device numbers than maps; a path must prove it is the file.
		 */
		if (i > 0 && !same_file(cand[i], k))
			continue;
		e = elfsyms__open(cand[i]);
		if (e) {
			strcpy(chosen, cand[i]);
			return e;
		}
		*err = -errno;
		/* Not an ELF is a property of the file, not of the path. */
		if (*err == -ENOEXEC && i == 0)
			return NULL;
	}
	return NULL;
}

/*
 * A path for the file that outlives the process: the plain path when the
 * target shares our root and it is the same file, else @chosen, which
 * works while the process (or its mount namespace) lives.
 */
static const char *lasting_path(const struct proc_entry *pe, const struct procmap *m,
				const struct file_key *k, const char *chosen)
{
	size_t len;

	if (pe->same_root && !path_is_deleted(m->path, &len) && same_file(m->path, k))
		return m->path;
	return chosen;
}

/*
 * A debug file found inside the target's root (/proc/PID/root/...) is
 * named by its host path when that is the same file, so its DWARF can
 * still be opened after the process exits.
 */
static const char *lasting_debug_path(const char *found, const char *root)
{
	struct stat a, b;
	size_t rl = strlen(root);

	if (strncmp(found, root, rl) || found[rl] != '/')
		return found;
	if (stat(found, &a) || stat(found + rl, &b) || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev)
		return found;
	return found + rl;
}

/*
 * Names and DWARF from a separate debug file when the file lacks them:
 * a stripped file gets the debug file's .symtab (better than its
 * MiniDebugInfo), and a file without .debug_info reads DWARF from there.
 */
static int attach_debug_file(struct symbolizer *s, struct elf_file *f, const struct proc_entry *pe,
			     const struct procmap *m, const char *chosen)
{
	char root[64], dpath[PATH_MAX], bin[PATH_MAX];
	struct debuginfo_query q = {0};
	const char *dwarf_from = NULL;
	struct elfsyms *full;
	size_t len;
	bool deleted = path_is_deleted(m->path, &len);
	int err;

	if (elfsyms__has_dwarf(f->syms)) {
		dwarf_from = lasting_path(pe, m, &f->key, chosen);
		goto out_dwarf;
	}
	if (len >= sizeof(bin))
		return 0;
	memcpy(bin, m->path, len);
	bin[len] = '\0';
	/*
	 * Always through the target's root: in a pivot_root'ed container
	 * (Docker, podman) readlink of /proc/PID/root still says "/", yet
	 * its /usr/lib/debug is not ours.
	 */
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pe->pid);
	q.root = root;
	q.path = bin;
	q.build_id = elfsyms__build_id(f->syms);
	q.debuglink = elfsyms__debuglink(f->syms, &q.debuglink_crc);
	q.debug_dirs = s->debug_dirs;
	if (!q.build_id && !q.debuglink)
		return 0;
	err = debuginfo__find(&q, dpath, sizeof(dpath));
	if (err == -ENOMEM)
		return err;
	if (err)
		return 0;
	s->stats.debug_files++;
	log_debug("symbolize: debug file of %s%s: %s", bin, deleted ? " (deleted)" : "", dpath);
	dwarf_from = lasting_debug_path(dpath, root);
	if (elfsyms__source(f->syms) != ELFSYMS_SRC_SYMTAB) {
		full = elfsyms__open_debug(chosen, dpath);
		if (full) {
			elfsyms__free(f->syms);
			f->syms = full;
		} else if (errno == ENOMEM) {
			return -ENOMEM;
		}
	}

out_dwarf:
	if (s->no_dwarf || !dwarf_from)
		return 0;
	f->dwarf_path = strdup(dwarf_from);
	return f->dwarf_path ? 0 : -ENOMEM;
}

static int file_load(struct symbolizer *s, struct elf_file *f, const struct proc_entry *pe,
		     const struct procmap *m)
{
	char chosen[PATH_MAX + 64];
	const char *bid;
	int err;

	f->syms = load_mapped(pe, m, &f->key, chosen, &err);
	if (!f->syms) {
		f->err = err;
		f->failed_ns = now_ns();
		log_debug("symbolize: failed to load %s of pid %d: %s", m->path, (int)pe->pid,
			  strerror(-err));
		return 0;
	}
	f->err = 0;
	err = attach_debug_file(s, f, pe, m, chosen);
	if (err)
		return err;
	bid = elfsyms__build_id(f->syms);
	if (bid)
		return intern(s, bid, &f->build_id);
	return 0;
}

/*
 * Count a file's table, just loaded, in the total. A table that does not
 * fit max_bytes beside the current PID's maps is dropped: the entry stays,
 * so its addresses get module, offset and build-id without loading it
 * again each time.
 */
static void file_account(struct symbolizer *s, struct elf_file *f, const struct procmap *m)
{
	bytes_set(s, &f->bytes, file_bytes(f));
	if (f->syms && !pinned_fit(s)) {
		note_oversized(s, "symbol table", m->path, 0, f->bytes,
			       "not cached; its addresses get module, offset and build-id only");
		elfsyms__free(f->syms);
		f->syms = NULL;
		free(f->dwarf_path);
		f->dwarf_path = NULL;
		f->oversized = true;
		bytes_set(s, &f->bytes, file_bytes(f));
	}
	make_room(s);
}

/* The cached file of mapping @m, loading it on first use; NULL only on ENOMEM. */
static struct elf_file *file_get(struct symbolizer *s, const struct proc_entry *pe,
				 const struct procmap *m, int *err)
{
	struct file_key k = {m->dev_major, m->dev_minor, m->inode};
	size_t b = file_bucket(s, &k);
	struct elf_file *f;

	*err = 0;
	for (f = s->file_buckets[b]; f; f = f->hnext)
		if (!memcmp(&f->key, &k, sizeof(k)))
			break;
	if (f) {
		lru_touch(&s->file_lru, &f->lru);
		f->used = s->tick;
		s->pin_file = f;
		if (!f->syms && !f->oversized && now_ns() - f->failed_ns >= FAILED_RETRY_NS) {
			*err = file_load(s, f, pe, m);
			file_account(s, f, m);
		}
		return f;
	}

	f = calloc(1, sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	f->key = k;
	*err = file_load(s, f, pe, m);
	if (*err) {
		file_free(f);
		return NULL;
	}
	f->hnext = s->file_buckets[b];
	s->file_buckets[b] = f;
	lru_push_front(&s->file_lru, &f->lru);
	f->used = s->tick;
	s->pin_file = f;
	s->nr_files++;
	while (s->nr_files > s->max_files) {
		struct elf_file *old = lru_entry(s->file_lru.prev, struct elf_file);

		file_unlink(s, old);
		file_free(old);
	}
	file_account(s, f, m);
	return f;
}

void symbolizer__shrink(struct symbolizer *s)
{
	while (s->nr_dwarf)
		file_close_dwarf(s, dw_lru_entry(s->dwarf_lru.prev));
	while (s->nr_files) {
		struct elf_file *old = lru_entry(s->file_lru.prev, struct elf_file);

		file_unlink(s, old);
		file_free(old);
	}
}

/* ---- vdso ---- */

/* Our own vdso: the same image the kernel maps into every 64-bit process. */
static size_t self_vdso_len(struct symbolizer *s)
{
	struct procmaps pm;
	size_t i;

	if (s->self_vdso_len)
		return s->self_vdso_len;
	if (!getauxval(AT_SYSINFO_EHDR) || procmaps__read(getpid(), &pm))
		return 0;
	for (i = 0; i < pm.nr; i++)
		if (!strcmp(pm.maps[i].path, "[vdso]"))
			s->self_vdso_len = pm.maps[i].end - pm.maps[i].start;
	procmaps__clear(&pm);
	return s->self_vdso_len;
}

static int read_vdso(struct symbolizer *s, const struct proc_entry *pe, const struct procmap *m,
		     void *buf, size_t len)
{
	char path[64];
	ssize_t r = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pe->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = pread(fd, buf, len, (off_t)m->start);
		close(fd);
	}
	if (r == (ssize_t)len)
		return 0;
	/* Without ptrace access: our own image, when it has the same size. */
	if (self_vdso_len(s) != len)
		return -EACCES;
	memcpy(buf, (const void *)getauxval(AT_SYSINFO_EHDR), len);
	return 0;
}

static const struct vdso_image *vdso_get(struct symbolizer *s, struct proc_entry *pe,
					 const struct procmap *m, int *err)
{
	size_t len = m->end - m->start, i;
	struct vdso_image *img;
	void *buf;

	*err = 0;
	if (pe->vdso || pe->vdso_failed)
		return pe->vdso;
	pe->vdso_failed = true;
	if (!len || len > MAX_VDSO_SIZE)
		return NULL;
	buf = malloc(len);
	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	if (read_vdso(s, pe, m, buf, len))
		goto out_buf;
	for (i = 0; i < s->nr_vdso; i++) {
		if (s->vdso[i].len == len && !memcmp(s->vdso[i].data, buf, len)) {
			pe->vdso = &s->vdso[i];
			goto out_buf;
		}
	}
	if (s->nr_vdso == MAX_VDSO_IMAGES)
		goto out_buf;
	img = &s->vdso[s->nr_vdso];
	img->syms = elfsyms__open_mem(buf, len);
	if (!img->syms) {
		log_debug("symbolize: failed to parse vdso of pid %d: %s", (int)pe->pid,
			  strerror(errno));
		goto out_buf;
	}
	if (elfsyms__build_id(img->syms)) {
		*err = intern(s, elfsyms__build_id(img->syms), &img->build_id);
		if (*err) {
			elfsyms__free(img->syms);
			img->syms = NULL;
			goto out_buf;
		}
	}
	img->data = buf;
	img->len = len;
	s->nr_vdso++;
	pe->vdso = img;
	pe->vdso_failed = false;
	return img;

out_buf:
	free(buf);
	if (pe->vdso)
		pe->vdso_failed = false;
	return pe->vdso;
}

/* ---- process maps ---- */

static size_t pid_bucket(const struct symbolizer *s, pid_t pid)
{
	return ((size_t)pid * 0x9e3779b1U) & (s->nr_pid_buckets - 1);
}

static struct proc_entry *pid_find(struct symbolizer *s, pid_t pid)
{
	struct proc_entry *pe;

	for (pe = s->pid_buckets[pid_bucket(s, pid)]; pe; pe = pe->hnext)
		if (pe->pid == pid)
			return pe;
	return NULL;
}

static void pid_unlink_free(struct symbolizer *s, struct proc_entry *pe)
{
	struct proc_entry **pp = &s->pid_buckets[pid_bucket(s, pe->pid)];

	while (*pp != pe)
		pp = &(*pp)->hnext;
	*pp = pe->hnext;
	lru_del(&pe->lru);
	s->nr_pids--;
	bytes_set(s, &pe->bytes, 0);
	procmaps__clear(&pe->maps);
	perfmap__free(pe->perfmap);
	free(pe);
}

/* What a PID's entry holds: itself, its maps, its perf map. */
static size_t pid_bytes(const struct proc_entry *pe)
{
	return sizeof(*pe) + procmaps__bytes(&pe->maps) + perfmap__bytes(pe->perfmap);
}

/* Count a PID's maps and perf map, after either changed. */
static void pid_account(struct symbolizer *s, struct proc_entry *pe)
{
	bytes_set(s, &pe->bytes, pid_bytes(pe));
	make_room(s);
}

/* @pe serves the current call: most recent, and not evicted during it. */
static void pid_use(struct symbolizer *s, struct proc_entry *pe)
{
	lru_touch(&s->pid_lru, &pe->lru);
	pe->used = s->tick;
	s->pin_pid = pe;
}

/*
 * Whether the target's root is the directory ours is. Not readlink: for a
 * process that pivot_root'ed into its own tree (a container) the link
 * still reads "/", though it reaches another directory.
 */
static bool same_root(pid_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/root/", (int)pid);
	return !stat(path, &a) && !stat("/", &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int read_maps(struct symbolizer *s, pid_t pid, struct procmaps *out)
{
	s->stats.maps_reads++;
	return procmaps__read(pid, out);
}

/* The PID's entry, reading its maps when it is new. */
static void pid_insert(struct symbolizer *s, struct proc_entry *pe, pid_t pid, bool same);

static int pid_get(struct symbolizer *s, pid_t pid, struct proc_entry **out)
{
	struct proc_entry *pe = pid_find(s, pid);
	int err;

	if (pe) {
		pid_use(s, pe);
		*out = pe;
		return 0;
	}
	pe = calloc(1, sizeof(*pe));
	if (!pe)
		return -ENOMEM;
	err = read_maps(s, pid, &pe->maps);
	if (err) {
		free(pe);
		return err;
	}
	pid_insert(s, pe, pid, same_root(pid));
	*out = pe;
	return 0;
}

/* Add @pe (its maps set) to the cache, evicting the least recently used. */
static void pid_insert(struct symbolizer *s, struct proc_entry *pe, pid_t pid, bool same)
{
	size_t b;

	pe->pid = pid;
	pe->same_root = same;
	pe->tokens = s->reread_burst;
	pe->refill_ns = now_ns();
	b = pid_bucket(s, pid);
	pe->hnext = s->pid_buckets[b];
	s->pid_buckets[b] = pe;
	lru_push_front(&s->pid_lru, &pe->lru);
	pe->used = s->tick;
	s->pin_pid = pe;
	s->nr_pids++;
	/* Never @pe itself: it is the most recent. */
	while (s->nr_pids > s->max_pids)
		pid_unlink_free(s, lru_entry(s->pid_lru.prev, struct proc_entry));
	pid_account(s, pe);
}

/* Replace the PID's maps with fresh ones; keeps the old ones if it is gone. */
static int pid_reread(struct symbolizer *s, struct proc_entry *pe)
{
	struct procmaps fresh;
	int err = read_maps(s, pe->pid, &fresh);

	if (err)
		return err;
	procmaps__clear(&pe->maps);
	pe->maps = fresh;
	pid_account(s, pe);
	return 0;
}

/*
 * A miss may be a library dlopen()ed since the last read, or just a bad
 * address; a flood of the latter must not re-read maps thousands of times a
 * second. Each PID gets reread_burst re-reads, refilled one per interval.
 */
static bool take_reread_token(struct symbolizer *s, struct proc_entry *pe)
{
	uint64_t now = now_ns();

	if (pe->tokens >= s->reread_burst) {
		pe->refill_ns = now;
	} else if (now - pe->refill_ns >= s->reread_interval_ns) {
		uint64_t n = (now - pe->refill_ns) / s->reread_interval_ns;

		if (n >= s->reread_burst - pe->tokens) {
			pe->tokens = s->reread_burst;
			pe->refill_ns = now;
		} else {
			pe->tokens += (unsigned int)n;
			pe->refill_ns += n * s->reread_interval_ns;
		}
	}
	if (!pe->tokens)
		return false;
	pe->tokens--;
	return true;
}

/* ---- byte budget ---- */

static void bytes_set(struct symbolizer *s, size_t *slot, size_t now)
{
	s->stats.bytes = s->stats.bytes - *slot + now;
	*slot = now;
	/* Taken before evictions make room: the peak shows what a load cost. */
	if (s->stats.bytes > s->stats.bytes_peak)
		s->stats.bytes_peak = s->stats.bytes;
}

/* Whether what the current call works on fits max_bytes by itself. */
static bool pinned_fit(const struct symbolizer *s)
{
	size_t n = 0;

	if (!s->max_bytes)
		return true;
	if (s->pin_file)
		n += s->pin_file->bytes + s->pin_file->dw_bytes;
	if (s->pin_pid)
		n += s->pin_pid->bytes;
	return n <= s->max_bytes;
}

/* The least recently used entry of @head that is not @pin, or NULL. */
static struct lru *lru_oldest(struct lru *head, const struct lru *pin)
{
	struct lru *n;

	for (n = head->prev; n != head; n = n->prev)
		if (n != pin)
			return n;
	return NULL;
}

/*
 * Evict the least recently used object of any kind, the current call's
 * file and PID excepted; on a tie (one call used both) a DWARF goes before
 * its file's table, which reloads without it, and a table before a PID's
 * maps, which may be gone with the process. False when nothing is left.
 */
static bool evict_one(struct symbolizer *s)
{
	struct lru *dn = lru_oldest(&s->dwarf_lru, s->pin_file ? &s->pin_file->dw_lru : NULL);
	struct lru *fn = lru_oldest(&s->file_lru, s->pin_file ? &s->pin_file->lru : NULL);
	struct lru *pn = lru_oldest(&s->pid_lru, s->pin_pid ? &s->pin_pid->lru : NULL);
	struct elf_file *d = dn ? dw_lru_entry(dn) : NULL;
	struct elf_file *f = fn ? lru_entry(fn, struct elf_file) : NULL;
	struct proc_entry *p = pn ? lru_entry(pn, struct proc_entry) : NULL;

	if (!d && !f && !p)
		return false;
	s->stats.budget_evictions++;
	if (d && (!f || d->dw_used <= f->used) && (!p || d->dw_used <= p->used)) {
		file_close_dwarf(s, d);
	} else if (f && (!p || f->used <= p->used)) {
		file_unlink(s, f);
		file_free(f);
	} else {
		pid_unlink_free(s, p);
	}
	return true;
}

/* Within max_bytes again, as far as evicting what the current call does not use goes. */
static void make_room(struct symbolizer *s)
{
	while (s->max_bytes && s->stats.bytes > s->max_bytes && evict_one(s))
		;
}

/* An object too big for max_bytes: counted; the first one logged, the rest at debug. */
static void note_oversized(struct symbolizer *s, const char *what, const char *name, pid_t pid,
			   size_t bytes, const char *outcome)
{
	char who[64];

	s->stats.oversized++;
	if (!name) {
		snprintf(who, sizeof(who), "PID %d", (int)pid);
		name = who;
	}
	if (s->oversized_logged) {
		log_debug("symbolize: the %s of %s (%zu KiB) does not fit max_bytes: %s", what,
			  name, bytes >> 10, outcome);
		return;
	}
	s->oversized_logged = true;
	log_info("symbolize: the %s of %s (%zu KiB) does not fit the symbol caches' max_bytes "
		 "(%llu KiB): %s (later ones are counted, not logged)",
		 what, name, bytes >> 10, (unsigned long long)(s->max_bytes >> 10), outcome);
}

/*
 * End of a public call: nothing is pinned any more. Only maps too big
 * for the budget by themselves can keep the total above it: they served
 * this call and are dropped now.
 */
static void budget_settle(struct symbolizer *s)
{
	struct proc_entry *pe = s->pin_pid;

	s->pin_pid = NULL;
	s->pin_file = NULL;
	if (!s->max_bytes || s->stats.bytes <= s->max_bytes)
		return;
	if (pe && pe->bytes > s->max_bytes) {
		note_oversized(s, "maps", NULL, pe->pid, pe->bytes, "used once, not kept");
		pid_unlink_free(s, pe);
	}
	make_room(s);
}

/* A public call begins: one tick of the LRU clock, nothing pinned yet. */
static void budget_begin(struct symbolizer *s)
{
	s->tick++;
	s->pin_pid = NULL;
	s->pin_file = NULL;
}

/* ---- resolution ---- */

/*
 * Count @f's DWARF after it opened or grew. DWARF that does not fit
 * max_bytes beside the current call's table and maps is closed and not
 * reopened while the file stays cached: names come from the table alone.
 */
static void dwarf_account(struct symbolizer *s, struct elf_file *f)
{
	size_t now = dwarf_lines__bytes(f->dw);

	if (now == f->dw_bytes)
		return;
	bytes_set(s, &f->dw_bytes, now);
	if (!pinned_fit(s)) {
		note_oversized(s, "DWARF", f->dwarf_path, 0, now,
			       "closed; its addresses get names without file:line");
		file_close_dwarf(s, f);
		f->dw_tried = true;
	}
	make_room(s);
}

/* The file's DWARF, opened on first use under the max_dwarf_files bound. */
static struct dwarf_lines *file_dwarf(struct symbolizer *s, struct elf_file *f)
{
	if (f->dw) {
		lru_touch(&s->dwarf_lru, &f->dw_lru);
		f->dw_used = s->tick;
		return f->dw;
	}
	if (f->dw_tried || !f->dwarf_path || s->no_dwarf)
		return NULL;
	f->dw_tried = true;
	f->dw = dwarf_lines__open(f->dwarf_path);
	if (!f->dw) {
		log_debug("symbolize: failed to read DWARF of %s: %s", f->dwarf_path,
			  strerror(errno));
		return NULL;
	}
	s->stats.dwarf_opens++;
	lru_push_front(&s->dwarf_lru, &f->dw_lru);
	f->dw_used = s->tick;
	s->nr_dwarf++;
	while (s->nr_dwarf > s->max_dwarf_files)
		file_close_dwarf(s, dw_lru_entry(s->dwarf_lru.prev));
	dwarf_account(s, f);
	return f->dw;
}

/*
 * DWARF frames for @vaddr into @res, innermost first; the outermost
 * (real) function keeps the symbol table's name when there is one, so
 * names match the ones without DWARF. Returns frames added, or -errno.
 */
static int describe_dwarf(struct symbolizer *s, struct dwarf_lines *dw, const struct elfsym *sym,
			  uint64_t vaddr, struct sym_result *res)
{
	struct dwarf_line_frame df[SYM_MAX_INLINE];
	int n = dwarf_lines__lookup(dw, vaddr, df, SYM_MAX_INLINE), i, err;

	if (n < 0)
		return n == -ENOMEM ? n : 0;
	for (i = 0; i < n; i++) {
		struct sym_frame *fr = &res->frames[i];
		const char *name = df[i].name;

		if (i == n - 1 && sym) {
			name = sym->name;
			fr->sym_offset = vaddr - sym->addr;
		}
		if (name) {
			err = intern_func(s, name, &fr->name);
			if (err)
				return err;
		}
		if (df[i].file) {
			err = intern(s, df[i].file, &fr->file);
			if (err)
				return err;
		}
		fr->line = df[i].line;
		fr->inlined = df[i].inlined;
	}
	/* Lines but no function anywhere: leave the address unnamed. */
	if (n == 1 && !res->frames[0].name) {
		memset(&res->frames[0], 0, sizeof(res->frames[0]));
		return 0;
	}
	return n;
}

/*
 * Name the link-time address @vaddr of a file (@f NULL for the vdso): the
 * one place that turns debug information into frames.
 */
static int describe(struct symbolizer *s, const struct elfsyms *syms, struct elf_file *f,
		    uint64_t vaddr, struct sym_result *res)
{
	const struct elfsym *sym = elfsyms__find(syms, vaddr);
	struct dwarf_lines *dw = f ? file_dwarf(s, f) : NULL;
	int err;

	if (dw) {
		err = describe_dwarf(s, dw, sym, vaddr, res);
		/* Its frames are interned: the DWARF may go now if it grew too big. */
		dwarf_account(s, f);
		if (err < 0)
			return err;
		if (err > 0) {
			res->nframes = err;
			return 0;
		}
	}
	if (!sym)
		return 0;
	err = intern_func(s, sym->name, &res->frames[0].name);
	if (err)
		return err;
	res->frames[0].sym_offset = vaddr - sym->addr;
	res->nframes = 1;
	return 0;
}

static int resolve_in_file(struct symbolizer *s, const struct elfsyms *syms, struct elf_file *f,
			   const char *build_id, const struct procmap *m, uint64_t addr,
			   struct sym_result *res)
{
	uint64_t off = addr - m->start + m->pgoff, vaddr;

	res->build_id = build_id;
	if (elfsyms__off_to_vaddr(syms, off, &vaddr))
		return 0;
	res->rel_addr = vaddr;
	return describe(s, syms, f, vaddr, res);
}

/* ---- JIT code: perf-PID.map ---- */

/* Anonymous executable memory, where JITs put code (also memfd-backed). */
static bool is_jit_mapping(const struct procmap *m)
{
	return !m->path[0] || !strncmp(m->path, "[anon:", 6) || !strncmp(m->path, "/memfd:", 7);
}

/*
 * The PID the target's own namespace gives it (the last NSpid field): a
 * JIT names its map after getpid(), which is that number; and its
 * effective uid, who may write its map. -ESRCH when it is gone.
 */
static int ns_pid_uid(pid_t pid, pid_t *nspid, uid_t *euid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool uid_seen = false;
	FILE *fp;

	*nspid = pid;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "re");
	if (!fp)
		return -ESRCH;
	while (getline(&line, &cap, fp) > 0) {
		char *p, *end;
		long v;

		if (!strncmp(line, "Uid:", 4)) {
			unsigned long r, e;

			if (sscanf(line + 4, "%lu %lu", &r, &e) == 2) {
				*euid = (uid_t)e;
				uid_seen = true;
			}
			continue;
		}
		if (strncmp(line, "NSpid:", 6))
			continue;
		for (p = line + 6;; p = end) {
			v = strtol(p, &end, 10);
			if (end == p)
				break;
			if (v > 0 && v <= INT_MAX)
				*nspid = (pid_t)v;
		}
		break;
	}
	free(line);
	fclose(fp);
	return uid_seen ? 0 : -ESRCH;
}

/*
 * The target's /tmp/perf-NSPID.map, resolved inside its root and held to
 * perf's ownership rule. A process whose uid cannot be read (gone) gets
 * a map that refuses every file.
 */
static int perfmap_open(struct symbolizer *s, struct proc_entry *pe)
{
	char path[64], root[64], module[64];
	struct perfmap_opts po = {
		.sz = sizeof(po),
		.max_entries = s->perfmap_max_entries,
		.max_bytes = s->perfmap_max_bytes,
		.root = root,
		.check_owner = 1,
		.owner = (uid_t)-1,
		.stopping = s->stopping,
	};
	pid_t nspid;
	int err;

	ns_pid_uid(pe->pid, &nspid, &po.owner);
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pe->pid);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)nspid);
	snprintf(module, sizeof(module), "[perf-%d.map]", (int)nspid);
	err = intern(s, module, &pe->perfmap_module);
	if (err)
		return err;
	pe->perfmap = perfmap__new_opts(path, &po);
	return pe->perfmap ? 0 : -ENOMEM;
}

/*
 * Count the perf map after a refresh. One that does not fit max_bytes
 * beside the PID's maps is dropped and not read again: the PID's JIT
 * addresses stay anonymous.
 */
static void perfmap_account(struct symbolizer *s, struct proc_entry *pe)
{
	size_t pm_bytes = perfmap__bytes(pe->perfmap);

	bytes_set(s, &pe->bytes, pid_bytes(pe));
	if (!pinned_fit(s)) {
		note_oversized(s, "perf map", NULL, pe->pid, pm_bytes,
			       "dropped; its JIT addresses stay unnamed");
		perfmap__free(pe->perfmap);
		pe->perfmap = NULL;
		pe->perfmap_oversized = true;
		bytes_set(s, &pe->bytes, pid_bytes(pe));
	}
	make_room(s);
}

/* Read what the JIT appended; 0 (the map may be gone: too big), or -ENOMEM. */
static int perfmap_refresh(struct symbolizer *s, struct proc_entry *pe)
{
	int r = perfmap__refresh(pe->perfmap);

	perfmap_account(s, pe);
	pe->perfmap_checked_ns = now_ns();
	if (r > 0)
		s->stats.perfmap_reads++;
	if ((r == -EPERM || r == -ELOOP || r == -EINVAL) && !pe->perfmap_refused) {
		pe->perfmap_refused = true;
		s->stats.perfmap_refused++;
		log_warn("symbolize: ignoring /tmp/%.*s of PID %d: %s",
			 (int)strlen(pe->perfmap_module) - 2, pe->perfmap_module + 1, (int)pe->pid,
			 r == -EPERM ? "not owned by the process's user or root, or writable by "
				       "others"
				     : r == -ELOOP ? "a symbolic link" : "not a regular file");
	}
	/* No map (yet), or unreadable: the address stays anonymous. */
	return r == -ENOMEM ? r : 0;
}

/*
 * A JIT appends as it compiles: re-read on every miss (a miss costs one
 * open and fstat when nothing was appended), and every PERFMAP_RECHECK_NS
 * on hits too, since a JIT may reuse freed code memory for new code.
 */
static int resolve_jit(struct symbolizer *s, struct proc_entry *pe, uint64_t addr,
		       struct sym_result *res)
{
	const struct perfmap_entry *e;
	int err;

	if (pe->perfmap_oversized)
		return 0;
	if (!pe->perfmap) {
		err = perfmap_open(s, pe);
		if (err)
			return err;
		err = perfmap_refresh(s, pe);
		if (err || !pe->perfmap)
			return err;
	} else if (now_ns() - pe->perfmap_checked_ns >= PERFMAP_RECHECK_NS) {
		err = perfmap_refresh(s, pe);
		if (err || !pe->perfmap)
			return err;
	}
	e = perfmap__find(pe->perfmap, addr);
	if (!e) {
		err = perfmap_refresh(s, pe);
		if (err || !pe->perfmap)
			return err;
		e = perfmap__find(pe->perfmap, addr);
		if (!e)
			return 0;
	}
	err = intern_func(s, e->name, &res->frames[0].name);
	if (err)
		return err;
	res->module = pe->perfmap_module;
	res->rel_addr = addr;
	res->frames[0].sym_offset = addr - e->start;
	res->nframes = 1;
	s->stats.jit_resolved++;
	return 0;
}

static int resolve_mapping(struct symbolizer *s, struct proc_entry *pe, const struct procmap *m,
			   uint64_t addr, struct sym_result *res)
{
	const struct vdso_image *vdso;
	struct elf_file *f;
	int err;

	res->map_start = m->start;
	res->map_end = m->end;
	res->map_pgoff = m->pgoff;
	/* Until a file says better, the offset into the mapped object. */
	res->rel_addr = addr - m->start + m->pgoff;
	err = intern(s, m->path[0] ? m->path : ANON_MODULE, &res->module);
	if (err)
		return err;
	if (!strcmp(m->path, "[vdso]")) {
		vdso = vdso_get(s, pe, m, &err);
		if (vdso)
			return resolve_in_file(s, vdso->syms, NULL, vdso->build_id, m, addr, res);
		return err;
	}
	if (is_jit_mapping(m)) {
		err = resolve_jit(s, pe, addr, res);
		if (err || res->nframes || !m->inode || m->path[0] != '/')
			return err;
	}
	/* [vsyscall], [uprobes]: no file to read. */
	if (!m->inode || m->path[0] != '/')
		return 0;
	f = file_get(s, pe, m, &err);
	if (f && !f->syms)
		res->build_id = f->build_id; /* a table too big for max_bytes */
	if (!f || !f->syms)
		return err;
	return resolve_in_file(s, f->syms, f, f->build_id, m, addr, res);
}

int symbolizer__resolve_user(struct symbolizer *s, pid_t pid, uint64_t addr, struct sym_result *res)
{
	const struct procmap *m;
	struct proc_entry *pe;
	int err;

	memset(res, 0, sizeof(*res));
	s->stats.lookups++;
	budget_begin(s);
	err = pid_get(s, pid, &pe);
	if (err)
		goto out_unresolved;
	m = procmaps__find(&pe->maps, addr);
	if (!m && take_reread_token(s, pe) && !pid_reread(s, pe))
		m = procmaps__find(&pe->maps, addr);
	if (m)
		err = resolve_mapping(s, pe, m, addr, res);

out_unresolved:
	if (!res->nframes)
		s->stats.unresolved++;
	budget_settle(s);
	return err;
}

/*
 * Load the files @pe maps now, or with @lazy only those that will be out
 * of reach once it exits (deleted ones, and every file of a process with
 * another root): a file on our own tree loads on first use, by its path,
 * inode-checked.
 */
static int load_files(struct symbolizer *s, struct proc_entry *pe, bool lazy)
{
	size_t i, len;
	int err = 0;

	for (i = 0; i < pe->maps.nr; i++) {
		const struct procmap *m = &pe->maps.maps[i];

		if (!strcmp(m->path, "[vdso]") && !lazy)
			vdso_get(s, pe, m, &err);
		else if (m->inode && m->path[0] == '/' &&
			 (!lazy || !pe->same_root || path_is_deleted(m->path, &len)))
			file_get(s, pe, m, &err);
		if (err)
			return err;
	}
	return 0;
}

int symbolizer__set_maps(struct symbolizer *s, pid_t pid, const char *maps_text, int same)
{
	struct procmaps fresh;
	struct proc_entry *pe = pid_find(s, pid);
	int err = procmaps__parse(maps_text, &fresh);

	if (err)
		return err;
	s->stats.maps_reads++;
	budget_begin(s);
	if (pe) {
		procmaps__clear(&pe->maps);
		pe->maps = fresh;
		pe->same_root = same;
		pid_use(s, pe);
		pid_account(s, pe);
	} else {
		pe = calloc(1, sizeof(*pe));
		if (!pe) {
			procmaps__clear(&fresh);
			return -ENOMEM;
		}
		pe->maps = fresh;
		pid_insert(s, pe, pid, same);
	}
	err = load_files(s, pe, true);
	budget_settle(s);
	return err;
}

int symbolizer__prepare_pid(struct symbolizer *s, pid_t pid)
{
	struct proc_entry *pe;
	bool fresh = !pid_find(s, pid);
	int err;

	budget_begin(s);
	err = pid_get(s, pid, &pe);
	if (!err && !fresh)
		err = pid_reread(s, pe);
	if (!err)
		err = load_files(s, pe, false);
	budget_settle(s);
	return err;
}


void symbolizer__forget_pid(struct symbolizer *s, pid_t pid)
{
	struct proc_entry *pe = pid_find(s, pid);

	if (pe)
		pid_unlink_free(s, pe);
}

/* ---- kernel ---- */

static bool is_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

static int blob_append(char **blob, size_t *len, size_t *cap, const char *s, size_t n,
		       uint32_t *off)
{
	/* Offsets must fit the 31-bit module field too. */
	if (*len + n + 1 > INT32_MAX)
		return -E2BIG;
	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap : 65536;
		char *nb;

		while (ncap < *len + n + 1)
			ncap *= 2;
		nb = realloc(*blob, ncap);
		if (!nb)
			return -ENOMEM;
		*blob = nb;
		*cap = ncap;
	}
	memcpy(*blob + *len, s, n);
	(*blob)[*len + n] = '\0';
	*off = (uint32_t)*len;
	*len += n + 1;
	return 0;
}

static int ksym_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct ksym *a = pa, *b = pb;
	const char *blob = ctx, *na = blob + a->name_off, *nb = blob + b->name_off;
	size_t ua = strspn(na, "_"), ub = strspn(nb, "_");

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	/* Same address: global, then fewer leading underscores, then by bytes. */
	if (a->global != b->global)
		return a->global ? -1 : 1;
	if (ua != ub)
		return ua < ub ? -1 : 1;
	return strcmp(na, nb);
}

/* "ffffffff81000000 T _text" or "ffffffffc0a01000 t foo\t[mod]" */
static int parse_kallsyms(FILE *fp, struct kallsyms *k)
{
	size_t cap = 0, blob_len = 1, blob_cap = 0, linecap = 0;
	char *line = NULL;
	ssize_t n;
	int err = 0;

	/* Offset 0 means "no module", so the blob starts with an empty string. */
	k->blob = calloc(1, 65536);
	if (!k->blob)
		return -ENOMEM;
	blob_cap = 65536;
	while ((n = getline(&line, &linecap, fp)) > 0) {
		char *p = line, *name, *end, type;
		struct ksym ks = {0};

		ks.addr = strtoull(p, &end, 16);
		if (end == p || *end != ' ' || !ks.addr)
			continue;
		type = end[1];
		if (!is_text_type(type) || end[2] != ' ')
			continue;
		ks.global = type == 'T' || type == 'W';
		name = end + 3;
		end = name + strcspn(name, "\t \n");
		if (end == name)
			continue;
		err = blob_append(&k->blob, &blob_len, &blob_cap, name, (size_t)(end - name),
				  &ks.name_off);
		if (err)
			goto out_line;
		p = strchr(end, '[');
		if (p) {
			char *close = strchr(p, ']');

			if (close) {
				uint32_t off;

				err = blob_append(&k->blob, &blob_len, &blob_cap, p,
						  (size_t)(close - p + 1), &off);
				if (err)
					goto out_line;
				ks.module_off = off;
			}
		}
		if (k->nr == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			struct ksym *ns = realloc(k->syms, ncap * sizeof(*ns));

			if (!ns) {
				err = -ENOMEM;
				goto out_line;
			}
			k->syms = ns;
			cap = ncap;
		}
		k->syms[k->nr++] = ks;
	}
	if (k->nr)
		qsort_r(k->syms, k->nr, sizeof(*k->syms), ksym_cmp, k->blob);

out_line:
	free(line);
	return err;
}

static int load_kallsyms(struct symbolizer *s)
{
	struct kallsyms *k = &s->ksyms;
	const char *path = s->kallsyms_path ? s->kallsyms_path : "/proc/kallsyms";
	size_t i, j;
	FILE *fp;

	if (k->loaded)
		return k->err;
	k->loaded = true;
	fp = fopen(path, "re");
	if (!fp) {
		k->err = -errno;
		log_warn("symbolize: failed to open %s: %s", path, strerror(errno));
		return k->err;
	}
	k->err = parse_kallsyms(fp, k);
	fclose(fp);
	if (k->err) {
		log_warn("symbolize: failed to read %s: %s", path, strerror(-k->err));
		return k->err;
	}
	/* One name per address, the preferred one sorted first. */
	for (i = j = 0; i < k->nr; i++)
		if (!j || k->syms[j - 1].addr != k->syms[i].addr)
			k->syms[j++] = k->syms[i];
	k->nr = j;
	if (!k->nr)
		log_warn("symbolize: %s has no addresses (kptr_restrict; run as root)", path);
	return 0;
}

int symbolizer__resolve_kernel(struct symbolizer *s, uint64_t addr, struct sym_result *res)
{
	const struct kallsyms *k = &s->ksyms;
	size_t lo = 0, hi;
	const struct ksym *ks;
	int err;

	memset(res, 0, sizeof(*res));
	s->stats.lookups++;
	res->rel_addr = addr;
	err = load_kallsyms(s);
	if (err)
		goto out_unresolved;
	/* Without addresses we still know it is the kernel. */
	if (!k->nr) {
		err = intern(s, KERNEL_MODULE, &res->module);
		goto out_unresolved;
	}
	hi = k->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		goto out_unresolved;
	ks = &k->syms[lo - 1];
	err = intern(s, ks->module_off ? k->blob + ks->module_off : KERNEL_MODULE, &res->module);
	if (!err)
		err = intern(s, k->blob + ks->name_off, &res->frames[0].name);
	if (err)
		goto out_unresolved;
	res->frames[0].sym_offset = addr - ks->addr;
	res->nframes = 1;

out_unresolved:
	if (!res->nframes)
		s->stats.unresolved++;
	return err;
}

/* ---- lifetime ---- */

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	const char *kpath = OPT(opts, kallsyms_path, NULL);
	const char *ddirs = OPT(opts, debug_dirs, NULL);
	struct symbolizer *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->max_files = OPT(opts, max_files, DEFAULT_MAX_FILES);
	s->max_pids = OPT(opts, max_pids, DEFAULT_MAX_PIDS);
	s->reread_burst = OPT(opts, maps_reread_burst, DEFAULT_REREAD_BURST);
	s->reread_interval_ns =
		OPT(opts, maps_reread_interval_ms, DEFAULT_REREAD_INTERVAL_MS) * 1000000ULL;
	s->max_dwarf_files = OPT(opts, max_dwarf_files, DEFAULT_MAX_DWARF_FILES);
	s->no_dwarf = OPT(opts, no_dwarf, 0) != 0;
	s->perfmap_max_entries = OPT(opts, perfmap_max_entries, 0);
	s->perfmap_max_bytes = OPT(opts, perfmap_max_bytes, 0);
	s->stopping = OPT(opts, stopping, NULL);
	s->max_bytes = OPT(opts, max_bytes, 0);
	lru_init(&s->file_lru);
	lru_init(&s->dwarf_lru);
	lru_init(&s->pid_lru);
	s->nr_file_buckets = pow2_at_least(s->max_files);
	s->nr_pid_buckets = pow2_at_least(s->max_pids);
	s->file_buckets = calloc(s->nr_file_buckets, sizeof(*s->file_buckets));
	s->pid_buckets = calloc(s->nr_pid_buckets, sizeof(*s->pid_buckets));
	s->strings = strpool__new();
	if (kpath)
		s->kallsyms_path = strdup(kpath);
	if (ddirs)
		s->debug_dirs = strdup(ddirs);
	if (!s->file_buckets || !s->pid_buckets || !s->strings || (kpath && !s->kallsyms_path) ||
	    (ddirs && !s->debug_dirs)) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	while (s->file_buckets && s->file_lru.next != &s->file_lru) {
		struct elf_file *f = lru_entry(s->file_lru.next, struct elf_file);

		file_unlink(s, f);
		file_free(f);
	}
	while (s->pid_buckets && s->pid_lru.next != &s->pid_lru)
		pid_unlink_free(s, lru_entry(s->pid_lru.next, struct proc_entry));
	for (i = 0; i < s->nr_vdso; i++) {
		elfsyms__free(s->vdso[i].syms);
		free(s->vdso[i].data);
	}
	free(s->ksyms.syms);
	free(s->ksyms.blob);
	strpool__free(s->strings);
	free(s->file_buckets);
	free(s->pid_buckets);
	free(s->kallsyms_path);
	free(s->debug_dirs);
	free(s);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *st)
{
	const struct lru *n;

	*st = s->stats;
	st->files_cached = s->nr_files;
	st->dwarf_open = s->nr_dwarf;
	/* At most max_dwarf_files of them. */
	st->dwarf_bytes = 0;
	for (n = s->dwarf_lru.next; n != &s->dwarf_lru; n = n->next)
		st->dwarf_bytes += dw_lru_entry(n)->dw_bytes;
}
