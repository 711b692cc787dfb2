// SPDX-License-Identifier: MIT
/* OTLP-JSON span lines (see otlp_json.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "export/otlp_json.h"
#include "base/jsonstr.h"
#include "export/resource.h"
#include "model/spans.h"

struct otlp_json {
	struct resources *res;
	/* The last line's opening, up to its span: its Resource rendered once. */
	uint64_t head_serial; /* of the Resource it renders; 0: none */
	char *head;
	size_t head_len;
};

int otlp_json__new(struct otlp_json **out)
{
	struct otlp_json *x = calloc(1, sizeof(*x));
	int err;

	*out = NULL;
	if (!x)
		return -ENOMEM;
	err = resources__new(NULL, &x->res);
	if (err) {
		free(x);
		return err;
	}
	*out = x;
	return 0;
}

void otlp_json__free(struct otlp_json *x)
{
	if (!x)
		return;
	resources__free(x->res);
	free(x->head);
	free(x);
}

int otlp_json__add_process(struct otlp_json *x, int pid, const char *exe_path, const char *command)
{
	struct process_info p = {.pid = pid, .exe_path = exe_path, .command = command};

	return resources__add_process(x->res, &p);
}

static void json_attr(FILE *f, const char *key, const char *str, int64_t ival, bool first)
{
	fputs(first ? "{\"key\":" : ",{\"key\":", f);
	json_put_string(f, key);
	if (str) {
		fputs(",\"value\":{\"stringValue\":", f);
		json_put_string(f, str);
		fputs("}}", f);
	} else {
		/* int64 is a decimal string in OTLP-JSON, as in protobuf's JSON mapping. */
		fprintf(f, ",\"value\":{\"intValue\":\"%" PRId64 "\"}}", ival);
	}
}

/* A span's own attribute (model/spans.h), after at least one other. */
static void json_own_attr(FILE *f, const struct span_attr *a)
{
	if (a->type == SPAN_ATTR_DOUBLE) {
		fputs(",{\"key\":", f);
		json_put_string(f, a->key);
		/* %.17g reads back as the same double. */
		fprintf(f, ",\"value\":{\"doubleValue\":%.17g}}", isfinite(a->d) ? a->d : 0.0);
		return;
	}
	if (a->type != SPAN_ATTR_STRINGS) {
		json_attr(f, a->key, a->type == SPAN_ATTR_STRING ? (a->str ? a->str : "") : NULL,
			  a->i, false);
		return;
	}
	fputs(",{\"key\":", f);
	json_put_string(f, a->key);
	fputs(",\"value\":{\"arrayValue\":{\"values\":[", f);
	for (uint32_t i = 0; i < a->nstrs; i++) {
		fputs(i ? ",{\"stringValue\":" : "{\"stringValue\":", f);
		json_put_string(f, a->strs[i]);
		fputc('}', f);
	}
	fputs("]}}}", f);
}

/*
 * A line's opening up to its span, for @res: rendered when the Resource
 * differs from the last line's (a span line repeats its process's
 * Resource; rendering it each time was most of the collector's work).
 */
static int line_head(struct otlp_json *x, const struct res_attrs *res)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (x->head && x->head_serial == res->serial)
		return 0;
	m = open_memstream(&buf, &len);
	if (!m)
		return -ENOMEM;
	fputs("{\"resourceSpans\":[{\"resource\":{\"attributes\":[", m);
	for (size_t i = 0; i < res->n; i++)
		json_attr(m, res->a[i].key, res->a[i].str, res->a[i].ival, !i);
	fputs("]},\"scopeSpans\":[{\"scope\":{\"name\":\"sonde\",\"version\":\"" SONDE_VERSION
	      "\"},\"spans\":[{",
	      m);
	if (fclose(m)) {
		free(buf);
		return -ENOMEM;
	}
	free(x->head);
	x->head = buf;
	x->head_len = len;
	x->head_serial = res->serial;
	return 0;
}

int otlp_json__write(struct otlp_json *x, FILE *f, const struct span_record *s)
{
	const struct res_attrs *res;
	struct otel_attr at[OTEL_SPAN_ATTRS + SPAN_SAMPLES_MAX];
	size_t n;

	resources__mark(x->res);
	res = resources__process(x->res, (int)s->pid);
	if (!res || line_head(x, res))
		return -ENOMEM;
	fwrite(x->head, 1, x->head_len, f);
	fprintf(f, "\"traceId\":\"%016" PRIx64 "%016" PRIx64 "\",\"spanId\":\"%016" PRIx64 "\",",
		s->trace_id_hi, s->trace_id_lo, s->span_id);
	if (s->parent_span_id)
		fprintf(f, "\"parentSpanId\":\"%016" PRIx64 "\",", s->parent_span_id);
	fputs("\"name\":", f);
	json_put_string(f, s->name);
	fprintf(f,
		",\"kind\":%u,\"startTimeUnixNano\":\"%" PRIu64 "\",\"endTimeUnixNano\":\"%" PRIu64
		"\",\"attributes\":[",
		s->kind ? s->kind : SPAN_KIND_INTERNAL, s->start_unix_ns, s->end_unix_ns);
	if (s->nattrs) {
		json_attr(f, "thread.id", NULL, s->tid, true);
		for (uint32_t i = 0; i < s->nattrs && i < SPAN_MAX_ATTRS; i++)
			json_own_attr(f, &s->attrs[i]);
	} else {
		n = otel_span_attrs(s->tid, s->name, s->filepath, s->source_file, s->source_line,
				    resources__exe_path(res), at);
		n += otel_span_sample_attrs(s->samples_mask, s->samples, at + n);
		for (size_t i = 0; i < n; i++)
			json_attr(f, at[i].key, at[i].str, at[i].ival, !i);
	}
	fputs("]}]}]}]}\n", f);
	return ferror(f) ? -EIO : 0;
}
