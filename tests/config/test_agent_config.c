// SPDX-License-Identifier: MIT
/*
 * The agent's configuration: values from files with environment sections,
 * each precedence level, every error kind with its exact message, the
 * effective configuration printed and read back, reloads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config/agent_config.h"
#include "config/schema.h"
#include "helpers.h"

#define SEC 1000000000ull
#define MIB (1024ull * 1024)

/* What one load gave: the config or the error lines. */
struct result {
	struct agent_config *c;
	char *errors;
	int err;
};

struct input {
	const char *yaml; /* NULL: no file */
	const char *env;
	const struct agent_config_flag *flags;
	size_t nflags;
	char *const *environ;
};

static char *const no_environ[] = {NULL};

static struct result load(const struct input *i)
{
	struct result r = {0};
	size_t len = 0;
	FILE *errf = open_memstream(&r.errors, &len);
	struct agent_config_input in = {
		.file = i->yaml ? "t.yaml" : NULL,
		.text = i->yaml,
		.text_len = i->yaml ? strlen(i->yaml) : 0,
		.env = i->env,
		.flags = i->flags,
		.nflags = i->nflags,
		.environ = i->environ ? i->environ : no_environ,
		.errors = errf,
	};

	cr_assert_not_null(errf);
	r.err = agent_config__load(&in, &r.c);
	fclose(errf);
	if (r.err)
		r.c = NULL;
	return r;
}

static void result_free(struct result *r)
{
	agent_config__free(r->c);
	free(r->errors);
}

/* A load that must succeed with no message. */
static struct agent_config *load_ok(const struct input *i)
{
	struct result r = load(i);

	cr_assert_eq(r.err, 0, "load failed: %s", r.errors);
	cr_assert_str_empty(r.errors);
	free(r.errors);
	return r.c;
}

/* A load that must fail with exactly @want (every line, in order). */
static void load_fails(const struct input *i, const char *want)
{
	struct result r = load(i);

	cr_expect_eq(r.err, -EINVAL);
	cr_expect_null(r.c);
	cr_expect_str_eq(r.errors, want);
	result_free(&r);
}

static const char *origin(const struct agent_config *c, const char *key)
{
	static char buf[4][256];
	static int slot;
	char *b = buf[slot++ % 4];
	const struct cfg_origin *o = agent_config__origin(c, key);

	cr_assert_not_null(o, "no key %s", key);
	agent_config__origin_text(c, o, b, sizeof(buf[0]));
	return b;
}

/* Something has to be exported, or the load fails: the smallest valid file. */
#define FILES_ON "exporters:\n  files:\n    enabled: true\n"

Test(agent_config, defaults)
{
	static const struct agent_config_flag on[] = {
		{"exporters.files.enabled", "true", "--exporters.files.enabled"},
	};
	struct agent_config *c = load_ok(&(struct input){.flags = on, .nflags = 1});

	cr_expect_str_eq(c->service.name, "");
	cr_expect_eq(c->service.labels.n, 0);
	cr_expect_eq(c->targets.include.comm.n, 0);
	cr_expect_eq(c->targets.max_processes, 8192);
	cr_expect_eq(c->targets.rescan_ns, 10 * SEC);
	cr_expect(c->probes.cpu.enabled);
	cr_expect_eq(c->probes.cpu.frequency, 99);
	cr_expect_eq(c->probes.cpu.call_graph, AGENT_CALL_GRAPH_DWARF);
	cr_expect_eq(c->probes.cpu.stack_size, 16384);
	cr_expect(!c->probes.offcpu.enabled);
	cr_expect_eq(c->probes.offcpu.min_duration_ns, 1000000);
	cr_expect_eq(c->probes.alloc.sample_bytes, 512 * 1024);
	cr_expect(c->probes.alloc.inuse);
	cr_expect_eq(c->probes.uprobe.max_probes, 64);
	cr_expect(!c->probes.tls.capture_content);
	cr_assert_eq(c->probes.tls.redact.n, 3);
	cr_expect_str_eq(c->probes.tls.redact.v[0].src, "sk-[A-Za-z0-9_-]{16}[A-Za-z0-9_-]*");
	cr_expect_eq(
		regexec(&c->probes.tls.redact.v[0].re, "key sk-abcdefghijklmnop1234", 0, NULL, 0),
		0);
	cr_expect_eq(
		regexec(&c->probes.tls.redact.v[1].re, "Authorization: Bearer abc.def", 0, NULL, 0),
		0);
	cr_expect_eq(regexec(&c->probes.tls.redact.v[2].re, "mail bob@example.com", 0, NULL, 0), 0);
	cr_expect_str_eq(c->exporters.listen.address, "127.0.0.1:9464");
	cr_expect_str_eq(c->exporters.statsd.address, "127.0.0.1:8125");
	cr_expect_eq(c->exporters.otlp.queue, 8192);
	cr_expect_str_eq(c->exporters.files.directory, "/var/lib/sonde");
	cr_expect_eq(c->exporters.files.keep, 60);
	cr_expect_eq(c->exporters.files.max_size, 1024 * MIB);
	cr_expect_eq(c->window_ns, 60 * SEC);
	cr_expect_eq(c->flush_timeout_ns, 5 * SEC);
	cr_expect_eq(c->memory_limit, 128 * MIB);
	cr_expect_eq(c->log.level, LOG_WARN);
	cr_expect_eq(c->log.format, LOG_FORMAT_TEXT);
	cr_expect_str_eq(origin(c, "window"), "default");
	cr_expect_str_eq(origin(c, "exporters.files.enabled"), "flag --exporters.files.enabled");
	agent_config__free(c);
}

