// SPDX-License-Identifier: MIT
/*
 * Pyroscope push: the series name and query, the pprof part, the
 * sample_type_config part, the multipart body; the transport sends it.
 * Pyroscope's key parser (segment.ParseKey) has no escapes, so names are
 * made to read back exactly rather than quoted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/encode.h"
#include "export/multipart.h"
#include "export/pyroscope.h"
#include "export/sample_type.h"
#include "export/transport.h"
#include "base/jsonstr.h"
#include "base/log.h"
#include "base/utf8.h"
#include "model/profile.h"

#define NS_PER_S 1000000000ull
#define DEF_MAX_WINDOWS 8
#define DEF_SPY "sonde"
#define INGEST "/ingest"
/* A series name; Pyroscope's own limits are 1024-byte names and 2048-byte values. */
#define NAME_MAX_LEN 8192

struct pyroscope {
	struct transport *t;
	char *ingest; /* BASE/ingest */
	char *spy;    /* percent-encoded */
	atomic_uint_fast64_t pushed, empty, unencoded;
};

/* ---- the series name -------------------------------------------------- */

static bool alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Append @c to @buf at *@n if it fits; false once it does not. */
static bool put(char *buf, size_t len, size_t *n, char c)
{
	if (*n + 1 >= len)
		return false;
	buf[(*n)++] = c;
	buf[*n] = '\0';
	return true;
}

/* The app name: [A-Za-z0-9_.-/], the rest '_', no surrounding spaces. */
static bool put_app(char *buf, size_t len, size_t *n, const char *app)
{
	const unsigned char *s = (const unsigned char *)app, *e = s + strlen(app);

	while (s < e && space(*s))
		s++;
	while (e > s && space(e[-1]))
		e--;
	for (; s < e; s++)
		if (!put(buf, len, n, alnum(*s) || strchr("_.-/", *s) ? (char)*s : '_'))
			return false;
	return true;
}

/* A label key: [A-Za-z_][A-Za-z0-9_]*, the rest '_'. */
static bool put_key(char *buf, size_t len, size_t *n, const char *key)
{
	const unsigned char *s = (const unsigned char *)key;

	if (*s >= '0' && *s <= '9' && !put(buf, len, n, '_'))
		return false;
	for (; *s; s++)
		if (!put(buf, len, n, alnum(*s) || *s == '_' ? (char)*s : '_'))
			return false;
	return true;
}

/* A label value as the key parser will read it back. */
static bool put_value(char *buf, size_t len, size_t *n, const char *value)
{
	const unsigned char *s = (const unsigned char *)value, *e = s + strlen(value);

	while (s < e && space(*s))
		s++;
	while (e > s && space(e[-1]))
		e--;
	while (s < e) {
		size_t l = utf8_seq_len(s, (size_t)(e - s));

		if (l == 1 && (*s < 0x20 || *s == 0x7f || strchr(",{}=", *s)))
			l = 0;
		if (!l) {
			if (!put(buf, len, n, '_'))
				return false;
			s++;
			continue;
		}
		for (size_t i = 0; i < l; i++)
			if (!put(buf, len, n, (char)s[i]))
				return false;
		s += l;
	}
	return true;
}

static bool reserved_key(const char *k)
{
	return !strncmp(k, "__", 2) || !strcmp(k, "service_name") || !strcmp(k, "pyroscope_spy");
}

/* Is key @k (of length @kl, in @buf) already among the keys written before @upto? */
static bool dup_key(const char *buf, size_t upto, const char *k, size_t kl)
{
	const char *p = strchr(buf, '{');

	while (p && p < buf + upto) {
		const char *eq = strchr(p + 1, '=');

		if (!eq || eq >= buf + upto)
			break;
		if ((size_t)(eq - p - 1) == kl && !memcmp(p + 1, k, kl))
			return true;
		p = strchr(eq, ',');
	}
	return false;
}

