/* SPDX-License-Identifier: MIT */
/*
 * The bounded queue between a probe's ring-buffer callback and its tick:
 * records copied back to back at 8-byte aligned offsets. The callback only
 * pushes (O(1), a memcpy); the tick walks the queue and empties it.
 */
#ifndef SONDE_PROBES_RQUEUE_H
#define SONDE_PROBES_RQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct rqueue {
	unsigned char *buf;
	size_t cap;   /* bytes of records before the queue counts as full */
	size_t used;
	size_t max_record; /* largest record accepted */
	uint64_t dropped; /* records refused: queue over-full, or larger than max_record */
};

/*
 * Room for @cap bytes of records of at most @max_record bytes each (one
 * more fits past @cap, so a record that fills the queue is still stored).
 * 0 or -ENOMEM.
 */
int rqueue__init(struct rqueue *q, size_t cap, size_t max_record);
void rqueue__free(struct rqueue *q);

/*
 * Store a record. Returns 0, or PROBE_QUEUE_FULL once the queue holds
 * @cap bytes or more: the record was stored, and the run loop must tick
 * before consuming more. A record that cannot be stored (only when the
 * loop kept consuming a full queue, or one larger than max_record) is
 * counted in @dropped.
 */
int rqueue__push(struct rqueue *q, const void *data, size_t len);

/* The record at @off and the offset of the next one; len is what was pushed. */
static inline const void *rqueue__at(const struct rqueue *q, size_t off, size_t *len)
{
	const uint64_t *hdr = (const uint64_t *)(q->buf + off);

	*len = (size_t)*hdr;
	return hdr + 1;
}

static inline size_t rqueue__next(size_t off, size_t len)
{
	return off + 8 + ((len + 7) & ~(size_t)7);
}

#define rqueue_for_each(q, off, rec, len)                                                  \
	for ((off) = 0; (off) < (q)->used && ((rec) = rqueue__at((q), (off), &(len)), 1); \
	     (off) = rqueue__next((off), (len)))

static inline void rqueue__clear(struct rqueue *q)
{
	q->used = 0;
}

#endif /* SONDE_PROBES_RQUEUE_H */
