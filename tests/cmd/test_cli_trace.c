// SPDX-License-Identifier: MIT
/* sonde trace: option parsing, TARGET:FUNC specs, name matching, suggestions. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "cmd/cli.h"
#include "symbols/elfsyms.h"
#include "base/suggest.h"
#include "probes/uprobe_resolve.h"

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
	struct session_opts o;

	cr_assert_eq(cli_parse_trace(17, argv, &o), 0);
	cr_assert_eq(o.t.npids, 2);
	cr_assert_eq(o.t.pids[1], 13);
	cr_assert_eq(o.uprobe.nfuncs, 2);
	cr_assert_str_eq(o.uprobe.funcs[1].target, "/bin/x");
	cr_assert_str_eq(o.uprobe.funcs[1].func, "db_*");
	cr_assert_str_eq(o.uprobe.funcs[1].arg, "/bin/x:db_*");
	cr_assert_eq(o.uprobe.max_probes, 5);
	cr_assert_eq(o.uprobe.max_depth, 8);
	cr_assert_eq(o.uprobe.max_threads, 100);
	cr_assert_str_eq(o.out.spans_path, "out.jsonl");
	cr_assert(o.t.duration_s == 2.5);
	cr_assert_null(o.t.cmd);
	session_opts_free(&o);
}

Test(cli_trace, command_and_defaults)
{
	char *argv[] = {"trace", "-f", "myprog:handle", "--", "./myprog", "-x", NULL};
	struct session_opts o;

	cr_assert_eq(cli_parse_trace(6, argv, &o), 0);
	cr_assert_str_eq(o.t.cmd[0], "./myprog");
	cr_assert_str_eq(o.t.cmd[1], "-x");
	cr_assert_eq(o.uprobe.max_probes, 64);
	cr_assert_eq(o.uprobe.max_depth, TRACE_MAX_DEPTH);
	cr_assert_null(o.out.spans_path);
	cr_assert(o.uprobe.anomaly_alpha == 1e-3);
	cr_assert(o.uprobe.anomaly_min_change == 0.2);
	session_opts_free(&o);
}

Test(cli_trace, watch_options)
{
	char *ok[] = {"trace",	 "-p",	"1",	"-f", "a:b", "--watch", "--anomaly-alpha",
		      "0.01",	 "--anomaly-min-change", "1.5", NULL};
	char *neg[] = {"trace", "-p", "1", "-f", "a:b", "--anomaly-min-change", "-0.1", NULL};
	char *big[] = {"trace", "-p", "1", "-f", "a:b", "--anomaly-min-change", "101", NULL};
	char *word[] = {"trace", "-p", "1", "-f", "a:b", "--anomaly-min-change", "20%", NULL};
	struct session_opts o;

	cr_assert_eq(cli_parse_trace(10, ok, &o), 0);
	cr_assert(o.uprobe.watch);
	cr_assert(o.uprobe.anomaly_alpha == 0.01);
	cr_assert(o.uprobe.anomaly_min_change == 1.5);
	session_opts_free(&o);
	cr_assert_eq(cli_parse_trace(7, neg, &o), -EINVAL);
	cr_assert_eq(cli_parse_trace(7, big, &o), -EINVAL);
	cr_assert_eq(cli_parse_trace(7, word, &o), -EINVAL);
}

Test(cli_trace, rejects_bad_input)
{
	char *nofunc[] = {"trace", "-p", "1", NULL};
	char *badspec[] = {"trace", "-p", "1", "-f", "malloc", NULL};
	char *deep[] = {"trace", "-p", "1", "-f", "a:b", "--max-depth", "33", NULL};
	char *probes[] = {"trace", "-p", "1", "-f", "a:b", "--max-probes", "0", NULL};
	char *notarget[] = {"trace", "-f", "a:b", NULL};
	char *both[] = {"trace", "-p", "1", "-f", "a:b", "--", "ls", NULL};
	struct session_opts o;

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
	struct session_opts o;

	cr_assert_eq(cli_parse_trace(19, argv, &o), 0);
	/* A bare port binds loopback only. */
	cr_assert_str_eq(o.ex.listen, "127.0.0.1:9464");
	cr_assert_str_eq(o.ex.statsd, "127.0.0.1:8125");
	cr_assert_str_eq(o.ex.otlp_endpoint, "http://h:4318");
	cr_assert_eq(o.ex.otlp_queue, 100);
	cr_assert(o.ex.export_interval_s == 2.5);
	cr_assert(o.ex.flush_timeout_s == 0);
	cr_assert_eq(o.ex.max_series, 500);
	session_opts_free(&o);

	cr_assert_eq(cli_parse_trace(7, all, &o), 0);
	cr_assert_str_eq(o.ex.listen, ":9464");
	session_opts_free(&o);

	/* Durations as the agent writes them. */
	{
		char *units[] = {
			"trace",	   "-p", "1", "-f", "a:b", "--export-interval", "500ms",
			"--flush-timeout", "1m", NULL};

		cr_assert_eq(cli_parse_trace(9, units, &o), 0);
		cr_assert(o.ex.export_interval_s == 0.5);
		cr_assert(o.ex.flush_timeout_s == 60);
		session_opts_free(&o);
	}

	cr_assert_eq(cli_parse_trace(5, defaults, &o), 0);
	cr_assert_null(o.ex.listen);
	cr_assert_null(o.ex.statsd);
	cr_assert_null(o.ex.otlp_endpoint);
	cr_assert_eq(o.ex.otlp_queue, 8192);
	cr_assert(o.ex.export_interval_s == 10);
	cr_assert(o.ex.flush_timeout_s == 5);
	cr_assert_eq(o.ex.max_series, 10000);
	session_opts_free(&o);
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
	struct session_opts o;

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

