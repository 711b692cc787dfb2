// SPDX-License-Identifier: MIT
/*
 * The decoder: a bounded table of connections, protocol detection on the
 * first bytes a connection writes (the HTTP/2 client preface, or an
 * HTTP/1.1 request line), and the limits of decode.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hindex.h"
#include "base/log.h"
#include "decode/conn.h"

#define DEF_MAX_CONNECTIONS 4096
#define DEF_MAX_EXCHANGES 64
#define DEF_MAX_CONN_MEMORY (4u << 20)
#define DEF_IDLE_TIMEOUT_NS (300ull * 1000000000ull)
#define DEF_MAX_MESSAGE_BYTES 4096
#define DEF_MAX_CONTENT_BYTES 65536

struct llm_decoder *llm_decoder__new(const struct llm_decoder_opts *opts, llm_call_fn cb, void *ctx)
{
	struct llm_decoder *d = calloc(1, sizeof(*d));
	struct llm_decoder_opts *o;
	int err = ENOMEM;

	if (!d)
		goto err;
	if (opts)
		d->opts = *opts;
	o = &d->opts;
	if (!o->max_connections)
		o->max_connections = DEF_MAX_CONNECTIONS;
	if (!o->max_exchanges)
		o->max_exchanges = DEF_MAX_EXCHANGES;
	if (!o->max_conn_memory)
		o->max_conn_memory = DEF_MAX_CONN_MEMORY;
	if (!o->idle_timeout_ns)
		o->idle_timeout_ns = DEF_IDLE_TIMEOUT_NS;
	if (!o->max_message_bytes)
		o->max_message_bytes = DEF_MAX_MESSAGE_BYTES;
	if (!o->max_content_bytes)
		o->max_content_bytes = DEF_MAX_CONTENT_BYTES;
	/* The caller's pattern array is not ours to keep. */
	o->redact_patterns = NULL;
	d->cb = cb;
	d->cb_ctx = ctx;
	if (o->capture_content && !o->disable_redaction) {
		d->redactor = redactor__new(opts ? opts->redact_patterns : NULL,
					    opts ? opts->n_redact_patterns : 0);
		if (!d->redactor) {
			err = errno;
			goto err;
		}
	}
	d->nbuckets = 64;
	while (d->nbuckets < 2 * o->max_connections)
		d->nbuckets *= 2;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	if (!d->buckets)
		goto err;
	return d;

err:
	llm_decoder__free(d);
	errno = err;
	return NULL;
}

static struct conn **slot_of(struct llm_decoder *d, uint32_t pid, uint64_t id)
{
	uint64_t h = hash_mix(hash_mix(0x5bd1e995, pid), id);

	return &d->buckets[h & (d->nbuckets - 1)];
}

static struct conn *find(struct llm_decoder *d, uint32_t pid, uint64_t id)
{
	for (struct conn *c = *slot_of(d, pid, id); c; c = c->next)
		if (c->pid == pid && c->id == id)
			return c;
	return NULL;
}

static struct conn *conn_new(struct llm_decoder *d, const struct llm_chunk *k)
{
	struct conn **slot;
	struct conn *c;

