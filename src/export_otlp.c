// SPDX-License-Identifier: MIT
/*
 * OTLP/HTTP exporter. Spans are copied into one byte ring (variable-length
 * records, strings inline) bounded both in spans and bytes, so a push is a
 * lock, a bounds check and a memcpy. The sender thread encodes a batch
 * straight from the ring (protobuf-c messages pointing at the records) and
 * releases the ring space only once the batch is sent or dropped, so a
 * batch being retried still counts against the bound. Metric snapshots are
 * encoded by the caller and queued as finished request bodies.
 *
 * The sender uses curl's multi interface for its one transfer so that
 * otlp__free() can interrupt a request in flight (curl_multi_wakeup)
 * instead of waiting out its timeout.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "otlp_collector_metrics.pb-c.h"
#include "otlp_collector_trace.pb-c.h"
#include "sonde/export_otlp.h"
#include "sonde/log.h"
#include "sonde/metrics.h"
#include "sonde/spans.h"

/* protobuf-c's names spell out the whole package; these keep code readable. */
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_scope_spans;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_resource_spans;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_trace_req;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__Sum pb_sum;
typedef Opentelemetry__Proto__Metrics__V1__Gauge pb_gauge;
typedef Opentelemetry__Proto__Metrics__V1__Histogram pb_hist;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_num_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hist_point;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics pb_scope_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics pb_resource_metrics;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest pb_metrics_req;

#define DEFAULT_ENDPOINT "http://localhost:4318"
#define DEF_QUEUE_SPANS 8192
#define DEF_BYTES_PER_SPAN 256
#define DEF_BATCH_SPANS 512
#define DEF_BATCH_MS 1000
#define DEF_TIMEOUT_MS 10000
#define DEF_BACKOFF_MS 500
#define DEF_BACKOFF_MAX_MS 30000
#define DEF_RETRY_MAX_MS 60000
#define DEF_LOG_INTERVAL_MS 10000
#define DEF_METRICS_QUEUE 4
/* Longest name or path kept per span; a record must always fit the ring. */
#define STR_MAX 4095
#define SPAN_ATTRS 4
#define NS_PER_MS 1000000ull

/*
 * One queued span. len == 0 marks the rest of the ring as unused: the
 * next record is at offset 0. Records are 8-byte aligned, so at least
 * the len field fits in any gap at the end.
 */
struct qrec {
	uint32_t len; /* whole record, 8-aligned */
	uint32_t pid, tid;
	uint16_t name_len, path_len;
	uint64_t trace_hi, trace_lo, span_id, parent_span_id;
	uint64_t start_ns, end_ns;
	char str[]; /* name NUL path NUL */
};

struct res_attr {
	char *key;
	char *str; /* NULL: an int */
	int64_t ival;
};

struct kvpair {
	char *key, *val;
};

/* An encoded metrics request waiting to be sent. */
struct mreq {
	uint8_t *body;
	size_t len, nmetrics;
};

/* Scratch messages for one trace request, sized for batch_spans. */
struct batch {
	const struct qrec **recs;
	pb_span *spans, **spanp;
	pb_kv *kvs, **kvp;
	pb_any *anys;
	uint8_t *ids; /* 32 bytes a span: trace id, span id, parent id */
};

struct logstate {
	uint64_t last_ns;
	bool logged;  /* a failure was ever logged (last_ns valid) */
	bool failing; /* the last attempt failed */
};

struct otlp {
	char *url[2];
	struct curl_slist *headers;
	char *cainfo;
	unsigned int queue_spans, batch_spans, batch_ms, timeout_ms;
	unsigned int backoff_ms, backoff_max_ms, retry_max_ms, log_interval_ms;

	struct res_attr *attrs;
	size_t nattrs;
	pb_kv *res_kvs, **res_kvp;
	pb_any *res_anys;
	pb_resource resource;
	pb_scope scope;

	CURL *curl;
	CURLM *multi;
	char errbuf[CURL_ERROR_SIZE];
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock;
	pthread_cond_t wake; /* the sender waits for work */
	pthread_cond_t idle; /* flushes wait for empty queues */

	/* Span ring, under lock. used counts record and gap bytes. */
	uint8_t *ring;
	size_t ring_size, head, tail, used;
	unsigned int nq;

	/* Metric requests, under lock: a ring of metrics_queue slots. */
	struct mreq *mq;
	unsigned int mq_cap, mq_first, mq_n;

	bool busy;	       /* the sender holds a batch or request (under lock) */
	bool stop;	       /* set by otlp__free (under lock) */
	unsigned int flushing; /* otlp__flush calls waiting (under lock) */
	uint64_t flush_gen;    /* bumped by each otlp__flush (under lock) */
	uint64_t flush_deadline_ns;

	struct otlp_stats st; /* under lock */

	/* Sender thread only. */
	struct batch b;
	uint8_t *pack;
	size_t pack_cap;
	struct logstate lg[2];
	struct logstate full_lg;
	uint64_t full_reported;
	uint64_t rng;
};

static const char *const signal_paths[] = {
	[OTLP_TRACES] = "/v1/traces",
	[OTLP_METRICS] = "/v1/metrics",
};
static const char *const signal_env[] = {
	[OTLP_TRACES] = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	[OTLP_METRICS] = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct timespec to_timespec(uint64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};

	return ts;
}

/* Wait on @c (CLOCK_MONOTONIC) until @deadline_ns; the lock is held. */
static void wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns)
{
	struct timespec ts = to_timespec(deadline_ns);

	pthread_cond_timedwait(c, m, &ts);
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

/* ---- configuration ---------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode @len bytes of @s into a new string. -EINVAL on a bad escape. */
static int pct_decode(const char *s, size_t len, char **out)
{
	char *d = malloc(len + 1);
	size_t i, n = 0;

	if (!d)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			d[n++] = s[i];
			continue;
		}
		/* %00 would cut the string short: rejected with the bad escapes. */
		if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0 ||
		    (s[i + 1] == '0' && s[i + 2] == '0')) {
			free(d);
			return -EINVAL;
		}
		d[n++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
		i += 2;
	}
	d[n] = '\0';
	*out = d;
	return 0;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void free_kvs(struct kvpair *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].val);
	}
	free(kv);
}

