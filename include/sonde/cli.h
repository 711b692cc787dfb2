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

/* How user stacks are walked (--call-graph, perf's flag). */
enum call_graph {
	CALL_GRAPH_DWARF = 0, /* stack snapshot unwound with .eh_frame/.debug_frame */
	CALL_GRAPH_FP, /* frame pointers only, walked in the kernel */
};

/* --stack-size bounds: perf's range, and our default (see DESIGN.md). */
#define RECORD_STACK_SIZE_DEFAULT 16384
#define RECORD_STACK_SIZE_MAX 65536

#define RECORD_MAX_OUTPUTS 8

struct record_opts {
	struct target_opts t;
	unsigned int freq; /* -F HZ */
	/* -o FILE, repeatable: one recording written in several formats. */
	const char *outputs[RECORD_MAX_OUTPUTS];
	enum out_format formats[RECORD_MAX_OUTPUTS];
	unsigned int noutputs; /* 0: print a table of the hottest functions */
	bool kernel; /* include kernel stacks (default on; --no-kernel) */
	unsigned int ring_kib; /* --ring-size KiB; 0 = sized from the rate (auto) */
	unsigned int max_pids; /* --max-pids: size of the PID filter map */
	enum call_graph call_graph; /* --call-graph fp|dwarf[,SIZE] */
	unsigned int stack_size; /* --stack-size BYTES copied per sample (dwarf) */
	unsigned int top; /* --top N rows of the table */
	int verbose;
};

int cli_parse_record(int argc, char **argv, struct record_opts *o);
void record_opts_free(struct record_opts *o);

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
/* Parse a non-negative decimal duration in seconds ("10", "0.5"). */
int cli_parse_duration(const char *s, double *out);

/* One -f TARGET:FUNCTION of sonde trace. */
struct trace_func_spec {
	const char *arg; /* as given (points into argv) */
	char *target; /* path or short library name ("libc") */
	char *func; /* symbol name or glob */
};

/* Bounds of sonde trace's in-kernel per-thread call stack (--max-depth). */
#define TRACE_MAX_DEPTH 32

struct trace_opts {
	struct target_opts t; /* -p, -- CMD, -d (no -a) */
	struct trace_func_spec *funcs; /* -f, repeatable */
	int nfuncs;
	const char *spans_path; /* --spans FILE or NULL: histograms only */
	unsigned int max_probes; /* --max-probes: cap on functions a glob attaches */
	unsigned int max_depth; /* --max-depth: nested calls timed per thread */
	unsigned int max_threads; /* --max-threads: per-thread stack map size */
	unsigned int ring_kib; /* --ring-size KiB (spans) */
	int verbose;

	/* Exporters (all off by default). */
	const char *listen; /* --listen ADDR:PORT: serve /metrics, or NULL */
	char listen_buf[32]; /* "127.0.0.1:PORT" made from a bare --listen PORT */
	const char *statsd; /* --statsd HOST:PORT, or NULL */
	const char *otlp_endpoint; /* --otlp-endpoint URL, or NULL (see OTEL_* variables) */
	unsigned int otlp_queue; /* --otlp-queue: spans held for OTLP before drops */
	double export_interval_s; /* --export-interval: StatsD flushes, OTLP metrics */
	double flush_timeout_s; /* --flush-timeout: final OTLP flush deadline */
	unsigned int max_series; /* --max-series: cap of the metrics registry */
};

/* Defaults and bounds of sonde trace's exporter options (see --help). */
#define TRACE_EXPORT_INTERVAL_S 10.0
#define TRACE_FLUSH_TIMEOUT_S 5.0
#define TRACE_MAX_SERIES 10000
#define TRACE_OTLP_QUEUE 8192

/*
 * Split "TARGET:FUNCTION" at the first ':' after the last '/', so paths
 * with colons in directory names work. Returns 0 or -EINVAL (no message).
 */
int trace_func_spec_parse(const char *arg, struct trace_func_spec *out);
int cli_parse_trace(int argc, char **argv, struct trace_opts *o);
void trace_opts_free(struct trace_opts *o);

#endif /* SONDE_CLI_H */
