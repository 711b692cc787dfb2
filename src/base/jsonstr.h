/* SPDX-License-Identifier: MIT */
/*
 * JSON string content from bytes that may not be UTF-8 (a target's comm,
 * its symbol names, an operator's variables): JSON requires UTF-8, and a
 * decoder that meets a bad byte drops the whole document.
 */
#ifndef SONDE_JSONSTR_H
#define SONDE_JSONSTR_H

#include <stdio.h>

/*
 * @s escaped for the inside of a JSON string: '"', '\\' and control
 * characters escaped, valid UTF-8 as is, each byte that is not as U+FFFD.
 * Runs of plain bytes go out in one fwrite.
 */
void json_put_chars(FILE *f, const char *s);
/* json_put_chars() between quotes; NULL as "". */
void json_put_string(FILE *f, const char *s);

#endif /* SONDE_JSONSTR_H */
