/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing, one parser per command, kept apart from main() so
 * tests can drive it. Every command fills a struct session_opts; the
 * options they share (targets, probes, outputs, exporters) are parsed by
 * one handler, so a flag means the same everywhere. Parsers return 0,
 * -EINVAL after printing one error line, or CLI_EXIT_HELP after printing
 * --help to stdout.
 */
#ifndef SONDE_CMD_CLI_H
#define SONDE_CMD_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "session/session.h"

#define CLI_EXIT_HELP 1

/* Parse "1,2,3" into a newly allocated array. 0 or -EINVAL/-ENOMEM. */
int cli_parse_pid_list(const char *s, pid_t **pids, int *npids);
/*
 * Exactly one of -p, -a, -- CMD must be given; otherwise print one line
 * naming subcommand @cmd and return -EINVAL.
 */
int cli_check_target(const char *cmd, const struct target_opts *t);
/* Parse a decimal in [min, max] (no sign). 0 or -EINVAL. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out);
/*
 * The target options every subcommand shares: -p PID[,PID] (@c 'p') and
 * -d SECONDS (@c 'd'). 0, or one line naming @cmd and -EINVAL/-ENOMEM.
 */
int cli_target_opt(const char *cmd, int c, const char *arg, struct target_opts *t);
/*
 * An option's unsigned value in [min, max], or one line naming subcommand
 * @cmd, option @opt and the range, and -EINVAL.
 */
int cli_uint_opt(const char *cmd, const char *opt, const char *arg, unsigned long min,
		 unsigned long max, unsigned int *out);
/*
 * After getopt_long returned '?': one line naming the unknown option, or
 * the one in @value_opts (short options taking a value) given without one.
 */
void cli_report_bad_option(const char *cmd, const char *value_opts, char **argv);
/*
 * --log-format: set the log format now, or print one line naming
 * subcommand @cmd and return -EINVAL.
 */
int cli_set_log_format(const char *cmd, const char *arg);
/*
 * A positive duration in seconds, up to a year: decimal seconds ("10",
 * "0.5") or with units as in the agent's configuration ("500ms", "1m30s").
 */
int cli_parse_duration(const char *s, double *out);
/* "1ms", "500us", "0.2s", "2000ns" (a unit is required, except for 0) into ns. */
int cli_parse_duration_ns(const char *s, uint64_t *out);
/* "512K", "1M", "4096" (K, M, G: powers of 1024) into bytes, at most @max. */
int cli_parse_bytes(const char *s, uint64_t max, uint64_t *out);

/*
 * Split "TARGET:FUNCTION" at the first ':' after the last '/', so paths
 * with colons in directory names work. Returns 0 or -EINVAL (no message).
 */
int trace_func_spec_parse(const char *arg, struct trace_func_spec *out);

/* Long options every command shares (values past the short options). */
enum cli_opt {
	OPT_NO_KERNEL = 256,
	OPT_LOG_FORMAT,
	OPT_TOP,
	OPT_RING_SIZE,
	OPT_MAX_PIDS,
	OPT_CALL_GRAPH,
	OPT_STACK_SIZE,
	OPT_SPANS,
	OPT_MAX_PROBES,
	OPT_MAX_DEPTH,
	OPT_MAX_THREADS,
	OPT_LISTEN,
	OPT_STATSD,
	OPT_OTLP_ENDPOINT,
	OPT_OTLP_QUEUE,
	OPT_EXPORT_INTERVAL,
	OPT_FLUSH_TIMEOUT,
	OPT_MAX_SERIES,
	OPT_INTERVAL,
	OPT_WATCH,
	OPT_ANOMALY_ALPHA,
	OPT_ANOMALY_DIR,
	OPT_ANOMALY_MIN_CHANGE,
	OPT_SLOWER_THAN,
	OPT_SLOWEST,
	OPT_MAX_HELD,
	OPT_OFFCPU_MIN,
	OPT_OFFCPU_SAMPLE,
	OPT_OFFCPU_MAX_PENDING,
	OPT_ALLOC_RATE,
	OPT_INUSE,
	OPT_ALLOC_MAX_LIVE,
	OPT_ALLOC_LIB,
	OPT_FAULTS_PERIOD,
	OPT_FAULTS_FREQ,
	OPT_TITLE,
	OPT_WIDTH,
	OPT_INVERTED,
	OPT_FORMAT,
	OPT_SAMPLE_TYPE,
	OPT_NORMALIZE,
	OPT_LISTEN_ALLOW,
	OPT_LISTEN_AUTH,
	OPT_STATSD_FLAVOR,
	OPT_CAPTURE_CONTENT,
	OPT_REDACT,
	OPT_CONTENT_MAX,
	OPT_NO_PLAINTEXT,
	OPT_MAX_CONNECTIONS,
};

