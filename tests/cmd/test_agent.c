// SPDX-License-Identifier: MIT
/* `sonde agent`: its option parser, and --check-config end to end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <yaml.h>

#include "cmd/agent.h"
#include "cmd/cli.h"
#include "config/schema.h"
#include "helpers.h"

/* Run sonde agent ARGS from the source tree, so paths print as "deploy/sonde.yaml". */
static int agent_argv(char **out, char **err, const char *const *args)
{
	char *argv[16] = {(char *)sonde_bin(), "agent"};

	for (int i = 0; args[i]; i++)
		argv[i + 2] = (char *)args[i];
	cr_assert_eq(chdir(source_path("")), 0);
	return run_cmd(argv, out, err);
}
#define AGENT(out, err, ...) agent_argv(out, err, (const char *[]){__VA_ARGS__, NULL})

/*
 * stdout on a full disk: --check-config says so and exits 1, as does any
 * command whose output could not be written (sonde --help here).
 */
Test(agent, check_config_to_full_disk_fails)
{
	char cmd[1024], *err = NULL;
	int rc;

	cr_assert_eq(chdir(source_path("")), 0);
	snprintf(cmd, sizeof(cmd),
		 "exec %s agent --config deploy/sonde.yaml --log.format text --check-config "
		 ">/dev/full",
		 sonde_bin());
	rc = run_sh(cmd, NULL, &err);
	cr_expect_eq(rc, 1, "gave %d: %s", rc, err);
	cr_expect_str_eq(err, "sonde: agent: failed to write the configuration to stdout: No space "
			      "left on device\n");
	free(err);
	snprintf(cmd, sizeof(cmd), "exec %s --help >/dev/full", sonde_bin());
	rc = run_sh(cmd, NULL, &err);
	cr_expect_eq(rc, 1, "gave %d: %s", rc, err);
	cr_expect_str_eq(err, "sonde: failed to write to stdout: No space left on device\n");
	free(err);
}

Test(agent, check_config_production)
{
	char *out, *err,
		*want = read_file(source_path("tests/config/check_config_production.txt"), NULL);
	int rc = AGENT(&out, &err, "--config", "deploy/sonde.yaml", "--env", "production",
		       "--check-config");

	cr_assert_not_null(want);
	cr_expect_eq(rc, 0, "stderr: %s", err);
	cr_expect_str_empty(err);
	/* The whole effective configuration, origins included. */
	cr_expect_str_eq(out, want);
	free(out);
	free(err);
	free(want);
}

Test(agent, check_config_every_environment)
{
	static const char *const envs[] = {"dev", "staging", "production"};

	for (size_t i = 0; i < 3; i++) {
		char *out, *err, head[64];
		int rc = AGENT(&out, &err, "-c", "deploy/sonde.yaml", "--env", envs[i],
			       "--check-config");

		snprintf(head, sizeof(head), "# environment: %s\n", envs[i]);
		cr_expect_eq(rc, 0, "%s: %s", envs[i], err);
		cr_expect(strstr(out, head));
		free(out);
		free(err);
	}
}

Test(agent, check_config_error_exits_1)
{
	char *out, *err;
	int rc = AGENT(&out, &err, "-c", "deploy/sonde.yaml", "--env", "prod", "--check-config");

	cr_expect_eq(rc, 1);
	cr_expect_str_empty(out, "nothing half-configured is printed");
	cr_expect_str_eq(err, "sonde: config: deploy/sonde.yaml:88: environments: unknown "
			      "environment 'prod' (from --env); did you mean 'production'?\n");
	free(out);
	free(err);

	rc = AGENT(&out, &err, "-c", "tests/config/no-such.yaml", "--check-config");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(err, "sonde: config: failed to read tests/config/no-such.yaml: No such "
			      "file or directory\n");
	free(out);
	free(err);
}

