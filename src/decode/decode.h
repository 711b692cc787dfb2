/* SPDX-License-Identifier: MIT */
/*
 * The LLM call decoder: captured connection bytes in, completed LLM call
 * records out. Pure userspace, no BPF: the `tls` probe (SSL_write/
 * SSL_read uprobes, or socket syscalls for plaintext) hands over what it
 * copied, and this library reassembles HTTP/1.1 or HTTP/2 per connection,
 * reads SSE/NDJSON/JSON bodies incrementally, recognises the provider and
 * fills a struct llm_call (model/llm.h) per request/response exchange.
 *
 * Input, per connection (identity: pid + conn_id, e.g. the SSL * or the
 * socket's inode/cookie; tid is carried per chunk and names the thread
 * that wrote a request, since a pooled connection may move between
 * threads):
 *   __open   a new connection (optional: data for an unknown connection
 *            opens it, as when sonde attached while it was in use)
 *   __data   bytes in stream order for one direction: LLM_DIR_WRITE is
 *            what the process sent (the request side), LLM_DIR_READ what
 *            it received; ts_ns is CLOCK_MONOTONIC when they were
 *            captured (SSL_write entry / SSL_read return)
 *   __gap    n bytes of that direction could not be copied (the probe's
 *            copy limit, a lost ring record): counted, skipped where the
 *            framing allows it, else the connection resynchronises at
 *            the next message start
 *   __close  the connection ended (a read-until-close response ends here)
 * A direction's chunks must come in order; the two directions interleave
 * freely (the request/response order comes from the protocol).
 *
 * Output: the callback gets each completed LLM call, synchronously from
 * the call that completed it (a response end, a close, __expire,
 * __flush). The record is the decoder's: copy what you keep.
 * Exchanges that are not LLM API calls are parsed for framing only and
 * counted. Calls cut short (a gap, a reset, a close, a limit) are still
 * reported with what was parsed and the reason in llm_call.unparsed.
 *
 * Privacy: credential headers and key= parameters are dropped by the
 * parsers (http1.h); nothing is logged from payloads at any level; prompt
 * and completion text is kept only with capture_content, and redacted
 * (redact.h) unless disable_redaction.
 *
 * Bounds (options; 0 = default): max_connections (4096) live connections,
 * max_exchanges (64) requests outstanding per HTTP/1.1 connection or open
 * streams per HTTP/2 connection, max_conn_memory (4 MiB) per connection,
 * idle_timeout_ns (300 s) without bytes before __expire drops a
 * connection, max_message_bytes (4096) per captured message,
 * max_content_bytes (65536) per call and direction. Each limit hit is
 * counted in struct llm_decoder_stats.
 */
#ifndef SONDE_DECODE_DECODE_H
#define SONDE_DECODE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/llm.h"

enum llm_dir {
	LLM_DIR_WRITE = 0, /* sent by the process: requests */
	LLM_DIR_READ = 1,  /* received: responses */
};

struct llm_chunk {
	uint32_t pid, tid;
	uint64_t conn_id;
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
	enum llm_dir dir;
};

struct llm_decoder_opts {
	bool capture_content;
	bool disable_redaction;
	const char *const *redact_patterns; /* extra POSIX EREs */
	unsigned int n_redact_patterns;
	size_t max_message_bytes;
	size_t max_content_bytes;
	unsigned int max_connections;
	unsigned int max_exchanges;
	size_t max_conn_memory;
	uint64_t idle_timeout_ns;
};

struct llm_decoder_stats {
	uint64_t conns_opened, conns_closed, conns_expired;
	uint64_t conns_rejected; /* max_connections */
	uint64_t conns_active;
	uint64_t conns_http1, conns_http2, conns_other;
	uint64_t bytes;		    /* payload bytes fed */
	uint64_t gap_bytes;	    /* bytes reported not copied */
	uint64_t ignored_bytes;	    /* not HTTP, or after a loss until resynchronised */
	uint64_t calls;		    /* LLM calls reported */
	uint64_t calls_incomplete;  /* ... with some llm_call.unparsed bit */
	uint64_t http_other;	    /* exchanges that were not LLM calls */
	uint64_t exchanges_dropped; /* max_exchanges, or a response without request */
	uint64_t protocol_errors;   /* framing lost (HTTP/1.1 or HTTP/2) */
	uint64_t conn_memory_limit; /* connections cut at max_conn_memory */
	uint64_t strings_truncated; /* JSON strings cut at the extractor's bound */
	uint64_t content_truncated; /* captured messages cut or dropped at the caps */
	uint64_t redactions;
	size_t mem_used, mem_peak; /* all connections' accounted memory */
	size_t conn_mem_peak;	   /* the most one connection ever held */
};

typedef void (*llm_call_fn)(const struct llm_call *call, void *ctx);

struct llm_decoder;

/* NULL on error with errno: EINVAL (a redaction pattern), ENOMEM. */
struct llm_decoder *llm_decoder__new(const struct llm_decoder_opts *opts, llm_call_fn cb,
				     void *ctx);
/* Frees everything without reporting what is in flight (see __flush). */
void llm_decoder__free(struct llm_decoder *d);

/* 0, or -ENOSPC when max_connections is reached (counted). */
int llm_decoder__open(struct llm_decoder *d, const struct llm_chunk *c);
int llm_decoder__data(struct llm_decoder *d, const struct llm_chunk *c, const void *buf,
		      size_t len);
int llm_decoder__gap(struct llm_decoder *d, const struct llm_chunk *c, uint64_t n);
/* 0 or -ENOENT. */
int llm_decoder__close(struct llm_decoder *d, const struct llm_chunk *c);
/* Every connection of @pid (the process exited). Returns how many. */
unsigned int llm_decoder__close_pid(struct llm_decoder *d, uint32_t pid, uint64_t ts_ns);
/* Drop connections idle since before @now_ns - idle_timeout. Returns how many. */
unsigned int llm_decoder__expire(struct llm_decoder *d, uint64_t now_ns);
/* Close every connection (the end of a run): calls in flight are reported. */
void llm_decoder__flush(struct llm_decoder *d, uint64_t ts_ns);

void llm_decoder__stats(const struct llm_decoder *d, struct llm_decoder_stats *s);
/* Accounted memory of one connection (0 if unknown). */
size_t llm_decoder__conn_memory(const struct llm_decoder *d, uint32_t pid, uint64_t conn_id);

#endif /* SONDE_DECODE_DECODE_H */