/* Every key: a variable and a flag of its own, and a default that parses. */
Test(agent_config, schema_names_unique)
{
	char a[128], b[128];

	for (size_t i = 0; i < cfg_nkeys; i++) {
		agent_config__env_name(cfg_keys[i].key, a, sizeof(a));
		cr_expect_eq(strncmp(a, "SONDE_", 6), 0);
		cr_expect_eq(strcspn(a, ".abcdefghijklmnopqrstuvwxyz"), strlen(a), "%s", a);
		for (size_t j = 0; j < i; j++) {
			agent_config__env_name(cfg_keys[j].key, b, sizeof(b));
			cr_expect_str_neq(a, b);
			cr_expect_str_neq(cfg_keys[i].key, cfg_keys[j].key);
			if (cfg_keys[i].alias && cfg_keys[j].alias)
				cr_expect_str_neq(cfg_keys[i].alias, cfg_keys[j].alias);
		}
	}
	agent_config__env_name("probes.cpu.frequency", a, sizeof(a));
	cr_expect_str_eq(a, "SONDE_PROBES_CPU_FREQUENCY");
	agent_config__env_name("memory_limit", a, sizeof(a));
	cr_expect_str_eq(a, "SONDE_MEMORY_LIMIT");
	cr_expect_eq(cfg_nkeys, 67);
}

static const char envs_yaml[] = "service:\n"			     /* 1 */
				"  name: checkout\n"		     /* 2 */
				"  labels:\n"			     /* 3 */
				"    team: payments\n"		     /* 4 */
				"targets:\n"			     /* 5 */
				"  include:\n"			     /* 6 */
				"    comm: [python3, 'gunicorn*']\n" /* 7 */
				"    pid: [1, 42]\n"		     /* 8 */
				"probes:\n"			     /* 9 */
				"  cpu:\n"			     /* 10 */
				"    frequency: 11\n"		     /* 11 */
				"exporters:\n"			     /* 12 */
				"  pyroscope:\n"		     /* 13 */
				"    enabled: true\n"		     /* 14 */
				"    url: http://pyroscope:4040\n"   /* 15 */
				"window: 60s\n"			     /* 16 */
				"environments:\n"		     /* 17 */
				"  dev:\n"			     /* 18 */
				"    probes:\n"			     /* 19 */
				"      cpu:\n"			     /* 20 */
				"        frequency: 999\n"	     /* 21 */
				"    window: 10s\n"		     /* 22 */
				"  production:\n"		     /* 23 */
				"    service:\n"		     /* 24 */
				"      labels:\n"		     /* 25 */
				"        env: production\n"	     /* 26 */
				"    targets:\n"		     /* 27 */
				"      include:\n"		     /* 28 */
				"        comm: [java]\n"	     /* 29 */
				"    probes:\n"			     /* 30 */
				"      cpu:\n"			     /* 31 */
				"        frequency: 22\n"	     /* 32 */
				"      offcpu:\n"		     /* 33 */
				"        enabled: yes\n"	     /* 34 */
				"        min_duration: 2.5ms\n"	     /* 35 */
				"    memory_limit: 256Mi\n";	     /* 36 */

Test(agent_config, base_only)
{
	struct agent_config *c = load_ok(&(struct input){.yaml = envs_yaml});

	cr_expect_str_eq(c->service.name, "checkout");
	cr_assert_eq(c->service.labels.n, 1);
	cr_expect_str_eq(c->service.labels.v[0].key, "team");
	cr_expect_str_eq(c->service.labels.v[0].value, "payments");
	cr_assert_eq(c->targets.include.comm.n, 2);
	cr_expect_str_eq(c->targets.include.comm.v[0], "python3");
	cr_expect_str_eq(c->targets.include.comm.v[1], "gunicorn*");
	cr_assert_eq(c->targets.include.pid.n, 2);
	cr_expect_eq(c->targets.include.pid.v[1], 42);
	cr_expect_eq(c->probes.cpu.frequency, 11);
	cr_expect(!c->probes.offcpu.enabled);
	cr_expect_eq(c->window_ns, 60 * SEC);
	cr_expect_eq(c->memory_limit, 128 * MIB);
	cr_expect(c->exporters.pyroscope.enabled);
	cr_expect_str_eq(c->exporters.pyroscope.url, "http://pyroscope:4040");
	cr_expect_str_eq(origin(c, "probes.cpu.frequency"), "t.yaml:11");
	cr_expect_str_eq(origin(c, "targets.include.comm"), "t.yaml:7");
	cr_expect_str_eq(origin(c, "memory_limit"), "default");
	agent_config__free(c);
}

