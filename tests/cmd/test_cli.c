// SPDX-License-Identifier: MIT
/* The `sonde record` parser and the shared CLI helpers, apart from main(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cmd/cli.h"

#define ARGV(...) ((char *[]){ "record", __VA_ARGS__, NULL })

static int parse(struct session_opts *o, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return cli_parse_record(argc, argv, o);
}

Test(cli, record_defaults)
{
	struct session_opts o;

	cr_assert_eq(parse(&o, ARGV("-p", "42")), 0);
	cr_expect_eq(o.t.npids, 1);
	cr_expect_eq(o.t.pids[0], 42);
	cr_expect_eq(o.cpu.freq, 99);
	cr_expect_eq(o.out.n, 0);
	cr_expect(o.cpu.kernel);
	cr_expect_eq(o.cpu.call_graph, CALL_GRAPH_DWARF);
	cr_expect_eq(o.cpu.stack_size, 16384);
	cr_expect_eq(o.out.top, 20);
	cr_expect_eq(o.cpu.max_pids, 8192);
	cr_expect(o.t.duration_s == 0);
	cr_expect_null(o.t.cmd);
	session_opts_free(&o);
}

/* -d, as the agent's durations: plain seconds, or a number with units. */
Test(cli, record_duration_with_units)
{
	static const struct {
		const char *arg;
		double s;
	} ok[] = {{"2.5", 2.5}, {"500ms", 0.5}, {"30s", 30}, {"1m30s", 90}, {"2h", 7200}};
	static const char *const bad[] = {"0", "0s", "-1", "1e3", "2x", "1.5.2", "", "400d"};
	struct session_opts o;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(parse(&o, ARGV("-d", (char *)ok[i].arg, "-p", "1")), 0, "%s",
			     ok[i].arg);
		cr_expect(o.t.duration_s == ok[i].s, "-d %s: %g", ok[i].arg, o.t.duration_s);
		session_opts_free(&o);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(parse(&o, ARGV("-d", (char *)bad[i], "-p", "1")), -EINVAL, "-d '%s'",
			     bad[i]);
}

Test(cli, record_all_options)
{
	struct session_opts o;
	char **argv = ARGV("-p", "1,22,333", "-F", "199", "-d", "2.5", "-o", "a.folded", "-o",
			   "b.svg", "-o", "c.pb.gz", "--no-kernel", "--call-graph", "fp", "--top",
			   "5", "--max-pids", "64", "-v", "-v");

	cr_assert_eq(parse(&o, argv), 0);
	cr_expect_eq(o.t.npids, 3);
	cr_expect_eq(o.t.pids[2], 333);
	cr_expect_eq(o.cpu.freq, 199);
	cr_expect(o.t.duration_s == 2.5);
	cr_expect_eq(o.out.n, 3);
	cr_expect_str_eq(o.out.paths[1], "b.svg");
	cr_expect_eq(o.out.formats[0], OUT_FOLDED);
	cr_expect_eq(o.out.formats[1], OUT_SVG);
	cr_expect_eq(o.out.formats[2], OUT_PPROF);
	cr_expect(!o.cpu.kernel);
	cr_expect_eq(o.cpu.call_graph, CALL_GRAPH_FP);
	cr_expect_eq(o.out.top, 5);
	cr_expect_eq(o.cpu.max_pids, 64);
	cr_expect_eq(o.verbose, 2);
	session_opts_free(&o);
}

Test(cli, record_command_after_dashdash)
{
	struct session_opts o;
	char **argv = ARGV("-F", "99", "--", "./prog", "-p", "x");

	cr_assert_eq(parse(&o, argv), 0);
	cr_assert_not_null(o.t.cmd);
	/* Options after "--" belong to the command, not to sonde. */
	cr_expect_str_eq(o.t.cmd[0], "./prog");
	cr_expect_str_eq(o.t.cmd[1], "-p");
	cr_expect_str_eq(o.t.cmd[2], "x");
	cr_expect_null(o.t.cmd[3]);
	cr_expect_eq(o.t.npids, 0);
	session_opts_free(&o);
}

