/* SPDX-License-Identifier: MIT */
/*
 * An output file. A regular file (or a path that does not exist yet) is
 * written atomically: data goes to a temporary file beside it, renamed
 * over it on commit, so a failed or interrupted run leaves no partial file
 * and an unwritable destination is found before any recording starts. A
 * path that names something else (a character device such as /dev/null or
 * /dev/stdout, a FIFO) is written in place and never replaced; "-" is
 * stdout. A symlink is followed: its target is what is written or
 * replaced, the link stays.
 *
 * OUTFILE_STREAM writes in place whatever the path is (--spans: lines
 * appear as they are written, `tail -f` works).
 *
 * Temporary files are named "PATH.sonde-PID-XXXXXX"; opening a path
 * removes the ones a dead sonde left beside it (SIGKILL).
 *
 * The first write error is kept with its errno (ENOSPC reads "No space
 * left on device", not "Input/output error").
 */
#ifndef SONDE_BASE_OUTFILE_H
#define SONDE_BASE_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

enum outfile_mode {
	OUTFILE_ATOMIC = 0, /* regular files replaced on commit */
	OUTFILE_STREAM,	    /* written in place as data comes */
};

struct outfile;

/* Create the file (or temporary file) now. Returns 0 or -errno (message printed). */
int outfile__open(const char *path, enum outfile_mode mode, struct outfile **out);
FILE *outfile__fp(struct outfile *o);
/* The first write error (-errno), 0 if none. */
int outfile__error(const struct outfile *o);
/* The descriptor, for writers that do their own buffering (stream mode). */
int outfile__fd(const struct outfile *o);
/* Flush, close and rename into place (atomic mode). Returns 0 or -errno (printed). */
int outfile__commit(struct outfile *o);
/* Remove the temporary file if not committed; free. Accepts NULL. */
void outfile__free(struct outfile *o);

/*
 * Flush @f, any stream (an outfile's, stdout): 0, or its write error as
 * -errno, so that a full disk reads "No space left on device" and not
 * "Input/output error"; -EIO when the stream failed earlier and the cause
 * is no longer known.
 */
int stream_flush_error(FILE *f);
/* A failed fprintf/fputs/fwrite on a stream just now, as -errno (-EIO if unknown). */
int stream_write_error(void);
/*
 * Whether @err is the reader of @f gone (EPIPE: | head), no failure: then
 * @f's error flag is cleared, so that the flush at exit does not fail the
 * run for it.
 */
bool stream_reader_gone(FILE *f, int err);

#endif /* SONDE_BASE_OUTFILE_H */
