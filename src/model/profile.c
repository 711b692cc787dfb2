// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hindex.h"
#include "model/profile.h"
#include "base/strpool.h"

/*
 * Locations and stacks live in fixed-size blocks so that pointers handed
 * out by profile__location() and profile__stack() stay valid while the
 * profile keeps growing (the record loop holds them across add() calls).
 */
#define BLOCK_SHIFT 12
#define BLOCK_LEN (1u << BLOCK_SHIFT)
#define BLOCK_MASK (BLOCK_LEN - 1)

/* Stack location arrays are carved from chunks of this many ids. */
#define LOCS_CHUNK 65536

struct blockvec {
	void **blocks;
	size_t nblocks;
	size_t n;
	size_t elem;
};

struct locs_chunk {
	struct locs_chunk *next;
	size_t used, cap;
	uint32_t ids[];
};

struct profile {
	struct strpool *strings;
	struct blockvec locs; /* struct profile_location */
	struct hindex *loc_index;
	struct blockvec stacks; /* struct profile_stack */
	struct hindex *stack_index;
	struct locs_chunk *loc_chunks;
	struct profile_type types[PROFILE_MAX_TYPES];
	size_t ntypes;
	bool typed; /* a type was declared: types[0] is no longer the default */
	uint64_t totals[PROFILE_MAX_TYPES];
	uint64_t total;
	uint64_t period_ns;
	uint64_t start_unix_ns;
	uint64_t duration_ns;
};

static void *bv_at(const struct blockvec *v, size_t i)
{
	return (char *)v->blocks[i >> BLOCK_SHIFT] + (i & BLOCK_MASK) * v->elem;
}

/* Returns a zeroed slot at index v->n (not yet counted) or NULL. */
static void *bv_reserve(struct blockvec *v)
{
	size_t b = v->n >> BLOCK_SHIFT;
	void **nb;

	if (b == v->nblocks) {
		nb = realloc(v->blocks, (v->nblocks + 1) * sizeof(*nb));
		if (!nb)
			return NULL;
		v->blocks = nb;
		nb[b] = calloc(BLOCK_LEN, v->elem);
		if (!nb[b])
			return NULL;
		v->nblocks++;
	}
	return bv_at(v, v->n);
}

static void bv_free(struct blockvec *v)
{
	size_t i;

	for (i = 0; i < v->nblocks; i++)
		free(v->blocks[i]);
	free(v->blocks);
}

struct profile *profile__new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->locs.elem = sizeof(struct profile_location);
	p->stacks.elem = sizeof(struct profile_stack);
	p->strings = strpool__new();
	p->loc_index = hindex__new();
	p->stack_index = hindex__new();
	if (!p->strings || !p->loc_index || !p->stack_index)
		goto err_free_profile;
	if (strpool__intern(p->strings, "samples", &p->types[0].type) < 0 ||
	    strpool__intern(p->strings, "count", &p->types[0].unit) < 0)
		goto err_free_profile;
	p->ntypes = 1;
	return p;

err_free_profile:
	profile__free(p);
	return NULL;
}

