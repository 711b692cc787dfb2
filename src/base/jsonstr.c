// SPDX-License-Identifier: MIT
#include <string.h>

#include "base/jsonstr.h"
#include "base/utf8.h"

int json_escape(const char *str, size_t len, json_sink put, void *ctx)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;
	int err;

	while (i < len) {
		unsigned char c = s[i];
		char esc[8];
		size_t n = 1;

		if (c >= 0x20 && c != '"' && c != '\\' &&
		    (c < 0x80 || (n = utf8_seq_len(s + i, len - i)))) {
			i += n;
			continue;
		}
		if (i > run && (err = put(ctx, str + run, i - run)))
			return err;
		if (c == '"' || c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n')
			n = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\t')
			n = (size_t)snprintf(esc, sizeof(esc), "\\t");
		else if (c < 0x20)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		else
			n = (size_t)snprintf(esc, sizeof(esc), "\\ufffd");
		if ((err = put(ctx, esc, n)))
			return err;
		run = ++i;
	}
	return i > run ? put(ctx, str + run, i - run) : 0;
}

static int file_sink(void *ctx, const char *p, size_t n)
{
	fwrite(p, 1, n, ctx);
	return 0;
}

void json_put_chars(FILE *f, const char *s)
{
	json_escape(s, strlen(s), file_sink, f);
}

void json_put_string(FILE *f, const char *s)
{
	fputc('"', f);
	if (s)
		json_put_chars(f, s);
	fputc('"', f);
}
