// SPDX-License-Identifier: MIT
/*
 * The window directory: encode every file of a window into memory, write
 * each to a temporary file (space reserved first, so a full disk fails
 * before a byte is written), fsync, pick a free name, rename without
 * replacing, fsync the directory, then rotate.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "export/encode.h"
#include "export/folded.h"
#include "export/outdir.h"
#include "export/sample_type.h"
#include "base/log.h"
#include "model/profile.h"

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
#define DIR_MODE 0750
#define FILE_MODE 0640
#define TMP_TAG ".tmp-"
#define TMP_RAND 6
/* A temporary file this old was left by a dead writer, not one at work. */
#define STALE_S 60
#define NAME_LEN 256

struct outdir {
	char *path;
	int dfd;
	enum window_format fmt;
	unsigned int keep, width;
	uint64_t max_size;
	struct outdir_stats st;
	int fail_err;	     /* errno of the failures in a row, 0 after a success */
	uint64_t fail_count; /* how many */
};

/* One file of a window being written. */
struct wfile {
	enum window_format fmt;
	const char *type; /* NULL: the first type, or pprof */
	char *buf;
	size_t len;
	char tmp[NAME_LEN + 16];
	char final[NAME_LEN];
	bool placed;
};

/* ---- opening the directory --------------------------------------------- */

/* mkdir -p of the parents of @path (a copy is cut at each '/'). */
static int make_parents(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(path, DIR_MODE) && errno != EEXIST) {
			int err = -errno;

			log_err("outdir: failed to create directory '%s': %s", path,
				strerror(-err));
			*s = '/';
			return err;
		}
		*s = '/';
	}
	return 0;
}

/* ".FILE.tmp-XXXXXX": its FILE part is a window name (or "sonde"), XXXXXX random. */
static bool is_tmp_name(const char *n)
{
	size_t len = strlen(n), tl = strlen(TMP_TAG);
	struct window_info wi;
	char mid[NAME_LEN];

	if (n[0] != '.' || len < 1 + tl + TMP_RAND + 1 || len - 1 >= sizeof(mid) ||
	    strncmp(n + len - TMP_RAND - tl, TMP_TAG, tl))
		return false;
	snprintf(mid, sizeof(mid), "%.*s", (int)(len - 1 - tl - TMP_RAND), n + 1);
	return !strcmp(mid, "sonde") || !window_parse_info(mid, &wi);
}

static void remove_stale(struct outdir *d)
{
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	unsigned int n = 0;
	int fd = dup(d->dfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;

	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		if (!is_tmp_name(de->d_name) ||
		    fstatat(d->dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode) ||
		    st.st_mtime > now - STALE_S)
			continue;
		if (!unlinkat(d->dfd, de->d_name, 0))
			n++;
	}
	closedir(dir);
	if (n)
		log_info("outdir: removed %u temporary files a previous run left in '%s'", n,
			 d->path);
}

static void random_name(char *out, size_t n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static unsigned int counter;
	unsigned char r[TMP_RAND];

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(((uint64_t)ts.tv_nsec >> (i * 5)) ^ ++counter ^
					       (unsigned int)getpid());
	}
	for (size_t i = 0; i < n && i < sizeof(r); i++)
		out[i] = set[r[i] % (sizeof(set) - 1)];
	out[n] = '\0';
}

