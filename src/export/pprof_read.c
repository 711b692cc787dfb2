// SPDX-License-Identifier: MIT
/*
 * pprof reader. protobuf-c decodes the message; every index into it
 * (strings, ids) is checked here, since the file may come from anywhere.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.pb-c.h"
#include "export/pprof_read.h"
#include "base/hindex.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "model/profile.h"

/* Addresses from here up are the kernel's (x86-64, arm64 canonical form). */
#define KERNEL_HALF 0xffff800000000000ull
/* pprof's own name for the kernel image, as perf's. */
#define KERNEL_PREFIX "[kernel"

/* Id -> index over one of the message's arrays (ids are any non-zero u64). */
struct idmap {
	struct hindex *h;
	const uint64_t *ids; /* ids[i] of entry i */
	size_t n;
	bool dense; /* ids[i] == i + 1: no index needed */
	uint64_t key;
};

struct reader {
	const Perftools__Profiles__Profile *pb;
	const char *name;
	struct profile *p;
	size_t value; /* index of the sample type read */
	struct idmap maps, locs, fns;
	uint64_t *map_ids, *loc_ids, *fn_ids;
	int32_t *loc_pid; /* profile location id per pprof location, -1 = not yet */
	uint32_t *stack;  /* root-first location ids of one sample */
	size_t stack_cap;
	const char *default_comm;
};

static bool id_eq(void *ctx, uint32_t i)
{
	struct idmap *m = ctx;

	return m->ids[i] == m->key;
}

static int idmap_init(struct idmap *m, const uint64_t *ids, size_t n)
{
	size_t i;
	int err;

	m->ids = ids;
	m->n = n;
	m->dense = true;
	for (i = 0; i < n && m->dense; i++)
		m->dense = ids[i] == i + 1;
	if (m->dense)
		return 0;
	m->h = hindex__new();
	if (!m->h)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = hindex__insert(m->h, hash_mix(0, ids[i]), i);
		if (err)
			return err;
	}
	return 0;
}

/* Index of @id, or -1. */
static int64_t idmap_find(struct idmap *m, uint64_t id)
{
	if (!id)
		return -1;
	if (m->dense)
		return id <= m->n ? (int64_t)(id - 1) : -1;
	m->key = id;
	return hindex__find(m->h, hash_mix(0, id), id_eq, m);
}

/* String @i, or NULL when out of range (a malformed file). */
static const char *pstr(const struct reader *r, int64_t i)
{
	if (i < 0 || (size_t)i >= r->pb->n_string_table)
		return NULL;
	return r->pb->string_table[i];
}

/* String @i, NULL for "" too (pprof's "no value"). -EINVAL if out of range. */
static int opt_str(const struct reader *r, int64_t i, const char **out)
{
	const char *s = pstr(r, i);

	if (!s) {
		log_err("pprof: failed to read '%s': string index %" PRId64 " out of range",
			r->name, i);
		return -EINVAL;
	}
	*out = *s ? s : NULL;
	return 0;
}

static int bad(const struct reader *r, const char *what, uint64_t id)
{
	log_err("pprof: failed to read '%s': %s %" PRIu64 " does not exist", r->name, what, id);
	return -EINVAL;
}

/* The sample type to read, by name, or the first. 0 or -EINVAL. */
static int pick_type(struct reader *r, const char *want, struct pprof_read_info *info)
{
	const Perftools__Profiles__Profile *pb = r->pb;
	size_t i, n = 0;
	const char *type, *unit;
	int found = -1;

	for (i = 0; i < pb->n_sample_type; i++) {
		type = pstr(r, pb->sample_type[i]->type);
		unit = pstr(r, pb->sample_type[i]->unit);
		if (!type || !unit) {
			log_err("pprof: failed to read '%s': sample type %zu names no string",
				r->name, i);
			return -EINVAL;
		}
		n = str_append(info->types, sizeof(info->types), n, "%s%s/%s", i ? ", " : "", type,
			       unit);
		if (found < 0 && (!want || !strcmp(want, type)))
			found = i;
	}
	if (found < 0) {
		if (!pb->n_sample_type)
			log_err("pprof: failed to read '%s': it has no sample types", r->name);
		else
			log_err("pprof: '%s' has no sample type '%s' (it has %s)", r->name, want,
				info->types);
		return -EINVAL;
	}
	r->value = found;
	snprintf(info->sample_type, sizeof(info->sample_type), "%s",
		 pstr(r, pb->sample_type[found]->type));
	snprintf(info->sample_unit, sizeof(info->sample_unit), "%s",
		 pstr(r, pb->sample_type[found]->unit));
	return 0;
}

