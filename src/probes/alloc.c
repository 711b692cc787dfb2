// SPDX-License-Identifier: MIT
/*
 * The alloc probe's userspace half. Finds the allocator's entry points in
 * the target's libc, attaches bpf/alloc.bpf.c to them with one
 * uprobe_multi link per target process (a uprobe session with --inuse),
 * and turns its samples into the alloc_space/alloc_objects types with the
 * sampling weights; with --inuse it follows the sampled blocks by address
 * until they are freed, and what is left at the end becomes the inuse_*
 * types and the leak report. With windows of their own (the agent's),
 * each window's inuse_* are the blocks live when it ends, a heap
 * profile's snapshot: the blocks' stacks are kept in a profile of the
 * probe's (the heap), which outlives the windows, and the blocks of
 * processes that left the target set or exited are dropped.
 *
 * libbpf 1.1 (Debian 12) predates uprobe_multi links: probes/uprobe_multi
 * creates them, the programs loaded with the matching expected attach
 * type (uprobe_multi, or uprobe session for --inuse).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "base/outfile.h"
#include "base/strbuf.h"
#include "model/profile.h"
#include "probes/alloc.h"
#include "probes/bpf_stats.h"
#include "probes/rqueue.h"
#include "probes/sampler.h"
#include "probes/stacks.h"
#include "probes/uprobe_multi.h"
#include "probes/uprobe_resolve.h"
#include "symbols/elfsyms.h"
#include "symbols/procmaps.h"
#include "alloc.skel.h"

#define QUEUE_BYTES (4u << 20)
#define RING_SAMPLES_PER_S 20000u
#define MAX_FUNCS 16
#define LEAKS_SHOWN 20

/* The allocator functions and what their arguments mean. */
static const struct {
	const char *name;
	enum sonde_alloc_fn fn;
} alloc_fns[] = {
	{"malloc", SONDE_AFN_MALLOC},	       {"calloc", SONDE_AFN_CALLOC},
	{"realloc", SONDE_AFN_REALLOC},	       {"posix_memalign", SONDE_AFN_POSIX_MEMALIGN},
	{"aligned_alloc", SONDE_AFN_MEMALIGN}, {"memalign", SONDE_AFN_MEMALIGN},
	{"valloc", SONDE_AFN_VALLOC},	       {"pvalloc", SONDE_AFN_VALLOC},
};

/* A sampled block: its stack (in struct alloc's heap) and what it stands for. */
struct block {
	uint64_t key; /* address (live) or TID (awaiting its address); 0 = empty */
	int32_t stack;
	uint32_t pad;
	double bytes, objects; /* sampling weights */
	uint64_t time_ns;
};

/* Open addressing by key, linear probing, deletion by backward shift. */
struct block_table {
	struct block *slots;
	size_t cap, used; /* cap a power of two */
};

struct alloc_link {
	pid_t pid;
	int fd;
};

struct alloc {
	struct probe *p;
	const struct alloc_opts *o;
	struct alloc_bpf *skel;
	struct rqueue q;
	char path[4096], display[4096];
	uint64_t offsets[MAX_FUNCS], cookies[MAX_FUNCS];
	size_t nfuncs;
	uint64_t free_off;
	bool free_skips_check; /* attached past free's NULL check */
	struct alloc_link *links; /* one per target and program */
	int nlinks;
	uint64_t other_libc; /* dynamic targets left out: another allocator file */
	int t_space, t_objects, t_inuse_space, t_inuse_objects;
	uint64_t nsamples, bad, unmatched;
	struct block_table awaiting; /* by TID: sampled, address not known yet */
	struct block_table live;     /* by address */
	/* The stacks of the blocks above (inuse_space, inuse_objects; no values). */
	struct profile *heap;
};

/* Stacks of freed blocks the heap keeps past those of the followed ones (compact_heap()). */
#define HEAP_SLACK 1024

void alloc_opts_default(struct alloc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rate = ALLOC_RATE_DEFAULT;
	o->max_live = 1u << 16;
}

