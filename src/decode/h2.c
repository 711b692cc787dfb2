// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "decode/h2.h"
#include "decode/http1.h"

enum {
	D_PREFACE,
	D_HEADER,
	D_PREFIX,
	D_CONTENT,
	D_PAD,
	D_SETTINGS,
	D_SKIP,
};

enum {
	F_DATA = 0x0,
	F_HEADERS = 0x1,
	F_RST_STREAM = 0x3,
	F_SETTINGS = 0x4,
	F_PUSH_PROMISE = 0x5,
	F_GOAWAY = 0x7,
	F_CONTINUATION = 0x9,
};

#define FL_END_STREAM 0x1
#define FL_ACK 0x1
#define FL_END_HEADERS 0x4
#define FL_PADDED 0x8
#define FL_PRIORITY 0x20

#define SETTINGS_HEADER_TABLE_SIZE 0x1

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int h2_init(struct h2 *h, const struct h2_ops *ops, void *ctx, struct dmem *mem)
{
	memset(h, 0, sizeof(*h));
	h->ops = ops;
	h->ctx = ctx;
	h->mem = mem;
	dmem_nghttp2_mem(mem, &h->nmem);
	for (int s = 0; s < 2; s++) {
		h->dir[s].state = s == H2_WRITE ? D_PREFACE : D_HEADER;
		h->dir[s].preface_left = H2_PREFACE_LEN;
		if (nghttp2_hd_inflate_new2(&h->dir[s].inflater, &h->nmem)) {
			h2_free(h);
			return -ENOMEM;
		}
	}
	return 0;
}

void h2_free(struct h2 *h)
{
	for (int s = 0; s < 2; s++) {
		if (h->dir[s].inflater)
			nghttp2_hd_inflate_del(h->dir[s].inflater);
		h->dir[s].inflater = NULL;
	}
}

static void lose(struct h2 *h)
{
	if (h->lost)
		return;
	h->lost = true;
	if (h->ops->lost)
		h->ops->lost(h->ctx);
}

static void emit_header(struct h2 *h, enum h2_side side, uint32_t stream, const nghttp2_nv *nv)
{
	char buf[H2_VALUE_MAX];
	size_t vlen = nv->valuelen;

	if (http_header_is_secret((const char *)nv->name, nv->namelen) || !h->ops->header)
		return;
	if (vlen > sizeof(buf)) {
		vlen = sizeof(buf);
		h->cut_values++;
	}
	memcpy(buf, nv->value, vlen);
	if (nv->namelen == 5 && !memcmp(nv->name, ":path", 5))
		vlen = http_target_strip_key(buf, vlen);
	h->ops->header(h->ctx, side, stream, (const char *)nv->name, nv->namelen, buf, vlen);
	if (vlen != nv->valuelen)
		explicit_bzero(buf, sizeof(buf));
}

/* Feed a piece of a header block; @final on its last byte. */
static int inflate(struct h2 *h, enum h2_side side, const uint8_t *in, size_t n, bool final)
{
	struct h2_dir *d = &h->dir[side];

	for (;;) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(d->inflater, &nv, &fl, in, n, final);

		if (rv < 0)
			return -EBADMSG;
		if (rv) {
			in += rv; /* never on the NULL of an empty last fragment */
			n -= (size_t)rv;
		}
		if ((fl & NGHTTP2_HD_INFLATE_EMIT) && !d->block_push)
			emit_header(h, side, d->block_stream, &nv);
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inflater);
			return 0;
		}
		if (!(fl & NGHTTP2_HD_INFLATE_EMIT) && !n)
			return final ? -EBADMSG : 0;
	}
}