/*
 * A plain name also names the compiler's whole-function clones of it
 * (work.constprop.0), not the pieces split out of it (work.part.0); a glob
 * and the exact name of a piece still take what they say.
 */
Test(uprobe_resolve, clones_of_a_name)
{
	struct elfsyms *e = elfsyms__open(fixture_path("clones"));
	struct uprobe_func *f;
	size_t n;

	cr_assert_not_null(e);
	cr_assert_eq(uprobe_match_funcs(e, "work", 64, &f, &n), 0);
	cr_assert_eq(n, 2);
	cr_expect(!strcmp(f[0].name, "work") || !strcmp(f[1].name, "work"));
	cr_expect(!strcmp(f[0].name, "work.constprop.0") || !strcmp(f[1].name, "work.constprop.0"));
	cr_expect_neq(f[0].offset, f[1].offset);
	uprobe_funcs_free(f, n);

	cr_assert_eq(uprobe_match_funcs(e, "work.part.0", 64, &f, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(f[0].name, "work.part.0");
	uprobe_funcs_free(f, n);

	cr_assert_eq(uprobe_match_funcs(e, "work*", 64, &f, &n), 0);
	cr_expect_eq(n, 3);
	uprobe_funcs_free(f, n);

	/* A prefix is no name, and a clone kind needs its number. */
	cr_assert_eq(uprobe_match_funcs(e, "wor", 64, &f, &n), -ENOENT);
	cr_assert_eq(uprobe_match_funcs(e, "work.constprop", 64, &f, &n), -ENOENT);
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

Test(cli_trace, listen_hardening_and_statsd_flavor)
{
	char *argv[] = {"trace",	   "-p",	    "12",	    "-f",
			"libc:malloc",	   "--listen",	    ":9464",	    "--listen-allow",
			"10.0.0.0/8",	   "--listen-allow", "::1",	    "--listen-auth",
			"/etc/sonde/auth", "--statsd",	    "127.0.0.1:8125", "--statsd-flavor",
			"dogstatsd",	   NULL};
	struct session_opts o;

	cr_assert_eq(cli_parse_trace(17, argv, &o), 0);
	cr_assert_str_eq(o.ex.listen, ":9464");
	cr_assert_eq(o.ex.nlisten_allow, 2);
	cr_assert_eq(o.ex.listen_allow[0].bits, 104);
	cr_assert_eq(o.ex.listen_allow[0].addr[12], 10);
	cr_assert_eq(o.ex.listen_allow[1].bits, 128);
	cr_assert_eq(o.ex.listen_allow[1].addr[15], 1);
	cr_assert_str_eq(o.ex.listen_auth, "/etc/sonde/auth");
	cr_assert_eq(o.ex.statsd_flavor, STATSD_FLAVOR_DOGSTATSD);
	session_opts_free(&o);
}

static int parse_err(char **argv, int argc, char **err)
{
	struct session_opts o;
	int saved = dup(2), fd, rc;
	char path[512];

	snprintf(path, sizeof(path), "%s/cli-err-%d", test_tmpdir(), getpid());
	fflush(stderr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dup2(fd, 2);
	close(fd);
	rc = cli_parse_trace(argc, argv, &o);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	*err = read_file(path, NULL);
	if (!rc)
		session_opts_free(&o);
	return rc;
}

Test(cli_trace, listen_hardening_errors_are_one_line)
{
	char *bad_cidr[] = {"trace", "-p", "1", "-f", "libc:malloc", "--listen", "9464",
			    "--listen-allow", "10.1.2.3/8", NULL};
	char *no_listen[] = {"trace", "-p", "1", "-f", "libc:malloc", "--listen-auth", "/x", NULL};
	char *flavor[] = {"trace", "-p", "1", "-f", "libc:malloc", "--statsd-flavor", "graphite",
			  NULL};
	char *err;

	cr_assert_eq(parse_err(bad_cidr, 9, &err), -EINVAL);
	cr_assert_str_eq(err, "sonde: trace: --listen-allow takes an address or network, e.g. "
			      "10.0.0.0/8, 192.168.1.7 or fd00::/8, not '10.1.2.3/8'\n");
	free(err);
	cr_assert_eq(parse_err(no_listen, 7, &err), -EINVAL);
	cr_assert_str_eq(err, "sonde: trace: --listen-allow and --listen-auth protect --listen: "
			      "add --listen ADDR:PORT\n");
	free(err);
	cr_assert_eq(parse_err(flavor, 7, &err), -EINVAL);
	cr_assert_str_eq(err, "sonde: trace: --statsd-flavor takes 'statsd' or 'dogstatsd', not "
			      "'graphite'\n");
	free(err);
}

Test(cli_trace, slow_call_options)
{
	char *ok[] = {"trace", "-p", "1", "-f", "app:handle", "-e", "cpu,offcpu", "--slower-than",
		      "50ms", "--slowest", "3", "--max-held-samples", "1000", NULL};
	char *no_stacks[] = {"trace", "-p", "1", "-f", "app:handle", "--slower-than", "50ms", NULL};
	char *zero[] = {"trace", "-p", "1", "-f", "app:handle", "-e", "cpu", "--slower-than", "0ms",
			NULL};
	char *many[] = {"trace", "-p", "1", "-f", "app:handle", "-e", "cpu", "--slowest", "100001",
			NULL};
	char *held[] = {"trace", "-p", "1", "-f", "app:handle", "-e", "cpu", "--max-held-samples",
			"10", NULL};
	struct session_opts o;
	char *err;

	cr_assert_eq(cli_parse_trace(13, ok, &o), 0);
	cr_assert_eq(o.uprobe.slower_than_ns, 50000000ull);
	cr_assert_eq(o.uprobe.slowest, 3);
	cr_assert_eq(o.uprobe.max_held, 1000);
	session_opts_free(&o);
	cr_assert_eq(parse_err(no_stacks, 7, &err), -EINVAL);
	cr_assert_str_eq(err, "sonde: trace: --slower-than and --slowest keep the stacks of slow "
			      "calls: add -e cpu (or offcpu, alloc, faults)\n");
	free(err);
	cr_assert_eq(parse_err(zero, 9, &err), -EINVAL);
	cr_assert_str_eq(err, "sonde: trace: --slower-than takes a duration from 1ns to 3600s with "
			      "its unit (ns, us, ms, s), e.g. 50ms, not '0ms'\n");
	free(err);
	cr_assert_eq(parse_err(many, 9, &err), -EINVAL);
	free(err);
	cr_assert_eq(parse_err(held, 9, &err), -EINVAL);
	cr_assert_str_eq(err, "sonde: trace: --max-held-samples bounds what --slower-than and "
			      "--slowest hold: add one of them\n");
	free(err);
}