static uint64_t astat(const struct alloc *a, uint32_t idx)
{
	return bpf_stats_sum(a->skel->maps.stats, idx);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static struct block *table_find(const struct block_table *t, uint64_t key)
{
	size_t j;

	if (!t->cap)
		return NULL;
	for (j = mix(key) & (t->cap - 1); t->slots[j].key; j = (j + 1) & (t->cap - 1))
		if (t->slots[j].key == key)
			return &t->slots[j];
	return NULL;
}

static int table_put(struct block_table *t, const struct block *b)
{
	size_t j;

	if ((t->used + 1) * 2 > t->cap) {
		struct block_table n = {.cap = t->cap ? t->cap * 2 : 1024};

		n.slots = calloc(n.cap, sizeof(*n.slots));
		if (!n.slots)
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].key)
				table_put(&n, &t->slots[i]);
		free(t->slots);
		*t = n;
	}
	for (j = mix(b->key) & (t->cap - 1); t->slots[j].key; j = (j + 1) & (t->cap - 1))
		if (t->slots[j].key == b->key)
			break;
	if (!t->slots[j].key)
		t->used++;
	t->slots[j] = *b;
	return 0;
}

static void table_del(struct block_table *t, struct block *b)
{
	size_t i = b - t->slots, j = i, home;

	for (;;) {
		t->slots[i].key = 0;
		do {
			j = (j + 1) & (t->cap - 1);
			if (!t->slots[j].key) {
				t->used--;
				return;
			}
			home = mix(t->slots[j].key) & (t->cap - 1);
			/* Stay when home lies cyclically in (i, j]. */
		} while (i <= j ? (i < home && home <= j) : (i < home || home <= j));
		t->slots[i] = t->slots[j];
		i = j;
	}
}

/* One uprobe_multi link of @prog on @n offsets of the allocator in @pid. */
static int link_multi(struct alloc *a, struct bpf_program *prog, enum uprobe_multi_kind kind,
		      const uint64_t *offsets, const uint64_t *cookies, size_t n, pid_t pid)
{
	struct alloc_link *grown;
	int fd;

	fd = uprobe_multi_attach(prog, a->path, pid, offsets, cookies, n, kind);
	if (fd < 0) {
		log_err("alloc: failed to attach uprobes to %s in PID %d: %s", a->display, pid,
			strerror(-fd));
		return fd;
	}
	grown = realloc(a->links, (a->nlinks + 1) * sizeof(*grown));
	if (!grown) {
		close(fd);
		return -ENOMEM;
	}
	a->links = grown;
	a->links[a->nlinks++] = (struct alloc_link){pid, fd};
	return 0;
}

/*
 * Where to probe free. glibc's free begins `test %rdi,%rdi; je` before a
 * `push`: a probe on the test is single-stepped (~11 us a call here), one
 * on the push is emulated (~0.7 us) and sees every non-NULL pointer,
 * still in %rdi. Elsewhere the entry.
 */
static uint64_t free_attach_offset(struct alloc *a, uint64_t entry)
{
	unsigned char b[12];
	size_t at = 0;
	int fd = open(a->path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, b, sizeof(b), (off_t)entry) : -1;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(b) || b[0] != 0x48 || b[1] != 0x85 || b[2] != 0xff)
		return entry;
	if (b[3] == 0x74)
		at = 5;
	else if (b[3] == 0x0f && b[4] == 0x84)
		at = 9;
	else
		return entry;
	if ((b[at] >= 0x50 && b[at] <= 0x57) ||
	    (b[at] == 0x41 && b[at + 1] >= 0x50 && b[at + 1] <= 0x57)) {
		a->free_skips_check = true;
		return entry + at;
	}
	return entry;
}

