/* SPDX-License-Identifier: MIT */
/*
 * HTTP/2 framing (RFC 9113) of one connection seen from the client: the
 * write side (client preface, then frames) and the read side, each with
 * its own HPACK inflater (libnghttp2's nghttp2_hd_inflate_*). Frames are
 * parsed incrementally and their payloads streamed: DATA (padding
 * stripped), HEADERS and CONTINUATION (header blocks fed to the inflater
 * piece by piece, PRIORITY and padding skipped), PUSH_PROMISE (inflated
 * to keep the table in step, then dropped), RST_STREAM, GOAWAY,
 * SETTINGS (SETTINGS_HEADER_TABLE_SIZE resizes the opposite inflater).
 * Streams are the caller's: the callbacks carry the stream id.
 *
 * Privacy: the same credential headers as HTTP/1.1 are dropped before a
 * callback sees them, and "key=" is cut from :path.
 *
 * A gap inside a DATA payload is reported and skipped; a gap anywhere
 * else loses the HPACK state or the framing, so the connection is
 * declared lost (h2_ops.lost) and the rest of it ignored.
 */
#ifndef SONDE_DECODE_H2_H
#define SONDE_DECODE_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "decode/dmem.h"

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
/* :path and header values are passed on up to this length (cut, counted). */
#define H2_VALUE_MAX 4096

enum h2_side {
	H2_WRITE = 0, /* client to server: requests */
	H2_READ = 1,  /* server to client: responses */
};

struct h2_ops {
	void (*header)(void *ctx, enum h2_side side, uint32_t stream, const char *name, size_t nlen,
		       const char *value, size_t vlen);
	/* A complete header block (after END_HEADERS); @end_stream as flagged. */
	void (*headers_end)(void *ctx, enum h2_side side, uint32_t stream, bool end_stream);
	void (*data)(void *ctx, enum h2_side side, uint32_t stream, const char *buf, size_t len);
	void (*data_gap)(void *ctx, enum h2_side side, uint32_t stream, uint64_t n);
	/* END_STREAM on a DATA frame. */
	void (*data_end)(void *ctx, enum h2_side side, uint32_t stream);
	void (*rst_stream)(void *ctx, enum h2_side side, uint32_t stream, uint32_t error);
	void (*goaway)(void *ctx, enum h2_side side, uint32_t last_stream, uint32_t error);
	/* Framing or HPACK state lost: nothing more can be decoded. */
	void (*lost)(void *ctx);
};

struct h2_dir {
	uint8_t state;
	uint8_t hlen;
	uint8_t hdr[9];
	uint8_t type, flags;
	uint32_t stream;
	uint32_t len;	   /* payload length */
	uint32_t pos;	   /* payload bytes consumed */
	uint32_t pad;	   /* padding length */
	uint32_t pre_need; /* bytes of prefix fields (pad length, priority, ids) */
	uint8_t pre[8];
	uint8_t prelen;
	uint32_t preface_left;
	bool block_open; /* a header block awaits CONTINUATION */
	bool block_push; /* ... and it belongs to a PUSH_PROMISE */
	bool block_end_stream;
	bool final_fed; /* the block's last byte went to the inflater */
	uint32_t block_stream;
	nghttp2_hd_inflater *inflater;
};

struct h2 {
	const struct h2_ops *ops;
	void *ctx;
	struct dmem *mem;
	nghttp2_mem nmem;
	bool lost;
	struct h2_dir dir[2];
	uint64_t frames;
	uint64_t cut_values;
	uint64_t ignored_bytes;
};

/* 0, -ENOMEM. */
int h2_init(struct h2 *h, const struct h2_ops *ops, void *ctx, struct dmem *mem);
void h2_free(struct h2 *h);
void h2_feed(struct h2 *h, enum h2_side side, const char *buf, size_t len);
void h2_gap(struct h2 *h, enum h2_side side, uint64_t n);

#endif /* SONDE_DECODE_H2_H */
