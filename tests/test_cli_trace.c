// SPDX-License-Identifier: MIT
/* sonde trace: option parsing, TARGET:FUNC specs, name matching, suggestions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "sonde/cli.h"
#include "sonde/elfsyms.h"
#include "sonde/suggest.h"
#include "sonde/uprobe_resolve.h"

Test(trace_spec, split)
{
	struct trace_func_spec s;

	cr_assert_eq(trace_func_spec_parse("libc:malloc", &s), 0);
	cr_assert_str_eq(s.target, "libc");
	cr_assert_str_eq(s.func, "malloc");
	free(s.target);
	free(s.func);

	/* The colon in a directory name is not the separator. */
	cr_assert_eq(trace_func_spec_parse("/opt/a:b/myprog:db_*", &s), 0);
	cr_assert_str_eq(s.target, "/opt/a:b/myprog");
	cr_assert_str_eq(s.func, "db_*");
	free(s.target);
	free(s.func);

	cr_assert_eq(trace_func_spec_parse("nocolon", &s), -EINVAL);
	cr_assert_eq(trace_func_spec_parse(":malloc", &s), -EINVAL);
	cr_assert_eq(trace_func_spec_parse("libc:", &s), -EINVAL);
	cr_assert_eq(trace_func_spec_parse("/usr/bin/prog", &s), -EINVAL);
}

Test(cli_trace, full_command_line)
{
	char *argv[] = {
		"trace",	"-p", "12,13",	     "-f", "libc:malloc",   "-f",  "/bin/x:db_*",
		"--max-probes", "5",  "--max-depth", "8",  "--max-threads", "100", "--spans",
		"out.jsonl",	"-d", "2.5",	     NULL};
	struct trace_opts o;

	cr_assert_eq(cli_parse_trace(17, argv, &o), 0);
	cr_assert_eq(o.t.npids, 2);
	cr_assert_eq(o.t.pids[1], 13);
	cr_assert_eq(o.nfuncs, 2);
	cr_assert_str_eq(o.funcs[1].target, "/bin/x");
	cr_assert_str_eq(o.funcs[1].func, "db_*");
	cr_assert_str_eq(o.funcs[1].arg, "/bin/x:db_*");
	cr_assert_eq(o.max_probes, 5);
	cr_assert_eq(o.max_depth, 8);
	cr_assert_eq(o.max_threads, 100);
	cr_assert_str_eq(o.spans_path, "out.jsonl");
	cr_assert(o.t.duration_s == 2.5);
	cr_assert_null(o.t.cmd);
	trace_opts_free(&o);
}

Test(cli_trace, command_and_defaults)
{
	char *argv[] = {"trace", "-f", "myprog:handle", "--", "./myprog", "-x", NULL};
	struct trace_opts o;

	cr_assert_eq(cli_parse_trace(6, argv, &o), 0);
	cr_assert_str_eq(o.t.cmd[0], "./myprog");
	cr_assert_str_eq(o.t.cmd[1], "-x");
	cr_assert_eq(o.max_probes, 64);
	cr_assert_eq(o.max_depth, TRACE_MAX_DEPTH);
	cr_assert_null(o.spans_path);
	trace_opts_free(&o);
}

Test(cli_trace, rejects_bad_input)
{
	char *nofunc[] = {"trace", "-p", "1", NULL};
	char *badspec[] = {"trace", "-p", "1", "-f", "malloc", NULL};
	char *deep[] = {"trace", "-p", "1", "-f", "a:b", "--max-depth", "33", NULL};
	char *probes[] = {"trace", "-p", "1", "-f", "a:b", "--max-probes", "0", NULL};
	char *notarget[] = {"trace", "-f", "a:b", NULL};
	char *both[] = {"trace", "-p", "1", "-f", "a:b", "--", "ls", NULL};
	struct trace_opts o;

	cr_assert_eq(cli_parse_trace(3, nofunc, &o), -EINVAL);
	cr_assert_eq(cli_parse_trace(5, badspec, &o), -EINVAL);
	cr_assert_eq(cli_parse_trace(7, deep, &o), -EINVAL);
	cr_assert_eq(cli_parse_trace(7, probes, &o), -EINVAL);
	cr_assert_eq(cli_parse_trace(3, notarget, &o), -EINVAL);
	cr_assert_eq(cli_parse_trace(7, both, &o), -EINVAL);
}

