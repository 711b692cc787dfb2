/* SPDX-License-Identifier: MIT */
/* Shared test helpers: paths, running commands, reading files. */
#ifndef SONDE_TEST_HELPERS_H
#define SONDE_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Under ASan the timing and memory bounds get the sanitizer's overhead. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0

#endif

struct metric_family;
struct metrics_snapshot;

/* $FIXTURE_DIR/name, $SONDE_BIN, $SOURCE_DIR/rel (static buffers). */
const char *fixture_path(const char *name);
const char *sonde_bin(void);
const char *source_path(const char *rel);
/* fixture_path() made canonical, as the kernel prints it in maps. */
const char *fixture_realpath(const char *name);

/* Whole file into a malloc'd NUL-terminated buffer, or NULL. */
char *read_file(const char *path, size_t *len);

/*
 * Run argv, capturing stdout and stderr into malloc'd strings (may be
 * NULL pointers to discard). Returns the exit status (0-255), 128+signal
 * when killed, or -errno if it could not run.
 */
int run_cmd(char *const argv[], char **out, char **err);
/* run_cmd() of bash -c @cmd (redirections, pipes, ${PIPESTATUS[0]}). */
int run_sh(const char *cmd, char **out, char **err);

/*
 * BPF tests need root. Outside CI, skip when not root; in CI (CI=true)
 * a skip is a failure. Call at the top of every BPF test.
 */
void require_bpf(void);

/* Temporary directory for this test process (created once). */
const char *test_tmpdir(void);
/* test_tmpdir()/@name (one of 8 static buffers, reused in turn). */
const char *tmp_path(const char *name);

struct profile;
/* folded__write() of @p into a malloc'd string (asserts success). */
char *folded_text(const struct profile *p);

/* CI=true (or 1): a missing consumer fails the test instead of skipping it. */
bool in_ci(void);
/* A real consumer at @path (access @mode) is missing: skip, or fail when CI=true. */
void require_path(const char *path, int mode, const char *what);

/* CLOCK_MONOTONIC, for timing bounds. */
uint64_t now_ns(void);
double now_s(void);

/*
 * Start argv[0] in the background with stdout and stderr into files (the
 * same file when the paths are equal); it dies with the test process.
 */
pid_t spawn(char *const argv[], const char *outpath, const char *errpath);
/* A pid that existed and is gone: a child that exited and was reaped. */
pid_t gone_pid(void);

/* What fn(@arg) prints on stderr (malloc'd); its return value in *@ret. */
char *capture_stderr(int (*fn)(void *), void *arg, int *ret);

/* Occurrences of @needle in @text. */
int count_of(const char *text, const char *needle);
/* Sum of the counts of the folded-stack lines of @text that contain @needle. */
uint64_t folded_sum(const char *text, const char *needle);
/* The number right before the first @word in @text ("7568 stacked"); fails if none. */
unsigned long long number_before(const char *text, const char *word);
/* The number after "@name " at a line start of @text ("sleeper 2.0001"); -1 if none. */
double named_value(const char *text, const char *name);

/* The family called @name in @s; fails the test if there is none. */
const struct metric_family *family(const struct metrics_snapshot *s, const char *name);

/* Deterministic pseudo-random numbers for the fuzz and mutation tests. */
uint32_t lcg(uint32_t *state);
/* File offset and size of section @name in the ELF file @path (readelf -SW). */
void section_of(const char *path, const char *name, size_t *off, size_t *size);
/*
 * The summed sizes of @path's sections named @name (with @prefix, whose
 * names start with it); with @inflated, a compressed one's size inflated.
 */
size_t section_sizes(const char *path, const char *name, bool prefix, bool inflated);

/* An executable by name in $PATH, else @fallback if executable, else NULL. */
const char *find_in_path(const char *name, const char *fallback);
/* A real consumer is missing: skip, or fail when CI=true. */
void skip_or_fail(const char *what);
/* `go` with a private HOME/GOCACHE for go tool pprof (skip_or_fail if absent). */
const char *go_bin(void);
/* Run go tool pprof [a1 a2 a3] FILE; returns stdout (asserts success). */
char *pprof_run(const char *file, const char *a1, const char *a2, const char *a3);

/*
 * A hostile target: fixture @name copied into a fresh directory DIR and run
 * with @args (NULL-terminated, argv[1...]) as user nobody in its own user
 * and mount namespace (setpriv + unshare -Urm); once it runs, it
 * bind-mounts over DIR a directory holding, under the fixture's name, a
 * FIFO (@over "fifo") or a valid copy of the fixture (@over "copy"): its
 * mapped file's path then names something else than what it maps, for
 * anyone who reads it through /proc/PID/root. Returns the fixture's PID
 * (a process of another user: kill it, its namespace goes with it) and
 * DIR in @dir (PATH_MAX bytes).
 */
pid_t spawn_hostile(const char *name, char *const args[], const char *over, char *dir);
/* The value of "@key":"..." in the JSON @line into @out; fails the test if none or too long. */
void json_str(const char *line, const char *key, char *out, size_t len);

#endif
