// SPDX-License-Identifier: MIT
/*
 * The one table of the agent's configuration keys, and the values of each
 * type: parse, store, format, free.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"
#include "config/scalar.h"
#include "config/schema.h"

_Static_assert(sizeof(enum agent_call_graph) == sizeof(int), "CFG_ENUM fields are int-sized");
_Static_assert(sizeof(enum agent_file_format) == sizeof(int), "CFG_ENUM fields are int-sized");
_Static_assert(sizeof(enum log_level) == sizeof(int), "CFG_ENUM fields are int-sized");
_Static_assert(sizeof(enum log_format) == sizeof(int), "CFG_ENUM fields are int-sized");

/* String checks (cfg_check_fn) */

static int check_hostport(const char *s, char *why, size_t len)
{
	char host[256];
	unsigned int port;

	if (hostport_parse(s, host, sizeof(host), &port) || !port) {
		snprintf(why, len, "expected HOST:PORT or :PORT (e.g. 0.0.0.0:9464), got '%s'", s);
		return -EINVAL;
	}
	return 0;
}

static int check_url(const char *s, char *why, size_t len)
{
	const char *host = !strncmp(s, "http://", 7)	? s + 7
			   : !strncmp(s, "https://", 8) ? s + 8
							: NULL;

	if (*s && (!host || !*host || *host == '/')) {
		snprintf(why, len, "expected an http:// or https:// URL, got '%s'", s);
		return -EINVAL;
	}
	return 0;
}

/* "" (none) or an absolute path. */
static int check_path(const char *s, char *why, size_t len)
{
	if (*s && *s != '/') {
		snprintf(why, len, "expected an absolute path, got '%s'", s);
		return -EINVAL;
	}
	return 0;
}

static int check_abs_path(const char *s, char *why, size_t len)
{
	if (!*s)
		snprintf(why, len, "expected an absolute path, got ''");
	return *s ? check_path(s, why, len) : -EINVAL;
}

/* The kernel keeps 15 characters of a command name: a longer literal never matches. */
#define COMM_MAX 15
static int check_comm(const char *s, char *why, size_t len)
{
	if (!*s) {
		snprintf(why, len, "a command name cannot be empty");
		return -EINVAL;
	}
	if (!strpbrk(s, "*?[") && strlen(s) > COMM_MAX) {
		snprintf(why, len,
			 "'%s' is longer than the %d characters the kernel keeps of a command "
			 "name: use '%.*s' or a glob",
			 s, COMM_MAX, COMM_MAX, s);
		return -EINVAL;
	}
	return 0;
}

static int check_exe(const char *s, char *why, size_t len)
{
	if (*s != '/' && *s != '*') {
		snprintf(why, len,
			 "expected an absolute path or a glob starting with * or /, got '%s'", s);
		return -EINVAL;
	}
	return 0;
}

static int check_container(const char *s, char *why, size_t len)
{
	size_t n = strlen(s);

	if (n < 12 || n > 64 || strspn(s, "0123456789abcdef") != n) {
		snprintf(why, len,
			 "expected 12 to 64 lowercase hex digits of a container id, got '%s'", s);
		return -EINVAL;
	}
	return 0;
}

static int check_func(const char *s, char *why, size_t len)
{
	const char *slash = strrchr(s, '/');
	const char *colon = strchr(slash ? slash : s, ':');

	if (!colon || colon == s || !colon[1]) {
		snprintf(why, len,
			 "expected TARGET:FUNCTION (e.g. /usr/bin/myprog:handle_request or "
			 "libc:malloc), got '%s'",
			 s);
		return -EINVAL;
	}
	return 0;
}

/* Prometheus' label names, which Pyroscope and OTLP accept too. */
static int check_label(const char *s, char *why, size_t len)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";

	if (!*s || !strchr(first, *s) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") !=
		    strlen(s)) {
		snprintf(why, len, "label name '%s' must match [a-zA-Z_][a-zA-Z0-9_]*", s);
		return -EINVAL;
	}
	return 0;
}

/* RFC 9110 token characters. */
static int check_header(const char *s, char *why, size_t len)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
				    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

	if (!*s || strspn(s, tchar) != strlen(s)) {
		snprintf(why, len, "'%s' is not an HTTP header name", s);
		return -EINVAL;
	}
	return 0;
}

/* The table */

static const char *const call_graph_names[] = {"dwarf", "fp", NULL};
static const char *const file_format_names[] = {"pprof", "folded", "svg", NULL};
static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_format_names[] = {"text", "json", NULL};

