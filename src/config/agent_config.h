/* SPDX-License-Identifier: MIT */
/*
 * The configuration of `sonde agent` (docs/agent-config.md): one YAML file
 * with a base and per-environment sections, SONDE_* variables and flags,
 * merged into one typed struct agent_config. Precedence, highest first:
 *
 *	flag > SONDE_* variable > environment section > base > default
 *
 * Every value remembers where it came from (agent_config__origin()), and
 * agent_config__print() writes the effective configuration as YAML with
 * that origin beside each value.
 *
 * A load either succeeds completely or changes nothing: errors (one line
 * each, "config: FILE:LINE: KEY: what is wrong") are reported and the new
 * struct is freed. To reload on SIGHUP, load again with the same input and
 * swap pointers only on success; the running config is never touched.
 *
 * Keys, types, defaults, ranges, flags and variables are one table
 * (config/schema.c); this header is the typed view the agent reads.
 */
#ifndef SONDE_CONFIG_AGENT_CONFIG_H
#define SONDE_CONFIG_AGENT_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/log.h"

/* Where a value came from. */
enum cfg_origin_kind {
	CFG_FROM_DEFAULT = 0,
	CFG_FROM_BASE,	 /* the file's base section, at line */
	CFG_FROM_ENV,	 /* the file's environments.NAME section, at line */
	CFG_FROM_ENVVAR, /* the SONDE_* variable in name */
	CFG_FROM_FLAG,	 /* the flag in name, as typed ("-F", "--probes.cpu.frequency") */
};

struct cfg_origin {
	enum cfg_origin_kind kind;
	unsigned int line; /* CFG_FROM_BASE, CFG_FROM_ENV: 1-based */
	char *name;	   /* CFG_FROM_ENVVAR, CFG_FROM_FLAG */
};

/* Lists replace each other whole across levels; maps merge key by key. */
struct cfg_strlist {
	char **v;
	size_t n;
};

struct cfg_uintlist {
	unsigned int *v;
	size_t n;
};

/* A POSIX extended regular expression, compiled (regexec() it as is). */
struct cfg_regex {
	char *src;
	regex_t re;
};

struct cfg_regexlist {
	struct cfg_regex *v;
	size_t n;
};

struct cfg_cidr {
	char *src;
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned int prefix;
};

struct cfg_cidrlist {
	struct cfg_cidr *v;
	size_t n;
};

struct cfg_kv {
	char *key;
	char *value;
	struct cfg_origin origin; /* each entry has its own */
};

struct cfg_map {
	struct cfg_kv *v;
	size_t n;
};

enum agent_call_graph {
	AGENT_CALL_GRAPH_DWARF = 0,
	AGENT_CALL_GRAPH_FP,
};

enum agent_file_format {
	AGENT_FILE_PPROF = 0,
	AGENT_FILE_FOLDED,
	AGENT_FILE_SVG,
};

/*
 * Which processes a selector matches: any of the lists that is not
 * empty, by any of its entries (targets.include, targets.exclude).
 */
struct agent_selector {
	struct cfg_strlist comm;      /* fnmatch(3) globs on /proc/PID/comm */
	struct cfg_strlist exe;	      /* fnmatch(3) globs on the /proc/PID/exe path */
	struct cfg_regexlist cmdline; /* on argv joined with single spaces */
	struct cfg_uintlist pid;      /* as the agent's PID namespace numbers them */
	struct cfg_strlist cgroup;    /* cgroup v2 path prefixes (/proc/PID/cgroup) */
	struct cfg_strlist container; /* container id prefixes, lowercase hex */
	struct cfg_uintlist port;     /* TCP ports the process listens on */
};

