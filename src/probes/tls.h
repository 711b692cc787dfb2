/* SPDX-License-Identifier: MIT */
/*
 * The tls probe: LLM API calls seen through TLS with no change to the
 * program (bpf/tls.bpf.c). Uprobes on OpenSSL/BoringSSL (a libssl, or an
 * executable with its own copy such as node) and socket syscalls for
 * plaintext HTTP copy what a connection wrote and read; the LLM decoder
 * (src/decode/) turns it into calls; the probe keeps a table per provider
 * and model, GenAI metrics and spans, and with -o a profile of tokens by
 * the stack that sent each request.
 */
#ifndef SONDE_PROBES_TLS_H
#define SONDE_PROBES_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "probes/probe.h"

#define TLS_REDACT_MAX 16

struct tls_opts {
	unsigned int ring_kib;	      /* --ring-size (default 16384) */
	unsigned int max_connections; /* --max-connections: in BPF and in the decoder */
	unsigned int max_threads;     /* threads mid-call at once */
	bool plaintext;		      /* socket syscalls (default on; --no-plaintext) */
	/* Content (--capture-content): redacted unless disable_redaction. */
	bool capture_content;
	const char *redact[TLS_REDACT_MAX]; /* --redact ERE, repeatable */
	unsigned int nredact;
	unsigned int content_max; /* --content-max BYTES per call and direction (0: 65536) */
	/*
	 * Tokens by call site (-o): a user stack at each request's write,
	 * unwound like the cpu probe's (its --call-graph and --stack-size).
	 */
	bool stacks;
	bool dwarf;
	unsigned int stack_size;
};

void tls_opts_default(struct tls_opts *o);

extern const struct probe_ops tls_probe_ops;

#endif /* SONDE_PROBES_TLS_H */
