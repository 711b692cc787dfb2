// SPDX-License-Identifier: MIT
/*
 * multipart/form-data bodies: the exact bytes of a two-part form, a
 * boundary that occurs in a part is never used, random boundaries differ,
 * and header values that would need escaping are refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "export/multipart.h"

/* Hands out the candidates of a NULL-ended list, then fails. */
struct cands {
	const char *const *list;
	int used;
};

static int next_cand(void *ctx, char *out, size_t len)
{
	struct cands *c = ctx;

	if (!c->list[c->used])
		return -ENOENT;
	snprintf(out, len, "%s", c->list[c->used++]);
	return 0;
}

Test(multipart, a_boundary_found_in_a_part_is_never_used)
{
	/* The data holds the first two candidates (one across a CRLF). */
	static const char data[] = "\x1f\x8b--b1\r\nxb2y\0zz";
	static const char *const list[] = {"b1", "b2", "b3", NULL};
	const struct multipart_part parts[] = {
		{"profile", "profile.pb.gz", "application/octet-stream", data, sizeof(data) - 1},
		{"note", NULL, NULL, "hi", 2},
	};
	static const char want[] = "--b3\r\n"
				   "Content-Disposition: form-data; name=\"profile\"; "
				   "filename=\"profile.pb.gz\"\r\n"
				   "Content-Type: application/octet-stream\r\n"
				   "\r\n"
				   "\x1f\x8b--b1\r\nxb2y\0zz\r\n"
				   "--b3\r\n"
				   "Content-Disposition: form-data; name=\"note\"\r\n"
				   "\r\n"
				   "hi\r\n"
				   "--b3--\r\n";
	struct cands c = {list, 0};
	char *body, *ctype;
	size_t len;

	cr_assert_eq(multipart_form(parts, 2, next_cand, &c, &body, &len, &ctype), 0);
	cr_expect_eq(c.used, 3);
	cr_expect_str_eq(ctype, "multipart/form-data; boundary=b3");
	cr_assert_eq(len, sizeof(want) - 1);
	cr_expect_eq(memcmp(body, want, len), 0);
	free(body);
	free(ctype);
}

Test(multipart, gives_up_when_every_boundary_occurs)
{
	static const char *const list[] = {"ab", "ab", "ab", "ab", "ab", "ab", "ab", "ab", "ab",
					   "ab", "ab", "ab", "ab", "ab", "ab", "ab", "ab", NULL};
	const struct multipart_part part = {"f", "f", NULL, "xxabxx", 6};
	struct cands c = {list, 0};
	char *body, *ctype;
	size_t len;

	cr_expect_eq(multipart_form(&part, 1, next_cand, &c, &body, &len, &ctype), -EAGAIN);
	cr_expect_eq(c.used, 16);
	cr_expect_null(body);
	cr_expect_null(ctype);
}

Test(multipart, random_boundaries_and_refused_headers)
{
	const struct multipart_part part = {"profile", "p.pb.gz", NULL, "x", 1};
	const struct multipart_part quote = {"pro\"file", NULL, NULL, "x", 1};
	const struct multipart_part crlf = {"profile", "a\r\nX-Evil: 1", NULL, "x", 1};
	char *b1, *b2, *c1, *c2;
	size_t l1, l2;

	cr_assert_eq(multipart_form(&part, 1, NULL, NULL, &b1, &l1, &c1), 0);
	cr_assert_eq(multipart_form(&part, 1, NULL, NULL, &b2, &l2, &c2), 0);
	cr_expect_eq(strlen(c1), strlen("multipart/form-data; boundary=sonde-") + 32, "%s", c1);
	cr_expect_eq(strspn(c1 + 36, "0123456789abcdef"), 32, "%s", c1);
	cr_expect_str_neq(c1, c2);
	cr_expect_eq(l1, l2);
	free(b1);
	free(b2);
	free(c1);
	free(c2);
	cr_expect_eq(multipart_form(&quote, 1, NULL, NULL, &b1, &l1, &c1), -EINVAL);
	cr_expect_eq(multipart_form(&crlf, 1, NULL, NULL, &b1, &l1, &c1), -EINVAL);
}
