// SPDX-License-Identifier: MIT
/*
 * Per-process OpenTelemetry Resources (see resource.h). The environment
 * is read once; each process's attribute list is built when it is first
 * described and kept in a small table searched from the last hit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/utf8.h"
#include "export/otel_env.h"
#include "export/resource.h"
#include "model/spans.h"

#define DEF_MAX_PROCESSES 1024

struct rproc {
	int pid;
	uint64_t mark; /* the period it was last used in */
	struct res_attrs attrs;
};

struct resources {
	char host[256];
	char *service_name; /* the explicit option or OTEL_SERVICE_NAME; NULL: none */
	char *first_exe;    /* the first described process's executable name */
	struct otel_kv *env;
	size_t nenv;
	struct res_attrs service;
	bool service_stale;
	struct rproc *procs;
	size_t nprocs, cap, last;
	uint64_t mark;
	uint64_t serial; /* the last description's */
};

static void attrs_free(struct res_attrs *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->a[i].key);
		free(a->a[i].str);
	}
	free(a->a);
	a->a = NULL;
	a->n = 0;
}

/* Replace the value of @key, or append it; copies @str (NULL: the int). */
static int attrs_set(struct res_attrs *a, const char *key, const char *str, int64_t ival)
{
	struct res_attr *na;
	char *s = NULL, *k;

	if (str && !(s = strdup(str)))
		return -ENOMEM;
	/* OTLP strings are UTF-8; a target's exe name and command line need not be. */
	if (s)
		utf8_scrub(s, strlen(s));
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->a[i].key, key))
			continue;
		free(a->a[i].str);
		a->a[i].str = s;
		a->a[i].ival = ival;
		return 0;
	}
	k = strdup(key);
	na = realloc(a->a, (a->n + 1) * sizeof(*na));
	if (na)
		a->a = na;
	if (!k || !na) {
		free(k);
		free(s);
		return -ENOMEM;
	}
	utf8_scrub(k, strlen(k));
	a->a[a->n++] = (struct res_attr){.key = k, .str = s, .ival = ival};
	return 0;
}

/*
 * The attributes around the process ones: service.name and host.name
 * first, the SDK's and the environment's last; OTEL_SERVICE_NAME (or the
 * option) outranks OTEL_RESOURCE_ATTRIBUTES (OTel SDK spec).
 */
static int attrs_build(struct resources *r, struct res_attrs *a, const struct process_info *p)
{
	const char *svc = p && p->exe_name ? p->exe_name : NULL;
	int err;

	if (!p && r->first_exe)
		svc = r->first_exe;
	err = attrs_set(a, "service.name", svc ? svc : "sonde", 0);
	if (!err && r->host[0])
		err = attrs_set(a, "host.name", r->host, 0);
	if (!err && p)
		err = attrs_set(a, "process.pid", NULL, p->pid);
	if (!err && p && p->exe_name)
		err = attrs_set(a, "process.executable.name", p->exe_name, 0);
	if (!err && p && p->exe_path)
		err = attrs_set(a, "process.executable.path", p->exe_path, 0);
	if (!err && p && p->command)
		err = attrs_set(a, "process.command", p->command, 0);
	if (!err)
		err = attrs_set(a, "telemetry.sdk.name", "sonde", 0);
	if (!err)
		err = attrs_set(a, "telemetry.sdk.version", SONDE_VERSION, 0);
	for (size_t i = 0; !err && i < r->nenv; i++)
		err = attrs_set(a, r->env[i].key, r->env[i].val, 0);
	if (!err && r->service_name)
		err = attrs_set(a, "service.name", r->service_name, 0);
	if (err)
		attrs_free(a);
	return err;
}

int resources__new(const struct resources_opts *o, struct resources **out)
{
	static const struct resources_opts none;
	const char *svc;
	struct resources *r;
	int err;

	*out = NULL;
	if (!o)
		o = &none;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cap = o->max_processes ? o->max_processes : DEF_MAX_PROCESSES;
	r->procs = calloc(r->cap, sizeof(*r->procs));
	if (!r->procs) {
		err = -ENOMEM;
		goto err_free;
	}
	if (gethostname(r->host, sizeof(r->host)))
		r->host[0] = '\0';
	r->host[sizeof(r->host) - 1] = '\0';
	svc = o->service_name ? o->service_name : getenv("OTEL_SERVICE_NAME");
	if (svc && *svc && !(r->service_name = strdup(svc))) {
		err = -ENOMEM;
		goto err_free;
	}
	err = otel_env_list("OTEL_RESOURCE_ATTRIBUTES", &r->env, &r->nenv);
	if (err)
		goto err_free;
	r->service_stale = true;
	*out = r;
	return 0;

err_free:
	resources__free(r);
	return err;
}

void resources__free(struct resources *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->procs && i < r->nprocs; i++)
		attrs_free(&r->procs[i].attrs);
	free(r->procs);
	attrs_free(&r->service);
	otel_kvs_free(r->env, r->nenv);
	free(r->service_name);
	free(r->first_exe);
	free(r);
}

