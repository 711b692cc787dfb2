// SPDX-License-Identifier: MIT
/*
 * pprof exporter. The profile is translated into protobuf-c's message
 * structs (every array allocated once, sized by a counting pass), packed,
 * and gzip-compressed to the file. Strings are not copied: the string
 * table points into the profile, which outlives the call.
 */
#define ZLIB_CONST
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

#include "profile.pb-c.h"
#include "export/pprof.h"
#include "base/hindex.h"
#include "base/log.h"
#include "model/profile.h"

#define KERNEL_MODULE "[kernel.kallsyms]"
/* ELF segments are aligned to at least this; mappings start on it. */
#define PAGE 4096ull
/* pid, tid, comm, span_id, trace_id, function. */
#define LABELS_MAX 6
/* A span id and a trace id in hex, each with its NUL. */
#define ID_HEX_LEN (17 + 33)
#define GZ_OUT_CHUNK 16384
/* zlib counts input in uInt; feed huge buffers in pieces. */
#define GZ_IN_CHUNK (1u << 30)

struct fn_entry {
	int64_t name, file;
};

struct map_entry {
	int64_t file, build_id;
	uint64_t map_start, map_end, map_pgoff;
	/* Lowest and highest address seen, to size a mapping with no range. */
	uint64_t lo, hi;
	uint64_t samples; /* weight of the stacks through it, to pick the main file */
	const char *path;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct builder {
	const struct profile *p;
	int err; /* first allocation failure of intern_str(), sticky */

	const char **strs;
	size_t nstrs, strs_cap;
	struct hindex *str_idx;
	const char *key_str;

	struct fn_entry *fns;
	size_t nfns, fns_cap;
	struct hindex *fn_idx;
	struct fn_entry key_fn;

	struct map_entry *maps;
	size_t nmaps, maps_cap;
	struct hindex *map_idx;
	const struct map_entry *key_map;

	size_t nlocs;
	uint32_t *loc_map;  /* mapping index + 1 per location, 0 = none */
	uint64_t *loc_addr; /* pprof address per location */
};

/* The message and every array it points into. */
struct pb {
	Perftools__Profiles__Profile prof;
	/* Sample types (samples/count adds cpu/nanoseconds), then the period's. */
	Perftools__Profiles__ValueType vt[PROFILE_MAX_TYPES + 2];
	Perftools__Profiles__ValueType *vtp[PROFILE_MAX_TYPES + 1];
	/* Per pprof value: the profile type it reads, times the period or 1. */
	uint32_t col_type[PROFILE_MAX_TYPES + 1];
	bool col_period[PROFILE_MAX_TYPES + 1];
	Perftools__Profiles__Mapping *maps, **mapp;
	Perftools__Profiles__Function *fns, **fnp;
	Perftools__Profiles__Location *locs, **locp;
	Perftools__Profiles__Line *lines, **linep;
	Perftools__Profiles__Sample *samples, **samplep;
	Perftools__Profiles__Label *labels, **labelp;
	char (*ids)[ID_HEX_LEN]; /* per sample: span_id and trace_id in hex */
	uint64_t *loc_ids;
	int64_t *values;
};

/* Returns @arr grown to hold @need elements (maybe moved), or NULL. */
static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *na;

	if (need <= *cap)
		return arr;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return NULL;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		return NULL;
	na = realloc(arr, ncap * elem);
	if (!na)
		return NULL;
	*cap = ncap;
	return na;
}

static bool str_eq(void *ctx, uint32_t id)
{
	struct builder *b = ctx;

	return !strcmp(b->strs[id], b->key_str);
}

/*
 * Index of @s in the string table, adding it if new. NULL and "" are index
 * 0. On allocation failure returns 0 and records the error in b->err, so
 * callers check once after a batch of strings.
 */