Test(cli, record_rejects)
{
	struct session_opts o;
	char **bad[] = {
		ARGV("-F", "99"),      /* no target */
		ARGV("-p", "1", "-a"), /* two targets */
		ARGV("-p", "1,x"),
		ARGV("-p", "0"),
		ARGV("-p", "-5"),
		ARGV("-p", "1", "-F", "0"),
		ARGV("-p", "1", "-F", "100001"),
		ARGV("-p", "1", "-F", "9x"),
		ARGV("-p", "1", "-d", "0"),
		ARGV("-p", "1", "-d", "abc"),
		ARGV("-p", "1", "-o", "cpu.png"),
		ARGV("-p", "1", "--ring-size", "3000"),
		ARGV("-p", "1", "--call-graph", "lbr"),
		ARGV("-p", "1", "--bogus"),
		ARGV("-p", "1", "-o", "a.svg", "-o", "a.svg"),
		ARGV("-p", "1", "-o", "a.folded", "-o", "b", "-o", "c", "-o", "d", "-o", "e", "-o",
		     "f", "-o", "g", "-o", "h", "-o", "i.svg"),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse(&o, bad[i]);

		cr_expect_eq(err, -EINVAL, "case %zu: got %d", i, err);
	}
}

Test(cli, record_help)
{
	struct session_opts o;

	cr_expect_eq(parse(&o, ARGV("--help")), CLI_EXIT_HELP);
}

Test(cli, pid_list)
{
	pid_t *pids = NULL;
	int n = 0;

	cr_assert_eq(cli_parse_pid_list("7,8,9", &pids, &n), 0);
	cr_expect_eq(n, 3);
	cr_expect_eq(pids[0], 7);
	cr_expect_eq(pids[2], 9);
	free(pids);
	cr_expect_eq(cli_parse_pid_list("", &pids, &n), -EINVAL);
	cr_expect_eq(cli_parse_pid_list("7,", &pids, &n), -EINVAL);
	cr_expect_eq(cli_parse_pid_list("99999999999", &pids, &n), -EINVAL);
}

Test(cli, out_format_and_numbers)
{
	enum out_format f;
	unsigned int v = 0;
	double d = 0;

	cr_expect_eq(out_format_from_path("x.folded", &f), 0);
	cr_expect_eq(f, OUT_FOLDED);
	cr_expect_eq(out_format_from_path("dir/x.pb.gz", &f), 0);
	cr_expect_eq(f, OUT_PPROF);
	cr_expect_eq(out_format_from_path(".svg", &f), -EINVAL);
	cr_expect_eq(out_format_from_path("x.gz", &f), -EINVAL);

	cr_expect_eq(cli_parse_uint("42", 1, 100, &v), 0);
	cr_expect_eq(v, 42);
	cr_expect_eq(cli_parse_uint("-1", 0, 100, &v), -EINVAL);
	cr_expect_eq(cli_parse_uint("101", 0, 100, &v), -EINVAL);
	cr_expect_eq(cli_parse_uint("", 0, 100, &v), -EINVAL);
	cr_expect_eq(cli_uint_opt("record", "--top", "7", 1, 10, &v), 0);
	cr_expect_eq(v, 7);
	cr_expect_eq(cli_uint_opt("record", "--top", "70", 1, 10, &v), -EINVAL);

	cr_expect_eq(cli_parse_duration("0.5", &d), 0);
	cr_expect(d == 0.5);
	cr_expect_eq(cli_parse_duration("inf", &d), -EINVAL);
	cr_expect_eq(cli_parse_duration("-3", &d), -EINVAL);
}

Test(cli, record_svg_options_and_command_line)
{
	struct session_opts o;
	char **argv = ARGV("-o", "cpu.svg", "--title", "My graph", "--width", "1600", "--inverted",
			   "--", "./prog", "it's", "a b", "$HOME");

	cr_assert_eq(parse(&o, argv), 0);
	cr_expect_str_eq(o.out.title, "My graph");
	cr_expect_eq(o.out.width, 1600);
	cr_expect(o.out.inverted);
	cr_expect(!o.out.top_given);
	/* The whole command line, quoted so a shell reads it back. */
	cr_expect_str_eq(o.out.cmdline, "sonde record -o cpu.svg --title 'My graph' --width 1600 "
					"--inverted -- ./prog 'it'\\''s' 'a b' '$HOME'");
	session_opts_free(&o);
	cr_expect_null(o.out.cmdline);
}

