// SPDX-License-Identifier: MIT
/*
 * pprof back into a profile: our own files round-trip exactly (frames,
 * labels, addresses, mappings); profiles of other writers (several sample
 * types, no comm label, uncompressed, Go's runtime/pprof) are read; broken
 * ones fail with -EINVAL.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "profile.pb-c.h"
#include "export/folded.h"
#include "export/load.h"
#include "export/pprof.h"
#include "export/pprof_read.h"
#include "model/profile.h"

static const char *write_pprof(const struct profile *p, const struct pprof_opts *o,
			       const char *name)
{
	const char *path = tmp_path(name);
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(pprof__write_opts(p, f, o), 0);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static struct profile *load(const char *path, const char *type, struct profile_load_info *info)
{
	struct profile *p = profile__new();

	cr_assert_not_null(p);
	cr_assert_eq(profile_load(path, type, p, info), 0, "cannot load %s", path);
	return p;
}

/* Two processes, threads, inline frames, kernel, unsymbolized, no-PIE. */
static struct profile *sample_profile(void)
{
	static const struct profile_location locs[] = {
		{.module = "/opt/app",
		 .build_id = "abc1",
		 .address = 0x1139,
		 .map_start = 0x555555555000ull,
		 .map_end = 0x555555556000ull,
		 .map_pgoff = 0x1000,
		 .nlines = 2,
		 .lines = {{"compute", "app.c", 31, 1}, {"main", "app.c", 12, 0}}},
		{.module = "/opt/app",
		 .build_id = "abc1",
		 .address = 0x1200,
		 .map_start = 0x555555555000ull,
		 .map_end = 0x555555556000ull,
		 .map_pgoff = 0x1000,
		 .nlines = 1,
		 .lines = {{"heavy", "app.c", 25, 0}}},
		{.module = "/opt/libfoo.so",
		 .address = 0x1abc,
		 .map_start = 0x7f0000001000ull,
		 .map_end = 0x7f0000003000ull,
		 .map_pgoff = 0x1000},
		{.module = "[kernel.kallsyms]",
		 .address = 0xffffffff81001234ull,
		 .flags = PROFILE_LOC_KERNEL,
		 .nlines = 1,
		 .lines = {{"do_syscall_64", NULL, 0, 0}}},
		{.module = "/opt/static",
		 .address = 0x401020,
		 .map_start = 0x401000,
		 .map_end = 0x402000,
		 .map_pgoff = 0x1000,
		 .nlines = 1,
		 .lines = {{"static_fn", "static.c", 7, 0}}},
	};
	struct profile *p = profile__new();
	uint32_t id[5];

	profile__set_period_ns(p, 10000000);
	profile__set_time(p, 1700000000123456789ull, 5000000000ull);
	for (int i = 0; i < 5; i++)
		id[i] = profile__intern_location(p, &locs[i]);
	{
		uint32_t s1[] = {id[0], id[1]}, s2[] = {id[0], id[2]}, s3[] = {id[0], id[1], id[3]};

		cr_assert_eq(profile__add_thread(p, 100, 101, "app", s1, 2, 300), 0);
		cr_assert_eq(profile__add_thread(p, 100, 102, "app", s1, 2, 30), 0);
		cr_assert_eq(profile__add(p, 100, "app", s2, 2, 20), 0);
		cr_assert_eq(profile__add_thread(p, 200, 200, "app", s3, 3, 50), 0);
		cr_assert_eq(profile__add_thread(p, 300, 300, "static", &id[4], 1, 7), 0);
	}
	return p;
}

static const struct profile_stack *stack_with(const struct profile *p, uint32_t pid, uint32_t tid,
					      uint64_t count)
{
	for (size_t i = 0; i < profile__stack_count(p); i++) {
		const struct profile_stack *st = profile__stack(p, i);

		if (st->pid == pid && st->tid == tid && st->count == count)
			return st;
	}
	cr_assert_fail("no stack pid %u tid %u count %" PRIu64, pid, tid, count);
	return NULL;
}

