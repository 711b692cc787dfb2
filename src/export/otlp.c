// SPDX-License-Identifier: MIT
/*
 * OTLP/HTTP exporter: configuration, resource and protobuf encoding; the
 * sending (queue of requests, thread, retries, flush) is the shared push
 * transport's (export/transport.h). Spans are copied into one byte ring
 * (variable-length records, strings inline) bounded both in spans and
 * bytes, so a push is a lock, a bounds check and a memcpy. The ring is
 * the transport's source for the traces channel: on the sender thread it
 * encodes a batch straight from the ring (protobuf-c messages pointing at
 * the records) and releases the ring space only once the batch is sent
 * or dropped, so a batch being retried still counts against the bound.
 * Metric snapshots are encoded by the caller and queued as finished
 * request bodies on the metrics channel.
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

#include "otlp_collector_logs.pb-c.h"
#include "otlp_collector_metrics.pb-c.h"
#include "otlp_collector_trace.pb-c.h"
#include "export/otel_env.h"
#include "export/otlp.h"
#include "export/resource.h"
#include "export/transport.h"
#include "base/log.h"
#include "base/utf8.h"
#include "model/metrics.h"
#include "model/spans.h"

/* protobuf-c's names spell out the whole package; these keep code readable. */
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
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
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_log;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs pb_scope_logs;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs pb_resource_logs;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest pb_logs_req;

#define DEFAULT_ENDPOINT "http://localhost:4318"
#define DEF_QUEUE_SPANS 8192
#define DEF_BYTES_PER_SPAN 256
#define DEF_BATCH_SPANS 512
#define DEF_BATCH_MS 1000
#define DEF_TIMEOUT_MS 10000
#define DEF_METRICS_QUEUE 4
#define DEF_LOGS_QUEUE 64
/* Attributes one log record may have. */
#define LOG_ATTRS 32
/* Longest name or path kept per span; a record must always fit the ring. */
#define STR_MAX 4095
/* Attributes one span may have: the function ones and its samples, or thread.id and its own. */
#define SPAN_ATTRS (OTEL_SPAN_ATTRS + SPAN_SAMPLES_MAX + SPAN_MAX_ATTRS)
#define NS_PER_MS 1000000ull

/*
 * One queued span. len == 0 marks the rest of the ring as unused: the
 * next record is at offset 0. Records are 8-byte aligned, so at least
 * the len field fits in any gap at the end.
 */
struct qrec {
	uint32_t len; /* whole record, 8-aligned */
	uint32_t pid, tid;
	uint16_t name_len, path_len, src_len;
	uint32_t line;
	uint16_t kind, nattrs;
	uint64_t trace_hi, trace_lo, span_id, parent_span_id;
	uint64_t start_ns, end_ns;
	uint32_t samples_mask; /* span_record's sample counts */
	uint32_t pad;
	uint64_t samples[SPAN_SAMPLES_MAX];
	/*
	 * name NUL path NUL source NUL, then the span's own attributes: each
	 * a type byte, a count byte (strings of an array), key NUL, and the
	 * value: a string NUL, 8 bytes of int, or count strings NUL.
	 */
	char str[];
};

/* Scratch messages for one trace request, sized for batch_spans. */
struct batch {
	const struct qrec **recs;
	pb_span *spans, **spanp;
	pb_kv *kvs, **kvp;
	pb_any *anys;
	/* The spans' string arrays: SPAN_MAX_STRINGS values a span. */
	pb_array *arrays;
	pb_any *arr_anys, **arr_anyp;
	uint8_t *ids; /* 32 bytes a span: trace id, span id, parent id */
	/* One ResourceSpans per process in the batch. */
	unsigned int *group, *order;
	int *gpid;
	pb_resource_spans *rs, **rsp;
	pb_scope_spans *ss, **ssp;
	pb_resource *res;
};

struct otlp {
	char *url[OTLP_NSIGNALS];
	struct transport *tr;
	struct transport_source src;
	unsigned int queue_spans, batch_spans;

	/* Resources of the processes: the encoders of both signals read them. */
	pthread_mutex_t rlock;
	struct resources *res;
	pb_scope scope;

	pthread_mutex_t lock;
	/* Span ring, under lock. used counts record and gap bytes. */
	uint8_t *ring;
	size_t ring_size, head, tail, used;
	unsigned int nq;
	uint64_t spans_pushed, spans_full; /* under lock */
	uint64_t spans_unencoded;	   /* given up: no memory to encode (under lock) */
	uint64_t spans_left;		   /* still queued at otlp__free */

	/* Sender thread only: the batch in flight. */
	struct batch b;
	uint8_t *pack;
	size_t pack_cap;
	unsigned int cur_n;
	size_t cur_end, cur_bytes;
};

static const char *const signal_paths[] = {
	[OTLP_TRACES] = "/v1/traces",
	[OTLP_METRICS] = "/v1/metrics",
	[OTLP_LOGS] = "/v1/logs",
};
static const char *const signal_env[] = {
	[OTLP_TRACES] = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	[OTLP_METRICS] = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
	[OTLP_LOGS] = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
};

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

/* Resources, with what the options say of the target (tests, old callers). */
static int build_resources(struct otlp *x, const struct otlp_opts *o)
{
	struct resources_opts ro = {.service_name = o->service_name};
	struct process_info p = {.pid = o->pid, .exe_name = o->exe_name};
	int err;

	err = resources__new(&ro, &x->res);
	if (!err && o->pid > 0)
		err = resources__add_process(x->res, &p);
	opentelemetry__proto__common__v1__instrumentation_scope__init(&x->scope);
	x->scope.name = "sonde";
	x->scope.version = SONDE_VERSION;
	return err;
}

/* A header name or value must not smuggle in another header line. */
static bool header_ok(const char *k, const char *v)
{
	if (!*k || strpbrk(k, ":\r\n \t") || strpbrk(v, "\r\n"))
		return false;
	return true;
}

static void free_lines(char **lines)
{
	for (size_t i = 0; lines && lines[i]; i++)
		free(lines[i]);
	free(lines);
}

