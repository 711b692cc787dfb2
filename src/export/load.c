// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/folded_read.h"
#include "export/load.h"
#include "base/log.h"

#define READ_CHUNK 65536
/* How much of the start decides text (folded) or binary (pprof). */
#define SNIFF_BYTES 4096

struct bytes {
	uint8_t *data;
	size_t len, cap;
};

static int reserve(struct bytes *b, size_t extra)
{
	size_t ncap = b->cap ? b->cap : READ_CHUNK;
	uint8_t *nd;

	if (b->len + extra <= b->cap)
		return 0;
	if (b->len + extra > PROFILE_LOAD_MAX)
		return -EFBIG;
	while (ncap < b->len + extra)
		ncap *= 2;
	nd = realloc(b->data, ncap);
	if (!nd)
		return -ENOMEM;
	b->data = nd;
	b->cap = ncap;
	return 0;
}

static int read_all(FILE *f, struct bytes *b)
{
	size_t n;
	int err;

	do {
		err = reserve(b, READ_CHUNK);
		if (err)
			return err;
		n = fread(b->data + b->len, 1, READ_CHUNK, f);
		b->len += n;
	} while (n == READ_CHUNK);
	return ferror(f) ? -EIO : 0;
}

/* Every gzip member of @in, concatenated, into @out. 0 or -errno. */
static int gunzip(const struct bytes *in, struct bytes *out)
{
	z_stream zs = {0};
	int zr, err = 0;

	/* 15 + 16: gzip only (the magic was checked). */
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	zs.next_in = in->data;
	zs.avail_in = in->len;
	for (;;) {
		err = reserve(out, READ_CHUNK);
		if (err)
			break;
		zs.next_out = out->data + out->len;
		zs.avail_out = out->cap - out->len;
		zr = inflate(&zs, Z_NO_FLUSH);
		out->len = out->cap - zs.avail_out;
		if (zr == Z_STREAM_END) {
			if (!zs.avail_in)
				break;
			inflateReset(&zs);
			continue;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			err = -EBADMSG;
			break;
		}
		if (zr == Z_BUF_ERROR && !zs.avail_in) {
			err = -EBADMSG; /* truncated */
			break;
		}
	}
	inflateEnd(&zs);
	return err;
}

/* Folded stacks are text; pprof's protobuf has low control bytes (tags). */
static bool looks_like_text(const struct bytes *b)
{
	size_t i, n = b->len < SNIFF_BYTES ? b->len : SNIFF_BYTES;

	for (i = 0; i < n; i++) {
		uint8_t c = b->data[i];

		if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
			return false;
	}
	return true;
}

static const char *reason(int err)
{
	switch (err) {
	case -EFBIG:
		return "larger than 1 GiB";
	case -EBADMSG:
		return "corrupt or truncated gzip data";
	default:
		return strerror(-err);
	}
}

int profile_load(const char *path, const char *sample_type, struct profile *p,
		 struct profile_load_info *info)
{
	bool is_stdin = !strcmp(path, "-");
	struct bytes raw = {0}, plain = {0}, *b = &raw;
	const char *name = is_stdin ? "<stdin>" : path;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	int err;

	memset(info, 0, sizeof(*info));
	if (!f) {
		err = -errno;
		log_err("cannot read '%s': %s", path, strerror(errno));
		return err;
	}
	err = read_all(f, &raw);
	if (!is_stdin)
		fclose(f);
	if (!err && raw.len >= 2 && raw.data[0] == 0x1f && raw.data[1] == 0x8b) {
		info->gzipped = 1;
		err = gunzip(&raw, &plain);
		b = &plain;
	}
	if (err) {
		log_err("cannot read '%s': %s", name, reason(err));
		goto out_free;
	}
	if (!b->len) {
		log_err("cannot read '%s': the file is empty", name);
		err = -EINVAL;
		goto out_free;
	}
	if (looks_like_text(b)) {
		struct folded_read_info fi;

		if (sample_type && strcmp(sample_type, "samples")) {
			log_err("cannot read sample type '%s' of '%s': folded stacks have only "
				"samples",
				sample_type, name);
			err = -EINVAL;
			goto out_free;
		}
		info->format = PROFILE_FORMAT_FOLDED;
		snprintf(info->sample_type, sizeof(info->sample_type), "samples");
		snprintf(info->sample_unit, sizeof(info->sample_unit), "count");
		snprintf(info->types, sizeof(info->types), "samples/count");
		err = folded__read((const char *)b->data, b->len, name, p, &fi);
		info->samples = fi.lines;
	} else {
		struct pprof_read_info pi;

		info->format = PROFILE_FORMAT_PPROF;
		err = pprof__read(b->data, b->len, name, sample_type, p, &pi);
		memcpy(info->sample_type, pi.sample_type, sizeof(info->sample_type));
		memcpy(info->sample_unit, pi.sample_unit, sizeof(info->sample_unit));
		memcpy(info->types, pi.types, sizeof(info->types));
		info->samples = pi.samples;
		info->skipped = pi.skipped;
	}

out_free:
	free(raw.data);
	free(plain.data);
	return err;
}
