// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <brotli/decode.h>
#include <zlib.h>

#include "decode/body.h"
#include "model/llm.h"

#define INFLATE_CHUNK 16384

static bool media_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	return !strncasecmp(ct, type, n) && (!ct[n] || ct[n] == ';' || ct[n] == ' ');
}

enum body_framing body_framing_of(const char *ct)
{
	if (!ct)
		return BODY_JSON;
	if (media_is(ct, "text/event-stream"))
		return BODY_SSE;
	if (media_is(ct, "application/x-ndjson") || media_is(ct, "application/jsonl") ||
	    media_is(ct, "application/ndjson"))
		return BODY_NDJSON;
	return BODY_JSON;
}

enum body_coding body_coding_of(const char *ce)
{
	if (!ce || !*ce || media_is(ce, "identity"))
		return CODING_IDENTITY;
	if (media_is(ce, "gzip") || media_is(ce, "x-gzip") || media_is(ce, "deflate"))
		return CODING_GZIP;
	if (media_is(ce, "br"))
		return CODING_BR;
	return CODING_UNKNOWN;
}

static void sse_data(void *ctx, const char *buf, size_t len)
{
	struct body *b = ctx;

	if (b->ev == 0) {
		size_t i = 0;

		while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n'))
			i++;
		if (i == len)
			return;
		b->ev = buf[i] == '{' ? 1 : 2;
		buf += i;
		len -= i;
	}
	if (b->ev == 1)
		jsonx__feed(b->json, buf, len);
}

static void sse_event(void *ctx, const char *type, bool had_data, bool spoiled)
{
	struct body *b = ctx;

	if (b->ev == 1 && (spoiled || jsonx__failed(b->json) || jsonx__in_value(b->json))) {
		b->bad_docs++;
		if (!spoiled)
			b->unparsed |= LLM_UNPARSED_RESPONSE_JSON;
		jsonx__reset(b->json);
	}
	b->ev = 0;
}

static const struct sse_ops sse_ops = {
	.data = sse_data,
	.event = sse_event,
};

int body_init(struct body *b, struct dmem *m, const char *content_type,
	      const char *content_encoding, const struct jsonx_ops *ops, void *ctx,
	      size_t max_string)
{
	memset(b, 0, sizeof(*b));
	b->mem = m;
	b->framing = body_framing_of(content_type);
	b->coding = body_coding_of(content_encoding);
	if (b->coding == CODING_UNKNOWN) {
		size_t n = strcspn(content_encoding, " ,;");

		snprintf(b->coding_name, sizeof(b->coding_name), "%.*s", (int)n, content_encoding);
		b->unparsed |= LLM_UNPARSED_ENCODING;
		b->dead = true;
		return 0;
	}
	if (b->coding == CODING_GZIP) {
		z_stream *z = dmem_calloc(m, 1, sizeof(*z));

		if (!z)
			return -ENOMEM;
		z->zalloc = dmem_zalloc;
		z->zfree = dmem_zfree;
		z->opaque = m;
		/* 15 + 32: gzip or zlib, told apart by the header. */
		if (inflateInit2(z, 15 + 32) != Z_OK) {
			dmem_free(m, z);
			return -ENOMEM;
		}
		b->z = z;
	} else if (b->coding == CODING_BR) {
		b->br = BrotliDecoderCreateInstance(dmem_brotli_alloc, dmem_brotli_free, m);
		if (!b->br)
			return -ENOMEM;
	}
	b->json = jsonx__new(m, ops, ctx, max_string);
	if (!b->json) {
		body_free(b);
		return -ENOMEM;
	}
	sse_init(&b->sse, &sse_ops, b);
	return 0;
}

void body_free(struct body *b)
{
	if (b->z) {
		inflateEnd(b->z);
		dmem_free(b->mem, b->z);
		b->z = NULL;
	}
	if (b->br) {
		BrotliDecoderDestroyInstance(b->br);
		b->br = NULL;
	}
	jsonx__free(b->json);
	b->json = NULL;
}