Test(pprof_read, our_profile_round_trips)
{
	static const char *const addrs[] = {
		"0x555555555139 M=", "0x555555555200 M=", "0x7f0000001abc M=",
		"0xffffffff81001234 M=", "0x401020 M="};
	struct profile *p = sample_profile(), *q, *r;
	struct profile_load_info info;
	const struct profile_stack *st;
	const struct profile_location *l;
	char *f1, *f2, *raw1, *raw2;
	size_t n1, n2;

	q = load(write_pprof(p, NULL, "rt1.pb.gz"), NULL, &info);
	cr_assert_eq(info.format, PROFILE_FORMAT_PPROF);
	cr_assert_eq(info.gzipped, 1);
	cr_assert_str_eq(info.sample_type, "samples");
	cr_assert_str_eq(info.sample_unit, "count");
	cr_assert_str_eq(info.types, "samples/count, cpu/nanoseconds");
	cr_assert_eq(info.samples, 5);
	cr_assert_eq(profile__period_ns(q), 10000000);
	cr_assert_eq(profile__start_unix_ns(q), 1700000000123456789ull);
	cr_assert_eq(profile__duration_ns(q), 5000000000ull);
	cr_assert_eq(profile__total(q), 407);
	f1 = folded_text(p);
	f2 = folded_text(q);
	cr_assert_str_eq(f2, f1);

	/* Labels: pid, tid (0 when it was unknown), comm. */
	st = stack_with(q, 100, 101, 300);
	cr_assert_str_eq(st->comm, "app");
	stack_with(q, 100, 102, 30);
	stack_with(q, 100, 0, 20);
	st = stack_with(q, 300, 300, 7);
	cr_assert_str_eq(st->comm, "static");
	/* Locations: the file offset and mapping, kernel absolute. */
	st = stack_with(q, 200, 200, 50);
	l = profile__location(q, st->locs[0]);
	cr_assert_str_eq(l->module, "/opt/app");
	cr_assert_str_eq(l->build_id, "abc1");
	cr_assert_eq(l->address, 0x1139);
	cr_assert_eq(l->map_start, 0x555555555000ull);
	cr_assert_eq(l->nlines, 2);
	cr_assert_str_eq(l->lines[0].function, "compute");
	cr_assert_eq(l->lines[0].inlined, 1);
	cr_assert_str_eq(l->lines[0].file, "app.c");
	cr_assert_eq(l->lines[0].line, 31);
	cr_assert_eq(l->lines[1].inlined, 0);
	l = profile__location(q, st->locs[2]);
	cr_assert_eq(l->flags, PROFILE_LOC_KERNEL);
	cr_assert_eq(l->address, 0xffffffff81001234ull);

	/*
	 * Written again it reads the same in go tool pprof (-raw: every
	 * sample's values, labels and addresses with their mappings); and
	 * that file is a fixed point, the same byte for byte once more.
	 */
	r = load(write_pprof(q, NULL, "rt2.pb.gz"), NULL, &info);
	write_pprof(r, NULL, "rt3.pb.gz");
	raw1 = read_file(tmp_path("rt2.pb.gz"), &n1);
	raw2 = read_file(tmp_path("rt3.pb.gz"), &n2);
	cr_assert_eq(n1, n2);
	cr_assert_eq(memcmp(raw1, raw2, n1), 0, "the rewritten pprof differs");
	free(raw1);
	free(raw2);
	raw1 = pprof_run(tmp_path("rt1.pb.gz"), "-traces", NULL, NULL);
	raw2 = pprof_run(tmp_path("rt2.pb.gz"), "-traces", NULL, NULL);
	cr_assert_str_eq(raw2, raw1);
	cr_assert(strstr(raw1, "       tid:  101\n"), "%s", raw1);
	free(raw1);
	free(raw2);
	raw1 = pprof_run(tmp_path("rt1.pb.gz"), "-raw", NULL, NULL);
	raw2 = pprof_run(tmp_path("rt2.pb.gz"), "-raw", NULL, NULL);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		cr_assert(strstr(raw1, addrs[i]) && strstr(raw2, addrs[i]),
			  "%s not in both:\n%s\n%s", addrs[i], raw1, raw2);
	free(raw1);
	free(raw2);
	free(f1);
	free(f2);
	profile__free(r);
	profile__free(q);
	profile__free(p);
}

/* The pb of a profile written by another tool: built field by field. */
struct foreign {
	Perftools__Profiles__Profile prof;
	Perftools__Profiles__ValueType vt[2], *vtp[2];
	Perftools__Profiles__Mapping map, *mapp[1];
	Perftools__Profiles__Function fn[2], *fnp[2];
	Perftools__Profiles__Line line[2], *linep[2];
	Perftools__Profiles__Location loc[2], *locp[2];
	Perftools__Profiles__Sample s[3], *sp[3];
	uint64_t ids[3][2];
	int64_t vals[3][2];
	char *strs[8];
};