Test(cli, stdout_output_takes_format)
{
	struct session_opts o;

	cr_assert_eq(parse(&o, ARGV("-p", "1", "-o", "-", "--format", "svg", "-o", "x.folded",
				    "--top", "7")),
		     0);
	cr_expect_eq(o.out.n, 2);
	cr_expect_str_eq(o.out.paths[0], "-");
	cr_expect_eq(o.out.formats[0], OUT_SVG);
	cr_expect_eq(o.out.formats[1], OUT_FOLDED);
	cr_expect(o.out.top_given);
	cr_expect_eq(o.out.top, 7);
	session_opts_free(&o);
	cr_assert_eq(parse(&o, ARGV("-p", "1", "-o", "-")), 0);
	cr_expect_eq(o.out.formats[0], OUT_FOLDED);
	session_opts_free(&o);
	cr_expect_eq(parse(&o, ARGV("-p", "1", "-o", "-", "--format", "png")), -EINVAL);
	cr_expect_eq(parse(&o, ARGV("-p", "1", "-o", "-", "-o", "-")), -EINVAL);
	cr_expect_eq(parse(&o, ARGV("-p", "1", "-o", "a.svg", "--format", "svg")), -EINVAL);
	cr_expect_eq(parse(&o, ARGV("-p", "1", "-o", "a.svg", "--width", "199")), -EINVAL);
}

static int parse_files_argv(int (*fn)(int, char **, struct files_opts *), struct files_opts *o,
			    char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return fn(argc, argv, o);
}

Test(cli, report_and_diff)
{
	struct files_opts o;

	/* Options after the file. */
	cr_assert_eq(parse_files_argv(cli_parse_report, &o,
				      (char *[]){"report", "cpu.pb.gz", "-o", "cpu.svg",
						 "--sample-type", "cpu", "--top", "5", NULL}),
		     0);
	cr_expect_eq(o.ninputs, 1);
	cr_expect_str_eq(o.inputs[0], "cpu.pb.gz");
	cr_expect_str_eq(o.sample_type, "cpu");
	cr_expect_eq(o.out.n, 1);
	cr_expect_eq(o.out.formats[0], OUT_SVG);
	cr_expect_eq(o.out.top, 5);
	cr_expect_str_eq(o.out.cmdline, "sonde report cpu.pb.gz -o cpu.svg --sample-type cpu "
					"--top 5");
	files_opts_free(&o);

	cr_assert_eq(parse_files_argv(cli_parse_diff, &o,
				      (char *[]){"diff", "-n", "a.folded", "dir/", "-o", "d.svg",
						 "-o", "d.folded", NULL}),
		     0);
	cr_expect_eq(o.ninputs, 2);
	cr_expect_str_eq(o.inputs[1], "dir/");
	cr_expect(o.normalize);
	cr_expect_eq(o.out.top, 20);
	files_opts_free(&o);

	cr_expect_eq(parse_files_argv(cli_parse_report, &o, (char *[]){"report", NULL}), -EINVAL);
	cr_expect_eq(parse_files_argv(cli_parse_report, &o, (char *[]){"report", "a", "b", NULL}),
		     -EINVAL);
	cr_expect_eq(parse_files_argv(cli_parse_report, &o, (char *[]){"report", "-n", "a", NULL}),
		     -EINVAL);
	cr_expect_eq(parse_files_argv(cli_parse_diff, &o, (char *[]){"diff", "a", NULL}), -EINVAL);
	/* A difference is no pprof profile. */
	cr_expect_eq(parse_files_argv(cli_parse_diff, &o,
				      (char *[]){"diff", "a", "b", "-o", "d.pb.gz", NULL}),
		     -EINVAL);
}

/* The SVG options are every command's: trace with -e cpu writes a flame graph too. */
Test(cli, trace_takes_the_svg_options)
{
	struct session_opts o;
	char *argv[] = {"trace", "-f",	       "libc:malloc", "-e", "cpu,uprobe",
			"-o",	 "cpu.svg",    "--title",     "T",  "--width",
			"800",	 "--inverted", "-p",	      "1",  NULL};

	cr_assert_eq(cli_parse_trace(14, argv, &o), 0);
	cr_expect_str_eq(o.out.title, "T");
	cr_expect_eq(o.out.width, 800);
	cr_expect(o.out.inverted);
	cr_expect_eq(o.out.formats[0], OUT_SVG);
	session_opts_free(&o);
}