#define OFF(field) offsetof(struct agent_config, field)
#define MS NSEC_PER_MSEC
#define SEC NSEC_PER_SEC
#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

/* The default redaction: API keys, bearer and basic credentials, e-mail addresses. */
#define REDACT_DEFAULT                        \
	"sk-[A-Za-z0-9_-]{16}[A-Za-z0-9_-]*," \
	"(Bearer|Basic) [A-Za-z0-9._~+/=-]+," \
	"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2}[A-Za-z]*"

#define SELECTOR(which, what, pid_alias, comm_alias)                                          \
	{"targets." which ".comm",                                                            \
	 CFG_STRLIST,                                                                         \
	 OFF(targets.what.comm),                                                              \
	 "",                                                                                  \
	 0,                                                                                   \
	 0,                                                                                   \
	 NULL,                                                                                \
	 check_comm,                                                                          \
	 comm_alias,                                                                          \
	 "command names (/proc/PID/comm, 15 characters), globs"},                             \
		{"targets." which ".exe",                                                     \
		 CFG_STRLIST,                                                                 \
		 OFF(targets.what.exe),                                                       \
		 "",                                                                          \
		 0,                                                                           \
		 0,                                                                           \
		 NULL,                                                                        \
		 check_exe,                                                                   \
		 NULL,                                                                        \
		 "executable paths, globs"},                                                  \
		{"targets." which ".cmdline",                                                 \
		 CFG_REGEXLIST,                                                               \
		 OFF(targets.what.cmdline),                                                   \
		 "",                                                                          \
		 0,                                                                           \
		 0,                                                                           \
		 NULL,                                                                        \
		 NULL,                                                                        \
		 NULL,                                                                        \
		 "extended regexes on the command line (arguments joined by spaces)"},        \
		{"targets." which ".pid",                                                     \
		 CFG_UINTLIST,                                                                \
		 OFF(targets.what.pid),                                                       \
		 "",                                                                          \
		 1,                                                                           \
		 4194304,                                                                     \
		 NULL,                                                                        \
		 NULL,                                                                        \
		 pid_alias,                                                                   \
		 "process IDs (as the agent's PID namespace numbers them)"},                  \
		{"targets." which ".cgroup",                                                  \
		 CFG_STRLIST,                                                                 \
		 OFF(targets.what.cgroup),                                                    \
		 "",                                                                          \
		 0,                                                                           \
		 0,                                                                           \
		 NULL,                                                                        \
		 check_abs_path,                                                              \
		 NULL,                                                                        \
		 "cgroup v2 path prefixes"},                                                  \
		{"targets." which ".container",                                               \
		 CFG_STRLIST,                                                                 \
		 OFF(targets.what.container),                                                 \
		 "",                                                                          \
		 0,                                                                           \
		 0,                                                                           \
		 NULL,                                                                        \
		 check_container,                                                             \
		 NULL,                                                                        \
		 "container id prefixes (12 to 64 hex digits)"},                              \
	{                                                                                     \
		"targets." which ".port", CFG_UINTLIST, OFF(targets.what.port), "", 1, 65535, \
			NULL, NULL, NULL, "TCP ports the process listens on"                  \
	}

