// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/strpool.h"

Test(strpool, equal_strings_share_one_copy_and_id)
{
	struct strpool *sp = strpool__new();
	char buf[] = "main";
	const char *a, *b, *c;

	cr_assert_not_null(sp);
	cr_assert_eq(strpool__intern(sp, buf, &a), 0);
	cr_assert_eq(strpool__intern(sp, "other", &b), 1);
	cr_assert_eq(strpool__intern(sp, "main", &c), 0);
	cr_assert_eq(a, c);
	cr_assert_neq(a, buf);
	buf[0] = 'X';
	cr_assert_str_eq(a, "main");
	cr_assert_str_eq(strpool__str(sp, 1), "other");
	cr_assert_null(strpool__str(sp, 2));
	cr_assert_eq(strpool__count(sp), 2);
	strpool__free(sp);
	strpool__free(NULL);
}

Test(strpool, intern_n_uses_only_len_bytes)
{
	struct strpool *sp = strpool__new();
	const char *s;

	cr_assert_eq(strpool__intern_n(sp, "abcdef", 3, &s), 0);
	cr_assert_str_eq(s, "abc");
	cr_assert_eq(strpool__intern(sp, "abc", NULL), 0);
	cr_assert_eq(strpool__intern_n(sp, "", 0, &s), 1);
	cr_assert_str_eq(s, "");
	strpool__free(sp);
}

Test(strpool, many_and_oversized_strings_stay_put)
{
	struct strpool *sp = strpool__new();
	static char big[100000];
	const char *first, *s;
	char name[32];
	int i;

	cr_assert_eq(strpool__intern(sp, "first", &first), 0);
	for (i = 0; i < 50000; i++) {
		snprintf(name, sizeof(name), "fn_%d", i);
		cr_assert_eq(strpool__intern(sp, name, NULL), i + 1);
	}
	memset(big, 'x', sizeof(big) - 1);
	cr_assert_eq(strpool__intern(sp, big, &s), 50001);
	cr_assert_eq(strlen(s), sizeof(big) - 1);
	cr_assert_eq(strpool__intern(sp, "fn_12345", NULL), 12346);
	cr_assert_str_eq(first, "first");
	cr_assert_eq(strpool__str(sp, 0), first);
	strpool__free(sp);
}

/* Bytes count what is held: a long string adds its own chunk, exactly its length more. */
Test(strpool, bytes_grow_with_what_is_held)
{
	struct strpool *sp = strpool__new();
	static char s70[70001], s80[80001], s90[90001];
	size_t b0, b1, b2, b3;

	cr_assert_eq(strpool__bytes(NULL), 0);
	memset(s70, 'a', sizeof(s70) - 1);
	memset(s80, 'b', sizeof(s80) - 1);
	memset(s90, 'c', sizeof(s90) - 1);
	b0 = strpool__bytes(sp);
	cr_assert_gt(b0, 0);
	cr_assert_eq(strpool__intern(sp, s70, NULL), 0);
	b1 = strpool__bytes(sp);
	cr_assert_gt(b1, b0 + sizeof(s70));
	cr_assert_eq(strpool__intern(sp, s80, NULL), 1);
	b2 = strpool__bytes(sp);
	cr_assert_eq(strpool__intern(sp, s90, NULL), 2);
	b3 = strpool__bytes(sp);
	/* Same header, no table growth for the 2nd and 3rd: they differ by their lengths. */
	cr_assert_eq((b3 - b2) - (b2 - b1), 10000);
	/* A string already held costs nothing. */
	cr_assert_eq(strpool__intern(sp, s80, NULL), 1);
	cr_assert_eq(strpool__bytes(sp), b3);
	strpool__free(sp);
}