static int index_ids(struct reader *r)
{
	const Perftools__Profiles__Profile *pb = r->pb;
	size_t i;
	int err;

	r->map_ids = calloc(pb->n_mapping + 1, sizeof(*r->map_ids));
	r->loc_ids = calloc(pb->n_location + 1, sizeof(*r->loc_ids));
	r->fn_ids = calloc(pb->n_function + 1, sizeof(*r->fn_ids));
	r->loc_pid = malloc((pb->n_location + 1) * sizeof(*r->loc_pid));
	if (!r->map_ids || !r->loc_ids || !r->fn_ids || !r->loc_pid)
		return -ENOMEM;
	for (i = 0; i < pb->n_mapping; i++)
		r->map_ids[i] = pb->mapping[i]->id;
	for (i = 0; i < pb->n_location; i++) {
		r->loc_ids[i] = pb->location[i]->id;
		r->loc_pid[i] = -1;
	}
	for (i = 0; i < pb->n_function; i++)
		r->fn_ids[i] = pb->function[i]->id;
	err = idmap_init(&r->maps, r->map_ids, pb->n_mapping);
	if (!err)
		err = idmap_init(&r->locs, r->loc_ids, pb->n_location);
	if (!err)
		err = idmap_init(&r->fns, r->fn_ids, pb->n_function);
	return err;
}

/* One pprof line (function, file, line number) into @ln. 0 or -EINVAL. */
static int read_line(struct reader *r, const Perftools__Profiles__Line *pline,
		     struct profile_line *ln)
{
	const Perftools__Profiles__Function *fn;
	int64_t fi = idmap_find(&r->fns, pline->function_id);
	int err;

	if (fi < 0)
		return bad(r, "function", pline->function_id);
	fn = r->pb->function[fi];
	err = opt_str(r, fn->name, &ln->function);
	if (!err && !ln->function)
		err = opt_str(r, fn->system_name, &ln->function);
	if (!err)
		err = opt_str(r, fn->filename, &ln->file);
	ln->line = pline->line > 0 && pline->line <= UINT32_MAX ? (uint32_t)pline->line : 0;
	return err;
}

/* The mapping's file, range and build id into @loc; kernel ones flagged. */
static int read_mapping(struct reader *r, const Perftools__Profiles__Location *pl,
			struct profile_location *loc)
{
	const Perftools__Profiles__Mapping *m;
	int64_t mi;
	int err;

	loc->address = pl->address;
	if (!pl->mapping_id) {
		if (pl->address >= KERNEL_HALF)
			loc->flags |= PROFILE_LOC_KERNEL;
		return 0;
	}
	mi = idmap_find(&r->maps, pl->mapping_id);
	if (mi < 0)
		return bad(r, "mapping", pl->mapping_id);
	m = r->pb->mapping[mi];
	err = opt_str(r, m->filename, &loc->module);
	if (!err)
		err = opt_str(r, m->build_id, &loc->build_id);
	if (err)
		return err;
	if ((loc->module && !strncmp(loc->module, KERNEL_PREFIX, strlen(KERNEL_PREFIX))) ||
	    pl->address >= KERNEL_HALF) {
		loc->flags |= PROFILE_LOC_KERNEL;
		return 0;
	}
	if (m->memory_limit > m->memory_start && pl->address >= m->memory_start &&
	    pl->address < m->memory_limit) {
		loc->address = pl->address - m->memory_start + m->file_offset;
		loc->map_start = m->memory_start;
		loc->map_end = m->memory_limit;
		loc->map_pgoff = m->file_offset;
	}
	return 0;
}

/* The profile location of pprof location index @li, interned once. */
static int location_of(struct reader *r, size_t li)
{
	const Perftools__Profiles__Location *pl = r->pb->location[li];
	struct profile_location loc = {0};
	size_t j, n = pl->n_line, keep;
	int err, id;

	if (r->loc_pid[li] >= 0)
		return r->loc_pid[li];
	err = read_mapping(r, pl, &loc);
	if (err)
		return err;
	/*
	 * Innermost first in both. Deeper inline chains than a profile holds
	 * keep the innermost and the real function (the last line).
	 */
	keep = n > PROFILE_MAX_LINES ? PROFILE_MAX_LINES : n;
	for (j = 0; j < keep; j++) {
		size_t from = j == keep - 1 ? n - 1 : j;

		err = read_line(r, pl->line[from], &loc.lines[j]);
		if (err)
			return err;
		loc.lines[j].inlined = j + 1 < keep;
	}
	loc.nlines = keep;
	id = profile__intern_location(r->p, &loc);
	if (id < 0)
		return id;
	r->loc_pid[li] = id;
	return id;
}

static const Perftools__Profiles__Label *
label(const struct reader *r, const Perftools__Profiles__Sample *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n_label; i++) {
		const char *k = pstr(r, s->label[i]->key);

		if (k && !strcmp(k, key))
			return s->label[i];
	}
	return NULL;
}

