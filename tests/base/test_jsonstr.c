// SPDX-License-Identifier: MIT
/*
 * JSON strings from bytes that may not be UTF-8, and the UTF-8 check
 * behind them: exact output, read back by python3's json module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/jsonstr.h"
#include "base/utf8.h"
#include "helpers.h"

static char *quoted(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	json_put_string(f, s);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

Test(jsonstr, escapes_and_replaces)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"plain", "\"plain\""},
		{"q\"b\\", "\"q\\\"b\\\\\""},
		{"a\nb\tc\x01\x1f\x7f", "\"a\\nb\\tc\\u0001\\u001f\x7f\""},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5",
		 "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\""},
		/* A stray byte, a truncated sequence, overlong, a surrogate, past U+10FFFF. */
		{"s\xffv", "\"s\\ufffdv\""},
		{"x\xe2\x82", "\"x\\ufffd\\ufffd\""},
		{"\xc0\x80", "\"\\ufffd\\ufffd\""},
		{"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
		{"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
		{"", "\"\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = quoted(cases[i].in);

		cr_expect_str_eq(got, cases[i].want, "case %zu", i);
		free(got);
	}
	{
		char *got = quoted(NULL);

		cr_expect_str_eq(got, "\"\"");
		free(got);
	}
}

/* A sink that takes @room bytes, then fails with -28; what it got. */
struct small_sink {
	char buf[64];
	size_t len, room, calls;
};

static int small_put(void *ctx, const char *p, size_t n)
{
	struct small_sink *k = ctx;

	k->calls++;
	if (k->len + n > k->room)
		return -28;
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	return 0;
}

/* The counted form: a NUL inside is escaped, runs go out whole, a failing sink stops it. */
Test(jsonstr, escape_into_a_sink)
{
	struct small_sink k = {.room = sizeof(k.buf)};

	cr_assert_eq(json_escape("ab\0c\"d", 6, small_put, &k), 0);
	cr_expect_eq(k.len, 12);
	cr_expect_eq(memcmp(k.buf, "ab\\u0000c\\\"d", 12), 0, "%.*s", (int)k.len, k.buf);
	/* "ab", "\u0000", "c", "\"", "d" */
	cr_expect_eq(k.calls, 5);

	memset(&k, 0, sizeof(k));
	k.room = 3;
	cr_expect_eq(json_escape("ab\"cd", 5, small_put, &k), -28);
	cr_expect_eq(k.len, 2);
	cr_expect_eq(k.calls, 2);

	memset(&k, 0, sizeof(k));
	k.room = 1;
	cr_expect_eq(json_escape("", 0, small_put, &k), 0);
	cr_expect_eq(k.calls, 0);
}

/* What comes out is JSON to a strict decoder, whatever the bytes. */
Test(jsonstr, every_byte_pair_decodes)
{
	char path[256], cmd[512], s[3] = {0};
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/pairs.json", test_tmpdir());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputc('[', f);
	for (int a = 1; a < 256; a++)
		for (int b = 1; b < 256; b++) {
			s[0] = (char)a;
			s[1] = (char)b;
			if (a > 1 || b > 1)
				fputc(',', f);
			json_put_string(f, s);
		}
	fputc(']', f);
	cr_assert_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; d=json.load(open(sys.argv[1],encoding=\"utf-8\"));"
		 " assert len(d)==255*255, len(d)' '%s'",
		 path);
	rc = run_sh(cmd, NULL, NULL);
	cr_assert_eq(rc, 0, "python3 could not read %s", path);
}

Test(jsonstr, utf8_valid)
{
	cr_expect(utf8_valid(""));
	cr_expect(utf8_valid("ascii"));
	cr_expect(utf8_valid("\xc2\x81\xef\xbf\xbf\xf4\x8f\xbf\xbf"));
	cr_expect(!utf8_valid("a\xff"));
	cr_expect(!utf8_valid("\xc0\xaf"));
	cr_expect(!utf8_valid("\xe0\x80\xaf"));
	cr_expect(!utf8_valid("\xed\xbf\xbf"));
	cr_expect(!utf8_valid("\xf8\x88\x80\x80\x80"));
	cr_expect(!utf8_valid("\xe2\x82"));
}

Test(jsonstr, utf8_scrub)
{
	char a[] = "ok \xc3\xa9",
	     b[] = "a\xff"
		   "b\xc0\x80"
		   "c\xe2\x82",
	     c[] = "\xf0\x9f\x94\xa5";

	cr_expect(!utf8_scrub(a, strlen(a)));
	cr_expect_str_eq(a, "ok \xc3\xa9");
	cr_expect(utf8_scrub(b, strlen(b)));
	cr_expect_str_eq(b, "a?b??c??");
	/* A cut through a character: the part left is scrubbed. */
	cr_expect(utf8_scrub(c, 3));
	cr_expect_str_eq(c, "???\xa5");
}