Test(agent_config, environment_sections)
{
	struct agent_config *c = load_ok(&(struct input){.yaml = envs_yaml, .env = "production"});

	/* Lists replace, maps merge, scalars override; the rest stays base. */
	cr_expect_str_eq(c->service.name, "checkout");
	cr_assert_eq(c->service.labels.n, 2);
	cr_expect_str_eq(c->service.labels.v[0].key, "team");
	cr_expect_str_eq(c->service.labels.v[1].key, "env");
	cr_expect_str_eq(c->service.labels.v[1].value, "production");
	cr_assert_eq(c->targets.include.comm.n, 1);
	cr_expect_str_eq(c->targets.include.comm.v[0], "java");
	cr_expect_eq(c->targets.include.pid.n, 2);
	cr_expect_eq(c->probes.cpu.frequency, 22);
	cr_expect(c->probes.offcpu.enabled);
	cr_expect_eq(c->probes.offcpu.min_duration_ns, 2500000);
	cr_expect_eq(c->window_ns, 60 * SEC);
	cr_expect_eq(c->memory_limit, 256 * MIB);
	cr_expect_str_eq(origin(c, "probes.cpu.frequency"), "t.yaml:32 (environment production)");
	cr_expect_str_eq(origin(c, "targets.include.comm"), "t.yaml:29 (environment production)");
	cr_expect_str_eq(origin(c, "targets.include.pid"), "t.yaml:8");
	cr_expect_str_eq(origin(c, "window"), "t.yaml:16");
	agent_config__free(c);

	c = load_ok(&(struct input){.yaml = envs_yaml, .env = "dev"});
	cr_expect_eq(c->probes.cpu.frequency, 999);
	cr_expect_eq(c->window_ns, 10 * SEC);
	cr_expect_eq(c->targets.include.comm.n, 2);
	cr_expect_eq(c->service.labels.n, 1);
	cr_expect(!c->probes.offcpu.enabled);
	cr_expect_str_eq(origin(c, "window"), "t.yaml:22 (environment dev)");
	agent_config__free(c);
}

Test(agent_config, environment_from_variable)
{
	char *envp[] = {"SONDE_ENV=dev", NULL};
	struct agent_config *c = load_ok(&(struct input){.yaml = envs_yaml, .environ = envp});

	cr_expect_eq(c->probes.cpu.frequency, 999);
	agent_config__free(c);
	/* --env wins over SONDE_ENV. */
	c = load_ok(&(struct input){.yaml = envs_yaml, .env = "production", .environ = envp});
	cr_expect_eq(c->probes.cpu.frequency, 22);
	agent_config__free(c);
}

/* One key at every level, then each level taken away from the top. */
Test(agent_config, precedence)
{
	static const struct agent_config_flag flags[] = {
		{"probes.cpu.frequency", "44", "-F"},
	};
	char *envp[] = {"SONDE_PROBES_CPU_FREQUENCY=33", "PATH=/bin", "SONDE_BIN=/x", NULL};
	static const char no_base[] = FILES_ON "environments:\n  production:\n    window: 5s\n";
	struct agent_config *c;

	c = load_ok(&(struct input){envs_yaml, "production", flags, 1, envp});
	cr_expect_eq(c->probes.cpu.frequency, 44);
	cr_expect_str_eq(origin(c, "probes.cpu.frequency"), "flag -F");
	agent_config__free(c);

	c = load_ok(&(struct input){envs_yaml, "production", NULL, 0, envp});
	cr_expect_eq(c->probes.cpu.frequency, 33);
	cr_expect_str_eq(origin(c, "probes.cpu.frequency"), "env SONDE_PROBES_CPU_FREQUENCY");
	agent_config__free(c);

	c = load_ok(&(struct input){envs_yaml, "production", NULL, 0, NULL});
	cr_expect_eq(c->probes.cpu.frequency, 22);
	cr_expect_str_eq(origin(c, "probes.cpu.frequency"), "t.yaml:32 (environment production)");
	agent_config__free(c);

	c = load_ok(&(struct input){envs_yaml, NULL, NULL, 0, NULL});
	cr_expect_eq(c->probes.cpu.frequency, 11);
	cr_expect_str_eq(origin(c, "probes.cpu.frequency"), "t.yaml:11");
	agent_config__free(c);

	c = load_ok(&(struct input){no_base, "production", NULL, 0, NULL});
	cr_expect_eq(c->probes.cpu.frequency, 99);
	cr_expect_str_eq(origin(c, "probes.cpu.frequency"), "default");
	cr_expect_eq(c->window_ns, 5 * SEC);
	agent_config__free(c);
}

/* Maps merge entry by entry across levels, each entry with its origin. */
Test(agent_config, maps_merge_by_key)
{
	static const struct agent_config_flag flags[] = {
		{"service.labels", "zone=b", "--label"},
		{"service.labels", "team=sre", "--label"},
	};
	char *envp[] = {"SONDE_SERVICE_LABELS=host=n1,zone=a", NULL};
	struct agent_config *c = load_ok(&(struct input){envs_yaml, "production", flags, 2, envp});
	const struct cfg_map *m = &c->service.labels;
	char buf[128];

	cr_assert_eq(m->n, 4);
	cr_expect_str_eq(m->v[0].key, "team");
	cr_expect_str_eq(m->v[0].value, "sre");
	cr_expect_str_eq(m->v[1].key, "env");
	cr_expect_str_eq(m->v[2].key, "host");
	cr_expect_str_eq(m->v[3].key, "zone");
	cr_expect_str_eq(m->v[3].value, "b");
	agent_config__origin_text(c, &m->v[0].origin, buf, sizeof(buf));
	cr_expect_str_eq(buf, "flag --label");
	agent_config__origin_text(c, &m->v[1].origin, buf, sizeof(buf));
	cr_expect_str_eq(buf, "t.yaml:26 (environment production)");
	agent_config__origin_text(c, &m->v[2].origin, buf, sizeof(buf));
	cr_expect_str_eq(buf, "env SONDE_SERVICE_LABELS");
	agent_config__free(c);
}