const struct cfg_key cfg_keys[] = {
	{"service.name", CFG_STRING, OFF(service.name), "", 0, 0, NULL, NULL, NULL,
	 "service name of every profile (\"\": the target's executable name)"},
	{"service.labels", CFG_MAP, OFF(service.labels), "", 0, 0, NULL, check_label, "--label",
	 "labels of every profile and series (KEY=VALUE)"},

	SELECTOR("include", include, "-p", "--target-comm"),
	SELECTOR("exclude", exclude, NULL, NULL),
	{"targets.max_processes", CFG_UINT, OFF(targets.max_processes), "8192", 1, 1048576, NULL,
	 NULL, NULL, "processes profiled at once at most"},
	{"targets.rescan_interval", CFG_DURATION, OFF(targets.rescan_ns), "10s", 100 * MS,
	 3600 * SEC, NULL, NULL, NULL, "how often targets are looked for again"},

	{"probes.cpu.enabled", CFG_BOOL, OFF(probes.cpu.enabled), "true", 0, 0, NULL, NULL, NULL,
	 "sample CPU stacks"},
	{"probes.cpu.frequency", CFG_UINT, OFF(probes.cpu.frequency), "99", 1, 100000, NULL, NULL,
	 "-F", "samples per second per CPU"},
	{"probes.cpu.call_graph", CFG_ENUM, OFF(probes.cpu.call_graph), "dwarf", 0, 0,
	 call_graph_names, NULL, "--call-graph", "user stacks: dwarf (CFI) or fp (frame pointers)"},
	{"probes.cpu.stack_size", CFG_SIZE, OFF(probes.cpu.stack_size), "16KiB", 8, 65536, NULL,
	 NULL, NULL, "user stack copied per sample with dwarf (a multiple of 8)"},
	{"probes.cpu.kernel", CFG_BOOL, OFF(probes.cpu.kernel), "true", 0, 0, NULL, NULL, NULL,
	 "include kernel stacks"},

	{"probes.offcpu.enabled", CFG_BOOL, OFF(probes.offcpu.enabled), "false", 0, 0, NULL, NULL,
	 NULL, "time spent blocked, by stack"},
	{"probes.offcpu.min_duration", CFG_DURATION, OFF(probes.offcpu.min_duration_ns), "1ms",
	 NSEC_PER_USEC, 3600 * SEC, NULL, NULL, NULL, "shorter blocked intervals are ignored"},
	{"probes.offcpu.sample_one_in", CFG_UINT, OFF(probes.offcpu.sample_one_in), "1", 1, 1000000,
	 NULL, NULL, NULL, "keep one blocked interval in this many"},

	{"probes.alloc.enabled", CFG_BOOL, OFF(probes.alloc.enabled), "false", 0, 0, NULL, NULL,
	 NULL, "allocations by stack (malloc and friends)"},
	{"probes.alloc.sample_bytes", CFG_SIZE, OFF(probes.alloc.sample_bytes), "512KiB", 1, GIB,
	 NULL, NULL, NULL, "one sample per this many bytes allocated"},
	{"probes.alloc.inuse", CFG_BOOL, OFF(probes.alloc.inuse), "true", 0, 0, NULL, NULL, NULL,
	 "also track frees: bytes in use by stack"},
	{"probes.alloc.max_live", CFG_UINT, OFF(probes.alloc.max_live), "65536", 1024, 16777216,
	 NULL, NULL, NULL, "sampled live allocations tracked at most"},

	{"probes.faults.enabled", CFG_BOOL, OFF(probes.faults.enabled), "false", 0, 0, NULL, NULL,
	 NULL, "page faults by stack"},
	{"probes.faults.period", CFG_UINT, OFF(probes.faults.period), "1", 1, 1000000, NULL, NULL,
	 NULL, "one sample per this many page faults, with frequency 0"},
	{"probes.faults.frequency", CFG_UINT, OFF(probes.faults.frequency), "1000", 0, 100000, NULL,
	 NULL, NULL,
	 "about this many samples a second per CPU, each weighing the period the kernel chose "
	 "(a host's fault storm costs the same; 0: by period)"},

	{"probes.uprobe.enabled", CFG_BOOL, OFF(probes.uprobe.enabled), "false", 0, 0, NULL, NULL,
	 NULL, "time functions through uprobes"},
	{"probes.uprobe.functions", CFG_STRLIST, OFF(probes.uprobe.functions), "", 0, 0, NULL,
	 check_func, "-f", "TARGET:FUNCTION (globs allowed), as sonde trace -f"},
	{"probes.uprobe.max_probes", CFG_UINT, OFF(probes.uprobe.max_probes), "64", 1, 4096, NULL,
	 NULL, NULL, "functions a glob attaches to at most"},
	{"probes.uprobe.watch", CFG_BOOL, OFF(probes.uprobe.watch), "false", 0, 0, NULL, NULL, NULL,
	 "latency anomalies per window, as sonde trace --watch"},

	{"probes.tls.enabled", CFG_BOOL, OFF(probes.tls.enabled), "false", 0, 0, NULL, NULL, NULL,
	 "LLM API calls seen through TLS (SSL_read/SSL_write)"},
	{"probes.tls.capture_content", CFG_BOOL, OFF(probes.tls.capture_content), "false", 0, 0,
	 NULL, NULL, NULL, "export prompt and completion text (redacted)"},
	{"probes.tls.redact", CFG_REGEXLIST, OFF(probes.tls.redact), REDACT_DEFAULT, 0, 0, NULL,
	 NULL, NULL, "extended regexes replaced by [REDACTED] in captured text"},
	{"probes.tls.max_content", CFG_SIZE, OFF(probes.tls.max_content), "4KiB", 0, MIB, NULL,
	 NULL, NULL, "captured text kept per message at most"},
	{"probes.tls.max_connections", CFG_UINT, OFF(probes.tls.max_connections), "4096", 16,
	 1048576, NULL, NULL, NULL, "TLS connections followed at once at most"},

	{"exporters.listen.enabled", CFG_BOOL, OFF(exporters.listen.enabled), "false", 0, 0, NULL,
	 NULL, NULL, "serve /metrics, /healthz and /readyz"},
	{"exporters.listen.address", CFG_STRING, OFF(exporters.listen.address), "127.0.0.1:9464", 0,
	 0, NULL, check_hostport, "--listen", "HOST:PORT, or :PORT for every interface"},
	{"exporters.listen.allow", CFG_CIDRLIST, OFF(exporters.listen.allow), "", 0, 0, NULL, NULL,
	 NULL, "client networks allowed to /metrics (empty: any)"},
	{"exporters.listen.auth_file", CFG_STRING, OFF(exporters.listen.auth_file), "", 0, 0, NULL,
	 check_path, NULL, "basic-auth USER:HASH file (crypt(3) hashes) /metrics asks for"},

	{"exporters.otlp.enabled", CFG_BOOL, OFF(exporters.otlp.enabled), "false", 0, 0, NULL, NULL,
	 NULL, "push spans, metrics and profiles over OTLP/HTTP"},
	{"exporters.otlp.endpoint", CFG_STRING, OFF(exporters.otlp.endpoint), "", 0, 0, NULL,
	 check_url, "--otlp-endpoint", "collector base URL (http://collector:4318)"},
	{"exporters.otlp.headers", CFG_MAP, OFF(exporters.otlp.headers), "", 0, 0, NULL,
	 check_header, "--otlp-header", "HTTP headers of every request (NAME=VALUE)"},
	{"exporters.otlp.queue", CFG_UINT, OFF(exporters.otlp.queue), "8192", 16, 1048576, NULL,
	 NULL, "--otlp-queue", "items held for the collector before drops"},
	{"exporters.otlp.timeout", CFG_DURATION, OFF(exporters.otlp.timeout_ns), "10s", 100 * MS,
	 300 * SEC, NULL, NULL, NULL, "per request"},

	{"exporters.pyroscope.enabled", CFG_BOOL, OFF(exporters.pyroscope.enabled), "false", 0, 0,
	 NULL, NULL, NULL, "push each window's profiles to Pyroscope"},
	{"exporters.pyroscope.url", CFG_STRING, OFF(exporters.pyroscope.url), "", 0, 0, NULL,
	 check_url, "--pyroscope", "server base URL (http://pyroscope:4040)"},
	{"exporters.pyroscope.tenant", CFG_STRING, OFF(exporters.pyroscope.tenant), "", 0, 0, NULL,
	 NULL, NULL, "X-Scope-OrgID of a multi-tenant server (\"\": none)"},

	{"exporters.statsd.enabled", CFG_BOOL, OFF(exporters.statsd.enabled), "false", 0, 0, NULL,
	 NULL, NULL, "send counters and histograms over UDP (DogStatsD tags)"},
	{"exporters.statsd.address", CFG_STRING, OFF(exporters.statsd.address), "127.0.0.1:8125", 0,
	 0, NULL, check_hostport, "--statsd", "HOST:PORT"},

	{"exporters.files.enabled", CFG_BOOL, OFF(exporters.files.enabled), "false", 0, 0, NULL,
	 NULL, NULL, "write each window's profile to a file"},
	{"exporters.files.directory", CFG_STRING, OFF(exporters.files.directory), "/var/lib/sonde",
	 0, 0, NULL, check_abs_path, "--output-dir", "where"},
	{"exporters.files.format", CFG_ENUM, OFF(exporters.files.format), "pprof", 0, 0,
	 file_format_names, NULL, NULL, "pprof (.pb.gz), folded or svg"},
	{"exporters.files.keep", CFG_UINT, OFF(exporters.files.keep), "60", 1, 100000, NULL, NULL,
	 NULL, "newest files kept; older ones are deleted"},
	{"exporters.files.max_size", CFG_SIZE, OFF(exporters.files.max_size), "1GiB", MIB,
	 1024 * GIB, NULL, NULL, NULL, "total size kept; the oldest files go first"},

	{"symbols.dwarf", CFG_BOOL, OFF(symbols.dwarf), "false", 0, 0, NULL, NULL, NULL,
	 "file:line and inlined frames from DWARF (up to ~30 MiB per large library)"},

	{"window", CFG_DURATION, OFF(window_ns), "60s", SEC, 3600 * SEC, NULL, NULL, "--window",
	 "profiles are cut and exported every window"},
	{"flush_timeout", CFG_DURATION, OFF(flush_timeout_ns), "5s", 0, 300 * SEC, NULL, NULL,
	 "--flush-timeout", "on exit, how long exporters may take to deliver"},
	{"memory_limit", CFG_SIZE, OFF(memory_limit), "128MiB", 16 * MIB, 64 * GIB, NULL, NULL,
	 "--memory-limit", "the agent's own memory (maps, caches, queues) at most"},
	{"log.level", CFG_ENUM, OFF(log.level), "warn", 0, 0, log_level_names, NULL, NULL,
	 "error, warn, info or debug"},
	{"log.format", CFG_ENUM, OFF(log.format), "text", 0, 0, log_format_names, NULL,
	 "--log-format", "text or json (OTLP LogRecord fields)"},
};

