// SPDX-License-Identifier: MIT
/* sonde: subcommand dispatch. Only main() turns errors into exit codes. */
#include <stdio.h>
#include <string.h>

#include "sonde/commands.h"
#include "sonde/log.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "record", cmd_record, "sample CPU stacks into a flame graph (folded, SVG, pprof)" },
	{ "trace", cmd_trace, "time functions through uprobes: spans and latency histograms" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sonde <command> [options]\n\ncommands:\n");
	for (const struct subcommand *c = subcommands; c->name; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->summary);
	fprintf(f, "\nRun 'sonde <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	log_route_libbpf();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (const struct subcommand *c = subcommands; c->name; c++) {
		if (!strcmp(argv[1], c->name))
			return c->run(argc - 1, argv + 1) < 0 ? 1 : 0;
	}
	log_err("unknown command '%s'; run 'sonde --help' for the list", argv[1]);
	return 2;
}