void profile__free(struct profile *p)
{
	struct locs_chunk *c, *next;

	if (!p)
		return;
	for (c = p->loc_chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	hindex__free(p->stack_index);
	bv_free(&p->stacks);
	hindex__free(p->loc_index);
	bv_free(&p->locs);
	strpool__free(p->strings);
	free(p);
}

/* NULL stays NULL: "unknown" is distinct from the empty string. */
static int intern_opt(struct profile *p, const char *s, const char **out)
{
	int64_t id;

	if (!s) {
		*out = NULL;
		return 0;
	}
	id = strpool__intern(p->strings, s, out);
	return id < 0 ? (int)id : 0;
}

/* Pooled strings are unique, so pointers stand for contents here. */
static uint64_t loc_hash(const struct profile_location *l)
{
	uint64_t h = 0;
	uint32_t i;

	h = hash_mix(h, (uintptr_t)l->module);
	h = hash_mix(h, (uintptr_t)l->build_id);
	h = hash_mix(h, l->address);
	h = hash_mix(h, l->map_start);
	h = hash_mix(h, l->map_end);
	h = hash_mix(h, l->map_pgoff);
	h = hash_mix(h, ((uint64_t)l->flags << 32) | l->nlines);
	for (i = 0; i < l->nlines; i++) {
		h = hash_mix(h, (uintptr_t)l->lines[i].function);
		h = hash_mix(h, (uintptr_t)l->lines[i].file);
		h = hash_mix(h, ((uint64_t)l->lines[i].line << 32) | l->lines[i].inlined);
	}
	return h;
}

struct loc_lookup {
	const struct profile *p;
	const struct profile_location *key;
};

static bool loc_eq(void *ctx, uint32_t id)
{
	struct loc_lookup *l = ctx;
	const struct profile_location *a = l->key, *b = bv_at(&l->p->locs, id);
	uint32_t i;

	if (a->module != b->module || a->build_id != b->build_id || a->address != b->address ||
	    a->map_start != b->map_start || a->map_end != b->map_end ||
	    a->map_pgoff != b->map_pgoff || a->flags != b->flags || a->nlines != b->nlines)
		return false;
	for (i = 0; i < a->nlines; i++) {
		if (a->lines[i].function != b->lines[i].function ||
		    a->lines[i].file != b->lines[i].file || a->lines[i].line != b->lines[i].line ||
		    a->lines[i].inlined != b->lines[i].inlined)
			return false;
	}
	return true;
}

int profile__intern_location(struct profile *p, const struct profile_location *loc)
{
	struct profile_location key = {0}, *slot;
	struct loc_lookup l = {.p = p, .key = &key};
	uint64_t hash;
	int64_t id;
	uint32_t i;
	int err;

	if (loc->nlines > PROFILE_MAX_LINES)
		return -EINVAL;
	if (p->locs.n >= INT32_MAX)
		return -ENOSPC;
	/* The key is zeroed first so unused lines[] never affect equality. */
	key.address = loc->address;
	key.map_start = loc->map_start;
	key.map_end = loc->map_end;
	key.map_pgoff = loc->map_pgoff;
	key.flags = loc->flags;
	key.nlines = loc->nlines;
	err = intern_opt(p, loc->module, &key.module);
	if (err)
		return err;
	err = intern_opt(p, loc->build_id, &key.build_id);
	if (err)
		return err;
	for (i = 0; i < loc->nlines; i++) {
		err = intern_opt(p, loc->lines[i].function, &key.lines[i].function);
		if (err)
			return err;
		err = intern_opt(p, loc->lines[i].file, &key.lines[i].file);
		if (err)
			return err;
		key.lines[i].line = loc->lines[i].line;
		key.lines[i].inlined = loc->lines[i].inlined ? 1 : 0;
	}

	hash = loc_hash(&key);
	id = hindex__find(p->loc_index, hash, loc_eq, &l);
	if (id >= 0)
		return (int)id;

	slot = bv_reserve(&p->locs);
	if (!slot)
		return -ENOMEM;
	err = hindex__insert(p->loc_index, hash, p->locs.n);
	if (err)
		return err;
	*slot = key;
	return (int)p->locs.n++;
}

static uint32_t *alloc_locs(struct profile *p, uint32_t n)
{
	struct locs_chunk *c = p->loc_chunks;
	size_t cap;

	if (!c || c->cap - c->used < n) {
		cap = n > LOCS_CHUNK ? n : LOCS_CHUNK;
		c = malloc(sizeof(*c) + cap * sizeof(uint32_t));
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = p->loc_chunks;
		p->loc_chunks = c;
	}
	c->used += n;
	return c->ids + c->used - n;
}

struct stack_lookup {
	const struct profile *p;
	struct profile_key k; /* strings interned */
	const uint32_t *locs;
	uint32_t n;
};

static bool stack_eq(void *ctx, uint32_t id)
{
	struct stack_lookup *l = ctx;
	const struct profile_stack *st = bv_at(&l->p->stacks, id);

	return st->pid == l->k.pid && st->tid == l->k.tid && st->comm == l->k.comm &&
	       st->span_id == l->k.span_id && st->trace_id_hi == l->k.trace_id_hi &&
	       st->trace_id_lo == l->k.trace_id_lo && st->function == l->k.function &&
	       st->n == l->n && (!l->n || !memcmp(st->locs, l->locs, l->n * sizeof(*l->locs)));
}

int profile__add_keyed(struct profile *p, uint32_t type, const struct profile_key *k,
		       const uint32_t *locs, uint32_t n, uint64_t value)
{
	struct stack_lookup l = {.p = p, .k = *k, .locs = locs, .n = n};
	struct profile_stack *st;
	uint32_t *copy = NULL;
	uint64_t hash;
	int64_t id;
	uint32_t i;
	int err;

	if (type >= p->ntypes)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (locs[i] >= p->locs.n)
			return -EINVAL;
	/* A task without a name still needs a root frame. */
	id = strpool__intern(p->strings, k->comm ? k->comm : "[unknown]", &l.k.comm);
	if (id < 0)
		return (int)id;
	err = intern_opt(p, k->function, &l.k.function);
	if (err)
		return err;

	hash = hash_mix(hash_mix(0, ((uint64_t)k->tid << 32) | k->pid), (uintptr_t)l.k.comm);
	if (k->span_id) {
		hash = hash_mix(hash, k->span_id);
		hash = hash_mix(hash, k->trace_id_hi ^ k->trace_id_lo);
		hash = hash_mix(hash, (uintptr_t)l.k.function);
	}
	hash = hash_mix(hash, n);
	for (i = 0; i < n; i++)
		hash = hash_mix(hash, locs[i]);
	id = hindex__find(p->stack_index, hash, stack_eq, &l);
	if (id >= 0)
		goto out_count;

	if (n) {
		copy = alloc_locs(p, n);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, locs, n * sizeof(*locs));
	}
	st = bv_reserve(&p->stacks);
	if (!st)
		return -ENOMEM;
	err = hindex__insert(p->stack_index, hash, p->stacks.n);
	if (err)
		return err;
	st->pid = k->pid;
	st->tid = k->tid;
	st->comm = l.k.comm;
	st->span_id = k->span_id;
	st->trace_id_hi = k->trace_id_hi;
	st->trace_id_lo = k->trace_id_lo;
	st->function = l.k.function;
	st->n = n;
	st->locs = copy;
	id = p->stacks.n++;

out_count:
	err = profile__stack_add(p, id, type, value);
	return err ? err : (int)id;
}

