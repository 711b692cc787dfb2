// SPDX-License-Identifier: MIT
/* sonde record: CPU sampling (by default) to flame graphs. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run.h"

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
		"  -d, --duration SECONDS  stop after this long: 30, 2.5, 500ms, 1m30s (default:\n"
		"                          Ctrl-C or target exit)\n"
		"\n");
	cli_usage_common(f);
	fprintf(f, "      --ring-size KIB   sample ring buffer in KiB, power of 2 (default: from\n"
		   "                        CPUs x rate x sample size, 4096 to 262144)\n"
		   "\n"
		   "examples:\n"
		   "  sonde record -p 4242 -d 10 -o cpu.svg\n"
		   "  sonde record -p 4242,4243 -F 199 -o cpu.folded\n"
		   "  sonde record -a -d 5 -o all.folded\n"
		   "  sonde record -o cpu.svg -- ./myprog --flag\n"
		   "  sonde record -p 4242 -d 30 -o cpu.svg -o cpu.pb.gz\n"
		   "  sonde record -p 4242 -d 60 --listen 9464   # samples and CPU on /metrics\n");
}

static const struct cli_command record_cmd = {
	.name = "record",
	.default_probes = SESSION_PROBE_CPU,
	.ring_probe = SESSION_PROBE_CPU,
	.usage = record_usage,
};

int cli_parse_record(int argc, char **argv, struct session_opts *o)
{
	return cli_parse_session(&record_cmd, argc, argv, o);
}

int cmd_record(int argc, char **argv)
{
	struct session_opts o;
	int err;

	err = cli_parse_record(argc, argv, &o);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	return cmd_run_session(&o);
}
