// SPDX-License-Identifier: MIT
/*
 * StatsD over UDP: deltas per series since the previous flush, packed
 * into MTU-sized datagrams. The wire format is documented in the header.
 *
 * The last value sent for each series is kept in a hash table keyed by
 * name + labels (in the snapshot's sorted order); entries of series that
 * disappeared from the registry are pruned at the end of each flush, so
 * the table is bounded by the registry's own max_series.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export/statsd.h"
#include "base/hostport.h"
#include "base/log.h"

#define LINE_MAX_LEN 2048

struct last {
	struct last *next;
	char *key;
	size_t keylen;
	uint64_t hash;
	uint64_t gen; /* flush that last saw the series */
	double value;
	uint64_t count;
	double sum;
	uint64_t *counts;
	unsigned int ncounts;
};

struct statsd {
	int fd;
	enum statsd_flavor flavor;
	char *prefix; /* sanitized, with the trailing '.'; "" for none */
	struct last **buckets;
	size_t nbuckets, nentries;
	uint64_t gen;
	struct statsd_stats stats;
	char pkt[STATSD_MAX_PACKET];
	size_t plen;
};

/* A growable-free line buffer: overflow marks the line as too long. */
struct line {
	char buf[LINE_MAX_LEN];
	size_t len;
	int overflow;
};

static void line_putc(struct line *l, char c)
{
	if (l->len + 1 >= sizeof(l->buf)) {
		l->overflow = 1;
		return;
	}
	l->buf[l->len++] = c;
	l->buf[l->len] = '\0';
}

static void line_puts(struct line *l, const char *s)
{
	for (; *s; s++)
		line_putc(l, *s);
}

/* DogStatsD reserves '|' (fields), ',' (tags), '#' (tag block), '\n' (lines). */
static void line_put_tag(struct line *l, const char *s)
{
	for (; *s; s++)
		line_putc(l, strchr("|,#\n\r", *s) ? '_' : *s);
}

/* Names also may not hold ':' (value separator) or '@' (sample rate). */
static void line_put_name(struct line *l, const char *s)
{
	for (; *s; s++)
		line_putc(l, strchr("|,#:@\n\r", *s) ? '_' : *s);
}

