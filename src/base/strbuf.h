/* SPDX-License-Identifier: MIT */
/* Building a line of text in a fixed buffer, piece by piece. */
#ifndef SONDE_BASE_STRBUF_H
#define SONDE_BASE_STRBUF_H

#include <stddef.h>

/*
 * printf @fmt at offset @n of @buf (@len bytes) and return the new offset.
 * Never overflows: once the buffer is full the text is cut and further
 * calls change nothing.
 */
size_t str_append(char *buf, size_t len, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* SONDE_BASE_STRBUF_H */