Test(cli_trace, exporter_options)
{
	char *argv[] = {"trace",
			"-p",
			"1",
			"-f",
			"a:b",
			"--listen",
			"9464",
			"--statsd",
			"127.0.0.1:8125",
			"--otlp-endpoint",
			"http://h:4318",
			"--otlp-queue",
			"100",
			"--export-interval",
			"2.5",
			"--flush-timeout",
			"0",
			"--max-series",
			"500",
			NULL};
	char *all[] = {"trace", "-p", "1", "-f", "a:b", "--listen", ":9464", NULL};
	char *defaults[] = {"trace", "-p", "1", "-f", "a:b", NULL};
	struct trace_opts o;

	cr_assert_eq(cli_parse_trace(19, argv, &o), 0);
	/* A bare port binds loopback only. */
	cr_assert_str_eq(o.listen, "127.0.0.1:9464");
	cr_assert_str_eq(o.statsd, "127.0.0.1:8125");
	cr_assert_str_eq(o.otlp_endpoint, "http://h:4318");
	cr_assert_eq(o.otlp_queue, 100);
	cr_assert(o.export_interval_s == 2.5);
	cr_assert(o.flush_timeout_s == 0);
	cr_assert_eq(o.max_series, 500);
	trace_opts_free(&o);

	cr_assert_eq(cli_parse_trace(7, all, &o), 0);
	cr_assert_str_eq(o.listen, ":9464");
	trace_opts_free(&o);

	cr_assert_eq(cli_parse_trace(5, defaults, &o), 0);
	cr_assert_null(o.listen);
	cr_assert_null(o.statsd);
	cr_assert_null(o.otlp_endpoint);
	cr_assert_eq(o.otlp_queue, 8192);
	cr_assert(o.export_interval_s == 10);
	cr_assert(o.flush_timeout_s == 5);
	cr_assert_eq(o.max_series, 10000);
	trace_opts_free(&o);
}

Test(cli_trace, rejects_bad_exporter_options)
{
	static const char *const bad[][2] = {
		{"--listen", "nohost"},
		{"--listen", "1.2.3.4:99999"},
		{"--statsd", ":8125"},
		{"--statsd", "host"},
		{"--otlp-endpoint", "127.0.0.1:4318"},
		{"--otlp-queue", "15"},
		{"--export-interval", "0"},
		{"--export-interval", "3601"},
		{"--flush-timeout", "-1"},
		{"--max-series", "0"},
		{"--log-format", "xml"},
	};
	struct trace_opts o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {"trace",	   "-p", "1", "-f", "a:b", (char *)bad[i][0],
				(char *)bad[i][1], NULL};

		cr_assert_eq(cli_parse_trace(7, argv, &o), -EINVAL, "%s %s accepted", bad[i][0],
			     bad[i][1]);
	}
}

Test(uprobe_resolve, short_names)
{
	cr_assert(uprobe_short_name_matches("libc", "/usr/lib/x86_64-linux-gnu/libc.so.6"));
	cr_assert(uprobe_short_name_matches("libc", "/lib/libc-2.31.so"));
	cr_assert(uprobe_short_name_matches("libc.so.6", "/lib/libc.so.6"));
	cr_assert_not(uprobe_short_name_matches("libc", "/usr/lib/libcrypto.so.3"));
	cr_assert(uprobe_short_name_matches("myprog", "/srv/bin/myprog"));
	cr_assert_not(uprobe_short_name_matches("myprog", "/srv/bin/myprog2"));
	cr_assert(uprobe_is_glob("db_*"));
	cr_assert(uprobe_is_glob("f?o"));
	cr_assert(uprobe_is_glob("[ab]c"));
	cr_assert_not(uprobe_is_glob("handle_request"));
}

Test(uprobe_resolve, match_and_cap)
{
	struct elfsyms *e = elfsyms__open(fixture_path("trace_nest"));
	const struct elfsym *inner;
	struct uprobe_func *f;
	uint64_t off;
	size_t n;

	cr_assert_not_null(e);
	inner = elfsyms__by_name(e, "inner");
	cr_assert_not_null(inner);
	cr_assert_eq(elfsyms__vaddr_to_off(e, inner->addr, &off), 0);

	cr_assert_eq(uprobe_match_funcs(e, "inner", 64, &f, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(f[0].name, "inner");
	cr_assert_eq(f[0].offset, off);
	uprobe_funcs_free(f, n);

	cr_assert_eq(uprobe_match_funcs(e, "[io]*er", 64, &f, &n), 0);
	cr_assert_eq(n, 2);
	uprobe_funcs_free(f, n);

	/* Over the cap: an error, and n says how many matched. */
	cr_assert_eq(uprobe_match_funcs(e, "[io]*er", 1, &f, &n), -E2BIG);
	cr_assert_eq(n, 2);
	cr_assert_null(f);

	cr_assert_eq(uprobe_match_funcs(e, "nosuch", 64, &f, &n), -ENOENT);
	cr_assert_eq(uprobe_match_funcs(e, "nosuch*", 64, &f, &n), -ENOENT);
	elfsyms__free(e);
}

Test(suggest, edit_distance)
{
	cr_assert_eq(edit_distance("kitten", "sitting"), 3);
	cr_assert_eq(edit_distance("", "abc"), 3);
	cr_assert_eq(edit_distance("malloc", "malloc"), 0);
	cr_assert_eq(edit_distance("handle_requst", "handle_request"), 1);
}

Test(suggest, closest_first)
{
	const char *names[] = {"main", "handle_reply", "handle_request", "handle_req",
			       "handle_request"};
	const char *out[3];

	cr_assert_eq(suggest_closest(names, 5, "handle_requst", out, 3), 3);
	cr_assert_str_eq(out[0], "handle_request");
	cr_assert_str_eq(out[1], "handle_req");
	cr_assert_str_eq(out[2], "handle_reply");
	/* A substring counts as close even when the edit distance is large. */
	cr_assert_eq(suggest_closest(names, 5, "reply", out, 3), 1);
	cr_assert_str_eq(out[0], "handle_reply");
	cr_assert_eq(suggest_closest(names, 5, "zzzzzzzz", out, 3), 0);
}
