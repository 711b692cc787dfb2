// SPDX-License-Identifier: MIT
/* Shared parsing helpers and the `sonde record` parser. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sonde/cli.h"
#include "sonde/log.h"

int out_format_from_path(const char *path, enum out_format *fmt)
{
	static const struct {
		const char *ext;
		enum out_format fmt;
	} exts[] = {
		{".folded", OUT_FOLDED},
		{".svg", OUT_SVG},
		{".pb.gz", OUT_PPROF},
	};
	size_t len = strlen(path);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t el = strlen(exts[i].ext);

		if (len > el && !strcmp(path + len - el, exts[i].ext)) {
			*fmt = exts[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

int cli_parse_pid_list(const char *s, pid_t **pids, int *npids)
{
	pid_t *out = NULL;
	int n = 0;
	const char *p = s;

	if (!*s)
		return -EINVAL;
	for (;;) {
		char *end;
		long v;
		pid_t *grown;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v <= 0 || v > INT_MAX || (*end && *end != ','))
			goto err_free;
		grown = realloc(out, (n + 1) * sizeof(*out));
		if (!grown) {
			free(out);
			return -ENOMEM;
		}
		out = grown;
		out[n++] = (pid_t)v;
		if (!*end)
			break;
		p = end + 1;
	}
	*pids = out;
	*npids = n;
	return 0;

err_free:
	free(out);
	return -EINVAL;
}

int cli_parse_duration(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 365 * 86400.0)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (*s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

void cli_report_bad_option(const char *cmd, const char *value_opts, char **argv)
{
	if (optopt && optopt < 256)
		log_err("%s: option -%c %s (see sonde %s --help)", cmd, optopt,
			strchr(value_opts, optopt) ? "needs a value" : "is unknown", cmd);
	else
		log_err("%s: unknown or incomplete option '%s' (see sonde %s --help)", cmd,
			argv[optind - 1], cmd);
}

int cli_target_opt(const char *cmd, int c, const char *arg, struct target_opts *t)
{
	int err;

	if (c == 'd') {
		if (cli_parse_duration(arg, &t->duration_s)) {
			log_err("%s: -d takes a positive number of seconds, not '%s'", cmd, arg);
			return -EINVAL;
		}
		return 0;
	}
	/* -p: a later -p replaces an earlier one. */
	free(t->pids);
	t->pids = NULL;
	err = cli_parse_pid_list(arg, &t->pids, &t->npids);
	if (err == -EINVAL)
		log_err("%s: -p takes PIDs separated by commas, not '%s'", cmd, arg);
	return err;
}

int cli_uint_opt(const char *cmd, const char *opt, const char *arg, unsigned long min,
		 unsigned long max, unsigned int *out)
{
	if (cli_parse_uint(arg, min, max, out)) {
		log_err("%s: %s takes a number from %lu to %lu, not '%s'", cmd, opt, min, max, arg);
		return -EINVAL;
	}
	return 0;
}

int cli_set_log_format(const char *cmd, const char *arg)
{
	enum log_format fmt;

	if (log_parse_format(arg, &fmt)) {
		log_err("%s: --log-format takes 'text' or 'json', not '%s'", cmd, arg);
		return -EINVAL;
	}
	/* At once, so the errors that follow are in the chosen format. */
	log_set_format(fmt);
	return 0;
}

static void record_usage(FILE *f)
{
	fprintf(f,
		"usage: sonde record [options] (-p PID[,PID...] | -a | [--] CMD [ARGS...])\n"
		"\n"
		"Sample CPU stacks (user and kernel) and write a flame graph.\n"
		"\n"
		"targets (exactly one):\n"
		"  -p, --pid PID[,PID...]  profile running processes, all their threads\n"
		"  -a, --all-cpus          profile the whole system\n"
		"  -- CMD [ARGS...]        launch CMD and profile it (and its children) until it\n"
		"                          exits; with -d, stop it (SIGTERM) when the time is up\n"
		"\n"
		"options:\n"
		"  -F, --freq HZ           sampling frequency per CPU (default 99, max 100000)\n"
		"  -d, --duration SECONDS  stop after this long (default: Ctrl-C or target exit)\n"
		"  -o, --output FILE       .folded (folded stacks), .svg (flame graph),\n"
		"                          .pb.gz (pprof); repeat -o to write one recording in\n"
		"                          several formats; without -o print the hottest "
		"functions\n"
		"      --no-kernel         leave out kernel stacks\n"
		"      --top N             rows in the hottest-functions table (default 20)\n"
		"      --call-graph MODE   how user stacks are walked: 'dwarf' (default: copy\n"
		"                          the stack, unwind it with .eh_frame; works without\n"
		"                          frame pointers) or 'fp' (frame pointers, cheaper);\n"
		"                          'dwarf,BYTES' also sets --stack-size\n"
		"      --stack-size BYTES  user stack copied per sample in dwarf mode, a\n"
		"                          multiple of 8 up to 65536 (default 16384)\n"
		"      --ring-size KIB     ring buffer size in KiB, power of 2 (default: from\n"
		"                          CPUs x rate x sample size, 4096 to 262144)\n"
		"      --max-pids N        size of the in-kernel PID filter (default 8192)\n"
		"      --log-format text|json  log lines as text (default) or JSON objects\n"
		"                          with OTLP's LogRecord fields\n"
		"  -v, --verbose           more logging (repeat for debug)\n"
		"  -h, --help              this help\n"
		"\n"
		"examples:\n"
		"  sonde record -p 4242 -d 10 -o cpu.svg\n"
		"  sonde record -p 4242,4243 -F 199 -o cpu.folded\n"
		"  sonde record -a -d 5 -o all.folded\n"
		"  sonde record -o cpu.svg -- ./myprog --flag\n"
		"  sonde record -p 4242 -d 30 -o cpu.svg -o cpu.pb.gz\n");
}

