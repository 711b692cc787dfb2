// SPDX-License-Identifier: MIT
/* Redaction detectors: what each one replaces and what it leaves alone. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "decode/redact.h"

static char out[4096];

static const char *red(const struct redactor *r, const char *in, int want_count)
{
	struct dbuf b = {0};
	int n = redactor__apply(r, in, strlen(in), &b);

	cr_assert_eq(n, want_count, "%d replacements in \"%s\" -> \"%s\"", n, in, b.p ? b.p : "");
	snprintf(out, sizeof(out), "%s", b.p ? b.p : "");
	dbuf_free(&b);
	return out;
}

Test(redact, builtins)
{
	struct redactor *r = redactor__new(NULL, 0);

	cr_assert_str_eq(red(r, "mail jane.doe+x@mail.example.co.uk now", 1),
			 "mail [REDACTED:email] now");
	cr_assert_str_eq(red(r, "a@b is no address, nor is x@y.z1", 0),
			 "a@b is no address, nor is x@y.z1");
	cr_assert_str_eq(red(r, "call +44 20 7946 0958 or (415) 555-0132 or 415.555.0132", 3),
			 "call [REDACTED:phone] or [REDACTED:phone] or [REDACTED:phone]");
	cr_assert_str_eq(red(r, "order 2024-01-15 count 1234567890 v1.2.3", 0),
			 "order 2024-01-15 count 1234567890 v1.2.3");
	/* Luhn-valid numbers only. */
	cr_assert_str_eq(
		red(r, "card 4111-1111-1111-1111 or 5500 0000 0000 0004 not 4111111111111112", 2),
		"card [REDACTED:card] or [REDACTED:card] not 4111111111111112");
	cr_assert_str_eq(red(r, "from 192.168.10.254 to 10.0.0.1:8080, not 1.2.3 or 999.1.1.1", 2),
			 "from [REDACTED:ipv4] to [REDACTED:ipv4]:8080, not 1.2.3 or 999.1.1.1");
	cr_assert_str_eq(
		red(r, "v6 2001:db8::8a2e:370:7334 and ::1 and fe80:0:0:0:0:0:0:1 at 12:30:45", 3),
		"v6 [REDACTED:ipv6] and [REDACTED:ipv6] and [REDACTED:ipv6] at 12:30:45");
	cr_assert_str_eq(red(r, "mapped ::ffff:192.0.2.1 ok", 1), "mapped [REDACTED:ipv6] ok");
	cr_assert_str_eq(red(r,
			     "keys sk-proj-Zq8XvT3bLbkFJ4mW9pN2 AKIAIOSFODNN7EXAMPLE "
			     "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
			     3),
			 "keys [REDACTED:secret] [REDACTED:secret] [REDACTED:secret]");
	cr_assert_str_eq(
		red(r, "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", 1),
		"Authorization: [REDACTED:secret]");
	cr_assert_str_eq(red(r, "task-list and sk-short and ask-me-anything-please-now", 0),
			 "task-list and sk-short and ask-me-anything-please-now");
	redactor__free(r);
}

Test(redact, extra_patterns_and_nul_bytes)
{
	static const char *const pats[] = {"EMP[0-9]{6}", "x*"};
	struct redactor *r = redactor__new(pats, 2);
	struct dbuf b = {0};
	const char in[] = "id EMP123456 then\0EMP654321 end";

	cr_assert_not_null(r);
	/* An empty-matching pattern changes nothing; NUL bytes do not hide text. */
	cr_assert_eq(redactor__apply(r, in, sizeof(in) - 1, &b), 2);
	cr_assert_eq(b.len, 49, "%zu", b.len);
	cr_assert_eq(memcmp(b.p, "id [REDACTED:pattern] then\0[REDACTED:pattern] end", 49), 0);
	dbuf_free(&b);
	redactor__free(r);
}

Test(redact, dbuf_limit_cuts)
{
	struct dbuf b = {.limit = 5};

	cr_assert_eq(dbuf_append(&b, "abc", 3), 0);
	cr_assert_eq(dbuf_append(&b, "defg", 4), 0);
	cr_assert_str_eq(b.p, "abcde");
	cr_assert(b.cut);
	dbuf_free(&b);
}