	if (d->nconns >= d->opts.max_connections) {
		d->st.conns_rejected++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->d = d;
	c->pid = k->pid;
	c->id = k->conn_id;
	c->last_ns = k->ts_ns;
	c->mem.parent = &d->mem;
	/* The connection's own struct counts as its memory too. */
	dmem_charge(&c->mem, sizeof(*c), 0);
	slot = slot_of(d, k->pid, k->conn_id);
	c->next = *slot;
	*slot = c;
	d->nconns++;
	d->st.conns_opened++;
	return c;
}

/* What the parsers counted, into @s. */
static void parser_counts(const struct conn *c, struct llm_decoder_stats *s)
{
	if (c->proto == PROTO_HTTP1) {
		s->ignored_bytes += c->req.ignored_bytes + c->resp.ignored_bytes;
		s->protocol_errors += c->req.protocol_errors + c->resp.protocol_errors;
	} else if (c->proto == PROTO_HTTP2) {
		s->ignored_bytes += c->h2.ignored_bytes;
	}
}

/* Free the protocol state (reporting nothing), keeping its counts. */
static void conn_drop_state(struct conn *c)
{
	parser_counts(c, &c->d->st);
	if (c->proto == PROTO_HTTP1)
		conn_h1_free(c);
	else if (c->proto == PROTO_HTTP2)
		conn_h2_free(c);
}

static void conn_free(struct llm_decoder *d, struct conn *c)
{
	for (struct conn **pp = slot_of(d, c->pid, c->id); *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	conn_drop_state(c);
	if (c->mem.peak > d->st.conn_mem_peak)
		d->st.conn_mem_peak = c->mem.peak;
	dmem_charge(&c->mem, 0, c->mem.used);
	d->nconns--;
	free(c);
}

/* The connection ended: what is in flight is reported as truncated. */
static void conn_end(struct llm_decoder *d, struct conn *c, uint64_t ts)
{
	d->now = ts;
	if (c->proto == PROTO_HTTP1)
		conn_h1_close(c);
	else if (c->proto == PROTO_HTTP2)
		conn_h2_close(c, LLM_UNPARSED_TRUNCATED);
	conn_free(d, c);
}

void llm_decoder__free(struct llm_decoder *d)
{
	if (!d)
		return;
	for (unsigned int i = 0; d->buckets && i < d->nbuckets; i++)
		while (d->buckets[i])
			conn_free(d, d->buckets[i]);
	free(d->buckets);
	redactor__free(d->redactor);
	free(d);
}

enum verdict {
	V_WAIT,
	V_HTTP1,
	V_HTTP2,
	V_OTHER,
};

static enum verdict classify(const char *p, size_t n)
{
	static const char *const methods[] = {"GET ",	  "POST ",  "PUT ",	"DELETE ", "HEAD ",
					      "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};

	if (!memcmp(p, H2_PREFACE, n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN))
		return n >= H2_PREFACE_LEN ? V_HTTP2 : V_WAIT;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t ml = strlen(methods[i]);

		if (!memcmp(p, methods[i], n < ml ? n : ml))
			return n >= ml ? V_HTTP1 : V_WAIT;
	}
	return V_OTHER;
}

static void feed(struct conn *c, enum llm_dir dir, const char *buf, size_t len)
{
	if (c->proto == PROTO_HTTP1)
		conn_h1_feed(c, dir, buf, len);
	else if (c->proto == PROTO_HTTP2)
		conn_h2_feed(c, dir, buf, len);
}

/* The first bytes a connection writes decide its protocol. */
static void detect(struct llm_decoder *d, struct conn *c, const char *buf, size_t len)
{
	size_t take = H2_PREFACE_LEN - c->prelen;
	enum verdict v;
	size_t n;
	int err;

	if (take > len)
		take = len;
	memcpy(c->pre + c->prelen, buf, take);
	n = c->prelen + take;
	v = classify(c->pre, n);
	if (v == V_WAIT) {
		c->prelen = (uint8_t)n;
		return;
	}
	c->prelen = 0;
	if (v == V_OTHER) {
		if (c->proto == PROTO_UNDECIDED) {
			d->st.conns_other++;
			log_debug("decode: connection %u/%#llx is not HTTP: its bytes are skipped",
				  c->pid, (unsigned long long)c->id);
		}
		c->proto = PROTO_OTHER;
		d->st.ignored_bytes += len;
		return;
	}
	if (v == V_HTTP2) {
		err = conn_h2_init(c);
		c->proto = PROTO_HTTP2;
		d->st.conns_http2++;
	} else {
		err = conn_h1_init(c);
		c->proto = PROTO_HTTP1;
		d->st.conns_http1++;
	}
	if (err) {
		c->proto = PROTO_OPAQUE;
		d->st.ignored_bytes += len;
		return;
	}
	feed(c, LLM_DIR_WRITE, c->pre, n);
	feed(c, LLM_DIR_WRITE, buf + take, len - take);
}

/* Past max_conn_memory: report what is in flight and stop decoding. */
static void check_memory(struct llm_decoder *d, struct conn *c)
{
	if (c->mem.used <= d->opts.max_conn_memory)
		return;
	d->st.conn_memory_limit++;
	log_debug("decode: connection %u/%#llx holds %zu bytes, over max_conn_memory %zu: "
		  "no longer decoded",
		  c->pid, (unsigned long long)c->id, c->mem.used, d->opts.max_conn_memory);
	if (c->proto == PROTO_HTTP1) {
		struct exch *x;

		while ((x = c->queue)) {
			c->queue = x->next;
			if (!c->queue)
				c->tail = NULL;
			exch_finish(x, LLM_UNPARSED_LIMIT);
		}
		c->req_cur = c->resp_cur = NULL;
	} else if (c->proto == PROTO_HTTP2) {
		conn_h2_close(c, LLM_UNPARSED_LIMIT);
	}
	conn_drop_state(c);
	c->proto = PROTO_OPAQUE;
}

static struct conn *conn_for(struct llm_decoder *d, const struct llm_chunk *k)
{
	struct conn *c = find(d, k->pid, k->conn_id);

	if (!c)
		c = conn_new(d, k);
	if (c) {
		d->now = k->ts_ns;
		d->tid = k->tid;
		c->last_ns = k->ts_ns;
	}
	return c;
}

int llm_decoder__open(struct llm_decoder *d, const struct llm_chunk *k)
{
	struct conn *c = find(d, k->pid, k->conn_id);

	/* A reused id: the old connection ended without our seeing it. */
	if (c)
		conn_end(d, c, k->ts_ns);
	return conn_for(d, k) ? 0 : -ENOSPC;
}

int llm_decoder__data(struct llm_decoder *d, const struct llm_chunk *k, const void *buf, size_t len)
{
	struct conn *c;

	d->st.bytes += len;
	c = conn_for(d, k);
	if (!c) {
		d->st.ignored_bytes += len;
		return -ENOSPC;
	}
	switch (c->proto) {
	case PROTO_UNDECIDED:
	case PROTO_OTHER:
		if (k->dir == LLM_DIR_WRITE && len) {
			detect(d, c, buf, len);
			check_memory(d, c);
		} else {
			d->st.ignored_bytes += len;
		}
		break;
	case PROTO_HTTP1:
	case PROTO_HTTP2:
		feed(c, k->dir, buf, len);
		check_memory(d, c);
		break;
	case PROTO_OPAQUE:
		d->st.ignored_bytes += len;
		break;
	}
	return 0;
}

int llm_decoder__gap(struct llm_decoder *d, const struct llm_chunk *k, uint64_t n)
{
	struct conn *c;

	d->st.gap_bytes += n;
	c = conn_for(d, k);
	if (!c)
		return -ENOSPC;
	if (c->proto == PROTO_HTTP1)
		conn_h1_gap(c, k->dir, n);
	else if (c->proto == PROTO_HTTP2) {
		conn_h2_gap(c, k->dir, n);
	} else if (k->dir == LLM_DIR_WRITE) {
		/* The start was lost: look for a message start again. */
		c->prelen = 0;
		if (c->proto == PROTO_UNDECIDED) {
			c->proto = PROTO_OTHER;
			d->st.conns_other++;
		}
	}
	return 0;
}

int llm_decoder__close(struct llm_decoder *d, const struct llm_chunk *k)
{
	struct conn *c = find(d, k->pid, k->conn_id);

	if (!c)
		return -ENOENT;
	d->tid = k->tid;
	conn_end(d, c, k->ts_ns);
	d->st.conns_closed++;
	return 0;
}

/* Close every connection for which @match is true. */
static unsigned int close_where(struct llm_decoder *d, uint64_t ts,
				bool (*match)(const struct conn *c, uint64_t arg), uint64_t arg,
				uint64_t *counter)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->nbuckets; i++) {
		struct conn *c = d->buckets[i], *next;

		for (; c; c = next) {
			next = c->next;
			if (!match(c, arg))
				continue;
			conn_end(d, c, ts);
			(*counter)++;
			n++;
		}
	}
	return n;
}

