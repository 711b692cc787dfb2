// SPDX-License-Identifier: MIT
/*
 * xz decompression through liblzma's stream decoder. The output buffer
 * grows geometrically up to the caller's bound; the decoder's own memory
 * is capped too, since a crafted header can ask for a huge dictionary.
 */
#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/xz.h"

/*
 * The decoder allocates the dictionary the header asks for: xz -9 needs
 * 65 MiB, Fedora's default preset 9 MiB; a crafted header could ask for GiBs.
 */
#define XZ_MEMLIMIT (96u << 20)
#define XZ_FIRST_CHUNK 65536

int xz_decompress(const void *in, size_t len, size_t max_out, void **out, size_t *out_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t cap = XZ_FIRST_CHUNK, limit;
	uint8_t *buf = NULL;
	lzma_ret ret;
	int err;

	*out = NULL;
	*out_len = 0;
	if (!len || !max_out || max_out == SIZE_MAX)
		return -EINVAL;
	/* One byte of room past the bound tells "exactly max_out" from "more". */
	limit = max_out + 1;
	if (cap > limit)
		cap = limit;
	if (lzma_stream_decoder(&strm, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
		return -ENOMEM;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out_strm;
	}
	strm.next_in = in;
	strm.avail_in = len;
	strm.next_out = buf;
	strm.avail_out = cap;
	for (;;) {
		/* All input is present: LZMA_FINISH makes truncation an error. */
		ret = lzma_code(&strm, LZMA_FINISH);
		if (ret == LZMA_STREAM_END)
			break;
		if (ret != LZMA_OK) {
			/* MEMLIMIT: a dictionary over XZ_MEMLIMIT, i.e. hostile input. */
			err = ret == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
			goto out_buf;
		}
		if (strm.avail_out == 0) {
			size_t used = cap, ncap;
			uint8_t *nb;

			if (cap >= limit) {
				err = -EFBIG;
				goto out_buf;
			}
			ncap = cap > limit / 2 ? limit : cap * 2;
			nb = realloc(buf, ncap);
			if (!nb) {
				err = -ENOMEM;
				goto out_buf;
			}
			buf = nb;
			cap = ncap;
			strm.next_out = buf + used;
			strm.avail_out = cap - used;
		}
		/*
		 * Otherwise loop: input that ends before the stream does makes
		 * liblzma return LZMA_BUF_ERROR once it cannot progress.
		 */
	}
	if (cap - strm.avail_out > max_out) {
		err = -EFBIG;
		goto out_buf;
	}
	*out_len = cap - strm.avail_out;
	*out = buf;
	buf = NULL;
	err = 0;

out_buf:
	free(buf);
out_strm:
	lzma_end(&strm);
	return err;
}
