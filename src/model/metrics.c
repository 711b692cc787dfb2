// SPDX-License-Identifier: MIT
/*
 * The metrics registry. One mutex guards everything: updates come from the
 * collector loop a few times per tick and snapshots from an exporter thread
 * a few times per minute, so contention is negligible and a reader never
 * sees a half-written histogram.
 *
 * A series is found through a chained hash table keyed by the canonical
 * encoding of name + labels sorted by key; each family also keeps its
 * series in creation order so snapshots (and so rendered text) are stable.
 */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/utf8.h"
#include "model/metrics.h"

#define DEFAULT_MAX_SERIES 10000
#define DROPPED_NAME "sonde_metrics_series_dropped_total"
#define DROPPED_HELP "Series refused because the registry reached its max_series limit."

struct series {
	struct series *hnext; /* hash chain */
	struct family *fam;
	char *key; /* canonical name + labels, see build_key() */
	size_t keylen;
	uint64_t hash;
	struct metric_label labels[METRICS_MAX_LABELS]; /* sorted by key, point into key */
	unsigned int nlabels;
	double value;
	uint64_t *counts; /* histogram: nbounds + 1 */
	uint64_t count;
	double sum;
};

struct family {
	char *name;
	char *help;
	char *unit; /* UCUM, or NULL */
	enum metric_type type;
	double *bounds;
	unsigned int nbounds;
	struct series **series; /* creation order */
	size_t nseries, cap;
};

struct metrics {
	pthread_mutex_t lock;
	unsigned int max_series;
	size_t nseries; /* user series, excludes the dropped counter */
	struct family **fams;
	size_t nfams, fams_cap;
	struct series **buckets;
	size_t nbuckets; /* power of two */
	size_t nhashed;
	struct series *dropped; /* sonde_metrics_series_dropped_total */
	uint64_t start_unix_ns;
};

static uint64_t now_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Prometheus' data model: [a-zA-Z_:][a-zA-Z0-9_:]* for names, and the
 * dots of OpenTelemetry's semantic conventions inside a name
 * ("gen_ai.client.token.usage", "gen_ai.token.type"): exporters that
 * cannot carry them (Prometheus) turn them into '_'.
 */
static int valid_name(const char *s, int allow_colon)
{
	if (!s || !*s)
		return 0;
	for (const char *p = s; *p; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			 (allow_colon && c == ':') ||
			 (p != s && ((c >= '0' && c <= '9') || (c == '.' && p[1] && p[-1] != '.')));

		if (!ok)
			return 0;
	}
	return 1;
}

static struct family *find_family(struct metrics *m, const char *name)
{
	for (size_t i = 0; i < m->nfams; i++)
		if (!strcmp(m->fams[i]->name, name))
			return m->fams[i];
	return NULL;
}

static void series_free(struct series *s)
{
	if (!s)
		return;
	free(s->counts);
	free(s->key);
	free(s);
}

static void family_free(struct family *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nseries; i++)
		series_free(f->series[i]);
	free(f->series);
	free(f->bounds);
	free(f->help);
	free(f->unit);
	free(f->name);
	free(f);
}

static int cmp_label(const void *a, const void *b)
{
	const struct metric_label *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/*
 * Validate @labels and sort a copy by key into @sorted. Label names follow
 * Prometheus (no "__" prefix, no "le" on histograms, where it is the bucket
 * label); values are any non-NULL string.
 */
static int sort_labels(const struct family *f, const struct metric_label *labels, unsigned int n,
		       struct metric_label *sorted)
{
	if (n > METRICS_MAX_LABELS || (n && !labels))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (!valid_name(labels[i].key, 0) || !labels[i].value ||
		    !strncmp(labels[i].key, "__", 2))
			return -EINVAL;
		if (f->type == METRIC_HISTOGRAM && !strcmp(labels[i].key, "le"))
			return -EINVAL;
		sorted[i] = labels[i];
	}
	qsort(sorted, n, sizeof(*sorted), cmp_label);
	for (unsigned int i = 1; i < n; i++)
		if (!strcmp(sorted[i - 1].key, sorted[i].key))
			return -EINVAL;
	return 0;
}

/*
 * The canonical key: "name\0k1\0v1\0k2\0v2\0" with labels sorted by key.
 * NUL separators keep it unambiguous whatever the values contain
 * (a label value cannot contain NUL: it is a C string). Values are made
 * UTF-8 ('?' for each byte that is not: a target's comm need not be),
 * as every exposition format wants them; lookups scrub alike.
 */