/* flag > SONDE_* > environment section > base, through the real binary. */
Test(agent, precedence_end_to_end)
{
	char *out, *err;
	int rc;

	cr_assert_eq(setenv("SONDE_PROBES_CPU_FREQUENCY", "333", 1), 0);
	rc = AGENT(&out, &err, "-c", "deploy/sonde.yaml", "--env", "dev", "--check-config", "-F",
		   "444");
	cr_expect_eq(rc, 0, "%s", err);
	cr_expect(strstr(out, "\n    frequency: 444                              # flag -F\n"),
		  "%s", out);
	free(out);
	free(err);

	rc = AGENT(&out, &err, "-c", "deploy/sonde.yaml", "--env", "dev", "--check-config");
	cr_expect_eq(rc, 0, "%s", err);
	cr_expect(strstr(out, "\n    frequency: 333                              # env "
			      "SONDE_PROBES_CPU_FREQUENCY\n"),
		  "%s", out);
	free(out);
	free(err);

	cr_assert_eq(unsetenv("SONDE_PROBES_CPU_FREQUENCY"), 0);
	rc = AGENT(&out, &err, "-c", "deploy/sonde.yaml", "--env", "dev", "--check-config");
	cr_expect(strstr(out, "\n    frequency: 999                              # "
			      "deploy/sonde.yaml:92 (environment dev)\n"),
		  "%s", out);
	free(out);
	free(err);

	rc = AGENT(&out, &err, "-c", "deploy/sonde.yaml", "--check-config");
	cr_expect(strstr(out, "\n    frequency: 99                               # "
			      "deploy/sonde.yaml:33\n"),
		  "%s", out);
	free(out);
	free(err);
}

Test(agent, errors_in_json_when_asked)
{
	char *out, *err;
	int rc;

	cr_assert_eq(setenv("SONDE_LOG_FORMAT", "json", 1), 0);
	rc = AGENT(&out, &err, "-c", "deploy/sonde.yaml", "--window", "2h", "--check-config");
	cr_expect_eq(rc, 1);
	cr_expect(strstr(err, "\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"config: "
			      "flag --window: window: 2h is out of range (1s to 1h)\"}"),
		  "%s", err);
	cr_expect(
		strstr(err, "\"key\":\"sonde.subsystem\",\"value\":{\"stringValue\":\"config\"}"));
	free(out);
	free(err);
}

/* An output directory that cannot be: one line, exit 1, before any probe runs. */
Test(agent, unusable_output_directory)
{
	char *out, *err, dir[512], want[640], *src = realpath(source_path(""), NULL);
	int rc;

	/* A path under a regular file. */
	cr_assert_not_null(src);
	snprintf(dir, sizeof(dir), "%s/README.md/w", src);
	free(src);
	rc = AGENT(&out, &err, "-c", "deploy/sonde.yaml", "--log-format", "text",
		   "--exporters.files.enabled", "--exporters.files.directory", dir);
	snprintf(want, sizeof(want),
		 "sonde: outdir: failed to create directory '%s': Not a directory\n", dir);
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(err, want);
	free(out);
	free(err);
}

/* Each optional capability missing is one line saying what it costs. */
Test(agent, says_which_capability_is_missing)
{
	char *out, *err, dir[512], *src = realpath(source_path(""), NULL);
	int rc;

	if (geteuid()) {
		cr_skip_test("needs root to drop capabilities from");
		return;
	}
	cr_assert_not_null(src);
	snprintf(dir, sizeof(dir), "%s/README.md/w", src);
	free(src);
	char *argv[] = {(char *)find_in_path("setpriv", "/usr/bin/setpriv"),
			"--bounding-set=-sys_ptrace,-syslog",
			(char *)sonde_bin(),
			"agent",
			"-c",
			"deploy/sonde.yaml",
			"--log-format",
			"text",
			"--exporters.files.enabled",
			"--exporters.files.directory",
			dir,
			NULL};
	cr_assert_eq(chdir(source_path("")), 0);
	rc = run_cmd(argv, &out, &err);
	cr_expect_eq(rc, 1, "%s", err);
	cr_expect(strstr(err, "sonde: warn: agent: missing CAP_SYS_PTRACE: processes of other "
			      "users"),
		  "%s", err);
	cr_expect(strstr(err, "sonde: warn: agent: missing CAP_SYSLOG: kernel frames"), "%s", err);
	cr_expect_eq(count_of(err, "missing CAP_"), 2, "%s", err);
	free(out);
	free(err);
}

