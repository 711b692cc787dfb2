/* SPDX-License-Identifier: MIT */
/*
 * The loopback LLM server of the tests (fixtures/llm_server.js over a CA
 * made now by fixtures/llm_ca.sh): HTTPS and plaintext HTTP ports, and
 * the environment its clients read (NODE_EXTRA_CA_CERTS, the planted API
 * keys). Shared by the sonde llm and the agent tests.
 */
#ifndef SONDE_TESTS_LLM_SERVER_H
#define SONDE_TESTS_LLM_SERVER_H

#include <sys/types.h>

#define LLM_KEY_OPENAI "sk-proj-PLANTEDsecretKEY0123456789abcdefABCDEF"
#define LLM_KEY_ANTHROPIC "sk-ant-api03-PLANTEDsecretKEY0123456789abcdef"

struct llm_server {
	char dir[512];
	char ca[600], cert[600], key[600];
	int https, http;
	pid_t pid;
};

/* node, or a skip (a failure with CI=true). */
const char *llm_node_bin(void);
/* Start the server (asserts it listens) and set the clients' environment. */
void llm_server_start(struct llm_server *s);
void llm_server_stop(struct llm_server *s);

#endif /* SONDE_TESTS_LLM_SERVER_H */