enum {
	OPT_NO_KERNEL = 256,
	OPT_LOG_FORMAT,
	OPT_TOP,
	OPT_RING_SIZE,
	OPT_MAX_PIDS,
	OPT_CALL_GRAPH,
	OPT_STACK_SIZE,
};

static int parse_stack_size(const char *s, unsigned int *out)
{
	unsigned int v;

	if (cli_parse_uint(s, 8, RECORD_STACK_SIZE_MAX, &v) || v % 8)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "fp", "dwarf" or "dwarf,BYTES", as perf spells it. */
static int parse_call_graph(const char *s, struct record_opts *o)
{
	if (!strcmp(s, "fp")) {
		o->call_graph = CALL_GRAPH_FP;
		return 0;
	}
	if (!strcmp(s, "dwarf")) {
		o->call_graph = CALL_GRAPH_DWARF;
		return 0;
	}
	if (!strncmp(s, "dwarf,", 6) && !parse_stack_size(s + 6, &o->stack_size)) {
		o->call_graph = CALL_GRAPH_DWARF;
		return 0;
	}
	return -EINVAL;
}

int cli_check_target(const char *cmd, const struct target_opts *t)
{
	int n = (t->npids > 0) + t->all + (t->cmd != NULL);

	if (n == 1)
		return 0;
	if (n == 0)
		log_err("%s: no target: give -p PID, -a, or -- CMD (see sonde %s --help)", cmd,
			cmd);
	else
		log_err("%s: -p, -a and -- CMD are exclusive: give only one target", cmd);
	return -EINVAL;
}

int cli_parse_record(int argc, char **argv, struct record_opts *o)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"all-cpus", no_argument, NULL, 'a'},
		{"freq", required_argument, NULL, 'F'},
		{"duration", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"no-kernel", no_argument, NULL, OPT_NO_KERNEL},
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
		{"top", required_argument, NULL, OPT_TOP},
		{"ring-size", required_argument, NULL, OPT_RING_SIZE},
		{"max-pids", required_argument, NULL, OPT_MAX_PIDS},
		{"call-graph", required_argument, NULL, OPT_CALL_GRAPH},
		{"stack-size", required_argument, NULL, OPT_STACK_SIZE},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, err;

	memset(o, 0, sizeof(*o));
	o->freq = 99;
	o->kernel = true;
	o->ring_kib = 0;
	o->max_pids = 8192;
	o->top = 20;
	o->call_graph = CALL_GRAPH_DWARF;
	o->stack_size = RECORD_STACK_SIZE_DEFAULT;
	optind = 0; /* glibc: full reset, so the parser can run more than once */
	opterr = 0;
	/* '+': stop at the first non-option, which starts CMD. */
	while ((c = getopt_long(argc, argv, "+p:aF:d:o:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
		case 'd':
			err = cli_target_opt("record", c, optarg, &o->t);
			if (err)
				goto err_free;
			break;
		case 'a':
			o->t.all = true;
			break;
		case 'F':
			err = cli_uint_opt("record", "-F", optarg, 1, 100000, &o->freq);
			if (err)
				goto err_free;
			break;
		case 'o':
			if (o->noutputs == RECORD_MAX_OUTPUTS) {
				log_err("record: at most %d -o outputs", RECORD_MAX_OUTPUTS);
				err = -EINVAL;
				goto err_free;
			}
			o->outputs[o->noutputs] = optarg;
			if (out_format_from_path(optarg, &o->formats[o->noutputs++])) {
				log_err("record: cannot tell the format of '%s': name it *.folded, "
					"*.svg or *.pb.gz",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_NO_KERNEL:
			o->kernel = false;
			break;
		case OPT_LOG_FORMAT:
			err = cli_set_log_format("record", optarg);
			if (err)
				goto err_free;
			break;
		case OPT_TOP:
			err = cli_uint_opt("record", "--top", optarg, 1, 100000, &o->top);
			if (err)
				goto err_free;
			break;
		case OPT_RING_SIZE:
			if (cli_parse_uint(optarg, 4, 1024 * 1024, &o->ring_kib) ||
			    (o->ring_kib & (o->ring_kib - 1))) {
				log_err("record: --ring-size takes a power of two in KiB from 4 to "
					"1048576, not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_MAX_PIDS:
			err = cli_uint_opt("record", "--max-pids", optarg, 1, 1 << 22,
					   &o->max_pids);
			if (err)
				goto err_free;
			break;
		case OPT_CALL_GRAPH:
			if (parse_call_graph(optarg, o)) {
				log_err("record: --call-graph takes 'fp', 'dwarf' or 'dwarf,BYTES' "
					"(a multiple of 8 up to 65536), not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_STACK_SIZE:
			if (parse_stack_size(optarg, &o->stack_size)) {
				log_err("record: --stack-size takes a multiple of 8 from 8 to "
					"65536 "
					"bytes, not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			record_usage(stdout);
			err = CLI_EXIT_HELP;
			goto err_free;
		case '?':
		default:
			cli_report_bad_option("record", "pFdo", argv);
			err = -EINVAL;
			goto err_free;
		}
	}
	if (optind < argc)
		o->t.cmd = &argv[optind];
	err = cli_check_target("record", &o->t);
	if (err)
		goto err_free;
	return 0;

err_free:
	record_opts_free(o);
	return err;
}

void record_opts_free(struct record_opts *o)
{
	free(o->t.pids);
	o->t.pids = NULL;
	o->t.npids = 0;
}