Test(agent, unknown_option_suggests)
{
	char *out, *err;
	int rc = AGENT(&out, &err, "--probes.cpu.frequncy=5");

	cr_expect_eq(rc, 1);
	cr_expect_str_eq(err, "sonde: agent: unknown option '--probes.cpu.frequncy'; did you "
			      "mean --probes.cpu.frequency?\n");
	free(out);
	free(err);
	rc = AGENT(&out, &err, "--probes.cpu.enabled", "false");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(err, "sonde: agent: unexpected argument 'false' (booleans take "
			      "--KEY=false, not --KEY false)\n");
	free(out);
	free(err);
	rc = AGENT(&out, &err, "--window");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(err, "sonde: agent: option '--window' needs a value (see sonde agent "
			      "--help)\n");
	free(out);
	free(err);
	rc = AGENT(&out, &err, "-e", "cpu,offpcu");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(err, "sonde: agent: -e: unknown probe 'offpcu'; did you mean 'offcpu'?\n");
	free(out);
	free(err);
}

Test(agent, help_lists_every_key)
{
	char *out, *err;
	int rc = AGENT(&out, &err, "--help");

	cr_expect_eq(rc, 0);
	for (size_t i = 0; i < cfg_nkeys; i++)
		cr_expect(strstr(out, cfg_keys[i].key), "--help lacks %s", cfg_keys[i].key);
	cr_expect(strstr(out,
			 "  --probes.cpu.frequency, -F             samples per second per CPU\n"
			 "                                         an integer from 1 to 100000; "
			 "default: 99\n"),
		  "%s", out);
	free(out);
	free(err);
}

#define ARGV(...) ((char *[]){"agent", __VA_ARGS__, NULL})

static int parse(struct agent_args *a, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return cli_parse_agent(argc, argv, a);
}

Test(agent, parser_maps_flags_to_keys)
{
	struct agent_args a;
	char **argv = ARGV("-c", "x.yaml", "--env", "dev", "--check-config", "-F", "5",
			   "--no-probes.cpu.kernel", "--probes.offcpu.enabled", "--listen", ":1",
			   "--exporters.files.enabled=false", "--label", "a=b", "-p", "1,2", "-e",
			   "cpu,tls", "--window=30s");
	static const struct {
		const char *key, *value, *flag;
	} want[] = {
		{"probes.cpu.frequency", "5", "-F"},
		{"probes.cpu.kernel", "false", "--no-probes.cpu.kernel"},
		{"probes.offcpu.enabled", "true", "--probes.offcpu.enabled"},
		{"exporters.listen.address", ":1", "--listen"},
		{"exporters.files.enabled", "false", "--exporters.files.enabled"},
		{"service.labels", "a=b", "--label"},
		{"targets.include.pid", "1,2", "-p"},
		{"probes.cpu.enabled", "true", "-e"},
		{"probes.offcpu.enabled", "false", "-e"},
		{"probes.alloc.enabled", "false", "-e"},
		{"probes.faults.enabled", "false", "-e"},
		{"probes.uprobe.enabled", "false", "-e"},
		{"probes.tls.enabled", "true", "-e"},
		{"window", "30s", "--window"},
	};

	cr_assert_eq(parse(&a, argv), 0);
	cr_expect_str_eq(a.config, "x.yaml");
	cr_expect_str_eq(a.env, "dev");
	cr_expect(a.check_config);
	cr_assert_eq(a.nflags, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < a.nflags; i++) {
		cr_expect_str_eq(a.flags[i].key, want[i].key, "flag %zu", i);
		cr_expect_str_eq(a.flags[i].value, want[i].value, "flag %zu", i);
		cr_expect_str_eq(a.flags[i].flag, want[i].flag, "flag %zu", i);
	}
	agent_args_free(&a);
}

