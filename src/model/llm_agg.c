// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/outfile.h"
#include "model/hist.h"
#include "model/llm_agg.h"

struct llm_agg {
	struct llm_agg_row **rows;
	size_t nrows, cap;
	struct llm_agg_row total;
};

static int row_init(struct llm_agg_row *r, enum llm_provider p, const char *model)
{
	memset(r, 0, sizeof(*r));
	r->provider = p;
	llm_strcpy(r->model, sizeof(r->model), model, strlen(model));
	r->duration = hist__new();
	r->ttfc = hist__new();
	return r->duration && r->ttfc ? 0 : -ENOMEM;
}

static void row_clear(struct llm_agg_row *r)
{
	hist__free(r->duration);
	hist__free(r->ttfc);
}

struct llm_agg *llm_agg__new(void)
{
	struct llm_agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (row_init(&a->total, LLM_PROVIDER_UNKNOWN, "")) {
		llm_agg__free(a);
		return NULL;
	}
	return a;
}

void llm_agg__free(struct llm_agg *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nrows; i++) {
		row_clear(a->rows[i]);
		free(a->rows[i]);
	}
	free(a->rows);
	row_clear(&a->total);
	free(a);
}

static struct llm_agg_row *row_of(struct llm_agg *a, enum llm_provider p, const char *model)
{
	struct llm_agg_row *r;

	for (size_t i = 0; i < a->nrows; i++)
		if (a->rows[i]->provider == p && !strcmp(a->rows[i]->model, model))
			return a->rows[i];
	if (a->nrows >= LLM_AGG_MAX_ROWS && strcmp(model, LLM_AGG_OTHER_MODELS))
		return row_of(a, p, LLM_AGG_OTHER_MODELS);
	if (a->nrows == a->cap) {
		size_t ncap = a->cap ? 2 * a->cap : 8;
		struct llm_agg_row **grown = realloc(a->rows, ncap * sizeof(*grown));

		if (!grown)
			return NULL;
		a->rows = grown;
		a->cap = ncap;
	}
	r = malloc(sizeof(*r));
	if (!r || row_init(r, p, model)) {
		if (r)
			row_clear(r);
		free(r);
		return NULL;
	}
	a->rows[a->nrows++] = r;
	return r;
}

