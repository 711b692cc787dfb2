// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config/agent_config.h"
#include "config/scalar.h"

int scalar_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Digits at *s into *v (overflow is -EINVAL); *s moves past them. */
static int parse_digits(const char **s, uint64_t *v, size_t *ndigits)
{
	const char *p = *s;
	uint64_t x = 0;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*ndigits = (size_t)(p - *s);
	*s = p;
	*v = x;
	return 0;
}

int scalar_parse_u64(const char *s, uint64_t *out)
{
	size_t n;

	if (parse_digits(&s, out, &n) || !n || *s)
		return -EINVAL;
	return 0;
}

/*
 * NUMBER ("12", "1.5", ".5") times @unit, exactly in integers: the
 * fraction's digits beyond what @unit resolves are dropped.
 */
static int scaled(uint64_t whole, const char *frac, size_t nfrac, uint64_t unit, uint64_t *out)
{
	uint64_t v, f = 0, div = 1;

	if (whole && unit > UINT64_MAX / whole)
		return -EINVAL;
	v = whole * unit;
	for (size_t i = 0; i < nfrac && div <= UINT64_MAX / 10 / unit; i++) {
		f = f * 10 + (uint64_t)(frac[i] - '0');
		div *= 10;
	}
	f = f * unit / div;
	if (v > UINT64_MAX - f)
		return -EINVAL;
	*out = v + f;
	return 0;
}

/* NUMBER at *s: whole part, and the fraction's digits (not converted). */
static int parse_number(const char **s, uint64_t *whole, const char **frac, size_t *nfrac)
{
	size_t nw = 0;

	if (parse_digits(s, whole, &nw))
		return -EINVAL;
	*frac = NULL;
	*nfrac = 0;
	if (**s == '.') {
		(*s)++;
		*frac = *s;
		/* The fraction may have more digits than a u64 holds: count them only. */
		while (**s >= '0' && **s <= '9')
			(*s)++;
		*nfrac = (size_t)(*s - *frac);
	}
	return nw || *nfrac ? 0 : -EINVAL;
}

struct unit {
	const char *name;
	uint64_t mult;
};

static const struct unit duration_units[] = {
	{"ns", 1},	     {"us", NSEC_PER_USEC},    {"ms", NSEC_PER_MSEC},
	{"s", NSEC_PER_SEC}, {"m", 60 * NSEC_PER_SEC}, {"h", 3600 * NSEC_PER_SEC},
	{NULL, 0},
};

#define KIB 1024ull
static const struct unit size_units[] = {
	{"B", 1},
	{"KiB", KIB},
	{"Ki", KIB},
	{"MiB", KIB *KIB},
	{"Mi", KIB *KIB},
	{"GiB", KIB *KIB *KIB},
	{"Gi", KIB *KIB *KIB},
	{"TiB", KIB *KIB *KIB *KIB},
	{"Ti", KIB *KIB *KIB *KIB},
	{"kB", 1000},
	{"KB", 1000},
	{"k", 1000},
	{"MB", 1000000},
	{"M", 1000000},
	{"GB", 1000000000},
	{"G", 1000000000},
	{"TB", 1000000000000ull},
	{"T", 1000000000000ull},
	{NULL, 0},
};

/* The unit spelled by the letters at *s (all of them); *s moves past. */
static const struct unit *parse_unit(const char **s, const struct unit *units)
{
	size_t n = strspn(*s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

	for (const struct unit *u = units; u->name; u++) {
		if (strlen(u->name) == n && !strncmp(*s, u->name, n)) {
			*s += n;
			return u;
		}
	}
	return NULL;
}

int scalar_parse_duration(const char *s, uint64_t *ns)
{
	uint64_t total = 0;

	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		const struct unit *u;
		const char *frac;
		uint64_t whole, v;
		size_t nfrac;

		if (parse_number(&s, &whole, &frac, &nfrac))
			return -EINVAL;
		u = parse_unit(&s, duration_units);
		if (!u || scaled(whole, frac, nfrac, u->mult, &v) || total > UINT64_MAX - v)
			return -EINVAL;
		total += v;
	}
	*ns = total;
	return 0;
}

int scalar_parse_size(const char *s, uint64_t *bytes)
{
	const struct unit *u = &size_units[0];
	const char *frac;
	uint64_t whole;
	size_t nfrac;

	if (parse_number(&s, &whole, &frac, &nfrac))
		return -EINVAL;
	if (*s) {
		u = parse_unit(&s, size_units);
		if (!u || *s)
			return -EINVAL;
	}
	return scaled(whole, frac, nfrac, u->mult, bytes);
}

/* @v in the first unit of @order (largest first) that divides it exactly. */
static void format_units(uint64_t v, const struct unit *const *order, char *buf, size_t len)
{
	for (size_t i = 0; order[i]; i++) {
		if (v % order[i]->mult == 0 && (v || !order[i + 1])) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(v / order[i]->mult),
				 order[i]->name);
			return;
		}
	}
}

void scalar_format_duration(uint64_t ns, char *buf, size_t len)
{
	static const struct unit *const order[] = {
		&duration_units[5],
		&duration_units[4],
		&duration_units[3],
		&duration_units[2],
		&duration_units[1],
		&duration_units[0],
		NULL,
	};

	if (!ns) {
		snprintf(buf, len, "0s");
		return;
	}
	format_units(ns, order, buf, len);
}

void scalar_format_size(uint64_t bytes, char *buf, size_t len)
{
	/* Largest first, binary before decimal: the shortest exact spelling. */
	static const struct unit *const order[] = {
		&size_units[7],	 &size_units[16], &size_units[5], &size_units[14], &size_units[3],
		&size_units[12], &size_units[1],  &size_units[9], &size_units[0],  NULL,
	};

	format_units(bytes, order, buf, len);
}

int scalar_parse_cidr(const char *s, struct cfg_cidr *out, char *hint, size_t hintlen)
{
	char addr[INET6_ADDRSTRLEN + 1], net[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int nbytes, max;
	bool host_bits = false;

	if (!alen || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		nbytes = 4;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		nbytes = 16;
	} else {
		return -EINVAL;
	}
	max = nbytes * 8;
	out->prefix = max;
	if (slash) {
		uint64_t p;

		if (scalar_parse_u64(slash + 1, &p) || p > max)
			return -EINVAL;
		out->prefix = (unsigned int)p;
	}
	/* Host bits set: clear them for the hint, and refuse. */
	for (unsigned int i = 0; i < nbytes; i++) {
		unsigned int keep = out->prefix > i * 8 ? out->prefix - i * 8 : 0;
		unsigned char mask = keep >= 8 ? 0xff : (unsigned char)(0xff << (8 - keep));

		if (out->addr[i] & ~mask) {
			host_bits = true;
			out->addr[i] &= mask;
		}
	}
	if (host_bits) {
		if (hint && inet_ntop(out->family, out->addr, net, sizeof(net)))
			snprintf(hint, hintlen, "%s/%u", net, out->prefix);
		return -EINVAL;
	}
	return 0;
}
