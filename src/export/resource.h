/* SPDX-License-Identifier: MIT */
/*
 * OpenTelemetry Resources for what sonde exports over OTLP (protobuf to a
 * collector, OTLP-JSON lines in --spans): one Resource per watched
 * process, so spans and process metrics land under the process they
 * describe, and a "service" Resource for what belongs to no single
 * process (function latency aggregated over the targets, sonde's own
 * counters).
 *
 * A process Resource holds, in this order: service.name, host.name,
 * process.pid, process.executable.name, process.executable.path,
 * process.command (argv[0]; never the arguments, which may hold secrets),
 * telemetry.sdk.name=sonde, telemetry.sdk.version, then every member of
 * OTEL_RESOURCE_ATTRIBUTES (replacing a detected value in place). The
 * service Resource has the same without process.*. service.name is the
 * explicit option, else OTEL_SERVICE_NAME, else the service.name of
 * OTEL_RESOURCE_ATTRIBUTES, else the executable's name (for the service
 * Resource: the first process described with one), else "sonde".
 *
 * Processes are described explicitly (resources__add_process) or, at
 * first sight of their PID, from /proc/PID/exe and /proc/PID/cmdline
 * (/proc/PID/comm when the executable cannot be read). The table is
 * bounded (LRU); entries used since the last resources__mark() are never
 * evicted, so pointers taken after a mark stay valid until the next one.
 * Not thread-safe: the caller locks.
 */
#ifndef SONDE_EXPORT_RESOURCE_H
#define SONDE_EXPORT_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct res_attr {
	char *key;
	char *str; /* NULL: an int */
	int64_t ival;
};

struct res_attrs {
	struct res_attr *a;
	size_t n;
	uint64_t serial; /* differs between any two descriptions (for encoders' caches) */
};

struct resources_opts {
	const char *service_name;   /* outranks the environment; NULL: none */
	unsigned int max_processes; /* Resources kept [1024] */
};

struct resources;

/* Read the environment and the host name now. 0 or -ENOMEM. */
int resources__new(const struct resources_opts *o, struct resources **out);
void resources__free(struct resources *r);

struct process_info {
	int pid;
	const char *exe_path; /* NULL: unknown */
	const char *exe_name; /* NULL: basename of exe_path */
	const char *command;  /* argv[0], NULL: unknown */
};

/*
 * Describe a process. With every field NULL it is read from /proc now.
 * Replaces an earlier description. 0, -EINVAL (pid <= 0) or -ENOMEM.
 */
int resources__add_process(struct resources *r, const struct process_info *p);

/* The Resource of @pid, described from /proc at first sight. NULL: ENOMEM. */
const struct res_attrs *resources__process(struct resources *r, int pid);
/* process.executable.path of @pid's Resource, or NULL. */
const char *resources__exe_path(const struct res_attrs *a);
/* The service Resource. NULL: ENOMEM. */
const struct res_attrs *resources__service(struct resources *r);

/* A new period of use: what is taken after it is kept until the next. */
void resources__mark(struct resources *r);

/* An attribute as an encoder reads it: a string, or an int when str is NULL. */
struct otel_attr {
	const char *key;
	const char *str;
	int64_t ival;
};

#define OTEL_SPAN_ATTRS 5

/*
 * The attributes of a span (semantic conventions, code.*): thread.id,
 * code.function.name, code.file.path and code.line.number when the
 * source is known, and sonde.module.path for a function outside the
 * process's executable @exe (which its Resource names). Returns how many
 * of OTEL_SPAN_ATTRS were filled; the strings are the arguments'.
 */
size_t otel_span_attrs(uint32_t tid, const char *func, const char *module, const char *src,
		       uint32_t line, const char *exe, struct otel_attr *out);

/*
 * The sample counts of a span (model/spans.h, enum span_samples): one
 * int attribute per bit of @mask, at most SPAN_SAMPLES_MAX. Returns how
 * many; the keys are static strings.
 */
size_t otel_span_sample_attrs(uint32_t mask, const uint64_t *samples, struct otel_attr *out);

#endif /* SONDE_EXPORT_RESOURCE_H */
