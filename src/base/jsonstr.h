/* SPDX-License-Identifier: MIT */
/*
 * JSON string content from bytes that may not be UTF-8 (a target's comm,
 * its symbol names, an operator's variables, a model's reply): JSON
 * requires UTF-8, and a decoder that meets a bad byte drops the whole
 * document.
 */
#ifndef SONDE_JSONSTR_H
#define SONDE_JSONSTR_H

#include <stddef.h>
#include <stdio.h>

/* Where escaped text goes: append @n bytes at @p; non-zero stops the escape. */
typedef int (*json_sink)(void *ctx, const char *p, size_t n);

/*
 * @len bytes at @s escaped for the inside of a JSON string into @put: '"',
 * '\\' and control characters escaped, valid UTF-8 as is, each byte that is
 * not as U+FFFD; a run of plain bytes in one call. 0, or what @put returned.
 */
int json_escape(const char *s, size_t len, json_sink put, void *ctx);
/* json_escape() of the string @s to @f. */
void json_put_chars(FILE *f, const char *s);
/* json_put_chars() between quotes; NULL as "". */
void json_put_string(FILE *f, const char *s);

#endif /* SONDE_JSONSTR_H */
