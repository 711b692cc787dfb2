// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "export/otlp.h"
#include "export/outdir.h"
#include "model/anomaly.h"
#include "model/hist.h"
#include "model/profile.h"
#include "model/spans.h"
#include "probes/probe.h"
#include "session/anomaly_out.h"
#include "session/exporters.h"

#define NS_PER_S 1000000000ull
#define DIFF_NAME "anomaly"
#define LOG_MAX_ATTRS 20

/* An anomalous function of the window ending. */
struct flagged {
	const char *function, *binary; /* the probe's, alive through the window's end */
	struct anomaly_result r;
	double alpha;
};

struct anomaly_out {
	struct anomaly_out_opts o;
	struct flagged *v;
	size_t n, cap;
	bool all_learned; /* every verdict of this window joined its baseline */
	bool relearned;	  /* one baseline restarted */
	/* The baseline's window profiles, a ring of o.baseline_windows. */
	struct profile **base;
	unsigned int nbase, next;
};

struct anomaly_out *anomaly_out__new(const struct anomaly_out_opts *o)
{
	struct anomaly_out *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->o = *o;
	if (!a->o.baseline_windows)
		a->o.baseline_windows = 20;
	a->all_learned = true;
	a->base = calloc(a->o.baseline_windows, sizeof(*a->base));
	if (!a->base) {
		free(a);
		return NULL;
	}
	return a;
}

void anomaly_out__free(struct anomaly_out *a)
{
	if (!a)
		return;
	for (unsigned int i = 0; i < a->nbase; i++)
		profile__free(a->base[i]);
	free(a->base);
	free(a->v);
	free(a);
}

bool anomaly_out__wants_profiles(const struct anomaly_out *a)
{
	return a && a->o.dir;
}

void anomaly_out__verdict(void *ctx, const struct probe_window *w, const struct probe_verdict *v)
{
	struct anomaly_out *a = ctx;

	(void)w;
	if (!v->r->learned)
		a->all_learned = false;
	a->relearned |= v->r->relearned;
	if (!v->r->anomaly)
		return;
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 4;
		struct flagged *grown = realloc(a->v, cap * sizeof(*grown));

		/* Out of memory: the log line and the metric still tell. */
		if (!grown)
			return;
		a->v = grown;
		a->cap = cap;
	}
	a->v[a->n++] = (struct flagged){v->function, v->binary, *v->r, v->alpha};
}

/* ---- the differential flame graph ---------------------------------------- */

/* The baseline's windows in one profile, NULL when it has none (or ENOMEM). */
static struct profile *merged_baseline(const struct anomaly_out *a)
{
	struct profile *m;

	if (!a->nbase)
		return NULL;
	m = profile__new();
	for (unsigned int i = 0; m && i < a->nbase; i++) {
		/* The first window's types, in order: the default type is replaced. */
		if (profile__merge(m, a->base[i])) {
			profile__free(m);
			m = NULL;
		}
	}
	return m;
}

static bool keep_all(void *ctx, const struct profile_stack *st)
{
	(void)ctx;
	(void)st;
	return true;
}

static bool has_samples(const struct profile *p)
{
	for (uint32_t t = 0; t < profile__type_count(p); t++)
		if (profile__type_total(p, t))
			return true;
	return false;
}

/* The window joins the baseline profile (its probed calls merged away). */
static int learn(struct anomaly_out *a, const struct profile *window)
{
	struct profile *copy;

	if (a->relearned) {
		for (unsigned int i = 0; i < a->nbase; i++)
			profile__free(a->base[i]);
		a->nbase = a->next = 0;
	}
	if (!has_samples(window))
		return 0;
	copy = profile__filter(window, keep_all, NULL);
	if (!copy)
		return -ENOMEM;
	if (a->nbase == a->o.baseline_windows)
		profile__free(a->base[a->next]);
	else
		a->nbase++;
	a->base[a->next] = copy;
	a->next = (a->next + 1) % a->o.baseline_windows;
	return 0;
}

/* "work, parse: window 12 from 2025-03-14 09:30:00 UTC (10.0 s) against 20 windows". */
static void diff_subtitle(const struct anomaly_out *a, const struct probe_window *w, char *buf,
			  size_t len)
{
	time_t secs = (time_t)(w->start_unix_ns / NS_PER_S);
	char when[64] = "";
	size_t off = 0;
	struct tm tm;

	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	for (size_t i = 0; i < a->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					a->v[i].function);
	if (off < len)
		snprintf(buf + off, len - off, ": window %u from %s (%.1f s) against the %u before",
			 w->index, when, (w->end_unix_ns - w->start_unix_ns) / 1e9, a->nbase);
}

