// SPDX-License-Identifier: MIT
/*
 * sonde agent: continuous profiling as a sidecar or DaemonSet. This file
 * parses the options into configuration flags, loads the configuration
 * (config/agent_config.h) and, with --check-config, prints it. The run
 * loop is agent_run().
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/outfile.h"
#include "base/suggest.h"
#include "cmd/agent.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "config/schema.h"

/* getopt values: the agent's own options, then two per key (set, --no-). */
enum {
	OPT_ENV = 256,
	OPT_CHECK_CONFIG,
	OPT_KEY_BASE = 1024,
};

static const char *const probe_names[] = {"cpu", "offcpu", "alloc", "faults", "uprobe", "tls"};
#define NPROBES (sizeof(probe_names) / sizeof(probe_names[0]))

static void agent_usage(FILE *f)
{
	fprintf(f,
		"usage: sonde agent [--config FILE] [--env NAME] [--check-config] [--KEY "
		"VALUE...]\n"
		"\n"
		"Profile continuously as a sidecar or a DaemonSet: find the targets, run the\n"
		"enabled probes, cut a window of profiles every 'window' and export it. The\n"
		"configuration is one YAML file with a base and per-environment sections\n"
		"(docs/agent-config.md); precedence: flag > SONDE_* variable > environment\n"
		"section > base > default.\n"
		"\n"
		"options:\n"
		"  -c, --config FILE      the configuration file (default: $SONDE_CONFIG, or "
		"none)\n"
		"      --env NAME         apply the file's environments.NAME (default: "
		"$SONDE_ENV)\n"
		"      --check-config     print the effective configuration, each value with "
		"where\n"
		"                         it came from, and exit: 0 if valid, 1 if not\n"
		"  -e, --probe LIST       enable exactly these probes: cpu,offcpu,alloc,faults,\n"
		"                         uprobe,tls\n"
		"  -h, --help\n"
		"\n"
		"Every key is a flag --KEY VALUE (or --KEY=VALUE) and a variable SONDE_KEY, in\n"
		"capitals with dots as underscores. Booleans: --KEY, --KEY=false, --no-KEY.\n"
		"Lists and mappings: repeat the flag, or separate with commas (\\, for a comma).\n"
		"\n");
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		char desc[160], name[128];

		cfg_describe(k, desc, sizeof(desc));
		snprintf(name, sizeof(name), "--%s%s%s", k->key, k->alias ? ", " : "",
			 k->alias ? k->alias : "");
		fprintf(f, "  %-38s %s\n  %-38s %s; default: %s\n", name, k->help, "", desc,
			*k->def ? k->def : "none");
	}
	fprintf(f,
		"\n"
		"examples:\n"
		"  sonde agent --config /etc/sonde/sonde.yaml --env production --check-config\n"
		"  sonde agent -c sonde.yaml --env dev -F 999 --exporters.files.enabled\n"
		"  SONDE_ENV=staging SONDE_PROBES_OFFCPU_ENABLED=true sonde agent -c sonde.yaml\n");
}

/* The spelling a flag is reported by ("--probes.cpu.frequency", "-F"). */
static const char *spell(struct agent_args *a, const char *prefix, const char *name)
{
	char **grown = realloc(a->spelled, (a->nspelled + 1) * sizeof(*grown));

	if (!grown)
		return NULL;
	a->spelled = grown;
	if (asprintf(&a->spelled[a->nspelled], "%s%s", prefix, name) < 0)
		return NULL;
	return a->spelled[a->nspelled++];
}

