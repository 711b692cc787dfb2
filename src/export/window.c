// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "export/window.h"
#include "base/log.h"

#define NS_PER_S 1000000000ull
/* "YYYYMMDDTHHMMSS" */
#define STAMP_LEN 15

static const char *const suffixes[] = {
	[WINDOW_PPROF] = WINDOW_SUFFIX,
	[WINDOW_FOLDED] = ".folded",
	[WINDOW_SVG] = ".svg",
};

#define NFORMATS (sizeof(suffixes) / sizeof(suffixes[0]))

const char *window_suffix(enum window_format fmt)
{
	return (size_t)fmt < NFORMATS ? suffixes[fmt] : WINDOW_SUFFIX;
}

static bool type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

int window_name_fmt(char *buf, size_t len, const char *name, uint64_t start_unix_ns,
		    enum window_format fmt, const char *type)
{
	time_t secs = (time_t)(start_unix_ns / NS_PER_S);
	unsigned int ms = (unsigned int)(start_unix_ns % NS_PER_S / 1000000);
	char stamp[32], frac[8] = "", tp[72] = "";
	struct tm tm;
	size_t i;
	int n;

	if ((size_t)fmt >= NFORMATS || (type && (fmt == WINDOW_PPROF || !*type)))
		return -EINVAL;
	if (!gmtime_r(&secs, &tm))
		return -EINVAL;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (ms)
		snprintf(frac, sizeof(frac), ".%03u", ms);
	if (type) {
		tp[0] = '.';
		for (i = 0; type[i] && i + 2 < sizeof(tp); i++)
			tp[i + 1] = type_char(type[i]) ? type[i] : '_';
		tp[i + 1] = '\0';
	}
	n = snprintf(buf, len, "%s%s%s%sZ%s%s", name ? name : "", name && *name ? "-" : "", stamp,
		     frac, tp, suffixes[fmt]);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int window_name(char *buf, size_t len, const char *name, uint64_t start_unix_ns)
{
	return window_name_fmt(buf, len, name, start_unix_ns, WINDOW_PPROF, NULL);
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* @n decimal digits at @s. */
static int num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* The format whose suffix ends @base, and the length before it; -1 if none. */
static int suffix_of(const char *base, size_t len, size_t *stem)
{
	for (size_t f = 0; f < NFORMATS; f++) {
		size_t sl = strlen(suffixes[f]);

		if (len > sl && !strcmp(base + len - sl, suffixes[f])) {
			*stem = len - sl;
			return (int)f;
		}
	}
	return -1;
}

int window_parse_info(const char *base, struct window_info *wi)
{
	size_t end, dot, fl = 0, t0;
	uint64_t frac = 0;
	const char *t;
	struct tm tm = {0};
	time_t secs;
	int fmt = suffix_of(base, strlen(base), &end);

	if (fmt < 0)
		return -EINVAL;
	memset(wi, 0, sizeof(*wi));
	wi->format = (enum window_format)fmt;
	/* ".TYPE" between the 'Z' and the suffix (folded and SVG only). */
	for (t0 = end; t0 > 0 && type_char(base[t0 - 1]); t0--)
		;
	if (fmt != WINDOW_PPROF && t0 < end && t0 >= 2 && base[t0 - 1] == '.' &&
	    base[t0 - 2] == 'Z') {
		wi->type_off = t0;
		wi->type_len = end - t0;
		end = t0 - 1;
	}
	if (end < STAMP_LEN + 1 || base[end - 1] != 'Z')
		return -EINVAL;
	end--; /* the 'Z' */
	/* An optional fraction: ".fff" before the Z. */
	for (dot = end; dot > 0 && base[dot - 1] >= '0' && base[dot - 1] <= '9'; dot--)
		;
	if (dot > 0 && base[dot - 1] == '.' && end - dot <= 9 && end > dot) {
		fl = end - dot;
		end = dot - 1;
	}
	if (end < STAMP_LEN)
		return -EINVAL;
	t = base + end - STAMP_LEN;
	if (!digits(t, 8) || t[8] != 'T' || !digits(t + 9, 6))
		return -EINVAL;
	/* Nothing before the stamp, or a NAME ending in '-'. */
	if (t != base && t[-1] != '-')
		return -EINVAL;
	wi->name_len = t == base ? 0 : (size_t)(t - base - 1);
	tm.tm_year = num(t, 4) - 1900;
	tm.tm_mon = num(t + 4, 2) - 1;
	tm.tm_mday = num(t + 6, 2);
	tm.tm_hour = num(t + 9, 2);
	tm.tm_min = num(t + 11, 2);
	tm.tm_sec = num(t + 13, 2);
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	secs = timegm(&tm);
	if (secs < 0)
		return -EINVAL;
	for (size_t i = 0; i < 9; i++)
		frac = frac * 10 + (i < fl ? (uint64_t)(base[dot + i] - '0') : 0);
	wi->start_unix_ns = (uint64_t)secs * NS_PER_S + frac;
	return 0;
}

int window_parse(const char *base, uint64_t *start_unix_ns)
{
	struct window_info wi;

	if (window_parse_info(base, &wi) || wi.format != WINDOW_PPROF)
		return -EINVAL;
	*start_unix_ns = wi.start_unix_ns;
	return 0;
}

/* The last window of @fmt (folded: of a first type) in @d into @best; false if none. */
static bool last_of(DIR *d, enum window_format fmt, char *best, size_t len)
{
	uint64_t best_ns = 0;
	struct window_info wi;
	struct dirent *de;

	best[0] = '\0';
	rewinddir(d);
	while ((de = readdir(d))) {
		if (strlen(de->d_name) >= len || window_parse_info(de->d_name, &wi) ||
		    wi.format != fmt || wi.type_len)
			continue;
		if (!best[0] || wi.start_unix_ns > best_ns ||
		    (wi.start_unix_ns == best_ns && strcmp(de->d_name, best) > 0)) {
			best_ns = wi.start_unix_ns;
			strcpy(best, de->d_name);
		}
	}
	return best[0];
}

int window_find_last(const char *dir, char *path, size_t len)
{
	char best[256];
	DIR *d = opendir(dir);
	bool found;
	int n;

	if (!d) {
		n = -errno;
		log_err("cannot read directory '%s': %s", dir, strerror(errno));
		return n;
	}
	found = last_of(d, WINDOW_PPROF, best, sizeof(best)) ||
		last_of(d, WINDOW_FOLDED, best, sizeof(best));
	closedir(d);
	if (!found) {
		log_err("no profile windows in '%s': expected files named "
			"[NAME-]YYYYMMDDTHHMMSSZ" WINDOW_SUFFIX " (the window's start, UTC)",
			dir);
		return -ENOENT;
	}
	n = snprintf(path, len, "%s/%s", dir, best);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
