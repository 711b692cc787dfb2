// SPDX-License-Identifier: MIT
/* sonde llm: LLM API calls through TLS (and plaintext HTTP), with no code change. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/run.h"

static void llm_usage(FILE *f)
{
	fprintf(f,
		"usage: sonde llm [options] (-p PID[,PID...] | -a | -- CMD [ARGS...])\n"
		"\n"
		"Every LLM API call the targets make (OpenAI, Anthropic, Gemini, Ollama and\n"
		"OpenAI-compatible servers), seen through TLS by uprobes on OpenSSL/BoringSSL\n"
		"(libssl, or a program that carries its own, such as node) and as plaintext\n"
		"HTTP on TCP sockets. At the end: calls, errors, tokens in/out/cached, p50/p99\n"
		"duration and p50 time to first chunk per provider and model. Each target gets\n"
		"one line saying which TLS library was probed, or why none could be. No prompt,\n"
		"completion or key leaves sonde unless --capture-content asks (then redacted).\n"
		"\n"
		"targets (exactly one):\n"
		"  -p, --pid PID[,PID...]  running processes\n"
		"  -a, --all-cpus          every process: the system's libssl and every TLS\n"
		"                          file in use, and each new program as it execs\n"
		"  -- CMD [ARGS...]        launch CMD (and follow its children)\n"
		"  -d, --duration SECONDS  stop after this long: 30, 2.5, 500ms, 1m30s (default:\n"
		"                          Ctrl-C or target exit)\n"
		"\n"
		"outputs:\n"
		"      --spans FILE      one JSON span per call (GenAI attributes), '-' stdout\n"
		"  -o, --output FILE     tokens by the code path that sent the request:\n"
		"                        .folded, .svg or .pb.gz with input tokens, and\n"
		"                        FILE.output_tokens.EXT beside it with output tokens\n"
		"\n");
	cli_usage_common(f);
	fprintf(f, "      --ring-size KiB   payload ring buffer, power of two (default 16384)\n"
		   "\n"
		   "examples:\n"
		   "  sonde llm -p 4242 -d 60\n"
		   "  sonde llm -a -d 60\n"
		   "  sonde llm --spans calls.jsonl -- node app.js\n"
		   "  sonde llm -p 4242 --listen 9464 --otlp-endpoint http://collector:4318\n"
		   "  sonde llm -p 4242 -o tokens.svg\n");
}

static const struct cli_command llm_cmd = {
	.name = "llm",
	.default_probes = SESSION_PROBE_TLS,
	.ring_probe = SESSION_PROBE_TLS,
	.usage = llm_usage,
};

int cli_parse_llm(int argc, char **argv, struct session_opts *o)
{
	return cli_parse_session(&llm_cmd, argc, argv, o);
}

int cmd_llm(int argc, char **argv)
{
	struct session_opts o;
	int err;

	err = cli_parse_llm(argc, argv, &o);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	return cmd_run_session(&o);
}
