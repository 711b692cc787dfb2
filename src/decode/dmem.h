/* SPDX-License-Identifier: MIT */
/*
 * Accounted allocation for the decoders: every byte a connection holds
 * (our state, yajl's lexer, nghttp2's HPACK tables, zlib and brotli
 * windows) goes through one of these counters, so per-connection memory
 * is a number we can report, bound and test, not a guess. A counter may
 * have a parent (the decoder's total) that sees the same changes.
 */
#ifndef SONDE_DECODE_DMEM_H
#define SONDE_DECODE_DMEM_H

#include <stddef.h>

#include <nghttp2/nghttp2.h>
#include <yajl/yajl_common.h>

struct dmem {
	size_t used;
	size_t peak;
	struct dmem *parent;
};

void *dmem_alloc(struct dmem *m, size_t size);
void *dmem_calloc(struct dmem *m, size_t n, size_t size);
void *dmem_realloc(struct dmem *m, void *p, size_t size);
void dmem_free(struct dmem *m, void *p);
/* Count @add bytes more and @sub fewer without allocating (memory held elsewhere). */
void dmem_charge(struct dmem *m, size_t add, size_t sub);

/* The allocator tables of the libraries, bound to @m. */
void dmem_yajl_funcs(struct dmem *m, yajl_alloc_funcs *f);
void dmem_nghttp2_mem(struct dmem *m, nghttp2_mem *mem);
/* zlib's zalloc/zfree and brotli's alloc/free, opaque = @m. */
void *dmem_zalloc(void *m, unsigned int items, unsigned int size);
void dmem_zfree(void *m, void *p);
void *dmem_brotli_alloc(void *m, size_t size);
void dmem_brotli_free(void *m, void *p);

#endif /* SONDE_DECODE_DMEM_H */
