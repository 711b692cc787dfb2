// SPDX-License-Identifier: MIT
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "llm_server.h"

const char *llm_node_bin(void)
{
	const char *n = find_in_path("node", "/usr/bin/node");

	if (!n)
		skip_or_fail("node");
	return n;
}

void llm_server_start(struct llm_server *s)
{
	char script[700], js[700], out[700], *text = NULL;
	char *ca[] = {"/bin/sh", script, s->dir, NULL};
	char *argv[] = {(char *)llm_node_bin(), js, s->cert, s->key, NULL};

	snprintf(script, sizeof(script), "%s", source_path("tests/fixtures/llm_ca.sh"));
	snprintf(s->dir, sizeof(s->dir), "%s/ca", test_tmpdir());
	if (access("/usr/bin/openssl", X_OK))
		skip_or_fail("openssl");
	cr_assert_eq(run_cmd(ca, NULL, NULL), 0, "llm_ca.sh failed");
	snprintf(s->ca, sizeof(s->ca), "%s/ca.pem", s->dir);
	snprintf(s->cert, sizeof(s->cert), "%s/server.pem", s->dir);
	snprintf(s->key, sizeof(s->key), "%s/server.key", s->dir);
	snprintf(js, sizeof(js), "%s", source_path("tests/fixtures/llm_server.js"));
	snprintf(out, sizeof(out), "%s/server.out", test_tmpdir());
	s->pid = spawn(argv, out, tmp_path("server.err"));
	for (int i = 0; i < 200; i++) {
		free(text);
		text = read_file(out, NULL);
		if (text && sscanf(text, "{\"https\":%d,\"http\":%d}", &s->https, &s->http) == 2)
			break;
		usleep(50000);
	}
	free(text);
	cr_assert_gt(s->https, 0, "the LLM server did not start: %s", tmp_path("server.err"));
	setenv("NODE_EXTRA_CA_CERTS", s->ca, 1);
	setenv("OPENAI_API_KEY", LLM_KEY_OPENAI, 1);
	setenv("ANTHROPIC_API_KEY", LLM_KEY_ANTHROPIC, 1);
	unsetenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
}

void llm_server_stop(struct llm_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}