/* The allocator's file and its functions' offsets (duplicates merged). */
static int resolve(struct alloc *a)
{
	const struct probe_targets *t = &a->p->host->targets;
	struct elfsyms *e;
	const struct elfsym *sym;
	uint64_t off;
	int err;

	if (a->o->libc) {
		snprintf(a->path, sizeof(a->path), "%s", a->o->libc);
		snprintf(a->display, sizeof(a->display), "%s", a->o->libc);
	} else {
		/* The agent's targets come later: sonde's own libc, checked per target. */
		err = uprobe_resolve_target("alloc", "libc",
					    t->launched || t->dynamic ? 0 : t->pids[0],
					    t->dynamic ? "/proc/self/exe" : t->exe,
					    a->path, sizeof(a->path), a->display,
					    sizeof(a->display));
		if (err)
			return err;
	}
	e = elfsyms__open(a->path);
	if (!e) {
		err = -errno;
		log_err("alloc: cannot read the allocator '%s': %s", a->display, strerror(errno));
		return err;
	}
	for (size_t i = 0; i < sizeof(alloc_fns) / sizeof(alloc_fns[0]); i++) {
		bool dup = false;

		sym = elfsyms__by_name(e, alloc_fns[i].name);
		if (!sym || elfsyms__vaddr_to_off(e, sym->addr, &off))
			continue;
		/* aligned_alloc is memalign in glibc: one probe per address. */
		for (size_t j = 0; j < a->nfuncs; j++)
			dup |= a->offsets[j] == off;
		if (dup || a->nfuncs == MAX_FUNCS)
			continue;
		a->offsets[a->nfuncs] = off;
		a->cookies[a->nfuncs++] = alloc_fns[i].fn;
	}
	sym = elfsyms__by_name(e, "free");
	err = sym ? elfsyms__vaddr_to_off(e, sym->addr, &off) : -ENOENT;
	elfsyms__free(e);
	if (!a->nfuncs || a->cookies[0] != SONDE_AFN_MALLOC || err) {
		log_err("alloc: '%s' has no malloc or free: give the allocator's file with "
			"--alloc-lib",
			a->display);
		return -ENOENT;
	}
	a->free_off = free_attach_offset(a, off);
	log_info("alloc: %zu allocator functions in %s%s", a->nfuncs, a->display,
		 a->o->inuse ? (a->free_skips_check ? ", free probed past its NULL check "
						      "(emulated push)"
						    : ", free probed at its entry")
			     : "");
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct alloc *a = ctx;
	const __u32 *kind = data;

	if (len >= sizeof(struct sonde_block) &&
	    (*kind == SONDE_EV_FREE || *kind == SONDE_EV_ALLOC_ADDR))
		return rqueue__push(&a->q, data, len);
	if (!stacks__valid(a->p->host->stacks, data, len))
		return 0;
	return rqueue__push(&a->q, data, len);
}

/* ln(1 + (i + 0.5) / 1024) in 16.16 fixed point (see draw() in the BPF side). */
static void fill_ln_table(struct alloc_bpf *skel)
{
	for (int i = 0; i < 1024; i++)
		skel->rodata->ln_table[i] = (uint32_t)lround(log1p((i + 0.5) / 1024.0) * 65536.0);
}

/* A profile for the followed blocks' stacks. */
static struct profile *new_heap(void)
{
	struct profile *h = profile__new();

	if (h && (profile__add_type(h, "inuse_space", "bytes") != 0 ||
		  profile__add_type(h, "inuse_objects", "count") != 1)) {
		profile__free(h);
		return NULL;
	}
	return h;
}