static char *build_key(const char *name, const struct metric_label *sorted, unsigned int n,
		       size_t *len)
{
	size_t total = strlen(name) + 1, off;
	char *key;

	for (unsigned int i = 0; i < n; i++)
		total += strlen(sorted[i].key) + 1 + strlen(sorted[i].value) + 1;
	key = malloc(total);
	if (!key)
		return NULL;
	off = 0;
	memcpy(key, name, strlen(name) + 1);
	off += strlen(name) + 1;
	for (unsigned int i = 0; i < n; i++) {
		size_t kl = strlen(sorted[i].key) + 1, vl = strlen(sorted[i].value) + 1;

		memcpy(key + off, sorted[i].key, kl);
		off += kl;
		memcpy(key + off, sorted[i].value, vl);
		utf8_scrub(key + off, vl - 1);
		off += vl;
	}
	*len = total;
	return key;
}

static int hash_grow(struct metrics *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
	struct series **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct series *s = m->buckets[i], *next;

		for (; s; s = next) {
			next = s->hnext;
			s->hnext = b[s->hash & (nb - 1)];
			b[s->hash & (nb - 1)] = s;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
	return 0;
}

static struct series *hash_find(struct metrics *m, const char *key, size_t len, uint64_t h)
{
	if (!m->nbuckets)
		return NULL;
	for (struct series *s = m->buckets[h & (m->nbuckets - 1)]; s; s = s->hnext)
		if (s->hash == h && s->keylen == len && !memcmp(s->key, key, len))
			return s;
	return NULL;
}

/* Create a series of @f; the caller checked the cap. Takes @key. */
static int series_add(struct metrics *m, struct family *f, char *key, size_t len, uint64_t h,
		      unsigned int nlabels, struct series **out)
{
	struct series *s;
	const char *p;
	int err = -ENOMEM;

	if (m->nhashed + 1 > m->nbuckets * 3 / 4 && hash_grow(m))
		goto err_key;
	if (f->nseries == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 8;
		struct series **ns = realloc(f->series, nc * sizeof(*ns));

		if (!ns)
			goto err_key;
		f->series = ns;
		f->cap = nc;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto err_key;
	if (f->type == METRIC_HISTOGRAM) {
		s->counts = calloc(f->nbounds + 1, sizeof(*s->counts));
		if (!s->counts)
			goto err_series;
	}
	s->fam = f;
	s->key = key;
	s->keylen = len;
	s->hash = h;
	s->nlabels = nlabels;
	/* Labels point into the key: one allocation holds every string. */
	p = key + strlen(key) + 1;
	for (unsigned int i = 0; i < nlabels; i++) {
		s->labels[i].key = p;
		p += strlen(p) + 1;
		s->labels[i].value = p;
		p += strlen(p) + 1;
	}
	s->hnext = m->buckets[h & (m->nbuckets - 1)];
	m->buckets[h & (m->nbuckets - 1)] = s;
	m->nhashed++;
	f->series[f->nseries++] = s;
	*out = s;
	return 0;

err_series:
	free(s);
err_key:
	free(key);
	return err;
}

/*
 * Find or create the series of family @name with @labels; the lock is held.
 * -ENOENT undeclared, -EINVAL wrong type or bad labels, -E2BIG over the cap.
 */
static int lookup(struct metrics *m, const char *name, enum metric_type type,
		  const struct metric_label *labels, unsigned int nlabels, struct series **out)
{
	struct metric_label sorted[METRICS_MAX_LABELS];
	struct family *f;
	struct series *s;
	size_t len;
	uint64_t h;
	char *key;
	int err;

	if (!name)
		return -EINVAL;
	f = find_family(m, name);
	if (!f)
		return -ENOENT;
	if (f->type != type)
		return -EINVAL;
	err = sort_labels(f, labels, nlabels, sorted);
	if (err)
		return err;
	key = build_key(name, sorted, nlabels, &len);
	if (!key)
		return -ENOMEM;
	h = fnv1a(key, len);
	s = hash_find(m, key, len, h);
	if (s) {
		free(key);
		*out = s;
		return 0;
	}
	if (m->nseries >= m->max_series) {
		free(key);
		m->dropped->value += 1;
		return -E2BIG;
	}
	err = series_add(m, f, key, len, h, nlabels, out);
	if (!err)
		m->nseries++;
	return err;
}

static int declare_locked(struct metrics *m, const char *name, enum metric_type type,
			  const char *help, const double *bounds, unsigned int nbounds)
{
	struct family *f;
	int err = -ENOMEM;

	f = find_family(m, name);
	if (f) {
		/* Idempotent: modules may declare what they publish each time. */
		if (f->type != type || strcmp(f->help, help) || f->nbounds != nbounds ||
		    (nbounds && memcmp(f->bounds, bounds, nbounds * sizeof(*bounds))))
			return -EEXIST;
		return 0;
	}
	if (m->nfams == m->fams_cap) {
		size_t nc = m->fams_cap ? m->fams_cap * 2 : 16;
		struct family **nf = realloc(m->fams, nc * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		m->fams = nf;
		m->fams_cap = nc;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->name = strdup(name);
	f->help = strdup(help);
	if (!f->name || !f->help)
		goto err_family;
	f->type = type;
	if (nbounds) {
		f->bounds = malloc(nbounds * sizeof(*bounds));
		if (!f->bounds)
			goto err_family;
		memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
	}
	f->nbounds = nbounds;
	m->fams[m->nfams++] = f;
	return 0;

err_family:
	family_free(f);
	return err;
}

int metrics__declare(struct metrics *m, const char *name, enum metric_type type, const char *help,
		     const double *bounds, unsigned int nbounds)
{
	int err;

	if (!m || !valid_name(name, 1) || !help)
		return -EINVAL;
	if (type != METRIC_COUNTER && type != METRIC_GAUGE && type != METRIC_HISTOGRAM)
		return -EINVAL;
	if (type != METRIC_HISTOGRAM && nbounds)
		return -EINVAL;
	if (nbounds && !bounds)
		return -EINVAL;
	for (unsigned int i = 0; i < nbounds; i++) {
		/* +Inf is implied; NaN or unsorted bounds make no histogram. */
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			return -EINVAL;
	}
	pthread_mutex_lock(&m->lock);
	err = declare_locked(m, name, type, help, bounds, nbounds);
	pthread_mutex_unlock(&m->lock);
	return err;
}

struct metrics *metrics__new(unsigned int max_series)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct series *s;
	size_t len;
	char *key;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->max_series = max_series ? max_series : DEFAULT_MAX_SERIES;
	m->start_unix_ns = now_unix_ns();
	/* The drop counter exists from the start so a scrape shows 0, not nothing. */
	if (declare_locked(m, DROPPED_NAME, METRIC_COUNTER, DROPPED_HELP, NULL, 0))
		goto err_metrics;
	key = build_key(DROPPED_NAME, NULL, 0, &len);
	if (!key)
		goto err_metrics;
	if (series_add(m, m->fams[0], key, len, fnv1a(key, len), 0, &s))
		goto err_metrics;
	m->dropped = s;
	return m;

err_metrics:
	metrics__free(m);
	return NULL;
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfams; i++)
		family_free(m->fams[i]);
	free(m->fams);
	free(m->buckets);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int update(struct metrics *m, const char *name, enum metric_type type,
		  const struct metric_label *labels, unsigned int nlabels, double v, int op)
{
	struct series *s;
	int err;

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	err = lookup(m, name, type, labels, nlabels, &s);
	if (err)
		goto out_unlock;
	switch (op) {
	case 'a':
		s->value += v;
		break;
	case 'o': {
		unsigned int b = 0;

		/* Prometheus buckets are "less than or equal": v == bound stays in it. */
		while (b < s->fam->nbounds && !(v <= s->fam->bounds[b]))
			b++;
		s->counts[b]++;
		s->count++;
		s->sum += v;
		break;
	}
	default:
		s->value = v;
		break;
	}
out_unlock:
	pthread_mutex_unlock(&m->lock);
	return err;
}

int metrics__counter_add(struct metrics *m, const char *name, const struct metric_label *labels,
			 unsigned int nlabels, double v)
{
	/* A counter only goes up; NaN would poison it for good. */
	if (!(v >= 0) || isinf(v))
		return -EINVAL;
	return update(m, name, METRIC_COUNTER, labels, nlabels, v, 'a');
}

int metrics__counter_set(struct metrics *m, const char *name, const struct metric_label *labels,
			 unsigned int nlabels, double v)
{
	if (!(v >= 0) || isinf(v))
		return -EINVAL;
	return update(m, name, METRIC_COUNTER, labels, nlabels, v, 's');
}

int metrics__gauge_set(struct metrics *m, const char *name, const struct metric_label *labels,
		       unsigned int nlabels, double v)
{
	return update(m, name, METRIC_GAUGE, labels, nlabels, v, 's');
}

int metrics__histogram_observe(struct metrics *m, const char *name,
			       const struct metric_label *labels, unsigned int nlabels, double v)
{
	if (isnan(v))
		return -EINVAL;
	return update(m, name, METRIC_HISTOGRAM, labels, nlabels, v, 'o');
}

/* Replace (@add false) or add to a histogram series' totals. */
static int histogram_totals(struct metrics *m, const char *name, const struct metric_label *labels,
			    unsigned int nlabels, const uint64_t *counts, uint64_t count,
			    double sum, bool add)
{
	struct series *s;
	uint64_t total = 0;
	int err;

	if (!m || !counts || isnan(sum))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	err = lookup(m, name, METRIC_HISTOGRAM, labels, nlabels, &s);
	if (err)
		goto out_unlock;
	for (unsigned int i = 0; i <= s->fam->nbounds; i++)
		total += counts[i];
	/* _count must equal the +Inf bucket or consumers compute nonsense. */
	if (total != count) {
		err = -EINVAL;
		goto out_unlock;
	}
	for (unsigned int i = 0; i <= s->fam->nbounds; i++)
		s->counts[i] = (add ? s->counts[i] : 0) + counts[i];
	s->count = (add ? s->count : 0) + count;
	s->sum = (add ? s->sum : 0) + sum;
out_unlock:
	pthread_mutex_unlock(&m->lock);
	return err;
}

int metrics__histogram_set(struct metrics *m, const char *name, const struct metric_label *labels,
			   unsigned int nlabels, const uint64_t *counts, uint64_t count, double sum)
{
	return histogram_totals(m, name, labels, nlabels, counts, count, sum, false);
}

int metrics__histogram_add(struct metrics *m, const char *name, const struct metric_label *labels,
			   unsigned int nlabels, const uint64_t *counts, uint64_t count, double sum)
{
	return histogram_totals(m, name, labels, nlabels, counts, count, sum, true);
}

int metrics__set_unit(struct metrics *m, const char *name, const char *unit)
{
	struct family *f;
	char *copy;
	int err = 0;

	if (!m || !name || !unit)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	f = find_family(m, name);
	if (!f) {
		err = -ENOENT;
	} else if (!f->unit || strcmp(f->unit, unit)) {
		copy = strdup(unit);
		if (copy) {
			free(f->unit);
			f->unit = copy;
		} else {
			err = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

int metrics__remove(struct metrics *m, const char *name, const struct metric_label *labels,
		    unsigned int nlabels)
{
	struct metric_label sorted[METRICS_MAX_LABELS];
	struct series *s, **pp;
	struct family *f;
	size_t len;
	uint64_t h;
	char *key;
	int err;

	if (!m || !name)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	f = find_family(m, name);
	err = -ENOENT;
	if (!f)
		goto out_unlock;
	err = sort_labels(f, labels, nlabels, sorted);
	if (err)
		goto out_unlock;
	err = -ENOMEM;
	key = build_key(name, sorted, nlabels, &len);
	if (!key)
		goto out_unlock;
	h = fnv1a(key, len);
	s = hash_find(m, key, len, h);
	free(key);
	err = -ENOENT;
	/* The drop counter is the registry's own and stays. */
	if (!s || s == m->dropped)
		goto out_unlock;
	for (pp = &m->buckets[h & (m->nbuckets - 1)]; *pp != s; pp = &(*pp)->hnext)
		;
	*pp = s->hnext;
	m->nhashed--;
	for (size_t i = 0; i < f->nseries; i++) {
		if (f->series[i] == s) {
			memmove(&f->series[i], &f->series[i + 1],
				(f->nseries - i - 1) * sizeof(*f->series));
			f->nseries--;
			break;
		}
	}
	series_free(s);
	m->nseries--;
	err = 0;
out_unlock:
	pthread_mutex_unlock(&m->lock);
	return err;
}

uint64_t metrics__series_dropped(struct metrics *m)
{
	uint64_t v;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	v = (uint64_t)m->dropped->value;
	pthread_mutex_unlock(&m->lock);
	return v;
}

/* Bump allocator over the snapshot's single allocation. */
struct arena {
	char *base;
	size_t off, size;
};

static void *arena_take(struct arena *a, size_t n, size_t align)
{
	void *p;

	a->off = (a->off + align - 1) & ~(align - 1);
	p = a->base + a->off;
	a->off += n;
	return p;
}

static const char *arena_str(struct arena *a, const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(arena_take(a, n, 1), s, n);
}

/*
 * Everything a snapshot holds, in one allocation so an exporter frees it
 * with one call and the copy under the lock is a single pass of memcpy.
 */
static size_t snapshot_size(const struct metrics *m)
{
	size_t n = sizeof(struct metrics_snapshot) + 8 + m->nfams * sizeof(struct metric_family);

	for (size_t i = 0; i < m->nfams; i++) {
		const struct family *f = m->fams[i];

		n += strlen(f->name) + 1 + strlen(f->help) + 1 + 16;
		n += f->unit ? strlen(f->unit) + 1 : 0;
		n += f->nbounds * sizeof(double) + 8;
		n += f->nseries * sizeof(struct metric_series) + 8;
		for (size_t j = 0; j < f->nseries; j++) {
			n += f->series[j]->keylen;
			if (f->type == METRIC_HISTOGRAM)
				n += (f->nbounds + 1) * sizeof(uint64_t) + 8;
		}
	}
	return n;
}

int metrics__snapshot(struct metrics *m, struct metrics_snapshot **out)
{
	struct metrics_snapshot *snap;
	struct metric_family *fams;
	struct arena a;
	int err = 0;

	if (!m || !out)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	a.size = snapshot_size(m);
	a.off = 0;
	a.base = malloc(a.size);
	if (!a.base) {
		err = -ENOMEM;
		goto out_unlock;
	}
	snap = arena_take(&a, sizeof(*snap), 8);
	fams = arena_take(&a, m->nfams * sizeof(*fams), 8);
	for (size_t i = 0; i < m->nfams; i++) {
		const struct family *f = m->fams[i];
		struct metric_family *mf = &fams[i];
		struct metric_series *ms;
		double *bounds;

		mf->name = arena_str(&a, f->name);
		mf->help = arena_str(&a, f->help);
		mf->unit = f->unit ? arena_str(&a, f->unit) : NULL;
		mf->type = f->type;
		bounds = arena_take(&a, f->nbounds * sizeof(double), 8);
		memcpy(bounds, f->bounds ? f->bounds : bounds, f->nbounds * sizeof(double));
		mf->bounds = bounds;
		mf->nbounds = f->nbounds;
		ms = arena_take(&a, f->nseries * sizeof(*ms), 8);
		for (size_t j = 0; j < f->nseries; j++) {
			const struct series *s = f->series[j];

			memset(&ms[j], 0, sizeof(ms[j]));
			ms[j].nlabels = s->nlabels;
			for (unsigned int k = 0; k < s->nlabels; k++) {
				ms[j].labels[k].key = arena_str(&a, s->labels[k].key);
				ms[j].labels[k].value = arena_str(&a, s->labels[k].value);
			}
			ms[j].value = s->value;
			if (s->counts) {
				uint64_t *c = arena_take(&a, (f->nbounds + 1) * sizeof(*c), 8);

				memcpy(c, s->counts, (f->nbounds + 1) * sizeof(*c));
				ms[j].counts = c;
			}
			ms[j].count = s->count;
			ms[j].sum = s->sum;
		}
		mf->series = ms;
		mf->nseries = f->nseries;
	}
	snap->families = fams;
	snap->nfamilies = m->nfams;
	snap->start_unix_ns = m->start_unix_ns;
	snap->time_unix_ns = now_unix_ns();
	*out = snap;
out_unlock:
	pthread_mutex_unlock(&m->lock);
	return err;
}

void metrics_snapshot__free(struct metrics_snapshot *s)
{
	/* The snapshot header is the start of its one allocation. */
	free(s);
}

const char *metrics_fmt_double(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return buf;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return buf;
	}
	/* The shortest of %.15g..%.17g that reads back as the same double. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}