int profile__add_thread_value(struct profile *p, uint32_t type, uint32_t pid, uint32_t tid,
			      const char *comm, const uint32_t *locs, uint32_t n, uint64_t value)
{
	struct profile_key k = {.pid = pid, .tid = tid, .comm = comm};

	return profile__add_keyed(p, type, &k, locs, n, value);
}

int profile__add_value(struct profile *p, uint32_t type, uint32_t pid, const char *comm,
		       const uint32_t *locs, uint32_t n, uint64_t value)
{
	return profile__add_thread_value(p, type, pid, 0, comm, locs, n, value);
}

int profile__add_thread(struct profile *p, uint32_t pid, uint32_t tid, const char *comm,
			const uint32_t *locs, uint32_t n, uint64_t count)
{
	int id = profile__add_thread_value(p, 0, pid, tid, comm, locs, n, count);

	return id < 0 ? id : 0;
}

int profile__add(struct profile *p, uint32_t pid, const char *comm, const uint32_t *locs,
		 uint32_t n, uint64_t count)
{
	return profile__add_thread(p, pid, 0, comm, locs, n, count);
}

int profile__stack_add(struct profile *p, size_t stack, uint32_t type, uint64_t value)
{
	struct profile_stack *st;

	if (stack >= p->stacks.n || type >= p->ntypes)
		return -EINVAL;
	st = bv_at(&p->stacks, stack);
	st->values[type] += value;
	p->totals[type] += value;
	if (!type) {
		st->count += value;
		p->total += value;
	}
	return 0;
}

