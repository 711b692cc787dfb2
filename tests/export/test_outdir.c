// SPDX-License-Identifier: MIT
/*
 * The window directory: atomic writes (no temporary file left, names by
 * the second and milliseconds on a collision), rotation by count per name
 * and by total size with the exact files left, other files untouched, a
 * symlink or a world-writable directory refused in one line, a full disk
 * (a 64 KiB tmpfs) failing with -ENOSPC and nothing left, and `sonde diff
 * DIR DIR` finding the newest windows.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "export/load.h"
#include "export/outdir.h"
#include "export/window.h"
#include "model/profile.h"

/* 2025-03-14 09:30:00 UTC */
#define T0 1741944600ull
#define NS 1000000000ull

static const struct profile_location loc_main = {
	.module = "/opt/app", .address = 0x1100, .nlines = 1, .lines = {{"main", "app.c", 5, 0}}};
static const struct profile_location loc_heavy = {
	.module = "/opt/app", .address = 0x1200, .nlines = 1, .lines = {{"heavy", "app.c", 9, 0}}};
static const struct profile_location loc_light = {
	.module = "/opt/app", .address = 0x1300, .nlines = 1, .lines = {{"light", "app.c", 14, 0}}};

/* app;main;heavy @heavy and app;main;light @light CPU samples; off-CPU too if @off. */
static struct profile *window(uint64_t heavy, uint64_t light, bool off)
{
	struct profile *p = profile__new();
	uint32_t st[2];

	cr_assert_not_null(p);
	cr_assert_eq(profile__add_type(p, "samples", "count"), 0);
	if (off)
		cr_assert_eq(profile__add_type(p, "off_cpu", "nanoseconds"), 1);
	profile__set_period_ns(p, 10000000);
	profile__set_time(p, T0 * NS, 60 * NS);
	st[0] = profile__intern_location(p, &loc_main);
	st[1] = profile__intern_location(p, &loc_heavy);
	cr_assert_eq(profile__add(p, 7, "app", st, 2, heavy), 0);
	if (off)
		cr_assert_geq(profile__add_value(p, 1, 7, "app", st, 2, 500000000), 0);
	st[1] = profile__intern_location(p, &loc_light);
	cr_assert_eq(profile__add(p, 7, "app", st, 2, light), 0);
	if (off)
		cr_assert_geq(profile__add_value(p, 1, 7, "app", st, 2, 2000000000), 0);
	return p;
}

static struct outdir *open_dir(const char *dir, enum window_format fmt, unsigned int keep,
			       uint64_t max_size)
{
	struct outdir_opts o = {.dir = dir, .format = fmt, .keep = keep, .max_size = max_size};
	struct outdir *d = NULL;

	cr_assert_eq(outdir__new(&o, &d), 0, "%s", dir);
	return d;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in @dir but . and .., sorted, one per line. */
static char *listing(const char *dir)
{
	char *names[256], *out = calloc(1, 1);
	size_t n = 0, len = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	cr_assert_not_null(d, "%s", dir);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && n < 256)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		out = realloc(out, len + strlen(names[i]) + 2);
		len += (size_t)sprintf(out + len, "%s\n", names[i]);
		free(names[i]);
	}
	return out;
}

static void expect_listing(const char *dir, const char *want)
{
	char *got = listing(dir);

	cr_expect_str_eq(got, want);
	free(got);
}

static const char *sub(const char *dir, const char *name)
{
	static char path[4][1024];
	static int slot;
	char *b = path[slot++ % 4];

	snprintf(b, sizeof(path[0]), "%s/%s", dir, name);
	return b;
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs("not sonde's\n", f);
	fclose(f);
}

static off_t size_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_size;
}

static void write_at(struct outdir *d, const struct profile *w, const char *name, uint64_t ns,
		     const char *want)
{
	char got[256];

	cr_assert_eq(outdir__write(d, w, name, ns, got, sizeof(got)), 0);
	cr_expect_str_eq(got, want);
}

