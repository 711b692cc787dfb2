// SPDX-License-Identifier: MIT
/*
 * pprof exporter: decode our own output with the generated protobuf-c code,
 * then hand the same file to the real consumers, `go tool pprof` and
 * `protoc --decode`, and check they read what the profile says.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "profile.pb-c.h"
#include "export/pprof.h"
#include "model/profile.h"

#define PERIOD_NS 10000000ull /* 100 Hz */
#define START_NS 1700000000123456789ull
#define DURATION_NS 5000000000ull

#define APP "/opt/sonde-test/app"
#define APP_START 0x555555555000ull
#define APP_END 0x555555556000ull
#define APP_PGOFF 0x1000ull

enum { L_MAIN, L_MID, L_HEAVY, L_LIGHT, L_UNSYM, L_KSYS, L_KWRITE, L_STATIC, NLOC };

/* PIE text mapped at APP_START from file offset 0x1000 (vaddr 0x1000). */
static const struct profile_location locs[NLOC] = {
	[L_MAIN] = {.module = APP,
		    .build_id = "abcdef0123",
		    .address = 0x1139,
		    .map_start = APP_START,
		    .map_end = APP_END,
		    .map_pgoff = APP_PGOFF,
		    .nlines = 1,
		    .lines = {{"main", "app.c", 10, 0}}},
	/* compute() inlined into main(), calling heavy(). */
	[L_MID] = {.module = APP,
		   .build_id = "abcdef0123",
		   .address = 0x1150,
		   .map_start = APP_START,
		   .map_end = APP_END,
		   .map_pgoff = APP_PGOFF,
		   .nlines = 2,
		   .lines = {{"compute", "app.c", 31, 1}, {"main", "app.c", 12, 0}}},
	[L_HEAVY] = {.module = APP,
		     .build_id = "abcdef0123",
		     .address = 0x1200,
		     .map_start = APP_START,
		     .map_end = APP_END,
		     .map_pgoff = APP_PGOFF,
		     .nlines = 1,
		     .lines = {{"heavy", "app.c", 25, 0}}},
	[L_LIGHT] = {.module = APP,
		     .build_id = "abcdef0123",
		     .address = 0x1300,
		     .map_start = APP_START,
		     .map_end = APP_END,
		     .map_pgoff = APP_PGOFF,
		     .nlines = 1,
		     .lines = {{"light", "app.c", 40, 0}}},
	[L_UNSYM] = {.module = "/opt/sonde-test/libfoo.so",
		     .address = 0x1abc,
		     .map_start = 0x7f0000001000ull,
		     .map_end = 0x7f0000003000ull,
		     .map_pgoff = 0x1000},
	[L_KSYS] = {.module = "[kernel.kallsyms]",
		    .address = 0xffffffff81001234ull,
		    .flags = PROFILE_LOC_KERNEL,
		    .nlines = 1,
		    .lines = {{"do_syscall_64", NULL, 0, 0}}},
	[L_KWRITE] = {.module = "[kernel.kallsyms]",
		      .address = 0xffffffff81205678ull,
		      .flags = PROFILE_LOC_KERNEL,
		      .nlines = 1,
		      .lines = {{"ksys_write", NULL, 0, 0}}},
	/* Non-PIE executable: runs at its link address. */
	[L_STATIC] = {.module = "/opt/sonde-test/static",
		      .address = 0x401020,
		      .map_start = 0x401000,
		      .map_end = 0x402000,
		      .map_pgoff = 0x1000,
		      .nlines = 1,
		      .lines = {{"static_fn", "static.c", 7, 0}}},
};

static uint32_t ids[NLOC];

static struct profile *build_profile(void)
{
	struct profile *p = profile__new();
	int i;

	cr_assert_not_null(p);
	profile__set_period_ns(p, PERIOD_NS);
	profile__set_time(p, START_NS, DURATION_NS);
	for (i = 0; i < NLOC; i++) {
		int id = profile__intern_location(p, &locs[i]);

		cr_assert_geq(id, 0);
		ids[i] = id;
	}
	{
		uint32_t s1[] = {ids[L_MID], ids[L_HEAVY]};
		uint32_t s2[] = {ids[L_MAIN], ids[L_LIGHT]};
		uint32_t s3[] = {ids[L_MAIN], ids[L_LIGHT], ids[L_KSYS], ids[L_KWRITE]};
		uint32_t s4[] = {ids[L_MAIN], ids[L_UNSYM]};
		uint32_t s5[] = {ids[L_STATIC]};

		cr_assert_eq(profile__add(p, 100, "app", s1, 2, 300), 0);
		cr_assert_eq(profile__add(p, 200, "worker", s2, 2, 60), 0);
		cr_assert_eq(profile__add(p, 200, "worker", s2, 2, 40), 0);
		cr_assert_eq(profile__add(p, 200, "worker", s3, 4, 50), 0);
		cr_assert_eq(profile__add(p, 100, "app", s4, 2, 20), 0);
		cr_assert_eq(profile__add(p, 300, "static", s5, 1, 7), 0);
	}
	return p;
}