static uint64_t tokens(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

static void count_error(struct llm_agg_row *r, const char *type)
{
	unsigned int i;

	for (i = 0; i < r->nerrs; i++)
		if (!strcmp(r->errs[i].type, type))
			break;
	if (i == r->nerrs) {
		if (r->nerrs == LLM_AGG_MAX_ERRORS) {
			i = LLM_AGG_MAX_ERRORS - 1;
			type = GENAI_ERROR_OTHER;
			llm_strcpy(r->errs[i].type, sizeof(r->errs[i].type), type, strlen(type));
		} else {
			llm_strcpy(r->errs[i].type, sizeof(r->errs[i].type), type, strlen(type));
			r->nerrs++;
		}
	}
	r->errs[i].count++;
}

static void add_to(struct llm_agg_row *r, const struct llm_call *c, const char *err)
{
	r->calls++;
	r->streamed += c->stream;
	r->incomplete += c->unparsed != 0;
	if (err) {
		r->errors++;
		count_error(r, err);
	}
	if (c->input_tokens == LLM_TOKENS_UNSET && c->output_tokens == LLM_TOKENS_UNSET)
		r->calls_without_usage++;
	r->input_tokens += tokens(c->input_tokens);
	r->output_tokens += tokens(c->output_tokens);
	r->cache_read_tokens += tokens(c->cache_read_tokens);
	r->cache_creation_tokens += tokens(c->cache_creation_tokens);
	if (c->http_status)
		hist__add(r->duration, llm_call_duration_ns(c));
	if (c->stream && c->first_chunk_ns)
		hist__add(r->ttfc, llm_call_ttfc_ns(c));
}

int llm_agg__add(struct llm_agg *a, const struct llm_call *c)
{
	const char *model = c->request_model[0] ? c->request_model : c->response_model;
	struct llm_agg_row *r = row_of(a, c->provider, model);
	char ebuf[LLM_TYPE_MAX];
	const char *err = llm_call_error_type(c, ebuf, sizeof(ebuf));

	if (!r)
		return -ENOMEM;
	add_to(r, c, err);
	add_to(&a->total, c, err);
	return 0;
}

static int cmp_rows(const void *x, const void *y)
{
	const struct llm_agg_row *a = *(const struct llm_agg_row *const *)x;
	const struct llm_agg_row *b = *(const struct llm_agg_row *const *)y;

	if (a->calls != b->calls)
		return a->calls > b->calls ? -1 : 1;
	if (a->provider != b->provider)
		return a->provider < b->provider ? -1 : 1;
	return strcmp(a->model, b->model);
}

size_t llm_agg__rows(struct llm_agg *a, const struct llm_agg_row ***out)
{
	/* No call seen: rows is NULL, which qsort may not be given even for 0 rows. */
	if (a->nrows)
		qsort(a->rows, a->nrows, sizeof(*a->rows), cmp_rows);
	*out = (const struct llm_agg_row **)a->rows;
	return a->nrows;
}

const struct llm_agg_row *llm_agg__total(const struct llm_agg *a)
{
	return &a->total;
}

/* ---- the end-of-run table ---- */

static const char *provider_of(const struct llm_agg_row *r)
{
	const char *p = llm_provider_name(r->provider);

	return p ? p : "unknown";
}

static const char *model_of(const struct llm_agg_row *r)
{
	return r->model[0] ? r->model : "-";
}

static const char *pct(const struct hist *h, double p, char *buf, size_t len)
{
	if (!hist__count(h)) {
		snprintf(buf, len, "-");
		return buf;
	}
	return hist_fmt_ns(hist__percentile(h, p), buf, len);
}

static void row(FILE *f, int pw, int mw, const char *prov, const char *model,
		const struct llm_agg_row *r)
{
	char p50[32], p99[32], ttfc[32];

	fprintf(f,
		"%-*s  %-*s  %6" PRIu64 "  %6" PRIu64 "  %10" PRIu64 "  %10" PRIu64 "  %8" PRIu64
		"  %11s  %11s  %11s\n",
		pw, prov, mw, model, r->calls, r->errors, r->input_tokens, r->output_tokens,
		r->cache_read_tokens, pct(r->duration, 50, p50, sizeof(p50)),
		pct(r->duration, 99, p99, sizeof(p99)), pct(r->ttfc, 50, ttfc, sizeof(ttfc)));
}

int llm_agg__write_table(struct llm_agg *a, FILE *f)
{
	const struct llm_agg_row **rows;
	size_t n = llm_agg__rows(a, &rows);
	int pw = (int)strlen("PROVIDER"), mw = (int)strlen("MODEL");

	if (!n) {
		fprintf(f, "no LLM API calls seen\n");
		return stream_flush_error(f);
	}
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(provider_of(rows[i]));

		if (l > pw)
			pw = l;
		l = (int)strlen(model_of(rows[i]));
		if (l > mw)
			mw = l;
	}
	fprintf(f, "%-*s  %-*s  %6s  %6s  %10s  %10s  %8s  %11s  %11s  %11s\n", pw, "PROVIDER", mw,
		"MODEL", "CALLS", "ERRORS", "IN TOKENS", "OUT TOKENS", "CACHED", "P50 DUR",
		"P99 DUR", "P50 TTFC");
	for (size_t i = 0; i < n; i++)
		row(f, pw, mw, provider_of(rows[i]), model_of(rows[i]), rows[i]);
	if (n > 1)
		row(f, pw, mw, "total", "", llm_agg__total(a));
	for (size_t i = 0; i < n; i++) {
		const struct llm_agg_row *r = rows[i];

		if (!r->nerrs)
			continue;
		fprintf(f, "errors of %s %s:", provider_of(r), model_of(r));
		for (unsigned int e = 0; e < r->nerrs; e++)
			fprintf(f, " %s x%" PRIu64, r->errs[e].type, r->errs[e].count);
		fputc('\n', f);
	}
	for (size_t i = 0; i < n; i++) {
		if (rows[i]->incomplete)
			fprintf(f, "%s %s: %" PRIu64 " calls only partly seen (see -v)\n",
				provider_of(rows[i]), model_of(rows[i]), rows[i]->incomplete);
	}
	return stream_flush_error(f);
}
