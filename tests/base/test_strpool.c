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