/*
 * Parse the W3C-baggage-like "k=v,k2=v2" lists of the OTel environment
 * variables: whitespace around keys and values is dropped, empty members
 * are skipped, keys and values are percent-decoded. -EINVAL for a member
 * without '=' or with an empty key or a bad escape.
 */
static int parse_kv_list(const char *s, struct kvpair **out, size_t *nout)
{
	struct kvpair *kv = NULL;
	size_t n = 0;
	int err = 0;

	while (*s) {
		const char *end = strchrnul(s, ','), *eq, *ks, *ke, *vs, *ve;
		struct kvpair *nkv;

		ks = s;
		ke = end;
		while (ks < ke && is_ows(*ks))
			ks++;
		while (ke > ks && is_ows(ke[-1]))
			ke--;
		s = *end ? end + 1 : end;
		if (ks == ke)
			continue; /* empty member */
		eq = memchr(ks, '=', ke - ks);
		if (!eq) {
			err = -EINVAL;
			goto free_kv;
		}
		vs = eq + 1;
		ve = ke;
		ke = eq;
		while (ke > ks && is_ows(ke[-1]))
			ke--;
		while (vs < ve && is_ows(*vs))
			vs++;
		if (ke == ks) {
			err = -EINVAL;
			goto free_kv;
		}
		nkv = realloc(kv, (n + 1) * sizeof(*kv));
		if (!nkv) {
			err = -ENOMEM;
			goto free_kv;
		}
		kv = nkv;
		kv[n].key = kv[n].val = NULL;
		n++;
		err = pct_decode(ks, ke - ks, &kv[n - 1].key);
		if (!err)
			err = pct_decode(vs, ve - vs, &kv[n - 1].val);
		if (err)
			goto free_kv;
	}
	*out = kv;
	*nout = n;
	return 0;

free_kv:
	free_kvs(kv, n);
	return err;
}

/* A list variable, or an empty list (with a warning) when it is malformed. */
static int env_kv_list(const char *name, struct kvpair **out, size_t *nout)
{
	const char *v = getenv(name);
	int err;

	*out = NULL;
	*nout = 0;
	if (!v)
		return 0;
	err = parse_kv_list(v, out, nout);
	if (err == -EINVAL) {
		log_warn("otlp: failed to parse %s: expected key=value,... with %%-escapes; "
			 "ignoring it",
			 name);
		return 0;
	}
	return err;
}

static bool is_http_url(const char *u)
{
	return !strncmp(u, "http://", 7) || !strncmp(u, "https://", 8);
}

/* @base without trailing slashes, then @path. */
static char *join_url(const char *base, const char *path)
{
	size_t len = strlen(base);
	char *u;

	while (len && base[len - 1] == '/')
		len--;
	if (asprintf(&u, "%.*s%s", (int)len, base, path) < 0)
		return NULL;
	return u;
}

/*
 * The URL of @sig: the explicit base URL, the signal's own variable
 * (as-is), the base variable, the default.
 */
static int resolve_url(const struct otlp_opts *o, enum otlp_signal sig, char **out)
{
	const char *sigurl = getenv(signal_env[sig]);
	const char *base = o->endpoint;
	const char *what = "--otlp-endpoint";
	char *u;

	if (!base && sigurl && *sigurl) {
		u = strdup(sigurl);
		what = signal_env[sig];
	} else {
		if (!base) {
			base = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
			what = "OTEL_EXPORTER_OTLP_ENDPOINT";
		}
		if (!base || !*base)
			base = DEFAULT_ENDPOINT;
		u = join_url(base, signal_paths[sig]);
	}
	if (!u)
		return -ENOMEM;
	if (!is_http_url(u)) {
		log_err("otlp: failed to use endpoint \"%s\" from %s: not an http:// or https:// "
			"URL",
			u, what);
		free(u);
		return -EINVAL;
	}
	*out = u;
	return 0;
}

static unsigned int env_ms(const char *name, unsigned int def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long ms;

	if (!v || !*v)
		return def;
	errno = 0;
	ms = strtoul(v, &end, 10);
	if (errno || *end || !ms || ms > UINT_MAX) {
		log_warn("otlp: failed to parse %s=\"%s\": not a positive number of ms; using %u",
			 name, v, def);
		return def;
	}
	return ms;
}

/* Replace the value of @key, or append it. Takes ownership of @str. */
static int set_attr(struct otlp *x, const char *key, char *str, int64_t ival)
{
	struct res_attr *na;
	char *k;

	for (size_t i = 0; i < x->nattrs; i++) {
		if (strcmp(x->attrs[i].key, key))
			continue;
		free(x->attrs[i].str);
		x->attrs[i].str = str;
		x->attrs[i].ival = ival;
		return 0;
	}
	k = strdup(key);
	na = realloc(x->attrs, (x->nattrs + 1) * sizeof(*na));
	if (!k || !na) {
		free(k);
		free(str);
		if (na)
			x->attrs = na;
		return -ENOMEM;
	}
	x->attrs = na;
	x->attrs[x->nattrs++] = (struct res_attr){.key = k, .str = str, .ival = ival};
	return 0;
}

static int set_attr_str(struct otlp *x, const char *key, const char *val)
{
	char *s = strdup(val);

	if (!s)
		return -ENOMEM;
	return set_attr(x, key, s, 0);
}

/* basename of /proc/PID/exe, or NULL. */
static char *exe_name_of(int pid)
{
	char path[64], buf[PATH_MAX];
	const char *slash;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* A deleted binary reads as "/path/prog (deleted)". */
	if (n > 10 && !strcmp(buf + n - 10, " (deleted)"))
		buf[n - 10] = '\0';
	slash = strrchr(buf, '/');
	return strdup(slash ? slash + 1 : buf);
}