/* Decoded bytes into the framing. */
static void framed(struct body *b, const char *buf, size_t len)
{
	switch (b->framing) {
	case BODY_SSE:
		sse_feed(&b->sse, buf, len);
		return;
	case BODY_NDJSON:
		while (len) {
			const char *nl = memchr(buf, '\n', len);
			size_t n = nl ? (size_t)(nl - buf) + 1 : len;

			if (!b->nd_skip) {
				if (jsonx__feed(b->json, buf, n) && nl) {
					b->bad_docs++;
					b->unparsed |= LLM_UNPARSED_RESPONSE_JSON;
					jsonx__reset(b->json);
				}
			} else if (nl) {
				b->nd_skip = false;
				jsonx__reset(b->json);
			}
			buf += n;
			len -= n;
		}
		return;
	case BODY_JSON:
		if (jsonx__feed(b->json, buf, len) && !(b->unparsed & LLM_UNPARSED_RESPONSE_JSON)) {
			b->bad_docs++;
			b->unparsed |= LLM_UNPARSED_RESPONSE_JSON;
		}
		return;
	}
}

static void inflate_gzip(struct body *b, const char *buf, size_t len)
{
	z_stream *z = b->z;
	char out[INFLATE_CHUNK];

	z->next_in = (Bytef *)buf;
	z->avail_in = (uInt)len;
	while (z->avail_in && !b->dead) {
		int rc;

		z->next_out = (Bytef *)out;
		z->avail_out = sizeof(out);
		rc = inflate(z, Z_NO_FLUSH);
		framed(b, out, sizeof(out) - z->avail_out);
		if (rc == Z_STREAM_END) {
			/* Concatenated gzip members are legal; a reset reads the next one. */
			if (z->avail_in && inflateReset(z) != Z_OK)
				b->dead = true;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			b->dead = true;
			b->unparsed |= LLM_UNPARSED_RESPONSE_JSON;
		} else if (rc == Z_BUF_ERROR && z->avail_out) {
			break;
		}
	}
}

static void inflate_br(struct body *b, const char *buf, size_t len)
{
	const uint8_t *in = (const uint8_t *)buf;
	size_t avail_in = len;

	while (!b->dead) {
		uint8_t out[INFLATE_CHUNK];
		uint8_t *next_out = out;
		size_t avail_out = sizeof(out);
		BrotliDecoderResult rc = BrotliDecoderDecompressStream(b->br, &avail_in, &in,
								       &avail_out, &next_out, NULL);

		framed(b, (const char *)out, sizeof(out) - avail_out);
		if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
			continue;
		if (rc == BROTLI_DECODER_RESULT_ERROR) {
			b->dead = true;
			b->unparsed |= LLM_UNPARSED_RESPONSE_JSON;
		}
		break;
	}
}

void body_feed(struct body *b, const char *buf, size_t len)
{
	if (b->dead || !len)
		return;
	if (b->coding == CODING_GZIP)
		inflate_gzip(b, buf, len);
	else if (b->coding == CODING_BR)
		inflate_br(b, buf, len);
	else
		framed(b, buf, len);
}

void body_gap(struct body *b, uint64_t n)
{
	if (!n)
		return;
	b->unparsed |= LLM_UNPARSED_GAP;
	if (b->dead)
		return;
	if (b->coding != CODING_IDENTITY) {
		b->dead = true; /* a compressed stream cannot resume */
		return;
	}
	switch (b->framing) {
	case BODY_SSE:
		sse_gap(&b->sse);
		break;
	case BODY_NDJSON:
		b->nd_skip = true;
		break;
	case BODY_JSON:
		b->dead = true;
		break;
	}
}

void body_finish(struct body *b, bool complete)
{
	if (b->dead || !b->json)
		return;
	if (b->framing == BODY_SSE) {
		sse_finish(&b->sse);
		return;
	}
	if (b->framing == BODY_NDJSON && b->nd_skip)
		return;
	if (jsonx__finish(b->json) && (complete || jsonx__in_value(b->json))) {
		b->bad_docs++;
		b->unparsed |= LLM_UNPARSED_RESPONSE_JSON;
	}
}