Test(outdir, atomic_writes_named_by_the_second)
{
	const char *dir = tmp_path("a/b/windows");
	struct profile *w = window(30, 10, false), *back;
	struct profile_load_info info;
	struct outdir_stats st;
	struct outdir *d = open_dir(dir, WINDOW_PPROF, 0, 0);
	struct stat sb;
	off_t total = 0;

	/* Made with its parents, 0750; files 0640. */
	cr_assert_eq(stat(dir, &sb), 0);
	cr_expect_eq(sb.st_mode & 07777, 0750);
	cr_assert_eq(stat(tmp_path("a/b"), &sb), 0);
	cr_expect(S_ISDIR(sb.st_mode));
	write_at(d, w, "api", T0 * NS + 400000000, "api-20250314T093000Z.pb.gz");
	/* The same second again: its milliseconds, then the next free ones. */
	write_at(d, w, "api", T0 * NS + 900000000, "api-20250314T093000.900Z.pb.gz");
	write_at(d, w, "api", T0 * NS + 900000000, "api-20250314T093000.901Z.pb.gz");
	write_at(d, w, NULL, T0 * NS, "20250314T093000Z.pb.gz");
	outdir__stats(d, &st);
	outdir__free(d);

	expect_listing(dir, "20250314T093000Z.pb.gz\n"
			    "api-20250314T093000.900Z.pb.gz\n"
			    "api-20250314T093000.901Z.pb.gz\n"
			    "api-20250314T093000Z.pb.gz\n");
	cr_assert_eq(stat(sub(dir, "api-20250314T093000Z.pb.gz"), &sb), 0);
	cr_expect_eq(sb.st_mode & 07777, 0640);
	/* Each is the whole window. */
	back = profile__new();
	cr_assert_eq(profile_load(sub(dir, "api-20250314T093000.901Z.pb.gz"), NULL, back, &info), 0);
	cr_expect_eq(profile__total(back), 40);
	profile__free(back);
	total = size_of(sub(dir, "20250314T093000Z.pb.gz")) +
		size_of(sub(dir, "api-20250314T093000Z.pb.gz")) +
		size_of(sub(dir, "api-20250314T093000.900Z.pb.gz")) +
		size_of(sub(dir, "api-20250314T093000.901Z.pb.gz"));
	cr_expect_eq(st.windows_written, 4);
	cr_expect_eq(st.files_written, 4);
	cr_expect_eq(st.bytes_written, (uint64_t)total);
	cr_expect_eq(st.files_removed, 0);
	cr_expect_eq(st.failures, 0);
	profile__free(w);
}

Test(outdir, bad_names_and_empty_windows)
{
	struct outdir *d = open_dir(tmp_path("names"), WINDOW_PPROF, 0, 0);
	struct profile *w = window(1, 1, false), *empty = profile__new();
	struct outdir_stats st;
	char got[64] = "x";

	cr_expect_eq(outdir__write(d, w, "../etc", T0 * NS, NULL, 0), -EINVAL);
	cr_expect_eq(outdir__write(d, w, ".hidden", T0 * NS, NULL, 0), -EINVAL);
	cr_expect_eq(outdir__write(d, w, "a\nb", T0 * NS, NULL, 0), -EINVAL);
	cr_expect_eq(outdir__write(d, empty, "api", T0 * NS, got, sizeof(got)), 0);
	cr_expect_str_eq(got, "");
	outdir__stats(d, &st);
	cr_expect_eq(st.windows_empty, 1);
	cr_expect_eq(st.files_written, 0);
	expect_listing(tmp_path("names"), "");
	outdir__free(d);
	profile__free(w);
	profile__free(empty);
}

/* Files that are not sonde's windows, some named almost like one. */
static void plant_foreign(const char *dir)
{
	touch(sub(dir, "notes.txt"));
	touch(sub(dir, "zzz.pb.gz"));
	touch(sub(dir, "a-20200101T000000Z.pb.gz.bak"));
	cr_assert_eq(mkdir(sub(dir, "a-20200101T000000Z.pb.gz"), 0700), 0);
	cr_assert_eq(symlink("notes.txt", sub(dir, "a-20200101T000001Z.pb.gz")), 0);
	/* A temporary file of a writer at work right now. */
	touch(sub(dir, ".a-20200101T000002Z.pb.gz.tmp-abcdef"));
}

#define FOREIGN                                                                              \
	".a-20200101T000002Z.pb.gz.tmp-abcdef\n"                                             \
	"a-20200101T000000Z.pb.gz\n"                                                         \
	"a-20200101T000000Z.pb.gz.bak\n"                                                     \
	"a-20200101T000001Z.pb.gz\n"

