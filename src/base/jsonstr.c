// SPDX-License-Identifier: MIT
#include <string.h>

#include "base/jsonstr.h"
#include "base/utf8.h"

void json_put_chars(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), i = 0, run = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n = 1;

		if (c >= 0x20 && c != '"' && c != '\\' &&
		    (c < 0x80 || (n = utf8_seq_len(s + i, len - i)))) {
			i += n;
			continue;
		}
		fwrite(s + run, 1, i - run, f);
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputs("\\ufffd", f);
		run = ++i;
	}
	fwrite(s + run, 1, i - run, f);
}

void json_put_string(FILE *f, const char *s)
{
	fputc('"', f);
	if (s)
		json_put_chars(f, s);
	fputc('"', f);
}