int profile__add_type(struct profile *p, const char *type, const char *unit)
{
	struct profile_type t;
	int idx = profile__type_index(p, type);

	if (idx >= 0) {
		if (strcmp(p->types[idx].unit, unit))
			return -EEXIST;
		p->typed = true;
		return idx;
	}
	if (strpool__intern(p->strings, type, &t.type) < 0 ||
	    strpool__intern(p->strings, unit, &t.unit) < 0)
		return -ENOMEM;
	/* The default samples/count gives way to the first type declared. */
	if (!p->typed && !p->stacks.n) {
		p->typed = true;
		p->types[0] = t;
		return 0;
	}
	if (p->ntypes == PROFILE_MAX_TYPES)
		return -E2BIG;
	p->typed = true;
	p->types[p->ntypes] = t;
	return (int)p->ntypes++;
}

size_t profile__type_count(const struct profile *p)
{
	return p->ntypes;
}

const struct profile_type *profile__type(const struct profile *p, size_t i)
{
	return i < p->ntypes ? &p->types[i] : NULL;
}

int profile__type_index(const struct profile *p, const char *type)
{
	for (size_t i = 0; i < p->ntypes; i++)
		if (!strcmp(p->types[i].type, type))
			return (int)i;
	return -ENOENT;
}

uint64_t profile__type_total(const struct profile *p, uint32_t type)
{
	return type < p->ntypes ? p->totals[type] : 0;
}

struct profile *profile__extract(const struct profile *p, uint32_t type)
{
	struct profile *q;
	size_t i;

	if (type >= p->ntypes)
		return NULL;
	q = profile__new();
	if (!q)
		return NULL;
	if (profile__add_type(q, p->types[type].type, p->types[type].unit) != 0)
		goto err_free;
	/* Interned in order, every location keeps its id. */
	for (i = 0; i < p->locs.n; i++)
		if (profile__intern_location(q, bv_at(&p->locs, i)) != (int)i)
			goto err_free;
	for (i = 0; i < p->stacks.n; i++) {
		const struct profile_stack *st = bv_at(&p->stacks, i);

		if (st->values[type] &&
		    profile__add(q, st->pid, st->comm, st->locs, st->n, st->values[type]))
			goto err_free;
	}
	if (!type)
		q->period_ns = p->period_ns;
	q->start_unix_ns = p->start_unix_ns;
	q->duration_ns = p->duration_ns;
	return q;

err_free:
	profile__free(q);
	return NULL;
}

/*
 * The key of @st of profile @p (its probed call too when @keyed) into @k,
 * and its locations as ids of @q (interned anew, cached in @remap unless
 * NULL) into @locs. 0 or -errno.
 */
static int key_in(struct profile *q, const struct profile *p, const struct profile_stack *st,
		  int32_t *remap, bool keyed, struct profile_key *k, uint32_t *locs)
{
	int idx = 0;

	*k = (struct profile_key){st->pid, st->tid, st->comm};
	if (keyed) {
		k->span_id = st->span_id;
		k->trace_id_hi = st->trace_id_hi;
		k->trace_id_lo = st->trace_id_lo;
		k->function = st->function;
	}
	for (uint32_t j = 0; j < st->n && idx >= 0; j++) {
		if (!remap)
			idx = profile__intern_location(q, bv_at(&p->locs, st->locs[j]));
		else if ((idx = remap[st->locs[j]]) < 0)
			idx = remap[st->locs[j]] =
				profile__intern_location(q, bv_at(&p->locs, st->locs[j]));
		locs[j] = (uint32_t)idx;
	}
	return idx < 0 ? idx : 0;
}

#define LOCS_ON_STACK 256

/*
 * Stack @st of another profile into @q, its locations interned anew: type
 * t of @p is type @tmap[t] of @q (NULL: the same index); @keyed keeps the
 * stack's probed call (span, function), else only its thread.
 */
