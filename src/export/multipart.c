// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "export/multipart.h"

#define MAX_TRIES 16

/* splitmix64: only when the kernel's generator is not ready yet. */
static uint64_t fallback_random(void)
{
	static atomic_uint_fast64_t counter;
	struct timespec ts;
	uint64_t z;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	z = atomic_fetch_add(&counter, 0x9e3779b97f4a7c15ull) ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int random_boundary(void *ctx, char *out, size_t len)
{
	unsigned char r[16];
	size_t n = 0;

	(void)ctx;
	if (len < 6 + 2 * sizeof(r) + 1)
		return -ENOSPC;
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		uint64_t a = fallback_random(), b = fallback_random();

		memcpy(r, &a, 8);
		memcpy(r + 8, &b, 8);
	}
	n = (size_t)snprintf(out, len, "sonde-");
	for (size_t i = 0; i < sizeof(r); i++)
		n += (size_t)snprintf(out + n, len - n, "%02x", r[i]);
	return 0;
}

/* Quoted header values: RFC 7578 leaves escaping to each reader; forbid what needs it. */
static bool header_safe(const char *s)
{
	return !s || !strpbrk(s, "\"\r\n");
}

static bool in_str(const char *s, const char *b)
{
	return s && strstr(s, b);
}

/* @b anywhere in the body but its delimiter lines. */
static bool occurs(const struct multipart_part *parts, size_t n, const char *b)
{
	size_t bl = strlen(b);

	for (size_t i = 0; i < n; i++)
		if (memmem(parts[i].data, parts[i].len, b, bl) || in_str(parts[i].name, b) ||
		    in_str(parts[i].filename, b) || in_str(parts[i].content_type, b))
			return true;
	return false;
}

int multipart_form(const struct multipart_part *parts, size_t n, multipart_boundary_fn next,
		   void *ctx, char **body, size_t *len, char **ctype)
{
	char b[MULTIPART_BOUNDARY_MAX];
	FILE *f;
	int err = -EAGAIN, tries;

	*body = NULL;
	*ctype = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++)
		if (!parts[i].name || !header_safe(parts[i].name) ||
		    !header_safe(parts[i].filename) || !header_safe(parts[i].content_type))
			return -EINVAL;
	if (!next)
		next = random_boundary;
	for (tries = 0; tries < MAX_TRIES; tries++) {
		err = next(ctx, b, sizeof(b));
		if (err)
			return err;
		/* Not in the data, nor empty, nor anything a header line could hold. */
		if (b[0] && !strpbrk(b, "\"\r\n;") && !occurs(parts, n, b))
			break;
	}
	if (tries == MAX_TRIES)
		return -EAGAIN;

	f = open_memstream(body, len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct multipart_part *p = &parts[i];

		fprintf(f, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", b, p->name);
		if (p->filename)
			fprintf(f, "; filename=\"%s\"", p->filename);
		fputs("\r\n", f);
		if (p->content_type)
			fprintf(f, "Content-Type: %s\r\n", p->content_type);
		fputs("\r\n", f);
		if (p->len)
			fwrite(p->data, 1, p->len, f);
		fputs("\r\n", f);
	}
	fprintf(f, "--%s--\r\n", b);
	err = ferror(f) ? -ENOMEM : 0;
	if (fclose(f))
		err = -ENOMEM;
	if (!err && asprintf(ctype, "multipart/form-data; boundary=%s", b) < 0) {
		*ctype = NULL;
		err = -ENOMEM;
	}
	if (err) {
		free(*body);
		*body = NULL;
		*len = 0;
	}
	return err;
}
