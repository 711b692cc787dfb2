// SPDX-License-Identifier: MIT
/* The `sonde trace` parser. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sonde/cli.h"
#include "sonde/log.h"

enum {
	OPT_SPANS = 256,
	OPT_MAX_PROBES,
	OPT_MAX_DEPTH,
	OPT_MAX_THREADS,
	OPT_RING_SIZE,
};

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out)
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

static void trace_usage(FILE *f)
{
	fprintf(f,
		"usage: sonde trace -f TARGET:FUNCTION [-f ...] [options] (-p PID[,PID...] | -- "
		"CMD "
		"[ARGS...])\n"
		"\n"
		"Time functions through uprobes: on exit, print per function the call count,\n"
		"p50/p90/p99/max latency and a log2 histogram; optionally write every call as\n"
		"an OTLP-style JSON span (nested calls on a thread share a trace).\n"
		"\n"
		"  -f, --func TARGET:FUNCTION  function to time (repeatable). TARGET is a path to "
		"an\n"
		"                        executable or library, or a short name resolved in the\n"
		"                        target: 'libc', 'libssl', the program's own name.\n"
		"                        FUNCTION is a symbol or a glob ('db_*').\n"
		"  -p, --pid PID[,PID]   trace running processes\n"
		"  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or exit)\n"
		"      --spans FILE      write one JSON span per completed call to FILE\n"
		"      --max-probes N    most functions one glob may attach to (default 64)\n"
		"      --max-depth N     nested probed calls timed per thread, 1-%d (default %d);\n"
		"                        deeper calls (recursion) are counted, not timed\n"
		"      --max-threads N   threads with probed calls tracked at once (default 4096)\n"
		"      --ring-size KiB   span ring buffer, power of two (default 4096)\n"
		"  -v, --verbose         more detail (-vv: libbpf debug output)\n"
		"  -h, --help            this help\n"
		"\n"
		"Libraries loaded later with dlopen() are covered: probes attach to the file.\n"
		"\n"
		"examples:\n"
		"  sonde trace -p 4242 -f /usr/bin/myprog:handle_request -f libc:malloc -d 30\n"
		"  sonde trace -f 'myprog:db_*' --spans spans.jsonl -- ./myprog\n",
		TRACE_MAX_DEPTH, TRACE_MAX_DEPTH);
}

int trace_func_spec_parse(const char *arg, struct trace_func_spec *out)
{
	const char *slash = strrchr(arg, '/');
	const char *colon = strchr(slash ? slash : arg, ':');

	memset(out, 0, sizeof(*out));
	if (!colon || colon == arg || !colon[1])
		return -EINVAL;
	out->arg = arg;
	out->target = strndup(arg, colon - arg);
	out->func = strdup(colon + 1);
	if (!out->target || !out->func) {
		free(out->target);
		free(out->func);
		memset(out, 0, sizeof(*out));
		return -ENOMEM;
	}
	return 0;
}

static int add_func(struct trace_opts *o, const char *arg)
{
	struct trace_func_spec *grown;
	int err;

	grown = realloc(o->funcs, (o->nfuncs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	o->funcs = grown;
	err = trace_func_spec_parse(arg, &o->funcs[o->nfuncs]);
	if (err == -EINVAL)
		log_err("trace: cannot parse -f '%s': expected TARGET:FUNCTION, e.g. "
			"/usr/bin/myprog:handle_request or libc:malloc",
			arg);
	if (err)
		return err;
	o->nfuncs++;
	return 0;
}

int cli_parse_trace(int argc, char **argv, struct trace_opts *o)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"func", required_argument, NULL, 'f'},
		{"duration", required_argument, NULL, 'd'},
		{"spans", required_argument, NULL, OPT_SPANS},
		{"max-probes", required_argument, NULL, OPT_MAX_PROBES},
		{"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
		{"max-threads", required_argument, NULL, OPT_MAX_THREADS},
		{"ring-size", required_argument, NULL, OPT_RING_SIZE},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, err;

	memset(o, 0, sizeof(*o));
	o->max_probes = 64;
	o->max_depth = TRACE_MAX_DEPTH;
	o->max_threads = 4096;
	o->ring_kib = 4096;
	optind = 0; /* glibc: full reset, so the parser can run more than once */
	opterr = 0;
	/* '+': stop at the first non-option, which starts CMD. */
	while ((c = getopt_long(argc, argv, "+p:f:d:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			free(o->t.pids);
			o->t.pids = NULL;
			err = cli_parse_pid_list(optarg, &o->t.pids, &o->t.npids);
			if (err == -EINVAL)
				log_err("trace: -p takes PIDs separated by commas, not '%s'",
					optarg);
			if (err)
				goto err_free;
			break;
		case 'f':
			err = add_func(o, optarg);
			if (err)
				goto err_free;
			break;
		case 'd':
			if (cli_parse_duration(optarg, &o->t.duration_s)) {
				log_err("trace: -d takes a positive number of seconds, not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_SPANS:
			o->spans_path = optarg;
			break;
		case OPT_MAX_PROBES:
			if (parse_uint(optarg, 1, 100000, &o->max_probes)) {
				log_err("trace: --max-probes takes a number from 1 to 100000, not "
					"'%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_MAX_DEPTH:
			if (parse_uint(optarg, 1, TRACE_MAX_DEPTH, &o->max_depth)) {
				log_err("trace: --max-depth takes a number from 1 to %d, not '%s'",
					TRACE_MAX_DEPTH, optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_MAX_THREADS:
			if (parse_uint(optarg, 1, 1 << 22, &o->max_threads)) {
				log_err("trace: --max-threads takes a number from 1 to 4194304, "
					"not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case OPT_RING_SIZE:
			if (parse_uint(optarg, 4, 1024 * 1024, &o->ring_kib) ||
			    (o->ring_kib & (o->ring_kib - 1))) {
				log_err("trace: --ring-size takes a power of two in KiB from 4 to "
					"1048576, not '%s'",
					optarg);
				err = -EINVAL;
				goto err_free;
			}
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			trace_usage(stdout);
			err = CLI_EXIT_HELP;
			goto err_free;
		case '?':
		default:
			if (optopt && optopt < 256)
				log_err("trace: option -%c %s (see sonde trace --help)", optopt,
					strchr("pfd", optopt) ? "needs a value" : "is unknown");
			else
				log_err("trace: unknown or incomplete option '%s' (see sonde trace "
					"--help)",
					argv[optind - 1]);
			err = -EINVAL;
			goto err_free;
		}
	}
	if (optind < argc)
		o->t.cmd = &argv[optind];
	err = cli_check_target("trace", &o->t);
	if (err)
		goto err_free;
	if (!o->nfuncs) {
		log_err("trace: nothing to trace: give -f TARGET:FUNCTION, e.g. -f libc:malloc "
			"(see sonde trace --help)");
		err = -EINVAL;
		goto err_free;
	}
	return 0;

err_free:
	trace_opts_free(o);
	return err;
}

void trace_opts_free(struct trace_opts *o)
{
	for (int i = 0; i < o->nfuncs; i++) {
		free(o->funcs[i].target);
		free(o->funcs[i].func);
	}
	free(o->funcs);
	o->funcs = NULL;
	o->nfuncs = 0;
	free(o->t.pids);
	o->t.pids = NULL;
	o->t.npids = 0;
}
