// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/folded_read.h"
#include "base/log.h"
#include "model/profile.h"

struct freader {
	struct profile *p;
	const char *name;
	uint64_t lineno;
	char *buf; /* the current line, cut into frames in place */
	size_t buf_cap;
	uint32_t *locs;
	size_t nlocs, locs_cap;
	/* The location being built: an inlined frame joins the one before. */
	struct profile_location pending;
	bool has_pending;
};

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

static int push_loc(struct freader *r, int id)
{
	if (id < 0)
		return id;
	if (r->nlocs == r->locs_cap) {
		size_t ncap = r->locs_cap ? 2 * r->locs_cap : 128;
		uint32_t *nl = realloc(r->locs, ncap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		r->locs = nl;
		r->locs_cap = ncap;
	}
	r->locs[r->nlocs++] = id;
	return 0;
}

static int flush_pending(struct freader *r)
{
	if (!r->has_pending)
		return 0;
	r->has_pending = false;
	return push_loc(r, profile__intern_location(r->p, &r->pending));
}

/* One frame (NUL-terminated, @len bytes, suffixes still on). 0 or -errno. */
static int add_frame(struct freader *r, char *f, size_t len)
{
	struct profile_location loc = {0};
	bool kernel = ends_with(f, len, "_[k]"), inl = ends_with(f, len, "_[i]");
	struct profile_location *pl = &r->pending;
	int err;

	if (kernel || inl)
		f[len -= 4] = '\0';
	/* Inlined into the frame before: one more line of its location, innermost. */
	if (inl && r->has_pending && pl->nlines && pl->nlines < PROFILE_MAX_LINES &&
	    !(pl->flags & PROFILE_LOC_KERNEL)) {
		memmove(&pl->lines[1], &pl->lines[0], pl->nlines * sizeof(pl->lines[0]));
		memset(&pl->lines[0], 0, sizeof(pl->lines[0]));
		pl->lines[0].function = f;
		pl->lines[0].inlined = 1;
		pl->nlines++;
		return 0;
	}
	err = flush_pending(r);
	if (err)
		return err;
	if (kernel)
		loc.flags = PROFILE_LOC_KERNEL;
	if (!strcmp(f, "[unknown]")) {
		/* No module, no name. */
	} else if (len > 2 && f[0] == '[' && f[len - 1] == ']') {
		/* An unsymbolized address in a module; the kernel's keeps its brackets. */
		if (!kernel) {
			f[len - 1] = '\0';
			f++;
		}
		loc.module = f;
	} else {
		loc.nlines = 1;
		loc.lines[0].function = f;
		loc.lines[0].inlined = inl;
	}
	/* Strings point into the line until the location is interned (a copy). */
	r->pending = loc;
	r->has_pending = true;
	return 0;
}

/* All digits, at least one. */
static bool is_count(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The stack and count of one line (@len bytes at @s, no '\n'). 0 or -errno. */
static int read_line(struct freader *r, const char *s, size_t len, struct folded_read_info *info)
{
	char *sp, *prev, *f, *end, *comm;
	uint64_t count;
	int err;

	while (len && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (!len || s[0] == '#')
		return 0;
	if (len + 1 > r->buf_cap) {
		char *nb = realloc(r->buf, len + 1);

		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->buf_cap = len + 1;
	}
	memcpy(r->buf, s, len);
	r->buf[len] = '\0';
	sp = strrchr(r->buf, ' ');
	if (!sp || !is_count(sp + 1, strlen(sp + 1))) {
		log_err("folded: failed to read '%s' line %llu: no count after the last space",
			r->name, (unsigned long long)r->lineno);
		return -EINVAL;
	}
	errno = 0;
	count = strtoull(sp + 1, NULL, 10);
	if (errno) {
		log_err("folded: failed to read '%s' line %llu: count out of range", r->name,
			(unsigned long long)r->lineno);
		return -EINVAL;
	}
	*sp = '\0';
	/* difffolded.pl: "stack BEFORE AFTER"; AFTER is the one drawn. */
	prev = strrchr(r->buf, ' ');
	if (prev && is_count(prev + 1, sp - prev - 1))
		*prev = '\0';
	if (!count)
		return 0;

	r->nlocs = 0;
	r->has_pending = false;
	comm = r->buf;
	end = strchr(comm, ';');
	if (end)
		*end = '\0';
	for (f = end ? end + 1 : NULL; f; f = end ? end + 1 : NULL) {
		end = strchr(f, ';');
		if (end)
			*end = '\0';
		if (!*f)
			continue;
		err = add_frame(r, f, strlen(f));
		if (err)
			return err;
	}
	err = flush_pending(r);
	if (err)
		return err;
	info->lines++;
	info->samples += count;
	return profile__add(r->p, 0, *comm ? comm : NULL, r->locs, r->nlocs, count);
}

int folded__read(const char *text, size_t len, const char *name, struct profile *p,
		 struct folded_read_info *info)
{
	struct freader r = {.p = p, .name = name};
	const char *s = text, *stop = text + len, *nl;
	int err = 0;

	memset(info, 0, sizeof(*info));
	while (s < stop && !err) {
		nl = memchr(s, '\n', stop - s);
		if (!nl)
			nl = stop;
		r.lineno++;
		err = read_line(&r, s, nl - s, info);
		s = nl + 1;
	}
	if (err == -ENOMEM)
		log_err("folded: failed to read '%s': %s", name, strerror(ENOMEM));
	free(r.buf);
	free(r.locs);
	return err;
}