Test(outdir, keep_three_newest_per_name)
{
	const char *dir = tmp_path("keep");
	struct profile *w = window(3, 1, false);
	struct outdir_stats st;
	struct outdir *d;

	cr_assert_eq(mkdir(dir, 0750), 0);
	plant_foreign(dir);
	d = open_dir(dir, WINDOW_PPROF, 3, 0);
	for (unsigned int i = 0; i < 5; i++) {
		cr_assert_eq(outdir__write(d, w, "a", (T0 + 60 * i) * NS, NULL, 0), 0);
		cr_assert_eq(outdir__write(d, w, "b", (T0 + 60 * i + 1) * NS, NULL, 0), 0);
	}
	outdir__stats(d, &st);
	outdir__free(d);
	expect_listing(dir, FOREIGN "a-20250314T093200Z.pb.gz\n"
				    "a-20250314T093300Z.pb.gz\n"
				    "a-20250314T093400Z.pb.gz\n"
				    "b-20250314T093201Z.pb.gz\n"
				    "b-20250314T093301Z.pb.gz\n"
				    "b-20250314T093401Z.pb.gz\n"
				    "notes.txt\n"
				    "zzz.pb.gz\n");
	cr_expect_eq(st.files_written, 10);
	cr_expect_eq(st.files_removed, 4);
	cr_expect_eq(st.bytes_removed, 4 * (uint64_t)size_of(sub(dir, "a-20250314T093400Z.pb.gz")));
	profile__free(w);
}

/*
 * Every window file has the same size S (one profile, other names). A cap
 * of 2.5 S keeps the two newest windows of any name; a cap under S keeps
 * the one just written, alone.
 */
Test(outdir, max_size_removes_the_oldest_first)
{
	const char *dir = tmp_path("size");
	struct profile *w = window(3, 1, false);
	struct outdir_stats st;
	struct outdir *d;
	off_t s;

	cr_assert_eq(mkdir(dir, 0750), 0);
	plant_foreign(dir);
	d = open_dir(dir, WINDOW_PPROF, 0, 0);
	write_at(d, w, "x", T0 * NS, "x-20250314T093000Z.pb.gz");
	outdir__free(d);
	s = size_of(sub(dir, "x-20250314T093000Z.pb.gz"));

	d = open_dir(dir, WINDOW_PPROF, 0, (uint64_t)(2 * s + s / 2));
	write_at(d, w, "y", (T0 + 60) * NS, "y-20250314T093100Z.pb.gz");
	expect_listing(dir, FOREIGN "notes.txt\n"
				    "x-20250314T093000Z.pb.gz\n"
				    "y-20250314T093100Z.pb.gz\n"
				    "zzz.pb.gz\n");
	write_at(d, w, "x", (T0 + 120) * NS, "x-20250314T093200Z.pb.gz");
	write_at(d, w, "y", (T0 + 180) * NS, "y-20250314T093300Z.pb.gz");
	expect_listing(dir, FOREIGN "notes.txt\n"
				    "x-20250314T093200Z.pb.gz\n"
				    "y-20250314T093300Z.pb.gz\n"
				    "zzz.pb.gz\n");
	outdir__stats(d, &st);
	cr_expect_eq(st.files_removed, 2);
	cr_expect_eq(st.bytes_removed, 2 * (uint64_t)s);
	outdir__free(d);

	d = open_dir(dir, WINDOW_PPROF, 0, (uint64_t)s / 2);
	write_at(d, w, "z", (T0 + 240) * NS, "z-20250314T093400Z.pb.gz");
	expect_listing(dir, FOREIGN "notes.txt\n"
				    "z-20250314T093400Z.pb.gz\n"
				    "zzz.pb.gz\n");
	outdir__free(d);
	profile__free(w);
}