static bool of_pid(const struct conn *c, uint64_t pid)
{
	return c->pid == pid;
}

static bool idle_before(const struct conn *c, uint64_t t)
{
	return c->last_ns < t;
}

static bool any(const struct conn *c, uint64_t unused)
{
	return true;
}

unsigned int llm_decoder__close_pid(struct llm_decoder *d, uint32_t pid, uint64_t ts_ns)
{
	return close_where(d, ts_ns, of_pid, pid, &d->st.conns_closed);
}

unsigned int llm_decoder__expire(struct llm_decoder *d, uint64_t now_ns)
{
	if (now_ns < d->opts.idle_timeout_ns)
		return 0;
	return close_where(d, now_ns, idle_before, now_ns - d->opts.idle_timeout_ns,
			   &d->st.conns_expired);
}

void llm_decoder__flush(struct llm_decoder *d, uint64_t ts_ns)
{
	close_where(d, ts_ns, any, 0, &d->st.conns_closed);
}

void llm_decoder__stats(const struct llm_decoder *d, struct llm_decoder_stats *s)
{
	*s = d->st;
	s->conns_active = d->nconns;
	s->mem_used = d->mem.used;
	s->mem_peak = d->mem.peak;
	for (unsigned int i = 0; i < d->nbuckets; i++)
		for (const struct conn *c = d->buckets[i]; c; c = c->next) {
			if (c->mem.peak > s->conn_mem_peak)
				s->conn_mem_peak = c->mem.peak;
			parser_counts(c, s);
		}
}

size_t llm_decoder__conn_memory(const struct llm_decoder *d, uint32_t pid, uint64_t conn_id)
{
	const struct conn *c = find((struct llm_decoder *)d, pid, conn_id);

	return c ? c->mem.used : 0;
}