int pyroscope_series_name(char *buf, size_t len, const char *app,
			  const struct pyroscope_label *labels, size_t nlabels, char *why,
			  size_t whylen)
{
	size_t n = 0, nl = 0;
	char dummy[1];

	if (!why) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (!put_app(buf, len, &n, app ? app : ""))
		return -ENOSPC;
	if (!n) {
		snprintf(why, whylen, "the application name '%s' is empty", app ? app : "");
		return -EINVAL;
	}
	if (!put(buf, len, &n, '{'))
		return -ENOSPC;
	for (size_t i = 0; i < nlabels; i++) {
		const char *key = labels[i].key ? labels[i].key : "";
		size_t start = n, kstart;
		char sep = nl ? ',' : '\0';

		if (!*key) {
			snprintf(why, whylen, "label %zu has an empty name", i + 1);
			return -EINVAL;
		}
		if (sep && !put(buf, len, &n, sep))
			return -ENOSPC;
		kstart = n;
		if (!put_key(buf, len, &n, key))
			return -ENOSPC;
		if (reserved_key(buf + kstart)) {
			snprintf(why, whylen,
				 "label '%s' is Pyroscope's own (reserved: __*, service_name, "
				 "pyroscope_spy)",
				 key);
			return -EINVAL;
		}
		if (dup_key(buf, kstart, buf + kstart, n - kstart)) {
			snprintf(why, whylen, "label '%s' is given twice (as '%.*s')", key,
				 (int)(n - kstart), buf + kstart);
			return -EINVAL;
		}
		if (!put(buf, len, &n, '='))
			return -ENOSPC;
		if (!put_value(buf, len, &n, labels[i].value ? labels[i].value : ""))
			return -ENOSPC;
		/* An empty value is no label: leave it out. */
		if (buf[n - 1] == '=') {
			n = start;
			buf[n] = '\0';
			continue;
		}
		nl++;
	}
	if (!put(buf, len, &n, '}'))
		return -ENOSPC;
	return (int)n;
}