/*
 * Go-like: two sample types (alloc_objects/count, alloc_space/bytes), no
 * labels, ids not 1..n, one sample with a negative value (a diff).
 */
static const char *write_foreign(const char *name)
{
	static char *strings[] = {"",	   "alloc_objects", "count",	 "alloc_space",
				  "bytes", "main.leak",	    "main.main", "/usr/bin/server"};
	struct foreign g;
	const char *path = tmp_path(name);
	size_t len;
	uint8_t *buf;
	FILE *f;

	perftools__profiles__profile__init(&g.prof);
	for (int i = 0; i < 8; i++)
		g.strs[i] = strings[i];
	g.prof.string_table = g.strs;
	g.prof.n_string_table = 8;
	for (int i = 0; i < 2; i++) {
		perftools__profiles__value_type__init(&g.vt[i]);
		g.vt[i].type = 1 + 2 * i;
		g.vt[i].unit = 2 + 2 * i;
		g.vtp[i] = &g.vt[i];
	}
	g.prof.sample_type = g.vtp;
	g.prof.n_sample_type = 2;
	perftools__profiles__mapping__init(&g.map);
	g.map.id = 7;
	g.map.memory_start = 0x400000;
	g.map.memory_limit = 0x800000;
	g.map.filename = 7;
	g.map.has_functions = 1;
	g.mapp[0] = &g.map;
	g.prof.mapping = g.mapp;
	g.prof.n_mapping = 1;
	for (int i = 0; i < 2; i++) {
		perftools__profiles__function__init(&g.fn[i]);
		g.fn[i].id = 40 + i;
		g.fn[i].name = 5 + i;
		g.fnp[i] = &g.fn[i];
		perftools__profiles__line__init(&g.line[i]);
		g.line[i].function_id = 40 + i;
		g.line[i].line = 10 * (i + 1);
		g.linep[i] = &g.line[i];
		perftools__profiles__location__init(&g.loc[i]);
		g.loc[i].id = 90 + i;
		g.loc[i].mapping_id = 7;
		g.loc[i].address = 0x401000 + 0x100 * i;
		g.loc[i].line = &g.linep[i];
		g.loc[i].n_line = 1;
		g.locp[i] = &g.loc[i];
	}
	g.prof.function = g.fnp;
	g.prof.n_function = 2;
	g.prof.location = g.locp;
	g.prof.n_location = 2;
	for (int i = 0; i < 3; i++) {
		perftools__profiles__sample__init(&g.s[i]);
		g.ids[i][0] = 90; /* main.leak, called by */
		g.ids[i][1] = 91; /* main.main */
		g.s[i].location_id = g.ids[i];
		g.s[i].n_location_id = 2;
		g.vals[i][0] = i == 2 ? -1 : 5 * (i + 1);
		g.vals[i][1] = i == 2 ? -4096 : 1024 * (i + 1);
		g.s[i].value = g.vals[i];
		g.s[i].n_value = 2;
		g.sp[i] = &g.s[i];
	}
	g.prof.sample = g.sp;
	g.prof.n_sample = 3;
	len = perftools__profiles__profile__get_packed_size(&g.prof);
	buf = malloc(len);
	cr_assert_not_null(buf);
	perftools__profiles__profile__pack(&g.prof, buf);
	/* Uncompressed: pprof reads both. */
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(buf);
	return path;
}

