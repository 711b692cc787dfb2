/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing, one parser per subcommand, kept apart from main()
 * so tests can drive it. Parsers return 0, -EINVAL after printing one
 * error line, or CLI_EXIT_HELP after printing --help to stdout.
 */
#ifndef SONDE_CLI_H
#define SONDE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CLI_EXIT_HELP 1

enum out_format {
	OUT_NONE = 0, /* no -o: print a table of the hottest functions */
	OUT_FOLDED,
	OUT_SVG,
	OUT_PPROF,
};

/* Output format from a file name's extension; -EINVAL if unknown. */
int out_format_from_path(const char *path, enum out_format *fmt);

struct target_opts {
	pid_t *pids; /* -p PID[,PID...] */
	int npids;
	bool all; /* -a */
	char **cmd; /* -- CMD ARGS (points into argv) */
	double duration_s; /* -d SECONDS, 0 = until stopped */
};

struct record_opts {
	struct target_opts t;
	unsigned int freq; /* -F HZ */
	const char *output; /* -o FILE or NULL */
	enum out_format format;
	bool kernel; /* include kernel stacks (default on; --no-kernel) */
	unsigned int ring_kib; /* --ring-size KiB */
	unsigned int max_pids; /* --max-pids: size of the PID filter map */
	unsigned int top; /* --top N rows of the table */
	int verbose;
};

int cli_parse_record(int argc, char **argv, struct record_opts *o);
void record_opts_free(struct record_opts *o);

/* Parse "1,2,3" into a newly allocated array. 0 or -EINVAL/-ENOMEM. */
int cli_parse_pid_list(const char *s, pid_t **pids, int *npids);
/* Parse a non-negative decimal duration in seconds ("10", "0.5"). */
int cli_parse_duration(const char *s, double *out);

#endif /* SONDE_CLI_H */