static const char *write_profile(const struct profile *p, const char *name)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	cr_assert_eq(pprof__write(p, f), 0);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static uint8_t *gunzip(const char *path, size_t *out_len)
{
	size_t zlen, cap = 1 << 16;
	char *z = read_file(path, &zlen);
	uint8_t *out = malloc(cap);
	z_stream zs = {0};
	int zr;

	cr_assert_not_null(z);
	cr_assert_not_null(out);
	/* A gzip member, not a bare zlib stream: that is what pprof sniffs. */
	cr_assert_geq(zlen, 2);
	cr_assert_eq((uint8_t)z[0], 0x1f);
	cr_assert_eq((uint8_t)z[1], 0x8b);
	cr_assert_eq(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	zs.next_in = (Bytef *)z;
	zs.avail_in = zlen;
	do {
		if (zs.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
			cr_assert_not_null(out);
		}
		zs.next_out = out + zs.total_out;
		zs.avail_out = cap - zs.total_out;
		zr = inflate(&zs, Z_NO_FLUSH);
		cr_assert(zr == Z_OK || zr == Z_STREAM_END, "inflate: %d", zr);
	} while (zr != Z_STREAM_END);
	cr_assert_eq(zs.avail_in, 0, "trailing bytes after the gzip member");
	*out_len = zs.total_out;
	inflateEnd(&zs);
	free(z);
	return out;
}

static Perftools__Profiles__Profile *decode(const char *path)
{
	Perftools__Profiles__Profile *prof;
	size_t len;
	uint8_t *raw = gunzip(path, &len);

	prof = perftools__profiles__profile__unpack(NULL, len, raw);
	free(raw);
	cr_assert_not_null(prof, "protobuf-c could not unpack the profile");
	return prof;
}

static const char *str(const Perftools__Profiles__Profile *prof, int64_t i)
{
	cr_assert(i >= 0 && (size_t)i < prof->n_string_table, "string index %" PRId64, i);
	return prof->string_table[i];
}

static const Perftools__Profiles__Location *loc_by_id(const Perftools__Profiles__Profile *prof,
						      uint64_t id)
{
	size_t i;

	for (i = 0; i < prof->n_location; i++)
		if (prof->location[i]->id == id)
			return prof->location[i];
	cr_assert_fail("no location %" PRIu64, id);
	return NULL;
}

static const Perftools__Profiles__Mapping *map_by_id(const Perftools__Profiles__Profile *prof,
						     uint64_t id)
{
	size_t i;

	for (i = 0; i < prof->n_mapping; i++)
		if (prof->mapping[i]->id == id)
			return prof->mapping[i];
	cr_assert_fail("no mapping %" PRIu64, id);
	return NULL;
}

static const char *fn_name(const Perftools__Profiles__Profile *prof, uint64_t id)
{
	size_t i;

	for (i = 0; i < prof->n_function; i++)
		if (prof->function[i]->id == id)
			return str(prof, prof->function[i]->name);
	cr_assert_fail("no function %" PRIu64, id);
	return NULL;
}

/* The pprof location for our location index @which (ids are ours + 1). */
static const Perftools__Profiles__Location *our_loc(const Perftools__Profiles__Profile *prof,
						    int which)
{
	return loc_by_id(prof, (uint64_t)ids[which] + 1);
}

/* A sample's frames leaf first, "a;b;c", inline lines expanded; "?" if unnamed. */
static void sample_frames(const Perftools__Profiles__Profile *prof,
			  const Perftools__Profiles__Sample *s, char *buf, size_t len)
{
	size_t i, j, n = 0;

	buf[0] = '\0';
	for (i = 0; i < s->n_location_id; i++) {
		const Perftools__Profiles__Location *l = loc_by_id(prof, s->location_id[i]);

		if (!l->n_line)
			n += snprintf(buf + n, len - n, "%s?", n ? ";" : "");
		for (j = 0; j < l->n_line; j++)
			n += snprintf(buf + n, len - n, "%s%s", n ? ";" : "",
				      fn_name(prof, l->line[j]->function_id));
		cr_assert_lt(n, len);
	}
}

static const Perftools__Profiles__Sample *find_sample(const Perftools__Profiles__Profile *prof,
						      const char *frames)
{
	char buf[512];
	size_t i;

	for (i = 0; i < prof->n_sample; i++) {
		sample_frames(prof, prof->sample[i], buf, sizeof(buf));
		if (!strcmp(buf, frames))
			return prof->sample[i];
	}
	cr_assert_fail("no sample with frames %s", frames);
	return NULL;
}

static void expect_labels(const Perftools__Profiles__Profile *prof,
			  const Perftools__Profiles__Sample *s, int64_t pid, const char *comm)
{
	cr_assert_eq(s->n_label, 2);
	cr_assert_str_eq(str(prof, s->label[0]->key), "pid");
	cr_assert_eq(s->label[0]->num, pid);
	cr_assert_eq(s->label[0]->str, 0);
	cr_assert_str_eq(str(prof, s->label[1]->key), "comm");
	cr_assert_str_eq(str(prof, s->label[1]->str), comm);
	cr_assert_eq(s->label[1]->num, 0);
}

Test(export_pprof, decodes_to_the_profile)
{
	struct profile *p = build_profile();
	Perftools__Profiles__Profile *prof = decode(write_profile(p, "decode.pb.gz"));
	const Perftools__Profiles__Sample *s;
	const Perftools__Profiles__Location *l;
	const Perftools__Profiles__Mapping *m;
	size_t i, j;

	/* Header. */
	cr_assert_geq(prof->n_string_table, 1);
	cr_assert_str_eq(prof->string_table[0], "");
	for (i = 0; i < prof->n_string_table; i++)
		for (j = i + 1; j < prof->n_string_table; j++)
			cr_assert_str_neq(prof->string_table[i], prof->string_table[j],
					  "string %zu duplicated at %zu", i, j);
	cr_assert_eq(prof->n_sample_type, 2);
	cr_assert_str_eq(str(prof, prof->sample_type[0]->type), "samples");
	cr_assert_str_eq(str(prof, prof->sample_type[0]->unit), "count");
	cr_assert_str_eq(str(prof, prof->sample_type[1]->type), "cpu");
	cr_assert_str_eq(str(prof, prof->sample_type[1]->unit), "nanoseconds");
	cr_assert_not_null(prof->period_type);
	cr_assert_str_eq(str(prof, prof->period_type->type), "cpu");
	cr_assert_str_eq(str(prof, prof->period_type->unit), "nanoseconds");
	cr_assert_eq(prof->period, (int64_t)PERIOD_NS);
	cr_assert_eq(prof->time_nanos, (int64_t)START_NS);
	cr_assert_eq(prof->duration_nanos, (int64_t)DURATION_NS);
	cr_assert_str_eq(str(prof, prof->default_sample_type), "cpu");

	/* Samples: merged, leaf first, values [count, count * period], labels. */
	cr_assert_eq(prof->n_sample, 5);
	s = find_sample(prof, "heavy;compute;main");
	cr_assert_eq(s->n_location_id, 2);
	cr_assert_eq(s->location_id[0], ids[L_HEAVY] + 1);
	cr_assert_eq(s->location_id[1], ids[L_MID] + 1);
	cr_assert_eq(s->n_value, 2);
	cr_assert_eq(s->value[0], 300);
	cr_assert_eq(s->value[1], 300 * (int64_t)PERIOD_NS);
	expect_labels(prof, s, 100, "app");
	s = find_sample(prof, "light;main");
	cr_assert_eq(s->value[0], 100);
	cr_assert_eq(s->value[1], 100 * (int64_t)PERIOD_NS);
	expect_labels(prof, s, 200, "worker");
	s = find_sample(prof, "ksys_write;do_syscall_64;light;main");
	cr_assert_eq(s->value[0], 50);
	expect_labels(prof, s, 200, "worker");
	s = find_sample(prof, "?;main");
	cr_assert_eq(s->value[0], 20);
	expect_labels(prof, s, 100, "app");
	s = find_sample(prof, "static_fn");
	cr_assert_eq(s->value[0], 7);
	expect_labels(prof, s, 300, "static");

	/* Locations: one per profile location, inline chain innermost first. */
	cr_assert_eq(prof->n_location, NLOC);
	l = our_loc(prof, L_MID);
	cr_assert_eq(l->n_line, 2);
	cr_assert_str_eq(fn_name(prof, l->line[0]->function_id), "compute");
	cr_assert_eq(l->line[0]->line, 31);
	cr_assert_str_eq(fn_name(prof, l->line[1]->function_id), "main");
	cr_assert_eq(l->line[1]->line, 12);
	cr_assert_eq(l->is_folded, 0);
	cr_assert_eq(our_loc(prof, L_UNSYM)->n_line, 0);

	/* main appears in two locations but is one function. */
	cr_assert_eq(prof->n_function, 7);

	/* Addresses: runtime form inside the mapping (see export_pprof.h). */
	cr_assert_eq(our_loc(prof, L_MAIN)->address, APP_START + 0x139);
	cr_assert_eq(our_loc(prof, L_HEAVY)->address, APP_START + 0x200);
	cr_assert_eq(our_loc(prof, L_UNSYM)->address, 0x7f0000001abcull);
	cr_assert_eq(our_loc(prof, L_STATIC)->address, 0x401020);
	cr_assert_eq(our_loc(prof, L_KWRITE)->address, 0xffffffff81205678ull);
	for (i = 0; i < prof->n_location; i++) {
		l = prof->location[i];
		cr_assert_neq(l->mapping_id, 0);
		m = map_by_id(prof, l->mapping_id);
		cr_assert(l->address >= m->memory_start && l->address < m->memory_limit,
			  "location %" PRIu64 " at %#" PRIx64 " outside [%#" PRIx64 ", %#" PRIx64
			  ")",
			  l->id, l->address, m->memory_start, m->memory_limit);
	}

	/* Mappings: app, libfoo, kernel, static. */
	cr_assert_eq(prof->n_mapping, 4);
	m = map_by_id(prof, our_loc(prof, L_HEAVY)->mapping_id);
	cr_assert_str_eq(str(prof, m->filename), APP);
	cr_assert_str_eq(str(prof, m->build_id), "abcdef0123");
	cr_assert_eq(m->memory_start, APP_START);
	cr_assert_eq(m->memory_limit, APP_END);
	cr_assert_eq(m->file_offset, APP_PGOFF);
	cr_assert(m->has_functions && m->has_filenames && m->has_line_numbers &&
		  m->has_inline_frames);
	cr_assert_eq(our_loc(prof, L_MAIN)->mapping_id, our_loc(prof, L_HEAVY)->mapping_id);
	m = map_by_id(prof, our_loc(prof, L_UNSYM)->mapping_id);
	cr_assert_str_eq(str(prof, m->filename), "/opt/sonde-test/libfoo.so");
	cr_assert_eq(m->build_id, 0);
	cr_assert_eq(m->has_functions, 0);
	m = map_by_id(prof, our_loc(prof, L_KSYS)->mapping_id);
	cr_assert_eq(our_loc(prof, L_KWRITE)->mapping_id, our_loc(prof, L_KSYS)->mapping_id);
	cr_assert_str_eq(str(prof, m->filename), "[kernel.kallsyms]");
	cr_assert_eq(m->memory_start, 0xffffffff81001000ull);
	cr_assert_eq(m->memory_limit, 0xffffffff81206000ull);
	cr_assert(m->has_functions);
	cr_assert_eq(m->has_filenames, 0);

	perftools__profiles__profile__free_unpacked(prof, NULL);
	profile__free(p);
}

Test(export_pprof, kernel_location_without_module_gets_kernel_mapping)
{
	struct profile *p = profile__new();
	struct profile_location k = {.address = 0xffffffff81000010ull,
				     .flags = PROFILE_LOC_KERNEL,
				     .nlines = 1,
				     .lines = {{"schedule", NULL, 0, 0}}};
	struct profile_location none = {.address = 0x1234};
	Perftools__Profiles__Profile *prof;
	const Perftools__Profiles__Location *l;
	uint32_t st[2];
	int id;

	cr_assert_not_null(p);
	id = profile__intern_location(p, &none);
	cr_assert_geq(id, 0);
	st[0] = id;
	id = profile__intern_location(p, &k);
	cr_assert_geq(id, 0);
	st[1] = id;
	cr_assert_eq(profile__add(p, 1, "k", st, 2, 3), 0);
	prof = decode(write_profile(p, "kernel.pb.gz"));

	cr_assert_eq(prof->n_mapping, 1);
	l = loc_by_id(prof, st[1] + 1);
	cr_assert_eq(l->mapping_id, prof->mapping[0]->id);
	cr_assert_str_eq(str(prof, prof->mapping[0]->filename), "[kernel.kallsyms]");
	/* An address in no mapping stays as it is, with no mapping. */
	l = loc_by_id(prof, st[0] + 1);
	cr_assert_eq(l->mapping_id, 0);
	cr_assert_eq(l->address, 0x1234);
	cr_assert_eq(prof->n_sample, 1);
	expect_labels(prof, prof->sample[0], 1, "k");

	perftools__profiles__profile__free_unpacked(prof, NULL);
	profile__free(p);
}

Test(export_pprof, address_guesses_stay_in_mapping)
{
	/* lld-style layout: file offset 0x600 of a one-page mapping at vaddr 0x1600. */
	struct profile_location lld = {.module = "/x/lld.so",
				       .address = 0x1600,
				       .map_start = 0x7f0000010000ull,
				       .map_end = 0x7f0000011000ull};
	struct profile *p = profile__new();
	Perftools__Profiles__Profile *prof;
	uint32_t st[1];
	int id;

	cr_assert_not_null(p);
	id = profile__intern_location(p, &lld);
	cr_assert_geq(id, 0);
	st[0] = id;
	cr_assert_eq(profile__add(p, 5, "x", st, 1, 1), 0);
	prof = decode(write_profile(p, "lld.pb.gz"));
	cr_assert_eq(prof->location[0]->address, 0x7f0000010600ull);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	profile__free(p);
}

/* ---- the real consumers ---- */

/*
 * The flat and cum columns of -top's row for @fn, as printed. Rows read
 * "flat flat% sum% cum cum% name".
 */
static void top_row(const char *top, const char *fn, char *flat, char *cum)
{
	const char *line = top;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		char f[64], fp[64], sp[64], c[64], cp[64], name[256];

		if (sscanf(line, "%63s %63s %63s %63s %63s %255[^\n]", f, fp, sp, c, cp, name) ==
			    6 &&
		    !strcmp(name, fn)) {
			strcpy(flat, f);
			strcpy(cum, c);
			return;
		}
		line = nl ? nl + 1 : NULL;
	}
	cr_assert_fail("no row for %s in:\n%s", fn, top);
}

