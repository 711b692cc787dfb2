// SPDX-License-Identifier: MIT
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "decode/redact.h"

struct redactor {
	unsigned int n;
	regex_t *re;
};

int dbuf_append(struct dbuf *b, const char *s, size_t n)
{
	if (b->limit && b->len + n > b->limit) {
		n = b->limit - b->len;
		b->cut = true;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = dmem_realloc(b->mem, b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void dbuf_free(struct dbuf *b)
{
	if (b->p) {
		explicit_bzero(b->p, b->cap);
		dmem_free(b->mem, b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
	b->cut = false;
}

struct redactor *redactor__new(const char *const *patterns, unsigned int n)
{
	struct redactor *r = calloc(1, sizeof(*r));
	unsigned int i;

	if (!r)
		goto err_nomem;
	if (n) {
		r->re = calloc(n, sizeof(*r->re));
		if (!r->re)
			goto err_nomem;
	}
	for (i = 0; i < n; i++) {
		int rc = regcomp(&r->re[i], patterns[i], REG_EXTENDED);

		if (rc) {
			char msg[128];

			regerror(rc, &r->re[i], msg, sizeof(msg));
			log_err("redact: failed to compile pattern %u: %s", i + 1, msg);
			r->n = i;
			redactor__free(r);
			errno = EINVAL;
			return NULL;
		}
		r->n = i + 1;
	}
	return r;

err_nomem:
	redactor__free(r);
	errno = ENOMEM;
	return NULL;
}

void redactor__free(struct redactor *r)
{
	if (!r)
		return;
	for (unsigned int i = 0; i < r->n; i++)
		regfree(&r->re[i]);
	free(r->re);
	free(r);
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static bool is_word(unsigned char c)
{
	return is_alnum(c) || c == '_';
}

static bool is_token(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

/* Length of a secret-looking token at @s, or 0. */
static size_t match_secret(const char *s, size_t n)
{
	static const struct {
		const char *prefix;
		size_t min, max; /* characters after the prefix */
		bool upper;	 /* [A-Z0-9] only */
	} kinds[] = {
		{"sk-", 16, 256, false},   {"AKIA", 16, 16, true},
		{"ASIA", 16, 16, true},	   {"AIza", 35, 35, false},
		{"ghp_", 36, 36, false},   {"github_pat_", 20, 256, false},
		{"xoxb-", 10, 256, false}, {"xoxp-", 10, 256, false},
		{"glpat-", 20, 64, false},
	};
	size_t i, k;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t pl = strlen(kinds[k].prefix);

		if (n < pl + kinds[k].min || memcmp(s, kinds[k].prefix, pl))
			continue;
		for (i = pl; i < n && i - pl < kinds[k].max; i++) {
			unsigned char c = (unsigned char)s[i];

			if (kinds[k].upper ? !((c >= 'A' && c <= 'Z') || is_digit(c))
					   : !is_token(c))
				break;
		}
		if (i - pl >= kinds[k].min && (i == n || !is_token((unsigned char)s[i])))
			return i;
	}
	/* "Bearer <token>" (RFC 6750 token68 characters). */
	if (n > 7 && !strncasecmp(s, "bearer ", 7)) {
		for (i = 7;
		     i < n && (is_token((unsigned char)s[i]) || strchr(".~+/=", s[i])) && s[i]; i++)
			;
		if (i - 7 >= 8)
			return i;
	}
	return 0;
}

static bool is_local(unsigned char c)
{
	return is_alnum(c) || strchr("._%+-", c) != NULL;
}

static bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* local@label.label...tld with an alphabetic TLD of 2 or more letters. */
static size_t match_email(const char *s, size_t n)
{
	size_t i = 0, end = 0, labels = 0, last = 0;
	bool alpha = false;

	while (i < n && i < 64 && is_local((unsigned char)s[i]))
		i++;
	if (!i || i >= n || s[i] != '@')
		return 0;
	i++;
	for (;;) {
		size_t start = i;

		alpha = true;
		while (i < n && (is_alnum((unsigned char)s[i]) || s[i] == '-')) {
			if (!is_alpha((unsigned char)s[i]))
				alpha = false;
			i++;
		}
		if (i == start)
			break;
		labels++;
		last = i - start;
		end = i;
		if (i + 1 < n && s[i] == '.' && is_alnum((unsigned char)s[i + 1])) {
			i++;
			continue;
		}
		break;
	}
	return labels >= 2 && alpha && last >= 2 ? end : 0;
}

static size_t match_ipv4(const char *s, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned int v = 0, d = 0;

		if (part) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		while (i < n && is_digit((unsigned char)s[i]) && d < 4) {
			v = v * 10 + (unsigned int)(s[i] - '0');
			i++;
			d++;
		}
		if (!d || d > 3 || v > 255)
			return 0;
	}
	if (i < n && (is_digit((unsigned char)s[i]) ||
		      (s[i] == '.' && i + 1 < n && is_digit((unsigned char)s[i + 1]))))
		return 0;
	return i;
}

/* 8 groups, or fewer with one "::"; an IPv4 address may end it. */
static size_t match_ipv6(const char *s, size_t n)
{
	size_t i = 0, end = 0;
	unsigned int groups = 0;
	bool dbl = false;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		dbl = true;
		i = end = 2;
	} else if (s[0] == ':') {
		return 0;
	}
	while (i < n) {
		size_t d = 0, v4;

		if ((dbl || groups == 6) && groups <= 6 && (v4 = match_ipv4(s + i, n - i))) {
			groups += 2;
			end = i + v4;
			break;
		}
		while (i + d < n && d < 5 && is_hex((unsigned char)s[i + d]))
			d++;
		if (d > 4)
			return 0;
		if (!d)
			break; /* only after "::" */
		groups++;
		i += d;
		end = i;
		if (groups > 8)
			return 0;
		if (i + 1 < n && s[i] == ':' && s[i + 1] == ':') {
			if (dbl)
				return 0;
			dbl = true;
			i += 2;
			end = i;
			continue;
		}
		if (i + 1 < n && s[i] == ':' && is_hex((unsigned char)s[i + 1])) {
			i++;
			continue;
		}
		break;
	}
	if (end < n &&
	    (is_word((unsigned char)s[end]) || (end + 1 < n && (s[end] == ':' || s[end] == '.') &&
						is_hex((unsigned char)s[end + 1]))))
		return 0;
	if (dbl ? (groups < 1 || groups > 7) : groups != 8)
		return 0;
	return end;
}

static bool luhn(const char *digits, size_t n)
{
	unsigned int sum = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned int d = (unsigned int)(digits[n - 1 - i] - '0');

		if (i % 2) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/* Digits with single spaces or dashes between them: card numbers. */
static size_t match_card(const char *s, size_t n)
{
	char digits[20];
	size_t i = 0, nd = 0, end = 0;

	while (i < n && nd < 20) {
		if (is_digit((unsigned char)s[i])) {
			digits[nd++] = s[i++];
			end = i;
			if (nd >= 13 && nd <= 19 && (i == n || !is_digit((unsigned char)s[i])) &&
			    luhn(digits, nd) &&
			    !(i + 1 < n && (s[i] == ' ' || s[i] == '-') &&
			      is_digit((unsigned char)s[i + 1])))
				return end;
		} else if ((s[i] == ' ' || s[i] == '-') && nd && i + 1 < n &&
			   is_digit((unsigned char)s[i + 1])) {
			i++;
		} else {
			break;
		}
	}
	return 0;
}

/*
 * Phone numbers: an optional '+', digits with separators (space, '-',
 * '.', parentheses), 10-15 digits, or 7-15 after a '+'; a plain run of
 * digits without separators is only a phone number after '+'.
 */
static size_t match_phone(const char *s, size_t n)
{
	size_t i = 0, nd = 0, end = 0, seps = 0;
	bool plus = false;

	if (s[0] == '+') {
		plus = true;
		i++;
	}
	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (is_digit(c)) {
			nd++;
			i++;
			end = i;
			if (nd > 15)
				return 0;
		} else if ((c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') &&
			   i + 1 < n &&
			   (is_digit((unsigned char)s[i + 1]) || s[i + 1] == '(' ||
			    (c == ')' && s[i + 1] == ' '))) {
			seps++;
			i++;
		} else {
			break;
		}
	}
	if (end < n && (is_word((unsigned char)s[end])))
		return 0;
	if (plus ? nd >= 7 : (nd >= 10 && seps))
		return end;
	return 0;
}

static int put_label(struct dbuf *out, const char *kind)
{
	char tmp[32];
	size_t n = (size_t)snprintf(tmp, sizeof(tmp), "[REDACTED:%s]", kind);

	return dbuf_append(out, tmp, n);
}

static int builtin(const char *in, size_t len, struct dbuf *out)
{
	size_t i = 0, lit = 0;
	int count = 0;

	while (i < len) {
		const char *s = in + i;
		size_t n = len - i, m = 0;
		const char *kind = NULL;
		unsigned char c = (unsigned char)*s;

		if (i && is_word((unsigned char)in[i - 1]) && c != '+' && c != '(') {
			i++;
			continue;
		}
		if ((m = match_secret(s, n)))
			kind = "secret";
		else if (is_hex(c) || c == ':') {
			if ((m = match_ipv6(s, n)))
				kind = "ipv6";
		}
		if (!kind && is_digit(c)) {
			if ((m = match_ipv4(s, n)))
				kind = "ipv4";
			else if ((m = match_card(s, n)))
				kind = "card";
		}
		if (!kind && (is_digit(c) || c == '+' || c == '(') && (m = match_phone(s, n)))
			kind = "phone";
		if (!kind && is_local(c) && (m = match_email(s, n)))
			kind = "email";
		if (!kind) {
			i++;
			continue;
		}
		if (dbuf_append(out, in + lit, i - lit) || put_label(out, kind))
			return -ENOMEM;
		count++;
		i += m;
		lit = i;
	}
	if (dbuf_append(out, in + lit, len - lit))
		return -ENOMEM;
	return count;
}

/* One extra pattern over @in, NUL bytes splitting it into pieces. */
static int extra(const regex_t *re, const char *in, size_t len, struct dbuf *out)
{
	size_t i = 0;
	int count = 0;

	while (i < len) {
		const char *seg = in + i;
		size_t slen = strnlen(seg, len - i), off = 0;

		while (off <= slen) {
			regmatch_t m;
			int flags = off ? REG_NOTBOL : 0;

			if (off == slen || regexec(re, seg + off, 1, &m, flags)) {
				if (dbuf_append(out, seg + off, slen - off))
					return -ENOMEM;
				break;
			}
			if (dbuf_append(out, seg + off, (size_t)m.rm_so))
				return -ENOMEM;
			if (m.rm_eo > m.rm_so) {
				if (put_label(out, "pattern"))
					return -ENOMEM;
				count++;
				off += (size_t)m.rm_eo;
			} else {
				/* An empty match: keep one byte and go on. */
				if (dbuf_append(out, seg + off + m.rm_so, 1))
					return -ENOMEM;
				off += (size_t)m.rm_so + 1;
			}
		}
		i += slen;
		if (i < len) {
			if (dbuf_append(out, "", 1))
				return -ENOMEM;
			i++;
		}
	}
	return count;
}

int redactor__apply(const struct redactor *r, const char *in, size_t len, struct dbuf *out)
{
	struct dbuf a = {.mem = out->mem}, b = {.mem = out->mem};
	int count, rc = 0;

	if (!r || !r->n)
		return builtin(in, len, out);
	count = builtin(in, len, &a);
	if (count < 0)
		goto out;
	for (unsigned int k = 0; k < r->n; k++) {
		struct dbuf t;

		b.len = 0;
		rc = extra(&r->re[k], a.p ? a.p : "", a.len, &b);
		if (rc < 0) {
			count = rc;
			goto out;
		}
		count += rc;
		t = a;
		a = b;
		b = t;
	}
	if (dbuf_append(out, a.p ? a.p : "", a.len))
		count = -ENOMEM;
out:
	dbuf_free(&a);
	dbuf_free(&b);
	return count;
}