/* A numeric label, also when written as a string ("1234"); 0 if absent. */
static uint32_t num_label(const struct reader *r, const Perftools__Profiles__Sample *s,
			  const char *key)
{
	const Perftools__Profiles__Label *l = label(r, s, key);
	const char *v;

	if (!l)
		return 0;
	if (l->num > 0 && l->num <= UINT32_MAX)
		return (uint32_t)l->num;
	v = pstr(r, l->str);
	return v ? (uint32_t)strtoul(v, NULL, 10) : 0;
}

static int read_sample(struct reader *r, const Perftools__Profiles__Sample *s,
		       struct pprof_read_info *info)
{
	const Perftools__Profiles__Label *cl;
	const char *comm = NULL;
	size_t i, n = s->n_location_id;
	int64_t v, li;
	int id;

	if (s->n_value != r->pb->n_sample_type) {
		log_err("pprof: failed to read '%s': a sample has %zu values for %zu sample types",
			r->name, s->n_value, r->pb->n_sample_type);
		return -EINVAL;
	}
	v = s->value[r->value];
	if (v <= 0) {
		info->skipped += v < 0;
		return 0;
	}
	if (n > r->stack_cap) {
		uint32_t *ns = realloc(r->stack, n * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		r->stack = ns;
		r->stack_cap = n;
	}
	/* pprof is leaf first, a profile stack root first. */
	for (i = 0; i < n; i++) {
		li = idmap_find(&r->locs, s->location_id[i]);
		if (li < 0)
			return bad(r, "location", s->location_id[i]);
		id = location_of(r, li);
		if (id < 0)
			return id;
		r->stack[n - 1 - i] = id;
	}
	cl = label(r, s, "comm");
	if (cl)
		comm = pstr(r, cl->str);
	if (!comm || !*comm)
		comm = r->default_comm;
	info->samples++;
	return profile__add_thread(r->p, num_label(r, s, "pid"), num_label(r, s, "tid"), comm,
				   r->stack, n, (uint64_t)v);
}

/* The period in ns when samples are CPU time; pprof's "cpu/nanoseconds". */
static void read_header(struct reader *r)
{
	const Perftools__Profiles__Profile *pb = r->pb;
	const char *type = NULL, *unit = NULL, *file = NULL;

	if (pb->period_type) {
		type = pstr(r, pb->period_type->type);
		unit = pstr(r, pb->period_type->unit);
	}
	if (type && unit && !strcmp(type, "cpu") && !strcmp(unit, "nanoseconds") && pb->period > 0)
		profile__set_period_ns(r->p, pb->period);
	profile__set_time(r->p, pb->time_nanos > 0 ? pb->time_nanos : 0,
			  pb->duration_nanos > 0 ? pb->duration_nanos : 0);
	if (pb->n_mapping)
		file = pstr(r, pb->mapping[0]->filename);
	if (file && *file) {
		const char *slash = strrchr(file, '/');

		r->default_comm = slash ? slash + 1 : file;
	}
	if (!r->default_comm || !*r->default_comm)
		r->default_comm = "[unknown]";
}

int pprof__read(const uint8_t *data, size_t len, const char *name, const char *sample_type,
		struct profile *p, struct pprof_read_info *info)
{
	struct reader r = {.name = name, .p = p};
	Perftools__Profiles__Profile *pb;
	size_t i;
	int err;

	memset(info, 0, sizeof(*info));
	pb = perftools__profiles__profile__unpack(NULL, len, data);
	if (!pb) {
		log_err("pprof: failed to read '%s': not a pprof profile (protobuf decoding "
			"failed)",
			name);
		return -EINVAL;
	}
	r.pb = pb;
	if (!pb->n_string_table || pb->string_table[0][0]) {
		log_err("pprof: failed to read '%s': string_table[0] must be \"\"", name);
		err = -EINVAL;
		goto out_free;
	}
	err = pick_type(&r, sample_type, info);
	if (err)
		goto out_free;
	err = index_ids(&r);
	if (err)
		goto out_free;
	read_header(&r);
	for (i = 0; i < pb->n_sample && !err; i++)
		err = read_sample(&r, pb->sample[i], info);

out_free:
	if (err == -ENOMEM)
		log_err("pprof: failed to read '%s': %s", name, strerror(ENOMEM));
	free(r.stack);
	free(r.loc_pid);
	free(r.map_ids);
	free(r.loc_ids);
	free(r.fn_ids);
	hindex__free(r.maps.h);
	hindex__free(r.locs.h);
	hindex__free(r.fns.h);
	perftools__profiles__profile__free_unpacked(pb, NULL);
	return err;
}
