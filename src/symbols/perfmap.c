// SPDX-License-Identifier: MIT
/*
 * perf-PID.map reader. JITs only ever append, so the file is read
 * incrementally from where the last read stopped; a trailing line without
 * its newline (the JIT is mid-write) waits for the next read. Entries are
 * appended in file order and sorted lazily before the next lookup. Names
 * are interned: a JIT recompiling a hot function writes its name again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "symbols/perfmap.h"
#include "base/strpool.h"

#define DEFAULT_MAX_ENTRIES (1u << 20)
/* Longer lines are not symbol lines (or are hostile): skipped. */
#define MAX_LINE 4096
#define READ_CHUNK (1u << 20)
/* Entries searched backwards for an older, longer one that covers an address. */
#define OVERLAP_SCAN 32

struct item {
	struct perfmap_entry e;
	uint64_t seq; /* file order: later lines win */
};

struct perfmap {
	char *path;
	char *root;
	size_t max_entries;
	uint64_t max_bytes;
	int check_owner;
	uid_t owner;
	bool (*stopping)(void);
	bool truncated; /* max_bytes reached, or a read was stopped */
	struct item *items;
	size_t nr, cap;
	bool sorted;
	uint64_t seq;
	struct strpool *names;
	uint64_t offset; /* bytes of the file consumed */
	char partial[MAX_LINE];
	size_t partial_len;
	bool partial_overlong;
	uint64_t bad_lines, dropped;
};

#define OPT(o, field, def)                                                                \
	((o) && (o)->sz >= offsetof(struct perfmap_opts, field) + sizeof((o)->field) && \
			 (o)->field                                                       \
		 ? (o)->field                                                             \
		 : (def))

struct perfmap *perfmap__new_opts(const char *path, const struct perfmap_opts *o)
{
	struct perfmap *pm = calloc(1, sizeof(*pm));
	const char *root = OPT(o, root, NULL);

	if (!pm)
		return NULL;
	pm->max_entries = OPT(o, max_entries, DEFAULT_MAX_ENTRIES);
	pm->max_bytes = OPT(o, max_bytes, PERFMAP_DEFAULT_MAX_BYTES);
	pm->check_owner = OPT(o, check_owner, 0);
	pm->owner = OPT(o, owner, 0);
	pm->stopping = OPT(o, stopping, NULL);
	pm->sorted = true;
	pm->names = strpool__new();
	pm->path = path ? strdup(path) : NULL;
	pm->root = root ? strdup(root) : NULL;
	if (!pm->names || (path && !pm->path) || (root && !pm->root)) {
		perfmap__free(pm);
		return NULL;
	}
	return pm;
}

struct perfmap *perfmap__new(const char *path, size_t max_entries)
{
	struct perfmap_opts o = {.sz = sizeof(o), .max_entries = max_entries};

	return perfmap__new_opts(path, &o);
}

void perfmap__free(struct perfmap *pm)
{
	if (!pm)
		return;
	strpool__free(pm->names);
	free(pm->items);
	free(pm->path);
	free(pm->root);
	free(pm);
}

/* Hex digits at *p (an optional 0x first); false when there are none. */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s < end; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (++digits > 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits)
		return false;
	*p = s;
	*out = v;
	return true;
}

static int add_item(struct perfmap *pm, uint64_t start, uint64_t size, const char *name, size_t len)
{
	struct item *it;
	int64_t id;

	if (pm->nr >= pm->max_entries) {
		pm->dropped++;
		return 0;
	}
	if (pm->nr == pm->cap) {
		size_t ncap = pm->cap ? pm->cap * 2 : 256;
		struct item *ni;

		if (ncap > pm->max_entries)
			ncap = pm->max_entries;
		ni = realloc(pm->items, ncap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		pm->items = ni;
		pm->cap = ncap;
	}
	it = &pm->items[pm->nr];
	id = strpool__intern_n(pm->names, name, len, &it->e.name);
	if (id < 0)
		return (int)id;
	it->e.start = start;
	it->e.size = size;
	it->seq = pm->seq++;
	if (pm->nr && (pm->items[pm->nr - 1].e.start > start))
		pm->sorted = false;
	pm->nr++;
	return 0;
}

/* One line without its newline: "START SIZE name". */
static int parse_line(struct perfmap *pm, const char *p, size_t len)
{
	const char *end = p + len, *name;
	uint64_t start, size;

	if (len && end[-1] == '\r')
		end--;
	if (!parse_hex(&p, end, &start) || p == end || *p != ' ')
		goto out_bad;
	while (p < end && *p == ' ')
		p++;
	if (!parse_hex(&p, end, &size) || p == end || *p != ' ')
		goto out_bad;
	while (p < end && *p == ' ')
		p++;
	name = p;
	/* A NUL inside would cut the name short; such a line is not text. */
	if (name == end || memchr(name, '\0', (size_t)(end - name)))
		goto out_bad;
	if (!size || start + size < start)
		goto out_bad;
	return add_item(pm, start, size, name, (size_t)(end - name));

out_bad:
	pm->bad_lines++;
	return 0;
}

int perfmap__feed(struct perfmap *pm, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	int err = 0;

	while (p < end && !err) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (pm->partial_len || pm->partial_overlong || !nl) {
			if (pm->partial_len + n > sizeof(pm->partial)) {
				pm->partial_overlong = true;
			} else {
				memcpy(pm->partial + pm->partial_len, p, n);
				pm->partial_len += n;
			}
			if (!nl)
				break;
			if (pm->partial_overlong)
				pm->bad_lines++;
			else
				err = parse_line(pm, pm->partial, pm->partial_len);
			pm->partial_len = 0;
			pm->partial_overlong = false;
		} else if (n > MAX_LINE) {
			pm->bad_lines++;
		} else {
			err = parse_line(pm, p, n);
		}
		p = nl + 1;
	}
	return err;
}