const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

const struct cfg_key *cfg_key_find(const char *key)
{
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (!strcmp(cfg_keys[i].key, key))
			return &cfg_keys[i];
	return NULL;
}

/* @key is below @prefix ("" = top level): the rest of it, else NULL. */
static const char *below(const char *key, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!n)
		return key;
	return !strncmp(key, prefix, n) && key[n] == '.' ? key + n + 1 : NULL;
}

bool cfg_is_section(const char *prefix)
{
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (*prefix && below(cfg_keys[i].key, prefix))
			return true;
	return false;
}

size_t cfg_children(const char *prefix, const char **out, size_t max)
{
	static char names[256][32];
	size_t n = 0, used = 0;

	for (size_t i = 0; i < cfg_nkeys; i++) {
		const char *rest = below(cfg_keys[i].key, prefix);
		size_t len;
		bool seen = false;

		if (!rest)
			continue;
		len = strcspn(rest, ".");
		for (size_t j = 0; j < n && !seen; j++)
			seen = strlen(out[j]) == len && !strncmp(out[j], rest, len);
		if (seen || n == max || used == 256 || len >= sizeof(names[0]))
			continue;
		memcpy(names[used], rest, len);
		names[used][len] = '\0';
		out[n++] = names[used++];
	}
	return n;
}

