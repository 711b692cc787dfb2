// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <string.h>

#include "base/utf8.h"

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	while (left) {
		size_t n = *p < 0x80 ? 1 : utf8_seq_len(p, left);

		if (!n)
			return false;
		p += n;
		left -= n;
	}
	return true;
}

bool utf8_scrub(char *s, size_t n)
{
	unsigned char *p = (unsigned char *)s;
	bool changed = false;

	for (size_t i = 0; i < n;) {
		size_t len;

		if (p[i] < 0x80) { /* the common case, without a call */
			i++;
			continue;
		}
		len = utf8_seq_len(p + i, n - i);
		if (!len) {
			p[i++] = '?';
			changed = true;
			continue;
		}
		i += len;
	}
	return changed;
}