/* Read @file of @pid whole into @buf (NUL-terminated); its length or -errno. */
static ssize_t read_proc(int pid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* What /proc says of @pid; strings point into the buffers. */
static void detect(int pid, struct process_info *p, char *exe, char *cmd, char *comm)
{
	ssize_t n;
	char path[64];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, PATH_MAX - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* A deleted binary reads as "/path/prog (deleted)". */
		if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
			exe[n - 10] = '\0';
		p->exe_path = exe;
	}
	if (read_proc(pid, "cmdline", cmd, PATH_MAX) > 0 && cmd[0])
		p->command = cmd; /* argv[0]: the first NUL-terminated string */
	if (!p->exe_path && read_proc(pid, "comm", comm, 64) > 0) {
		comm[strcspn(comm, "\n")] = '\0';
		if (comm[0])
			p->exe_name = comm;
	}
}

/* The slot for @pid: its own, a free one, or the least recently used. */
static struct rproc *slot_for(struct resources *r, int pid, bool *fresh)
{
	struct rproc *lru = NULL;

	*fresh = false;
	for (size_t k = 0; k < r->nprocs; k++) {
		size_t i = (r->last + k) % r->nprocs;

		if (r->procs[i].pid == pid) {
			r->last = i;
			return &r->procs[i];
		}
	}
	*fresh = true;
	if (r->nprocs < r->cap) {
		r->last = r->nprocs;
		return &r->procs[r->nprocs++];
	}
	for (size_t i = 0; i < r->nprocs; i++) {
		struct rproc *e = &r->procs[i];

		if (e->mark != r->mark && (!lru || e->mark < lru->mark))
			lru = e;
	}
	if (lru) {
		attrs_free(&lru->attrs);
		r->last = lru - r->procs;
	}
	return lru;
}

static int describe(struct resources *r, struct rproc *e, const struct process_info *given)
{
	struct process_info p = *given;
	struct res_attrs a = {0};
	char abs[PATH_MAX];
	const char *slash;
	int err;

	/* "./prog" as launched: the path the process runs, as /proc would say. */
	if (p.exe_path && p.exe_path[0] != '/' && realpath(p.exe_path, abs))
		p.exe_path = abs;

	if (!p.exe_name && p.exe_path) {
		slash = strrchr(p.exe_path, '/');
		p.exe_name = slash ? slash + 1 : p.exe_path;
	}
	err = attrs_build(r, &a, &p);
	if (err)
		return err;
	attrs_free(&e->attrs);
	a.serial = ++r->serial;
	e->attrs = a;
	e->pid = p.pid;
	e->mark = r->mark;
	if (!r->first_exe && p.exe_name && p.exe_path) {
		r->first_exe = strdup(p.exe_name);
		r->service_stale = true;
	}
	return 0;
}

int resources__add_process(struct resources *r, const struct process_info *p)
{
	char exe[PATH_MAX], cmd[PATH_MAX], comm[64];
	struct process_info d;
	struct rproc *e;
	bool fresh;

	if (p->pid <= 0)
		return -EINVAL;
	if (!p->exe_path && !p->exe_name && !p->command) {
		detect(p->pid, &d, exe, cmd, comm);
		p = &d;
	}
	/* An explicit exe name without a path names the service too. */
	if (!r->first_exe && p->exe_name && !p->exe_path) {
		r->first_exe = strdup(p->exe_name);
		r->service_stale = true;
		if (!r->first_exe)
			return -ENOMEM;
	}
	e = slot_for(r, p->pid, &fresh);
	if (!e)
		return -ENOMEM;
	return describe(r, e, p);
}

const struct res_attrs *resources__process(struct resources *r, int pid)
{
	char exe[PATH_MAX], cmd[PATH_MAX], comm[64];
	struct process_info d;
	struct rproc *e;
	bool fresh;

	e = slot_for(r, pid, &fresh);
	if (!e)
		return NULL; /* every slot in use in this period */
	if (fresh) {
		detect(pid, &d, exe, cmd, comm);
		if (describe(r, e, &d)) {
			e->pid = 0;
			return NULL;
		}
	}
	e->mark = r->mark;
	return &e->attrs;
}

const char *resources__exe_path(const struct res_attrs *a)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (!strcmp(a->a[i].key, "process.executable.path"))
			return a->a[i].str;
	return NULL;
}

const struct res_attrs *resources__service(struct resources *r)
{
	if (r->service_stale) {
		attrs_free(&r->service);
		if (attrs_build(r, &r->service, NULL))
			return NULL;
		r->service.serial = ++r->serial;
		r->service_stale = false;
	}
	return &r->service;
}

void resources__mark(struct resources *r)
{
	r->mark++;
}

size_t otel_span_attrs(uint32_t tid, const char *func, const char *module, const char *src,
		       uint32_t line, const char *exe, struct otel_attr *out)
{
	size_t k = 0;

	out[k++] = (struct otel_attr){"thread.id", NULL, tid};
	out[k++] = (struct otel_attr){"code.function.name", func ? func : "", 0};
	if (src && *src) {
		out[k++] = (struct otel_attr){"code.file.path", src, 0};
		if (line)
			out[k++] = (struct otel_attr){"code.line.number", NULL, line};
	}
	if (module && *module && (!exe || strcmp(exe, module)))
		out[k++] = (struct otel_attr){"sonde.module.path", module, 0};
	return k;
}

size_t otel_span_sample_attrs(uint32_t mask, const uint64_t *samples, struct otel_attr *out)
{
	size_t k = 0;

	for (int i = 0; i < SPAN_SAMPLES_MAX; i++)
		if (mask & (1u << i))
			out[k++] = (struct otel_attr){span_samples_keys[i], NULL,
						      (int64_t)samples[i]};
	return k;
}
