/* SPDX-License-Identifier: MIT */
/*
 * An output file written atomically: data goes to a temporary file beside
 * the destination, renamed over it on commit. A failed or interrupted run
 * leaves no partial file behind, and an unwritable destination is found
 * before any recording starts.
 */
#ifndef SONDE_OUTFILE_H
#define SONDE_OUTFILE_H

#include <stdio.h>

struct outfile;

/* Create the temporary file now. Returns 0 or -errno (message printed). */
int outfile__open(const char *path, struct outfile **out);
FILE *outfile__fp(struct outfile *o);
/* Flush, close and rename into place. Returns 0 or -errno. */
int outfile__commit(struct outfile *o);
/* Remove the temporary file if not committed; free. Accepts NULL. */
void outfile__free(struct outfile *o);

#endif /* SONDE_OUTFILE_H */