static void expect_top(const char *top, const char *fn, const char *flat, const char *cum)
{
	char f[64], c[64];

	top_row(top, fn, f, c);
	cr_expect_str_eq(f, flat, "%s flat", fn);
	cr_expect_str_eq(c, cum, "%s cum", fn);
}

Test(export_pprof, go_tool_pprof_top, .timeout = 300)
{
	struct profile *p = build_profile();
	const char *file = write_profile(p, "top.pb.gz");
	char *out;

	out = pprof_run(file, "-top", "-nodecount=50", "-sample_index=samples");
	cr_assert(strstr(out, "Type: samples\n"), "%s", out);
	cr_assert(strstr(out, "of 477 total"), "%s", out);
	expect_top(out, "heavy", "300", "300");
	expect_top(out, "light", "100", "150");
	expect_top(out, "ksys_write", "50", "50");
	expect_top(out, "do_syscall_64", "0", "50");
	expect_top(out, "static_fn", "7", "7");
	/* Unsymbolized: pprof names it after the mapping's file. */
	expect_top(out, "[libfoo.so]", "20", "20");
	expect_top(out, "main", "0", "470");
	/* pprof marks frames it knows were inlined. */
	expect_top(out, "compute (inline)", "0", "300");
	free(out);

	/* The default sample type is CPU time: 300 samples * 10 ms. */
	out = pprof_run(file, "-top", "-nodecount=50", NULL);
	cr_assert(strstr(out, "Type: cpu\n"), "%s", out);
	cr_assert(strstr(out, "of 4770ms total"), "%s", out);
	expect_top(out, "heavy", "3000ms", "3000ms");
	expect_top(out, "light", "1000ms", "1500ms");
	free(out);
	profile__free(p);
}

