/* SPDX-License-Identifier: MIT */
/*
 * A directory of profile windows, as the agent leaves them for `sonde
 * diff DIR DIR`, go tool pprof or a browser (docs/agent-output.md):
 * one file per window named by window.h ("checkout-20250314T093000Z.pb.gz";
 * folded and SVG windows one file per sample type), written atomically,
 * the oldest removed past a count per name or a total size.
 *
 * sonde runs as root and the directory may be shared, so it is opened
 * once (O_DIRECTORY|O_NOFOLLOW: a symlink there is refused, not followed)
 * and everything after works relative to that descriptor: a window is
 * written to ".FILE.tmp-XXXXXX" (O_EXCL, O_NOFOLLOW, 0640), fsync'd and
 * renamed into place without replacing anything (renameat2
 * RENAME_NOREPLACE), so a reader never sees half a window and nothing
 * planted in the directory is written through. Rotation removes only
 * regular files whose names are windows; other files stay.
 */
#ifndef SONDE_EXPORT_OUTDIR_H
#define SONDE_EXPORT_OUTDIR_H

#include <stddef.h>
#include <stdint.h>

#include "export/window.h"

struct outdir;
struct profile;

struct outdir_opts {
	/*
	 * Created 0750 with its missing parents. Refused: a symlink, not a
	 * directory, or writable by others without the sticky bit.
	 */
	const char *dir;
	enum window_format format; /* WINDOW_PPROF, WINDOW_FOLDED or WINDOW_SVG */
	/* The newest windows kept per NAME (every file of each); 0: all. */
	unsigned int keep;
	/*
	 * Bytes of window files (any NAME, any format) kept in all; the
	 * oldest windows go first, but never the one just written. 0: no cap.
	 */
	uint64_t max_size;
	unsigned int svg_width; /* flame graph pixels; 0: the SVG writer's default */
};

struct outdir_stats {
	uint64_t windows_written; /* windows with at least one file in place */
	uint64_t windows_empty;	  /* handed over without a sample: no file */
	uint64_t files_written;
	uint64_t bytes_written;
	uint64_t files_removed; /* by rotation */
	uint64_t bytes_removed;
	uint64_t failures; /* windows not written (ENOSPC, EIO, ...) */
};

/*
 * Create or open the directory and check it. Temporary files at least a
 * minute old that a dead sonde left there are removed. 0 or -errno after
 * one line naming the directory and what is wrong (-ELOOP for a symlink,
 * -ENOTDIR, -EPERM for a directory others may write to).
 */
int outdir__new(const struct outdir_opts *o, struct outdir **out);

/*
 * Write @window, starting at @start_unix_ns, as NAME-STAMP (@name NULL or
 * "": no prefix; no '/', not starting with '.'): named by the whole
 * second, or with milliseconds (the start's, then the next free ones)
 * when that name is taken. Then rotate. The file name of the first file
 * into @written (@len bytes) unless NULL ("" when the window had no
 * samples: nothing is written). 0, or -errno with nothing of this window
 * left in the directory (-ENOSPC: "No space left on device"; one line
 * logged, then silence while the same error repeats, and a line once
 * writing works again); -EINVAL for a bad @name.
 */
int outdir__write(struct outdir *d, const struct profile *window, const char *name,
		  uint64_t start_unix_ns, char *written, size_t len);

/*
 * A latency anomaly's differential flame graph (red grew, blue shrank:
 * @after's frames coloured by the change of their share since @before,
 * as `sonde diff` draws them) and its "stack BEFORE AFTER" folded stacks
 * (raw counts, difffolded.pl's format), one pair per sample type of
 * @after with samples, named as window files of @name starting at
 * @start_unix_ns (".svg" and ".folded", TYPE for the second and later
 * types), written, placed and rotated as outdir__write() does. @subtitle
 * under the title. Same returns as outdir__write().
 */
int outdir__write_diff(struct outdir *d, const struct profile *before,
		       const struct profile *after, const char *name, uint64_t start_unix_ns,
		       const char *subtitle, char *written, size_t len);

void outdir__stats(const struct outdir *d, struct outdir_stats *out);

/* The directory as given. */
const char *outdir__path(const struct outdir *d);

/* Close the directory. NULL: no-op. */
void outdir__free(struct outdir *d);

#endif /* SONDE_EXPORT_OUTDIR_H */
