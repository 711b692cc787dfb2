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

/*
 * BPF tests need root. Outside CI, skip when not root; in CI (CI=true)
 * a skip is a failure. Call at the top of every BPF test.
 */
void require_bpf(void);

/* Temporary directory for this test process (created once). */
const char *test_tmpdir(void);

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

/* Occurrences of @needle in @text. */
int count_of(const char *text, const char *needle);

/* The family called @name in @s; fails the test if there is none. */
const struct metric_family *family(const struct metrics_snapshot *s, const char *name);

/* Deterministic pseudo-random numbers for the fuzz and mutation tests. */
uint32_t lcg(uint32_t *state);
/* File offset and size of section @name in the ELF file @path (readelf -SW). */
void section_of(const char *path, const char *name, size_t *off, size_t *size);

/* An executable by name in $PATH, else @fallback if executable, else NULL. */
const char *find_in_path(const char *name, const char *fallback);
/* A real consumer is missing: skip, or fail when CI=true. */
void skip_or_fail(const char *what);
/* `go` with a private HOME/GOCACHE for go tool pprof (skip_or_fail if absent). */
const char *go_bin(void);
/* Run go tool pprof [a1 a2 a3] FILE; returns stdout (asserts success). */
char *pprof_run(const char *file, const char *a1, const char *a2, const char *a3);

#endif
