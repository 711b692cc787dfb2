// SPDX-License-Identifier: MIT
/*
 * sonde trace -f with demangled C++ names, end to end (BPF, root): both
 * overloads of ns::Klass::method are probed and reported by their
 * demangled names with exact call counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"

static void trace_cxx(const char *spec)
{
	char *out, *err;
	char *argv[] = {(char *)sonde_bin(), "trace", "-f", (char *)spec, "-d", "30", "--",
			(char *)fixture_path("cxxfix"), "run", "25", NULL};
	const char *p;
	int rc;

	require_bpf();
	rc = run_cmd(argv, &out, &err);
	cr_assert(rc == 0 || rc == 1, "sonde trace failed (%d): %s", rc, err);
	p = strstr(out, "ns::Klass::method(int) (");
	cr_assert(p, "no ns::Klass::method(int) in:\n%s\n%s", out, err);
	cr_assert(!strncmp(strchr(p, '\n'), "\n    calls 25  ", 15), "%s", out);
	p = strstr(out, "ns::Klass::method(double) (");
	cr_assert(p, "no ns::Klass::method(double) in:\n%s\n%s", out, err);
	cr_assert(!strncmp(strchr(p, '\n'), "\n    calls 50  ", 15), "%s", out);
	free(out);
	free(err);
}

Test(trace_names, demangled_name)
{
	trace_cxx("cxxfix:ns::Klass::method");
}

Test(trace_names, demangled_glob)
{
	trace_cxx("cxxfix:ns::Klass::*");
}
