/* SPDX-License-Identifier: MIT */
/* Shared test helpers: paths, running commands, reading files. */
#ifndef SONDE_TEST_HELPERS_H
#define SONDE_TEST_HELPERS_H

#include <stddef.h>
#include <sys/types.h>

/* $FIXTURE_DIR/name, $SONDE_BIN, $SOURCE_DIR/rel (static buffers). */
const char *fixture_path(const char *name);
const char *sonde_bin(void);
const char *source_path(const char *rel);

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

/* An executable by name in $PATH, else @fallback if executable, else NULL. */
const char *find_in_path(const char *name, const char *fallback);
/* A real consumer is missing: skip, or fail when CI=true. */
void skip_or_fail(const char *what);
/* `go` with a private HOME/GOCACHE for go tool pprof (skip_or_fail if absent). */
const char *go_bin(void);
/* Run go tool pprof [a1 a2 a3] FILE; returns stdout (asserts success). */
char *pprof_run(const char *file, const char *a1, const char *a2, const char *a3);

#endif
