// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sonde/log.h"
#include "sonde/outfile.h"

struct outfile {
	char *path;
	char *tmp;
	FILE *fp;
	int committed;
};

int outfile__open(const char *path, struct outfile **out)
{
	struct outfile *o;
	struct stat st;
	int fd, err;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		log_err("cannot write '%s': it is a directory", path);
		return -EISDIR;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->path = strdup(path);
	if (!o->path || asprintf(&o->tmp, "%s.sonde-XXXXXX", path) < 0) {
		o->tmp = NULL;
		err = -ENOMEM;
		goto err_free;
	}
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		err = -errno;
		log_err("cannot write '%s': %s (choose a writable path with -o)", path,
			strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		goto err_free;
	}
	/* mkstemp makes 0600; an output file should look like any other. */
	fchmod(fd, 0644 & ~umask(umask(0)));
	o->fp = fdopen(fd, "w");
	if (!o->fp) {
		err = -errno;
		close(fd);
		unlink(o->tmp);
		goto err_free;
	}
	*out = o;
	return 0;

err_free:
	free(o->tmp);
	free(o->path);
	free(o);
	return err;
}

FILE *outfile__fp(struct outfile *o)
{
	return o->fp;
}

int outfile__commit(struct outfile *o)
{
	int err = 0;

	if (fflush(o->fp) || ferror(o->fp))
		err = -errno ?: -EIO;
	if (fclose(o->fp) && !err)
		err = -errno;
	o->fp = NULL;
	if (!err && rename(o->tmp, o->path))
		err = -errno;
	if (err) {
		log_err("cannot write '%s': %s", o->path, strerror(-err));
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
	if (!o->committed && o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	free(o);
}
