// SPDX-License-Identifier: MIT
/* The "k=v,k2=v2" lists of OpenTelemetry's SDK environment variables. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "export/otel_env.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode @len bytes of @s into a new string. -EINVAL on a bad escape. */
static int pct_decode(const char *s, size_t len, char **out)
{
	char *d = malloc(len + 1);
	size_t i, n = 0;

	if (!d)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			d[n++] = s[i];
			continue;
		}
		/* %00 would cut the string short: rejected with the bad escapes. */
		if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0 ||
		    (s[i + 1] == '0' && s[i + 2] == '0')) {
			free(d);
			return -EINVAL;
		}
		d[n++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
		i += 2;
	}
	d[n] = '\0';
	*out = d;
	return 0;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

void otel_kvs_free(struct otel_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].val);
	}
	free(kv);
}

/*
 * Parse the W3C-baggage-like "k=v,k2=v2" lists of the OTel environment
 * variables: whitespace around keys and values is dropped, empty members
 * are skipped, keys and values are percent-decoded. -EINVAL for a member
 * without '=' or with an empty key or a bad escape.
 */
static int parse_kv_list(const char *s, struct otel_kv **out, size_t *nout)
{
	struct otel_kv *kv = NULL;
	size_t n = 0;
	int err = 0;

	while (*s) {
		const char *end = strchrnul(s, ','), *eq, *ks, *ke, *vs, *ve;
		struct otel_kv *nkv;

		ks = s;
		ke = end;
		while (ks < ke && is_ows(*ks))
			ks++;
		while (ke > ks && is_ows(ke[-1]))
			ke--;
		s = *end ? end + 1 : end;
		if (ks == ke)
			continue; /* empty member */
		eq = memchr(ks, '=', ke - ks);
		if (!eq) {
			err = -EINVAL;
			goto free_kv;
		}
		vs = eq + 1;
		ve = ke;
		ke = eq;
		while (ke > ks && is_ows(ke[-1]))
			ke--;
		while (vs < ve && is_ows(*vs))
			vs++;
		if (ke == ks) {
			err = -EINVAL;
			goto free_kv;
		}
		nkv = realloc(kv, (n + 1) * sizeof(*kv));
		if (!nkv) {
			err = -ENOMEM;
			goto free_kv;
		}
		kv = nkv;
		kv[n].key = kv[n].val = NULL;
		n++;
		err = pct_decode(ks, ke - ks, &kv[n - 1].key);
		if (!err)
			err = pct_decode(vs, ve - vs, &kv[n - 1].val);
		if (err)
			goto free_kv;
	}
	*out = kv;
	*nout = n;
	return 0;

free_kv:
	otel_kvs_free(kv, n);
	return err;
}

int otel_env_list(const char *name, struct otel_kv **out, size_t *nout)
{
	const char *v = getenv(name);
	int err;

	*out = NULL;
	*nout = 0;
	if (!v)
		return 0;
	err = parse_kv_list(v, out, nout);
	if (err == -EINVAL) {
		log_warn("otel: failed to parse %s: expected key=value,... with %%-escapes; "
			 "ignoring it",
			 name);
		return 0;
	}
	return err;
}