/* Folded stacks and flame graphs: a file per sample type, rotated as one window. */
Test(outdir, folded_and_svg_windows_have_a_file_per_type)
{
	const char *dir = tmp_path("folded"), *svgdir = tmp_path("svg");
	struct profile *w = window(30, 10, true);
	struct outdir_stats st;
	struct outdir *d = open_dir(dir, WINDOW_FOLDED, 1, 0);
	char *text;

	write_at(d, w, "api", T0 * NS, "api-20250314T093000Z.folded");
	write_at(d, w, "api", (T0 + 60) * NS, "api-20250314T093100Z.folded");
	outdir__stats(d, &st);
	outdir__free(d);
	expect_listing(dir, "api-20250314T093100Z.folded\n"
			    "api-20250314T093100Z.off_cpu.folded\n");
	cr_expect_eq(st.windows_written, 2);
	cr_expect_eq(st.files_written, 4);
	cr_expect_eq(st.files_removed, 2);
	text = read_file(sub(dir, "api-20250314T093100Z.folded"), NULL);
	cr_expect_str_eq(text, "app;main;heavy 30\napp;main;light 10\n");
	free(text);
	text = read_file(sub(dir, "api-20250314T093100Z.off_cpu.folded"), NULL);
	cr_expect_str_eq(text, "app;main;heavy 500000000\napp;main;light 2000000000\n");
	free(text);

	d = open_dir(svgdir, WINDOW_SVG, 0, 0);
	write_at(d, w, "api", T0 * NS, "api-20250314T093000Z.svg");
	outdir__free(d);
	expect_listing(svgdir, "api-20250314T093000Z.off_cpu.svg\n"
			       "api-20250314T093000Z.svg\n");
	text = read_file(sub(svgdir, "api-20250314T093000Z.svg"), NULL);
	cr_expect(strstr(text, ">CPU flame graph<"), "no CPU title");
	cr_expect(strstr(text, "api: window from 2025-03-14 09:30:00 UTC"), "no subtitle");
	free(text);
	text = read_file(sub(svgdir, "api-20250314T093000Z.off_cpu.svg"), NULL);
	cr_expect(strstr(text, ">Off-CPU time flame graph (blocked or waiting to run)<"),
		  "no off-CPU title");
	free(text);
	profile__free(w);
}

static int open_refused(void *arg)
{
	struct outdir_opts o = {.dir = arg};
	struct outdir *d = NULL;
	int err = outdir__new(&o, &d);

	cr_assert_null(d);
	return err;
}

static void expect_refused(const char *dir, int want, const char *line)
{
	int ret = 0;
	char *err = capture_stderr(open_refused, (void *)dir, &ret);

	cr_expect_eq(ret, want, "%s: %d", dir, ret);
	cr_expect_str_eq(err, line);
	free(err);
}

Test(outdir, symlinks_files_and_open_directories_are_refused)
{
	const char *real = tmp_path("real"), *link = tmp_path("link"), *file = tmp_path("file");
	const char *open = tmp_path("open"), *sticky = tmp_path("sticky");
	char line[2048], slash[1024];
	struct outdir *d;

	cr_assert_eq(mkdir(real, 0750), 0);
	cr_assert_eq(symlink(real, link), 0);
	snprintf(line, sizeof(line),
		 "sonde: outdir: refusing '%s': it is a symbolic link; give the directory it "
		 "points to\n",
		 link);
	expect_refused(link, -ELOOP, line);
	/* A trailing slash would follow the link: it is cut first. */
	snprintf(slash, sizeof(slash), "%s/", link);
	expect_refused(slash, -ELOOP, line);
	expect_listing(real, "");

	touch(file);
	snprintf(line, sizeof(line), "sonde: outdir: refusing '%s': not a directory\n", file);
	expect_refused(file, -ENOTDIR, line);

	cr_assert_eq(mkdir(open, 0700), 0);
	cr_assert_eq(chmod(open, 0777), 0);
	snprintf(line, sizeof(line),
		 "sonde: outdir: refusing '%s': every user may write to it (mode 0777); use a "
		 "directory of sonde's own, or chmod o-w it\n",
		 open);
	expect_refused(open, -EPERM, line);
	/* /tmp's way, with the sticky bit, is fine. */
	cr_assert_eq(mkdir(sticky, 0700), 0);
	cr_assert_eq(chmod(sticky, 01777), 0);
	d = open_dir(sticky, WINDOW_PPROF, 0, 0);
	outdir__free(d);
}

