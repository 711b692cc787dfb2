// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/outfile.h"

struct outfile {
	char *path; /* as given, for messages */
	char *dest; /* what is replaced on commit (a symlink's target) */
	char *tmp;  /* atomic mode: the temporary file */
	FILE *fp;
	int fd;
	int error; /* first write error, -errno */
	bool in_place;
	bool is_stdout;
	int committed;
};

/* The FILE's write function: keep the first error's errno. */
static ssize_t cookie_write(void *c, const char *buf, size_t len)
{
	struct outfile *o = c;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(o->fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!o->error)
				o->error = n < 0 ? -errno : -EIO;
			errno = -o->error;
			/* fopencookie(3): the bytes written, 0 on error, never negative. */
			return (ssize_t)done;
		}
		done += n;
	}
	return done;
}

static int cookie_close(void *c)
{
	struct outfile *o = c;
	int err = 0;

	if (!o->is_stdout && o->fd >= 0 && close(o->fd))
		err = -1;
	o->fd = -1;
	return err;
}

static int open_stream(struct outfile *o)
{
	cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};

	o->fp = fopencookie(o, "w", io);
	return o->fp ? 0 : -errno;
}

/* Remove PATH.sonde-PID-XXXXXX files whose PID is gone (a sonde that was killed). */
static void remove_stale(const char *dest)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 16];
	const char *slash = strrchr(dest, '/'), *base = slash ? slash + 1 : dest;
	struct dirent *e;
	DIR *d;
	int dfd;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - dest + 1), dest);
	else
		snprintf(dir, sizeof(dir), ".");
	if (snprintf(prefix, sizeof(prefix), "%s.sonde-", base) >= (int)sizeof(prefix))
		return;
	d = opendir(dir);
	if (!d)
		return;
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		pid = strtol(e->d_name + strlen(prefix), &end, 10);
		if (pid <= 0 || *end != '-' || strlen(end) != 7)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (!unlinkat(dfd, e->d_name, 0))
			log_info("removed '%s%s', left by sonde %ld, which was killed", slash ? dir : "",
				 e->d_name, pid);
	}
	closedir(d);
}

/*
 * What to write: the path itself, or where a symlink points (also when
 * the target does not exist yet). NULL on ENOMEM.
 */
static char *resolve_dest(const char *path)
{
	char link[PATH_MAX], *real = realpath(path, NULL), *out;
	const char *slash;
	ssize_t n;

	if (real)
		return real;
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return strdup(path);
	link[n] = '\0';
	slash = strrchr(path, '/');
	if (link[0] == '/' || !slash)
		return strdup(link);
	if (asprintf(&out, "%.*s%s", (int)(slash - path + 1), path, link) < 0)
		return NULL;
	return out;
}

/* Write in place: a device, a FIFO (which must have a reader), or --spans. */
static int open_in_place(struct outfile *o, bool regular)
{
	int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

	if (regular)
		flags |= O_CREAT | O_TRUNC;
	o->fd = open(o->dest, flags, 0644);
	if (o->fd < 0) {
		int err = -errno;

		if (err == -ENXIO)
			log_err("cannot write '%s': it is a FIFO with no reader", o->path);
		else
			log_err("cannot write '%s': %s", o->path, strerror(-err));
		return err;
	}
	/* Non-blocking only so that opening a FIFO cannot hang: writes block. */
	fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) & ~O_NONBLOCK);
	o->in_place = true;
	return 0;
}

static int open_atomic(struct outfile *o)
{
	remove_stale(o->dest);
	if (asprintf(&o->tmp, "%s.sonde-%d-XXXXXX", o->dest, (int)getpid()) < 0) {
		o->tmp = NULL;
		return -ENOMEM;
	}
	o->fd = mkstemp(o->tmp);
	if (o->fd < 0) {
		int err = -errno;

		log_err("cannot write '%s': %s (choose a writable path with -o)", o->path,
			strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return err;
	}
	fcntl(o->fd, F_SETFD, FD_CLOEXEC);
	/* mkstemp makes 0600; an output file should look like any other. */
	fchmod(o->fd, 0644 & ~umask(umask(0)));
	return 0;
}

int outfile__open(const char *path, enum outfile_mode mode, struct outfile **out)
{
	struct outfile *o;
	struct stat st;
	bool exists;
	int err;

	if (!*path) {
		log_err("cannot write '': an empty file name");
		return -EINVAL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->fd = -1;
	o->path = strdup(path);
	if (!o->path) {
		err = -ENOMEM;
		goto err_free;
	}
	if (!strcmp(path, "-")) {
		o->is_stdout = o->in_place = true;
		o->fd = STDOUT_FILENO;
		goto stream;
	}
	/* A symlink's target is written (or replaced); the link stays. */
	o->dest = resolve_dest(path);
	exists = o->dest && stat(o->dest, &st) == 0;
	if (!o->dest) {
		err = -ENOMEM;
		goto err_free;
	}
	if (exists && S_ISDIR(st.st_mode)) {
		log_err("cannot write '%s': it is a directory", path);
		err = -EISDIR;
		goto err_free;
	}
	if (exists && !S_ISREG(st.st_mode))
		err = open_in_place(o, false);
	else if (mode == OUTFILE_STREAM)
		err = open_in_place(o, true);
	else
		err = open_atomic(o);
	if (err)
		goto err_free;
stream:
	err = open_stream(o);
	if (err)
		goto err_free;
	*out = o;
	return 0;

err_free:
	outfile__free(o);
	return err;
}

FILE *outfile__fp(struct outfile *o)
{
	return o->fp;
}

int outfile__error(const struct outfile *o)
{
	return o->error;
}

int outfile__fd(const struct outfile *o)
{
	return o->fd;
}

int outfile__commit(struct outfile *o)
{
	int err = 0;

	if (fflush(o->fp) || ferror(o->fp))
		err = o->error ? o->error : -EIO;
	if (fclose(o->fp) && !err)
		err = o->error ? o->error : -errno;
	o->fp = NULL;
	if (!err && o->tmp && rename(o->tmp, o->dest))
		err = -errno;
	if (err) {
		log_err("cannot write '%s': %s", o->path, strerror(-err));
		if (o->tmp)
			unlink(o->tmp);
		return err;
	}
	o->committed = 1;
	return 0;
}

void outfile__free(struct outfile *o)
{
	if (!o)
		return;
	if (o->fp)
		fclose(o->fp);
	else if (o->fd >= 0 && !o->is_stdout)
		close(o->fd);
	if (!o->committed && o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->dest);
	free(o->path);
	free(o);
}

int stream_write_error(void)
{
	return errno ? -errno : -EIO;
}

bool stream_reader_gone(FILE *f, int err)
{
	if (err != -EPIPE)
		return false;
	clearerr(f);
	return true;
}

int stream_flush_error(FILE *f)
{
	errno = 0;
	if (fflush(f) != EOF && !ferror(f))
		return 0;
	return stream_write_error();
}