struct agent_config {
	struct {
		char *name; /* "" = each target's executable name */
		struct cfg_map labels;
	} service;
	struct {
		/* A target matches include (or include is empty) and not exclude. */
		struct agent_selector include;
		struct agent_selector exclude;
		unsigned int max_processes;
		uint64_t rescan_ns;
	} targets;
	struct {
		struct {
			bool enabled;
			unsigned int frequency; /* Hz per CPU */
			enum agent_call_graph call_graph;
			uint64_t stack_size; /* bytes per sample, dwarf; a multiple of 8 */
			bool kernel;
		} cpu;
		struct {
			bool enabled;
			uint64_t min_duration_ns;
			unsigned int sample_one_in;
		} offcpu;
		struct {
			bool enabled;
			uint64_t sample_bytes; /* one sample per this many bytes allocated */
			bool inuse;
			unsigned int max_live;
		} alloc;
		struct {
			bool enabled;
			unsigned int period;	/* one sample per this many faults */
			unsigned int frequency; /* samples a second per CPU instead (0: period) */
		} faults;
		struct {
			bool enabled;
			struct cfg_strlist functions; /* "TARGET:FUNCTION", as -f */
			unsigned int max_probes;
			bool watch; /* each window's latencies against a baseline (--watch) */
		} uprobe;
		struct {
			bool enabled;
			bool capture_content;
			struct cfg_regexlist redact;
			uint64_t max_content;
			unsigned int max_connections;
		} tls;
	} probes;
	struct {
		struct {
			bool enabled;
			char *address; /* HOST:PORT or :PORT */
			struct cfg_cidrlist allow;
			char *auth_file; /* "" = no token asked */
		} listen;
		struct {
			bool enabled;
			char *endpoint;
			struct cfg_map headers;
			unsigned int queue;
			uint64_t timeout_ns;
		} otlp;
		struct {
			bool enabled;
			char *url;
			char *tenant; /* "" = none (X-Scope-OrgID) */
		} pyroscope;
		struct {
			bool enabled;
			char *address;
		} statsd;
		struct {
			bool enabled;
			char *directory;
			enum agent_file_format format;
			unsigned int keep;
			uint64_t max_size;
		} files;
	} exporters;
	struct {
		bool dwarf; /* file:line and inline frames (libdw: memory) */
	} symbols;
	uint64_t window_ns;
	uint64_t flush_timeout_ns;
	uint64_t memory_limit;
	struct {
		enum log_level level;
		enum log_format format;
	} log;

	/* Private: read through the functions below. */
	char *file;		    /* as given, or NULL */
	char *env;		    /* the environment applied, or NULL */
	struct cfg_origin *origins; /* one per schema key */
};

/* One flag given on the command line, as the agent's parser saw it. */
struct agent_config_flag {
	const char *key;   /* "probes.cpu.frequency" */
	const char *value; /* as typed; bools "true"/"false" */
	const char *flag;  /* as typed, for origins and messages: "-F" */
};

struct agent_config_input {
	const char *file; /* NULL: no file (defaults, variables, flags) */
	/* The file's contents already read (tests, the fuzzer); NULL: read file. */
	const char *text;
	size_t text_len;
	const char *env; /* --env, or NULL for $SONDE_ENV */
	const struct agent_config_flag *flags;
	size_t nflags;
	char *const *environ; /* NULL: the process's environment */
	FILE *errors;	      /* NULL: log_err() each line */
};

/* Errors printed at most; then one line with how many more. */
#define AGENT_CONFIG_MAX_ERRORS 20
/* A larger file is refused. */
#define AGENT_CONFIG_MAX_FILE (1 << 20)

/*
 * Read, merge and check everything in @in into a new *out. 0, -EINVAL
 * (every error reported), -ENOENT/-EACCES (file unreadable, reported) or
 * -ENOMEM. *out is untouched on error. One load at a time: the loader
 * keeps scratch names in static buffers.
 */
int agent_config__load(const struct agent_config_input *in, struct agent_config **out);
void agent_config__free(struct agent_config *c);

/*
 * The effective configuration as YAML that agent_config__load() reads back
 * to the same values, each line ending in "# ORIGIN" (see
 * agent_config__origin_text()). OTLP header values print as "<redacted>".
 * Returns 0 once @f is flushed, or -errno (ENOSPC on a full disk).
 */
int agent_config__print(const struct agent_config *c, FILE *f);

/* The origin of @key ("probes.cpu.frequency"), or NULL for no such key. */
const struct cfg_origin *agent_config__origin(const struct agent_config *c, const char *key);
/* "default", "FILE:LINE", "FILE:LINE (environment NAME)", "env VAR", "flag F". */
void agent_config__origin_text(const struct agent_config *c, const struct cfg_origin *o, char *buf,
			       size_t len);

/*
 * The keys whose values differ between @a and @b (a reload's old and new
 * config), in schema order: up to @max into @keys; returns how many differ.
 */
size_t agent_config__diff(const struct agent_config *a, const struct agent_config *b,
			  const char **keys, size_t max);

/* SONDE_PROBES_CPU_FREQUENCY for probes.cpu.frequency. */
void agent_config__env_name(const char *key, char *buf, size_t len);

#endif /* SONDE_CONFIG_AGENT_CONFIG_H */