static int copy_stack(struct profile *q, const struct profile *p, const struct profile_stack *st,
		      int32_t *remap, const int *tmap, bool keyed)
{
	uint32_t ids[LOCS_ON_STACK];
	uint32_t *locs = st->n <= LOCS_ON_STACK ? ids : malloc(st->n * sizeof(*locs));
	struct profile_key k;
	int idx;

	if (!locs)
		return -ENOMEM;
	idx = key_in(q, p, st, remap, keyed, &k, locs);
	for (uint32_t t = 0; t < p->ntypes && idx >= 0; t++) {
		if (!st->values[t])
			continue;
		idx = profile__add_keyed(q, tmap ? (uint32_t)tmap[t] : t, &k, locs, st->n,
					 st->values[t]);
	}
	if (locs != ids)
		free(locs);
	return idx < 0 ? idx : 0;
}

int profile__add_stack_of(struct profile *dst, uint32_t type, const struct profile *src,
			  size_t stack, uint64_t value)
{
	const struct profile_stack *st;
	uint32_t ids[LOCS_ON_STACK], *locs;
	struct profile_key k;
	int idx;

	if (stack >= src->stacks.n)
		return -EINVAL;
	st = bv_at(&src->stacks, stack);
	locs = st->n <= LOCS_ON_STACK ? ids : malloc(st->n * sizeof(*locs));
	if (!locs)
		return -ENOMEM;
	idx = key_in(dst, src, st, NULL, true, &k, locs);
	if (!idx)
		idx = profile__add_keyed(dst, type, &k, locs, st->n, value);
	if (locs != ids)
		free(locs);
	return idx;
}

static int32_t *new_remap(const struct profile *p)
{
	int32_t *remap = malloc((p->locs.n ? p->locs.n : 1) * sizeof(*remap));

	for (size_t i = 0; remap && i < p->locs.n; i++)
		remap[i] = -1;
	return remap;
}

int profile__merge(struct profile *dst, const struct profile *src)
{
	int tmap[PROFILE_MAX_TYPES];
	int32_t *remap = new_remap(src);
	uint64_t end = src->start_unix_ns + src->duration_ns;
	uint64_t dend = dst->start_unix_ns + dst->duration_ns;
	int err = 0;

	if (!remap)
		return -ENOMEM;
	for (size_t t = 0; t < src->ntypes && !err; t++) {
		tmap[t] = profile__add_type(dst, src->types[t].type, src->types[t].unit);
		err = tmap[t] < 0 ? tmap[t] : 0;
	}
	for (size_t i = 0; i < src->stacks.n && !err; i++)
		err = copy_stack(dst, src, bv_at(&src->stacks, i), remap, tmap, true);
	free(remap);
	if (err)
		return err;
	if (!dst->period_ns)
		dst->period_ns = src->period_ns;
	/* The time both cover, from the earlier start to the later end. */
	if (src->start_unix_ns && (!dst->start_unix_ns || src->start_unix_ns < dst->start_unix_ns))
		dst->start_unix_ns = src->start_unix_ns;
	if (end > dend)
		dend = end;
	if (dst->start_unix_ns && dend > dst->start_unix_ns)
		dst->duration_ns = dend - dst->start_unix_ns;
	return 0;
}

struct profile *profile__filter(const struct profile *p,
				bool (*keep)(void *ctx, const struct profile_stack *st), void *ctx)
{
	int32_t *remap = new_remap(p);
	struct profile *q = profile__new();

	if (!q || !remap)
		goto err_free;
	for (size_t t = 0; t < p->ntypes; t++)
		if (profile__add_type(q, p->types[t].type, p->types[t].unit) != (int)t)
			goto err_free;
	for (size_t i = 0; i < p->stacks.n; i++) {
		const struct profile_stack *st = bv_at(&p->stacks, i);

		if (keep(ctx, st) && copy_stack(q, p, st, remap, NULL, false))
			goto err_free;
	}
	q->period_ns = p->period_ns;
	q->start_unix_ns = p->start_unix_ns;
	q->duration_ns = p->duration_ns;
	free(remap);
	return q;

err_free:
	free(remap);
	profile__free(q);
	return NULL;
}

size_t profile__stack_count(const struct profile *p)
{
	return p->stacks.n;
}

