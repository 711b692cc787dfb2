/* SPDX-License-Identifier: MIT */
/*
 * A session's files: the profile in the formats -o names (or the table of
 * the hottest functions without -o) and the --spans file. Every file is
 * opened before the run starts, so an unwritable path fails it early, and
 * written atomically at the end (no partial file on error).
 */
#ifndef SONDE_SESSION_OUTPUTS_H
#define SONDE_SESSION_OUTPUTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct profile;
struct span_record;

enum out_format {
	OUT_NONE = 0, /* no -o: print a table of the hottest functions */
	OUT_FOLDED,
	OUT_SVG,
	OUT_PPROF,
};

/* Output format from a file name's extension; -EINVAL if unknown. */
int out_format_from_path(const char *path, enum out_format *fmt);
/* Output format by name ("folded", "svg", "pprof" or "pb.gz"); -EINVAL if unknown. */
int out_format_from_name(const char *name, enum out_format *fmt);

/* -o -: the profile goes to stdout (format from --format, default folded). */
#define OUTPUT_STDOUT "-"

#define OUTPUTS_MAX 8

struct output_opts {
	/* -o FILE, repeatable: one recording written in several formats. */
	const char *paths[OUTPUTS_MAX];
	enum out_format formats[OUTPUTS_MAX];
	unsigned int n; /* 0: print a table of the hottest functions */
	unsigned int top; /* --top N rows of the table */
	bool top_given;	  /* --top: print the table with -o too */
	const char *spans_path; /* --spans FILE or NULL */
	/* SVG: --title (NULL: the command's), --width (0: 1200), --inverted. */
	const char *title;
	unsigned int width;
	bool inverted;
	enum out_format stdout_format; /* --format of -o - (OUT_NONE: folded) */
	/* The whole command line, shell-quoted, for the SVG subtitle (malloc'd). */
	char *cmdline;
};

/* What a profile is, for the writers; every field may be 0/NULL. */
struct output_meta {
	const char *title;	  /* SVG title unless --title: "CPU flame graph" */
	const char *subtitle;	  /* SVG subtitle, e.g. the command line */
	const char *unit, *units; /* what a count counts: "sample"/"samples" */
	/* pprof: the one sample type of the counts (NULL: samples + cpu time) */
	const char *sample_type, *sample_unit;
	/*
	 * A differential profile: the profile written is AFTER and this is
	 * BEFORE. SVG colours by the change of share, folded writes "stack
	 * BEFORE AFTER" (@normalize: BEFORE scaled to AFTER's total), the
	 * table lists the top movers. pprof cannot hold it.
	 */
	const struct profile *before;
	bool normalize;
};

struct outputs;

/* Open every file now. 0 or -errno (message printed). */
int outputs__open(const struct output_opts *o, const char *cmd, struct outputs **out);
bool outputs__spans(const struct outputs *x);
/*
 * Append one span to the --spans file's buffer. 1 when taken, 0 without a
 * spans file, or -errno (logged).
 */
int outputs__write_span(struct outputs *x, const struct span_record *s);
/*
 * Write the buffered spans (every tick). A failed write is not an error:
 * its spans are dropped and counted (outputs__span_stats), and the next
 * flush tries again.
 */
int outputs__flush_spans(struct outputs *x);
/* Spans written and dropped so far, and the last write error (-errno or 0). */
void outputs__span_stats(const struct outputs *x, uint64_t *written, uint64_t *dropped,
			 int *error);
/*
 * Write @p in every -o format (described by @m), and the table of the
 * hottest functions (of the top movers for a diff) on stdout without -o or
 * with --top (on stderr when -o - has stdout). A profile of several sample
 * types (-e cpu,offcpu) goes whole into a .pb.gz (one pprof with every
 * sample type); the one-value formats write the first type to the -o file
 * and each other type to the same name with ".TYPE" before the extension,
 * TYPE being the pprof sample type: -o x.svg writes x.svg (cpu) and
 * x.off_cpu.svg. Without -o, one table per type. 0 or the first error
 * (logged).
 */
int outputs__write_profile(struct outputs *x, const struct profile *p, const struct output_meta *m);
/*
 * Describe the targets for the Resources of the --spans lines, as
 * exporters__start_otlp() does. 0 or -errno (logged).
 */
int outputs__describe(struct outputs *x, const pid_t *pids, int npids, const char *exe,
		       const char *cmd);
/* Commit the --spans file. 0 or -errno (logged). */
int outputs__commit_spans(struct outputs *x);
/* ", wrote a.svg, b.pb.gz" for the closing line; "" without -o. */
const char *outputs__wrote(struct outputs *x);
void outputs__free(struct outputs *x);

#endif /* SONDE_SESSION_OUTPUTS_H */