/*
 * CPU and off-CPU in one profile (-e cpu,offcpu): three pprof values per
 * sample (samples/count, cpu/nanoseconds, off_cpu/nanoseconds), cpu the
 * default; go tool pprof reads each type by -sample_index.
 */
Test(export_pprof, two_sample_types_in_one_file, .timeout = 300)
{
	struct profile *p = profile__new();
	uint32_t heavy, light;
	int off;
	const char *file;
	Perftools__Profiles__Profile *prof;
	char *out;

	cr_assert_not_null(p);
	cr_assert_eq(profile__add_type(p, "samples", "count"), 0);
	off = profile__add_type(p, "off_cpu", "nanoseconds");
	cr_assert_eq(off, 1);
	profile__set_period_ns(p, PERIOD_NS);
	heavy = profile__intern_location(p, &locs[L_HEAVY]);
	light = profile__intern_location(p, &locs[L_LIGHT]);
	cr_assert_eq(profile__add(p, 1, "app", &heavy, 1, 30), 0);
	cr_assert_geq(profile__add_value(p, off, 1, "app", &light, 1, 2000000000), 0);
	cr_assert_geq(profile__add_value(p, off, 1, "app", &heavy, 1, 500000000), 0);
	file = write_profile(p, "two.pb.gz");

	prof = decode(file);
	cr_assert_eq(prof->n_sample_type, 3);
	cr_expect_str_eq(str(prof, prof->sample_type[0]->type), "samples");
	cr_expect_str_eq(str(prof, prof->sample_type[1]->type), "cpu");
	cr_expect_str_eq(str(prof, prof->sample_type[2]->type), "off_cpu");
	cr_expect_str_eq(str(prof, prof->sample_type[2]->unit), "nanoseconds");
	cr_expect_str_eq(str(prof, prof->default_sample_type), "cpu");
	cr_assert_eq(prof->n_sample, 2);
	cr_expect_eq(prof->sample[0]->n_value, 3);
	cr_expect_eq(prof->sample[0]->value[0], 30);
	cr_expect_eq(prof->sample[0]->value[1], 30 * PERIOD_NS);
	cr_expect_eq(prof->sample[0]->value[2], 500000000);
	cr_expect_eq(prof->sample[1]->value[0], 0);
	cr_expect_eq(prof->sample[1]->value[2], 2000000000);
	perftools__profiles__profile__free_unpacked(prof, NULL);

	out = pprof_run(file, "-top", "-sample_index=off_cpu", NULL);
	cr_expect(strstr(out, "Type: off_cpu\n"), "%s", out);
	cr_expect(strstr(out, "of 2500ms total"), "%s", out);
	expect_top(out, "light", "2000ms", "2000ms");
	expect_top(out, "heavy", "500ms", "500ms");
	free(out);
	out = pprof_run(file, "-top", NULL, NULL);
	cr_expect(strstr(out, "Type: cpu\n"), "%s", out);
	expect_top(out, "heavy", "300ms", "300ms");
	free(out);
	profile__free(p);
}

