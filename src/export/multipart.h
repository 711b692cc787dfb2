/* SPDX-License-Identifier: MIT */
/*
 * multipart/form-data bodies (RFC 7578), as Pyroscope's /ingest takes a
 * pprof profile and its sample_type_config. The boundary is random and
 * checked against every part: it occurs in none of them, so no byte of a
 * binary profile can end a part early.
 */
#ifndef SONDE_EXPORT_MULTIPART_H
#define SONDE_EXPORT_MULTIPART_H

#include <stddef.h>

/* A boundary: "sonde-" and 32 hex digits, well under RFC 2046's 70. */
#define MULTIPART_BOUNDARY_MAX 48

struct multipart_part {
	const char *name;	  /* the form field */
	const char *filename;	  /* NULL: none (Go's ReadForm then files it as a value) */
	const char *content_type; /* NULL: none */
	const void *data;
	size_t len;
};

/*
 * A candidate boundary into @out (@len bytes, NUL-terminated): 0 or
 * -errno. The default draws random ones; tests hand in their own.
 */
typedef int (*multipart_boundary_fn)(void *ctx, char *out, size_t len);

/*
 * The body of @parts into *@body (malloc'd, *@len bytes) and its
 * Content-Type, "multipart/form-data; boundary=B", into *@ctype
 * (malloc'd). Boundaries come from @next (NULL: random) until one occurs
 * in no part; -EAGAIN after 16 that all did. -EINVAL for a name,
 * filename or content type holding '"', CR or LF; -ENOMEM.
 */
int multipart_form(const struct multipart_part *parts, size_t n, multipart_boundary_fn next,
		   void *ctx, char **body, size_t *len, char **ctype);

#endif /* SONDE_EXPORT_MULTIPART_H */