static void frame_done(struct h2 *h, enum h2_side side)
{
	struct h2_dir *d = &h->dir[side];

	h->frames++;
	d->state = D_HEADER;
	d->hlen = 0;
	switch (d->type) {
	case F_DATA:
		if ((d->flags & FL_END_STREAM) && h->ops->data_end)
			h->ops->data_end(h->ctx, side, d->stream);
		return;
	case F_HEADERS:
	case F_PUSH_PROMISE:
	case F_CONTINUATION:
		if (!(d->flags & FL_END_HEADERS)) {
			d->block_open = true;
			return;
		}
		/* An empty last fragment still has to end the block. */
		if (!d->final_fed && inflate(h, side, NULL, 0, true)) {
			lose(h);
			return;
		}
		d->block_open = false;
		if (!d->block_push && h->ops->headers_end)
			h->ops->headers_end(h->ctx, side, d->block_stream, d->block_end_stream);
		return;
	case F_RST_STREAM:
		if (h->ops->rst_stream)
			h->ops->rst_stream(h->ctx, side, d->stream, be32(d->pre));
		return;
	case F_GOAWAY:
		if (h->ops->goaway)
			h->ops->goaway(h->ctx, side, be32(d->pre) & 0x7fffffff, be32(d->pre + 4));
		return;
	}
}

/* After the prefix fields: set up the content and padding of the frame. */
static void start_content(struct h2 *h, enum h2_side side)
{
	struct h2_dir *d = &h->dir[side];

	d->pad = 0;
	if ((d->type == F_DATA || d->type == F_HEADERS || d->type == F_PUSH_PROMISE) &&
	    (d->flags & FL_PADDED))
		d->pad = d->pre[0];
	if (d->pre_need + d->pad > d->len) {
		lose(h);
		return;
	}
	if (d->type == F_RST_STREAM || d->type == F_GOAWAY) {
		d->state = d->pos < d->len ? D_SKIP : D_HEADER;
		if (d->pos == d->len)
			frame_done(h, side);
		return;
	}
	d->state = D_CONTENT;
	if (d->pos + d->pad == d->len) {
		d->state = D_PAD;
		if (!d->pad)
			frame_done(h, side);
	}
}

static void frame_header(struct h2 *h, enum h2_side side)
{
	struct h2_dir *d = &h->dir[side];
	const uint8_t *p = d->hdr;

	d->len = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	d->type = p[3];
	d->flags = p[4];
	d->stream = be32(p + 5) & 0x7fffffff;
	d->pos = 0;
	d->prelen = 0;
	d->pad = 0;
	d->pre_need = 0;
	d->final_fed = false;
	if (d->block_open != (d->type == F_CONTINUATION)) {
		lose(h); /* a header block is interrupted, or a CONTINUATION comes from nowhere */
		return;
	}
	switch (d->type) {
	case F_DATA:
		d->pre_need = (d->flags & FL_PADDED) ? 1 : 0;
		break;
	case F_HEADERS:
		d->pre_need = ((d->flags & FL_PADDED) ? 1 : 0) + ((d->flags & FL_PRIORITY) ? 5 : 0);
		d->block_stream = d->stream;
		d->block_push = false;
		d->block_end_stream = d->flags & FL_END_STREAM;
		break;
	case F_PUSH_PROMISE:
		d->pre_need = ((d->flags & FL_PADDED) ? 1 : 0) + 4;
		d->block_stream = d->stream;
		d->block_push = true;
		d->block_end_stream = false;
		break;
	case F_CONTINUATION:
		if (d->stream != d->block_stream) {
			lose(h);
			return;
		}
		break;
	case F_RST_STREAM:
		if (d->len != 4) {
			lose(h);
			return;
		}
		d->pre_need = 4;
		break;
	case F_GOAWAY:
		if (d->len < 8) {
			lose(h);
			return;
		}
		d->pre_need = 8;
		break;
	case F_SETTINGS:
		if ((d->flags & FL_ACK) || d->len % 6) {
			d->state = d->len ? D_SKIP : D_HEADER;
			if (!d->len)
				frame_done(h, side);
			return;
		}
		d->state = d->len ? D_SETTINGS : D_HEADER;
		if (!d->len)
			frame_done(h, side);
		return;
	default:
		d->state = d->len ? D_SKIP : D_HEADER;
		if (!d->len)
			frame_done(h, side);
		return;
	}
	if (d->pre_need > d->len) {
		lose(h);
		return;
	}
	d->state = D_PREFIX;
	if (!d->pre_need)
		start_content(h, side);
}