/* The diff of @window into the directory; its path into @path ("" if none). */
static void write_diff(struct anomaly_out *a, const struct profile *window,
		       const struct probe_window *w, char *path, size_t len)
{
	struct profile *base = merged_baseline(a);
	char sub[512], file[256];

	path[0] = '\0';
	if (!base) {
		log_info("%s: no differential flame graph of window %u: %s", a->o.cmd, w->index,
			 a->nbase ? strerror(ENOMEM) : "no baseline window had samples");
		return;
	}
	diff_subtitle(a, w, sub, sizeof(sub));
	if (!outdir__write_diff(a->o.dir, base, window, DIFF_NAME, w->start_unix_ns, sub, file,
				sizeof(file)) &&
	    file[0]) {
		snprintf(path, len, "%s/%s", outdir__path(a->o.dir), file);
		log_warn("%s: differential flame graph of the anomaly in window %u: %s", a->o.cmd,
			 w->index, path);
	} else if (!file[0]) {
		log_info("%s: no differential flame graph of window %u: it has no samples",
			 a->o.cmd, w->index);
	}
	profile__free(base);
}

/* ---- the log records ------------------------------------------------------ */

static void attr_str(struct span_attr *at, size_t *n, const char *key, const char *v)
{
	at[(*n)++] = (struct span_attr){.key = key, .type = SPAN_ATTR_STRING, .str = v};
}

static void attr_int(struct span_attr *at, size_t *n, const char *key, int64_t v)
{
	at[(*n)++] = (struct span_attr){.key = key, .type = SPAN_ATTR_INT, .i = v};
}

static void attr_double(struct span_attr *at, size_t *n, const char *key, double v)
{
	at[(*n)++] = (struct span_attr){.key = key, .type = SPAN_ATTR_DOUBLE, .d = v};
}

static void push_log(struct anomaly_out *a, const struct flagged *f, const struct probe_window *w,
		     const char *diff)
{
	const struct anomaly_result *r = &f->r;
	struct span_attr at[LOG_MAX_ATTRS];
	char body[512], b50[32], b99[32], n50[32], n99[32];
	size_t n = 0;

	snprintf(body, sizeof(body),
		 "latency anomaly in %s: p50 %s -> %s, p99 %s -> %s over %llu calls in window %u "
		 "(%s t %.1f, p %.2g < %g)%s",
		 f->function, hist_fmt_ns(r->base_p50, b50, sizeof(b50)),
		 hist_fmt_ns(r->p50, n50, sizeof(n50)), hist_fmt_ns(r->base_p99, b99, sizeof(b99)),
		 hist_fmt_ns(r->p99, n99, sizeof(n99)), (unsigned long long)r->calls, w->index,
		 r->which ? r->which : "-", r->statistic, r->p_value, f->alpha,
		 r->relearned ? "; it lasted: the new baseline" : "");
	attr_str(at, &n, "code.function.name", f->function);
	attr_str(at, &n, "sonde.binary", f->binary);
	attr_int(at, &n, "sonde.window.index", w->index);
	attr_int(at, &n, "sonde.window.start_unix_nano", (int64_t)w->start_unix_ns);
	attr_int(at, &n, "sonde.window.end_unix_nano", (int64_t)w->end_unix_ns);
	attr_int(at, &n, "sonde.calls", (int64_t)r->calls);
	attr_int(at, &n, "sonde.latency.p50_ns", (int64_t)r->p50);
	attr_int(at, &n, "sonde.latency.p99_ns", (int64_t)r->p99);
	attr_int(at, &n, "sonde.latency.baseline.p50_ns", (int64_t)r->base_p50);
	attr_int(at, &n, "sonde.latency.baseline.p99_ns", (int64_t)r->base_p99);
	attr_str(at, &n, "sonde.anomaly.percentile", r->which ? r->which : "");
	attr_double(at, &n, "sonde.anomaly.statistic", r->statistic);
	attr_int(at, &n, "sonde.anomaly.df", r->df);
	attr_double(at, &n, "sonde.anomaly.p_value", r->p_value);
	attr_double(at, &n, "sonde.anomaly.alpha", f->alpha);
	attr_int(at, &n, "sonde.anomaly.relearned", r->relearned);
	if (diff && *diff)
		attr_str(at, &n, "sonde.anomaly.flamegraph", diff);
	exporters__push_log(a->o.ex, &(struct otlp_log){
					     .time_unix_ns = w->end_unix_ns,
					     .severity = OTLP_SEVERITY_WARN,
					     .severity_text = "WARN",
					     .body = body,
					     .attrs = at,
					     .nattrs = n,
				     });
}

int anomaly_out__window(struct anomaly_out *a, const struct profile *window,
			const struct probe_window *w)
{
	char diff[4096] = "";
	int err = 0;

	if (a->n && window && a->o.dir)
		write_diff(a, window, w, diff, sizeof(diff));
	for (size_t i = 0; i < a->n; i++)
		push_log(a, &a->v[i], w, diff);
	if (window && a->o.dir && a->all_learned)
		err = learn(a, window);
	a->n = 0;
	a->all_learned = true;
	a->relearned = false;
	return err;
}
