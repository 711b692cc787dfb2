// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/outfile.h"
#include "base/strbuf.h"
#include "export/folded.h"
#include "export/otlp_json.h"
#include "export/pprof.h"
#include "export/sample_type.h"
#include "export/svg.h"
#include "export/top.h"
#include "model/profile.h"
#include "session/outputs.h"

/*
 * Spans are formatted into a buffer and written once per tick (so `tail
 * -f` sees them within 100 ms), with write(2): a failed write (a full
 * disk) drops that buffer's spans, counted, and truncates a regular file
 * back to its last whole line, and the run goes on.
 */
struct span_buf {
	char *text;
	size_t len;
	FILE *mem; /* open_memstream over text/len */
	uint64_t pending; /* spans in text */
	uint64_t written, dropped;
	off_t good; /* bytes of whole lines in a regular file */
	bool regular;
	int error; /* the last write error, -errno */
};

struct outputs {
	const struct output_opts *o;
	const char *cmd;
	struct outfile *out[OUTPUTS_MAX];
	struct outfile *spans;
	struct span_buf sb;
	struct otlp_json *json; /* the --spans lines */
	char wrote[1024];
};

int out_format_from_path(const char *path, enum out_format *fmt)
{
	static const struct {
		const char *ext;
		enum out_format fmt;
	} exts[] = {
		{".folded", OUT_FOLDED},
		{".svg", OUT_SVG},
		{".pb.gz", OUT_PPROF},
	};
	size_t len = strlen(path);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t el = strlen(exts[i].ext);

		if (len > el && !strcmp(path + len - el, exts[i].ext)) {
			*fmt = exts[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

int out_format_from_name(const char *name, enum out_format *fmt)
{
	if (!strcmp(name, "folded"))
		*fmt = OUT_FOLDED;
	else if (!strcmp(name, "svg"))
		*fmt = OUT_SVG;
	else if (!strcmp(name, "pprof") || !strcmp(name, "pb.gz"))
		*fmt = OUT_PPROF;
	else
		return -EINVAL;
	return 0;
}

static bool is_stdout(const char *path)
{
	return !strcmp(path, OUTPUT_STDOUT);
}

int outputs__open(const struct output_opts *o, const char *cmd, struct outputs **out)
{
	struct outputs *x = calloc(1, sizeof(*x));
	int err;

	if (!x)
		return -ENOMEM;
	x->o = o;
	x->cmd = cmd;
	for (unsigned int i = 0; i < o->n; i++) {
		if (is_stdout(o->paths[i]))
			continue;
		err = outfile__open(o->paths[i], OUTFILE_ATOMIC, &x->out[i]);
		if (err)
			goto err_free;
	}
	if (o->spans_path) {
		struct stat st;

		err = outfile__open(o->spans_path, OUTFILE_STREAM, &x->spans);
		if (!err)
			err = otlp_json__new(&x->json);
		if (err)
			goto err_free;
		x->sb.mem = open_memstream(&x->sb.text, &x->sb.len);
		if (!x->sb.mem) {
			err = -ENOMEM;
			goto err_free;
		}
		x->sb.regular = !fstat(outfile__fd(x->spans), &st) && S_ISREG(st.st_mode);
	}
	*out = x;
	return 0;

err_free:
	outputs__free(x);
	return err;
}

bool outputs__spans(const struct outputs *x)
{
	return x->spans != NULL;
}

int outputs__write_span(struct outputs *x, const struct span_record *s)
{
	int err;

	if (!x->spans)
		return 0;
	err = otlp_json__write(x->json, x->sb.mem, s);
	if (err) {
		log_err("%s: failed to format a span: %s", x->cmd, strerror(-err));
		return err;
	}
	x->sb.pending++;
	return 1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

int outputs__flush_spans(struct outputs *x)
{
	struct span_buf *b = &x->sb;
	int fd, err;

	if (!x->spans || fflush(b->mem) || !b->len)
		return 0;
	fd = outfile__fd(x->spans);
	err = write_all(fd, b->text, b->len);
	if (err) {
		/* Keep the file whole lines: a reader must never see half a span. */
		if (b->regular && ftruncate(fd, b->good) == 0)
			lseek(fd, b->good, SEEK_SET);
		if (b->error != err)
			log_warn("%s: failed to write spans to '%s': %s; dropping them until "
				 "writes succeed again",
				 x->cmd, x->o->spans_path, strerror(-err));
		b->error = err;
		b->dropped += b->pending;
	} else {
		if (b->error)
			log_info("%s: writing spans to '%s' again", x->cmd, x->o->spans_path);
		b->error = 0;
		b->written += b->pending;
		b->good += (off_t)b->len;
	}
	b->pending = 0;
	rewind(b->mem);
	b->len = 0;
	return 0;
}

void outputs__span_stats(const struct outputs *x, uint64_t *written, uint64_t *dropped,
			 int *error)
{
	*written = x->sb.written;
	*dropped = x->sb.dropped;
	*error = x->sb.error;
}

/*
 * A one-type profile @one (type @type of the recording) to @f in format
 * @fmt, described by @m: the first type takes the command's title and
 * units (--title wins), the others their own.
 */
static int write_fmt(struct outputs *x, enum out_format fmt, const struct profile *one,
		     uint32_t type, FILE *f, const struct output_meta *m)
{
	const struct profile_type *t = profile__type(one, 0);
	const struct sample_type_desc *d = sample_type_desc(t->type);
	char title[128];
	struct svg_opts so = {
		.subtitle = m->subtitle,
		.width = x->o->width,
		.inverted = x->o->inverted,
		.unit = m->unit,
		.units = m->units,
		.before = m->before,
	};

	switch (fmt) {
	case OUT_FOLDED:
		return m->before ? folded_diff__write(m->before, one, f, m->normalize)
				 : folded__write(one, f);
	case OUT_SVG:
		if (d && strcmp(t->type, "samples")) {
			so.title = d->title;
			so.unit = d->unit;
			so.units = d->units;
		} else if (!d) {
			snprintf(title, sizeof(title), "%s flame graph", t->type);
			so.title = title;
			so.unit = so.units = t->unit;
		}
		if (!type && m->title)
			so.title = m->title;
		if (!type && x->o->title)
			so.title = x->o->title;
		return flamegraph_svg__write(one, f, &so);
	default:
		return -EINVAL;
	}
}

/* "x.svg" with type "off_cpu" -> "x.off_cpu.svg" (before the extension). */
static void type_path(const char *path, enum out_format fmt, const char *type, char *out,
		      size_t len)
{
	size_t plen = strlen(path), elen = fmt == OUT_FOLDED ? 7 : 4;

	snprintf(out, len, "%.*s.%s%s", (int)(plen - elen), path, type, path + plen - elen);
}

/*
 * Sample type @type of @p into its own file beside -o @i: committed at
 * once (the -o file itself was checked writable before the run).
 */
static int write_type_file(struct outputs *x, unsigned int i, const struct profile *p,
			   uint32_t type, const struct output_meta *m, size_t *n)
{
	struct profile *one = profile__extract(p, type);
	struct outfile *of = NULL;
	char path[4096];
	int err;

	if (!one)
		return -ENOMEM;
	type_path(x->o->paths[i], x->o->formats[i], profile__type(p, type)->type, path,
		  sizeof(path));
	err = outfile__open(path, OUTFILE_ATOMIC, &of);
	if (!err) {
		err = write_fmt(x, x->o->formats[i], one, type, outfile__fp(of), m);
		if (err && outfile__error(of))
			err = outfile__error(of);
		if (err)
			log_err("%s: failed to write '%s': %s", x->cmd, path, strerror(-err));
		else
			err = outfile__commit(of);
	}
	if (!err)
		*n = str_append(x->wrote, sizeof(x->wrote), *n, ", %s", path);
	outfile__free(of);
	profile__free(one);
	return err;
}

static int write_one(struct outputs *x, unsigned int i, const struct profile *p,
		     const struct output_meta *m, size_t *n)
{
	enum out_format fmt = x->o->formats[i];
	FILE *f = x->out[i] ? outfile__fp(x->out[i]) : stdout;
	int err;

	/* pprof holds every type; the other formats one each, type 0 in -o. */
	if (fmt == OUT_PPROF) {
		struct pprof_opts po = {.sample_type = m->sample_type,
					.sample_unit = m->sample_unit};

		/* Two profiles and their difference are no one pprof profile. */
		err = m->before ? -EINVAL : pprof__write_opts(p, f, &po);
	} else {
		err = write_fmt(x, fmt, p, 0, f, m);
	}
	if (!x->out[i] && stream_reader_gone(stdout, err)) {
		/* -o - | head: the reader had what it wanted. */
		log_info("%s: stdout closed: the profile was cut short", x->cmd);
		return 0;
	}
	if (err) {
		/* The writer saw a stream error; the file knows its errno. */
		if (x->out[i] && outfile__error(x->out[i]))
			err = outfile__error(x->out[i]);
		log_err("%s: failed to write '%s': %s", x->cmd, x->o->paths[i], strerror(-err));
		return err;
	}
	err = x->out[i] ? outfile__commit(x->out[i]) : stream_flush_error(stdout);
	if (err)
		return err;
	*n = str_append(x->wrote, sizeof(x->wrote), *n, "%s%s", i ? ", " : ", wrote ",
			x->out[i] ? x->o->paths[i] : "stdout");
	/* stdout takes one profile: the other types need -o FILE. */
	for (uint32_t t = 1; fmt != OUT_PPROF && x->out[i] && t < profile__type_count(p); t++) {
		err = write_type_file(x, i, p, t, m, n);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The table(s) on @f: the top movers of a diff, or one table per sample
 * type, each headed by its total and unit. A reader that went away
 * (`| head`) is not an error: SIGPIPE is ignored, the rest is dropped, the
 * closing line still goes to stderr. A full disk or any other error is one.
 */
static int write_tables(struct outputs *x, const struct profile *p, const struct output_meta *m,
			FILE *f)
{
	int err = 0;

	if (m->before) {
		err = report_top_diff__write(m->before, p, f, x->o->top, m->units);
	} else {
		for (uint32_t t = 0; t < profile__type_count(p) && !err; t++) {
			struct profile *one = t ? profile__extract(p, t) : NULL;

			if (t && !one)
				return -ENOMEM;
			if (t)
				fputc('\n', f);
			err = report_top__write_as(
				t ? one : p, f, x->o->top,
				!t && m->units && strcmp(m->units, "samples") ? m->units : NULL);
			profile__free(one);
		}
	}
	if (!err)
		err = stream_flush_error(f);
	if (stream_reader_gone(f, err)) {
		log_info("%s: %s closed: the table was cut short", x->cmd,
			 f == stdout ? "stdout" : "stderr");
		return 0;
	}
	if (err) {
		log_err("%s: failed to write the table to %s: %s", x->cmd,
			f == stdout ? "stdout" : "stderr", strerror(-err));
		return err;
	}
	return 0;
}

int outputs__write_profile(struct outputs *x, const struct profile *p, const struct output_meta *m)
{
	bool to_stdout = false;
	size_t n = 0;
	int err;

	for (unsigned int i = 0; i < x->o->n; i++)
		to_stdout |= is_stdout(x->o->paths[i]);
	/* The table goes to the terminal: stderr when the profile has stdout. */
	if (!x->o->n || x->o->top_given || m->before) {
		err = write_tables(x, p, m, to_stdout ? stderr : stdout);
		if (err)
			return err;
	}
	for (unsigned int i = 0; i < x->o->n; i++) {
		err = write_one(x, i, p, m, &n);
		if (err)
			return err;
	}
	return 0;
}

int outputs__describe(struct outputs *x, const pid_t *pids, int npids, const char *exe,
		       const char *cmd)
{
	int err = 0;

	for (int i = 0; x->json && i < npids && !err; i++)
		err = otlp_json__add_process(x->json, pids[i], i || !cmd ? NULL : exe,
					     i || !cmd ? NULL : cmd);
	if (err)
		log_err("%s: failed to describe the targets for --spans: %s", x->cmd,
			strerror(-err));
	return err;
}

int outputs__commit_spans(struct outputs *x)
{
	if (!x->spans)
		return 0;
	outputs__flush_spans(x);
	/* What could not be written is counted and reported, not an error. */
	return x->sb.error ? 0 : outfile__commit(x->spans);
}

const char *outputs__wrote(struct outputs *x)
{
	return x->wrote;
}

void outputs__free(struct outputs *x)
{
	if (!x)
		return;
	for (unsigned int i = 0; i < OUTPUTS_MAX; i++)
		outfile__free(x->out[i]);
	outfile__free(x->spans);
	if (x->sb.mem)
		fclose(x->sb.mem);
	free(x->sb.text);
	otlp_json__free(x->json);
	free(x);
}
