/* SPDX-License-Identifier: MIT */
/* UTF-8 validation, for text that must reach a format that requires it. */
#ifndef SONDE_UTF8_H
#define SONDE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The length of the UTF-8 sequence at @s (at most @n bytes; @n >= 1), or
 * 0 when it is not one: a stray continuation byte, a truncated sequence,
 * an overlong form, a surrogate, past U+10FFFF.
 */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* Whether the NUL-terminated @s is valid UTF-8 throughout. */
bool utf8_valid(const char *s);
/*
 * Each byte of @s (@n bytes) that is not part of a valid UTF-8 sequence
 * replaced with '?', in place: for formats whose strings must be UTF-8
 * and whose decoders refuse the whole message otherwise (protobuf's).
 * Returns whether anything was replaced.
 */
bool utf8_scrub(char *s, size_t n);

#endif /* SONDE_UTF8_H */
