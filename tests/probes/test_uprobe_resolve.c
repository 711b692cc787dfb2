// SPDX-License-Identifier: MIT
/*
 * -f resolution (root: /proc/PID/map_files): a function only in libc's
 * separate debug file, PROG:FN where FN is in a library PROG links, file
 * names holding ':', demangled C++ names, and a library that is not
 * linked (dlopen'ed later) refused with the way out.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "probes/uprobe_resolve.h"

extern char **environ;

static int resolve(const char *arg, pid_t pid, const char *exe, struct uprobe_resolved *r)
{
	const char *slash = strrchr(arg, '/');
	const char *colon = strchr(slash ? slash : arg, ':');
	char target[PATH_MAX];

	/* As trace_func_spec_parse() splits it: at the first ':' after the last '/'. */
	snprintf(target, sizeof(target), "%.*s", (int)(colon - arg), arg);
	return uprobe_resolve_spec(arg, target, colon + 1, pid, exe, 64, r);
}

/* libc6-dbg holds _int_malloc: record names it, so must trace (as bpftrace does). */
Test(uprobe_resolve, debug_file_function)
{
	char *argv[] = {"/bin/sleep", "30", NULL}, want[64];
	struct uprobe_resolved r;
	pid_t pid;

	require_bpf();
	require_path("/usr/lib/debug/.build-id", R_OK, "libc6-dbg");
	cr_assert_eq(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ), 0);
	usleep(100 * 1000);
	cr_assert_eq(resolve("libc:_int_malloc", pid, NULL, &r), 0);
	cr_assert_eq(r.n, 1);
	cr_assert_str_eq(r.funcs[0].name, "_int_malloc");
	cr_assert_str_eq(r.display, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	/* Attached through the mapping, not through the path. */
	snprintf(want, sizeof(want), "/proc/%d/map_files/", (int)pid);
	cr_assert(!strncmp(r.path, want, strlen(want)), "%s", r.path);
	uprobe_funcs_free(r.funcs, r.n);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* PROG:FN with FN in a library PROG links: found there, and said so. */
Test(uprobe_resolve, function_in_a_linked_library)
{
	struct uprobe_resolved r;
	char lib[PATH_MAX];

	cr_assert_eq(resolve("symfix_linked:fixture_lib_alpha", 0, fixture_path("symfix_linked"),
			     &r),
		     0);
	cr_assert_eq(r.n, 1);
	cr_assert_str_eq(r.funcs[0].name, "fixture_lib_alpha");
	cr_assert_not_null(realpath(fixture_path("libsymfix.so"), lib));
	cr_assert_str_eq(r.display, lib);
	uprobe_funcs_free(r.funcs, r.n);
	/* Nowhere at all: still an error. */
	cr_assert_eq(resolve("symfix_linked:no_such_function", 0, fixture_path("symfix_linked"),
			     &r),
		     -ENOENT);
}

/* A library the program does not link (it may dlopen it later): refused. */
Test(uprobe_resolve, unlinked_short_name_refused)
{
	struct uprobe_resolved r;

	cr_assert_eq(resolve("libnotlinked:fn", 0, fixture_path("symfix_linked"), &r), -ENOENT);
	cr_assert_eq(r.n, 0);
}

/* "./a:b.so::fn" and "./a:b.so:fn": the file name holds a ':'. */
Test(uprobe_resolve, file_name_with_colon)
{
	char dir[PATH_MAX], file[PATH_MAX + 16], spec[2 * PATH_MAX];
	struct uprobe_resolved r;
	char *cp[] = {"/bin/cp", (char *)fixture_path("libsymfix.so"), file, NULL};

	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	snprintf(file, sizeof(file), "%s/a:b.so", dir);
	cr_assert_eq(run_cmd(cp, NULL, NULL), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(spec, sizeof(spec), "%s%sfixture_lib_alpha", file, i ? ":" : "::");
		cr_assert_eq(resolve(spec, 0, fixture_path("symfix_linked"), &r), 0, "%s", spec);
		cr_assert_eq(r.n, 1);
		cr_assert_str_eq(r.funcs[0].name, "fixture_lib_alpha");
		cr_assert_str_eq(r.display, file);
		uprobe_funcs_free(r.funcs, r.n);
	}
}

/* Demangled names, exact or globbed; each overload named with its parameters. */
Test(uprobe_resolve, demangled_names)
{
	static const char *const specs[] = {"cxxfix:ns::Klass::method", "cxxfix:ns::Klass::m*",
					    "cxxfix:ns::Klass::method(int)"};

	for (size_t i = 0; i < 3; i++) {
		struct uprobe_resolved r;

		cr_assert_eq(resolve(specs[i], 0, fixture_path("cxxfix"), &r), 0, "%s", specs[i]);
		cr_assert_eq(r.n, i == 2 ? 1 : 2, "%s: %zu", specs[i], r.n);
		cr_assert_str_eq(r.funcs[0].name, "ns::Klass::method(int)");
		if (r.n == 2)
			cr_assert_str_eq(r.funcs[1].name, "ns::Klass::method(double)");
		uprobe_funcs_free(r.funcs, r.n);
	}
}