/* OTEL_EXPORTER_OTLP_HEADERS as "Name: value" lines, NULL-ended, into @out. */
static int build_headers(char ***out)
{
	struct otel_kv *kv = NULL;
	char **lines;
	size_t n = 0, i, k = 0;
	int err;

	*out = NULL;
	err = otel_env_list("OTEL_EXPORTER_OTLP_HEADERS", &kv, &n);
	if (err)
		return err;
	lines = calloc(n + 1, sizeof(*lines));
	if (!lines) {
		err = -ENOMEM;
		goto free_kv;
	}
	for (i = 0; i < n; i++) {
		if (!header_ok(kv[i].key, kv[i].val)) {
			log_warn("otlp: failed to use header \"%s\" of OTEL_EXPORTER_OTLP_HEADERS: "
				 "invalid name or value; skipping it",
				 kv[i].key);
			continue;
		}
		if (asprintf(&lines[k], "%s: %s", kv[i].key, kv[i].val) < 0) {
			lines[k] = NULL;
			free_lines(lines);
			err = -ENOMEM;
			goto free_kv;
		}
		k++;
	}
	*out = lines;
free_kv:
	otel_kvs_free(kv, n);
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

/* Bytes the span's own attributes take in a queue record (see struct qrec). */
static size_t attrs_size(const struct span_record *s)
{
	size_t n = 0, nstrs = 0;

	for (uint32_t i = 0; i < s->nattrs && i < SPAN_MAX_ATTRS; i++) {
		const struct span_attr *a = &s->attrs[i];

		n += 2 + strnlen(a->key, STR_MAX) + 1;
		if (a->type == SPAN_ATTR_INT || a->type == SPAN_ATTR_DOUBLE)
			n += 8;
		else if (a->type == SPAN_ATTR_STRING)
			n += strnlen(a->str ? a->str : "", STR_MAX) + 1;
		for (uint32_t j = 0; a->type == SPAN_ATTR_STRINGS && j < a->nstrs &&
				     nstrs < SPAN_MAX_STRINGS;
		     j++, nstrs++)
			n += strnlen(a->strs[j], STR_MAX) + 1;
	}
	return n;
}

/*
 * @s, cut at STR_MAX, as a protobuf string may be: UTF-8 (a target's
 * names need not be, a cut may split a character, and a collector refuses
 * the whole request for one bad byte).
 */
static char *put_str(char *p, const char *s)
{
	size_t n = strnlen(s ? s : "", STR_MAX);

	memcpy(p, s ? s : "", n);
	p[n] = '\0';
	utf8_scrub(p, n);
	return p + n + 1;
}

static void put_attrs(char *p, const struct span_record *s)
{
	uint32_t nstrs = 0;

	for (uint32_t i = 0; i < s->nattrs && i < SPAN_MAX_ATTRS; i++) {
		const struct span_attr *a = &s->attrs[i];
		uint32_t k = 0;

		if (a->type == SPAN_ATTR_STRINGS)
			while (k < a->nstrs && nstrs + k < SPAN_MAX_STRINGS)
				k++;
		*p++ = (char)a->type;
		*p++ = (char)k;
		p = put_str(p, a->key);
		if (a->type == SPAN_ATTR_INT || a->type == SPAN_ATTR_DOUBLE) {
			memcpy(p, a->type == SPAN_ATTR_INT ? (const void *)&a->i : (const void *)&a->d,
			       8);
			p += 8;
		} else if (a->type == SPAN_ATTR_STRING) {
			p = put_str(p, a->str);
		}
		for (uint32_t j = 0; j < k; j++)
			p = put_str(p, a->strs[j]);
		nstrs += k;
	}
}

int otlp__push_span(struct otlp *x, const struct span_record *s)
{
	const char *name = s->name ? s->name : "", *path = s->filepath ? s->filepath : "";
	const char *src = s->source_file ? s->source_file : "";
	size_t nl = strnlen(name, STR_MAX), pl = strnlen(path, STR_MAX);
	size_t sl = strnlen(src, STR_MAX);
	size_t need = align8(sizeof(struct qrec) + nl + 1 + pl + 1 + sl + 1 + attrs_size(s));
	struct qrec *r;
	ssize_t pos;
	bool full_batch;

	pthread_mutex_lock(&x->lock);
	x->spans_pushed++;
	pos = x->nq < x->queue_spans ? ring_reserve(x, need) : -1;
	if (pos < 0) {
		x->spans_full++;
		pthread_mutex_unlock(&x->lock);
		return -ENOSPC;
	}
	r = (struct qrec *)(x->ring + pos);
	r->len = need;
	r->pid = s->pid;
	r->tid = s->tid;
	r->name_len = nl;
	r->path_len = pl;
	r->src_len = sl;
	r->line = s->source_line;
	r->kind = s->kind ? s->kind : SPAN_KIND_INTERNAL;
	r->nattrs = s->nattrs < SPAN_MAX_ATTRS ? s->nattrs : SPAN_MAX_ATTRS;
	r->trace_hi = s->trace_id_hi;
	r->trace_lo = s->trace_id_lo;
	r->span_id = s->span_id;
	r->parent_span_id = s->parent_span_id;
	r->start_ns = s->start_unix_ns;
	r->end_ns = s->end_unix_ns;
	r->samples_mask = s->samples_mask;
	r->pad = 0;
	memcpy(r->samples, s->samples, sizeof(r->samples));
	put_attrs(put_str(put_str(put_str(r->str, name), path), src), s);
	x->head = pos + need;
	x->used += need;
	/* A full batch is worth waking the sender for; fewer wait for the tick. */
	full_batch = ++x->nq == x->batch_spans;
	pthread_mutex_unlock(&x->lock);
	if (full_batch)
		transport__kick(x->tr);
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

/* Resource messages pointing at @a, from @kvs/@kvp/@anys (a->n each). */
static void fill_resource(pb_resource *res, const struct res_attrs *a, pb_kv *kvs, pb_kv **kvp,
			  pb_any *anys)
{
	opentelemetry__proto__resource__v1__resource__init(res);
	for (size_t i = 0; a && i < a->n; i++) {
		if (a->a[i].str)
			set_kv_str(&kvs[i], &anys[i], a->a[i].key, a->a[i].str);
		else
			set_kv_int(&kvs[i], &anys[i], a->a[i].key, a->a[i].ival);
		kvp[i] = &kvs[i];
	}
	res->n_attributes = a ? a->n : 0;
	res->attributes = kvp;
}

/* Scratch for the Resources of one request. */
struct rscratch {
	pb_kv *kvs, **kvp;
	pb_any *anys;
	size_t used;
};

static int rscratch_alloc(struct rscratch *r, size_t cap)
{
	r->kvs = calloc(cap + 1, sizeof(*r->kvs));
	r->kvp = calloc(cap + 1, sizeof(*r->kvp));
	r->anys = calloc(cap + 1, sizeof(*r->anys));
	r->used = 0;
	return r->kvs && r->kvp && r->anys ? 0 : -ENOMEM;
}

static void rscratch_free(struct rscratch *r)
{
	free(r->kvs);
	free(r->kvp);
	free(r->anys);
}

/* Under rlock: the Resources of @ngroups groups into scratch and @res. */
static int group_resources(struct otlp *x, const int *pid, unsigned int ngroups,
			   const struct res_attrs **attrs, pb_resource *res, struct rscratch *rs)
{
	size_t total = 0;

	for (unsigned int g = 0; g < ngroups; g++) {
		attrs[g] = pid[g] > 0 ? resources__process(x->res, pid[g])
				      : resources__service(x->res);
		total += attrs[g] ? attrs[g]->n : 0;
	}
	if (rscratch_alloc(rs, total))
		return -ENOMEM;
	for (unsigned int g = 0; g < ngroups; g++) {
		fill_resource(&res[g], attrs[g], rs->kvs + rs->used, rs->kvp + rs->used,
			      rs->anys + rs->used);
		rs->used += attrs[g] ? attrs[g]->n : 0;
	}
	return 0;
}

/*
 * The span's own attributes from record @r into @kv/@a after thread.id,
 * string arrays into @arr with their values at @av/@avp. Returns how
 * many attributes in all.
 */
static size_t own_attrs(const struct qrec *r, pb_kv *kv, pb_any *a, pb_array *arr, pb_any *av,
			pb_any **avp)
{
	const char *p = r->str + r->name_len + 1 + r->path_len + 1 + r->src_len + 1;
	size_t n = 1, nv = 0;

	set_kv_int(&kv[0], &a[0], "thread.id", r->tid);
	for (unsigned int i = 0; i < r->nattrs; i++, n++) {
		enum span_attr_type type = (enum span_attr_type)p[0];
		unsigned int k = (unsigned char)p[1];
		const char *key = p + 2;
		int64_t v;

		p = key + strlen(key) + 1;
		if (type == SPAN_ATTR_INT) {
			memcpy(&v, p, 8);
			p += 8;
			set_kv_int(&kv[n], &a[n], key, v);
			continue;
		}
		if (type == SPAN_ATTR_DOUBLE) {
			opentelemetry__proto__common__v1__any_value__init(&a[n]);
			a[n].value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
			memcpy(&a[n].double_value, p, 8);
			p += 8;
			opentelemetry__proto__common__v1__key_value__init(&kv[n]);
			kv[n].key = (char *)key;
			kv[n].value = &a[n];
			continue;
		}
		if (type == SPAN_ATTR_STRING) {
			set_kv_str(&kv[n], &a[n], key, p);
			p += strlen(p) + 1;
			continue;
		}
		opentelemetry__proto__common__v1__array_value__init(&arr[i]);
		arr[i].n_values = k;
		arr[i].values = &avp[nv];
		for (unsigned int j = 0; j < k; j++, nv++) {
			opentelemetry__proto__common__v1__any_value__init(&av[nv]);
			av[nv].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			av[nv].string_value = (char *)p;
			avp[nv] = &av[nv];
			p += strlen(p) + 1;
		}
		opentelemetry__proto__common__v1__any_value__init(&a[n]);
		a[n].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
		a[n].array_value = &arr[i];
		opentelemetry__proto__common__v1__key_value__init(&kv[n]);
		kv[n].key = (char *)key;
		kv[n].value = &a[n];
	}
	return n;
}

/* The span attributes of span @j, record @r; returns how many. */
static size_t span_attrs(struct batch *b, unsigned int j, const struct qrec *r, const char *exe)
{
	const char *path = r->str + r->name_len + 1, *src = path + r->path_len + 1;
	pb_kv *kv = &b->kvs[j * SPAN_ATTRS];
	pb_any *a = &b->anys[j * SPAN_ATTRS];
	struct otel_attr at[OTEL_SPAN_ATTRS + SPAN_SAMPLES_MAX];
	size_t n;

	if (r->nattrs)
		return own_attrs(r, kv, a, &b->arrays[j * SPAN_MAX_ATTRS],
				 &b->arr_anys[j * SPAN_MAX_STRINGS], &b->arr_anyp[j * SPAN_MAX_STRINGS]);
	n = otel_span_attrs(r->tid, r->str, path, src, r->line, exe, at);
	n += otel_span_sample_attrs(r->samples_mask, r->samples, at + n);
	for (size_t k = 0; k < n; k++) {
		if (at[k].str)
			set_kv_str(&kv[k], &a[k], at[k].key, at[k].str);
		else
			set_kv_int(&kv[k], &a[k], at[k].key, at[k].ival);
	}
	return n;
}

/*
 * Group b.recs[0..n) by process: b.group[i] is span i's group, b.gpid[g]
 * group g's pid, b.order the spans in group order (stable). The group count.
 */
static unsigned int group_by_pid(struct batch *b, unsigned int n)
{
	unsigned int ngroups = 0, g = 0;

	for (unsigned int i = 0; i < n; i++) {
		int pid = (int)b->recs[i]->pid;

		/* Spans of one process tend to come together: try the last group first. */
		if (!ngroups || b->gpid[g] != pid) {
			for (g = 0; g < ngroups && b->gpid[g] != pid; g++)
				;
			if (g == ngroups)
				b->gpid[ngroups++] = pid;
		}
		b->group[i] = g;
	}
	/* Counting sort: b->ss[g].n_spans counts, then becomes the next slot. */
	for (g = 0; g < ngroups; g++)
		b->ss[g].n_spans = 0;
	for (unsigned int i = 0; i < n; i++)
		b->ss[b->group[i]].n_spans++;
	for (unsigned int i = 0, at = 0; i < ngroups; i++) {
		size_t c = b->ss[i].n_spans;

		b->ss[i].n_spans = at;
		at += c;
	}
	for (unsigned int i = 0; i < n; i++)
		b->order[b->ss[b->group[i]].n_spans++] = i;
	return ngroups;
}

/* Encode b.recs[0..n) as an ExportTraceServiceRequest into x->pack. */
static int encode_spans(struct otlp *x, unsigned int n, size_t *len)
{
	const struct res_attrs **attrs;
	struct rscratch rs = {0};
	struct batch *b = &x->b;
	unsigned int ngroups;
	pb_trace_req req;
	int err = -ENOMEM;

	ngroups = group_by_pid(b, n);
	attrs = calloc(ngroups, sizeof(*attrs));
	if (!attrs)
		return -ENOMEM;
	pthread_mutex_lock(&x->rlock);
	resources__mark(x->res);
	if (group_resources(x, b->gpid, ngroups, attrs, b->res, &rs))
		goto unlock;
	for (unsigned int k = 0, first = 0; k < ngroups; k++) {
		size_t count = b->ss[k].n_spans - first;

		opentelemetry__proto__trace__v1__scope_spans__init(&b->ss[k]);
		b->ss[k].scope = &x->scope;
		b->ss[k].n_spans = count;
		b->ss[k].spans = &b->spanp[first];
		b->ssp[k] = &b->ss[k];
		opentelemetry__proto__trace__v1__resource_spans__init(&b->rs[k]);
		b->rs[k].resource = &b->res[k];
		b->rs[k].n_scope_spans = 1;
		b->rs[k].scope_spans = &b->ssp[k];
		b->rsp[k] = &b->rs[k];
		first += count;
	}
	for (unsigned int j = 0; j < n; j++) {
		unsigned int i = b->order[j];
		const struct qrec *r = b->recs[i];
		pb_span *sp = &b->spans[j];
		pb_kv *kv = &b->kvs[j * SPAN_ATTRS];
		uint8_t *ids = b->ids + j * 32;

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
		/* OTLP numbers the kinds as enum span_kind does. */
		sp->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)r->kind;
		sp->start_time_unix_nano = r->start_ns;
		sp->end_time_unix_nano = r->end_ns;
		sp->n_attributes = span_attrs(b, j, r, resources__exe_path(attrs[b->group[i]]));
		for (size_t k = 0; k < sp->n_attributes; k++)
			b->kvp[j * SPAN_ATTRS + k] = &kv[k];
		sp->attributes = &b->kvp[j * SPAN_ATTRS];
		b->spanp[j] = sp;
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
	req.n_resource_spans = ngroups;
	req.resource_spans = b->rsp;
	err = pack_msg(x, &req.base, len);
unlock:
	pthread_mutex_unlock(&x->rlock);
	rscratch_free(&rs);
	free(attrs);
	return err;
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

/*
 * The targets' process metrics (session/procstat.c) under OpenTelemetry's
 * names (semantic conventions, process metrics): the pid and comm labels
 * become the process's Resource, the others are renamed.
 */
static const struct otel_name {
	const char *prom, *otel, *unit, *desc;
	bool updown;		  /* a Sum that goes down too (UpDownCounter) */
	const char *label, *attr; /* the one label renamed, and its OTel name */
} otel_names[] = {
	{"sonde_target_cpu_seconds_total", "process.cpu.time", "s",
	 "Total CPU seconds broken down by different states.", false, "mode", "cpu.mode"},
	{"sonde_target_resident_memory_bytes", "process.memory.usage", "By",
	 "The amount of physical memory in use.", true, NULL, NULL},
	{"sonde_target_virtual_memory_bytes", "process.memory.virtual", "By",
	 "The amount of committed virtual memory.", true, NULL, NULL},
	{"sonde_target_page_faults_total", "process.paging.faults", "{fault}",
	 "Number of page faults the process has made.", false, "kind", "system.paging.fault.type"},
	{"sonde_target_context_switches_total", "process.context_switches", "{context_switch}",
	 "Number of times the process has been context switched.", false, "kind",
	 "process.context_switch.type"},
	{"sonde_target_threads", "process.thread.count", "{thread}", "Process threads count.", true,
	 NULL, NULL},
};

static const struct otel_name *otel_name_of(const char *prom)
{
	for (size_t i = 0; i < sizeof(otel_names) / sizeof(otel_names[0]); i++)
		if (!strcmp(otel_names[i].prom, prom))
			return &otel_names[i];
	return NULL;
}

/* The pid a target series belongs to, or 0. */
static int series_pid(const struct metric_series *s)
{
	for (unsigned int l = 0; l < s->nlabels; l++) {
		if (!strcmp(s->labels[l].key, "pid")) {
			long v = strtol(s->labels[l].value, NULL, 10);

			return v > 0 && v <= INT_MAX ? (int)v : 0;
		}
	}
	return 0;
}

/* One series of a snapshot and the Resource group it goes to. */
struct mref {
	uint32_t f, s, g;
};

/* Everything one metrics request points into, allocated by counts. */
struct mbuild {
	struct mref *refs, *sorted;
	int *gpid;
	unsigned int ngroups;
	pb_metric *metrics, **metricp;
	pb_sum *sums;
	pb_gauge *gauges;
	pb_hist *hists;
	pb_num_point *nums, **nump;
	pb_hist_point *hps, **hpp;
	pb_kv *kvs, **kvp;
	pb_any *anys;
	pb_resource *res;
	pb_resource_metrics *rm, **rmp;
	pb_scope_metrics *sm, **smp;
	const struct res_attrs **attrs;
	struct rscratch rs;
};

static void mbuild_free(struct mbuild *m)
{
	free(m->refs);
	free(m->sorted);
	free(m->gpid);
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
	free(m->res);
	free(m->rm);
	free(m->rmp);
	free(m->sm);
	free(m->smp);
	free(m->attrs);
	rscratch_free(&m->rs);
}

/* Sizes from @snap: one of each per series at most (calloc(0) may be NULL: +1). */
static int mbuild_alloc(struct mbuild *m, const struct metrics_snapshot *snap)
{
	size_t nser = 0, nlab = 0;

	for (size_t i = 0; i < snap->nfamilies; i++) {
		nser += snap->families[i].nseries;
		for (size_t j = 0; j < snap->families[i].nseries; j++)
			nlab += snap->families[i].series[j].nlabels;
	}
	m->refs = calloc(nser + 1, sizeof(*m->refs));
	m->sorted = calloc(nser + 1, sizeof(*m->sorted));
	m->gpid = calloc(nser + 1, sizeof(*m->gpid));
	m->metrics = calloc(nser + 1, sizeof(*m->metrics));
	m->metricp = calloc(nser + 1, sizeof(*m->metricp));
	m->sums = calloc(nser + 1, sizeof(*m->sums));
	m->gauges = calloc(nser + 1, sizeof(*m->gauges));
	m->hists = calloc(nser + 1, sizeof(*m->hists));
	m->nums = calloc(nser + 1, sizeof(*m->nums));
	m->nump = calloc(nser + 1, sizeof(*m->nump));
	m->hps = calloc(nser + 1, sizeof(*m->hps));
	m->hpp = calloc(nser + 1, sizeof(*m->hpp));
	m->kvs = calloc(nlab + 1, sizeof(*m->kvs));
	m->kvp = calloc(nlab + 1, sizeof(*m->kvp));
	m->anys = calloc(nlab + 1, sizeof(*m->anys));
	m->res = calloc(nser + 1, sizeof(*m->res));
	m->rm = calloc(nser + 1, sizeof(*m->rm));
	m->rmp = calloc(nser + 1, sizeof(*m->rmp));
	m->sm = calloc(nser + 1, sizeof(*m->sm));
	m->smp = calloc(nser + 1, sizeof(*m->smp));
	m->attrs = calloc(nser + 1, sizeof(*m->attrs));
	if (!m->refs || !m->sorted || !m->gpid || !m->metrics || !m->metricp || !m->sums ||
	    !m->gauges || !m->hists || !m->nums || !m->nump || !m->hps || !m->hpp || !m->kvs ||
	    !m->kvp || !m->anys || !m->res || !m->rm || !m->rmp || !m->sm || !m->smp || !m->attrs)
		return -ENOMEM;
	return 0;
}

/*
 * Every series into m->sorted, by Resource group (0: the service; one per
 * target process), families in snapshot order within a group. Returns the
 * number of series.
 */
static size_t group_series(struct mbuild *m, const struct metrics_snapshot *snap)
{
	size_t n = 0, *at;

	m->ngroups = 1;
	m->gpid[0] = 0;
	for (uint32_t f = 0; f < snap->nfamilies; f++) {
		const struct metric_family *mf = &snap->families[f];
		bool target = otel_name_of(mf->name) != NULL;

		for (uint32_t j = 0; j < mf->nseries; j++) {
			int pid = target ? series_pid(&mf->series[j]) : 0;
			uint32_t g = 0;

			if (pid) {
				for (g = 1; g < m->ngroups && m->gpid[g] != pid; g++)
					;
				if (g == m->ngroups)
					m->gpid[m->ngroups++] = pid;
			}
			m->refs[n++] = (struct mref){f, j, g};
		}
	}
	at = calloc(m->ngroups + 1, sizeof(*at));
	if (!at)
		return 0;
	for (size_t i = 0; i < n; i++)
		at[m->refs[i].g + 1]++;
	for (unsigned int g = 1; g <= m->ngroups; g++)
		at[g] += at[g - 1];
	for (size_t i = 0; i < n; i++)
		m->sorted[at[m->refs[i].g]++] = m->refs[i];
	free(at);
	return n;
}

/* A point's attributes: the labels, less what the Resource says, renamed. */
static pb_kv **point_attrs(struct mbuild *m, size_t *kvi, const struct metric_series *s,
			   const struct otel_name *on, size_t *n)
{
	pb_kv **first = &m->kvp[*kvi];

	*n = 0;
	for (unsigned int l = 0; l < s->nlabels; l++) {
		const char *key = s->labels[l].key;

		if (on && (!strcmp(key, "pid") || !strcmp(key, "comm")))
			continue;
		if (on && on->label && !strcmp(key, on->label))
			key = on->attr;
		set_kv_str(&m->kvs[*kvi], &m->anys[*kvi], key, s->labels[l].value);
		m->kvp[*kvi] = &m->kvs[*kvi];
		(*kvi)++;
		(*n)++;
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

/* The data of metric @pm (family @f) once its points are in place. */
static void finish_metric(struct mbuild *m, size_t nm, pb_metric *pm, const struct metric_family *f,
			  const struct otel_name *on, size_t first_num, size_t ni,
			  size_t first_hist, size_t hi)
{
	if (f->type == METRIC_HISTOGRAM) {
		opentelemetry__proto__metrics__v1__histogram__init(&m->hists[nm]);
		m->hists[nm].aggregation_temporality =
			OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
		m->hists[nm].n_data_points = hi - first_hist;
		m->hists[nm].data_points = &m->hpp[first_hist];
		pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
		pm->histogram = &m->hists[nm];
	} else if (f->type == METRIC_COUNTER || (on && on->updown)) {
		opentelemetry__proto__metrics__v1__sum__init(&m->sums[nm]);
		m->sums[nm].aggregation_temporality =
			OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
		m->sums[nm].is_monotonic = f->type == METRIC_COUNTER;
		m->sums[nm].n_data_points = ni - first_num;
		m->sums[nm].data_points = &m->nump[first_num];
		pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
		pm->sum = &m->sums[nm];
	} else {
		opentelemetry__proto__metrics__v1__gauge__init(&m->gauges[nm]);
		m->gauges[nm].n_data_points = ni - first_num;
		m->gauges[nm].data_points = &m->nump[first_num];
		pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
		pm->gauge = &m->gauges[nm];
	}
}

/* One data point of @s (family @f) at m->nums[*ni] or m->hps[*hi]. */
static void add_point(struct mbuild *m, const struct metrics_snapshot *snap,
		      const struct metric_family *f, const struct metric_series *s,
		      const struct otel_name *on, size_t *kvi, size_t *ni, size_t *hi)
{
	size_t nattrs;
	pb_kv **attrs = point_attrs(m, kvi, s, on, &nattrs);

	if (f->type == METRIC_HISTOGRAM) {
		pb_hist_point *p = &m->hps[*hi];

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
		p->n_attributes = nattrs;
		p->attributes = attrs;
		m->hpp[*hi] = p;
		(*hi)++;
		return;
	}
	/* A gauge has no start: it is a reading, not a total. */
	number_point(&m->nums[*ni],
		     f->type == METRIC_COUNTER || (on && on->updown) ? snap->start_unix_ns : 0,
		     snap->time_unix_ns, s->value);
	m->nums[*ni].n_attributes = nattrs;
	m->nums[*ni].attributes = attrs;
	m->nump[*ni] = &m->nums[*ni];
	(*ni)++;
}

/*
 * Encode @snap into a new buffer: the targets' process metrics under each
 * process's Resource with OpenTelemetry's names, the rest under the
 * service Resource with the registry's.
 */
static int encode_metrics(struct otlp *x, const struct metrics_snapshot *snap,
			  struct transport_req *out)
{
	size_t nm = 0, ni = 0, hi = 0, kvi = 0, nrm = 0, n, i, len;
	struct mbuild m = {0};
	pb_metrics_req req;
	int err = -ENOMEM;

	if (mbuild_alloc(&m, snap))
		goto free_build;
	n = group_series(&m, snap);
	/* Until packed: the Resources' strings are the table's. */
	pthread_mutex_lock(&x->rlock);
	resources__mark(x->res);
	err = group_resources(x, m.gpid, m.ngroups, m.attrs, m.res, &m.rs);
	if (err)
		goto unlock;
	for (i = 0; i < n;) {
		uint32_t g = m.sorted[i].g;
		size_t first_metric = nm;

		while (i < n && m.sorted[i].g == g) {
			uint32_t f = m.sorted[i].f;
			const struct metric_family *mf = &snap->families[f];
			const struct otel_name *on = otel_name_of(mf->name);
			pb_metric *pm = &m.metrics[nm];
			size_t first_num = ni, first_hist = hi;

			/* A target family's series without a pid stays a plain family. */
			if (!g)
				on = NULL;
			opentelemetry__proto__metrics__v1__metric__init(pm);
			pm->name = (char *)(on ? on->otel : mf->name);
			pm->description = (char *)(on ? on->desc : mf->help ? mf->help : "");
			pm->unit = (char *)(on ? on->unit : mf->unit ? mf->unit : unit_of(mf->name));
			for (; i < n && m.sorted[i].g == g && m.sorted[i].f == f; i++)
				add_point(&m, snap, mf, &mf->series[m.sorted[i].s], on, &kvi, &ni,
					  &hi);
			finish_metric(&m, nm, pm, mf, on, first_num, ni, first_hist, hi);
			m.metricp[nm++] = pm;
		}
		opentelemetry__proto__metrics__v1__scope_metrics__init(&m.sm[nrm]);
		m.sm[nrm].scope = &x->scope;
		m.sm[nrm].n_metrics = nm - first_metric;
		m.sm[nrm].metrics = &m.metricp[first_metric];
		m.smp[nrm] = &m.sm[nrm];
		opentelemetry__proto__metrics__v1__resource_metrics__init(&m.rm[nrm]);
		m.rm[nrm].resource = &m.res[g];
		m.rm[nrm].n_scope_metrics = 1;
		m.rm[nrm].scope_metrics = &m.smp[nrm];
		m.rmp[nrm] = &m.rm[nrm];
		nrm++;
	}
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(&req);
	req.n_resource_metrics = nrm;
	req.resource_metrics = m.rmp;
	len = protobuf_c_message_get_packed_size(&req.base);
	out->body = malloc(len ? len : 1);
	if (out->body)
		out->len = protobuf_c_message_pack(&req.base, out->body);
	err = out->body ? 0 : -ENOMEM;
unlock:
	pthread_mutex_unlock(&x->rlock);
free_build:
	mbuild_free(&m);
	return err;
}

int otlp__push_metrics(struct otlp *x, const struct metrics_snapshot *snap)
{
	struct transport_req r = {.items = 1};
	int err;

	err = encode_metrics(x, snap, &r);
	if (err)
		return err;
	return transport__send(x->tr, OTLP_METRICS, &r);
}

/* ---- logs --------------------------------------------------------------- */

static uint64_t real_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * @s as a protobuf string may be: a UTF-8 copy, kept in @own[*nown] for
 * the caller to free ('?' for each bad byte: an anomaly's function name is
 * the target's, and a collector refuses the request for one bad byte).
 * NULL when out of memory.
 */
static char *own_utf8(const char *s, char **own, size_t *nown)
{
	char *c = strdup(s ? s : "");

	if (c) {
		utf8_scrub(c, strlen(c));
		own[(*nown)++] = c;
	}
	return c;
}

/*
 * The record's attributes into @kv/@a/@kvp: strings (UTF-8 copies in
 * @own), ints and doubles; how many, or -ENOMEM.
 */
static ssize_t log_attrs(const struct otlp_log *l, pb_kv *kv, pb_any *a, pb_kv **kvp, char **own,
			 size_t *nown)
{
	ssize_t n = 0;
	char *v;

	for (size_t i = 0; i < l->nattrs && n < LOG_ATTRS; i++) {
		const struct span_attr *at = &l->attrs[i];

		switch (at->type) {
		case SPAN_ATTR_STRING:
			v = own_utf8(at->str, own, nown);
			if (!v)
				return -ENOMEM;
			set_kv_str(&kv[n], &a[n], at->key, v);
			break;
		case SPAN_ATTR_INT:
			set_kv_int(&kv[n], &a[n], at->key, at->i);
			break;
		case SPAN_ATTR_DOUBLE:
			set_kv_int(&kv[n], &a[n], at->key, 0);
			a[n].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
			a[n].double_value = at->d;
			break;
		default: /* no arrays in log records */
			continue;
		}
		kvp[n] = &kv[n];
		n++;
	}
	return n;
}

static int encode_log(struct otlp *x, const struct otlp_log *l, struct transport_req *out)
{
	pb_kv kv[LOG_ATTRS], *kvp[LOG_ATTRS];
	pb_any a[LOG_ATTRS], body;
	const struct res_attrs *ra;
	pb_resource res;
	struct rscratch rs;
	pb_log rec, *recp = &rec;
	pb_scope_logs sl, *slp = &sl;
	pb_resource_logs rl, *rlp = &rl;
	pb_logs_req req;
	char *own[LOG_ATTRS + 2];
	size_t nown = 0, len;
	ssize_t nattrs;
	int pid = l->pid, err;

	opentelemetry__proto__logs__v1__log_record__init(&rec);
	rec.time_unix_nano = l->time_unix_ns;
	rec.observed_time_unix_nano = l->observed_unix_ns ? l->observed_unix_ns : real_now_ns();
	rec.severity_number = l->severity;
	opentelemetry__proto__common__v1__any_value__init(&body);
	body.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	rec.severity_text = own_utf8(l->severity_text, own, &nown);
	body.string_value = own_utf8(l->body, own, &nown);
	nattrs = log_attrs(l, kv, a, kvp, own, &nown);
	if (!rec.severity_text || !body.string_value || nattrs < 0) {
		err = -ENOMEM;
		goto out;
	}
	rec.body = &body;
	rec.n_attributes = (size_t)nattrs;
	rec.attributes = kvp;
	opentelemetry__proto__logs__v1__scope_logs__init(&sl);
	sl.scope = &x->scope;
	sl.n_log_records = 1;
	sl.log_records = &recp;
	opentelemetry__proto__logs__v1__resource_logs__init(&rl);
	rl.resource = &res;
	rl.n_scope_logs = 1;
	rl.scope_logs = &slp;
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(&req);
	req.n_resource_logs = 1;
	req.resource_logs = &rlp;
	/* Until packed: the Resource's strings are the table's. */
	pthread_mutex_lock(&x->rlock);
	resources__mark(x->res);
	err = group_resources(x, &pid, 1, &ra, &res, &rs);
	if (!err) {
		len = protobuf_c_message_get_packed_size(&req.base);
		out->body = malloc(len ? len : 1);
		if (out->body)
			out->len = protobuf_c_message_pack(&req.base, out->body);
		err = out->body ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&x->rlock);
	rscratch_free(&rs);
out:
	while (nown)
		free(own[--nown]);
	return err;
}

int otlp__push_log(struct otlp *x, const struct otlp_log *l)
{
	struct transport_req r = {.items = 1};
	int err;

	err = encode_log(x, l, &r);
	if (err)
		return err;
	return transport__send(x->tr, OTLP_LOGS, &r);
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
	b->arrays = calloc((size_t)n * SPAN_MAX_ATTRS, sizeof(*b->arrays));
	b->arr_anys = calloc((size_t)n * SPAN_MAX_STRINGS, sizeof(*b->arr_anys));
	b->arr_anyp = calloc((size_t)n * SPAN_MAX_STRINGS, sizeof(*b->arr_anyp));
	b->ids = calloc(n, 32);
	b->group = calloc(n, sizeof(*b->group));
	b->order = calloc(n, sizeof(*b->order));
	b->gpid = calloc(n, sizeof(*b->gpid));
	b->rs = calloc(n, sizeof(*b->rs));
	b->rsp = calloc(n, sizeof(*b->rsp));
	b->ss = calloc(n, sizeof(*b->ss));
	b->ssp = calloc(n, sizeof(*b->ssp));
	b->res = calloc(n, sizeof(*b->res));
	if (!b->recs || !b->spans || !b->spanp || !b->kvs || !b->kvp || !b->anys || !b->arrays ||
	    !b->arr_anys || !b->arr_anyp || !b->ids ||
	    !b->group || !b->order || !b->gpid || !b->rs || !b->rsp || !b->ss || !b->ssp || !b->res)
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
	free(b->arrays);
	free(b->arr_anys);
	free(b->arr_anyp);
	free(b->anys);
	free(b->ids);
	free(b->group);
	free(b->order);
	free(b->gpid);
	free(b->rs);
	free(b->rsp);
	free(b->ss);
	free(b->ssp);
	free(b->res);
}

/* ---- the ring as the traces channel's source (sender thread) ----------- */

static int source_take(void *ctx, bool due, struct transport_batch *b)
{
	struct otlp *x = ctx;
	size_t len;

	pthread_mutex_lock(&x->lock);
	if (!x->nq || (!due && x->nq < x->batch_spans)) {
		pthread_mutex_unlock(&x->lock);
		return 0;
	}
	x->cur_n = batch_take(x, &x->cur_end, &x->cur_bytes);
	pthread_mutex_unlock(&x->lock);
	if (encode_spans(x, x->cur_n, &len)) {
		log_err("otlp: failed to encode %u spans: %s", x->cur_n, strerror(ENOMEM));
		pthread_mutex_lock(&x->lock);
		batch_release(x, x->cur_n, x->cur_end, x->cur_bytes);
		x->spans_unencoded += x->cur_n;
		pthread_mutex_unlock(&x->lock);
		return 0;
	}
	*b = (struct transport_batch){.body = x->pack, .len = len, .items = x->cur_n};
	return 1;
}

static void source_done(void *ctx, const struct transport_batch *b, enum transport_outcome out)
{
	struct otlp *x = ctx;

	/* A stopped batch stays queued: otlp__free counts what is left. */
	if (out == TRANSPORT_STOPPED)
		return;
	pthread_mutex_lock(&x->lock);
	batch_release(x, x->cur_n, x->cur_end, x->cur_bytes);
	pthread_mutex_unlock(&x->lock);
}

static bool source_pending(void *ctx)
{
	struct otlp *x = ctx;
	bool p;

	pthread_mutex_lock(&x->lock);
	p = x->nq != 0;
	pthread_mutex_unlock(&x->lock);
	return p;
}

static uint64_t source_refused(void *ctx)
{
	struct otlp *x = ctx;
	uint64_t r;

	pthread_mutex_lock(&x->lock);
	r = x->spans_full + x->spans_unencoded;
	pthread_mutex_unlock(&x->lock);
	return r;
}

static unsigned int or_default(unsigned int v, unsigned int def)
{
	return v ? v : def;
}

static int start_transport(struct otlp *x, const struct otlp_opts *o, char **headers)
{
	char limit[96];
	const char *ca = getenv("OTEL_EXPORTER_OTLP_CERTIFICATE");
	struct transport_channel_opts ch[OTLP_NSIGNALS] = {
		[OTLP_TRACES] = {.what = "spans",
				 .url = x->url[OTLP_TRACES],
				 .source = &x->src,
				 .source_limit = limit},
		[OTLP_METRICS] = {.what = "metric snapshots",
				  .url = x->url[OTLP_METRICS],
				  .max_requests = or_default(o->metrics_queue, DEF_METRICS_QUEUE)},
		[OTLP_LOGS] = {.what = "log records",
			       .url = x->url[OTLP_LOGS],
			       .max_requests = or_default(o->logs_queue, DEF_LOGS_QUEUE)},
	};
	struct transport_opts to = {
		.name = "otlp",
		.user_agent = "sonde-otlp-exporter/" SONDE_VERSION,
		.cainfo = ca && *ca ? ca : NULL,
		.headers = (const char *const *)headers,
		.channels = ch,
		.nchannels = OTLP_NSIGNALS,
		.timeout_ms = o->timeout_ms ? o->timeout_ms
					    : env_ms("OTEL_EXPORTER_OTLP_TIMEOUT", DEF_TIMEOUT_MS),
		.backoff_ms = o->backoff_ms,
		.backoff_max_ms = o->backoff_max_ms,
		.retry_max_ms = o->retry_max_ms,
		.log_interval_ms = o->log_interval_ms,
		.tick_ms = or_default(o->batch_ms, DEF_BATCH_MS),
		.cancel = o->cancel,
		.cancel_ctx = o->cancel_ctx,
	};

	x->src = (struct transport_source){source_take, source_done, source_pending, source_refused,
					   x};
	snprintf(limit, sizeof(limit), "%u spans or %zu bytes", x->queue_spans, x->ring_size);
	return transport__new(&to, &x->tr);
}

int otlp__new(const struct otlp_opts *o, struct otlp **out)
{
	static const struct otlp_opts none;
	char **headers = NULL;
	struct otlp *x;
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
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->rlock, NULL);
	x->queue_spans = or_default(o->queue_spans, DEF_QUEUE_SPANS);
	x->batch_spans = or_default(o->batch_spans, DEF_BATCH_SPANS);
	if (x->batch_spans > x->queue_spans)
		x->batch_spans = x->queue_spans;
	qbytes = o->queue_bytes ? o->queue_bytes : (size_t)x->queue_spans * DEF_BYTES_PER_SPAN;
	/* Room for at least one longest record, whatever was asked. */
	if (qbytes < align8(sizeof(struct qrec) + 3 * (STR_MAX + 1)))
		qbytes = align8(sizeof(struct qrec) + 3 * (STR_MAX + 1));
	x->ring_size = align8(qbytes);

	err = resolve_url(o, OTLP_TRACES, &x->url[OTLP_TRACES]);
	if (!err)
		err = resolve_url(o, OTLP_METRICS, &x->url[OTLP_METRICS]);
	if (!err)
		err = resolve_url(o, OTLP_LOGS, &x->url[OTLP_LOGS]);
	if (!err)
		err = build_resources(x, o);
	if (!err)
		err = build_headers(&headers);
	if (err)
		goto free_x;
	x->ring = malloc(x->ring_size);
	if (!x->ring || alloc_batch(&x->b, x->batch_spans)) {
		err = -ENOMEM;
		log_err("otlp: failed to create exporter: %s", strerror(ENOMEM));
		goto free_x;
	}
	err = start_transport(x, o, headers);
	if (err)
		goto free_x;
	free_lines(headers);
	*out = x;
	return 0;

free_x:
	free_lines(headers);
	otlp__free(x);
	return err;
}

int otlp__flush(struct otlp *x, int timeout_ms)
{
	return transport__flush(x->tr, timeout_ms);
}

void otlp__free(struct otlp *x)
{
	if (!x)
		return;
	/* The sender goes first: it reads the ring. */
	transport__stop(x->tr);
	if (x->tr && x->nq) {
		struct otlp_stats st;

		x->spans_left = x->nq;
		otlp__stats(x, &st);
		log_warn("otlp: failed to export %u spans to %s: exporter stopped with them queued "
			 "(%" PRIu64 " dropped in all)",
			 x->nq, x->url[OTLP_TRACES], st.spans_dropped);
	}
	transport__free(x->tr);
	free_batch(&x->b);
	free(x->pack);
	free(x->ring);
	resources__free(x->res);
	for (int i = 0; i < OTLP_NSIGNALS; i++)
		free(x->url[i]);
	pthread_mutex_destroy(&x->lock);
	pthread_mutex_destroy(&x->rlock);
	free(x);
}

void otlp__stats(struct otlp *x, struct otlp_stats *out)
{
	struct transport_stats t, m, lg;

	transport__stats(x->tr, OTLP_TRACES, &t);
	transport__stats(x->tr, OTLP_METRICS, &m);
	transport__stats(x->tr, OTLP_LOGS, &lg);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&x->lock);
	out->spans_pushed = x->spans_pushed;
	out->spans_dropped_full = x->spans_full;
	out->spans_given_up = t.items_given_up + x->spans_unencoded + x->spans_left;
	/* What otlp__free gave up is no longer queued. */
	out->spans_queued = x->nq - x->spans_left;
	pthread_mutex_unlock(&x->lock);
	out->spans_sent = t.items_sent;
	out->spans_rejected = t.items_rejected;
	out->spans_dropped = out->spans_dropped_full + out->spans_rejected + out->spans_given_up;
	out->metric_exports_pushed = m.items_queued_in;
	out->metric_exports_sent = m.items_sent;
	out->metric_exports_dropped = m.items_displaced + m.items_rejected + m.items_given_up;
	out->logs_pushed = lg.items_queued_in;
	out->logs_sent = lg.items_sent;
	out->logs_dropped = lg.items_displaced + lg.items_rejected + lg.items_given_up;
	out->requests_sent = t.requests_sent + m.requests_sent + lg.requests_sent;
	out->requests_failed = t.requests_failed + m.requests_failed + lg.requests_failed;
	out->bytes_sent = t.bytes_sent + m.bytes_sent + lg.bytes_sent;
}

int otlp__add_process(struct otlp *x, int pid, const char *exe_path, const char *command)
{
	struct process_info p = {.pid = pid, .exe_path = exe_path, .command = command};
	int err;

	pthread_mutex_lock(&x->rlock);
	err = resources__add_process(x->res, &p);
	pthread_mutex_unlock(&x->rlock);
	return err;
}

const char *otlp__url(const struct otlp *x, enum otlp_signal sig)
{
	return x->url[sig];
}
