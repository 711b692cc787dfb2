/* SPDX-License-Identifier: MIT */
/*
 * Redaction of captured prompt and completion text before it is kept:
 * e-mail addresses, phone numbers, payment card numbers (13-19 digits,
 * spaces or dashes between groups, Luhn-checked), IPv4 and IPv6
 * addresses, secret-looking tokens (sk-..., AKIA/ASIA..., AIza...,
 * ghp_/github_pat_, xoxb-/xoxp-, glpat-, "Bearer <token>"), and extra
 * POSIX extended regular expressions from the configuration. Each match
 * becomes "[REDACTED:<kind>]" (kind: email, phone, card, ipv4, ipv6,
 * secret, pattern). Built-in detectors are hand-written scanners (linear
 * in the text); extra patterns run after them, over the redacted text.
 */
#ifndef SONDE_DECODE_REDACT_H
#define SONDE_DECODE_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "decode/dmem.h"

/* A growing byte buffer whose memory is accounted in @mem (may be NULL). */
struct dbuf {
	struct dmem *mem;
	char *p;
	size_t len, cap;
	size_t limit; /* appends past this many bytes are cut (0 = none) */
	bool cut;
};

/* 0 or -ENOMEM; past the limit the text is cut and dbuf.cut set. */
int dbuf_append(struct dbuf *b, const char *s, size_t n);
void dbuf_free(struct dbuf *b);

struct redactor;

/*
 * @patterns: @n extended regular expressions (may be 0). NULL with errno
 * EINVAL when one does not compile (logged with its index), ENOMEM.
 */
struct redactor *redactor__new(const char *const *patterns, unsigned int n);
void redactor__free(struct redactor *r);

/*
 * Append @in (@len bytes) to @out with every match replaced; returns the
 * number of replacements, or -ENOMEM.
 */
int redactor__apply(const struct redactor *r, const char *in, size_t len, struct dbuf *out);

#endif /* SONDE_DECODE_REDACT_H */