Test(outdir, stale_temporary_files_of_a_dead_writer_go)
{
	const char *dir = tmp_path("stale");
	struct timespec old[2] = {{.tv_sec = time(NULL) - 120}, {.tv_sec = time(NULL) - 120}};
	struct outdir *d;

	cr_assert_eq(mkdir(dir, 0750), 0);
	touch(sub(dir, ".api-20250314T093000Z.pb.gz.tmp-Ab12Cd"));
	cr_assert_eq(utimensat(AT_FDCWD, sub(dir, ".api-20250314T093000Z.pb.gz.tmp-Ab12Cd"), old, 0),
		     0);
	touch(sub(dir, ".api-20250314T093100Z.pb.gz.tmp-Ef34Gh"));
	touch(sub(dir, ".notes.tmp-abcdef"));
	cr_assert_eq(utimensat(AT_FDCWD, sub(dir, ".notes.tmp-abcdef"), old, 0), 0);
	d = open_dir(dir, WINDOW_PPROF, 0, 0);
	outdir__free(d);
	expect_listing(dir, ".api-20250314T093100Z.pb.gz.tmp-Ef34Gh\n"
			    ".notes.tmp-abcdef\n");
}

/* 20000 functions of random names: a pprof window far over 64 KiB. */
static struct profile *big_window(void)
{
	struct profile *p = profile__new();
	uint32_t seed = 42;

	cr_assert_not_null(p);
	for (unsigned int i = 0; i < 20000; i++) {
		char name[32];
		struct profile_location l = {.module = "/opt/app", .address = 0x1000 + 16 * i,
					     .nlines = 1};
		uint32_t id;

		snprintf(name, sizeof(name), "fn_%08x%08x", lcg(&seed), lcg(&seed));
		l.lines[0].function = name;
		id = (uint32_t)profile__intern_location(p, &l);
		cr_assert_eq(profile__add(p, 1, "app", &id, 1, 1), 0);
	}
	return p;
}

static int write_big(void *arg)
{
	struct profile *w = big_window();
	int err = outdir__write(arg, w, "big", T0 * NS, NULL, 0);

	profile__free(w);
	return err;
}

Test(outdir, a_full_disk_fails_cleanly, .timeout = 60)
{
	const char *mnt = tmp_path("tiny");
	struct profile *small = window(3, 1, false);
	struct outdir_stats st;
	struct outdir *d;
	char want[2048], *err;
	int ret = 0;

	if (geteuid())
		skip_or_fail("root, to mount a tmpfs");
	/* A mount namespace of this test process: the tmpfs goes with it. */
	cr_assert_eq(unshare(CLONE_NEWNS), 0);
	cr_assert_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	cr_assert_eq(mount("tmpfs", mnt, "tmpfs", 0, "size=64k"), 0, "%s", strerror(errno));
	d = open_dir(sub(mnt, "windows"), WINDOW_PPROF, 0, 0);

	err = capture_stderr(write_big, d, &ret);
	cr_expect_eq(ret, -ENOSPC);
	snprintf(want, sizeof(want),
		 "sonde: outdir: failed to write window big-20250314T093000Z.pb.gz to '%s': No "
		 "space left on device\n",
		 sub(mnt, "windows"));
	cr_expect_str_eq(err, want);
	free(err);
	expect_listing(sub(mnt, "windows"), "");
	/* The same error again is counted, not said again. */
	err = capture_stderr(write_big, d, &ret);
	cr_expect_eq(ret, -ENOSPC);
	cr_expect_str_eq(err, "");
	free(err);
	expect_listing(sub(mnt, "windows"), "");
	/* A window that fits still does. */
	write_at(d, small, "small", T0 * NS, "small-20250314T093000Z.pb.gz");
	expect_listing(sub(mnt, "windows"), "small-20250314T093000Z.pb.gz\n");
	outdir__stats(d, &st);
	cr_expect_eq(st.failures, 2);
	cr_expect_eq(st.windows_written, 1);
	outdir__free(d);
	cr_expect_eq(umount(mnt), 0);
	profile__free(small);
}