/* Lists: a level replaces the list; repeated flags append; commas split. */
Test(agent_config, lists_replace_and_flags_append)
{
	static const struct agent_config_flag flags[] = {
		{"targets.include.pid", "7,8", "-p"},
		{"probes.uprobe.functions", "libc:malloc", "-f"},
		{"targets.include.pid", "9", "-p"},
		{"targets.include.cmdline", "^a{1\\,2}$", "--targets.include.cmdline"},
	};
	struct agent_config *c = load_ok(&(struct input){envs_yaml, NULL, flags, 4, NULL});

	cr_assert_eq(c->targets.include.pid.n, 3);
	cr_expect_eq(c->targets.include.pid.v[0], 7);
	cr_expect_eq(c->targets.include.pid.v[2], 9);
	cr_expect_str_eq(origin(c, "targets.include.pid"), "flag -p");
	cr_assert_eq(c->probes.uprobe.functions.n, 1);
	cr_assert_eq(c->targets.include.cmdline.n, 1);
	cr_expect_str_eq(c->targets.include.cmdline.v[0].src, "^a{1,2}$");
	cr_expect_eq(regexec(&c->targets.include.cmdline.v[0].re, "aa", 0, NULL, 0), 0);
	cr_expect_eq(regexec(&c->targets.include.cmdline.v[0].re, "aaa", 0, NULL, 0), REG_NOMATCH);
	agent_config__free(c);
}

/* null (~, empty) puts the default back, from that level. */
Test(agent_config, null_resets_to_default)
{
	static const char yaml[] = FILES_ON "probes:\n"
					    "  cpu:\n"
					    "    frequency: 11\n"
					    "service:\n"
					    "  labels: {a: b}\n"
					    "environments:\n"
					    "  x:\n"
					    "    probes:\n"
					    "      cpu:\n"
					    "        frequency: ~\n"
					    "    service:\n"
					    "      labels:\n";
	struct agent_config *c = load_ok(&(struct input){.yaml = yaml, .env = "x"});

	cr_expect_eq(c->probes.cpu.frequency, 99);
	cr_expect_str_eq(origin(c, "probes.cpu.frequency"), "t.yaml:13 (environment x)");
	cr_expect_eq(c->service.labels.n, 0);
	agent_config__free(c);
}

Test(agent_config, every_type_from_yaml)
{
	static const char yaml[] = "service:\n"
				   "  name: 'svc'\n"
				   "targets:\n"
				   "  include:\n"
				   "    exe: /usr/bin/python3*\n" /* a scalar is a one-item list */
				   "    container: [0123456789abcdef]\n"
				   "    cgroup: [/kubepods.slice]\n"
				   "    port: [8080, 9090]\n"
				   "  exclude:\n"
				   "    comm: [sh]\n"
				   "probes:\n"
				   "  cpu:\n"
				   "    call_graph: fp\n"
				   "    stack_size: 8KiB\n"
				   "  tls:\n"
				   "    enabled: true\n"
				   "    redact: []\n"
				   "exporters:\n"
				   "  listen:\n"
				   "    enabled: on\n"
				   "    address: ':9464'\n"
				   "    allow: [10.0.0.0/8, '::1/128']\n"
				   "  otlp:\n"
				   "    enabled: true\n"
				   "    endpoint: https://collector:4318\n"
				   "    headers:\n"
				   "      Authorization: Bearer x\n"
				   "  files:\n"
				   "    enabled: true\n"
				   "    format: svg\n"
				   "flush_timeout: 0\n"
				   "log:\n"
				   "  level: debug\n"
				   "  format: json\n";
	struct agent_config *c = load_ok(&(struct input){.yaml = yaml});

	cr_expect_str_eq(c->service.name, "svc");
	cr_assert_eq(c->targets.include.exe.n, 1);
	cr_expect_str_eq(c->targets.include.exe.v[0], "/usr/bin/python3*");
	cr_expect_str_eq(c->targets.include.container.v[0], "0123456789abcdef");
	cr_expect_eq(c->targets.include.port.v[1], 9090);
	cr_expect_str_eq(c->targets.exclude.comm.v[0], "sh");
	cr_expect_eq(c->probes.cpu.call_graph, AGENT_CALL_GRAPH_FP);
	cr_expect_eq(c->probes.cpu.stack_size, 8192);
	cr_expect_eq(c->probes.tls.redact.n, 0);
	cr_expect_str_eq(c->exporters.listen.address, ":9464");
	cr_assert_eq(c->exporters.listen.allow.n, 2);
	cr_expect_eq(c->exporters.listen.allow.v[0].prefix, 8);
	cr_expect_eq(c->exporters.listen.allow.v[1].prefix, 128);
	cr_expect_str_eq(c->exporters.otlp.headers.v[0].value, "Bearer x");
	cr_expect_eq(c->exporters.files.format, AGENT_FILE_SVG);
	cr_expect_eq(c->flush_timeout_ns, 0);
	cr_expect_eq(c->log.level, LOG_DEBUG);
	cr_expect_eq(c->log.format, LOG_FORMAT_JSON);
	agent_config__free(c);
}

/* Errors: one line each, "config: FILE:LINE: KEY: what", all of them. */

Test(agent_config, error_unknown_key)
{
	load_fails(
		&(struct input){.yaml = FILES_ON "probes:\n  cpu:\n    frequncy: 99\n"},
		"config: t.yaml:6: probes.cpu.frequncy: unknown key; did you mean 'frequency'?\n");
	load_fails(&(struct input){.yaml = FILES_ON "probes:\n  frequency: 99\n"},
		   "config: t.yaml:5: probes.frequency: unknown key; did you mean "
		   "probes.cpu.frequency?\n");
	load_fails(&(struct input){.yaml = FILES_ON "colour: blue\n"},
		   "config: t.yaml:4: colour: unknown key; valid here: service, targets, probes, "
		   "exporters, symbols, window, flush_timeout, memory_limit, log\n");
	load_fails(&(struct input){.yaml = FILES_ON "environments:\n  dev:\n    windw: 1s\n"},
		   "config: t.yaml:6: windw: unknown key; did you mean 'window'?\n");
}

