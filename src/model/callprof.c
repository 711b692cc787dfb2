// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/callprof.h"

#define NONE UINT32_MAX
#define COMM_LEN 16

/* A sample held until its call is decided. */
struct held {
	struct held *next;
	uint64_t span_id, trace_id_hi, trace_id_lo;
	uint32_t pid, tid, func_id, n, nvals;
	uint32_t types[CALLPROF_MAX_VALUES];
	uint64_t values[CALLPROF_MAX_VALUES];
	char comm[COMM_LEN + 1];
	uint32_t locs[];
};

/* Held samples, in arrival order. */
struct held_list {
	struct held *head, *tail;
	uint64_t n;
};

/* A call that got samples and whose end is awaited; span_id 0: a free entry. */
struct call {
	uint64_t span_id;
	struct callprof_totals t;
	struct held_list held;
	uint32_t prev, next; /* least recently sampled first */
};

/* One of the N longest calls (--slowest). */
struct top {
	uint64_t duration_ns, span_id, parent_span_id;
	struct held_list held;
};

struct callprof {
	struct callprof_opts o;
	struct profile *prof;
	const char **names;
	size_t nnames;

	/* Open calls: a pool (indices stable) and an open-addressing index of it. */
	struct call *calls;
	uint32_t ncalls, cap_calls, free_head, nopen;
	uint32_t lru_head, lru_tail;
	uint32_t *slots; /* pool index or NONE; power-of-two size */
	uint32_t nslots;

	struct top *tops; /* min-heap by duration, o.slowest of them */
	unsigned int ntops;

	uint64_t held;
	struct callprof_stats st;
};

struct callprof *callprof__new(const struct callprof_opts *o, struct profile *prof)
{
	struct callprof *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->o = *o;
	if (!c->o.max_open)
		c->o.max_open = 1;
	c->prof = prof;
	c->free_head = NONE;
	c->lru_head = c->lru_tail = NONE;
	if (o->slowest) {
		c->tops = calloc(o->slowest, sizeof(*c->tops));
		if (!c->tops) {
			free(c);
			return NULL;
		}
	}
	return c;
}

static void held_free(struct callprof *c, struct held_list *l)
{
	struct held *h, *next;

	for (h = l->head; h; h = next) {
		next = h->next;
		free(h);
	}
	c->held -= l->n;
	memset(l, 0, sizeof(*l));
}

void callprof__free(struct callprof *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->ncalls; i++)
		held_free(c, &c->calls[i].held);
	for (unsigned int i = 0; i < c->ntops; i++)
		held_free(c, &c->tops[i].held);
	free(c->calls);
	free(c->slots);
	free(c->tops);
	free(c->names);
	free(c);
}

bool callprof__filtering(const struct callprof *c)
{
	return c->o.slower_than_ns || c->o.slowest;
}

