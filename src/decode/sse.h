/* SPDX-License-Identifier: MIT */
/*
 * Server-Sent Events (text/event-stream, WHATWG HTML "event stream
 * interpretation"), incremental: bytes in any split, lines ending in LF,
 * CRLF or CR, ':' comments, "field: value" with one optional space.
 * The data of an event is streamed to the caller line by line (each
 * line's bytes, then "\n"), never buffered; only the event type is kept
 * (SSE_TYPE_MAX - 1 bytes). Other fields (id, retry) are skipped.
 */
#ifndef SONDE_DECODE_SSE_H
#define SONDE_DECODE_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSE_TYPE_MAX 64

struct sse_ops {
	/* Bytes of the current event's data ("\n" between/after lines). */
	void (*data)(void *ctx, const char *buf, size_t len);
	/*
	 * An event was dispatched (blank line). @type is "" unless an event
	 * field was given; @spoiled when bytes of it were lost in a gap.
	 */
	void (*event)(void *ctx, const char *type, bool had_data, bool spoiled);
};

struct sse {
	const struct sse_ops *ops;
	void *ctx;
	uint8_t state;
	bool cr;       /* the last byte was CR: a following LF belongs to it */
	bool is_data;  /* the field being read is "data" */
	bool is_event; /* ... is "event" */
	bool had_data;
	bool spoiled;
	uint8_t namelen;
	uint8_t typelen;
	char name[8];
	char type[SSE_TYPE_MAX];
	uint64_t events;
	uint64_t spoiled_events;
};

void sse_init(struct sse *s, const struct sse_ops *ops, void *ctx);
void sse_feed(struct sse *s, const char *buf, size_t len);
/* Bytes were lost: the current event is spoiled, parsing resumes at the next line. */
void sse_gap(struct sse *s);
/* The stream ended: an event without its blank line is not dispatched. */
void sse_finish(struct sse *s);

#endif /* SONDE_DECODE_SSE_H */