/* The offcpu, alloc and faults probes and their options, in record. */
Test(cli, record_memory_probes)
{
	struct session_opts o;
	char **argv = ARGV("-e", "cpu,offcpu,alloc,faults", "--offcpu-min", "250us",
			   "--offcpu-sample", "0.05", "--offcpu-max-pending", "128", "--alloc-rate",
			   "64K", "--inuse", "--alloc-max-live", "1000", "--alloc-lib", "/x/libc.so",
			   "--faults-period", "10", "-o", "m.svg", "-p", "7");

	cr_assert_eq(parse(&o, argv), 0);
	cr_expect_eq(o.probes, SESSION_PROBE_CPU | SESSION_PROBE_OFFCPU | SESSION_PROBE_ALLOC |
				       SESSION_PROBE_FAULTS);
	cr_expect_eq(o.offcpu.min_ns, 250000);
	cr_expect(o.offcpu.sample == 0.05);
	cr_expect_eq(o.offcpu.max_pending, 128);
	cr_expect_eq(o.alloc.rate, 65536);
	cr_expect(o.alloc.inuse);
	cr_expect_eq(o.alloc.max_live, 1000);
	cr_expect_str_eq(o.alloc.libc, "/x/libc.so");
	cr_expect_eq(o.faults.period, 10);
	session_opts_free(&o);

	/* Defaults: record stays cpu; 1 ms, every wait, 512 KiB, period 1. */
	cr_assert_eq(parse(&o, ARGV("-p", "7")), 0);
	cr_expect_eq(o.probes, SESSION_PROBE_CPU);
	cr_expect_eq(o.offcpu.min_ns, 1000000);
	cr_expect(o.offcpu.sample == 1.0);
	cr_expect_eq(o.alloc.rate, 512 * 1024);
	cr_expect(!o.alloc.inuse);
	cr_expect_eq(o.faults.period, 1);
	session_opts_free(&o);

	/* -o with offcpu alone is fine: it feeds the profile. */
	cr_assert_eq(parse(&o, ARGV("-e", "offcpu", "-o", "off.svg", "-p", "7")), 0);
	cr_expect_eq(o.alloc.rate, 512 * 1024);
	session_opts_free(&o);
	cr_assert_eq(parse(&o, ARGV("-e", "alloc", "--alloc-rate", "0", "-p", "7")), 0);
	cr_expect_eq(o.alloc.rate, 0);
	session_opts_free(&o);
}

Test(cli, record_memory_probes_reject)
{
	struct session_opts o;
	char **bad[] = {
		ARGV("-p", "1", "-e", "offcpu", "--offcpu-min", "5"), /* no unit */
		ARGV("-p", "1", "-e", "offcpu", "--offcpu-min", "0"),
		ARGV("-p", "1", "-e", "offcpu", "--offcpu-min", "-1ms"),
		ARGV("-p", "1", "-e", "offcpu", "--offcpu-min", "2h"),
		ARGV("-p", "1", "-e", "offcpu", "--offcpu-sample", "0"),
		ARGV("-p", "1", "-e", "offcpu", "--offcpu-sample", "1.5"),
		ARGV("-p", "1", "-e", "alloc", "--alloc-rate", "2G"),
		ARGV("-p", "1", "-e", "alloc", "--alloc-rate", "-1"),
		ARGV("-p", "1", "-e", "alloc", "--alloc-rate", "12X"),
		ARGV("-p", "1", "-e", "faults", "--faults-period", "0"),
		ARGV("-p", "1", "-e", "memory"),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse(&o, bad[i]);

		cr_expect_eq(err, -EINVAL, "case %zu: got %d", i, err);
	}
}

Test(cli, durations_and_bytes)
{
	uint64_t v;

	cr_assert_eq(cli_parse_duration_ns("1ms", &v), 0);
	cr_expect_eq(v, 1000000);
	cr_assert_eq(cli_parse_duration_ns("1.5us", &v), 0);
	cr_expect_eq(v, 1500);
	cr_assert_eq(cli_parse_duration_ns("2s", &v), 0);
	cr_expect_eq(v, 2000000000);
	cr_assert_eq(cli_parse_duration_ns("300ns", &v), 0);
	cr_expect_eq(v, 300);
	cr_expect_eq(cli_parse_duration_ns("1", &v), -EINVAL);
	cr_expect_eq(cli_parse_duration_ns("1m", &v), -EINVAL);
	cr_assert_eq(cli_parse_bytes("512K", 1ull << 30, &v), 0);
	cr_expect_eq(v, 524288);
	cr_assert_eq(cli_parse_bytes("1MiB", 1ull << 30, &v), 0);
	cr_expect_eq(v, 1048576);
	cr_assert_eq(cli_parse_bytes("4096", 1ull << 30, &v), 0);
	cr_expect_eq(v, 4096);
	cr_assert_eq(cli_parse_bytes("1G", 1ull << 30, &v), 0);
	cr_expect_eq(cli_parse_bytes("1025M", 1ull << 30, &v), -EINVAL);
	cr_expect_eq(cli_parse_bytes("K", 1ull << 30, &v), -EINVAL);
}
