// SPDX-License-Identifier: MIT
/* The `sonde record` parser and the shared CLI helpers, apart from main(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sonde/cli.h"

#define ARGV(...) ((char *[]){ "record", __VA_ARGS__, NULL })

static int parse(struct record_opts *o, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return cli_parse_record(argc, argv, o);
}

Test(cli, record_defaults)
{
	struct record_opts o;

	cr_assert_eq(parse(&o, ARGV("-p", "42")), 0);
	cr_expect_eq(o.t.npids, 1);
	cr_expect_eq(o.t.pids[0], 42);
	cr_expect_eq(o.freq, 99);
	cr_expect_eq(o.noutputs, 0);
	cr_expect(o.kernel);
	cr_expect_eq(o.call_graph, CALL_GRAPH_DWARF);
	cr_expect_eq(o.stack_size, 16384);
	cr_expect_eq(o.top, 20);
	cr_expect_eq(o.max_pids, 8192);
	cr_expect(o.t.duration_s == 0);
	cr_expect_null(o.t.cmd);
	record_opts_free(&o);
}

Test(cli, record_all_options)
{
	struct record_opts o;
	char **argv = ARGV("-p", "1,22,333", "-F", "199", "-d", "2.5", "-o", "a.folded", "-o",
			   "b.svg", "-o", "c.pb.gz", "--no-kernel", "--call-graph", "fp", "--top",
			   "5", "--max-pids", "64", "-v", "-v");

	cr_assert_eq(parse(&o, argv), 0);
	cr_expect_eq(o.t.npids, 3);
	cr_expect_eq(o.t.pids[2], 333);
	cr_expect_eq(o.freq, 199);
	cr_expect(o.t.duration_s == 2.5);
	cr_expect_eq(o.noutputs, 3);
	cr_expect_str_eq(o.outputs[1], "b.svg");
	cr_expect_eq(o.formats[0], OUT_FOLDED);
	cr_expect_eq(o.formats[1], OUT_SVG);
	cr_expect_eq(o.formats[2], OUT_PPROF);
	cr_expect(!o.kernel);
	cr_expect_eq(o.call_graph, CALL_GRAPH_FP);
	cr_expect_eq(o.top, 5);
	cr_expect_eq(o.max_pids, 64);
	cr_expect_eq(o.verbose, 2);
	record_opts_free(&o);
}

Test(cli, record_command_after_dashdash)
{
	struct record_opts o;
	char **argv = ARGV("-F", "99", "--", "./prog", "-p", "x");

	cr_assert_eq(parse(&o, argv), 0);
	cr_assert_not_null(o.t.cmd);
	/* Options after "--" belong to the command, not to sonde. */
	cr_expect_str_eq(o.t.cmd[0], "./prog");
	cr_expect_str_eq(o.t.cmd[1], "-p");
	cr_expect_str_eq(o.t.cmd[2], "x");
	cr_expect_null(o.t.cmd[3]);
	cr_expect_eq(o.t.npids, 0);
	record_opts_free(&o);
}

Test(cli, record_rejects)
{
	struct record_opts o;
	char **bad[] = {
		ARGV("-F", "99"), /* no target */
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
		ARGV("-p", "1", "-o", "a.folded", "-o", "b", "-o", "c", "-o", "d", "-o", "e",
		     "-o", "f", "-o", "g", "-o", "h", "-o", "i.svg"),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse(&o, bad[i]);

		cr_expect_eq(err, -EINVAL, "case %zu: got %d", i, err);
	}
}

Test(cli, record_help)
{
	struct record_opts o;

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