const char *cfg_type_name(enum cfg_type t)
{
	static const char *const names[] = {
		[CFG_STRING] = "string",
		[CFG_BOOL] = "boolean",
		[CFG_UINT] = "integer",
		[CFG_DURATION] = "duration",
		[CFG_SIZE] = "size",
		[CFG_ENUM] = "one of",
		[CFG_STRLIST] = "list of strings",
		[CFG_UINTLIST] = "list of integers",
		[CFG_REGEXLIST] = "list of regexes",
		[CFG_CIDRLIST] = "list of CIDR blocks",
		[CFG_MAP] = "mapping",
	};

	return names[t];
}

static void format_bound(const struct cfg_key *k, uint64_t v, char *buf, size_t len)
{
	if (k->type == CFG_DURATION)
		scalar_format_duration(v, buf, len);
	else if (k->type == CFG_SIZE)
		scalar_format_size(v, buf, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

void cfg_describe(const struct cfg_key *k, char *buf, size_t len)
{
	char lo[32], hi[32];
	size_t n = 0;

	format_bound(k, k->min, lo, sizeof(lo));
	format_bound(k, k->max, hi, sizeof(hi));
	switch (k->type) {
	case CFG_UINT:
	case CFG_UINTLIST:
		snprintf(buf, len, "%s from %s to %s",
			 k->type == CFG_UINT ? "an integer" : "integers", lo, hi);
		return;
	case CFG_DURATION:
		snprintf(buf, len, "a duration from %s to %s (e.g. 500ms, 60s, 2m)", lo, hi);
		return;
	case CFG_SIZE:
		snprintf(buf, len, "a size from %s to %s (e.g. 4KiB, 128MiB)", lo, hi);
		return;
	case CFG_ENUM:
		n = (size_t)snprintf(buf, len, "one of");
		for (const char *const *e = k->names; *e && n < len; e++)
			n += (size_t)snprintf(buf + n, len - n, "%s %s", e == k->names ? "" : ",",
					      *e);
		return;
	case CFG_BOOL:
		snprintf(buf, len, "true or false");
		return;
	case CFG_MAP:
		snprintf(buf, len, "a mapping of strings");
		return;
	case CFG_STRING:
		snprintf(buf, len, "a string");
		return;
	default:
		snprintf(buf, len, "a %s", cfg_type_name(k->type));
		return;
	}
}
