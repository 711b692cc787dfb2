// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probes/probe.h"
#include "probes/rqueue.h"

int rqueue__init(struct rqueue *q, size_t cap, size_t max_record)
{
	memset(q, 0, sizeof(*q));
	q->buf = malloc(cap + 8 + ((max_record + 7) & ~(size_t)7));
	if (!q->buf)
		return -ENOMEM;
	q->cap = cap;
	q->max_record = max_record;
	return 0;
}

void rqueue__free(struct rqueue *q)
{
	free(q->buf);
	q->buf = NULL;
}

int rqueue__push(struct rqueue *q, const void *data, size_t len)
{
	uint64_t hdr = len;

	/*
	 * libbpf has consumed this record already even if we fail it: store
	 * it, then ask for a flush once the queue is full. The run loop ticks
	 * before consuming again, so the guard below is only a safety net.
	 */
	if (q->used >= q->cap || len > q->max_record) {
		q->dropped++;
		return q->used >= q->cap ? PROBE_QUEUE_FULL : 0;
	}
	memcpy(q->buf + q->used, &hdr, sizeof(hdr));
	memcpy(q->buf + q->used + 8, data, len);
	q->used = rqueue__next(q->used, len);
	return q->used >= q->cap ? PROBE_QUEUE_FULL : 0;
}
