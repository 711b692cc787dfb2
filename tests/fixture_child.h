/* SPDX-License-Identifier: MIT */
/*
 * A fixture process the symbolizer tests talk to: it prints "NAME 0xADDR"
 * lines and "ready", then answers one "ready" per line sent on stdin.
 * Header-only (static) so each test file that needs it includes it.
 */
#ifndef SONDE_TEST_FIXTURE_CHILD_H
#define SONDE_TEST_FIXTURE_CHILD_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define CHILD_MAX_ADDRS 16

struct child {
	pid_t pid;
	FILE *in, *out;
	size_t nr;
	struct {
		char name[64];
		uint64_t addr;
	} addrs[CHILD_MAX_ADDRS];
};

static void child_read(struct child *c)
{
	char line[512];

	while (fgets(line, sizeof(line), c->out)) {
		char name[64];
		unsigned long long a;

		if (!strcmp(line, "ready\n"))
			return;
		cr_assert_eq(sscanf(line, "%63s 0x%llx", name, &a), 2, "fixture said: %s", line);
		cr_assert_lt(c->nr, CHILD_MAX_ADDRS);
		strcpy(c->addrs[c->nr].name, name);
		c->addrs[c->nr++].addr = a;
	}
	cr_assert_fail("fixture ended before ready");
}

/* Start @argv (argv[0] a full path), talking to it through stdin and stdout. */
static void child_start_argv(struct child *c, char *const argv[])
{
	int in[2], out[2];

	memset(c, 0, sizeof(*c));
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	cr_assert_geq(c->pid, 0);
	if (!c->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = fdopen(in[1], "w");
	c->out = fdopen(out[0], "r");
	cr_assert(c->in && c->out);
	child_read(c);
}

/* Start @path (a full path) with the single argument "addrs". */
static __attribute__((unused)) void child_start_path(struct child *c, const char *path)
{
	char *const argv[] = {(char *)path, "addrs", NULL};

	child_start_argv(c, argv);
}

static __attribute__((unused)) void child_start(struct child *c, const char *fixture)
{
	/* Resolved before fork(): a failing assertion in the child would hang. */
	child_start_path(c, fixture_path(fixture));
}

static uint64_t child_addr(const struct child *c, const char *name)
{
	size_t i;

	for (i = c->nr; i-- > 0;)
		if (!strcmp(c->addrs[i].name, name))
			return c->addrs[i].addr;
	cr_assert_fail("fixture printed no %s", name);
	return 0;
}

static __attribute__((unused)) void child_send(struct child *c, const char *cmd)
{
	cr_assert_geq(fprintf(c->in, "%s\n", cmd), 0);
	cr_assert_eq(fflush(c->in), 0);
	child_read(c);
}

static void child_stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	cr_assert_eq(waitpid(c->pid, NULL, 0), c->pid);
	fclose(c->in);
	fclose(c->out);
}

static __attribute__((unused)) const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path;
}

#endif
