// SPDX-License-Identifier: MIT
/* sonde trace: function latency through uprobes, with other probes beside. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run.h"

static void trace_usage(FILE *f)
{
	fprintf(f,
		"usage: sonde trace -f TARGET:FUNCTION [-f ...] [options] (-p PID[,PID...] | "
		"-- CMD [ARGS...])\n"
		"\n"
		"Time functions through uprobes: on exit, print per function the call count,\n"
		"p50/p90/p99/max latency and a log2 histogram; optionally write every call as\n"
		"an OTLP-style JSON span (nested calls on a thread share a trace). With -e cpu,\n"
		"sample CPU stacks in the same run and write a flame graph beside them.\n"
		"\n"
		"targets (exactly one):\n"
		"  -p, --pid PID[,PID]   trace running processes\n"
		"  -- CMD [ARGS...]      launch CMD and trace it until it exits\n"
		"  -d, --duration SECS   stop after this long: 30, 2.5, 500ms, 1m30s (default:\n"
		"                        until Ctrl-C or exit)\n"
		"\n");
	cli_usage_common(f);
	fprintf(f, "      --ring-size KiB   span ring buffer, power of two (default 4096)\n"
		   "\n"
		   "Libraries loaded later with dlopen() are covered: probes attach to the file.\n"
		   "\n"
		   "examples:\n"
		   "  sonde trace -p 4242 -f /usr/bin/myprog:handle_request -f libc:malloc -d 30\n"
		   "  sonde trace -f 'myprog:db_*' --spans spans.jsonl -- ./myprog\n"
		   "  sonde trace -p 4242 -f myprog:handle_request -e cpu -o cpu.svg -d 30\n"
		   "  sonde trace -p 4242 -f libc:malloc --listen 9464 \\\n"
		   "      --otlp-endpoint http://127.0.0.1:4318 --statsd 127.0.0.1:8125\n");
}

static const struct cli_command trace_cmd = {
	.name = "trace",
	.default_probes = 0, /* -f adds uprobe */
	.ring_probe = SESSION_PROBE_UPROBE,
	.usage = trace_usage,
};

int cli_parse_trace(int argc, char **argv, struct session_opts *o)
{
	return cli_parse_session(&trace_cmd, argc, argv, o);
}

int cmd_trace(int argc, char **argv)
{
	struct session_opts o;
	int err;

	err = cli_parse_trace(argc, argv, &o);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	return cmd_run_session(&o);
}
