// SPDX-License-Identifier: MIT
/*
 * Separate debug files: candidate paths in gdb's order, each verified
 * before it is believed. The debuglink checksum is the CRC-32 of
 * ISO 3309, which is exactly zlib's crc32().
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "symbols/debuginfo.h"
#include "symbols/elfsyms.h"
#include "base/log.h"

#define CRC_CHUNK 65536
/* Build-ids are 16 or 20 bytes; longer hex strings cannot be ours. */
#define BUILD_ID_HEX_MAX 128

int debuginfo__crc32(const char *path, uint32_t *crc)
{
	unsigned char *buf;
	uLong c = crc32(0L, Z_NULL, 0);
	ssize_t n;
	int fd, err = 0;

	err = elf_open_regular(path, &fd, NULL);
	if (err)
		return err;
	buf = malloc(CRC_CHUNK);
	if (!buf) {
		err = -ENOMEM;
		goto out_fd;
	}
	while ((n = read(fd, buf, CRC_CHUNK)) > 0)
		c = crc32(c, buf, (uInt)n);
	if (n < 0)
		err = -errno;
	else
		*crc = (uint32_t)c;
	free(buf);
out_fd:
	close(fd);
	return err;
}

static bool is_regular(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* Whether the ELF file at @path carries the GNU build-id @want (hex). */
static bool has_build_id(const char *path, const char *want)
{
	char got[BUILD_ID_HEX_MAX + 1] = "";
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd;

	if (elf_open_regular(path, &fd, NULL))
		return false;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && !got[0] && (scn = elf_nextscn(elf, scn))) {
		size_t off = 0, next, name_off, desc_off;
		GElf_Shdr shdr;
		GElf_Nhdr nhdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		while (off < data->d_size &&
		       (next = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
			if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
			    !memcmp((const char *)data->d_buf + name_off, "GNU", 4) &&
			    nhdr.n_descsz && nhdr.n_descsz * 2 <= BUILD_ID_HEX_MAX) {
				hex_encode((const unsigned char *)data->d_buf + desc_off, nhdr.n_descsz,
				    got);
				break;
			}
			off = next;
		}
	}
	elf_end(elf);
	close(fd);
	return got[0] && !strcmp(got, want);
}

struct search {
	const struct debuginfo_query *q;
	const char *roots[2]; /* target's root, then the host's ("") */
	int nroots;
	char *out;
	size_t len;
	char self[PATH_MAX]; /* the binary through the target's root */
};

/* Join parts into @buf; false when it does not fit. */
static bool join(char *buf, size_t len, const char *a, const char *b, const char *c, const char *d,
		 const char *e)
{
	int n = snprintf(buf, len, "%s%s%s%s%s", a, b, c, d, e);

	return n >= 0 && (size_t)n < len;
}

static bool try_build_id(struct search *s, const char *root, const char *dir, size_t dir_len)
{
	const char *bid = s->q->build_id;
	char d[PATH_MAX], rest[BUILD_ID_HEX_MAX + 16];

	if (dir_len >= sizeof(d))
		return false;
	memcpy(d, dir, dir_len);
	d[dir_len] = '\0';
	snprintf(rest, sizeof(rest), "/.build-id/%.2s/%s.debug", bid, bid + 2);
	if (!join(s->out, s->len, root, d, rest, "", ""))
		return false;
	return is_regular(s->out) && has_build_id(s->out, bid);
}

static bool crc_matches(struct search *s)
{
	uint32_t crc;

	/* A debuglink naming the binary itself must not find the binary. */
	if (!strcmp(s->out, s->self) || !is_regular(s->out))
		return false;
	if (debuginfo__crc32(s->out, &crc))
		return false;
	if (crc != s->q->debuglink_crc) {
		log_debug("debuginfo: %s does not match %s (crc %08x, want %08x)", s->out,
			  s->q->path, crc, s->q->debuglink_crc);
		return false;
	}
	return true;
}

/* Candidates for the debuglink next to the binary, in its own root. */
static bool try_beside(struct search *s, const char *root, const char *bin_dir)
{
	const char *link = s->q->debuglink;

	if (join(s->out, s->len, root, bin_dir, "/", link, "") && crc_matches(s))
		return true;
	return join(s->out, s->len, root, bin_dir, "/.debug/", link, "") && crc_matches(s);
}

static bool try_under(struct search *s, const char *root, const char *dir, size_t dir_len,
		      const char *bin_dir)
{
	char d[PATH_MAX];

	if (dir_len >= sizeof(d))
		return false;
	memcpy(d, dir, dir_len);
	d[dir_len] = '\0';
	return join(s->out, s->len, root, d, bin_dir, "/", s->q->debuglink) && crc_matches(s);
}

/* Each non-empty directory @p (of length @n) of the colon-separated list. */
#define for_each_dir(s, p, n)                                                                  \
	for (const char *p = (s)->q->debug_dirs ? (s)->q->debug_dirs : DEBUGINFO_DEFAULT_DIRS, \
			*_end = p + strlen(p);                                                 \
	     p < _end; p += (n) + 1)                                                           \
		if (((n) = strcspn(p, ":")) > 0)

int debuginfo__find(const struct debuginfo_query *q, char *out, size_t len)
{
	struct search s = {.q = q, .out = out, .len = len};
	char bin_dir[PATH_MAX];
	const char *slash;
	size_t n;
	int r;

	if (!len)
		return -ENAMETOOLONG;
	out[0] = '\0';
	if (q->root && q->root[0])
		s.roots[s.nroots++] = q->root;
	s.roots[s.nroots++] = "";

	if (q->build_id && strlen(q->build_id) > 2 && strlen(q->build_id) <= BUILD_ID_HEX_MAX &&
	    strspn(q->build_id, "0123456789abcdef") == strlen(q->build_id)) {
		for_each_dir(&s, p, n) for (r = 0; r < s.nroots;
					    r++) if (try_build_id(&s, s.roots[r], p, n)) return 0;
	}

	if (!q->debuglink || !q->debuglink[0] || strchr(q->debuglink, '/') || !q->path ||
	    q->path[0] != '/')
		goto out_none;
	slash = strrchr(q->path, '/');
	if ((size_t)(slash - q->path) >= sizeof(bin_dir))
		goto out_none;
	memcpy(bin_dir, q->path, (size_t)(slash - q->path));
	bin_dir[slash - q->path] = '\0';
	if (!join(s.self, sizeof(s.self), s.roots[0], q->path, "", "", ""))
		goto out_none;
	/* Beside the binary: only in its own root, where the binary is. */
	if (try_beside(&s, s.roots[0], bin_dir))
		return 0;
	for_each_dir(&s, p, n) for (r = 0; r < s.nroots;
				    r++) if (try_under(&s, s.roots[r], p, n, bin_dir)) return 0;

out_none:
	out[0] = '\0';
	return -ENOENT;
}