static int add_flag(struct agent_args *a, const char *key, const char *value, const char *flag)
{
	struct agent_config_flag *grown;

	if (!flag)
		return -ENOMEM;
	grown = realloc(a->flags, (a->nflags + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	a->flags = grown;
	a->flags[a->nflags++] = (struct agent_config_flag){key, value, flag};
	return 0;
}

/* -e cpu,alloc: those probes on, every other one off. */
static int add_probes(struct agent_args *a, const char *list)
{
	bool on[NPROBES] = {false};
	char *copy = strdup(list), *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (char *name = strtok_r(copy, ",", &save); name && !err;
	     name = strtok_r(NULL, ",", &save)) {
		const char *best[1];
		size_t i;

		for (i = 0; i < NPROBES && strcmp(probe_names[i], name); i++)
			;
		if (i < NPROBES) {
			on[i] = true;
			continue;
		}
		if (suggest_closest(probe_names, NPROBES, name, best, 1))
			log_err("agent: -e: unknown probe '%s'; did you mean '%s'?", name, best[0]);
		else
			log_err("agent: -e: unknown probe '%s' (probes: cpu, offcpu, alloc, "
				"faults, "
				"uprobe, tls)",
				name);
		err = -EINVAL;
	}
	free(copy);
	for (size_t i = 0; i < NPROBES && !err; i++) {
		char key[64];
		const struct cfg_key *k;

		snprintf(key, sizeof(key), "probes.%s.enabled", probe_names[i]);
		k = cfg_key_find(key);
		err = k ? add_flag(a, k->key, on[i] ? "true" : "false", "-e") : -EINVAL;
	}
	return err;
}

/* Unknown --option: one line, with the closest option when there is one. */
static void report_unknown(const struct option *opts, size_t nopts, const char *arg)
{
	const char **names = calloc(nopts, sizeof(*names)), *best[1];
	size_t len = strcspn(arg, "=");
	char *name = strndup(arg, len);

	if (names && name && !strncmp(name, "--", 2)) {
		for (size_t i = 0; i < nopts; i++)
			names[i] = opts[i].name;
		if (suggest_closest(names, nopts, name + 2, best, 1)) {
			log_err("agent: unknown option '%s'; did you mean --%s?", name, best[0]);
			goto out;
		}
	}
	log_err("agent: unknown option '%s' (see sonde agent --help)", name ? name : arg);
out:
	free(names);
	free(name);
}

/* The long options: the agent's, one per key (two per boolean), the aliases. */
static struct option *build_options(struct agent_args *a, size_t *n)
{
	static const struct option own[] = {
		{"config", required_argument, NULL, 'c'},
		{"env", required_argument, NULL, OPT_ENV},
		{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
		{"probe", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
	};
	size_t nown = sizeof(own) / sizeof(own[0]), cap = nown + 3 * cfg_nkeys + 1, i = nown;
	struct option *opts = calloc(cap, sizeof(*opts));

	if (!opts)
		return NULL;
	memcpy(opts, own, sizeof(own));
	for (size_t k = 0; k < cfg_nkeys; k++) {
		const struct cfg_key *key = &cfg_keys[k];
		bool is_bool = key->type == CFG_BOOL;
		int val = OPT_KEY_BASE + 2 * (int)k;

		opts[i++] = (struct option){
			key->key, is_bool ? optional_argument : required_argument, NULL, val};
		if (is_bool) {
			const char *no = spell(a, "no-", key->key);

			if (!no)
				goto err_free;
			opts[i++] = (struct option){no, no_argument, NULL, val + 1};
		}
		if (key->alias && !strncmp(key->alias, "--", 2))
			opts[i++] = (struct option){key->alias + 2,
						    is_bool ? optional_argument : required_argument,
						    NULL, val};
	}
	*n = i;
	return opts;

err_free:
	free(opts);
	return NULL;
}

/* The short options: the agent's and the keys' one-letter aliases. */
static void build_shortopts(char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "+:c:e:h");

	for (size_t k = 0; k < cfg_nkeys && n + 3 < len; k++) {
		const char *alias = cfg_keys[k].alias;

		if (alias && alias[0] == '-' && alias[1] != '-') {
			buf[n++] = alias[1];
			buf[n++] = ':';
		}
	}
	buf[n] = '\0';
}

static const struct cfg_key *short_alias(int c)
{
	for (size_t k = 0; k < cfg_nkeys; k++) {
		const char *alias = cfg_keys[k].alias;

		if (alias && alias[0] == '-' && alias[1] == c && !alias[2])
			return &cfg_keys[k];
	}
	return NULL;
}

/* A key's flag seen: its value (booleans: "true" without one), as spelled. */
static int key_flag(struct agent_args *a, int c, const struct option *opt)
{
	const struct cfg_key *k = &cfg_keys[(c - OPT_KEY_BASE) / 2];
	const char *spelled = spell(a, "--", opt->name);

	if ((c - OPT_KEY_BASE) % 2)
		return add_flag(a, k->key, "false", spelled);
	return add_flag(a, k->key, optarg ? optarg : "true", spelled);
}

int cli_parse_agent(int argc, char **argv, struct agent_args *a)
{
	char shortopts[64];
	struct option *opts;
	size_t nopts = 0;
	int c, longindex, err = 0;

	memset(a, 0, sizeof(*a));
	opts = build_options(a, &nopts);
	if (!opts)
		return -ENOMEM;
	build_shortopts(shortopts, sizeof(shortopts));
	optind = 0; /* glibc: full reset, so the parser can run more than once */
	opterr = 0;
	while (!err && (c = getopt_long(argc, argv, shortopts, opts, &longindex)) != -1) {
		const struct cfg_key *k;
		char s[3] = {'-', (char)c, '\0'};

		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case OPT_ENV:
			a->env = optarg;
			break;
		case OPT_CHECK_CONFIG:
			a->check_config = true;
			break;
		case 'e':
			err = add_probes(a, optarg);
			break;
		case 'h':
			agent_usage(stdout);
			err = CLI_EXIT_HELP;
			break;
		case ':':
			log_err("agent: option '%s' needs a value (see sonde agent --help)",
				argv[optind - 1]);
			err = -EINVAL;
			break;
		case '?':
			if (optopt && optopt < 256)
				log_err("agent: unknown option '-%c' (see sonde agent --help)",
					optopt);
			else
				report_unknown(opts, nopts, argv[optind - 1]);
			err = -EINVAL;
			break;
		default:
			if (c >= OPT_KEY_BASE) {
				err = key_flag(a, c, &opts[longindex]);
				break;
			}
			k = short_alias(c);
			err = k ? add_flag(a, k->key, optarg, spell(a, "", s)) : -EINVAL;
			break;
		}
	}
	if (!err && optind < argc) {
		log_err("agent: unexpected argument '%s' (booleans take --KEY=false, not --KEY "
			"false)",
			argv[optind]);
		err = -EINVAL;
	}
	if (!err && !a->config) {
		const char *env = getenv("SONDE_CONFIG");

		a->config = env && *env ? env : NULL;
	}
	free(opts);
	if (err)
		agent_args_free(a);
	return err;
}

void agent_args_free(struct agent_args *a)
{
	for (size_t i = 0; i < a->nspelled; i++)
		free(a->spelled[i]);
	free(a->spelled);
	free(a->flags);
	memset(a, 0, sizeof(*a));
}

/*
 * The agent's log format before its configuration is read, so that the
 * configuration's own errors come in it: --log-format / SONDE_LOG_FORMAT.
 */
static void early_log_format(const struct agent_args *a)
{
	const char *fmt = getenv("SONDE_LOG_FORMAT");
	enum log_format f;

	for (size_t i = 0; i < a->nflags; i++)
		if (!strcmp(a->flags[i].key, "log.format"))
			fmt = a->flags[i].value;
	if (fmt && !log_parse_format(fmt, &f))
		log_set_format(f);
}

int cmd_agent(int argc, char **argv)
{
	struct agent_config_input in = {0};
	struct agent_config *cfg = NULL;
	struct agent_args a;
	int err;

	err = cli_parse_agent(argc, argv, &a);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	early_log_format(&a);
	in.file = a.config;
	in.env = a.env;
	in.flags = a.flags;
	in.nflags = a.nflags;
	err = agent_config__load(&in, &cfg);
	if (err)
		goto out;
	log_set_format(cfg->log.format);
	log_set_level(cfg->log.level);
	if (a.check_config) {
		err = agent_config__print(cfg, stdout);
		if (stream_reader_gone(stdout, err)) /* | head */
			err = 0;
		else if (err)
			log_err("agent: failed to write the configuration to stdout: %s",
				strerror(-err));
	} else
		err = agent_run(&a, &cfg);
out:
	agent_config__free(cfg);
	agent_args_free(&a);
	return err;
}