Test(agent, parser_config_from_variable)
{
	struct agent_args a;

	cr_assert_eq(setenv("SONDE_CONFIG", "/etc/sonde/sonde.yaml", 1), 0);
	cr_assert_eq(parse(&a, ARGV("--check-config")), 0);
	cr_expect_str_eq(a.config, "/etc/sonde/sonde.yaml");
	agent_args_free(&a);
	cr_assert_eq(parse(&a, ARGV("-c", "mine.yaml")), 0);
	cr_expect_str_eq(a.config, "mine.yaml");
	agent_args_free(&a);
}

/*
 * The "sonde.yaml: |" block of a ConfigMap in @manifest, dedented into a
 * file of the test's temporary directory; its path.
 */
static const char *configmap_config(const char *manifest, const char *name)
{
	static char path[4096];
	char *text = read_file(source_path(manifest), NULL);
	const char *p;
	FILE *f;

	cr_assert_not_null(text);
	p = strstr(text, "\n  sonde.yaml: |\n");
	cr_assert_not_null(p, "%s has no sonde.yaml ConfigMap entry", manifest);
	p += strlen("\n  sonde.yaml: |\n");
	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	/* The block ends at the first line indented less than 4 (blank lines stay). */
	while (*p && (!strncmp(p, "    ", 4) || *p == '\n')) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (*p == '\n')
			fputc('\n', f);
		else
			fwrite(p + 4, 1, len - 4, f);
		p += len;
	}
	fclose(f);
	free(text);
	return path;
}

/* The ConfigMaps shipped in deploy/kubernetes/ pass --check-config in each environment. */
Test(agent, kubernetes_configmaps_check)
{
	static const struct {
		const char *manifest, *name, *envs[3];
	} maps[] = {
		{"deploy/kubernetes/configmap.yaml",
		 "daemonset.yaml",
		 {"staging", "production", NULL}},
		{"deploy/kubernetes/sidecar.yaml", "sidecar.yaml", {"dev", NULL, NULL}},
	};

	for (size_t i = 0; i < 2; i++) {
		const char *path = configmap_config(maps[i].manifest, maps[i].name);

		for (size_t e = 0; e < 3 && maps[i].envs[e]; e++) {
			char *out, *err, head[64];
			int rc = AGENT(&out, &err, "-c", path, "--env", maps[i].envs[e],
				       "--check-config");

			snprintf(head, sizeof(head), "# environment: %s\n", maps[i].envs[e]);
			cr_expect_eq(rc, 0, "%s --env %s: %s", maps[i].manifest, maps[i].envs[e],
				     err);
			cr_expect(strstr(out, head));
			free(out);
			free(err);
		}
	}
}

/* Every manifest is YAML that libyaml reads to the end (several documents allowed). */
Test(agent, kubernetes_manifests_parse)
{
	static const char *const manifests[] = {
		"deploy/kubernetes/namespace.yaml",
		"deploy/kubernetes/configmap.yaml",
		"deploy/kubernetes/daemonset.yaml",
		"deploy/kubernetes/sidecar.yaml",
	};

	for (size_t i = 0; i < sizeof(manifests) / sizeof(manifests[0]); i++) {
		size_t len;
		char *text = read_file(source_path(manifests[i]), &len);
		yaml_parser_t parser;
		int docs = 0;

		cr_assert_not_null(text);
		cr_assert(yaml_parser_initialize(&parser));
		yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
		for (;;) {
			yaml_document_t doc;
			bool end;

			cr_assert(yaml_parser_load(&parser, &doc), "%s:%zu: %s", manifests[i],
				  parser.problem_mark.line + 1, parser.problem);
			end = !yaml_document_get_root_node(&doc);
			if (!end) {
				yaml_node_t *root = yaml_document_get_root_node(&doc);

				cr_expect_eq(root->type, YAML_MAPPING_NODE, "%s", manifests[i]);
				docs++;
			}
			yaml_document_delete(&doc);
			if (end)
				break;
		}
		cr_expect_geq(docs, 1);
		yaml_parser_delete(&parser);
		free(text);
	}
}