static int declare_types(struct alloc *a)
{
	struct profile *prof = a->p->host->prof;

	a->t_space = profile__add_type(prof, "alloc_space", "bytes");
	a->t_objects = profile__add_type(prof, "alloc_objects", "count");
	a->t_inuse_space = a->t_inuse_objects = -1;
	if (a->o->inuse) {
		a->t_inuse_space = profile__add_type(prof, "inuse_space", "bytes");
		a->t_inuse_objects = profile__add_type(prof, "inuse_objects", "count");
		a->heap = new_heap();
		if (!a->heap) {
			log_err("alloc: failed to allocate the heap profile: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
	}
	if (a->t_space < 0 || a->t_objects < 0 ||
	    (a->o->inuse && (a->t_inuse_space < 0 || a->t_inuse_objects < 0))) {
		log_err("alloc: failed to add the allocation sample types: too many types");
		return -E2BIG;
	}
	return 0;
}

static int alloc_open(struct probe *p)
{
	const struct alloc_opts *o = p->opts;
	struct probe_host *h = p->host;
	struct bpf_program *entry;
	struct alloc *a;
	size_t ring;
	int err, ncpu;

	err = sampler_open(p, sizeof(*a), "alloc", NULL, NULL, &ncpu, NULL);
	a = p->priv;
	if (err)
		return err;
	a->p = p;
	a->o = o;
	/* The agent's targets (dynamic) come later, each through alloc_add_pid(). */
	if (h->targets.all || (!h->targets.npids && !h->targets.dynamic)) {
		log_err("alloc: -a cannot be traced with uprobes: give -p PID or -- CMD");
		return -EINVAL;
	}
	err = declare_types(a);
	if (err)
		return err;
	err = resolve(a);
	if (err)
		return err;
	err = rqueue__init(&a->q, QUEUE_BYTES, sizeof(struct sonde_sample));
	if (err) {
		log_err("alloc: failed to allocate the sample queue: %s", strerror(-err));
		return err;
	}
	ring = sampler_ring_bytes(h, (size_t)RING_SAMPLES_PER_S *
				  (SONDE_SAMPLE_HDR_SIZE + 64 * 8 + h->stack_size) * 4 / 10);
	a->skel = alloc_bpf__open();
	if (!a->skel) {
		err = -errno;
		log_err("alloc: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	err = SAMPLER_SETUP(a->skel, h, ring, ncpu, SONDE_ASTAT_MAX);
	if (err)
		return err;
	/* Uprobes filter by process: the PID filter map is not used. */
	a->skel->rodata->target_all = 1;
	a->skel->rodata->rate = o->rate;
	fill_ln_table(a->skel);
	bpf_map__set_max_entries(a->skel->maps.live, o->max_live);
	entry = o->inuse ? a->skel->progs.alloc_session : a->skel->progs.alloc_entry;
	bpf_program__set_autoload(
		o->inuse ? a->skel->progs.alloc_entry : a->skel->progs.alloc_session, false);
	bpf_program__set_autoload(a->skel->progs.on_free, o->inuse);
	uprobe_multi_prepare(entry, o->inuse ? UPROBE_MULTI_SESSION : UPROBE_MULTI_ENTRY);
	uprobe_multi_prepare(a->skel->progs.on_free, UPROBE_MULTI_ENTRY);
	err = alloc_bpf__load(a->skel);
	if (err) {
		log_err("alloc: failed to load BPF programs: %s (needs uprobe_multi links%s; run "
			"with -v for details)",
			strerror(-err),
			o->inuse ? " and uprobe sessions, Linux 6.13" : ", Linux 6.6");
		return err;
	}
	err = probe_add_ring(h, a->skel->maps.samples, on_event, a, "alloc");
	if (err)
		return err;
	log_info("alloc: %s", o->rate ? "sampling every ~N bytes (exponential intervals)"
				      : "every call stacked (--alloc-rate 0)");
	return 0;
}

/* The allocator's probes in one process: a link per program. */
static int attach_pid(struct alloc *a, pid_t pid)
{
	struct bpf_program *entry =
		a->o->inuse ? a->skel->progs.alloc_session : a->skel->progs.alloc_entry;
	uint64_t zero = 0;
	int err;

	err = link_multi(a, entry, a->o->inuse ? UPROBE_MULTI_SESSION : UPROBE_MULTI_ENTRY,
			 a->offsets, a->cookies, a->nfuncs, pid);
	if (!err && a->o->inuse)
		err = link_multi(a, a->skel->progs.on_free, UPROBE_MULTI_ENTRY, &a->free_off, &zero,
				 1, pid);
	return err;
}

static int alloc_attach(struct probe *p)
{
	struct alloc *a = p->priv;
	const struct probe_targets *t = &p->host->targets;
	int err;

	for (int i = 0; i < t->npids; i++) {
		err = attach_pid(a, t->pids[i]);
		if (err)
			return err;
	}
	return 0;
}

/* What a target maps of allocators, for alloc_add_pid(). */
enum libc_seen {
	LIBC_GONE,  /* its maps are unreadable: it exited */
	LIBC_OURS,  /* the allocator's file (the same inode, not just its name) */
	LIBC_OTHER, /* another libc: a container's own */
	LIBC_NONE,  /* none yet: just exec'd, the dynamic loader to come (or static) */
};

/* glibc's libc.so.6 (libc-2.X.so before 2.34), musl's loader that is its libc. */
static bool is_libc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) ||
	       !strncmp(base, "ld-musl-", 8);
}

static enum libc_seen libc_of(const struct alloc *a, pid_t pid)
{
	struct procmaps m = {0};
	enum libc_seen seen = LIBC_NONE;
	struct stat st;

	if (stat(a->path, &st) || procmaps__read(pid, &m))
		return LIBC_GONE;
	for (size_t i = 0; i < m.nr && seen != LIBC_OURS; i++) {
		const struct procmap *pm = &m.maps[i];

		if (pm->inode == (uint64_t)st.st_ino && pm->dev_major == major(st.st_dev) &&
		    pm->dev_minor == minor(st.st_dev))
			seen = LIBC_OURS;
		else if (is_libc(pm->path))
			seen = LIBC_OTHER;
	}
	procmaps__clear(&m);
	return seen;
}

/*
 * A new target of the agent: probed when it runs the allocator sonde
 * resolved (the host's libc); one in a container with its own libc is
 * left out, counted (-v says how many). One that maps no libc yet (an
 * exec seen before its dynamic loader ran: what discovery by exec finds)
 * is probed too: the link's uprobes sit on the allocator's inode, and
 * the kernel sets them in this process when it maps that file, before
 * its first malloc; if it never does (static, or another libc), they
 * never fire.
 */
static int alloc_add_pid(struct probe *p, pid_t pid)
{
	struct alloc *a = p->priv;
	enum libc_seen seen;

	for (int i = 0; i < a->nlinks; i++)
		if (a->links[i].pid == pid)
			return 0;
	seen = libc_of(a, pid);
	if (seen == LIBC_GONE)
		return 0;
	if (seen == LIBC_OTHER) {
		a->other_libc++;
		log_debug("alloc: PID %d does not run %s: not profiled", pid, a->display);
		return 0;
	}
	return attach_pid(a, pid);
}

/*
 * Drop the followed blocks whose stack @gone says yes to. A deletion
 * shifts a later block of the run back into the slot: it is looked at
 * again, so the cursor stays; a block that wraps around from the front
 * may be looked at twice, which a deletion-only pass can afford.
 */
static void drop_blocks(struct alloc *a, bool (*gone)(void *ctx, const struct profile_stack *st),
			void *ctx)
{
	struct block_table *tables[] = {&a->live, &a->awaiting};

	for (size_t t = 0; t < 2; t++) {
		for (size_t i = 0; i < tables[t]->cap;) {
			struct block *b = &tables[t]->slots[i];

			if (b->key && gone(ctx, profile__stack(a->heap, (size_t)b->stack))) {
				table_del(tables[t], b);
				continue;
			}
			i++;
		}
	}
}

static bool of_pid(void *ctx, const struct profile_stack *st)
{
	return st->pid == (uint32_t)(uintptr_t)ctx;
}

/* A target that left: its links, and its blocks (nothing it holds is in use by a target). */
static void alloc_remove_pid(struct probe *p, pid_t pid)
{
	struct alloc *a = p->priv;
	int n = 0;

	for (int i = 0; i < a->nlinks; i++) {
		if (a->links[i].pid == pid)
			close(a->links[i].fd);
		else
			a->links[n++] = a->links[i];
	}
	a->nlinks = n;
	if (a->o->inuse)
		drop_blocks(a, of_pid, (void *)(uintptr_t)pid);
}

static double weight(const struct alloc *a, uint64_t size, double *objects)
{
	double r = a->o->rate, prob;

	if (!a->o->rate || !size) {
		*objects = 1;
		return (double)size;
	}
	/* P(sampled) = 1 - e^(-S/R): a sample stands for 1/P calls of S bytes. */
	prob = -expm1(-(double)size / r);
	*objects = 1 / prob;
	return (double)size / prob;
}

static int on_sample(struct alloc *a, const struct sonde_sample *s)
{
	struct block b = {.key = s->tid, .time_ns = s->time_ns};
	uint32_t types[2] = {a->t_space, a->t_objects};
	uint64_t vals[2];
	int idx, err;

	b.bytes = weight(a, s->value, &b.objects);
	vals[0] = llround(b.bytes);
	vals[1] = llround(b.objects);
	err = stacks__add_values(a->p->host->stacks, s, 2, types, vals, &idx);
	if (err)
		return err;
	a->nsamples++;
	/* Not in the profile (the slow-call filter holds or drops it): no block to follow. */
	if (!a->o->inuse || idx < 0)
		return 0;
	/* Its stack where the windows cannot take it away. */
	idx = profile__add_stack_of(a->heap, 0, a->p->host->prof, (size_t)idx, 0);
	if (idx < 0)
		return idx;
	b.stack = idx;
	return table_put(&a->awaiting, &b);
}

static int on_block(struct alloc *a, const struct sonde_block *r)
{
	struct block *b;
	struct block nb;

	if (r->kind == SONDE_EV_FREE) {
		b = table_find(&a->live, r->addr);
		if (b)
			table_del(&a->live, b);
		else
			a->unmatched++;
		return 0;
	}
	b = table_find(&a->awaiting, r->tid);
	if (!b) {
		a->unmatched++;
		return 0;
	}
	nb = *b;
	table_del(&a->awaiting, b);
	if (!r->addr)
		return 0;
	nb.key = r->addr;
	return table_put(&a->live, &nb);
}

static int alloc_arm(struct probe *p, bool on)
{
	struct alloc *a = p->priv;

	SAMPLER_ARM(a->skel, on);
	return 0;
}

static int alloc_tick(struct probe *p)
{
	struct alloc *a = p->priv;
	const void *rec;
	size_t off, len;
	int err = 0;

	rqueue_for_each(&a->q, off, rec, len)
	{
		const __u32 *kind = rec;

		err = *kind == SONDE_EV_SAMPLE ? on_sample(a, rec) : on_block(a, rec);
		if (err)
			break;
	}
	rqueue__clear(&a->q);
	return err;
}

static uint64_t lost(const struct alloc *a)
{
	return astat(a, SONDE_STAT_RB_DROPS) + a->q.dropped + astat(a, SONDE_ASTAT_LIVE_FULL);
}

static void alloc_publish(struct probe *p, struct metrics *m)
{
	struct alloc *a = p->priv;

	probe_count(m, PROBE_M_EVENTS, "alloc", "kind", "call", astat(a, SONDE_ASTAT_CALLS));
	probe_count(m, PROBE_M_EVENTS, "alloc", "kind", "sample", a->nsamples);
	probe_count(m, PROBE_M_EVENTS, "alloc", "kind", "free", astat(a, SONDE_ASTAT_FREES));
	probe_count(m, PROBE_M_DROPPED, "alloc", "reason", "ring_full",
		    astat(a, SONDE_STAT_RB_DROPS));
	probe_count(m, PROBE_M_DROPPED, "alloc", "reason", "queue_full", a->q.dropped);
	probe_count(m, PROBE_M_DROPPED, "alloc", "reason", "live_full",
		    astat(a, SONDE_ASTAT_LIVE_FULL));
}

static void alloc_stop(struct probe *p)
{
	struct alloc *a = p->priv;

	for (int i = 0; i < a->nlinks; i++)
		close(a->links[i].fd);
	free(a->links);
	a->links = NULL;
	a->nlinks = 0;
}

/* Each heap stack's in @prof, found as the blocks need it: -1 not yet. */
static int32_t *stack_map(const struct alloc *a)
{
	size_t n = profile__stack_count(a->heap);
	int32_t *at = malloc((n ? n : 1) * sizeof(*at));

	for (size_t i = 0; at && i < n; i++)
		at[i] = -1;
	return at;
}

/* The sampled blocks live now as the inuse types of @prof. */
static int add_inuse(struct alloc *a, struct profile *prof)
{
	int32_t *at = stack_map(a);
	int err = 0;

	if (!at)
		return -ENOMEM;
	for (size_t i = 0; i < a->live.cap && !err; i++) {
		const struct block *b = &a->live.slots[i];
		int idx;

		if (!b->key)
			continue;
		idx = at[b->stack];
		if (idx < 0)
			idx = at[b->stack] = profile__add_stack_of(prof, (uint32_t)a->t_inuse_space,
								   a->heap, (size_t)b->stack, 0);
		err = idx < 0 ? idx
			      : profile__stack_add(prof, (size_t)idx, (uint32_t)a->t_inuse_space,
						   (uint64_t)llround(b->bytes));
		if (!err)
			err = profile__stack_add(prof, (size_t)idx, (uint32_t)a->t_inuse_objects,
						 (uint64_t)llround(b->objects));
	}
	free(at);
	return err;
}

/*
 * A heap of the followed blocks' stacks alone, once it holds mostly those
 * of freed blocks: its size follows the blocks live, not the run's length.
 */
static int compact_heap(struct alloc *a)
{
	struct block_table *tables[] = {&a->live, &a->awaiting};
	size_t n = profile__stack_count(a->heap);
	struct profile *fresh;
	int32_t *at;
	int err = 0;

	if (n <= 2 * (a->live.used + a->awaiting.used) + HEAP_SLACK)
		return 0;
	fresh = new_heap();
	at = stack_map(a);
	/* Every stack copied before a block moves: on failure the old heap stands. */
	for (size_t t = 0; t < 2 && fresh && at && !err; t++) {
		for (size_t i = 0; i < tables[t]->cap && !err; i++) {
			const struct block *b = &tables[t]->slots[i];

			if (!b->key || at[b->stack] >= 0)
				continue;
			at[b->stack] =
				profile__add_stack_of(fresh, 0, a->heap, (size_t)b->stack, 0);
			err = at[b->stack] < 0 ? at[b->stack] : 0;
		}
	}
	if (!fresh || !at)
		err = -ENOMEM;
	for (size_t t = 0; t < 2 && !err; t++)
		for (size_t i = 0; i < tables[t]->cap; i++)
			if (tables[t]->slots[i].key)
				tables[t]->slots[i].stack = at[tables[t]->slots[i].stack];
	free(at);
	if (err) {
		profile__free(fresh);
		return err;
	}
	profile__free(a->heap);
	a->heap = fresh;
	return 0;
}

static bool exited(void *ctx, const struct profile_stack *st)
{
	(void)ctx;
	return kill((pid_t)st->pid, 0) && errno == ESRCH;
}

/*
 * A window of its own ends (not one the run's profile keeps: no window
 * consumer): it gets the blocks live at its end. Blocks of processes
 * gone meanwhile go first (their samples may come after the exit that
 * removed the process); a zombie's go with the next window.
 */
static int alloc_window(struct probe *p, const struct probe_window *w)
{
	struct alloc *a = p->priv;
	int err;

	if (!a->o->inuse || w->merged)
		return 0;
	drop_blocks(a, exited, NULL);
	err = add_inuse(a, p->host->prof);
	if (err) {
		log_err("alloc: failed to add the blocks in use to the window: %s", strerror(-err));
		return err;
	}
	err = compact_heap(a);
	if (err)
		log_err("alloc: failed to compact the heap profile: %s", strerror(-err));
	return err;
}

/* The sampled blocks still live: the inuse types of the run's profile. */
static int alloc_finish(struct probe *p)
{
	struct alloc *a = p->priv;
	int err;

	if (!a->o->inuse)
		return 0;
	err = add_inuse(a, p->host->prof);
	if (err)
		log_err("alloc: failed to add the blocks in use: %s", strerror(-err));
	return err;
}

struct leak {
	int32_t stack;
	double bytes, objects;
	uint64_t oldest_ns;
};

static int cmp_leaks(const void *x, const void *y)
{
	const struct leak *a = x, *b = y;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return a->stack - b->stack;
}

struct frames {
	const char *names[SONDE_MAX_STACK * 2 * PROFILE_MAX_LINES];
	char buf[16384];
	size_t n, used;
};

static int keep_frame(void *ctx, const char *name, const struct profile_location *loc, uint32_t li)
{
	struct frames *f = ctx;
	size_t len = strlen(name) + 1;

	(void)li;
	if (!loc || f->n == sizeof(f->names) / sizeof(f->names[0]) ||
	    f->used + len > sizeof(f->buf))
		return 0;
	memcpy(f->buf + f->used, name, len);
	f->names[f->n++] = f->buf + f->used;
	f->used += len;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The leak report: live sampled blocks by stack, largest first, with the
 * age of the oldest; the stack leaf first ("leak <- main <- ...").
 */
static int alloc_report(struct probe *p, FILE *f)
{
	struct alloc *a = p->priv;
	const struct profile *prof = a->heap;
	struct leak *leaks = NULL;
	struct frames *fr = NULL;
	size_t n = 0, shown;
	double bytes = 0, objects = 0;
	uint64_t now = mono_ns();

	if (!a->o->inuse)
		return 0;
	leaks = calloc(a->live.used ? a->live.used : 1, sizeof(*leaks));
	fr = malloc(sizeof(*fr));
	if (!leaks || !fr) {
		free(leaks);
		free(fr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->live.cap; i++) {
		const struct block *b = &a->live.slots[i];
		size_t j;

		if (!b->key)
			continue;
		for (j = 0; j < n && leaks[j].stack != b->stack; j++)
			;
		if (j == n)
			leaks[n++] = (struct leak){.stack = b->stack, .oldest_ns = b->time_ns};
		leaks[j].bytes += b->bytes;
		leaks[j].objects += b->objects;
		if (b->time_ns < leaks[j].oldest_ns)
			leaks[j].oldest_ns = b->time_ns;
		bytes += b->bytes;
		objects += b->objects;
	}
	qsort(leaks, n, sizeof(*leaks), cmp_leaks);
	fprintf(f, "In use at the end%s: %.0f bytes in %.0f blocks from %zu stacks\n",
		a->o->rate ? " (sampled, estimated)" : "", bytes, objects, n);
	if (n)
		fprintf(f, "%12s %8s %9s  %s\n", "BYTES", "BLOCKS", "OLDEST", "STACK (leaf first)");
	shown = n < LEAKS_SHOWN ? n : LEAKS_SHOWN;
	for (size_t i = 0; i < shown; i++) {
		const struct profile_stack *st = profile__stack(prof, leaks[i].stack);

		fr->n = fr->used = 0;
		profile__walk_frames(prof, st, keep_frame, fr);
		fprintf(f, "%12.0f %8.0f %8.2fs  ", leaks[i].bytes, leaks[i].objects,
			now > leaks[i].oldest_ns ? (now - leaks[i].oldest_ns) / 1e9 : 0.0);
		for (size_t k = fr->n; k-- > 0;)
			fprintf(f, "%s%s", fr->names[k], k ? " <- " : "");
		fputc('\n', f);
	}
	if (n > shown)
		fprintf(f, "... %zu more stacks (see the inuse_space profile)\n", n - shown);
	free(leaks);
	free(fr);
	return stream_flush_error(f);
}

/* "N calls (B bytes), M sampled, F frees (T of sampled blocks), L lost". */
static void alloc_summary(struct probe *p, struct log_line *l)
{
	struct alloc *a = p->priv;

	log_line_add(l, "%llu allocation calls (%llu bytes), %llu stacked",
		     (unsigned long long)astat(a, SONDE_ASTAT_CALLS),
		     (unsigned long long)astat(a, SONDE_ASTAT_BYTES), (unsigned long long)a->nsamples);
	if (a->o->rate)
		log_line_add(l, " (1 per %u bytes on average)", a->o->rate);
	if (a->o->inuse)
		log_line_add(l, ", %llu frees (%llu of sampled blocks), %zu sampled blocks live",
			     (unsigned long long)astat(a, SONDE_ASTAT_FREES),
			     (unsigned long long)astat(a, SONDE_ASTAT_FREES_TRACKED), a->live.used);
	log_line_add(l, ", %llu lost", (unsigned long long)lost(a));
	log_line_int(l, "sonde.alloc.calls", (long long)astat(a, SONDE_ASTAT_CALLS));
	log_line_int(l, "sonde.alloc.bytes", (long long)astat(a, SONDE_ASTAT_BYTES));
	log_line_int(l, "sonde.samples", (long long)a->nsamples);
	log_line_int(l, "sonde.samples.lost", (long long)lost(a));
}

static void alloc_details(struct probe *p)
{
	struct alloc *a = p->priv;

	if (lost(a))
		log_warn("alloc: %llu samples lost with the ring full, %llu dropped by the "
			 "collector, %llu blocks untracked with --alloc-max-live full",
			 (unsigned long long)astat(a, SONDE_STAT_RB_DROPS),
			 (unsigned long long)a->q.dropped,
			 (unsigned long long)astat(a, SONDE_ASTAT_LIVE_FULL));
	log_info("alloc: %llu failed allocations, %llu address or free records unmatched",
		 (unsigned long long)astat(a, SONDE_ASTAT_FAILED), (unsigned long long)a->unmatched);
	if (a->other_libc)
		log_info("alloc: %llu targets left out: they run another allocator than %s",
			 (unsigned long long)a->other_libc, a->display);
}

static void alloc_free(struct probe *p)
{
	struct alloc *a = p->priv;

	if (!a)
		return;
	alloc_stop(p);
	alloc_bpf__destroy(a->skel);
	rqueue__free(&a->q);
	free(a->awaiting.slots);
	free(a->live.slots);
	profile__free(a->heap);
	free(a);
	p->priv = NULL;
}

const struct probe_ops alloc_probe_ops = {
	.name = "alloc",
	.open = alloc_open,
	.attach = alloc_attach,
	.add_pid = alloc_add_pid,
	.remove_pid = alloc_remove_pid,
	.arm = alloc_arm,
	.tick = alloc_tick,
	.publish = alloc_publish,
	.stop = alloc_stop,
	.finish = alloc_finish,
	.window = alloc_window,
	.report = alloc_report,
	.summary = alloc_summary,
	.details = alloc_details,
	.free = alloc_free,
	.feeds_profile = true,
};