Test(agent_config, error_wrong_type)
{
	load_fails(&(struct input){.yaml = FILES_ON "window: [1s]\n"},
		   "config: t.yaml:4: window: expected a duration from 1s to 1h (e.g. 500ms, 60s, "
		   "2m), got a list\n");
	load_fails(&(struct input){.yaml = FILES_ON "probes:\n  cpu:\n    enabled: maybe\n"},
		   "config: t.yaml:6: probes.cpu.enabled: expected true or false, got 'maybe'\n");
	load_fails(&(struct input){.yaml = FILES_ON "probes:\n  cpu:\n    frequency: fast\n"},
		   "config: t.yaml:6: probes.cpu.frequency: expected an integer from 1 to 100000, "
		   "got 'fast'\n");
	load_fails(&(struct input){.yaml = FILES_ON "window: 60\n"},
		   "config: t.yaml:4: window: '60' needs a unit (e.g. 60s or 60ms)\n");
	load_fails(&(struct input){.yaml = FILES_ON "memory_limit: lots\n"},
		   "config: t.yaml:4: memory_limit: expected a size from 16MiB to 64GiB (e.g. "
		   "4KiB, 128MiB), got 'lots'\n");
	load_fails(
		&(struct input){.yaml = FILES_ON "probes:\n  cpu:\n    call_graph: dwraf\n"},
		"config: t.yaml:6: probes.cpu.call_graph: expected one of dwarf, fp, got 'dwraf' "
		"(did you mean 'dwarf'?)\n");
	load_fails(&(struct input){.yaml = FILES_ON "probes: 3\n"},
		   "config: t.yaml:4: probes: expected a mapping of keys, got a scalar\n");
	load_fails(
		&(struct input){.yaml = FILES_ON "service:\n  labels: [a]\n"},
		"config: t.yaml:5: service.labels: expected a mapping (KEY: VALUE), got a list\n");
	load_fails(&(struct input){.yaml = FILES_ON "targets:\n  include:\n    pid: [1, [2]]\n"},
		   "config: t.yaml:6: targets.include.pid[1]: expected a list item, got a list\n");
	load_fails(&(struct input){.yaml = "- a\n- b\n"},
		   "config: t.yaml:1: expected a mapping of keys at the top, got a list\n");
}

Test(agent_config, error_out_of_range)
{
	load_fails(
		&(struct input){.yaml = FILES_ON "probes:\n  cpu:\n    frequency: 200000\n"},
		"config: t.yaml:6: probes.cpu.frequency: 200000 is out of range (1 to 100000)\n");
	load_fails(&(struct input){.yaml = FILES_ON "window: 2h\n"},
		   "config: t.yaml:4: window: 2h is out of range (1s to 1h)\n");
	load_fails(&(struct input){.yaml = FILES_ON "memory_limit: 1MiB\n"},
		   "config: t.yaml:4: memory_limit: 1MiB is out of range (16MiB to 64GiB)\n");
	load_fails(
		&(struct input){.yaml = FILES_ON "targets:\n  include:\n    port: [80, 70000]\n"},
		"config: t.yaml:6: targets.include.port[1]: 70000 is out of range (1 to 65535)\n");
	load_fails(&(struct input){.yaml = FILES_ON "probes:\n  cpu:\n    stack_size: 1001B\n"},
		   "config: t.yaml:6: probes.cpu.stack_size: 1001 bytes is not a multiple of 8\n");
}

Test(agent_config, error_bad_values)
{
	load_fails(
		&(struct input){.yaml = FILES_ON "targets:\n  include:\n    cmdline: ['(java']\n"},
		"config: t.yaml:6: targets.include.cmdline[0]: bad regex '(java': Unmatched ( or "
		"\\(\n");
	load_fails(&(struct input){.yaml = FILES_ON "probes:\n  tls:\n    redact: ['']\n"},
		   "config: t.yaml:6: probes.tls.redact[0]: an empty regex matches everything\n");
	load_fails(
		&(struct input){.yaml = FILES_ON "targets:\n  include:\n    comm: "
						 "[gunicorn-worker-1]\n"},
		"config: t.yaml:6: targets.include.comm[0]: 'gunicorn-worker-1' is longer than "
		"the 15 characters the kernel keeps of a command name: use 'gunicorn-worker' or a "
		"glob\n");
	load_fails(
		&(struct input){.yaml = FILES_ON "targets:\n  include:\n    container: [abc]\n"},
		"config: t.yaml:6: targets.include.container[0]: expected 12 to 64 lowercase hex "
		"digits of a container id, got 'abc'\n");
	load_fails(&(struct input){.yaml = FILES_ON "  listen:\n    allow: [10.1.2.3/16]\n"},
		   "config: t.yaml:5: exporters.listen.allow[0]: '10.1.2.3/16' has host bits set: "
		   "did you mean '10.1.0.0/16'?\n");
	load_fails(&(struct input){.yaml = FILES_ON "  statsd:\n    address: nowhere\n"},
		   "config: t.yaml:5: exporters.statsd.address: expected HOST:PORT or :PORT (e.g. "
		   "0.0.0.0:9464), got 'nowhere'\n");
	load_fails(
		&(struct input){.yaml = FILES_ON "  otlp:\n    endpoint: collector\n"},
		"config: t.yaml:5: exporters.otlp.endpoint: expected an http:// or https:// URL, "
		"got 'collector'\n");
	load_fails(&(struct input){.yaml = FILES_ON
				   "service:\n  labels:\n    app.kubernetes.io/name: x\n"},
		   "config: t.yaml:6: service.labels.app.kubernetes.io/name: label name "
		   "'app.kubernetes.io/name' must match [a-zA-Z_][a-zA-Z0-9_]*\n");
	load_fails(
		&(struct input){.yaml = FILES_ON "probes:\n  uprobe:\n    functions: [malloc]\n"},
		"config: t.yaml:6: probes.uprobe.functions[0]: expected TARGET:FUNCTION (e.g. "
		"/usr/bin/myprog:handle_request or libc:malloc), got 'malloc'\n");
}