static int build_resource(struct otlp *x, const struct otlp_opts *o)
{
	struct kvpair *env = NULL;
	char host[256], *exe = NULL;
	const char *svc;
	size_t nenv = 0, i;
	int err;

	if (o->exe_name)
		exe = strdup(o->exe_name);
	else if (o->pid > 0)
		exe = exe_name_of(o->pid);
	if (o->exe_name && !exe)
		return -ENOMEM;

	err = set_attr_str(x, "service.name", exe ? exe : "sonde");
	if (!err && !gethostname(host, sizeof(host))) {
		host[sizeof(host) - 1] = '\0';
		err = set_attr_str(x, "host.name", host);
	}
	if (!err && o->pid > 0)
		err = set_attr(x, "process.pid", NULL, o->pid);
	if (!err && exe)
		err = set_attr_str(x, "process.executable.name", exe);
	if (!err)
		err = set_attr_str(x, "telemetry.sdk.name", "sonde");
	if (!err)
		err = env_kv_list("OTEL_RESOURCE_ATTRIBUTES", &env, &nenv);
	for (i = 0; !err && i < nenv; i++)
		err = set_attr_str(x, env[i].key, env[i].val);
	/* OTEL_SERVICE_NAME outranks OTEL_RESOURCE_ATTRIBUTES (OTel SDK spec). */
	svc = o->service_name ? o->service_name : getenv("OTEL_SERVICE_NAME");
	if (!err && svc && *svc)
		err = set_attr_str(x, "service.name", svc);
	free_kvs(env, nenv);
	free(exe);
	if (err)
		return err;

	x->res_kvs = calloc(x->nattrs, sizeof(*x->res_kvs));
	x->res_kvp = calloc(x->nattrs, sizeof(*x->res_kvp));
	x->res_anys = calloc(x->nattrs, sizeof(*x->res_anys));
	if (!x->res_kvs || !x->res_kvp || !x->res_anys)
		return -ENOMEM;
	for (i = 0; i < x->nattrs; i++) {
		pb_any *a = &x->res_anys[i];

		opentelemetry__proto__common__v1__any_value__init(a);
		if (x->attrs[i].str) {
			a->value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			a->string_value = x->attrs[i].str;
		} else {
			a->value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
			a->int_value = x->attrs[i].ival;
		}
		opentelemetry__proto__common__v1__key_value__init(&x->res_kvs[i]);
		x->res_kvs[i].key = x->attrs[i].key;
		x->res_kvs[i].value = a;
		x->res_kvp[i] = &x->res_kvs[i];
	}
	opentelemetry__proto__resource__v1__resource__init(&x->resource);
	x->resource.n_attributes = x->nattrs;
	x->resource.attributes = x->res_kvp;
	opentelemetry__proto__common__v1__instrumentation_scope__init(&x->scope);
	x->scope.name = "sonde";
	return 0;
}

/* A header name or value must not smuggle in another header line. */
static bool header_ok(const char *k, const char *v)
{
	if (!*k || strpbrk(k, ":\r\n \t") || strpbrk(v, "\r\n"))
		return false;
	return true;
}

static int build_headers(struct otlp *x)
{
	struct kvpair *kv = NULL;
	struct curl_slist *l;
	size_t n = 0, i;
	int err;

	/* "Expect:" stops curl waiting for 100-continue before big bodies. */
	static const char *const fixed[] = {"Content-Type: application/x-protobuf", "Expect:"};

	for (i = 0; i < 2; i++) {
		l = curl_slist_append(x->headers, fixed[i]);
		if (!l)
			return -ENOMEM;
		x->headers = l;
	}
	err = env_kv_list("OTEL_EXPORTER_OTLP_HEADERS", &kv, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		char *line;

		if (!header_ok(kv[i].key, kv[i].val)) {
			log_warn("otlp: failed to use header \"%s\" of OTEL_EXPORTER_OTLP_HEADERS: "
				 "invalid name or value; skipping it",
				 kv[i].key);
			continue;
		}
		if (asprintf(&line, "%s: %s", kv[i].key, kv[i].val) < 0) {
			err = -ENOMEM;
			goto free_kv;
		}
		l = curl_slist_append(x->headers, line);
		free(line);
		if (!l) {
			err = -ENOMEM;
			goto free_kv;
		}
		x->headers = l;
	}
free_kv:
	free_kvs(kv, n);
	return err;
}

static int check_protocol(void)
{
	const char *p = getenv("OTEL_EXPORTER_OTLP_PROTOCOL");

	if (!p || !*p || !strcmp(p, "http/protobuf"))
		return 0;
	log_err("otlp: failed to use OTEL_EXPORTER_OTLP_PROTOCOL=%s: only http/protobuf is "
		"supported (a collector serves it on port 4318)",
		p);
	return -EPROTONOSUPPORT;
}

/* ---- the span queue --------------------------------------------------- */

/* Offset of @need free contiguous bytes, wrapping if needed; -1 if full. */
static ssize_t ring_reserve(struct otlp *x, size_t need)
{
	size_t size = x->ring_size;

	if (!x->used)
		x->head = x->tail = 0;
	if (x->head > x->tail || (x->head == x->tail && !x->used)) {
		/* Free: [head, size) and [0, tail). */
		if (size - x->head >= need)
			return x->head;
		if (need > x->tail)
			return -1;
		if (size - x->head >= sizeof(uint32_t))
			((struct qrec *)(x->ring + x->head))->len = 0;
		x->used += size - x->head;
		x->head = 0;
		return 0;
	}
	if (x->head < x->tail && x->tail - x->head >= need)
		return x->head;
	return -1;
}