static void reset(struct perfmap *pm)
{
	pm->nr = 0;
	pm->sorted = true;
	pm->offset = 0;
	pm->partial_len = 0;
	pm->partial_overlong = false;
}

/*
 * The map, never through a symlink and never blocking; inside @root when
 * there is one, so that "/tmp" or the map itself pointing elsewhere
 * resolves in the target's tree, not ours.
 */
static int open_map(const struct perfmap *pm)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY;
	struct open_how how = {
		.flags = flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	const char *rel = pm->path;
	int dir, fd, err;

	if (!pm->root)
		return open(pm->path, flags);
	dir = open(pm->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	while (*rel == '/')
		rel++;
	fd = (int)syscall(SYS_openat2, dir, rel, &how, sizeof(how));
	err = errno;
	close(dir);
	errno = err;
	return fd;
}

/* perf's rule: the target's owner or root, and nobody else may write it. */
static int check_owner(const struct perfmap *pm, const struct stat *st)
{
	if (!pm->check_owner)
		return 0;
	if (st->st_uid != pm->owner && st->st_uid != 0)
		return -EPERM;
	if (st->st_mode & S_IWOTH)
		return -EPERM;
	return 0;
}

/* Read at most this much before looking at stopping() again. */
#define STOP_CHECK_BYTES (4u * READ_CHUNK)

int perfmap__refresh(struct perfmap *pm)
{
	uint64_t seq_before = pm->seq, size, this_read = 0;
	bool restarted = false;
	struct stat st;
	char *buf;
	int fd, err = 0;

	if (!pm->path)
		return -ENOENT;
	fd = open_map(pm);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_fd;
	}
	err = check_owner(pm, &st);
	if (err)
		goto out_fd;
	/* Shorter than what we read: the JIT started the file over. */
	if ((uint64_t)st.st_size < pm->offset) {
		reset(pm);
		restarted = true;
	}
	size = (uint64_t)st.st_size;
	if (size > pm->max_bytes) {
		size = pm->max_bytes;
		pm->truncated = true;
	}
	if (size <= pm->offset)
		goto out_fd;
	buf = malloc(READ_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		goto out_fd;
	}
	while (!err && pm->offset < size) {
		size_t want = size - pm->offset < READ_CHUNK ? (size_t)(size - pm->offset)
							     : READ_CHUNK;
		ssize_t r;

		/* A huge map must not make sonde deaf to Ctrl-C. */
		if (pm->stopping && this_read >= STOP_CHECK_BYTES && pm->stopping()) {
			pm->truncated = true;
			pm->max_bytes = pm->offset;
			break;
		}
		r = pread(fd, buf, want, (off_t)pm->offset);
		if (r < 0) {
			err = -errno;
			break;
		}
		if (!r)
			break;
		pm->offset += (uint64_t)r;
		this_read += (uint64_t)r;
		err = perfmap__feed(pm, buf, (size_t)r);
	}
	free(buf);

out_fd:
	close(fd);
	if (err)
		return err;
	return restarted || pm->seq != seq_before;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	if (a->e.start != b->e.start)
		return a->e.start < b->e.start ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Sort by start; an entry is dropped when a newer one with the same start
 * covers it entirely (a JIT recompiling in place repeats the start).
 */
static void sort_items(struct perfmap *pm)
{
	size_t i, j = 0;

	if (pm->nr)
		qsort(pm->items, pm->nr, sizeof(*pm->items), item_cmp);
	for (i = 0; i < pm->nr; i++) {
		if (j && pm->items[j - 1].e.start == pm->items[i].e.start &&
		    pm->items[j - 1].e.size <= pm->items[i].e.size)
			j--;
		pm->items[j++] = pm->items[i];
	}
	pm->nr = j;
	pm->sorted = true;
}

const struct perfmap_entry *perfmap__find(struct perfmap *pm, uint64_t addr)
{
	const struct item *best = NULL;
	size_t lo = 0, hi, i;

	if (!pm->sorted)
		sort_items(pm);
	hi = pm->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->items[mid].e.start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i-- > 0 && lo - i <= OVERLAP_SCAN;) {
		const struct item *it = &pm->items[i];

		if (addr - it->e.start < it->e.size && (!best || it->seq > best->seq))
			best = it;
	}
	return best ? &best->e : NULL;
}

size_t perfmap__bytes(const struct perfmap *pm)
{
	if (!pm)
		return 0;
	return sizeof(*pm) + pm->cap * sizeof(*pm->items) + strpool__bytes(pm->names) +
	       (pm->path ? strlen(pm->path) + 1 : 0) + (pm->root ? strlen(pm->root) + 1 : 0);
}

size_t perfmap__count(const struct perfmap *pm)
{
	return pm->nr;
}

uint64_t perfmap__bad_lines(const struct perfmap *pm)
{
	return pm->bad_lines;
}

uint64_t perfmap__dropped(const struct perfmap *pm)
{
	return pm->dropped;
}

uint64_t perfmap__bytes_read(const struct perfmap *pm)
{
	return pm->offset;
}

bool perfmap__truncated(const struct perfmap *pm)
{
	return pm->truncated;
}