/* Allocations alone: alloc_space/bytes is type 0, default and period type. */
Test(export_pprof, alloc_types_without_cpu, .timeout = 300)
{
	struct profile *p = profile__new();
	uint32_t heavy;
	Perftools__Profiles__Profile *prof;

	cr_assert_eq(profile__add_type(p, "alloc_space", "bytes"), 0);
	cr_assert_eq(profile__add_type(p, "alloc_objects", "count"), 1);
	heavy = profile__intern_location(p, &locs[L_HEAVY]);
	cr_assert_eq(profile__add_value(p, 0, 1, "app", &heavy, 1, 4096), 0);
	cr_assert_eq(profile__stack_add(p, 0, 1, 2), 0);
	prof = decode(write_profile(p, "alloc.pb.gz"));
	cr_assert_eq(prof->n_sample_type, 2);
	cr_expect_str_eq(str(prof, prof->sample_type[0]->type), "alloc_space");
	cr_expect_str_eq(str(prof, prof->sample_type[1]->unit), "count");
	cr_expect_str_eq(str(prof, prof->default_sample_type), "alloc_space");
	cr_expect_str_eq(str(prof, prof->period_type->type), "alloc_space");
	cr_expect_eq(prof->sample[0]->value[0], 4096);
	cr_expect_eq(prof->sample[0]->value[1], 2);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	profile__free(p);
}