int otlp__push_span(struct otlp *x, const struct span_record *s)
{
	const char *name = s->name ? s->name : "", *path = s->filepath ? s->filepath : "";
	size_t nl = strnlen(name, STR_MAX), pl = strnlen(path, STR_MAX);
	size_t need = align8(sizeof(struct qrec) + nl + 1 + pl + 1);
	struct qrec *r;
	ssize_t pos;

	pthread_mutex_lock(&x->lock);
	x->st.spans_pushed++;
	pos = x->nq < x->queue_spans ? ring_reserve(x, need) : -1;
	if (pos < 0) {
		x->st.spans_dropped++;
		x->st.spans_dropped_full++;
		pthread_mutex_unlock(&x->lock);
		return -ENOSPC;
	}
	r = (struct qrec *)(x->ring + pos);
	r->len = need;
	r->pid = s->pid;
	r->tid = s->tid;
	r->name_len = nl;
	r->path_len = pl;
	r->trace_hi = s->trace_id_hi;
	r->trace_lo = s->trace_id_lo;
	r->span_id = s->span_id;
	r->parent_span_id = s->parent_span_id;
	r->start_ns = s->start_unix_ns;
	r->end_ns = s->end_unix_ns;
	memcpy(r->str, name, nl);
	r->str[nl] = '\0';
	memcpy(r->str + nl + 1, path, pl);
	r->str[nl + 1 + pl] = '\0';
	x->head = pos + need;
	x->used += need;
	/* A full batch is worth waking the sender for; fewer wait for the tick. */
	if (++x->nq == x->batch_spans)
		pthread_cond_signal(&x->wake);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/*
 * Under lock: point b.recs at the oldest spans, up to a batch. Returns the
 * count; *end is where the ring's tail goes and *bytes what is freed once
 * the batch is done.
 */
static unsigned int batch_take(struct otlp *x, size_t *end, size_t *bytes)
{
	unsigned int n = x->nq < x->batch_spans ? x->nq : x->batch_spans, i;
	size_t pos = x->tail, freed = 0;

	for (i = 0; i < n; i++) {
		const struct qrec *r;

		if (pos == x->ring_size)
			pos = 0;
		r = (const struct qrec *)(x->ring + pos);
		if (!r->len) {
			freed += x->ring_size - pos;
			pos = 0;
			r = (const struct qrec *)x->ring;
		}
		x->b.recs[i] = r;
		pos += r->len;
		freed += r->len;
	}
	*end = pos;
	*bytes = freed;
	return n;
}

static void batch_release(struct otlp *x, unsigned int n, size_t end, size_t bytes)
{
	x->tail = end;
	x->used -= bytes;
	x->nq -= n;
	if (!x->used)
		x->head = x->tail = 0;
}

/* ---- encoding --------------------------------------------------------- */

static int pack_msg(struct otlp *x, const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (n > x->pack_cap) {
		uint8_t *p = realloc(x->pack, n);

		if (!p)
			return -ENOMEM;
		x->pack = p;
		x->pack_cap = n;
	}
	*len = protobuf_c_message_pack(m, x->pack);
	return 0;
}

static void set_kv_int(pb_kv *kv, pb_any *a, const char *key, int64_t v)
{
	opentelemetry__proto__common__v1__any_value__init(a);
	a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	a->int_value = v;
	opentelemetry__proto__common__v1__key_value__init(kv);
	kv->key = (char *)key;
	kv->value = a;
}

static void set_kv_str(pb_kv *kv, pb_any *a, const char *key, const char *v)
{
	opentelemetry__proto__common__v1__any_value__init(a);
	a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	a->string_value = (char *)v;
	opentelemetry__proto__common__v1__key_value__init(kv);
	kv->key = (char *)key;
	kv->value = a;
}

/* Encode b.recs[0..n) as an ExportTraceServiceRequest into x->pack. */
static int encode_spans(struct otlp *x, unsigned int n, size_t *len)
{
	pb_trace_req req;
	pb_resource_spans rs, *rsp = &rs;
	pb_scope_spans ss, *ssp = &ss;
	struct batch *b = &x->b;

	for (unsigned int i = 0; i < n; i++) {
		const struct qrec *r = b->recs[i];
		pb_span *sp = &b->spans[i];
		pb_kv *kv = &b->kvs[i * SPAN_ATTRS];
		pb_any *a = &b->anys[i * SPAN_ATTRS];
		uint8_t *ids = b->ids + i * 32;

		opentelemetry__proto__trace__v1__span__init(sp);
		put_be64(ids, r->trace_hi);
		put_be64(ids + 8, r->trace_lo);
		put_be64(ids + 16, r->span_id);
		put_be64(ids + 24, r->parent_span_id);
		sp->trace_id = (ProtobufCBinaryData){16, ids};
		sp->span_id = (ProtobufCBinaryData){8, ids + 16};
		if (r->parent_span_id)
			sp->parent_span_id = (ProtobufCBinaryData){8, ids + 24};
		sp->name = (char *)r->str;
		sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
		sp->start_time_unix_nano = r->start_ns;
		sp->end_time_unix_nano = r->end_ns;
		set_kv_int(&kv[0], &a[0], "process.pid", r->pid);
		set_kv_int(&kv[1], &a[1], "thread.id", r->tid);
		set_kv_str(&kv[2], &a[2], "code.function", r->str);
		set_kv_str(&kv[3], &a[3], "code.filepath", r->str + r->name_len + 1);
		for (int k = 0; k < SPAN_ATTRS; k++)
			b->kvp[i * SPAN_ATTRS + k] = &kv[k];
		sp->n_attributes = SPAN_ATTRS;
		sp->attributes = &b->kvp[i * SPAN_ATTRS];
		b->spanp[i] = sp;
	}
	opentelemetry__proto__trace__v1__scope_spans__init(&ss);
	ss.scope = &x->scope;
	ss.n_spans = n;
	ss.spans = b->spanp;
	opentelemetry__proto__trace__v1__resource_spans__init(&rs);
	rs.resource = &x->resource;
	rs.n_scope_spans = 1;
	rs.scope_spans = &ssp;
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
	req.n_resource_spans = 1;
	req.resource_spans = &rsp;
	return pack_msg(x, &req.base, len);
}

/* OTel units (UCUM) for the Prometheus base-unit suffixes we use. */
static const char *unit_of(const char *name)
{
	size_t n = strlen(name);

	if (n > 6 && !strcmp(name + n - 6, "_total"))
		n -= 6;
	if (n > 8 && !strncmp(name + n - 8, "_seconds", 8))
		return "s";
	if (n > 6 && !strncmp(name + n - 6, "_bytes", 6))
		return "By";
	return "";
}

/* Everything one metrics request points into, allocated by counts. */
struct mbuild {
	pb_metric *metrics, **metricp;
	pb_sum *sums;
	pb_gauge *gauges;
	pb_hist *hists;
	pb_num_point *nums, **nump;
	pb_hist_point *hps, **hpp;
	pb_kv *kvs, **kvp;
	pb_any *anys;
};

static void mbuild_free(struct mbuild *m)
{
	free(m->metrics);
	free(m->metricp);
	free(m->sums);
	free(m->gauges);
	free(m->hists);
	free(m->nums);
	free(m->nump);
	free(m->hps);
	free(m->hpp);
	free(m->kvs);
	free(m->kvp);
	free(m->anys);
}

static pb_kv **series_attrs(struct mbuild *m, size_t *kvi, const struct metric_series *s)
{
	pb_kv **first = &m->kvp[*kvi];

	for (unsigned int l = 0; l < s->nlabels; l++, (*kvi)++) {
		set_kv_str(&m->kvs[*kvi], &m->anys[*kvi], s->labels[l].key, s->labels[l].value);
		m->kvp[*kvi] = &m->kvs[*kvi];
	}
	return first;
}

static void number_point(pb_num_point *p, uint64_t start, uint64_t t, double v)
{
	opentelemetry__proto__metrics__v1__number_data_point__init(p);
	p->start_time_unix_nano = start;
	p->time_unix_nano = t;
	p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
	p->as_double = v;
}

/* Encode @snap into a new buffer. */
static int encode_metrics(struct otlp *x, const struct metrics_snapshot *snap, struct mreq *out)
{
	size_t nser = 0, nlab = 0, nm = 0, ni = 0, hi = 0, kvi = 0, len, i, j;
	pb_metrics_req req;
	pb_resource_metrics rm, *rmp = &rm;
	pb_scope_metrics sm, *smp = &sm;
	struct mbuild m = {0};
	int err = -ENOMEM;

	for (i = 0; i < snap->nfamilies; i++) {
		nser += snap->families[i].nseries;
		for (j = 0; j < snap->families[i].nseries; j++)
			nlab += snap->families[i].series[j].nlabels;
	}
	/* calloc(0) may return NULL: ask for at least one of each. */
	m.metrics = calloc(snap->nfamilies + 1, sizeof(*m.metrics));
	m.metricp = calloc(snap->nfamilies + 1, sizeof(*m.metricp));
	m.sums = calloc(snap->nfamilies + 1, sizeof(*m.sums));
	m.gauges = calloc(snap->nfamilies + 1, sizeof(*m.gauges));
	m.hists = calloc(snap->nfamilies + 1, sizeof(*m.hists));
	m.nums = calloc(nser + 1, sizeof(*m.nums));
	m.nump = calloc(nser + 1, sizeof(*m.nump));
	m.hps = calloc(nser + 1, sizeof(*m.hps));
	m.hpp = calloc(nser + 1, sizeof(*m.hpp));
	m.kvs = calloc(nlab + 1, sizeof(*m.kvs));
	m.kvp = calloc(nlab + 1, sizeof(*m.kvp));
	m.anys = calloc(nlab + 1, sizeof(*m.anys));
	if (!m.metrics || !m.metricp || !m.sums || !m.gauges || !m.hists || !m.nums || !m.nump ||
	    !m.hps || !m.hpp || !m.kvs || !m.kvp || !m.anys)
		goto free_build;

	for (i = 0; i < snap->nfamilies; i++) {
		const struct metric_family *f = &snap->families[i];
		pb_metric *pm = &m.metrics[nm];
		size_t first_num = ni, first_hist = hi;

		if (!f->nseries)
			continue;
		opentelemetry__proto__metrics__v1__metric__init(pm);
		pm->name = (char *)f->name;
		pm->description = (char *)(f->help ? f->help : "");
		pm->unit = (char *)unit_of(f->name);
		for (j = 0; j < f->nseries; j++) {
			const struct metric_series *s = &f->series[j];
			pb_kv **attrs = series_attrs(&m, &kvi, s);

			if (f->type == METRIC_HISTOGRAM) {
				pb_hist_point *p = &m.hps[hi];

				opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
				p->start_time_unix_nano = snap->start_unix_ns;
				p->time_unix_nano = snap->time_unix_ns;
				p->count = s->count;
				p->sum_present_case =
					OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
				p->sum = s->sum;
				p->n_bucket_counts = f->nbounds + 1;
				p->bucket_counts = (uint64_t *)s->counts;
				p->n_explicit_bounds = f->nbounds;
				p->explicit_bounds = (double *)f->bounds;
				p->n_attributes = s->nlabels;
				p->attributes = attrs;
				m.hpp[hi++] = p;
			} else {
				/* A gauge has no start: it is a reading, not a total. */
				number_point(&m.nums[ni],
					     f->type == METRIC_COUNTER ? snap->start_unix_ns : 0,
					     snap->time_unix_ns, s->value);
				m.nums[ni].n_attributes = s->nlabels;
				m.nums[ni].attributes = attrs;
				m.nump[ni] = &m.nums[ni];
				ni++;
			}
		}
		switch (f->type) {
		case METRIC_COUNTER:
			opentelemetry__proto__metrics__v1__sum__init(&m.sums[nm]);
			m.sums[nm].aggregation_temporality =
				OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
			m.sums[nm].is_monotonic = 1;
			m.sums[nm].n_data_points = ni - first_num;
			m.sums[nm].data_points = &m.nump[first_num];
			pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
			pm->sum = &m.sums[nm];
			break;
		case METRIC_GAUGE:
			opentelemetry__proto__metrics__v1__gauge__init(&m.gauges[nm]);
			m.gauges[nm].n_data_points = ni - first_num;
			m.gauges[nm].data_points = &m.nump[first_num];
			pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
			pm->gauge = &m.gauges[nm];
			break;
		case METRIC_HISTOGRAM:
			opentelemetry__proto__metrics__v1__histogram__init(&m.hists[nm]);
			m.hists[nm].aggregation_temporality =
				OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
			m.hists[nm].n_data_points = hi - first_hist;
			m.hists[nm].data_points = &m.hpp[first_hist];
			pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
			pm->histogram = &m.hists[nm];
			break;
		default:
			err = -EINVAL;
			goto free_build;
		}
		m.metricp[nm++] = pm;
	}

	opentelemetry__proto__metrics__v1__scope_metrics__init(&sm);
	sm.scope = &x->scope;
	sm.n_metrics = nm;
	sm.metrics = m.metricp;
	opentelemetry__proto__metrics__v1__resource_metrics__init(&rm);
	rm.resource = &x->resource;
	rm.n_scope_metrics = 1;
	rm.scope_metrics = &smp;
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(&req);
	req.n_resource_metrics = 1;
	req.resource_metrics = &rmp;

	len = protobuf_c_message_get_packed_size(&req.base);
	out->body = malloc(len ? len : 1);
	if (!out->body)
		goto free_build;
	out->len = protobuf_c_message_pack(&req.base, out->body);
	out->nmetrics = nm;
	err = 0;
free_build:
	mbuild_free(&m);
	return err;
}

int otlp__push_metrics(struct otlp *x, const struct metrics_snapshot *snap)
{
	struct mreq r, old = {0};
	int err;

	err = encode_metrics(x, snap, &r);
	if (err)
		return err;
	pthread_mutex_lock(&x->lock);
	x->st.metric_exports_pushed++;
	if (x->mq_n == x->mq_cap) {
		old = x->mq[x->mq_first];
		x->mq_first = (x->mq_first + 1) % x->mq_cap;
		x->mq_n--;
		x->st.metric_exports_dropped++;
	}
	x->mq[(x->mq_first + x->mq_n) % x->mq_cap] = r;
	x->mq_n++;
	pthread_cond_signal(&x->wake);
	pthread_mutex_unlock(&x->lock);
	free(old.body);
	return 0;
}

/* ---- sending ---------------------------------------------------------- */

enum post_result {
	POST_OK,
	POST_RETRY, /* 429/502/503/504 or a transport error */
	POST_FATAL, /* any other status: the receiver will never take it */
	POST_STOPPED,
};

enum outcome {
	OUT_SENT,
	OUT_DROPPED, /* rejected or given up, and counted */
	OUT_STOPPED, /* otlp__free interrupted: still queued */
};

static bool stopping(struct otlp *x)
{
	bool s;

	pthread_mutex_lock(&x->lock);
	s = x->stop;
	pthread_mutex_unlock(&x->lock);
	return s;
}

/* Run the one transfer; CURLE_ABORTED_BY_CALLBACK when stopped. */
static CURLcode perform(struct otlp *x)
{
	CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
	int running = 1, left;
	CURLMsg *msg;

	if (curl_multi_add_handle(x->multi, x->curl))
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		if (curl_multi_perform(x->multi, &running) != CURLM_OK) {
			rc = CURLE_SEND_ERROR;
			goto remove;
		}
		if (!running)
			break;
		if (stopping(x))
			goto remove;
		/* Returns early on activity or curl_multi_wakeup(). */
		curl_multi_poll(x->multi, NULL, 0, 1000, NULL);
	}
	rc = CURLE_GOT_NOTHING;
	while ((msg = curl_multi_info_read(x->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
remove:
	curl_multi_remove_handle(x->multi, x->curl);
	return rc;
}

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
	return size * n;
}

/*
 * POST @body to @sig's URL once. @reason gets why it failed,
 * @retry_after_ns the receiver's Retry-After (0 if none).
 */
static enum post_result post(struct otlp *x, enum otlp_signal sig, const void *body, size_t len,
			     char *reason, size_t rlen, uint64_t *retry_after_ns)
{
	uint64_t timeout_ms = x->timeout_ms;
	curl_off_t ra = 0;
	long status = 0, oserr = 0;
	CURLcode rc;

	pthread_mutex_lock(&x->lock);
	if (x->flushing) {
		uint64_t now = mono_ns();
		uint64_t left = x->flush_deadline_ns > now ? x->flush_deadline_ns - now : 0;

		if (left / NS_PER_MS < timeout_ms)
			timeout_ms = left / NS_PER_MS + 1;
	}
	pthread_mutex_unlock(&x->lock);

	*retry_after_ns = 0;
	x->errbuf[0] = '\0';
	curl_easy_setopt(x->curl, CURLOPT_URL, x->url[sig]);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	rc = perform(x);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return POST_STOPPED;
	if (rc != CURLE_OK) {
		curl_easy_getinfo(x->curl, CURLINFO_OS_ERRNO, &oserr);
		if (oserr && rc != CURLE_OPERATION_TIMEDOUT)
			snprintf(reason, rlen, "%s", strerror(oserr));
		else
			snprintf(reason, rlen, "%s",
				 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
			return POST_FATAL;
		return POST_RETRY;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return POST_OK;
	snprintf(reason, rlen, "HTTP %ld", status);
	if (status == 429 || status == 502 || status == 503 || status == 504) {
		/* curl parses both forms: delay-seconds and an HTTP date. */
		if (curl_easy_getinfo(x->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			*retry_after_ns = (uint64_t)ra * 1000000000ull;
		return POST_RETRY;
	}
	return POST_FATAL;
}

static uint64_t rand64(struct otlp *x)
{
	/* xorshift64: jitter needs spread, not quality. */
	x->rng ^= x->rng << 13;
	x->rng ^= x->rng >> 7;
	x->rng ^= x->rng << 17;
	return x->rng;
}

static uint64_t dropped_so_far(struct otlp *x, enum otlp_signal sig)
{
	uint64_t d;

	pthread_mutex_lock(&x->lock);
	d = sig == OTLP_TRACES ? x->st.spans_dropped : x->st.metric_exports_dropped;
	pthread_mutex_unlock(&x->lock);
	return d;
}

/* Whether a throttled message may be logged now (and note that it was). */
static bool log_due(struct otlp *x, struct logstate *l)
{
	uint64_t now = mono_ns();

	if (l->logged && now - l->last_ns < x->log_interval_ms * NS_PER_MS)
		return false;
	l->logged = true;
	l->last_ns = now;
	return true;
}

static void log_failure(struct otlp *x, enum otlp_signal sig, size_t nitems, const char *reason,
			const char *action)
{
	struct logstate *l = &x->lg[sig];

	l->failing = true;
	if (!log_due(x, l))
		return;
	log_warn("otlp: failed to export %zu %s to %s: %s (%s; %" PRIu64 " dropped so far)", nitems,
		 sig == OTLP_TRACES ? "spans" : "metrics", x->url[sig], reason, action,
		 dropped_so_far(x, sig));
}

static void count_drop(struct otlp *x, enum otlp_signal sig, size_t nitems, bool rejected)
{
	pthread_mutex_lock(&x->lock);
	if (sig == OTLP_METRICS) {
		x->st.metric_exports_dropped++;
	} else {
		x->st.spans_dropped += nitems;
		if (rejected)
			x->st.spans_rejected += nitems;
		else
			x->st.spans_given_up += nitems;
	}
	pthread_mutex_unlock(&x->lock);
}

/* Under lock, may unlock to log: report spans dropped for a full queue. */
static void report_full_locked(struct otlp *x)
{
	uint64_t full = x->st.spans_dropped_full, total = x->st.spans_dropped;

	if (full == x->full_reported || !log_due(x, &x->full_lg))
		return;
	x->full_reported = full;
	pthread_mutex_unlock(&x->lock);
	log_warn("otlp: failed to queue %" PRIu64 " spans: queue full (%u spans or %zu bytes; "
		 "%" PRIu64 " dropped so far)",
		 full, x->queue_spans, x->ring_size, total);
	pthread_mutex_lock(&x->lock);
}

/*
 * Send one request body until it is accepted, rejected, retried for
 * retry_max_ms, or the exporter stops. Drops are counted here.
 */
static enum outcome export_body(struct otlp *x, enum otlp_signal sig, const void *body, size_t len,
				size_t nitems, size_t nsent)
{
	uint64_t first = mono_ns(), backoff = (uint64_t)x->backoff_ms * NS_PER_MS;
	char reason[CURL_ERROR_SIZE + 32];

	for (;;) {
		uint64_t retry_after, delay, now, gen, until;
		enum post_result pr = post(x, sig, body, len, reason, sizeof(reason), &retry_after);
		bool stop;

		if (pr == POST_STOPPED)
			return OUT_STOPPED;
		pthread_mutex_lock(&x->lock);
		if (pr == POST_OK) {
			x->st.requests_sent++;
			x->st.bytes_sent += len;
			if (sig == OTLP_TRACES)
				x->st.spans_sent += nsent;
			else
				x->st.metric_exports_sent++;
		} else {
			x->st.requests_failed++;
		}
		pthread_mutex_unlock(&x->lock);
		if (pr == POST_OK) {
			if (x->lg[sig].failing)
				log_info("otlp: exporting to %s again", x->url[sig]);
			x->lg[sig].failing = false;
			return OUT_SENT;
		}
		if (pr == POST_FATAL) {
			count_drop(x, sig, nitems, true);
			log_failure(x, sig, nitems, reason, "dropped");
			return OUT_DROPPED;
		}
		/* Full jitter on the upper half: spread retries of many exporters. */
		delay = retry_after ? retry_after : backoff / 2 + rand64(x) % (backoff / 2 + 1);
		backoff = backoff * 2 > (uint64_t)x->backoff_max_ms * NS_PER_MS
				  ? (uint64_t)x->backoff_max_ms * NS_PER_MS
				  : backoff * 2;
		now = mono_ns();
		if (now + delay - first > (uint64_t)x->retry_max_ms * NS_PER_MS) {
			count_drop(x, sig, nitems, false);
			log_failure(x, sig, nitems, reason, "gave up after retrying");
			return OUT_DROPPED;
		}
		log_failure(x, sig, nitems, reason, "retrying");

		/* Sleep, but a flush asks for one attempt right away. */
		until = now + delay;
		pthread_mutex_lock(&x->lock);
		report_full_locked(x);
		gen = x->flush_gen;
		while (!x->stop && x->flush_gen == gen && mono_ns() < until)
			wait_until(&x->wake, &x->lock, until);
		stop = x->stop;
		pthread_mutex_unlock(&x->lock);
		if (stop)
			return OUT_STOPPED;
	}
}

/* Under lock: send one queued metrics request. */
static void send_metrics_locked(struct otlp *x)
{
	struct mreq r = x->mq[x->mq_first];

	x->mq_first = (x->mq_first + 1) % x->mq_cap;
	x->mq_n--;
	x->busy = true;
	pthread_mutex_unlock(&x->lock);
	if (export_body(x, OTLP_METRICS, r.body, r.len, r.nmetrics, 0) == OUT_STOPPED)
		count_drop(x, OTLP_METRICS, r.nmetrics, false);
	free(r.body);
	pthread_mutex_lock(&x->lock);
	x->busy = false;
}

/* Under lock: send one batch of spans; returns its size. */
static unsigned int send_spans_locked(struct otlp *x)
{
	size_t end, bytes, len;
	unsigned int n = batch_take(x, &end, &bytes);
	enum outcome out = OUT_DROPPED;

	x->busy = true;
	pthread_mutex_unlock(&x->lock);
	if (encode_spans(x, n, &len)) {
		log_err("otlp: failed to encode %u spans: %s", n, strerror(ENOMEM));
		count_drop(x, OTLP_TRACES, n, false);
	} else {
		out = export_body(x, OTLP_TRACES, x->pack, len, n, n);
	}
	pthread_mutex_lock(&x->lock);
	/* A stopped batch stays queued: otlp__free counts what is left. */
	if (out != OUT_STOPPED)
		batch_release(x, n, end, bytes);
	x->busy = false;
	return n;
}

static void *sender_main(void *arg)
{
	struct otlp *x = arg;
	uint64_t batch_ns = (uint64_t)x->batch_ms * NS_PER_MS, tick = mono_ns() + batch_ns;
	unsigned int drain = 0; /* spans queued at the last tick, still to send */

	pthread_mutex_lock(&x->lock);
	while (!x->stop) {
		uint64_t now = mono_ns();

		if (now >= tick) {
			drain = x->nq;
			tick = now + batch_ns;
		}
		report_full_locked(x);
		if (x->stop)
			break;
		if (x->mq_n) {
			send_metrics_locked(x);
		} else if (x->nq && (drain || x->flushing || x->nq >= x->batch_spans)) {
			unsigned int n = send_spans_locked(x);

			drain = drain > n ? drain - n : 0;
		} else {
			pthread_cond_broadcast(&x->idle);
			wait_until(&x->wake, &x->lock, tick);
			continue;
		}
		pthread_cond_broadcast(&x->idle);
	}
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

/* ---- lifetime --------------------------------------------------------- */

static int alloc_batch(struct batch *b, unsigned int n)
{
	b->recs = calloc(n, sizeof(*b->recs));
	b->spans = calloc(n, sizeof(*b->spans));
	b->spanp = calloc(n, sizeof(*b->spanp));
	b->kvs = calloc((size_t)n * SPAN_ATTRS, sizeof(*b->kvs));
	b->kvp = calloc((size_t)n * SPAN_ATTRS, sizeof(*b->kvp));
	b->anys = calloc((size_t)n * SPAN_ATTRS, sizeof(*b->anys));
	b->ids = calloc(n, 32);
	if (!b->recs || !b->spans || !b->spanp || !b->kvs || !b->kvp || !b->anys || !b->ids)
		return -ENOMEM;
	return 0;
}

static void free_batch(struct batch *b)
{
	free(b->recs);
	free(b->spans);
	free(b->spanp);
	free(b->kvs);
	free(b->kvp);
	free(b->anys);
	free(b->ids);
}

static int setup_curl(struct otlp *x)
{
	CURL *c;

	x->curl = c = curl_easy_init();
	x->multi = curl_multi_init();
	if (!c || !x->multi)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sonde-otlp-exporter");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)x->timeout_ms);
	if (x->cainfo)
		curl_easy_setopt(c, CURLOPT_CAINFO, x->cainfo);
	return 0;
}

static unsigned int or_default(unsigned int v, unsigned int def)
{
	return v ? v : def;
}

int otlp__new(const struct otlp_opts *o, struct otlp **out)
{
	static const struct otlp_opts none;
	pthread_condattr_t ca;
	struct otlp *x;
	const char *ca_env;
	size_t qbytes;
	int err;

	if (!o)
		o = &none;
	err = check_protocol();
	if (err)
		return err;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(x);
		log_err("otlp: failed to initialize libcurl: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	pthread_mutex_init(&x->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->wake, &ca);
	pthread_cond_init(&x->idle, &ca);
	pthread_condattr_destroy(&ca);

	x->queue_spans = or_default(o->queue_spans, DEF_QUEUE_SPANS);
	x->batch_spans = or_default(o->batch_spans, DEF_BATCH_SPANS);
	if (x->batch_spans > x->queue_spans)
		x->batch_spans = x->queue_spans;
	x->batch_ms = or_default(o->batch_ms, DEF_BATCH_MS);
	x->timeout_ms = o->timeout_ms ? o->timeout_ms
				      : env_ms("OTEL_EXPORTER_OTLP_TIMEOUT", DEF_TIMEOUT_MS);
	x->backoff_ms = or_default(o->backoff_ms, DEF_BACKOFF_MS);
	x->backoff_max_ms = or_default(o->backoff_max_ms, DEF_BACKOFF_MAX_MS);
	x->retry_max_ms = or_default(o->retry_max_ms, DEF_RETRY_MAX_MS);
	x->log_interval_ms = or_default(o->log_interval_ms, DEF_LOG_INTERVAL_MS);
	x->mq_cap = or_default(o->metrics_queue, DEF_METRICS_QUEUE);
	x->rng = (mono_ns() ^ ((uint64_t)getpid() << 32)) | 1;

	qbytes = o->queue_bytes ? o->queue_bytes : (size_t)x->queue_spans * DEF_BYTES_PER_SPAN;
	/* Room for at least one longest record, whatever was asked. */
	if (qbytes < align8(sizeof(struct qrec) + 2 * (STR_MAX + 1)))
		qbytes = align8(sizeof(struct qrec) + 2 * (STR_MAX + 1));
	x->ring_size = align8(qbytes);

	err = resolve_url(o, OTLP_TRACES, &x->url[OTLP_TRACES]);
	if (!err)
		err = resolve_url(o, OTLP_METRICS, &x->url[OTLP_METRICS]);
	if (err)
		goto free_x;
	ca_env = getenv("OTEL_EXPORTER_OTLP_CERTIFICATE");
	if (ca_env && *ca_env && !(x->cainfo = strdup(ca_env)))
		goto nomem;
	err = build_resource(x, o);
	if (!err)
		err = build_headers(x);
	if (err)
		goto free_x;
	x->ring = malloc(x->ring_size);
	x->mq = calloc(x->mq_cap, sizeof(*x->mq));
	if (!x->ring || !x->mq || alloc_batch(&x->b, x->batch_spans) || setup_curl(x))
		goto nomem;

	err = -pthread_create(&x->thread, NULL, sender_main, x);
	if (err) {
		log_err("otlp: failed to start sender thread: %s", strerror(-err));
		goto free_x;
	}
	x->thread_started = true;
	*out = x;
	return 0;

nomem:
	err = -ENOMEM;
	log_err("otlp: failed to create exporter: %s", strerror(ENOMEM));
free_x:
	otlp__free(x);
	return err;
}

static bool pending_locked(struct otlp *x)
{
	return x->nq || x->mq_n || x->busy;
}

int otlp__flush(struct otlp *x, int timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * NS_PER_MS;
	int ret;

	pthread_mutex_lock(&x->lock);
	x->flushing++;
	x->flush_gen++;
	x->flush_deadline_ns = deadline;
	pthread_cond_broadcast(&x->wake);
	while (pending_locked(x) && mono_ns() < deadline)
		wait_until(&x->idle, &x->lock, deadline);
	ret = pending_locked(x) ? -ETIMEDOUT : 0;
	x->flushing--;
	pthread_mutex_unlock(&x->lock);
	return ret;
}

void otlp__free(struct otlp *x)
{
	size_t i;

	if (!x)
		return;
	if (x->thread_started) {
		pthread_mutex_lock(&x->lock);
		x->stop = true;
		pthread_cond_broadcast(&x->wake);
		pthread_mutex_unlock(&x->lock);
		curl_multi_wakeup(x->multi);
		pthread_join(x->thread, NULL);
		if (x->nq) {
			x->st.spans_dropped += x->nq;
			x->st.spans_given_up += x->nq;
			log_warn(
				"otlp: failed to export %u spans to %s: exporter stopped with them "
				"queued (%" PRIu64 " dropped in all)",
				x->nq, x->url[OTLP_TRACES], x->st.spans_dropped);
		}
		x->st.metric_exports_dropped += x->mq_n;
	}
	for (i = 0; x->mq && i < x->mq_n; i++)
		free(x->mq[(x->mq_first + i) % x->mq_cap].body);
	free(x->mq);
	if (x->multi)
		curl_multi_cleanup(x->multi);
	if (x->curl)
		curl_easy_cleanup(x->curl);
	curl_slist_free_all(x->headers);
	curl_global_cleanup();
	free_batch(&x->b);
	free(x->pack);
	free(x->ring);
	for (i = 0; i < x->nattrs; i++) {
		free(x->attrs[i].key);
		free(x->attrs[i].str);
	}
	free(x->attrs);
	free(x->res_kvs);
	free(x->res_kvp);
	free(x->res_anys);
	free(x->url[0]);
	free(x->url[1]);
	free(x->cainfo);
	pthread_cond_destroy(&x->wake);
	pthread_cond_destroy(&x->idle);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

void otlp__stats(struct otlp *x, struct otlp_stats *out)
{
	pthread_mutex_lock(&x->lock);
	*out = x->st;
	out->spans_queued = x->nq;
	pthread_mutex_unlock(&x->lock);
}

const char *otlp__url(const struct otlp *x, enum otlp_signal sig)
{
	return x->url[sig];
}
