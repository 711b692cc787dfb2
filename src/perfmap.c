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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sonde/perfmap.h"
#include "sonde/strpool.h"

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
	size_t max_entries;
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

struct perfmap *perfmap__new(const char *path, size_t max_entries)
{
	struct perfmap *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->max_entries = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
	pm->sorted = true;
	pm->names = strpool__new();
	pm->path = path ? strdup(path) : NULL;
	if (!pm->names || (path && !pm->path)) {
		perfmap__free(pm);
		return NULL;
	}
	return pm;
}

void perfmap__free(struct perfmap *pm)
{
	if (!pm)
		return;
	strpool__free(pm->names);
	free(pm->items);
	free(pm->path);
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

int perfmap__refresh(struct perfmap *pm)
{
	uint64_t seq_before = pm->seq;
	bool restarted = false;
	struct stat st;
	char *buf;
	int fd, err = 0;

	if (!pm->path)
		return -ENOENT;
	fd = open(pm->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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
	/* Shorter than what we read: the JIT started the file over. */
	if ((uint64_t)st.st_size < pm->offset) {
		reset(pm);
		restarted = true;
	}
	if ((uint64_t)st.st_size == pm->offset)
		goto out_fd;
	buf = malloc(READ_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		goto out_fd;
	}
	while (!err && pm->offset < (uint64_t)st.st_size) {
		ssize_t r = pread(fd, buf, READ_CHUNK, (off_t)pm->offset);

		if (r < 0) {
			err = -errno;
			break;
		}
		if (!r)
			break;
		pm->offset += (uint64_t)r;
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