/* The short options of every command, and those taking a value. */
#define CLI_SHORT_OPTS "+p:ad:e:F:o:f:vh"
#define CLI_VALUE_OPTS "pdeFof"

/* struct option entries of the shared options, for each command's table. */
#define CLI_SESSION_LONGOPTS                                                                      \
	{"pid", required_argument, NULL, 'p'}, {"all-cpus", no_argument, NULL, 'a'},              \
		{"duration", required_argument, NULL, 'd'},                                       \
		{"probe", required_argument, NULL, 'e'}, {"freq", required_argument, NULL, 'F'},  \
		{"output", required_argument, NULL, 'o'}, {"func", required_argument, NULL, 'f'}, \
		{"no-kernel", no_argument, NULL, OPT_NO_KERNEL},                                  \
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},                          \
		{"ring-size", required_argument, NULL, OPT_RING_SIZE},                            \
		{"max-pids", required_argument, NULL, OPT_MAX_PIDS},                              \
		{"call-graph", required_argument, NULL, OPT_CALL_GRAPH},                          \
		{"stack-size", required_argument, NULL, OPT_STACK_SIZE},                          \
		{"spans", required_argument, NULL, OPT_SPANS},                                    \
		{"max-probes", required_argument, NULL, OPT_MAX_PROBES},                          \
		{"max-depth", required_argument, NULL, OPT_MAX_DEPTH},                            \
		{"max-threads", required_argument, NULL, OPT_MAX_THREADS},                        \
		{"listen", required_argument, NULL, OPT_LISTEN},                                  \
		{"statsd", required_argument, NULL, OPT_STATSD},                                  \
		{"otlp-endpoint", required_argument, NULL, OPT_OTLP_ENDPOINT},                    \
		{"otlp-queue", required_argument, NULL, OPT_OTLP_QUEUE},                          \
		{"export-interval", required_argument, NULL, OPT_EXPORT_INTERVAL},                \
		{"flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT},                    \
		{"max-series", required_argument, NULL, OPT_MAX_SERIES},                          \
		{"interval", required_argument, NULL, OPT_INTERVAL},                              \
		{"watch", no_argument, NULL, OPT_WATCH},                                          \
		{"anomaly-alpha", required_argument, NULL, OPT_ANOMALY_ALPHA},                    \
		{"anomaly-dir", required_argument, NULL, OPT_ANOMALY_DIR},                        \
		{"anomaly-min-change", required_argument, NULL, OPT_ANOMALY_MIN_CHANGE},          \
		{"slower-than", required_argument, NULL, OPT_SLOWER_THAN},                        \
		{"slowest", required_argument, NULL, OPT_SLOWEST},                                \
		{"max-held-samples", required_argument, NULL, OPT_MAX_HELD},                      \
		{"offcpu-min", required_argument, NULL, OPT_OFFCPU_MIN},                          \
		{"offcpu-sample", required_argument, NULL, OPT_OFFCPU_SAMPLE},                    \
		{"offcpu-max-pending", required_argument, NULL, OPT_OFFCPU_MAX_PENDING},          \
		{"alloc-rate", required_argument, NULL, OPT_ALLOC_RATE},                          \
		{"inuse", no_argument, NULL, OPT_INUSE},                                          \
		{"alloc-max-live", required_argument, NULL, OPT_ALLOC_MAX_LIVE},                  \
		{"alloc-lib", required_argument, NULL, OPT_ALLOC_LIB},                            \
		{"faults-period", required_argument, NULL, OPT_FAULTS_PERIOD},                    \
		{"faults-freq", required_argument, NULL, OPT_FAULTS_FREQ}, CLI_OUTPUT_LONGOPTS,   \
		{"listen-allow", required_argument, NULL, OPT_LISTEN_ALLOW},                      \
		{"listen-auth", required_argument, NULL, OPT_LISTEN_AUTH},                        \
		{"statsd-flavor", required_argument, NULL, OPT_STATSD_FLAVOR},                    \
		{"capture-content", no_argument, NULL, OPT_CAPTURE_CONTENT},                      \
		{"redact", required_argument, NULL, OPT_REDACT},                                  \
		{"content-max", required_argument, NULL, OPT_CONTENT_MAX},                        \
		{"no-plaintext", no_argument, NULL, OPT_NO_PLAINTEXT},                            \
		{"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},                \
		{"verbose", no_argument, NULL, 'v'},                                              \
	{                                                                                         \
		"help", no_argument, NULL, 'h'                                                    \
	}

