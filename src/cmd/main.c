// SPDX-License-Identifier: MIT
/* sonde: subcommand dispatch. Only main() turns errors into exit codes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "base/outfile.h"
#include "cmd/commands.h"


struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "agent", cmd_agent, "profile continuously as a sidecar or DaemonSet (YAML config)" },
	{ "record", cmd_record, "sample CPU stacks into a flame graph (folded, SVG, pprof)" },
	{ "trace", cmd_trace, "time functions through uprobes: spans and latency histograms" },
	{ "llm", cmd_llm, "LLM API calls through TLS: providers, models, tokens, latency" },
	{ "top", cmd_top, "a live view of the hottest functions, refreshed every second" },
	{ "report", cmd_report, "render a saved profile (pprof, folded) again, in any format" },
	{ "diff", cmd_diff, "compare two profiles: top movers, differential flame graph" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sonde <command> [options]\n\ncommands:\n");
	for (const struct subcommand *c = subcommands; c->name; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->summary);
	fprintf(f, "\nRun 'sonde <command> --help' for a command's options, 'sonde --version'\n"
		   "for the version.\n");
}

/*
 * A setuid or setgid install would hand root to whoever runs it (BPF,
 * every process's memory, files written anywhere): refuse, unless root
 * itself started it.
 */
static int refuse_setuid(void)
{
	if (getuid() == 0 || (getuid() == geteuid() && getgid() == getegid()))
		return 0;
	log_err("refusing to run setuid or setgid (uid %d, euid %d): sonde must not lend its "
		"privileges; remove the bit (chmod u-s,g-s) and run it as root, e.g. with sudo",
		(int)getuid(), (int)geteuid());
	return -EPERM;
}

/*
 * What is left in stdout's buffer goes out now. A write error there
 * (> /dev/full) that the command did not report fails the run, with its
 * cause; a reader that went away (| head) does not.
 */
static int finish_stdout(int rc)
{
	int err = stream_flush_error(stdout);

	if (!err || err == -EPIPE || rc)
		return rc;
	log_err("failed to write to stdout: %s", strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	log_route_libbpf();
	if (refuse_setuid())
		return 1;
	/* A closed stdout (| head) is an EPIPE to handle, not a death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") ||
	    !strcmp(argv[1], "version")) {
		/* The libbpf this binary runs with, not the headers it was built against. */
		printf("sonde %s (libbpf %s)\n", SONDE_VERSION, libbpf_version_string());
		return finish_stdout(0);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return finish_stdout(0);
	}
	for (const struct subcommand *c = subcommands; c->name; c++) {
		if (!strcmp(argv[1], c->name)) {
			int rc = c->run(argc - 1, argv + 1);

			/* A failure is 1; otherwise what the command passes on (a child's). */
			return finish_stdout(rc < 0 ? 1 : rc);
		}
	}
	log_err("unknown command '%s'; run 'sonde --help' for the list", argv[1]);
	return 2;
}