Test(agent_config, error_unknown_environment)
{
	load_fails(&(struct input){.yaml = envs_yaml, .env = "prod"},
		   "config: t.yaml:17: environments: unknown environment 'prod' (from --env); did "
		   "you mean 'production'?\n");
	load_fails(
		&(struct input){.yaml = envs_yaml, .env = "qa"},
		"config: t.yaml:17: environments: unknown environment 'qa' (from --env); the file "
		"defines dev, production\n");
	load_fails(
		&(struct input){.yaml = FILES_ON, .environ = (char *[]){"SONDE_ENV=dev", NULL}},
		"config: t.yaml:1: environments: unknown environment 'dev' (from SONDE_ENV): the "
		"file defines none\n");
	load_fails(&(struct input){.env = "dev"},
		   "config: environments: environment 'dev' asked for (--env) but no configuration "
		   "file given (--config FILE)\n");
}

Test(agent_config, error_duplicate_key)
{
	load_fails(&(struct input){.yaml = FILES_ON "window: 10s\nprobes: {}\nwindow: 20s\n"},
		   "config: t.yaml:6: window: duplicate key (first at line 4)\n");
	load_fails(&(struct input){.yaml = FILES_ON "service:\n  labels:\n    a: 1\n    a: 2\n"},
		   "config: t.yaml:7: service.labels.a: duplicate key (first at line 6)\n");
	load_fails(&(struct input){.yaml = FILES_ON "environments:\n  dev: {}\n  dev: {}\n"},
		   "config: t.yaml:6: environments.dev: duplicate environment\n");
}

Test(agent_config, error_yaml_syntax)
{
	load_fails(&(struct input){.yaml = "window: 60s\n  bad: 1\n"},
		   "config: t.yaml:2: YAML syntax error: mapping values are not allowed in this "
		   "context, column 6\n");
	load_fails(
		&(struct input){.yaml = "probes:\n  cpu: [\n"},
		"config: t.yaml:3: YAML syntax error: did not find expected node content, column "
		"1 (while parsing a flow node at line 3)\n");
	load_fails(&(struct input){.yaml = "window: \"\xff\"\n"},
		   "config: t.yaml:1: YAML syntax error: invalid leading UTF-8 octet\n");
	load_fails(&(struct input){.yaml = "window: 60s\n---\nwindow: 2s\n"},
		   "config: t.yaml:2: a second YAML document: put everything in one\n");
	load_fails(&(struct input){.yaml = "a: *nothing\n"},
		   "config: t.yaml:1: YAML syntax error: found undefined alias, column 4\n");
}

Test(agent_config, error_variables_and_flags)
{
	static const struct agent_config_flag flags[] = {
		{"probes.cpu.frequency", "abc", "-F"},
		{"no.such.key", "1", "--no.such.key"},
	};
	char *envp[] = {"SONDE_WINDOW=60", "SONDE_PROBES_CPU_FREQ=9", "SONDE_EXPORTERS_X=1",
			"SONDE_BIN=/x",	   "SONDE_CONFIG=/y",	      NULL};

	load_fails(&(struct input){FILES_ON, NULL, flags, 2, envp},
		   "config: env SONDE_WINDOW: window: '60' needs a unit (e.g. 60s or 60ms)\n"
		   "config: env SONDE_PROBES_CPU_FREQ: unknown variable; did you mean "
		   "SONDE_PROBES_CPU_FREQUENCY?\n"
		   "config: env SONDE_EXPORTERS_X: unknown variable (see docs/agent-config.md)\n"
		   "config: flag -F: probes.cpu.frequency: expected an integer from 1 to 100000, "
		   "got 'abc'\n"
		   "config: flag --no.such.key: no.such.key: unknown key\n");
}

Test(agent_config, error_across_keys)
{
	load_fails(&(struct input){.yaml = FILES_ON "probes:\n  uprobe:\n    enabled: true\n"},
		   "config: t.yaml:6: probes.uprobe.enabled: true needs probes.uprobe.functions "
		   "(TARGET:FUNCTION, e.g. libc:malloc)\n");
	load_fails(&(struct input){.yaml = FILES_ON "probes:\n  cpu:\n    enabled: false\n"},
		   "config: t.yaml:6: probes: no probe is enabled (set probes.NAME.enabled: true "
		   "for one of cpu, offcpu, alloc, faults, uprobe, tls)\n");
	load_fails(
		&(struct input){.yaml = "window: 10s\n"},
		"config: t.yaml: exporters: no exporter is enabled: the profiles would go nowhere "
		"(set exporters.NAME.enabled: true for one of listen, otlp, pyroscope, statsd, "
		"files)\n");
	load_fails(
		&(struct input){
			.flags = (struct agent_config_flag[]){{"exporters.otlp.enabled", "true",
							       "--exporters.otlp.enabled"}},
			.nflags = 1},
		"config: flag --exporters.otlp.enabled: exporters.otlp.enabled: true needs "
		"exporters.otlp.endpoint (a URL, e.g. http://collector:4318)\n");
}