const struct profile_stack *profile__stack(const struct profile *p, size_t i)
{
	return i < p->stacks.n ? bv_at(&p->stacks, i) : NULL;
}

size_t profile__location_count(const struct profile *p)
{
	return p->locs.n;
}

const struct profile_location *profile__location(const struct profile *p, uint32_t id)
{
	return id < p->locs.n ? bv_at(&p->locs, id) : NULL;
}

uint64_t profile__total(const struct profile *p)
{
	return p->total;
}

void profile__set_period_ns(struct profile *p, uint64_t period_ns)
{
	p->period_ns = period_ns;
}

uint64_t profile__period_ns(const struct profile *p)
{
	return p->period_ns;
}

void profile__set_time(struct profile *p, uint64_t start_unix_ns, uint64_t duration_ns)
{
	p->start_unix_ns = start_unix_ns;
	p->duration_ns = duration_ns;
}

uint64_t profile__start_unix_ns(const struct profile *p)
{
	return p->start_unix_ns;
}

uint64_t profile__duration_ns(const struct profile *p)
{
	return p->duration_ns;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * Kernel frames get "_[k]" whether named or not, so colouring and the
 * folded format's consumers can tell them apart; "[unknown]" (no module
 * at all) carries no suffix since nothing is known about it. A module
 * already in brackets ("[kernel.kallsyms]", "[vdso]") keeps its own.
 */
const char *profile__frame_name(const struct profile_location *loc, uint32_t li, char *buf,
				size_t len)
{
	const struct profile_line *ln = li < loc->nlines ? &loc->lines[li] : NULL;
	bool kernel = loc->flags & PROFILE_LOC_KERNEL;
	const char *suffix = kernel ? "_[k]" : (ln && ln->inlined ? "_[i]" : "");
	const char *base;
	bool bracketed;

	if (!len)
		return buf;
	if (ln && ln->function) {
		snprintf(buf, len, "%s%s", ln->function, suffix);
	} else if (loc->module) {
		base = basename_of(loc->module);
		bracketed = base[0] == '[' && base[strlen(base) - 1] == ']';
		snprintf(buf, len, "%s%s%s%s", bracketed ? "" : "[", base, bracketed ? "" : "]",
			 kernel ? "_[k]" : "");
	} else {
		snprintf(buf, len, "[unknown]");
	}
	return buf;
}

/*
 * Is @next an unnamed address of the same module as @loc, so that the two
 * show as one frame ("[libfoo.so]" once, however many calls deep)?
 */
static bool same_unnamed_module(const struct profile_location *loc,
				const struct profile_location *next)
{
	return !loc->nlines && !next->nlines && loc->module == next->module &&
	       (loc->flags & PROFILE_LOC_KERNEL) == (next->flags & PROFILE_LOC_KERNEL);
}

int profile__walk_frames(const struct profile *p, const struct profile_stack *st,
			 profile_frame_cb cb, void *ctx)
{
	/* Long C++ names are cut here rather than failing the walk. */
	char buf[2048];
	const struct profile_location *loc, *next;
	uint32_t i, li;
	int ret;

	ret = cb(ctx, st->comm, NULL, 0);
	if (ret)
		return ret;
	for (i = 0; i < st->n; i++) {
		loc = profile__location(p, st->locs[i]);
		if (!loc)
			return -EINVAL;
		if (!loc->nlines) {
			/* A run of one module's unnamed code: its innermost address. */
			while (i + 1 < st->n && (next = profile__location(p, st->locs[i + 1])) &&
			       same_unnamed_module(loc, next)) {
				loc = next;
				i++;
			}
			ret = cb(ctx, profile__frame_name(loc, 0, buf, sizeof(buf)), loc, 0);
			if (ret)
				return ret;
			continue;
		}
		/* lines[] is innermost first; a stack reads outermost first. */
		for (li = loc->nlines; li-- > 0;) {
			ret = cb(ctx, profile__frame_name(loc, li, buf, sizeof(buf)), loc, li);
			if (ret)
				return ret;
		}
	}
	return 0;
}