static int64_t intern_str(struct builder *b, const char *s)
{
	const char **ns;
	uint64_t h;
	int64_t id;
	int err;

	if (!s || !*s || b->err)
		return 0;
	h = hash_bytes(s, strlen(s), 0);
	b->key_str = s;
	id = hindex__find(b->str_idx, h, str_eq, b);
	if (id >= 0)
		return id;
	ns = grow(b->strs, &b->strs_cap, b->nstrs + 1, sizeof(*ns));
	if (!ns) {
		b->err = -ENOMEM;
		return 0;
	}
	b->strs = ns;
	err = hindex__insert(b->str_idx, h, b->nstrs);
	if (err) {
		b->err = err;
		return 0;
	}
	b->strs[b->nstrs] = s;
	return b->nstrs++;
}

static bool fn_eq(void *ctx, uint32_t id)
{
	struct builder *b = ctx;

	return b->fns[id].name == b->key_fn.name && b->fns[id].file == b->key_fn.file;
}

/* Function index for (@name, @file), adding it if new; or -errno. */
static int64_t intern_fn(struct builder *b, const char *name, const char *file)
{
	struct fn_entry *nf;
	uint64_t h;
	int64_t id;
	int err;

	b->key_fn.name = intern_str(b, name);
	b->key_fn.file = intern_str(b, file);
	if (b->err)
		return b->err;
	h = hash_mix(hash_mix(0, b->key_fn.name), b->key_fn.file);
	id = hindex__find(b->fn_idx, h, fn_eq, b);
	if (id >= 0)
		return id;
	nf = grow(b->fns, &b->fns_cap, b->nfns + 1, sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	b->fns = nf;
	err = hindex__insert(b->fn_idx, h, b->nfns);
	if (err)
		return err;
	b->fns[b->nfns] = b->key_fn;
	return b->nfns++;
}

static bool map_eq(void *ctx, uint32_t id)
{
	struct builder *b = ctx;
	const struct map_entry *m = &b->maps[id], *k = b->key_map;

	return m->file == k->file && m->build_id == k->build_id && m->map_start == k->map_start &&
	       m->map_end == k->map_end && m->map_pgoff == k->map_pgoff;
}

/* Mapping index for @key, adding a copy if new; or -errno. */
static int64_t intern_map(struct builder *b, const struct map_entry *key)
{
	struct map_entry *nm;
	uint64_t h = 0;
	int64_t id;
	int err;

	h = hash_mix(h, key->file);
	h = hash_mix(h, key->build_id);
	h = hash_mix(h, key->map_start);
	h = hash_mix(h, key->map_end);
	h = hash_mix(h, key->map_pgoff);
	b->key_map = key;
	id = hindex__find(b->map_idx, h, map_eq, b);
	if (id >= 0)
		return id;
	nm = grow(b->maps, &b->maps_cap, b->nmaps + 1, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	b->maps = nm;
	err = hindex__insert(b->map_idx, h, b->nmaps);
	if (err)
		return err;
	b->maps[b->nmaps] = *key;
	b->maps[b->nmaps].lo = UINT64_MAX;
	b->maps[b->nmaps].hi = 0;
	return b->nmaps++;
}

/*
 * The runtime address of an ELF vaddr inside the location's mapping; the
 * reasoning and its limits are in export_pprof.h.
 */
static uint64_t runtime_address(const struct profile_location *loc)
{
	uint64_t len = loc->map_end - loc->map_start, off, shift;

	if (loc->address >= loc->map_start && loc->address < loc->map_end)
		return loc->address;
	if (loc->address < loc->map_pgoff)
		return loc->map_start + (loc->address & (PAGE - 1));
	off = loc->address - loc->map_pgoff;
	if (off < len)
		return loc->map_start + off;
	shift = (off - len + PAGE) & ~(PAGE - 1);
	if (shift > off)
		shift = off & ~(PAGE - 1);
	return loc->map_start + off - shift;
}

/* Pick the mapping and pprof address of location @id. 0 or -errno. */
static int place_location(struct builder *b, uint32_t id, const struct profile_location *loc)
{
	struct map_entry key = {0}, *m;
	const char *module = loc->module;
	bool ranged = loc->map_end > loc->map_start;
	int64_t mi;
	uint32_t i;

	b->loc_addr[id] = loc->address;
	if (!module && !(loc->flags & PROFILE_LOC_KERNEL))
		return 0;
	if (!module)
		module = KERNEL_MODULE;
	key.file = intern_str(b, module);
	key.build_id = intern_str(b, loc->build_id);
	if (b->err)
		return b->err;
	if (ranged) {
		key.map_start = loc->map_start;
		key.map_end = loc->map_end;
		key.map_pgoff = loc->map_pgoff;
	}
	mi = intern_map(b, &key);
	if (mi < 0)
		return mi;
	m = &b->maps[mi];
	m->path = module;
	b->loc_map[id] = mi + 1;
	if (ranged)
		b->loc_addr[id] = runtime_address(loc);
	if (loc->address < m->lo)
		m->lo = loc->address;
	if (loc->address > m->hi)
		m->hi = loc->address;
	for (i = 0; i < loc->nlines && i < PROFILE_MAX_LINES; i++) {
		if (!loc->lines[i].function)
			continue;
		m->has_functions = true;
		if (loc->lines[i].file)
			m->has_filenames = true;
		if (loc->lines[i].line)
			m->has_line_numbers = true;
		if (i > 0)
			m->has_inline_frames = true;
	}
	return 0;
}

/* Lines pprof can show: those with a function name (pprof needs one). */
static uint32_t named_lines(const struct profile_location *loc)
{
	uint32_t i, n = 0;

	for (i = 0; i < loc->nlines && i < PROFILE_MAX_LINES; i++)
		if (loc->lines[i].function)
			n++;
	return n;
}

static void pb_free(struct pb *pb)
{
	free(pb->maps);
	free(pb->mapp);
	free(pb->fns);
	free(pb->fnp);
	free(pb->locs);
	free(pb->locp);
	free(pb->lines);
	free(pb->linep);
	free(pb->samples);
	free(pb->samplep);
	free(pb->labels);
	free(pb->labelp);
	free(pb->ids);
	free(pb->loc_ids);
	free(pb->values);
}

static void builder_free(struct builder *b)
{
	free(b->strs);
	hindex__free(b->str_idx);
	free(b->fns);
	hindex__free(b->fn_idx);
	free(b->maps);
	hindex__free(b->map_idx);
	free(b->loc_map);
	free(b->loc_addr);
}

static void set_value_type(Perftools__Profiles__ValueType *vt, int64_t type, int64_t unit)
{
	perftools__profiles__value_type__init(vt);
	vt->type = type;
	vt->unit = unit;
}

static int64_t clamp_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Locations, their lines and functions. 0 or -errno. */
static int build_locations(struct builder *b, struct pb *pb)
{
	size_t i, nlines = 0, li = 0;
	uint32_t j;
	int64_t fi;
	int err;

	for (i = 0; i < b->nlocs; i++) {
		const struct profile_location *loc = profile__location(b->p, i);

		err = place_location(b, i, loc);
		if (err)
			return err;
		nlines += named_lines(loc);
	}
	pb->locs = calloc(b->nlocs, sizeof(*pb->locs));
	pb->locp = calloc(b->nlocs, sizeof(*pb->locp));
	pb->lines = calloc(nlines, sizeof(*pb->lines));
	pb->linep = calloc(nlines, sizeof(*pb->linep));
	if ((b->nlocs && (!pb->locs || !pb->locp)) || (nlines && (!pb->lines || !pb->linep)))
		return -ENOMEM;
	for (i = 0; i < b->nlocs; i++) {
		const struct profile_location *loc = profile__location(b->p, i);
		Perftools__Profiles__Location *pl = &pb->locs[i];

		perftools__profiles__location__init(pl);
		pl->id = i + 1;
		pl->mapping_id = b->loc_map[i];
		pl->address = b->loc_addr[i];
		pl->line = pb->linep + li;
		/* Both orders are innermost first, the real function last. */
		for (j = 0; j < loc->nlines && j < PROFILE_MAX_LINES; j++) {
			const struct profile_line *ln = &loc->lines[j];
			Perftools__Profiles__Line *pline = &pb->lines[li];

			if (!ln->function)
				continue;
			fi = intern_fn(b, ln->function, ln->file);
			if (fi < 0)
				return fi;
			perftools__profiles__line__init(pline);
			pline->function_id = fi + 1;
			pline->line = ln->line;
			pb->linep[li++] = pline;
			pl->n_line++;
		}
		if (!pl->n_line)
			pl->line = NULL;
		pb->locp[i] = pl;
	}
	pb->prof.n_location = b->nlocs;
	pb->prof.location = pb->locp;
	return 0;
}

/* The keys of the sample labels, interned once. */
struct label_keys {
	int64_t pid, tid, comm, span_id, trace_id, function;
};

static void put_str_label(struct builder *b, int64_t key, const char *str,
			  Perftools__Profiles__Label *l, Perftools__Profiles__Label **lp)
{
	perftools__profiles__label__init(l);
	l->key = key;
	l->str = intern_str(b, str);
	*lp = l;
}

/*
 * Up to LABELS_MAX labels of @st: pid, tid (when known), comm (when
 * named), and for a sample taken in a probed call span_id and trace_id
 * (lower-case hex as in the spans) and function. @ids holds the hex.
 */
static size_t put_labels(struct builder *b, const struct profile_stack *st, struct label_keys *k,
			 Perftools__Profiles__Label *l, Perftools__Profiles__Label **lp, char *ids)
{
	size_t n = 0;

	perftools__profiles__label__init(&l[n]);
	l[n].key = k->pid;
	l[n].num = st->pid;
	lp[n] = &l[n];
	n++;
	if (st->tid) {
		perftools__profiles__label__init(&l[n]);
		l[n].key = k->tid;
		l[n].num = st->tid;
		lp[n] = &l[n];
		n++;
	}
	if (st->comm && *st->comm) {
		put_str_label(b, k->comm, st->comm, &l[n], &lp[n]);
		n++;
	}
	if (!st->span_id)
		return n;
	if (!k->span_id) {
		k->span_id = intern_str(b, "span_id");
		k->trace_id = intern_str(b, "trace_id");
		k->function = intern_str(b, "function");
	}
	snprintf(ids, 17, "%016" PRIx64, st->span_id);
	snprintf(ids + 17, 33, "%016" PRIx64 "%016" PRIx64, st->trace_id_hi, st->trace_id_lo);
	put_str_label(b, k->span_id, ids, &l[n], &lp[n]);
	n++;
	put_str_label(b, k->trace_id, ids + 17, &l[n], &lp[n]);
	n++;
	if (st->function) {
		put_str_label(b, k->function, st->function, &l[n], &lp[n]);
		n++;
	}
	return n;
}

/*
 * Samples, leaf first, with pid, tid and comm labels, one value per pprof
 * sample type (build_types). 0 or -errno.
 */
static int build_samples(struct builder *b, struct pb *pb, struct label_keys *keys)
{
	size_t i, n = profile__stack_count(b->p), nids = 0, idi = 0, nv = pb->prof.n_sample_type;
	uint64_t period = profile__period_ns(b->p), v;
	uint32_t j;

	for (i = 0; i < n; i++)
		nids += profile__stack(b->p, i)->n;
	pb->samples = calloc(n, sizeof(*pb->samples));
	pb->samplep = calloc(n, sizeof(*pb->samplep));
	pb->labels = calloc(LABELS_MAX * n, sizeof(*pb->labels));
	pb->labelp = calloc(LABELS_MAX * n, sizeof(*pb->labelp));
	pb->ids = calloc(n, sizeof(*pb->ids));
	pb->values = calloc(nv * n, sizeof(*pb->values));
	pb->loc_ids = calloc(nids, sizeof(*pb->loc_ids));
	if ((n && (!pb->samples || !pb->samplep || !pb->labels || !pb->labelp || !pb->values ||
		   !pb->ids)) ||
	    (nids && !pb->loc_ids))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct profile_stack *st = profile__stack(b->p, i);
		Perftools__Profiles__Sample *s = &pb->samples[i];

		perftools__profiles__sample__init(s);
		s->location_id = pb->loc_ids + idi;
		s->n_location_id = st->n;
		/* A profile stack is root first; pprof wants the leaf first. */
		for (j = 0; j < st->n; j++) {
			uint32_t id = st->locs[st->n - 1 - j];

			if (id >= b->nlocs)
				return -EINVAL;
			pb->loc_ids[idi++] = (uint64_t)id + 1;
			/* Heavier files are likelier the program itself. */
			if (b->loc_map[id])
				b->maps[b->loc_map[id] - 1].samples += st->count;
		}
		if (!st->n)
			s->location_id = NULL;
		s->value = pb->values + nv * i;
		s->n_value = nv;
		for (j = 0; j < nv; j++) {
			v = st->values[pb->col_type[j]];
			if (pb->col_period[j] && __builtin_mul_overflow(v, period, &v))
				v = UINT64_MAX;
			s->value[j] = clamp_i64(v);
		}
		s->label = pb->labelp + LABELS_MAX * i;
		s->n_label = put_labels(b, st, keys, pb->labels + LABELS_MAX * i, s->label,
					pb->ids[i]);
		pb->samplep[i] = s;
	}
	if (b->err)
		return b->err;
	pb->prof.n_sample = n;
	pb->prof.sample = pb->samplep;
	return 0;
}

/* "libc.so.6", "ld-linux-x86-64.so.2", "libfoo.so": a shared object's name. */
static bool shared_object_name(const char *base)
{
	const char *so;

	for (so = strstr(base, ".so"); so; so = strstr(so + 1, ".so"))
		if (so[3] == '\0' || so[3] == '.')
			return true;
	return false;
}

/*
 * The index of the main executable's mapping, or -1: pprof shows
 * mapping[0] as the profile's "File:" and symbolizes against it first.
 * Locations do not say which file was exec'd, so the pick is the heaviest
 * mapping of a real file that is not a shared object: ld.so's or libc's
 * locations are often seen first (a process starts in them), which made
 * "File: ld-linux-x86-64.so.2" of a node profile.
 */
static ssize_t main_mapping(const struct builder *b)
{
	ssize_t best = -1;
	size_t i;

	for (i = 0; i < b->nmaps; i++) {
		const struct map_entry *m = &b->maps[i];
		const char *base;

		/* Kernel, [vdso], //anon (perf's name of anonymous code). */
		if (!m->path || m->path[0] != '/' || m->path[1] == '/')
			continue;
		base = strrchr(m->path, '/') + 1;
		if (shared_object_name(base))
			continue;
		if (best < 0 || m->samples > b->maps[best].samples)
			best = i;
	}
	return best;
}

/*
 * Mappings (the main executable first, ids renumbered in that order) and
 * functions, once every location and sample is built. 0 or -errno.
 */
static int build_tables(struct builder *b, struct pb *pb)
{
	ssize_t first = main_mapping(b);
	uint64_t *id_of;
	size_t i, pos;

	pb->maps = calloc(b->nmaps, sizeof(*pb->maps));
	pb->mapp = calloc(b->nmaps, sizeof(*pb->mapp));
	pb->fns = calloc(b->nfns, sizeof(*pb->fns));
	pb->fnp = calloc(b->nfns, sizeof(*pb->fnp));
	id_of = calloc(b->nmaps + 1, sizeof(*id_of));
	if ((b->nmaps && (!pb->maps || !pb->mapp)) || (b->nfns && (!pb->fns || !pb->fnp)) ||
	    !id_of) {
		free(id_of);
		return -ENOMEM;
	}
	for (i = 0; i < b->nmaps; i++) {
		const struct map_entry *m = &b->maps[i];
		Perftools__Profiles__Mapping *pm = &pb->maps[i];

		/* @first at 0, the others in their order after it. */
		if (first < 0 || i > (size_t)first)
			pos = i;
		else
			pos = i == (size_t)first ? 0 : i + 1;
		perftools__profiles__mapping__init(pm);
		pm->id = pos + 1;
		id_of[i + 1] = pm->id;
		if (m->map_end > m->map_start) {
			pm->memory_start = m->map_start;
			pm->memory_limit = m->map_end;
			pm->file_offset = m->map_pgoff;
		} else {
			/* No range known (the kernel): cover the addresses seen. */
			pm->memory_start = m->lo & ~(PAGE - 1);
			pm->memory_limit = (m->hi | (PAGE - 1)) == UINT64_MAX
						   ? UINT64_MAX
						   : (m->hi | (PAGE - 1)) + 1;
		}
		pm->filename = m->file;
		pm->build_id = m->build_id;
		pm->has_functions = m->has_functions;
		pm->has_filenames = m->has_filenames;
		pm->has_line_numbers = m->has_line_numbers;
		pm->has_inline_frames = m->has_inline_frames;
		pb->mapp[pos] = pm;
	}
	for (i = 0; i < b->nlocs; i++)
		pb->locs[i].mapping_id = id_of[pb->locs[i].mapping_id];
	free(id_of);
	for (i = 0; i < b->nfns; i++) {
		Perftools__Profiles__Function *pf = &pb->fns[i];

		perftools__profiles__function__init(pf);
		pf->id = i + 1;
		pf->name = b->fns[i].name;
		/* We never demangle, so the name is also the system name. */
		pf->system_name = b->fns[i].name;
		pf->filename = b->fns[i].file;
		pb->fnp[i] = pf;
	}
	pb->prof.n_mapping = b->nmaps;
	pb->prof.mapping = pb->mapp;
	pb->prof.n_function = b->nfns;
	pb->prof.function = pb->fnp;
	return 0;
}

/*
 * One pprof value per profile type, in order; CPU samples (samples/count)
 * also get cpu/nanoseconds (count x period), the default and period type,
 * as perf and Go write them. Without CPU samples the first type is the
 * default and the period type (period 1).
 */
static void build_types(struct builder *b, struct pb *pb, const struct pprof_opts *o)
{
	size_t nt = profile__type_count(b->p), nv = 0;
	int64_t cpu = intern_str(b, "cpu"), ns = intern_str(b, "nanoseconds");

	for (uint32_t t = 0; t < nt; t++) {
		const struct profile_type *pt = profile__type(b->p, t);
		bool samples = !strcmp(pt->type, "samples") && !strcmp(pt->unit, "count");

		/* A profile read from another pprof: the first type is what it said. */
		if (t == 0 && o && o->sample_type) {
			set_value_type(&pb->vt[nv], intern_str(b, o->sample_type),
				       intern_str(b, o->sample_unit ? o->sample_unit : "count"));
			pb->col_type[nv++] = t;
			pb->vt[PROFILE_MAX_TYPES + 1] = pb->vt[0];
			pb->prof.default_sample_type = pb->vt[0].type;
			pb->prof.period = 1;
			continue;
		}
		set_value_type(&pb->vt[nv], intern_str(b, pt->type), intern_str(b, pt->unit));
		pb->col_type[nv++] = t;
		if (samples && nv < PROFILE_MAX_TYPES + 1) {
			set_value_type(&pb->vt[nv], cpu, ns);
			pb->col_type[nv] = t;
			pb->col_period[nv++] = true;
		}
		if (t == 0 && samples) {
			set_value_type(&pb->vt[PROFILE_MAX_TYPES + 1], cpu, ns);
			pb->prof.default_sample_type = cpu;
			pb->prof.period = clamp_i64(profile__period_ns(b->p));
		} else if (t == 0) {
			pb->vt[PROFILE_MAX_TYPES + 1] = pb->vt[0];
			pb->prof.default_sample_type = pb->vt[0].type;
			pb->prof.period = 1;
		}
	}
	for (size_t i = 0; i < nv; i++)
		pb->vtp[i] = &pb->vt[i];
	pb->prof.n_sample_type = nv;
	pb->prof.sample_type = pb->vtp;
	pb->prof.period_type = &pb->vt[PROFILE_MAX_TYPES + 1];
}

static int build(struct builder *b, struct pb *pb, const struct pprof_opts *o)
{
	struct label_keys keys;
	int err;

	b->str_idx = hindex__new();
	b->fn_idx = hindex__new();
	b->map_idx = hindex__new();
	b->strs = grow(NULL, &b->strs_cap, 1, sizeof(*b->strs));
	b->nlocs = profile__location_count(b->p);
	b->loc_map = calloc(b->nlocs, sizeof(*b->loc_map));
	b->loc_addr = calloc(b->nlocs, sizeof(*b->loc_addr));
	if (!b->str_idx || !b->fn_idx || !b->map_idx || !b->strs ||
	    (b->nlocs && (!b->loc_map || !b->loc_addr)))
		return -ENOMEM;
	/* pprof requires "" at index 0; intern_str() maps "" there. */
	b->strs[b->nstrs++] = "";

	perftools__profiles__profile__init(&pb->prof);
	build_types(b, pb, o);
	keys.pid = intern_str(b, "pid");
	keys.tid = intern_str(b, "tid");
	keys.comm = intern_str(b, "comm");
	/* Interned with the first sample of a probed call: other profiles stay as they were. */
	keys.span_id = keys.trace_id = keys.function = 0;
	if (b->err)
		return b->err;
	pb->prof.time_nanos = clamp_i64(profile__start_unix_ns(b->p));
	pb->prof.duration_nanos = clamp_i64(profile__duration_ns(b->p));

	err = build_locations(b, pb);
	if (err)
		return err;
	err = build_samples(b, pb, &keys);
	if (err)
		return err;
	err = build_tables(b, pb);
	if (err)
		return err;
	/* Last: interning may have moved the array until now. */
	pb->prof.n_string_table = b->nstrs;
	pb->prof.string_table = (char **)b->strs;
	return 0;
}

static int gzip_to(const uint8_t *data, size_t len, FILE *f)
{
	unsigned char out[GZ_OUT_CHUNK];
	z_stream zs = {0};
	size_t left = len, n;
	int zr, err = 0;

	/* 15 + 16: a 32 KiB window with a gzip (not zlib) header. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	zs.next_in = data;
	do {
		if (!zs.avail_in && left) {
			zs.avail_in = left < GZ_IN_CHUNK ? left : GZ_IN_CHUNK;
			left -= zs.avail_in;
		}
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		zr = deflate(&zs, left ? Z_NO_FLUSH : Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			goto out_deflate;
		}
		n = sizeof(out) - zs.avail_out;
		errno = 0;
		if (n && fwrite(out, 1, n, f) != n) {
			err = errno ? -errno : -EIO;
			goto out_deflate;
		}
	} while (zr != Z_STREAM_END);
	errno = 0;
	if (fflush(f))
		err = errno ? -errno : -EIO;
out_deflate:
	deflateEnd(&zs);
	return err;
}

int pprof__write(const struct profile *p, FILE *f)
{
	return pprof__write_opts(p, f, NULL);
}

int pprof__write_opts(const struct profile *p, FILE *f, const struct pprof_opts *o)
{
	struct builder b = {.p = p};
	struct pb pb = {0};
	uint8_t *buf = NULL;
	size_t len;
	int err;

	err = build(&b, &pb, o);
	if (err) {
		log_err("pprof: failed to build profile message: %s", strerror(-err));
		goto out_build;
	}
	len = perftools__profiles__profile__get_packed_size(&pb.prof);
	buf = malloc(len ? len : 1);
	if (!buf) {
		err = -ENOMEM;
		log_err("pprof: failed to allocate %zu bytes for the encoded profile: %s", len,
			strerror(-err));
		goto out_build;
	}
	perftools__profiles__profile__pack(&pb.prof, buf);
	err = gzip_to(buf, len, f);
	free(buf);
out_build:
	pb_free(&pb);
	builder_free(&b);
	return err;
}
