// SPDX-License-Identifier: MIT
/*
 * /proc/PID/maps, executable mappings only: those are the only ones a
 * sampled instruction pointer or a uprobe can land in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "symbols/procmaps.h"

static bool parse_hex(const char **p, char stop, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	for (;; s++, digits++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (digits >= 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits || *s != stop)
		return false;
	*out = v;
	*p = s + 1;
	return true;
}

static bool parse_dec(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	*p = s;
	return true;
}

static int push(struct procmaps *out, size_t *cap, const struct procmap *m, const char *path,
		size_t path_len)
{
	struct procmap *slot;

	if (out->nr == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct procmap *nm = realloc(out->maps, ncap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		out->maps = nm;
		*cap = ncap;
	}
	slot = &out->maps[out->nr];
	*slot = *m;
	slot->path = strndup(path, path_len);
	if (!slot->path)
		return -ENOMEM;
	out->nr++;
	return 0;
}

/* "start-end perms offset major:minor inode   path" -> @m; NULL on malformed. */
static const char *parse_line(const char *p, struct procmap *m, bool *exec)
{
	char perms[4];
	int i;

	if (!parse_hex(&p, '-', &m->start) || !parse_hex(&p, ' ', &m->end) || m->end < m->start)
		return NULL;
	for (i = 0; i < 4; i++) {
		if (!*p || *p == '\n' || *p == ' ')
			return NULL;
		perms[i] = *p++;
	}
	if (*p++ != ' ')
		return NULL;
	*exec = perms[2] == 'x';
	if (!parse_hex(&p, ' ', &m->pgoff) || !parse_hex(&p, ':', &m->dev_major) ||
	    !parse_hex(&p, ' ', &m->dev_minor) || !parse_dec(&p, &m->inode))
		return NULL;
	if (*p != ' ' && *p != '\n' && *p != '\0')
		return NULL;
	while (*p == ' ')
		p++;
	return p;
}

static int map_cmp(const void *pa, const void *pb)
{
	const struct procmap *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return 0;
}

int procmaps__parse(const char *text, struct procmaps *out)
{
	const char *p = text;
	size_t cap = 0;
	int err = 0;

	out->maps = NULL;
	out->nr = 0;
	while (*p) {
		struct procmap m = { 0 };
		const char *path, *eol;
		bool exec;

		path = parse_line(p, &m, &exec);
		if (!path) {
			err = -EINVAL;
			goto out_maps;
		}
		eol = strchr(path, '\n');
		if (!eol)
			eol = path + strlen(path);
		/* The path is everything to the end of line: spaces and " (deleted)" included. */
		if (exec) {
			err = push(out, &cap, &m, path, (size_t)(eol - path));
			if (err)
				goto out_maps;
		}
		p = *eol ? eol + 1 : eol;
	}
	if (out->nr) {
		/* Kept as long as the process lives: no doubling slack. */
		struct procmap *fit =
			out->nr < cap ? realloc(out->maps, out->nr * sizeof(*fit)) : NULL;

		if (fit)
			out->maps = fit;
		qsort(out->maps, out->nr, sizeof(*out->maps), map_cmp);
	}
	return 0;

out_maps:
	procmaps__clear(out);
	return err;
}

static int read_all(int fd, char **text)
{
	size_t len = 0, cap = 16384;
	char *buf = malloc(cap);
	ssize_t r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (cap - len < 4097) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/*
 * An exited process's maps read empty, not ENOENT, until its parent reaps
 * it (a zombie), and so do an exiting one's once its memory is gone: no
 * process to read, not one without code. Taken for maps, that text made a
 * symbolizer's re-read on a miss wipe a short-lived process's snapshot:
 * every later sample of it went unnamed.
 */
int procmaps__read_text(pid_t pid, char **text)
{
	char path[64];
	int fd, err;

	*text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	err = read_all(fd, text);
	close(fd);
	/* Exiting during the read fails it with ESRCH; exited before, it reads "". */
	if (!err && !(*text)[0]) {
		free(*text);
		*text = NULL;
		err = -ESRCH;
	}
	return err;
}

int procmaps__read(pid_t pid, struct procmaps *out)
{
	char *text;
	int err;

	out->maps = NULL;
	out->nr = 0;
	err = procmaps__read_text(pid, &text);
	if (err)
		return err;
	err = procmaps__parse(text, out);
	if (err)
		log_warn("procmaps: failed to parse /proc/%d/maps: %s", (int)pid, strerror(-err));
	free(text);
	return err;
}

const struct procmap *procmaps__find(const struct procmaps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < m->maps[lo - 1].end)
		return &m->maps[lo - 1];
	return NULL;
}

size_t procmaps__bytes(const struct procmaps *m)
{
	size_t i, n = m->nr * sizeof(*m->maps);

	for (i = 0; i < m->nr; i++)
		n += strlen(m->maps[i].path) + 1;
	return n;
}

void procmaps__clear(struct procmaps *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr; i++)
		free(m->maps[i].path);
	free(m->maps);
	m->maps = NULL;
	m->nr = 0;
}