/* The options of how a profile is written, in every command that writes one. */
#define CLI_OUTPUT_LONGOPTS                                               \
	{"top", required_argument, NULL, OPT_TOP},                        \
	{"title", required_argument, NULL, OPT_TITLE},                    \
	{"width", required_argument, NULL, OPT_WIDTH},                    \
	{"inverted", no_argument, NULL, OPT_INVERTED},                    \
	{"format", required_argument, NULL, OPT_FORMAT}

/*
 * How a command reads the shared options: its name (for messages), the
 * probes it runs without -e (-f adds uprobe in every command), which
 * probe's ring --ring-size sizes, and its --help.
 */
struct cli_command {
	const char *name;
	unsigned int default_probes;
	unsigned int ring_probe; /* SESSION_PROBE_CPU, _UPROBE or _TLS */
	void (*usage)(FILE *f);
	double default_interval_s; /* > 0: a live command (--interval), no -o */
};

/*
 * Parse argv with the shared options into @o (initialized here), then
 * check what no single option can: a target, -f for the uprobe probe, -o
 * and --spans only with a probe that feeds them.
 */
int cli_parse_session(const struct cli_command *c, int argc, char **argv,
		      struct session_opts *o);

/* The help text of the shared options (targets, probes, outputs, exporters). */
void cli_usage_common(FILE *f);
/* The help text of the output options (--top, --title, ...; and -o if @with_o). */
void cli_usage_output(FILE *f, bool with_o);
/* The help text of report's and diff's options (-o if @with_o). */
void cli_usage_files(FILE *f, bool with_o);

/*
 * "sonde ARGV..." as one line, each argument shell-quoted when it needs
 * it, so the SVG subtitle can be pasted back into a shell. malloc'd, or
 * NULL on ENOMEM.
 */
char *cli_command_line(int argc, char **argv);

/*
 * -o (@c 'o'), --top, --title, --width, --inverted, --format into @o.
 * 1 when @c is none of them, 0, or -EINVAL after one line naming @cmd.
 */
int cli_output_opt(const char *cmd, int c, const char *arg, struct output_opts *o);
/* After parsing: --format applies to -o -. 0 or -EINVAL after one line. */
int cli_output_finish(const char *cmd, struct output_opts *o);

int cli_parse_record(int argc, char **argv, struct session_opts *o);
int cli_parse_trace(int argc, char **argv, struct session_opts *o);
int cli_parse_top(int argc, char **argv, struct session_opts *o);
int cli_parse_llm(int argc, char **argv, struct session_opts *o);

/* sonde report and sonde diff: saved profiles in, profiles out; no BPF. */
struct files_opts {
	const char *command; /* "report", "diff" */
	const char *inputs[2]; /* report: FILE; diff: BEFORE AFTER */
	unsigned int ninputs;
	const char *sample_type; /* --sample-type NAME, NULL: the first */
	bool normalize; /* diff -n: BEFORE scaled to AFTER's total in .folded */
	struct output_opts out;
	int verbose;
};

/* How report or diff reads its options: its name, inputs and --help. */
struct files_command {
	const char *name;
	unsigned int ninputs;
	const char *inputs_usage; /* "one profile FILE" */
	bool diff; /* -n allowed, pprof output refused */
	void (*usage)(FILE *f);
};

/*
 * Parse argv (options may follow the files) into @o, initialized here.
 * 0, -EINVAL after one line, CLI_EXIT_HELP, or -ENOMEM.
 */
int cli_parse_files(const struct files_command *c, int argc, char **argv,
		    struct files_opts *o);
void files_opts_free(struct files_opts *o);
int cli_parse_report(int argc, char **argv, struct files_opts *o);
int cli_parse_diff(int argc, char **argv, struct files_opts *o);

#endif /* SONDE_CMD_CLI_H */