/* sonde diff DIR DIR takes the newest window of each directory. */
Test(outdir, sonde_diff_reads_the_newest_windows, .timeout = 60)
{
	const char *before = tmp_path("before"), *after = tmp_path("after");
	struct profile *old = window(5, 5, false), *b = window(30, 10, false),
		       *a = window(10, 30, false);
	char path[1024], *out = NULL, *err = NULL, *text;
	struct outdir *d;
	int rc;

	d = open_dir(before, WINDOW_PPROF, 0, 0);
	write_at(d, b, "api", (T0 + 60) * NS, "api-20250314T093100Z.pb.gz");
	/* Written later, but an older window, under a name that sorts last. */
	write_at(d, old, "zeta", T0 * NS, "zeta-20250314T093000Z.pb.gz");
	outdir__free(d);
	d = open_dir(after, WINDOW_PPROF, 0, 0);
	write_at(d, old, "api", T0 * NS, "api-20250314T093000Z.pb.gz");
	write_at(d, old, "api", (T0 + 60) * NS, "api-20250314T093100Z.pb.gz");
	/* The same second again: the millisecond name is the newer window. */
	write_at(d, a, "api", (T0 + 60) * NS, "api-20250314T093100.001Z.pb.gz");
	outdir__free(d);

	cr_assert_eq(window_find_last(after, path, sizeof(path)), 0);
	cr_expect_str_eq(strrchr(path, '/') + 1, "api-20250314T093100.001Z.pb.gz");
	rc = run_cmd((char *const[]){(char *)sonde_bin(), "diff", (char *)before, (char *)after,
				     "-o", (char *)tmp_path("d.folded"), NULL},
		     &out, &err);
	cr_assert_eq(rc, 0, "sonde diff failed (%d): %s", rc, err);
	cr_expect(strstr(err, "/before/api-20250314T093100Z.pb.gz (40 samples)"), "%s", err);
	cr_expect(strstr(err, "/after/api-20250314T093100.001Z.pb.gz (40)"), "%s", err);
	text = read_file(tmp_path("d.folded"), NULL);
	cr_expect_str_eq(text, "app;main;heavy 30 10\napp;main;light 10 30\n");
	free(text);
	free(out);
	free(err);
	profile__free(old);
	profile__free(a);
	profile__free(b);
}

/*
 * An anomaly's diff: per sample type a flame graph coloured by the change
 * (heavy shrank, light grew) and "stack BEFORE AFTER" folded stacks,
 * named as windows of NAME "anomaly" and rotated with them.
 */
Test(outdir, diff_writes_a_flame_graph_and_two_count_folded_per_type)
{
	const char *dir = tmp_path("diff");
	struct profile *before = window(30, 10, true), *after = window(10, 30, true);
	struct outdir *d = open_dir(dir, WINDOW_PPROF, 1, 0);
	struct outdir_stats st;
	char got[256], *text;

	cr_assert_eq(outdir__write_diff(d, before, after, "anomaly", T0 * NS, "work: window 3",
					got, sizeof(got)),
		     0);
	cr_expect_str_eq(got, "anomaly-20250314T093000Z.svg");
	expect_listing(dir, "anomaly-20250314T093000Z.folded\n"
			    "anomaly-20250314T093000Z.off_cpu.folded\n"
			    "anomaly-20250314T093000Z.off_cpu.svg\n"
			    "anomaly-20250314T093000Z.svg\n");
	text = read_file(sub(dir, "anomaly-20250314T093000Z.folded"), NULL);
	cr_expect_str_eq(text, "app;main;heavy 30 10\napp;main;light 10 30\n");
	free(text);
	text = read_file(sub(dir, "anomaly-20250314T093000Z.off_cpu.folded"), NULL);
	cr_expect_str_eq(text, "app;main;heavy 500000000 500000000\n"
			       "app;main;light 2000000000 2000000000\n");
	free(text);
	text = read_file(sub(dir, "anomaly-20250314T093000Z.svg"), NULL);
	cr_expect(strstr(text, ">Differential CPU flame graph: latency anomaly against its "
			       "baseline<"),
		  "no title");
	cr_expect(strstr(text, "work: window 3"), "no subtitle");
	cr_expect(strstr(text, "<title>light (30 samples, 75.00%; before 10, 25.00%; +50.00 pp)"),
		  "light's tooltip");
	cr_expect(strstr(text, "<title>heavy (10 samples, 25.00%; before 30, 75.00%; -50.00 pp)"),
		  "heavy's tooltip");
	free(text);
	/* The next one rotates the first away (keep 1 per NAME). */
	cr_assert_eq(outdir__write_diff(d, before, after, "anomaly", (T0 + 60) * NS, NULL, got,
					sizeof(got)),
		     0);
	cr_expect_str_eq(got, "anomaly-20250314T093100Z.svg");
	outdir__stats(d, &st);
	cr_expect_eq(st.windows_written, 2);
	cr_expect_eq(st.files_written, 8);
	cr_expect_eq(st.files_removed, 4);
	outdir__free(d);
	profile__free(before);
	profile__free(after);
}