Test(export_pprof, go_tool_pprof_traces, .timeout = 300)
{
	struct profile *p = build_profile();
	char *out = pprof_run(write_profile(p, "traces.pb.gz"), "-traces", "-sample_index=samples",
			      NULL);

	/* Labels, then the leaf at the top and inline frames expanded. */
	cr_assert(strstr(out, "      comm:  app\n"
			      "       pid:  100\n"
			      "       300   heavy\n"
			      "             compute (inline)\n"
			      "             main\n"
			      "-----------+"),
		  "%s", out);
	cr_assert(strstr(out, "      comm:  worker\n"
			      "       pid:  200\n"
			      "        50   ksys_write\n"
			      "             do_syscall_64\n"
			      "             light\n"
			      "             main\n"
			      "-----------+"),
		  "%s", out);
	cr_assert(strstr(out, "       pid:  300\n"
			      "         7   static_fn\n"
			      "-----------+"),
		  "%s", out);
	free(out);
	profile__free(p);
}

Test(export_pprof, go_tool_pprof_raw_addresses, .timeout = 300)
{
	struct profile *p = build_profile();
	char *out = pprof_run(write_profile(p, "raw.pb.gz"), "-raw", NULL, NULL);
	char want[256];

	/* Runtime addresses, each inside its mapping's range. */
	snprintf(want, sizeof(want), "0x%llx M=", APP_START + 0x200);
	cr_assert(strstr(out, want), "%s", out);
	cr_assert(strstr(out, "0x7f0000001abc M="), "%s", out);
	cr_assert(strstr(out, "0xffffffff81205678 M="), "%s", out);
	cr_assert(strstr(out, "0x401020 M="), "%s", out);
	snprintf(want, sizeof(want), "0x%llx/0x%llx/0x%llx %s abcdef0123", APP_START, APP_END,
		 APP_PGOFF, APP);
	cr_assert(strstr(out, want), "want %s in:\n%s", want, out);
	free(out);
	profile__free(p);
}

/* A function of this very binary for pprof to find on its own. */
__attribute__((noinline)) int pprof_probe_target(int x)
{
	return x * 3 + 1;
}

static int find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
	/* The first object is the executable. */
	*(uint64_t *)ctx = info->dlpi_addr;
	return 1;
}

/*
 * The strongest check of the address choice: leave a location of this
 * test binary unsymbolized and let pprof symbolize it from the ELF file
 * through the Mapping. It only finds our function if address, mapping
 * start and offset agree.
 */
Test(export_pprof, go_tool_pprof_symbolizes_our_address, .timeout = 300)
{
	uint64_t pc = (uint64_t)(uintptr_t)pprof_probe_target + 4, bias = 0;
	struct profile_location loc = {0};
	char exe[4096], line[4096];
	struct profile *p;
	uint32_t id[1];
	ssize_t n;
	FILE *maps;
	char *out;
	int r;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	dl_iterate_phdr(find_self, &bias);
	maps = fopen("/proc/self/maps", "r");
	cr_assert_not_null(maps);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long s, e, off;

		if (sscanf(line, "%llx-%llx %*s %llx", &s, &e, &off) == 3 && pc >= s && pc < e) {
			loc.map_start = s;
			loc.map_end = e;
			loc.map_pgoff = off;
		}
	}
	fclose(maps);
	cr_assert_neq(loc.map_end, 0);
	loc.module = exe;
	loc.address = pc - bias;
	p = profile__new();
	cr_assert_not_null(p);
	r = profile__intern_location(p, &loc);
	cr_assert_geq(r, 0);
	id[0] = r;
	cr_assert_eq(profile__add(p, 1, "self", id, 1, 9), 0);
	cr_assert_eq(pprof_probe_target(1), 4);

	out = pprof_run(write_profile(p, "self.pb.gz"), "-top", "-sample_index=samples", NULL);
	expect_top(out, "pprof_probe_target", "9", "9");
	free(out);
	profile__free(p);
}