/* Every error of a file, in order, each on its own line. */
Test(agent_config, errors_all_reported)
{
	static const char yaml[] = "probes:\n"
				   "  cpu:\n"
				   "    frequncy: 1\n"
				   "    call_graph: x\n"
				   "window: 0s\n"
				   "environments:\n"
				   "  production:\n"
				   "    memory_limit: 1\n";

	load_fails(
		&(struct input){.yaml = yaml, .env = "dev"},
		"config: t.yaml:3: probes.cpu.frequncy: unknown key; did you mean 'frequency'?\n"
		"config: t.yaml:4: probes.cpu.call_graph: expected one of dwarf, fp, got 'x' (did "
		"you mean 'fp'?)\n"
		"config: t.yaml:5: window: 0s is out of range (1s to 1h)\n"
		"config: t.yaml:8: memory_limit: 1 is out of range (16MiB to 64GiB)\n"
		"config: t.yaml:6: environments: unknown environment 'dev' (from --env); the "
		"file defines production\n");
}

Test(agent_config, errors_capped)
{
	char yaml[4096];
	size_t n = 0;
	struct result r;

	for (int i = 0; i < 30; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "bad%d: 1\n", i);
	r = load(&(struct input){.yaml = yaml});
	cr_expect_eq(r.err, -EINVAL);
	/* AGENT_CONFIG_MAX_ERRORS lines, then one saying so. */
	{
		int lines = 0;

		for (const char *p = r.errors; *p; p++)
			lines += *p == '\n';
		cr_expect_eq(lines, AGENT_CONFIG_MAX_ERRORS + 1);
	}
	cr_expect(strstr(r.errors, "config: t.yaml:20: bad19: unknown key"));
	cr_expect(strstr(r.errors, "\nconfig: stopped after 20 errors\n"));
	cr_expect_null(strstr(r.errors, "bad20"));
	result_free(&r);
}

/* Printing */

static char *print(const struct agent_config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_eq(agent_config__print(c, f), 0);
	fclose(f);
	return text;
}

Test(agent_config, print_origins)
{
	static const struct agent_config_flag flags[] = {
		{"probes.cpu.frequency", "44", "-F"},
		{"exporters.otlp.headers", "X-Token=secret", "--otlp-header"},
	};
	char *envp[] = {"SONDE_WINDOW=30s", NULL};
	struct agent_config *c = load_ok(&(struct input){envs_yaml, "production", flags, 2, envp});
	char *text = print(c);
	static const char head[] = "# sonde agent: effective configuration\n"
				   "# file: t.yaml\n"
				   "# environment: production\n"
				   "service:\n"
				   "  name: \"checkout\"                              # t.yaml:2\n";

	cr_expect_eq(strncmp(text, head, strlen(head)), 0, "%s", text);
	cr_expect(strstr(text, "\n  labels:                                       # t.yaml:25 "
			       "(environment production)\n"
			       "    \"team\": \"payments\"                          # t.yaml:4\n"
			       "    \"env\": \"production\"                         # t.yaml:26 "
			       "(environment production)\n"),
		  "%s", text);
	cr_expect(strstr(text, "\n    comm: [\"java\"]                              # t.yaml:29 "
			       "(environment production)\n"));
	cr_expect(strstr(text, "\n    pid: [1, 42]                                # t.yaml:8\n"));
	cr_expect(strstr(text, "\n    frequency: 44                               # flag -F\n"));
	cr_expect(strstr(text, "\n    min_duration: 2500us                        # t.yaml:35 "
			       "(environment production)\n"));
	cr_expect(strstr(text, "\nwindow: 30s                                     # env "
			       "SONDE_WINDOW\n"));
	cr_expect(strstr(text, "\nmemory_limit: 256MiB                            # t.yaml:36 "
			       "(environment production)\n"));
	cr_expect(strstr(text, "\n    headers:                                    # flag "
			       "--otlp-header\n"
			       "      \"X-Token\": \"<redacted>\"                   # flag "
			       "--otlp-header\n"));
	cr_expect_null(strstr(text, "secret"), "header values never print");
	cr_expect(strstr(text, "\nlog:\n  level: warn                                   # default\n"
			       "  format: text                                  # default\n"));
	free(text);
	agent_config__free(c);
}

/* What --check-config prints is a configuration that loads to the same values. */
Test(agent_config, print_reads_back)
{
	char *envp[] = {"SONDE_TARGETS_INCLUDE_CMDLINE=^x\\\\y \"q\"$,b\\,c", NULL};
	struct agent_config *a = load_ok(&(struct input){envs_yaml, "production", NULL, 0, envp});
	char *text = print(a);
	struct agent_config *b = load_ok(&(struct input){.yaml = text});
	const char *keys[8];

	cr_assert_eq(a->targets.include.cmdline.n, 2);
	cr_expect_str_eq(a->targets.include.cmdline.v[0].src, "^x\\y \"q\"$");
	cr_expect_str_eq(a->targets.include.cmdline.v[1].src, "b,c");
	cr_expect_eq(agent_config__diff(a, b, keys, 8), 0, "first differing key: %s", keys[0]);
	free(text);
	agent_config__free(a);
	agent_config__free(b);
}

/*
 * Values YAML must escape to read them back: C1 controls (the fuzzer's
 * "\x81" came out raw and did not load), NEL, the line and paragraph
 * separators, a BOM, the non-characters.
 */