int callprof__set_function(struct callprof *c, uint32_t id, const char *name)
{
	if (id >= c->nnames) {
		size_t n = id + 1;
		const char **grown = realloc(c->names, n * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		memset(grown + c->nnames, 0, (n - c->nnames) * sizeof(*grown));
		c->names = grown;
		c->nnames = n;
	}
	c->names[id] = name;
	return 0;
}

/* ---- the index of open calls ------------------------------------------ */

static uint32_t slot_of(uint64_t span_id, uint32_t nslots)
{
	span_id ^= span_id >> 33;
	span_id *= 0xff51afd7ed558ccdull;
	span_id ^= span_id >> 33;
	return (uint32_t)span_id & (nslots - 1);
}

/* The slot holding @span_id, or the empty one where it would go. */
static uint32_t find_slot(const struct callprof *c, uint64_t span_id)
{
	uint32_t j = slot_of(span_id, c->nslots);

	while (c->slots[j] != NONE && c->calls[c->slots[j]].span_id != span_id)
		j = (j + 1) & (c->nslots - 1);
	return j;
}

static int grow_slots(struct callprof *c)
{
	uint32_t n = c->nslots ? c->nslots * 2 : 1024, *old = c->slots, oldn = c->nslots;

	c->slots = malloc(n * sizeof(*c->slots));
	if (!c->slots) {
		c->slots = old;
		return -ENOMEM;
	}
	memset(c->slots, 0xff, n * sizeof(*c->slots));
	c->nslots = n;
	for (uint32_t i = 0; i < oldn; i++)
		if (old[i] != NONE)
			c->slots[find_slot(c, c->calls[old[i]].span_id)] = old[i];
	free(old);
	return 0;
}

/* Linear probing: later entries of the cluster move back into the hole. */
static void unslot(struct callprof *c, uint32_t j)
{
	uint32_t mask = c->nslots - 1, k = j;

	c->slots[j] = NONE;
	for (;;) {
		uint32_t home;

		k = (k + 1) & mask;
		if (c->slots[k] == NONE)
			return;
		home = slot_of(c->calls[c->slots[k]].span_id, c->nslots);
		/* Stays unless its home is cyclically outside (j, k]. */
		if (j < k ? (home > j && home <= k) : (home > j || home <= k))
			continue;
		c->slots[j] = c->slots[k];
		c->slots[k] = NONE;
		j = k;
	}
}

static void lru_unlink(struct callprof *c, uint32_t i)
{
	struct call *e = &c->calls[i];

	if (e->prev != NONE)
		c->calls[e->prev].next = e->next;
	else
		c->lru_head = e->next;
	if (e->next != NONE)
		c->calls[e->next].prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->prev = e->next = NONE;
}

static void lru_push(struct callprof *c, uint32_t i)
{
	struct call *e = &c->calls[i];

	e->prev = c->lru_tail;
	e->next = NONE;
	if (c->lru_tail != NONE)
		c->calls[c->lru_tail].next = i;
	else
		c->lru_head = i;
	c->lru_tail = i;
}

/* Call @i leaves the index; its held samples are the caller's to move or free first. */
static void call_remove(struct callprof *c, uint32_t i)
{
	struct call *e = &c->calls[i];

	unslot(c, find_slot(c, e->span_id));
	lru_unlink(c, i);
	memset(e, 0, sizeof(*e));
	e->next = c->free_head;
	c->free_head = i;
	c->nopen--;
}

/* Forget an open call whose end never came. */
static void call_forget(struct callprof *c, uint32_t i)
{
	c->st.unended += c->calls[i].held.n ? c->calls[i].held.n : c->calls[i].t.samples;
	c->st.forgotten++;
	held_free(c, &c->calls[i].held);
	call_remove(c, i);
}

/* The open call @span_id, added if new (forgetting the stalest when full); NONE on ENOMEM. */
static uint32_t call_get(struct callprof *c, uint64_t span_id)
{
	uint32_t j, i;

	if (c->nslots) {
		j = find_slot(c, span_id);
		if (c->slots[j] != NONE) {
			i = c->slots[j];
			lru_unlink(c, i);
			lru_push(c, i);
			return i;
		}
	}
	if (c->nopen >= c->o.max_open && c->lru_head != NONE)
		call_forget(c, c->lru_head);
	if ((c->nopen + 1) * 2 > c->nslots && grow_slots(c))
		return NONE;
	if (c->free_head != NONE) {
		i = c->free_head;
		c->free_head = c->calls[i].next;
	} else {
		if (c->ncalls == c->cap_calls) {
			uint32_t n = c->cap_calls ? c->cap_calls * 2 : 256;
			struct call *grown = realloc(c->calls, n * sizeof(*grown));

			if (!grown)
				return NONE;
			c->calls = grown;
			c->cap_calls = n;
		}
		i = c->ncalls++;
	}
	memset(&c->calls[i], 0, sizeof(c->calls[i]));
	c->calls[i].span_id = span_id;
	c->slots[find_slot(c, span_id)] = i;
	c->nopen++;
	lru_push(c, i);
	return i;
}

static uint32_t call_find(const struct callprof *c, uint64_t span_id)
{
	return c->nslots ? c->slots[find_slot(c, span_id)] : NONE;
}

/* ---- samples -------------------------------------------------------------- */

static const char *function_name(const struct callprof *c, uint64_t span_id, uint32_t func_id)
{
	return span_id && func_id < c->nnames ? c->names[func_id] : NULL;
}

/* One sample into the profile; its stack index into *@stack. 0 or -errno. */
static int commit(struct callprof *c, const struct profile_key *k, const uint32_t *locs,
		  uint32_t n, uint32_t nvals, const uint32_t *types, const uint64_t *values,
		  int *stack)
{
	int id = -1, err;

	for (uint32_t v = 0; v < nvals; v++) {
		if (id < 0) {
			id = profile__add_keyed(c->prof, types[v], k, locs, n, values[v]);
			if (id < 0)
				return id;
		} else {
			err = profile__stack_add(c->prof, id, types[v], values[v]);
			if (err)
				return err;
		}
	}
	if (stack)
		*stack = id;
	return 0;
}

static int commit_list(struct callprof *c, struct held_list *l)
{
	int err = 0;

	for (struct held *h = l->head; h && !err; h = h->next) {
		struct profile_key k = {
			.pid = h->pid,
			.tid = h->tid,
			.comm = h->comm,
			.span_id = h->span_id,
			.trace_id_hi = h->trace_id_hi,
			.trace_id_lo = h->trace_id_lo,
			.function = function_name(c, h->span_id, h->func_id),
		};

		err = commit(c, &k, h->locs, h->n, h->nvals, h->types, h->values, NULL);
	}
	if (!err)
		c->st.kept += l->n;
	held_free(c, l);
	return err;
}

static void list_append(struct held_list *to, struct held_list *from)
{
	if (!from->head)
		return;
	if (to->tail)
		to->tail->next = from->head;
	else
		to->head = from->head;
	to->tail = from->tail;
	to->n += from->n;
	memset(from, 0, sizeof(*from));
}

static int hold(struct callprof *c, struct call *e, const struct callprof_sample *s)
{
	struct held *h;

	if (c->held >= c->o.max_held) {
		c->st.held_full++;
		return 0;
	}
	h = malloc(sizeof(*h) + s->n * sizeof(*h->locs));
	if (!h)
		return -ENOMEM;
	memset(h, 0, sizeof(*h));
	h->span_id = s->span_id;
	h->trace_id_hi = s->trace_id_hi;
	h->trace_id_lo = s->trace_id_lo;
	h->pid = s->pid;
	h->tid = s->tid;
	h->func_id = s->func_id;
	h->n = s->n;
	h->nvals = s->nvals;
	memcpy(h->types, s->types, sizeof(h->types));
	memcpy(h->values, s->values, sizeof(h->values));
	if (s->comm)
		strncpy(h->comm, s->comm, COMM_LEN);
	memcpy(h->locs, s->locs, s->n * sizeof(*h->locs));
	if (e->held.tail)
		e->held.tail->next = h;
	else
		e->held.head = h;
	e->held.tail = h;
	e->held.n++;
	if (++c->held > c->st.held_peak)
		c->st.held_peak = c->held;
	return 0;
}

int callprof__add(struct callprof *c, const struct callprof_sample *s, int *stack)
{
	struct profile_key k = {
		.pid = s->pid,
		.tid = s->tid,
		.comm = s->comm,
		.span_id = s->span_id,
		.trace_id_hi = s->trace_id_hi,
		.trace_id_lo = s->trace_id_lo,
		.function = function_name(c, s->span_id, s->func_id),
	};
	struct call *e = NULL;
	uint32_t i;

	*stack = -1;
	if (s->nvals > CALLPROF_MAX_VALUES)
		return -EINVAL;
	if (!s->span_id) {
		if (callprof__filtering(c)) {
			c->st.outside++;
			return 0;
		}
		return commit(c, &k, s->locs, s->n, s->nvals, s->types, s->values, stack);
	}
	c->st.tagged++;
	if (c->o.ends || callprof__filtering(c)) {
		i = call_get(c, s->span_id);
		if (i == NONE)
			return -ENOMEM;
		e = &c->calls[i];
		e->t.samples++;
		for (uint32_t v = 0; v < s->nvals; v++)
			if (s->types[v] < PROFILE_MAX_TYPES)
				e->t.values[s->types[v]] += s->values[v];
	}
	if (callprof__filtering(c))
		return hold(c, e, s);
	return commit(c, &k, s->locs, s->n, s->nvals, s->types, s->values, stack);
}

/* ---- decisions ------------------------------------------------------------ */

static void top_swap(struct callprof *c, unsigned int a, unsigned int b)
{
	struct top t = c->tops[a];

	c->tops[a] = c->tops[b];
	c->tops[b] = t;
}

static void top_down(struct callprof *c, unsigned int i)
{
	for (;;) {
		unsigned int l = 2 * i + 1, r = l + 1, m = i;

		if (l < c->ntops && c->tops[l].duration_ns < c->tops[m].duration_ns)
			m = l;
		if (r < c->ntops && c->tops[r].duration_ns < c->tops[m].duration_ns)
			m = r;
		if (m == i)
			return;
		top_swap(c, i, m);
		i = m;
	}
}

static void top_up(struct callprof *c, unsigned int i)
{
	while (i && c->tops[(i - 1) / 2].duration_ns > c->tops[i].duration_ns) {
		top_swap(c, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/*
 * Samples of a call not kept go to its caller: the caller's open call
 * (with @open, added if it had no sample of its own: a call ends before
 * its caller), or one of the N longest; with neither (a root call, or a
 * caller decided already) they are dropped.
 */
static int hand_to_caller(struct callprof *c, uint64_t parent, struct held_list *l, bool open)
{
	uint32_t i;

	if (!l->n)
		return 0;
	for (unsigned int t = 0; parent && t < c->ntops; t++) {
		if (c->tops[t].span_id == parent) {
			list_append(&c->tops[t].held, l);
			return 0;
		}
	}
	i = !parent ? NONE : open ? call_get(c, parent) : call_find(c, parent);
	if (i != NONE) {
		list_append(&c->calls[i].held, l);
		return 0;
	}
	if (parent && open)
		return -ENOMEM;
	c->st.fast += l->n;
	held_free(c, l);
	return 0;
}

/* One of the N longest, if it is: *@kept says. */
static int top_offer(struct callprof *c, const struct callprof_end *e, struct held_list *l,
		     bool *kept)
{
	struct top out;

	*kept = false;
	if (c->ntops < c->o.slowest) {
		c->tops[c->ntops] = (struct top){e->duration_ns, e->span_id, e->parent_span_id};
		list_append(&c->tops[c->ntops].held, l);
		top_up(c, c->ntops++);
		*kept = true;
		return 0;
	}
	if (e->duration_ns <= c->tops[0].duration_ns)
		return 0;
	out = c->tops[0];
	c->tops[0] = (struct top){e->duration_ns, e->span_id, e->parent_span_id};
	list_append(&c->tops[0].held, l);
	top_down(c, 0);
	*kept = true;
	c->st.kept_calls--;
	/* Evicted long after it ended: its caller may be decided already. */
	return hand_to_caller(c, out.parent_span_id, &out.held, false);
}

int callprof__end(struct callprof *c, const struct callprof_end *e, struct callprof_totals *out)
{
	struct held_list l = {0};
	uint32_t i = call_find(c, e->span_id);
	bool kept;
	int err;

	memset(out, 0, sizeof(*out));
	if (i != NONE) {
		*out = c->calls[i].t;
		l = c->calls[i].held;
		memset(&c->calls[i].held, 0, sizeof(c->calls[i].held));
		call_remove(c, i);
	}
	if (!callprof__filtering(c))
		return 0;
	kept = e->duration_ns >= c->o.slower_than_ns;
	if (kept)
		c->st.kept_calls++;
	if (kept && c->o.slowest) {
		err = top_offer(c, e, &l, &kept);
		if (err || kept)
			return err;
		c->st.kept_calls--;
	} else if (kept) {
		return commit_list(c, &l);
	}
	return hand_to_caller(c, e->parent_span_id, &l, true);
}

int callprof__finish(struct callprof *c)
{
	int err = 0;

	while (c->lru_head != NONE)
		call_forget(c, c->lru_head);
	for (unsigned int t = 0; t < c->ntops && !err; t++)
		err = commit_list(c, &c->tops[t].held);
	return err;
}

static int reintern_list(struct profile *from, struct profile *to, struct held_list *l)
{
	for (struct held *h = l->head; h; h = h->next) {
		for (uint32_t k = 0; k < h->n; k++) {
			const struct profile_location *loc = profile__location(from, h->locs[k]);
			int id;

			if (!loc)
				return -EINVAL;
			id = profile__intern_location(to, loc);
			if (id < 0)
				return id;
			h->locs[k] = (uint32_t)id;
		}
	}
	return 0;
}

int callprof__set_profile(struct callprof *c, struct profile *prof)
{
	int err = 0;

	for (uint32_t i = 0; i < c->ncalls && !err; i++)
		if (c->calls[i].span_id)
			err = reintern_list(c->prof, prof, &c->calls[i].held);
	for (unsigned int t = 0; t < c->ntops && !err; t++)
		err = reintern_list(c->prof, prof, &c->tops[t].held);
	c->prof = prof;
	if (!err)
		return 0;
	/* Some locations would point into the old profile: hold nothing rather. */
	for (uint32_t i = 0; i < c->ncalls; i++) {
		c->st.held_full += c->calls[i].held.n;
		held_free(c, &c->calls[i].held);
	}
	for (unsigned int t = 0; t < c->ntops; t++) {
		c->st.held_full += c->tops[t].held.n;
		held_free(c, &c->tops[t].held);
	}
	return err;
}

void callprof__stats(const struct callprof *c, struct callprof_stats *out)
{
	*out = c->st;
}