Test(pprof_read, other_writers_sample_types_and_no_labels)
{
	const char *path = write_foreign("go-like.pb");
	struct profile_load_info info;
	struct profile *p, *q;
	char *text;

	/* The first sample type by default; the negative sample is left out. */
	p = load(path, NULL, &info);
	cr_assert_eq(info.gzipped, 0);
	cr_assert_str_eq(info.sample_type, "alloc_objects");
	cr_assert_str_eq(info.types, "alloc_objects/count, alloc_space/bytes");
	cr_assert_eq(info.samples, 2);
	cr_assert_eq(info.skipped, 1);
	cr_assert_eq(profile__total(p), 15);
	/* No comm label: the root is named after the main file. */
	text = folded_text(p);
	cr_assert_str_eq(text, "server;main.main;main.leak 15\n");
	free(text);
	/* Not CPU time: no period. */
	cr_assert_eq(profile__period_ns(p), 0);

	q = load(path, "alloc_space", &info);
	cr_assert_str_eq(info.sample_type, "alloc_space");
	cr_assert_str_eq(info.sample_unit, "bytes");
	cr_assert_eq(profile__total(q), 3072);
	cr_assert_str_eq(profile__location(q, profile__stack(q, 0)->locs[1])->module,
			 "/usr/bin/server");
	cr_assert_eq(profile__location(q, profile__stack(q, 0)->locs[1])->address, 0x1000);
	profile__free(q);
	profile__free(p);

	p = profile__new();
	cr_assert_eq(profile_load(path, "inuse_space", p, &info), -EINVAL);
	profile__free(p);
}

/* One sample type written as itself, and read back by go tool pprof. */
Test(pprof_read, single_type_written_back)
{
	const char *path = write_foreign("go-like2.pb");
	struct pprof_opts o = {.sample_type = "alloc_space", .sample_unit = "bytes"};
	struct profile_load_info info;
	struct profile *p = load(path, "alloc_space", &info), *q;
	const char *out = write_pprof(p, &o, "space.pb.gz");
	char *top;

	q = load(out, NULL, &info);
	cr_assert_str_eq(info.types, "alloc_space/bytes");
	cr_assert_eq(profile__total(q), 3072);
	top = pprof_run(out, "-top", NULL, NULL);
	cr_assert(strstr(top, "File: server\n"), "%s", top);
	cr_assert(strstr(top, "Type: alloc_space\n"), "%s", top);
	cr_assert(strstr(top, "3kB, 100% of 3kB total"), "%s", top);
	cr_assert(strstr(top, "3kB   100%   100%        3kB   100%  main.leak\n"), "%s", top);
	free(top);
	profile__free(q);
	profile__free(p);
}

static int load_bytes(const void *data, size_t len, const char *name)
{
	const char *path = tmp_path(name);
	struct profile_load_info info;
	struct profile *p = profile__new();
	FILE *f = fopen(path, "wb");
	int err;

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	err = profile_load(path, NULL, p, &info);
	profile__free(p);
	return err;
}

Test(pprof_read, broken_profiles_fail)
{
	/* Not protobuf at all (0xff is no valid tag here). */
	static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
	/* sample_type {type: 9} but a string table of one: index out of range. */
	static const uint8_t badidx[] = {0x0a, 0x02, 0x08, 0x09, 0x32, 0x00};
	/* A valid string table but no sample types. */
	static const uint8_t notypes[] = {0x32, 0x00};

	cr_assert_eq(load_bytes(junk, sizeof(junk), "junk.pb"), -EINVAL);
	cr_assert_eq(load_bytes(badidx, sizeof(badidx), "badidx.pb"), -EINVAL);
	cr_assert_eq(load_bytes(notypes, sizeof(notypes), "notypes.pb"), -EINVAL);
}

