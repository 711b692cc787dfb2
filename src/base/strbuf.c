// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "base/strbuf.h"

size_t str_append(char *buf, size_t len, size_t n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (n >= len)
		return n;
	va_start(ap, fmt);
	w = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (w < 0)
		return n;
	return n + (size_t)w < len ? n + (size_t)w : len;
}
