// SPDX-License-Identifier: MIT
/*
 * libFuzzer entry point of the agent's configuration loader: any bytes as
 * the YAML file, with the "production" environment asked for when the
 * input has environments (so one section is applied, the others checked). Beyond not crashing or
 * leaking, a configuration that loads must print as YAML that loads back
 * to the same values: a round-trip failure aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/agent_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct agent_config *load(const char *text, size_t len, const char *env, FILE *errors)
{
	static char *const no_environ[] = {NULL};
	struct agent_config_input in = {
		.file = "fuzz.yaml",
		.text = text,
		.text_len = len,
		.env = env,
		.environ = no_environ,
		.errors = errors,
	};
	struct agent_config *c = NULL;

	return agent_config__load(&in, &c) ? NULL : c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct agent_config *a, *b;
	const char *keys[4];
	char *text = NULL;
	size_t len = 0, n;
	FILE *m;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	a = load((const char *)data, size,
		 memmem(data, size, "environments", 12) ? "production" : NULL, devnull);
	if (!a)
		return 0;
	m = open_memstream(&text, &len);
	if (!m || agent_config__print(a, m))
		abort();
	fclose(m);
	b = load(text, len, NULL, stderr);
	if (!b) {
		fprintf(stderr, "fuzz: the printed configuration does not load:\n%s\n", text);
		abort();
	}
	/* OTLP header values print redacted: the one expected difference. */
	n = agent_config__diff(a, b, keys, 4);
	if (n > 1 || (n == 1 && strcmp(keys[0], "exporters.otlp.headers"))) {
		fprintf(stderr, "fuzz: %s differs after printing and loading again:\n%s\n", keys[0],
			text);
		abort();
	}
	agent_config__free(b);
	agent_config__free(a);
	free(text);
	return 0;
}