/* The flat column of @fn's row in go tool pprof -top -unit=B: "8389304B". */
static uint64_t pprof_flat_bytes(const char *top, const char *fn)
{
	const char *line = top;

	while (line && *line) {
		unsigned long long flat;
		char name[256];

		if (sscanf(line, " %lluB %*s %*s %*s %*s %255s", &flat, name) == 2 &&
		    !strcmp(name, fn))
			return flat;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	cr_assert_fail("no row for %s in:\n%s", fn, top);
	return 0;
}

/* A real Go program's heap profile (runtime/pprof), as go tool pprof reads it. */
Test(pprof_read, go_runtime_pprof_heap_profile)
{
	static const char prog[] =
		"package main\n"
		"import (\"os\"; \"runtime\"; \"runtime/pprof\")\n"
		"var keep [][]byte\n"
		"//go:noinline\n"
		"func allocBig() { keep = append(keep, make([]byte, 1<<20)) }\n"
		"//go:noinline\n"
		"func allocSmall() { keep = append(keep, make([]byte, 256<<10)) }\n"
		"func main() {\n"
		"\truntime.MemProfileRate = 1\n"
		"\tfor i := 0; i < 8; i++ { allocBig(); allocSmall() }\n"
		"\truntime.GC()\n"
		"\tf, _ := os.Create(os.Args[1])\n"
		"\tpprof.Lookup(\"allocs\").WriteTo(f, 0)\n"
		"\tf.Close()\n"
		"}\n";
	const char *go = go_bin(), *src = tmp_path("heap.go"), *heap = tmp_path("heap.pb.gz");
	struct profile_load_info info;
	struct profile *p;
	char *out = NULL, *err = NULL, *top;
	FILE *f = fopen(src, "w");
	int rc;

	cr_assert_not_null(f);
	fputs(prog, f);
	cr_assert_eq(fclose(f), 0);
	rc = run_cmd((char *const[]){(char *)go, "run", (char *)src, (char *)heap, NULL}, &out,
		     &err);
	cr_assert_eq(rc, 0, "go run failed (%d): %s", rc, err);
	free(out);
	free(err);

	p = load(heap, "alloc_space", &info);
	cr_assert_str_eq(info.types, "alloc_objects/count, alloc_space/bytes, inuse_objects/count, "
				     "inuse_space/bytes");
	top = pprof_run(heap, "-top", "-sample_index=alloc_space", "-unit=B");
	{
		uint64_t big = 0, small = 0;

		for (size_t i = 0; i < profile__stack_count(p); i++) {
			const struct profile_stack *st = profile__stack(p, i);
			const struct profile_location *leaf;

			if (!st->n)
				continue;
			leaf = profile__location(p, st->locs[st->n - 1]);
			if (leaf->nlines &&
			    !strcmp(leaf->lines[leaf->nlines - 1].function, "main.allocBig"))
				big += st->count;
			if (leaf->nlines &&
			    !strcmp(leaf->lines[leaf->nlines - 1].function, "main.allocSmall"))
				small += st->count;
		}
		/* What pprof says each allocated: 8 MiB and 2 MiB, and keep's growth. */
		cr_assert_geq(big, 8u << 20);
		cr_assert_geq(small, 2u << 20);
		cr_assert_eq(pprof_flat_bytes(top, "main.allocBig"), big, "%s", top);
		cr_assert_eq(pprof_flat_bytes(top, "main.allocSmall"), small, "%s", top);
	}
	free(top);
	profile__free(p);
}

/*
 * Files from anywhere: a valid profile with bytes changed at random or cut
 * short must load or fail with -EINVAL, never crash (ASan runs this too),
 * and whatever loads must be a profile the writers can write.
 */
Test(pprof_read, mutated_profiles_never_crash)
{
	struct profile *p = sample_profile();
	const char *path = write_pprof(p, NULL, "mut.pb.gz");
	char cmd[1200], *text;
	unsigned int loaded = 0;
	uint32_t seed = 12345;
	uint8_t *raw, *m;
	size_t rawlen;
	FILE *f;

	/* The protobuf itself: gunzip(1) of our file. */
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s' > '%s'", path, tmp_path("mut.pb"));
	cr_assert_eq(run_sh(cmd, NULL, NULL), 0);
	raw = (uint8_t *)read_file(tmp_path("mut.pb"), &rawlen);
	cr_assert(raw && rawlen > 100);
	m = malloc(rawlen);
	cr_assert(m);
	for (int round = 0; round < 2000; round++) {
		struct pprof_read_info info;
		struct profile *q = profile__new();
		size_t n = rawlen;
		int err;

		memcpy(m, raw, rawlen);
		for (int k = 0; k < 1 + round % 4; k++)
			m[lcg(&seed) % rawlen] = (uint8_t)lcg(&seed);
		if (round % 7 == 0)
			n = lcg(&seed) % rawlen;
		err = pprof__read(m, n, "mutated", NULL, q, &info);
		cr_assert(err == 0 || err == -EINVAL, "round %d: %d", round, err);
		if (!err) {
			loaded++;
			text = folded_text(q);
			free(text);
			f = fopen("/dev/null", "w");
			cr_assert_not_null(f);
			cr_assert_eq(pprof__write(q, f), 0);
			fclose(f);
		}
		profile__free(q);
	}
	cr_log_info("%u of 2000 mutated profiles still loaded", loaded);
	/* Most mutations hit a value or an address, which still decode. */
	cr_assert_gt(loaded, 100);
	free(m);
	free(raw);
	profile__free(p);
}
