// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/dmem.h"

/* A size header in front of each block, kept 16-byte aligned. */
#define DMEM_HDR 16

void dmem_charge(struct dmem *m, size_t add, size_t sub)
{
	for (; m; m = m->parent) {
		m->used = m->used + add - sub;
		if (m->used > m->peak)
			m->peak = m->used;
	}
}

void *dmem_alloc(struct dmem *m, size_t size)
{
	unsigned char *p;

	if (size > SIZE_MAX - DMEM_HDR)
		return NULL;
	p = malloc(size + DMEM_HDR);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof(size));
	dmem_charge(m, size, 0);
	return p + DMEM_HDR;
}

void *dmem_calloc(struct dmem *m, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = dmem_alloc(m, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *dmem_realloc(struct dmem *m, void *p, size_t size)
{
	unsigned char *b;
	size_t old;

	if (!p)
		return dmem_alloc(m, size);
	if (size > SIZE_MAX - DMEM_HDR)
		return NULL;
	b = (unsigned char *)p - DMEM_HDR;
	memcpy(&old, b, sizeof(old));
	b = realloc(b, size + DMEM_HDR);
	if (!b)
		return NULL;
	memcpy(b, &size, sizeof(size));
	dmem_charge(m, size, old);
	return b + DMEM_HDR;
}

void dmem_free(struct dmem *m, void *p)
{
	unsigned char *b;
	size_t old;

	if (!p)
		return;
	b = (unsigned char *)p - DMEM_HDR;
	memcpy(&old, b, sizeof(old));
	dmem_charge(m, 0, old);
	free(b);
}

static void *y_malloc(void *ctx, size_t sz)
{
	return dmem_alloc(ctx, sz);
}

static void *y_realloc(void *ctx, void *p, size_t sz)
{
	return dmem_realloc(ctx, p, sz);
}

static void y_free(void *ctx, void *p)
{
	dmem_free(ctx, p);
}

void dmem_yajl_funcs(struct dmem *m, yajl_alloc_funcs *f)
{
	f->malloc = y_malloc;
	f->realloc = y_realloc;
	f->free = y_free;
	f->ctx = m;
}

static void *n_malloc(size_t sz, void *ud)
{
	return dmem_alloc(ud, sz);
}

static void n_free(void *p, void *ud)
{
	dmem_free(ud, p);
}

static void *n_calloc(size_t n, size_t sz, void *ud)
{
	return dmem_calloc(ud, n, sz);
}

static void *n_realloc(void *p, size_t sz, void *ud)
{
	return dmem_realloc(ud, p, sz);
}

void dmem_nghttp2_mem(struct dmem *m, nghttp2_mem *mem)
{
	mem->mem_user_data = m;
	mem->malloc = n_malloc;
	mem->free = n_free;
	mem->calloc = n_calloc;
	mem->realloc = n_realloc;
}

void *dmem_zalloc(void *m, unsigned int items, unsigned int size)
{
	return dmem_calloc(m, items, size);
}

void dmem_zfree(void *m, void *p)
{
	dmem_free(m, p);
}

void *dmem_brotli_alloc(void *m, size_t size)
{
	return dmem_alloc(m, size);
}

void dmem_brotli_free(void *m, void *p)
{
	dmem_free(m, p);
}