/* Create ".@base.tmp-XXXXXX" exclusively; its fd, the name in @tmp. */
static int open_tmp(struct outdir *d, const char *base, char *tmp, size_t len)
{
	char rnd[TMP_RAND + 1];

	for (int i = 0; i < 100; i++) {
		int fd;

		random_name(rnd, TMP_RAND);
		snprintf(tmp, len, ".%s" TMP_TAG "%s", base, rnd);
		fd = openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    FILE_MODE);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

/* A file can be created there: found at start, not at the first window. */
static int probe_writable(struct outdir *d)
{
	char tmp[64];
	int fd = open_tmp(d, "sonde", tmp, sizeof(tmp));

	if (fd < 0)
		return fd;
	close(fd);
	unlinkat(d->dfd, tmp, 0);
	return 0;
}

int outdir__new(const struct outdir_opts *o, struct outdir **out)
{
	struct outdir *d;
	struct stat st;
	bool created = false;
	size_t len;
	int err;

	*out = NULL;
	if (!o->dir || !*o->dir || (unsigned int)o->format > WINDOW_SVG) {
		log_err("outdir: failed to open the window directory: %s",
			o->dir && *o->dir ? "unknown format" : "no directory given");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(o->dir))) {
		free(d);
		log_err("outdir: failed to open '%s': %s", o->dir, strerror(ENOMEM));
		return -ENOMEM;
	}
	d->dfd = -1;
	d->fmt = o->format;
	d->keep = o->keep;
	d->max_size = o->max_size;
	d->width = o->svg_width;
	/* "dir/" would follow a symlink at dir even with O_NOFOLLOW. */
	len = strlen(d->path);
	while (len > 1 && d->path[len - 1] == '/')
		d->path[--len] = '\0';

	err = make_parents(d->path);
	if (err)
		goto fail;
	if (!mkdir(d->path, DIR_MODE))
		created = true;
	else if (errno != EEXIST) {
		err = -errno;
		log_err("outdir: failed to create directory '%s': %s", d->path, strerror(-err));
		goto fail;
	}
	d->dfd = open(d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->dfd < 0) {
		err = -errno;
		/* O_DIRECTORY says ENOTDIR for a symlink: tell the two apart. */
		if (!lstat(d->path, &st) && S_ISLNK(st.st_mode))
			err = -ELOOP;
		if (err == -ELOOP)
			log_err("outdir: refusing '%s': it is a symbolic link; give the directory "
				"it points to",
				d->path);
		else if (err == -ENOTDIR)
			log_err("outdir: refusing '%s': not a directory", d->path);
		else
			log_err("outdir: failed to open directory '%s': %s", d->path,
				strerror(-err));
		goto fail;
	}
	if (fstat(d->dfd, &st)) {
		err = -errno;
		log_err("outdir: failed to stat directory '%s': %s", d->path, strerror(-err));
		goto fail;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		err = -EPERM;
		log_err("outdir: refusing '%s': every user may write to it (mode %04o); use a "
			"directory of sonde's own, or chmod o-w it",
			d->path, (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	/* mkdir() obeyed the umask; a directory we made gets the mode we say. */
	if (created)
		fchmod(d->dfd, DIR_MODE);
	err = probe_writable(d);
	if (err) {
		log_err("outdir: failed to create files in '%s': %s", d->path, strerror(-err));
		goto fail;
	}
	remove_stale(d);
	*out = d;
	return 0;
fail:
	outdir__free(d);
	return err;
}

void outdir__free(struct outdir *d)
{
	if (!d)
		return;
	if (d->dfd >= 0)
		close(d->dfd);
	free(d->path);
	free(d);
}

const char *outdir__path(const struct outdir *d)
{
	return d->path;
}

void outdir__stats(const struct outdir *d, struct outdir_stats *out)
{
	*out = d->st;
}

/* ---- rotation ----------------------------------------------------------- */

struct entry {
	char *file;
	size_t name_len; /* of NAME in file */
	uint64_t start, size;
	bool gone;
};

/* By NAME, then start, then file name: a window's files are adjacent. */
static int by_name_time(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->file, y->file, n);

	if (c || x->name_len != y->name_len)
		return c ? c : (x->name_len < y->name_len ? -1 : 1);
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->file, y->file);
}

static bool same_window(const struct entry *a, const struct entry *b)
{
	return a->name_len == b->name_len && a->start == b->start &&
	       !memcmp(a->file, b->file, a->name_len);
}

/* The window files in the directory, sorted; -errno. */
static int list_windows(struct outdir *d, struct entry **out, size_t *n)
{
	struct entry *v = NULL;
	size_t cap = 0;
	struct dirent *de;
	struct window_info wi;
	struct stat st;
	int fd = dup(d->dfd), err = 0;
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;

	*n = 0;
	if (!dir) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	rewinddir(dir);
	while ((de = readdir(dir))) {
		if (window_parse_info(de->d_name, &wi) ||
		    fstatat(d->dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (*n == cap) {
			struct entry *nv = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
			cap = cap ? cap * 2 : 64;
		}
		v[*n] = (struct entry){.file = strdup(de->d_name),
				       .name_len = wi.name_len,
				       .start = wi.start_unix_ns,
				       .size = (uint64_t)st.st_size};
		if (!v[*n].file) {
			err = -ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(dir);
	/* An empty directory leaves v NULL, which qsort may not be given. */
	if (!err && *n)
		qsort(v, *n, sizeof(*v), by_name_time);
	*out = v;
	return err;
}

/* Remove every file of the window starting at v[i]; the index past it. */
static size_t remove_window(struct outdir *d, struct entry *v, size_t n, size_t i, int *err)
{
	size_t j = i;

	for (; j < n && same_window(&v[i], &v[j]); j++) {
		if (v[j].gone)
			continue;
		if (unlinkat(d->dfd, v[j].file, 0) && errno != ENOENT) {
			if (!*err) {
				*err = -errno;
				log_warn("outdir: failed to remove old window '%s/%s': %s", d->path,
					 v[j].file, strerror(errno));
			}
			continue;
		}
		v[j].gone = true;
		d->st.files_removed++;
		d->st.bytes_removed += v[j].size;
	}
	return j;
}

/* Window starts in the order to remove them by size: oldest first. */
struct wref {
	size_t i;
	uint64_t start;
	const char *file;
};

static int by_time(const void *a, const void *b)
{
	const struct wref *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->file, y->file);
}

/* Keep @keep windows per NAME and @max_size bytes; never the window of @mine. */
static void rotate(struct outdir *d, const char *mine)
{
	struct entry *v = NULL, me = {0};
	struct window_info wi;
	struct wref *w = NULL;
	size_t n = 0, nw = 0;
	uint64_t total = 0;
	int err = 0;

	if (!d->keep && !d->max_size)
		return;
	if (window_parse_info(mine, &wi))
		return;
	me = (struct entry){.file = (char *)mine, .name_len = wi.name_len,
			    .start = wi.start_unix_ns};
	if (list_windows(d, &v, &n))
		goto out;
	w = calloc(n ? n : 1, sizeof(*w));
	if (!w)
		goto out;
	/* Windows of each NAME, newest last: all but the last @keep go. */
	for (size_t i = 0; i < n;) {
		size_t end = i, kept = 0, nwin = 0;

		while (end < n && v[end].name_len == v[i].name_len &&
		       !memcmp(v[end].file, v[i].file, v[i].name_len))
			end++;
		for (size_t j = i; j < end; j++)
			nwin += j == i || !same_window(&v[j - 1], &v[j]);
		for (size_t j = i; j < end;) {
			size_t next = j;

			while (next < end && same_window(&v[j], &v[next]))
				next++;
			if (d->keep && nwin - kept > d->keep && !same_window(&v[j], &me)) {
				remove_window(d, v, n, j, &err);
			} else {
				w[nw++] = (struct wref){j, v[j].start, v[j].file};
				for (size_t k = j; k < next; k++)
					total += v[k].size;
			}
			kept++;
			j = next;
		}
		i = end;
	}
	/* Then the oldest windows of any NAME while over the size. */
	if (nw)
		qsort(w, nw, sizeof(*w), by_time);
	for (size_t k = 0; d->max_size && total > d->max_size && k < nw; k++) {
		size_t i = w[k].i;

		if (same_window(&v[i], &me))
			continue;
		for (size_t j = i; j < n && same_window(&v[i], &v[j]); j++)
			total -= v[j].size;
		remove_window(d, v, n, i, &err);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(v[i].file);
	free(v);
	free(w);
}

/* ---- writing a window --------------------------------------------------- */

static bool name_ok(const char *name)
{
	if (!name)
		return true;
	if (name[0] == '.' || strlen(name) > NAME_LEN - 64 || strchr(name, '/'))
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* The flame graph of one sample type, titled by it. */
static int encode_svg(struct outdir *d, const struct profile *one, const char *name,
		      uint64_t start, struct wfile *f)
{
	const struct profile_type *t = profile__type(one, 0);
	const struct sample_type_desc *desc = sample_type_desc(t->type);
	char title[128], sub[256], when[64];
	time_t secs = (time_t)(start / NS_PER_S);
	struct tm tm;
	struct svg_opts so = {.width = d->width};

	if (desc) {
		so.title = desc->title;
		so.unit = desc->unit;
		so.units = desc->units;
	} else {
		snprintf(title, sizeof(title), "%s flame graph", t->type);
		so.title = title;
		so.unit = so.units = t->unit;
	}
	when[0] = '\0';
	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(sub, sizeof(sub), "%s%swindow from %s", name ? name : "", name && *name ? ": " : "",
		 when);
	so.subtitle = sub;
	return profile_encode(one, WINDOW_SVG, &so, &f->buf, &f->len);
}

/* Every file of the window into memory: one for pprof, one per type with samples else. */
static int encode_window(struct outdir *d, const struct profile *w, const char *name,
			 uint64_t start, struct wfile *files, size_t *nf)
{
	int err = 0;

	*nf = 0;
	if (d->fmt == WINDOW_PPROF) {
		if (!profile_has_samples(w))
			return 0;
		*nf = 1;
		files[0].fmt = WINDOW_PPROF;
		return profile_encode(w, WINDOW_PPROF, NULL, &files[0].buf, &files[0].len);
	}
	for (uint32_t t = 0; t < profile__type_count(w) && !err; t++) {
		struct profile *extracted = NULL;
		const struct profile *one = w;
		struct wfile *f = &files[*nf];

		if (!profile__type_total(w, t))
			continue;
		if (t) {
			one = extracted = profile__extract(w, t);
			if (!one)
				return -ENOMEM;
			f->type = profile__type(w, t)->type;
		}
		f->fmt = d->fmt;
		(*nf)++;
		err = d->fmt == WINDOW_SVG ? encode_svg(d, one, name, start, f)
					   : profile_encode(one, WINDOW_FOLDED, NULL, &f->buf, &f->len);
		profile__free(extracted);
	}
	return err;
}

/* @f's bytes into a new temporary file, on disk when this returns 0. */
static int write_tmp(struct outdir *d, struct wfile *f, const char *base)
{
	size_t off = 0;
	int fd = open_tmp(d, base, f->tmp, sizeof(f->tmp)), err = 0;

	if (fd < 0) {
		f->tmp[0] = '\0';
		return fd;
	}
	/* Reserve the space first: a full disk fails here, before any data. */
	if (f->len && (err = posix_fallocate(fd, 0, (off_t)f->len)) != 0 && err != EOPNOTSUPP &&
	    err != EINVAL) {
		err = -err;
		goto out;
	}
	err = 0;
	while (off < f->len) {
		ssize_t w = write(fd, f->buf + off, f->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd))
		err = -errno;
out:
	if (close(fd) && !err)
		err = -errno;
	return err;
}

/* The names of every file for the stamp @ns; false if one is taken. */
static bool names_free(struct outdir *d, struct wfile *files, size_t nf, const char *name,
		       uint64_t ns)
{
	struct stat st;

	for (size_t i = 0; i < nf; i++) {
		if (window_name_fmt(files[i].final, sizeof(files[i].final), name, ns, files[i].fmt,
				    files[i].type) < 0)
			return false;
		if (!fstatat(d->dfd, files[i].final, &st, AT_SYMLINK_NOFOLLOW) || errno != ENOENT)
			return false;
	}
	return true;
}

/* Rename every temporary file into the first free names; -EEXIST if none. */
static int place(struct outdir *d, struct wfile *files, size_t nf, const char *name,
		 uint64_t start)
{
	uint64_t sec = start / NS_PER_S * NS_PER_S;
	unsigned int ms = (unsigned int)(start % NS_PER_S / NS_PER_MS);

	/* The whole second; then the start's milliseconds and the ones after. */
	for (unsigned int c = 0; c <= 1000; c++) {
		uint64_t ns = c == 0 ? sec : sec + (uint64_t)((ms + c - 1) % 1000) * NS_PER_MS;
		size_t i;

		if ((c && ns == sec) || !names_free(d, files, nf, name, ns))
			continue;
		for (i = 0; i < nf; i++) {
			if (renameat2(d->dfd, files[i].tmp, d->dfd, files[i].final,
				      RENAME_NOREPLACE))
				break;
			files[i].placed = true;
		}
		if (i == nf)
			return 0;
		/* Taken meanwhile: take back what was placed, try the next name. */
		if (errno != EEXIST) {
			int err = -errno;

			for (size_t j = 0; j < i; j++)
				if (!renameat(d->dfd, files[j].final, d->dfd, files[j].tmp))
					files[j].placed = false;
			return err;
		}
		for (size_t j = 0; j < i; j++)
			if (!renameat(d->dfd, files[j].final, d->dfd, files[j].tmp))
				files[j].placed = false;
	}
	return -EEXIST;
}

static void note_failure(struct outdir *d, const char *what, int err)
{
	d->st.failures++;
	if (d->fail_err != -err)
		log_err("outdir: failed to write window %s to '%s': %s", what, d->path,
			strerror(-err));
	d->fail_err = -err;
	d->fail_count++;
}

/* Write, place and rotate the @nf files of a window, then free them. */
static int write_files(struct outdir *d, struct wfile *files, size_t nf, const char *name,
		       uint64_t start_unix_ns, int err, char *written, size_t len)
{
	char base[NAME_LEN];

	window_name_fmt(base, sizeof(base), name, start_unix_ns / NS_PER_S * NS_PER_S, d->fmt,
			NULL);
	if (!err && !nf) {
		d->st.windows_empty++;
		return 0;
	}
	for (size_t i = 0; i < nf && !err; i++)
		err = write_tmp(d, &files[i], base);
	if (!err)
		err = place(d, files, nf, name, start_unix_ns);
	if (!err && fsync(d->dfd))
		err = -errno;
	if (err) {
		note_failure(d, base, err);
		goto out;
	}
	if (d->fail_count)
		log_info("outdir: writing windows to '%s' again (%llu failed)", d->path,
			 (unsigned long long)d->fail_count);
	d->fail_err = 0;
	d->fail_count = 0;
	d->st.windows_written++;
	for (size_t i = 0; i < nf; i++) {
		d->st.files_written++;
		d->st.bytes_written += files[i].len;
	}
	if (written && len)
		snprintf(written, len, "%s", files[0].final);
	rotate(d, files[0].final);
out:
	for (size_t i = 0; i < nf; i++) {
		/* Nothing of a failed window stays; a placed file is the window's now. */
		if (files[i].tmp[0] && !files[i].placed)
			unlinkat(d->dfd, files[i].tmp, 0);
		if (err && files[i].placed)
			unlinkat(d->dfd, files[i].final, 0);
		free(files[i].buf);
	}
	return err;
}

int outdir__write(struct outdir *d, const struct profile *window, const char *name,
		  uint64_t start_unix_ns, char *written, size_t len)
{
	struct wfile files[PROFILE_MAX_TYPES] = {0};
	size_t nf = 0;
	int err;

	if (written && len)
		written[0] = '\0';
	if (!name_ok(name)) {
		log_err("outdir: failed to use window name '%s': it may not hold '/' or control "
			"characters nor start with '.'",
			name);
		return -EINVAL;
	}
	err = encode_window(d, window, name, start_unix_ns, files, &nf);
	return write_files(d, files, nf, name, start_unix_ns, err, written, len);
}

/* Type @t of @p alone (@p itself for type 0), or an empty profile of it when absent. */
static struct profile *one_type(const struct profile *p, const struct profile_type *t,
				bool *owned)
{
	int i = profile__type_index(p, t->type);
	struct profile *q;

	*owned = true;
	if (i == 0) {
		*owned = false;
		return (struct profile *)p;
	}
	if (i > 0)
		return profile__extract(p, (uint32_t)i);
	q = profile__new();
	if (q && profile__add_type(q, t->type, t->unit) < 0) {
		profile__free(q);
		q = NULL;
	}
	return q;
}

/* The differential flame graph and the two-count folded stacks of one type. */
static int encode_diff(struct outdir *d, const struct profile *before, const struct profile *after,
		       const char *subtitle, struct wfile *f)
{
	const struct sample_type_desc *desc = sample_type_desc(profile__type(after, 0)->type);
	struct svg_opts so = {.width = d->width, .before = before, .subtitle = subtitle};
	char title[128];
	FILE *mf;
	int err;

	snprintf(title, sizeof(title), "Differential %s: latency anomaly against its baseline",
		 desc ? desc->title : "flame graph");
	so.title = title;
	if (desc) {
		so.unit = desc->unit;
		so.units = desc->units;
	}
	f[0].fmt = WINDOW_SVG;
	err = profile_encode(after, WINDOW_SVG, &so, &f[0].buf, &f[0].len);
	if (err)
		return err;
	f[1].fmt = WINDOW_FOLDED;
	f[1].type = f[0].type;
	mf = open_memstream(&f[1].buf, &f[1].len);
	if (!mf)
		return -ENOMEM;
	err = folded_diff__write(before, after, mf, false);
	if (fclose(mf) && !err)
		err = -ENOMEM;
	return err;
}

int outdir__write_diff(struct outdir *d, const struct profile *before,
		       const struct profile *after, const char *name, uint64_t start_unix_ns,
		       const char *subtitle, char *written, size_t len)
{
	struct wfile files[2 * PROFILE_MAX_TYPES] = {0};
	size_t nf = 0;
	int err = 0;

	if (written && len)
		written[0] = '\0';
	if (!name_ok(name))
		return -EINVAL;
	for (uint32_t t = 0; t < profile__type_count(after) && !err; t++) {
		const struct profile_type *pt = profile__type(after, t);
		struct profile *b = NULL, *a = NULL;
		bool bown = false, aown = false;

		if (!profile__type_total(after, t))
			continue;
		b = one_type(before, pt, &bown);
		a = one_type(after, pt, &aown);
		if (!a || !b) {
			err = -ENOMEM;
		} else {
			files[nf].type = files[nf + 1].type = t ? pt->type : NULL;
			err = encode_diff(d, b, a, subtitle, &files[nf]);
			nf += 2;
		}
		if (bown)
			profile__free(b);
		if (aown)
			profile__free(a);
	}
	return write_files(d, files, nf, name, start_unix_ns, err, written, len);
}