static void setting(struct h2 *h, enum h2_side side, const uint8_t *e)
{
	uint16_t id = (uint16_t)(e[0] << 8 | e[1]);
	struct h2_dir *peer = &h->dir[!side];

	/* Our side's limit binds the peer's encoder, i.e. what the other inflater reads. */
	if (id == SETTINGS_HEADER_TABLE_SIZE && !peer->block_open)
		nghttp2_hd_inflate_change_table_size(peer->inflater, be32(e + 2));
}

void h2_feed(struct h2 *h, enum h2_side side, const char *buf, size_t len)
{
	struct h2_dir *d = &h->dir[side];
	const uint8_t *p = (const uint8_t *)buf;
	size_t i = 0;

	while (i < len && !h->lost) {
		size_t n, left;

		switch (d->state) {
		case D_PREFACE:
			n = len - i < d->preface_left ? len - i : d->preface_left;
			if (memcmp(p + i, &H2_PREFACE[H2_PREFACE_LEN - d->preface_left], n)) {
				lose(h);
				break;
			}
			d->preface_left -= (uint32_t)n;
			i += n;
			if (!d->preface_left)
				d->state = D_HEADER;
			break;
		case D_HEADER:
			d->hdr[d->hlen++] = p[i++];
			if (d->hlen == 9)
				frame_header(h, side);
			break;
		case D_PREFIX:
			d->pre[d->prelen++] = p[i++];
			d->pos++;
			if (d->prelen == d->pre_need)
				start_content(h, side);
			break;
		case D_CONTENT:
			left = d->len - d->pad - d->pos;
			n = len - i < left ? len - i : left;
			d->pos += (uint32_t)n;
			if (d->type == F_DATA) {
				if (h->ops->data)
					h->ops->data(h->ctx, side, d->stream, buf + i, n);
			} else {
				bool final =
					d->pos + d->pad == d->len && (d->flags & FL_END_HEADERS);

				if (inflate(h, side, p + i, n, final)) {
					lose(h);
					break;
				}
				d->final_fed = final;
			}
			i += n;
			if (d->pos + d->pad == d->len) {
				d->state = D_PAD;
				if (!d->pad)
					frame_done(h, side);
			}
			break;
		case D_PAD:
		case D_SKIP:
			left = d->len - d->pos;
			n = len - i < left ? len - i : left;
			d->pos += (uint32_t)n;
			i += n;
			if (d->pos == d->len)
				frame_done(h, side);
			break;
		case D_SETTINGS:
			d->pre[d->prelen++] = p[i++];
			d->pos++;
			if (d->prelen == 6) {
				setting(h, side, d->pre);
				d->prelen = 0;
			}
			if (d->pos == d->len)
				frame_done(h, side);
			break;
		}
	}
	if (h->lost)
		h->ignored_bytes += len - i;
}

void h2_gap(struct h2 *h, enum h2_side side, uint64_t n)
{
	struct h2_dir *d = &h->dir[side];
	uint64_t left;

	if (h->lost || !n)
		return; /* counted as gap bytes by the decoder, not as ignored ones */
	if (d->state == D_CONTENT && d->type == F_DATA) {
		left = d->len - d->pad - d->pos;
		if (n <= left) {
			d->pos += (uint32_t)n;
			if (h->ops->data_gap)
				h->ops->data_gap(h->ctx, side, d->stream, n);
			if (d->pos + d->pad == d->len) {
				d->state = D_PAD;
				if (!d->pad)
					frame_done(h, side);
			}
			return;
		}
	} else if (d->state == D_PAD || (d->state == D_SKIP && d->type != F_SETTINGS)) {
		left = d->len - d->pos;
		if (n <= left) {
			d->pos += (uint32_t)n;
			if (d->pos == d->len)
				frame_done(h, side);
			return;
		}
	}
	lose(h);
}