/* RFC 3986: unreserved characters stay, the rest is %XX. */
static char *pct_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (alnum(*p) || strchr("-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* ---- the request ------------------------------------------------------ */

/* One sample_type_config entry: sonde's description, or the unit as recorded. */
static void config_entry(FILE *f, bool first, const char *type, const char *unit)
{
	const struct sample_type_desc *d = sample_type_desc(type);

	fputs(first ? "" : ",", f);
	json_put_string(f, type);
	fputs(":{\"units\":", f);
	json_put_string(f, d ? d->pyroscope_units : unit);
	fprintf(f, ",\"aggregation\":\"%s\",\"cumulative\":false,\"sampled\":%s}",
		d ? d->aggregation : "sum", d && d->sampled ? "true" : "false");
}

/*
 * sample_type_config: every sample type of the pprof written, in its
 * order: each profile type, and cpu/nanoseconds after samples/count as
 * pprof.c derives it.
 */
static int sample_type_config(const struct profile *w, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int err;

	if (!f)
		return -ENOMEM;
	fputc('{', f);
	for (size_t i = 0; i < profile__type_count(w); i++) {
		const struct profile_type *t = profile__type(w, i);

		config_entry(f, i == 0, t->type, t->unit);
		if (!strcmp(t->type, "samples") && !strcmp(t->unit, "count"))
			config_entry(f, false, "cpu", "nanoseconds");
	}
	fputc('}', f);
	err = ferror(f) ? -ENOMEM : 0;
	if (fclose(f))
		err = -ENOMEM;
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

static char *ingest_url(const struct pyroscope *p, const char *series, uint64_t from_ns,
			uint64_t until_ns, unsigned int hz)
{
	uint64_t from = from_ns / NS_PER_S, until = (until_ns + NS_PER_S - 1) / NS_PER_S;
	char *name = pct_encode(series), *url = NULL, rate[32] = "";

	if (!name)
		return NULL;
	if (until <= from)
		until = from + 1;
	if (hz)
		snprintf(rate, sizeof(rate), "&sampleRate=%u", hz);
	if (asprintf(&url, "%s?name=%s&from=%" PRIu64 "&until=%" PRIu64 "&format=pprof%s&spyName=%s",
		     p->ingest, name, from, until, rate, p->spy) < 0)
		url = NULL;
	free(name);
	return url;
}

int pyroscope__push(struct pyroscope *p, const struct profile *window, const char *app,
		    const struct pyroscope_label *labels, size_t nlabels, uint64_t from_unix_ns,
		    uint64_t until_unix_ns, unsigned int sample_rate_hz)
{
	char *series = malloc(NAME_MAX_LEN), why[256] = "";
	char *pprof = NULL, *config = NULL;
	size_t plen = 0, clen = 0;
	struct transport_req r = {.items = 1};
	struct multipart_part parts[2];
	int err;

	if (!series)
		return -ENOMEM;
	err = pyroscope_series_name(series, NAME_MAX_LEN, app, labels, nlabels, why, sizeof(why));
	if (err < 0) {
		if (err == -ENOSPC)
			snprintf(why, sizeof(why), "the series name is longer than %d bytes",
				 NAME_MAX_LEN);
		log_err("pyroscope: failed to name the series of a window: %s", why);
		err = -EINVAL;
		goto out;
	}
	err = 0;
	if (!profile_has_samples(window)) {
		atomic_fetch_add(&p->empty, 1);
		goto out;
	}
	err = profile_encode(window, WINDOW_PPROF, NULL, &pprof, &plen);
	if (!err)
		err = sample_type_config(window, &config, &clen);
	if (!err) {
		parts[0] = (struct multipart_part){"profile", "profile.pb.gz",
						   "application/octet-stream", pprof, plen};
		parts[1] = (struct multipart_part){"sample_type_config", "sample_type_config.json",
						   "application/json", config, clen};
		err = multipart_form(parts, 2, NULL, NULL, (char **)&r.body, &r.len,
				     &r.content_type);
	}
	if (!err) {
		r.url = ingest_url(p, series, from_unix_ns, until_unix_ns, sample_rate_hz);
		if (!r.url)
			err = -ENOMEM;
	}
	if (err) {
		atomic_fetch_add(&p->unencoded, 1);
		log_err("pyroscope: failed to encode a window of %s: %s", series, strerror(-err));
		free(r.body);
		free(r.content_type);
		goto out;
	}
	atomic_fetch_add(&p->pushed, 1);
	/* Takes body, url and content type, also on error. */
	err = transport__send(p->t, 0, &r);
out:
	free(pprof);
	free(config);
	free(series);
	return err;
}

/* ---- the object ------------------------------------------------------- */

/* "BASE/ingest" from the base URL @url into *@out: 0, -EINVAL (logged), -ENOMEM. */
static int ingest_of(const char *url, char **out)
{
	const char *host = !strncmp(url, "http://", 7)	  ? url + 7
			   : !strncmp(url, "https://", 8) ? url + 8
							  : NULL;
	size_t hl, len;

	*out = NULL;
	if (!host || !*host || *host == '/') {
		log_err("pyroscope: failed to use URL '%s': expected http://HOST:PORT or https://...",
			url);
		return -EINVAL;
	}
	hl = strcspn(host, "/");
	if (memchr(host, '@', hl)) {
		log_err("pyroscope: failed to use URL '%s': credentials in a URL end up in logs; "
			"give them as a header (Authorization: Basic ...)",
			url);
		return -EINVAL;
	}
	if (strpbrk(url, "?#") || strpbrk(url, " \t\r\n")) {
		log_err("pyroscope: failed to use URL '%s': the base URL takes no query, fragment or "
			"spaces (the request's query is sonde's)",
			url);
		return -EINVAL;
	}
	len = strlen(url);
	while (len && url[len - 1] == '/')
		len--;
	/* A URL already naming the endpoint stays as it is. */
	if (len >= strlen(INGEST) && !strncmp(url + len - strlen(INGEST), INGEST, strlen(INGEST)) &&
	    (size_t)(host - url) + hl < len)
		*out = strndup(url, len);
	else if (asprintf(out, "%.*s" INGEST, (int)len, url) < 0)
		*out = NULL;
	return *out ? 0 : -ENOMEM;
}

int pyroscope__new(const struct pyroscope_opts *o, struct pyroscope **out)
{
	struct transport_channel_opts ch = {
		.what = "profiles",
		.max_requests = o->max_windows ? o->max_windows : DEF_MAX_WINDOWS,
	};
	struct transport_opts to = {
		.name = "pyroscope",
		.cainfo = o->cainfo,
		.channels = &ch,
		.nchannels = 1,
		.timeout_ms = o->timeout_ms,
		.backoff_ms = o->backoff_ms,
		.retry_max_ms = o->retry_max_ms,
		.cancel = o->cancel,
		.cancel_ctx = o->cancel_ctx,
	};
	const char **hdrs = NULL;
	char *tenant = NULL;
	size_t nh = 0, n = 0;
	struct pyroscope *p;
	int err = -ENOMEM;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		goto fail;
	if (!o->url || !*o->url) {
		log_err("pyroscope: failed to start: no server URL (http://HOST:4040)");
		err = -EINVAL;
		goto fail;
	}
	err = ingest_of(o->url, &p->ingest);
	if (err)
		goto fail;
	err = -ENOMEM;
	p->spy = pct_encode(o->spy_name && *o->spy_name ? o->spy_name : DEF_SPY);
	while (o->headers && o->headers[nh])
		nh++;
	hdrs = calloc(nh + 2, sizeof(*hdrs));
	if (!p->spy || !hdrs)
		goto fail;
	if (o->tenant && *o->tenant) {
		if (strpbrk(o->tenant, "\r\n")) {
			log_err("pyroscope: failed to use tenant: it holds a line break");
			err = -EINVAL;
			goto fail;
		}
		if (asprintf(&tenant, "X-Scope-OrgID: %s", o->tenant) < 0) {
			tenant = NULL;
			goto fail;
		}
		hdrs[n++] = tenant;
	}
	for (size_t i = 0; i < nh; i++)
		hdrs[n++] = o->headers[i];
	ch.url = p->ingest;
	ch.content_type = "multipart/form-data";
	to.headers = hdrs;
	err = transport__new(&to, &p->t);
	if (err)
		goto fail;
	free(hdrs);
	free(tenant);
	*out = p;
	return 0;
fail:
	if (err == -ENOMEM)
		log_err("pyroscope: failed to start: %s", strerror(ENOMEM));
	free(hdrs);
	free(tenant);
	pyroscope__free(p);
	return err;
}

int pyroscope__flush(struct pyroscope *p, int timeout_ms)
{
	return transport__flush(p->t, timeout_ms);
}

void pyroscope__stats(struct pyroscope *p, struct pyroscope_stats *out)
{
	struct transport_stats ts;

	transport__stats(p->t, 0, &ts);
	out->windows_pushed = atomic_load(&p->pushed);
	out->windows_empty = atomic_load(&p->empty);
	out->windows_sent = ts.items_sent;
	out->windows_failed = ts.items_rejected + ts.items_given_up;
	out->windows_dropped = ts.items_displaced + atomic_load(&p->unencoded);
	out->windows_queued = ts.requests_queued;
	out->requests_failed = ts.requests_failed;
	out->bytes_sent = ts.bytes_sent;
}

const char *pyroscope__url(const struct pyroscope *p)
{
	return p->ingest;
}

void pyroscope__free(struct pyroscope *p)
{
	if (!p)
		return;
	transport__free(p->t);
	free(p->ingest);
	free(p->spy);
	free(p);
}