static uint64_t fnv1a(const char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void send_packet(struct statsd *s)
{
	ssize_t n;

	if (!s->plen)
		return;
	/* MSG_DONTWAIT on top of O_NONBLOCK: never wait for socket buffer space. */
	n = send(s->fd, s->pkt, s->plen, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		s->stats.send_errors++;
		log_debug("statsd: failed to send a %zu-byte packet: %s", s->plen, strerror(errno));
	} else {
		s->stats.packets_sent++;
		s->stats.bytes_sent += (uint64_t)n;
	}
	s->plen = 0;
}

/* Add one unit (one or more lines that must travel together). */
static void emit(struct statsd *s, const struct line *l, unsigned int nlines)
{
	if (l->overflow || l->len > STATSD_MAX_PACKET) {
		s->stats.lines_dropped += nlines;
		log_debug("statsd: failed to send a line: longer than %d bytes", STATSD_MAX_PACKET);
		return;
	}
	if (s->plen && s->plen + 1 + l->len > STATSD_MAX_PACKET)
		send_packet(s);
	if (s->plen)
		s->pkt[s->plen++] = '\n';
	memcpy(s->pkt + s->plen, l->buf, l->len);
	s->plen += l->len;
}

/*
 * 15 significant digits: exact for integers below 1e15, and a delta of two
 * sums (0.55 - 0.5) reads "0.05" rather than the full double's
 * "0.050000000000000044". StatsD aggregates anyway.
 */
static const char *fmt_value(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.15g", v == 0 ? 0.0 : v);
	return buf;
}

/* "|#k:v,..." of @ser, nothing without labels. */
static void put_tags(struct line *l, const struct metric_series *ser)
{
	if (!ser->nlabels)
		return;
	line_puts(l, "|#");
	for (unsigned int i = 0; i < ser->nlabels; i++) {
		if (i)
			line_putc(l, ',');
		line_put_tag(l, ser->labels[i].key);
		line_putc(l, ':');
		line_put_tag(l, ser->labels[i].value);
	}
}

/* "PREFIX.NAME[SUFFIX]:VALUE|TYPE[|#tags]" */
static void format_line(struct line *l, const struct statsd *s, const char *name,
			const char *suffix, const char *value, const char *type,
			const struct metric_series *ser)
{
	line_puts(l, s->prefix);
	line_put_name(l, name);
	line_puts(l, suffix);
	line_putc(l, ':');
	line_puts(l, value);
	line_putc(l, '|');
	line_puts(l, type);
	put_tags(l, ser);
}

static void emit_value(struct statsd *s, const struct metric_family *f, const char *suffix,
		       double v, const char *type, const struct metric_series *ser)
{
	struct line l = {.len = 0};
	char num[32];

	if (!isfinite(v)) {
		s->stats.lines_dropped++;
		return;
	}
	format_line(&l, s, f->name, suffix, fmt_value(v, num, sizeof(num)), type, ser);
	emit(s, &l, 1);
}

static void emit_gauge(struct statsd *s, const struct metric_family *f,
		       const struct metric_series *ser)
{
	struct line l = {.len = 0};
	char num[32];

	if (!isfinite(ser->value)) {
		s->stats.lines_dropped++;
		return;
	}
	if (!signbit(ser->value) || ser->value == 0) {
		emit_value(s, f, "", ser->value, "g", ser);
		return;
	}
	/* A leading '-' means "decrement": zero it first, in the same packet. */
	format_line(&l, s, f->name, "", "0", "g", ser);
	line_putc(&l, '\n');
	format_line(&l, s, f->name, "", fmt_value(ser->value, num, sizeof(num)), "g", ser);
	emit(s, &l, 2);
}

static int table_grow(struct statsd *s)
{
	size_t nb = s->nbuckets ? s->nbuckets * 2 : 64;
	struct last **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct last *e = s->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
	return 0;
}

static void last_free(struct last *e)
{
	if (!e)
		return;
	free(e->counts);
	free(e->key);
	free(e);
}

/* The state of one series, created zeroed on first sight. */
static int lookup(struct statsd *s, const struct metric_family *f, const struct metric_series *ser,
		  struct last **out)
{
	size_t len = strlen(f->name) + 1, off;
	struct last *e;
	uint64_t h;
	char *key;
	int err = -ENOMEM;

	for (unsigned int i = 0; i < ser->nlabels; i++)
		len += strlen(ser->labels[i].key) + 1 + strlen(ser->labels[i].value) + 1;
	key = malloc(len);
	if (!key)
		return -ENOMEM;
	off = strlen(f->name) + 1;
	memcpy(key, f->name, off);
	for (unsigned int i = 0; i < ser->nlabels; i++) {
		size_t kl = strlen(ser->labels[i].key) + 1, vl = strlen(ser->labels[i].value) + 1;

		memcpy(key + off, ser->labels[i].key, kl);
		off += kl;
		memcpy(key + off, ser->labels[i].value, vl);
		off += vl;
	}
	h = fnv1a(key, len, 0xcbf29ce484222325ull);
	for (e = s->nbuckets ? s->buckets[h & (s->nbuckets - 1)] : NULL; e; e = e->next) {
		if (e->hash == h && e->keylen == len && !memcmp(e->key, key, len)) {
			free(key);
			*out = e;
			return 0;
		}
	}
	if (s->nentries + 1 > s->nbuckets * 3 / 4 && table_grow(s))
		goto err_key;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto err_key;
	e->key = key;
	e->keylen = len;
	e->hash = h;
	e->next = s->buckets[h & (s->nbuckets - 1)];
	s->buckets[h & (s->nbuckets - 1)] = e;
	s->nentries++;
	*out = e;
	return 0;

err_key:
	free(key);
	return err;
}

static double delta_of(double now, double before)
{
	/* Went down: the source restarted, everything now is new. */
	return now < before ? now : now - before;
}

/* A sample rate as a plain decimal with 15 significant digits ("0.0123"). */
static const char *fmt_rate(double r, char *buf, size_t len)
{
	int digits = 15;
	size_t n;

	/* One more decimal per leading zero: 15 significant digits in all. */
	for (double v = r; v < 1 && digits < 40; v *= 10)
		digits++;

	snprintf(buf, len, "%.*f", digits, r);
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/* The value a bucket's observations are sent as, in the timing's unit. */
static double bucket_value(const struct metric_family *f, unsigned int b, bool ms)
{
	double v;

	if (b == f->nbounds)
		v = f->nbounds ? f->bounds[f->nbounds - 1] : 0; /* +Inf: its lower edge */
	else
		v = ((b ? f->bounds[b - 1] : 0) + f->bounds[b]) / 2;
	return ms ? v * 1000 : v;
}

/* "_seconds" families are timings in milliseconds under the name without it. */
static bool timing_name(const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	bool secs = n > 8 && !strcmp(name + n - 8, "_seconds");

	snprintf(out, len, "%.*s", (int)(secs ? n - 8 : n), name);
	return secs;
}

/* "PREFIX.NAME:" of a timing line. */
static void timing_head(struct line *l, const struct statsd *s, const char *name)
{
	l->len = 0;
	l->overflow = 0;
	line_puts(l, s->prefix);
	line_put_name(l, name);
	line_putc(l, ':');
}

/*
 * The new observations of @ser (@delta per bucket, @total in all) as
 * timings, see the header for the two flavors.
 */
static void emit_timings(struct statsd *s, const struct metric_family *f,
			 const struct metric_series *ser, const uint64_t *delta, uint64_t total)
{
	char name[512], val[32], rate[64], entry[128];
	bool ms = timing_name(f->name, name, sizeof(name));
	struct line tags = {.len = 0}, l;
	size_t head, nentries = 0;

	put_tags(&tags, ser);
	timing_head(&l, s, name);
	head = l.len;
	for (unsigned int b = 0; b <= f->nbounds; b++) {
		uint64_t n = delta[b];
		double r = 1;

		if (!n)
			continue;
		fmt_value(bucket_value(f, b, ms), val, sizeof(val));
		if (s->flavor == STATSD_FLAVOR_DOGSTATSD) {
			/* One line a bucket: the rate weighs the value. */
			if (n > 1)
				snprintf(entry, sizeof(entry), "%s|d|@%s", val,
					 fmt_rate(1.0 / (double)n, rate, sizeof(rate)));
			else
				snprintf(entry, sizeof(entry), "%s|d", val);
			timing_head(&l, s, name);
			line_puts(&l, entry);
			line_puts(&l, tags.buf);
			emit(s, &l, 1);
			continue;
		}
		/* Entries in proportion to the bucket's count, at least one. */
		if (total > STATSD_TIMING_ENTRIES) {
			uint64_t k = n * STATSD_TIMING_ENTRIES / total;

			k = k ? k : 1;
			r = (double)k / (double)n;
			n = k;
		}
		if (r < 1)
			snprintf(entry, sizeof(entry), "%s|ms|@%s", val,
				 fmt_rate(r, rate, sizeof(rate)));
		else
			snprintf(entry, sizeof(entry), "%s|ms", val);
		for (uint64_t i = 0; i < n; i++) {
			/* A full line goes; the next one repeats the name and tags. */
			if (nentries && l.len + 1 + strlen(entry) + tags.len > STATSD_MAX_PACKET) {
				line_puts(&l, tags.buf);
				emit(s, &l, 1);
				l.len = head;
				l.buf[head] = '\0';
				nentries = 0;
			}
			if (nentries)
				line_putc(&l, ':');
			line_puts(&l, entry);
			nentries++;
		}
	}
	if (nentries) {
		line_puts(&l, tags.buf);
		emit(s, &l, 1);
	}
}

static int flush_histogram(struct statsd *s, const struct metric_family *f,
			   const struct metric_series *ser, struct last *e)
{
	unsigned int nb = f->nbounds + 1;
	int reset = ser->count < e->count;
	uint64_t delta[nb], total = 0;

	if (e->ncounts != nb) {
		uint64_t *c = calloc(nb, sizeof(*c));

		if (!c)
			return -ENOMEM;
		free(e->counts);
		e->counts = c;
		e->ncounts = nb;
		e->count = 0;
		e->sum = 0;
	}
	if (ser->count == e->count)
		return 0;
	emit_value(s, f, ".count", (double)(reset ? ser->count : ser->count - e->count), "c", ser);
	emit_value(s, f, ".sum", reset ? ser->sum : ser->sum - e->sum, "c", ser);
	for (unsigned int b = 0; b < nb; b++) {
		uint64_t now = ser->counts[b], before = reset ? 0 : e->counts[b];

		delta[b] = now >= before ? now - before : now;
		total += delta[b];
	}
	if (total)
		emit_timings(s, f, ser, delta, total);
	memcpy(e->counts, ser->counts, nb * sizeof(*e->counts));
	e->count = ser->count;
	e->sum = ser->sum;
	return 0;
}

static void prune(struct statsd *s)
{
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct last **pp = &s->buckets[i];

		while (*pp) {
			struct last *e = *pp;

			if (e->gen == s->gen) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			last_free(e);
			s->nentries--;
		}
	}
}

int statsd__flush(struct statsd *s, const struct metrics_snapshot *snap)
{
	int err = 0;

	if (!s || !snap)
		return -EINVAL;
	s->gen++;
	for (size_t i = 0; i < snap->nfamilies && !err; i++) {
		const struct metric_family *f = &snap->families[i];

		for (size_t j = 0; j < f->nseries && !err; j++) {
			const struct metric_series *ser = &f->series[j];
			struct last *e;

			if (f->type == METRIC_GAUGE) {
				emit_gauge(s, f, ser);
				continue;
			}
			err = lookup(s, f, ser, &e);
			if (err)
				break;
			e->gen = s->gen;
			if (f->type == METRIC_HISTOGRAM) {
				err = flush_histogram(s, f, ser, e);
				continue;
			}
			if (ser->value != e->value)
				emit_value(s, f, "", delta_of(ser->value, e->value), "c", ser);
			e->value = ser->value;
		}
	}
	send_packet(s);
	/* After an error some live series were not marked: keep everything. */
	if (!err)
		prune(s);
	else
		log_warn("statsd: failed to flush metrics: %s", strerror(-err));
	return err;
}

static char *make_prefix(const char *prefix)
{
	struct line l = {.len = 0};

	if (!prefix || !*prefix)
		return strdup("");
	line_put_name(&l, prefix);
	if (l.buf[l.len - 1] != '.')
		line_putc(&l, '.');
	/* A prefix near LINE_MAX_LEN would leave no room for any metric. */
	if (l.overflow || l.len > 256)
		return NULL;
	return strdup(l.buf);
}

int statsd_flavor_parse(const char *s, enum statsd_flavor *out)
{
	if (!strcmp(s, "statsd"))
		*out = STATSD_FLAVOR_STATSD;
	else if (!strcmp(s, "dogstatsd"))
		*out = STATSD_FLAVOR_DOGSTATSD;
	else
		return -EINVAL;
	return 0;
}

int statsd__new(const char *hostport, const char *prefix, struct statsd **out)
{
	return statsd__new_flavor(hostport, prefix, STATSD_FLAVOR_STATSD, out);
}

int statsd__new_flavor(const char *hostport, const char *prefix, enum statsd_flavor flavor,
		       struct statsd **out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned int port;
	char host[256];
	struct statsd *s;
	int err;

	if (!out)
		return -EINVAL;
	if (!hostport || hostport_parse(hostport, host, sizeof(host), &port) || !host[0] || !port) {
		log_err("cannot send StatsD to '%s': expected HOST:PORT or [IPV6]:PORT "
			"(e.g. --statsd 127.0.0.1:8125)",
			hostport ? hostport : "");
		return -EINVAL;
	}
	err = hostport_resolve(host, port, SOCK_DGRAM, &ss, &len);
	if (err) {
		log_err("cannot send StatsD to %s: unknown host '%s' (use an IP address such as "
			"127.0.0.1)",
			hostport, host);
		return err;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		log_err("statsd: failed to allocate the exporter: out of memory");
		return -ENOMEM;
	}
	err = -EINVAL;
	s->flavor = flavor;
	s->prefix = make_prefix(prefix);
	if (!s->prefix) {
		log_err("cannot use StatsD prefix '%s': longer than 255 bytes", prefix);
		goto err_statsd;
	}
	s->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		err = -errno;
		log_err("statsd: failed to create a UDP socket: %s", strerror(errno));
		goto err_prefix;
	}
	/* connect(): send() without an address, and ICMP errors surface as counts. */
	if (connect(s->fd, (struct sockaddr *)&ss, len)) {
		err = -errno;
		log_err("cannot send StatsD to %s: %s", hostport, strerror(errno));
		goto err_fd;
	}
	*out = s;
	return 0;

err_fd:
	close(s->fd);
err_prefix:
	free(s->prefix);
err_statsd:
	free(s);
	return err;
}

void statsd__free(struct statsd *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct last *e = s->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			last_free(e);
		}
	}
	free(s->buckets);
	free(s->prefix);
	close(s->fd);
	free(s);
}

void statsd__stats(const struct statsd *s, struct statsd_stats *out)
{
	if (!s) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = s->stats;
}