Test(agent_config, print_escapes_what_yaml_cannot_carry)
{
	const char *yaml =
		FILES_ON "service:\n  labels: {a: \"\\x81\\x9f\\N\\L\\P\\uFEFF\\uFFFE\\uFFFFz\"}\n";
	struct agent_config *a = load_ok(&(struct input){.yaml = yaml});
	char *text = print(a);
	struct agent_config *b = load_ok(&(struct input){.yaml = text});
	const char *keys[8];

	cr_assert(strstr(text, "\"a\": \"\\x81\\x9f\\N\\L\\P\\uFEFF\\uFFFE\\uFFFFz\""), "%s", text);
	cr_expect_eq(agent_config__diff(a, b, keys, 8), 0, "first differing key: %s", keys[0]);
	free(text);
	agent_config__free(a);
	agent_config__free(b);
}

/* Bytes that are not UTF-8 cannot be YAML, OTLP or pprof strings: refused where they come in. */
Test(agent_config, error_not_utf8)
{
	static const struct agent_config_flag flags[] = {
		{"service.name",
		 "a\xff"
		 "b",
		 "--service.name"},
		{"service.labels", "k\xc0\x80=v", "--service.labels"},
	};
	char *envp[] = {"SONDE_EXPORTERS_FILES_DIRECTORY=/tmp/\xed\xa0\x80", NULL};

	load_fails(
		&(struct input){FILES_ON, NULL, flags, 2, envp},
		"config: env SONDE_EXPORTERS_FILES_DIRECTORY: exporters.files.directory: not valid "
		"UTF-8\n"
		"config: flag --service.name: service.name: not valid UTF-8\n"
		"config: flag --service.labels: service.labels: not valid UTF-8\n");
}

/* Reloads */

Test(agent_config, reload_keeps_old_on_error)
{
	struct agent_config *old = load_ok(&(struct input){envs_yaml, "production", NULL, 0, NULL});
	char *before = print(old);
	struct result r = load(&(struct input){.yaml = "probes:\n  cpu:\n    frequency: 0\n",
					       .env = "production"});
	char *after;

	cr_expect_eq(r.err, -EINVAL);
	cr_expect_null(r.c);
	after = print(old);
	cr_expect_str_eq(after, before);
	cr_expect_eq(old->probes.cpu.frequency, 22);
	result_free(&r);
	free(before);
	free(after);
	agent_config__free(old);
}

Test(agent_config, reload_diff)
{
	struct agent_config *a = load_ok(&(struct input){envs_yaml, "production", NULL, 0, NULL});
	struct agent_config *b = load_ok(&(struct input){envs_yaml, "dev", NULL, 0, NULL});
	const char *keys[8];
	size_t n = agent_config__diff(a, b, keys, 8);

	cr_assert_eq(n, 7);
	cr_expect_str_eq(keys[0], "service.labels");
	cr_expect_str_eq(keys[1], "targets.include.comm");
	cr_expect_str_eq(keys[2], "probes.cpu.frequency");
	cr_expect_str_eq(keys[3], "probes.offcpu.enabled");
	cr_expect_str_eq(keys[4], "probes.offcpu.min_duration");
	cr_expect_str_eq(keys[5], "window");
	cr_expect_str_eq(keys[6], "memory_limit");
	cr_expect_eq(agent_config__diff(a, a, keys, 8), 0);
	agent_config__free(a);
	agent_config__free(b);
}

/* docs/agent-config.md has a row for every key, with its variable and default. */
Test(agent_config, documented)
{
	char *doc = read_file(source_path("docs/agent-config.md"), NULL);

	cr_assert_not_null(doc);
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		char row[512], env[128];

		agent_config__env_name(k->key, env, sizeof(env));
		snprintf(row, sizeof(row), "| `%s` |", k->key);
		cr_expect(strstr(doc, row), "no row for %s", k->key);
		snprintf(row, sizeof(row), "| `%s` |", env);
		cr_expect(strstr(doc, row), "no variable %s", env);
		if (*k->def && k->type != CFG_REGEXLIST) {
			snprintf(row, sizeof(row), "| `%s` | ", k->def);
			cr_expect(strstr(doc, row), "no default %s of %s", k->def, k->key);
		}
	}
	free(doc);
}

/*
 * A destination given is an exporter on, with the destination's origin;
 * an enabled key set too wins; functions turn the uprobe probe on.
 */
Test(agent_config, destinations_imply_enabled)
{
	static const char yaml[] = "exporters:\n"
				   "  pyroscope:\n"
				   "    url: http://pyro:4040\n"
				   "  statsd:\n"
				   "    address: 127.0.0.1:8125\n"
				   "    enabled: false\n"
				   "probes:\n"
				   "  uprobe:\n"
				   "    functions: [libc:malloc]\n";
	const struct agent_config_flag flags[] = {
		{"exporters.files.directory", "/tmp/w", "--output-dir"}};
	struct agent_config *c =
		load_ok(&(struct input){.yaml = yaml, .flags = flags, .nflags = 1});

	cr_assert(c->exporters.pyroscope.enabled);
	cr_assert_str_eq(origin(c, "exporters.pyroscope.enabled"), "t.yaml:3");
	cr_assert_not(c->exporters.statsd.enabled);
	cr_assert_str_eq(origin(c, "exporters.statsd.enabled"), "t.yaml:6");
	cr_assert(c->exporters.files.enabled);
	cr_assert_str_eq(origin(c, "exporters.files.enabled"), "flag --output-dir");
	cr_assert(c->probes.uprobe.enabled);
	cr_assert_str_eq(origin(c, "probes.uprobe.enabled"), "t.yaml:9");
	cr_assert_not(c->exporters.otlp.enabled);
	cr_assert_str_eq(origin(c, "exporters.otlp.enabled"), "default");
	agent_config__free(c);
}