Test(export_pprof, protoc_decodes_with_schema, .timeout = 120)
{
	const char *protoc = find_in_path("protoc", NULL);
	struct profile *p = build_profile();
	char raw_path[4200], cmd[12800], *out = NULL, *err = NULL;
	size_t len;
	uint8_t *raw;
	FILE *f;
	int rc;

	if (!protoc) {
		profile__free(p);
		skip_or_fail("protoc (protobuf-compiler)");
		return;
	}
	raw = gunzip(write_profile(p, "protoc.pb.gz"), &len);
	snprintf(raw_path, sizeof(raw_path), "%s/protoc.pb", test_tmpdir());
	f = fopen(raw_path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(raw, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		 "exec '%s' --proto_path='%s' --decode perftools.profiles.Profile profile.proto "
		 "< '%s'",
		 protoc, source_path("proto"), raw_path);
	rc = run_sh(cmd, &out, &err);
	cr_assert_eq(rc, 0, "protoc --decode failed: %s", err);
	cr_assert(strstr(out, "string_table: \"heavy\"\n"), "%s", out);
	cr_assert(strstr(out, "period: 10000000\n"), "%s", out);
	cr_assert(strstr(out, "time_nanos: 1700000000123456789\n"), "%s", out);
	cr_assert(strstr(out, "  value: 300\n  value: 3000000000\n"), "%s", out);
	cr_assert(strstr(out, "memory_start: 93824992235520\n"), "%s", out);
	free(raw);
	free(out);
	free(err);
	profile__free(p);
}

Test(export_pprof, empty_profile_opens_in_pprof, .timeout = 300)
{
	struct profile *p = profile__new();
	Perftools__Profiles__Profile *prof;
	const char *file;
	char *out;

	cr_assert_not_null(p);
	file = write_profile(p, "empty.pb.gz");
	prof = decode(file);
	cr_assert_eq(prof->n_sample, 0);
	cr_assert_eq(prof->n_location, 0);
	cr_assert_eq(prof->n_mapping, 0);
	cr_assert_str_eq(prof->string_table[0], "");
	cr_assert_eq(prof->n_sample_type, 2);
	perftools__profiles__profile__free_unpacked(prof, NULL);

	out = pprof_run(file, "-top", NULL, NULL);
	cr_assert(strstr(out, "Type: cpu\n"), "%s", out);
	free(out);
	profile__free(p);
}

Test(export_pprof, write_error_is_reported)
{
	struct profile *p = build_profile();
	FILE *f = fopen("/dev/full", "wb");

	if (!f) {
		profile__free(p);
		cr_skip_test("no /dev/full");
	}
	/* Unbuffered, so the failure shows in pprof__write, not in fclose. */
	setvbuf(f, NULL, _IONBF, 0);
	cr_assert_eq(pprof__write(p, f), -ENOSPC);
	fclose(f);
	profile__free(p);
}

/* The thread of a stack, when known, is a "tid" label beside pid and comm. */
Test(export_pprof, tid_label_when_known)
{
	struct profile *p = profile__new();
	struct profile_location l = {.module = APP,
				     .address = 0x1200,
				     .map_start = APP_START,
				     .map_end = APP_END,
				     .map_pgoff = APP_PGOFF,
				     .nlines = 1,
				     .lines = {{"heavy", "app.c", 25, 0}}};
	Perftools__Profiles__Profile *prof;
	const char *file;
	uint32_t id;
	char *out;
	size_t i;

	cr_assert_not_null(p);
	id = profile__intern_location(p, &l);
	cr_assert_eq(profile__add_thread(p, 100, 101, "app", &id, 1, 4), 0);
	cr_assert_eq(profile__add_thread(p, 100, 102, "app", &id, 1, 6), 0);
	cr_assert_eq(profile__add(p, 100, "app", &id, 1, 1), 0);
	file = write_profile(p, "tid.pb.gz");
	prof = decode(file);
	cr_assert_eq(prof->n_sample, 3);
	for (i = 0; i < 3; i++) {
		const Perftools__Profiles__Sample *s = prof->sample[i];
		int64_t want = s->value[0] == 4 ? 101 : s->value[0] == 6 ? 102 : 0;

		if (!want) {
			/* Unknown thread: no tid label at all. */
			expect_labels(prof, s, 100, "app");
			continue;
		}
		cr_assert_eq(s->n_label, 3);
		cr_assert_str_eq(str(prof, s->label[0]->key), "pid");
		cr_assert_eq(s->label[0]->num, 100);
		cr_assert_str_eq(str(prof, s->label[1]->key), "tid");
		cr_assert_eq(s->label[1]->num, want);
		cr_assert_str_eq(str(prof, s->label[2]->key), "comm");
		cr_assert_str_eq(str(prof, s->label[2]->str), "app");
	}
	perftools__profiles__profile__free_unpacked(prof, NULL);

	out = pprof_run(file, "-traces", "-sample_index=samples", NULL);
	cr_assert(strstr(out, "       pid:  100\n"
			      "       tid:  102\n"
			      "         6   heavy\n"),
		  "%s", out);
	free(out);
	/* pprof selects by it: thread 101 alone has 4 of the 11 samples. */
	out = pprof_run(file, "-top", "-sample_index=samples", "-tagfocus=tid=101");
	cr_assert(strstr(out, "accounting for 4, 36.36% of 11 total"), "%s", out);
	free(out);
	profile__free(p);
}

/*
 * mapping[0] is the main executable, which pprof names as "File:", even
 * when the dynamic loader and libc were seen first and weigh more.
 */
Test(export_pprof, main_executable_is_mapping_0)
{
	static const char *const files[] = {"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
					    "/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/node"};
	struct profile *p = profile__new();
	Perftools__Profiles__Profile *prof;
	uint32_t ids3[3];
	const char *file;
	char *out;
	size_t i;

	cr_assert_not_null(p);
	for (i = 0; i < 3; i++) {
		struct profile_location l = {.module = files[i],
					     .address = 0x1000 + i,
					     .map_start = 0x7f0000000000ull + (i << 20),
					     .map_end = 0x7f0000100000ull + (i << 20),
					     .map_pgoff = 0x1000,
					     .nlines = 1};

		l.lines[0].function = i == 0 ? "_dl_start" : i == 1 ? "memcpy" : "main";
		ids3[i] = profile__intern_location(p, &l);
	}
	cr_assert_eq(profile__add(p, 1, "node", &ids3[0], 1, 50), 0);
	cr_assert_eq(profile__add(p, 1, "node", &ids3[1], 1, 40), 0);
	cr_assert_eq(profile__add(p, 1, "node", &ids3[2], 1, 10), 0);
	file = write_profile(p, "main.pb.gz");
	prof = decode(file);
	cr_assert_eq(prof->n_mapping, 3);
	cr_assert_str_eq(str(prof, prof->mapping[0]->filename), "/usr/bin/node");
	cr_assert_str_eq(str(prof, prof->mapping[1]->filename), files[0]);
	cr_assert_str_eq(str(prof, prof->mapping[2]->filename), files[1]);
	/* Ids follow the order, and every location still points at its own file. */
	for (i = 0; i < 3; i++) {
		const Perftools__Profiles__Location *l = loc_by_id(prof, ids3[i] + 1);

		cr_assert_eq(prof->mapping[i]->id, i + 1);
		cr_assert_str_eq(str(prof, map_by_id(prof, l->mapping_id)->filename), files[i]);
	}
	perftools__profiles__profile__free_unpacked(prof, NULL);
	out = pprof_run(file, "-top", NULL, NULL);
	cr_assert(strstr(out, "File: node\n"), "%s", out);
	free(out);
	profile__free(p);
}

/* A stack sampled in a probed call: span_id, trace_id (hex, as in the spans) and function. */
Test(export_pprof, call_labels, .timeout = 300)
{
	struct profile *p = profile__new();
	struct profile_location l = {.module = APP,
				     .address = 0x1200,
				     .map_start = APP_START,
				     .map_end = APP_END,
				     .map_pgoff = APP_PGOFF,
				     .nlines = 1,
				     .lines = {{"slow_spin", "app.c", 25, 0}}};
	struct profile_key k = {.pid = 100,
				.tid = 101,
				.comm = "app",
				.span_id = 0x00c0ffee00000001ull,
				.trace_id_hi = 0x1234,
				.trace_id_lo = 0x00c0ffee00000001ull,
				.function = "handle_request"};
	Perftools__Profiles__Profile *prof;
	const char *file;
	uint32_t id;
	char *out;

	cr_assert_not_null(p);
	id = profile__intern_location(p, &l);
	cr_assert_geq(profile__add_keyed(p, 0, &k, &id, 1, 7), 0);
	/* The same frames outside a call stay another sample, without those labels. */
	cr_assert_eq(profile__add_thread(p, 100, 101, "app", &id, 1, 2), 0);
	file = write_profile(p, "calls.pb.gz");
	prof = decode(file);
	cr_assert_eq(prof->n_sample, 2);
	for (size_t i = 0; i < 2; i++) {
		const Perftools__Profiles__Sample *s = prof->sample[i];

		if (s->value[0] == 2) {
			cr_assert_eq(s->n_label, 3);
			continue;
		}
		cr_assert_eq(s->value[0], 7);
		cr_assert_eq(s->n_label, 6);
		cr_assert_str_eq(str(prof, s->label[3]->key), "span_id");
		cr_assert_str_eq(str(prof, s->label[3]->str), "00c0ffee00000001");
		cr_assert_str_eq(str(prof, s->label[4]->key), "trace_id");
		cr_assert_str_eq(str(prof, s->label[4]->str), "000000000000123400c0ffee00000001");
		cr_assert_str_eq(str(prof, s->label[5]->key), "function");
		cr_assert_str_eq(str(prof, s->label[5]->str), "handle_request");
	}
	perftools__profiles__profile__free_unpacked(prof, NULL);
	/* pprof selects a call's samples by its span. */
	out = pprof_run(file, "-top", "-sample_index=samples", "-tagfocus=span_id=00c0ffee00000001");
	cr_assert(strstr(out, "accounting for 7, 77.78% of 9 total"), "%s", out);
	free(out);
	profile__free(p);
}
