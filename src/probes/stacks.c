// SPDX-License-Identifier: MIT
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/callprof.h"
#include "model/profile.h"
#include "probes/procwatch.h"
#include "probes/stacks.h"
#include "symbols/symbolize.h"
#include "symbols/unwind.h"

/* Address cache entries before it is cleared (bounded memory on -a). */
#define ADDR_CACHE_MAX (1u << 20)
/*
 * The cache is keyed by PID: once this many processes have exited since
 * it was last emptied, their entries are dead weight, and it is emptied
 * (when it holds enough to matter): memory stays flat under churn.
 */
#define ADDR_CACHE_EXITS 4096
#define ADDR_CACHE_SMALL 65536

struct addr_entry {
	uint64_t key_addr;
	uint32_t key_pid; /* 0 for kernel addresses */
	int32_t loc;	  /* profile location id; -1 = empty slot */
};

struct addr_cache {
	struct addr_entry *slots;
	size_t cap; /* power of two */
	size_t used;
};

struct pending_exit {
	uint32_t pid;
	uint64_t at_ns;
};

/* Exits waiting for their samples to be done, oldest first. */
struct exit_fifo {
	struct pending_exit *items;
	size_t head, n, cap;
};

struct stacks {
	struct exit_fifo exits;
	struct symbolizer *sym;
	struct unwinder *unw;
	struct profile *prof;
	struct addr_cache cache;
	unsigned int cache_exits; /* processes released since the cache was emptied */
	uint64_t trimmed_ns;	  /* last malloc_trim() */
	uint64_t last_sample_ns;  /* the newest sample processed (CLOCK_MONOTONIC) */
	struct stacks_stats st;
	struct callprof *calls;
};

struct stacks *stacks__new(struct symbolizer *sym, struct unwinder *unw, struct profile *prof)
{
	struct stacks *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->sym = sym;
	st->unw = unw;
	st->prof = prof;
	return st;
}

void stacks__free(struct stacks *st)
{
	if (!st)
		return;
	free(st->cache.slots);
	free(st->exits.items);
	free(st);
}

void stacks__stats(const struct stacks *st, struct stacks_stats *out)
{
	*out = st->st;
}

void stacks__set_calls(struct stacks *st, struct callprof *c)
{
	st->calls = c;
}

void stacks__set_profile(struct stacks *st, struct profile *prof)
{
	/* Fails only on ENOMEM, having dropped (and counted) what it held. */
	if (st->calls)
		callprof__set_profile(st->calls, prof);
	st->prof = prof;
	free(st->cache.slots);
	memset(&st->cache, 0, sizeof(st->cache));
}

struct unwinder *stacks__unwinder(const struct stacks *st)
{
	return st->unw;
}

bool stacks__valid(struct stacks *st, const void *data, size_t len)
{
	const struct sonde_sample *s = data;

	if (len < SONDE_SAMPLE_HDR_SIZE || s->kind != SONDE_EV_SAMPLE ||
	    s->kstack_nr > SONDE_MAX_STACK || s->ustack_nr > SONDE_MAX_STACK ||
	    s->stack_len > SONDE_MAX_STACK_BYTES ||
	    len < SONDE_SAMPLE_SIZE(s->kstack_nr + s->ustack_nr, s->stack_len) ||
	    len > sizeof(*s)) {
		st->st.bad_samples++;
		return false;
	}
	return true;
}

static uint64_t mono_ns(void);

/* Forget what the symbolizer and unwinder hold for @pid. */
static void release_pid(struct stacks *st, uint32_t pid)
{
	st->st.exits++;
	if (++st->cache_exits >= ADDR_CACHE_EXITS && st->cache.used >= ADDR_CACHE_SMALL) {
		free(st->cache.slots);
		memset(&st->cache, 0, sizeof(st->cache));
		st->cache_exits = 0;
	}
	symbolizer__forget_pid(st->sym, pid);
	unwinder__forget_pid(st->unw, pid);
}

static int exit_push(struct stacks *st, uint32_t pid, uint64_t at_ns)
{
	struct exit_fifo *q = &st->exits;

	if (q->n == STACKS_MAX_PENDING_EXITS) {
		release_pid(st, q->items[q->head].pid);
		q->head = (q->head + 1) % q->cap;
		q->n--;
	}
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 256;
		struct pending_exit *ni = malloc(ncap * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		for (size_t i = 0; i < q->n; i++)
			ni[i] = q->items[(q->head + i) % q->cap];
		free(q->items);
		q->items = ni;
		q->cap = ncap;
		q->head = 0;
	}
	q->items[(q->head + q->n) % q->cap] = (struct pending_exit){pid, at_ns};
	q->n++;
	return 0;
}

void stacks__reap(struct stacks *st)
{
	struct exit_fifo *q = &st->exits;
	uint64_t now = mono_ns();
	bool released = false;

	while (q->n) {
		uint64_t at = q->items[q->head].at_ns;

		if (st->last_sample_ns < at + STACKS_EXIT_AFTER_MS * 1000000ull &&
		    now < at + STACKS_EXIT_GRACE_MS * 1000000ull)
			break;
		release_pid(st, q->items[q->head].pid);
		q->head = (q->head + 1) % q->cap;
		q->n--;
		released = true;
	}
	/*
	 * What exited processes held is scattered over the heap: give the
	 * free pages back (at most once a second), or RSS only ratchets up.
	 */
	if (released && now - st->trimmed_ns >= 1000000000ull) {
		malloc_trim(0);
		st->trimmed_ns = now;
	}
}

void stacks__proc(struct stacks *st, const struct procwatch_rec *r)
{
	const struct sonde_proc_event *e = &r->ev;
	int err = 0;

	/* A process no probe samples (an exec seen for discovery). */
	if (!(e->flags & SONDE_PROC_F_TARGET))
		return;
	switch (e->op) {
	case SONDE_PROC_EXEC:
	case SONDE_PROC_MMAP:
	case SONDE_PROC_FORK:
		if (e->op == SONDE_PROC_EXEC)
			st->st.execs++;
		else if (e->op == SONDE_PROC_MMAP)
			st->st.mmaps++;
		else
			st->st.forks++;
		if (!r->maps) {
			st->st.maps_unreadable++;
			break;
		}
		/* A new image replaces the old maps; a new mapping adds to them. */
		err = symbolizer__set_maps(st->sym, e->pid, r->maps, r->same_root);
		if (!err && st->unw)
			err = unwinder__set_maps(st->unw, e->pid, r->maps, r->same_root);
		break;
	case SONDE_PROC_EXIT:
		err = exit_push(st, e->pid, e->time_ns);
		break;
	default:
		st->st.bad_samples++;
		break;
	}
	if (err == -ENOMEM)
		st->st.proc_nomem++;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static int cache_grow(struct addr_cache *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 4096;
	struct addr_entry *ns = malloc(ncap * sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < ncap; i++)
		ns[i].loc = -1;
	for (size_t i = 0; i < c->cap; i++) {
		struct addr_entry *e = &c->slots[i];
		size_t j;

		if (e->loc < 0)
			continue;
		j = mix64(e->key_addr ^ ((uint64_t)e->key_pid << 40)) & (ncap - 1);
		while (ns[j].loc >= 0)
			j = (j + 1) & (ncap - 1);
		ns[j] = *e;
	}
	free(c->slots);
	c->slots = ns;
	c->cap = ncap;
	return 0;
}

/* Slot for (pid, addr): the entry if cached, else the empty slot to fill. */
static struct addr_entry *cache_slot(struct addr_cache *c, uint32_t pid, uint64_t addr)
{
	size_t j = mix64(addr ^ ((uint64_t)pid << 40)) & (c->cap - 1);

	while (c->slots[j].loc >= 0) {
		if (c->slots[j].key_addr == addr && c->slots[j].key_pid == pid)
			return &c->slots[j];
		j = (j + 1) & (c->cap - 1);
	}
	return &c->slots[j];
}

static int symbolize_one(struct stacks *st, uint32_t pid, uint64_t addr, bool kernel)
{
	struct sym_result res;
	struct profile_location loc;
	int err;

	memset(&res, 0, sizeof(res));
	if (kernel)
		err = symbolizer__resolve_kernel(st->sym, addr, &res);
	else
		err = symbolizer__resolve_user(st->sym, pid, addr, &res);
	memset(&loc, 0, sizeof(loc));
	if (err == 0) {
		loc.module = res.module;
		loc.build_id = res.build_id;
		loc.address = res.module ? res.rel_addr : addr;
		loc.map_start = res.map_start;
		loc.map_end = res.map_end;
		loc.map_pgoff = res.map_pgoff;
		loc.nlines = res.nframes > PROFILE_MAX_LINES ? PROFILE_MAX_LINES : res.nframes;
		for (uint32_t i = 0; i < loc.nlines; i++) {
			loc.lines[i].function = res.frames[i].name;
			loc.lines[i].file = res.frames[i].file;
			loc.lines[i].line = res.frames[i].line;
			loc.lines[i].inlined = res.frames[i].inlined;
		}
	} else {
		loc.address = addr;
	}
	if (kernel)
		loc.flags |= PROFILE_LOC_KERNEL;
	return profile__intern_location(st->prof, &loc);
}

/* Location id for an address, symbolizing it the first time it is seen. */
static int location_of(struct stacks *st, uint32_t pid, uint64_t addr, bool kernel)
{
	struct addr_cache *c = &st->cache;
	struct addr_entry *e;
	uint32_t key_pid = kernel ? 0 : pid;
	int loc, err;

	if (c->used >= ADDR_CACHE_MAX) {
		free(c->slots);
		memset(c, 0, sizeof(*c));
	}
	if (c->used * 2 >= c->cap) {
		err = cache_grow(c);
		if (err)
			return err;
	}
	e = cache_slot(c, key_pid, addr);
	if (e->loc >= 0)
		return e->loc;
	loc = symbolize_one(st, pid, addr, kernel);
	if (loc < 0)
		return loc;
	e->key_addr = addr;
	e->key_pid = key_pid;
	e->loc = loc;
	c->used++;
	return loc;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The user stack of a DWARF-mode sample, unwound from its snapshot into
 * @out. Returns the frame count, or 0 to use the frame-pointer stack.
 */
static unsigned int unwind_user(struct stacks *st, const struct sonde_sample *s, uint64_t *out)
{
	const __u64 *fp = s->ips + s->kstack_nr;
	struct unwind_input in = {
		.ip = s->user_ip,
		.sp = s->user_sp,
		.bp = s->user_bp,
		.stack = s->ips + s->kstack_nr + s->ustack_nr,
		.stack_len = s->stack_len,
		.at_int3 = s->flags & SONDE_SAMPLE_AT_INT3,
	};
	struct unwind_result res;
	uint64_t t0;
	int n;

	st->st.stack_bytes += s->stack_len;
	if (!s->user_ip) {
		/* Kernel threads and the idle task have no user stack to unwind. */
		if (s->ustack_nr)
			st->st.fp_fallbacks++;
		return 0;
	}
	t0 = mono_ns();
	n = unwinder__unwind(st->unw, s->pid, &in, out, SONDE_MAX_STACK, &res);
	st->st.unwind_ns += mono_ns() - t0;
	if (n <= 0) {
		st->st.fp_fallbacks++;
		return 0;
	}
	/*
	 * The snapshot ended first, or code without CFI or frame pointer:
	 * where the kernel's frame-pointer walk passed the same return
	 * address, it knows the rest of the chain (an FP-built program with
	 * a deep stack).
	 */
	if (res.end == UNWIND_END_TRUNCATED || res.end == UNWIND_END_NO_INFO) {
		for (uint32_t j = 1; j < s->ustack_nr; j++) {
			if (fp[j] != out[n - 1])
				continue;
			for (j++; j < s->ustack_nr && n < SONDE_MAX_STACK; j++)
				out[n++] = fp[j];
			st->st.spliced++;
			break;
		}
	}
	return (unsigned int)n;
}

int stacks__add(struct stacks *st, const struct sonde_sample *s, uint64_t count)
{
	return stacks__add_value(st, s, 0, count);
}

int stacks__add_value(struct stacks *st, const struct sonde_sample *s, uint32_t type,
		      uint64_t value)
{
	int stack;

	return stacks__add_values(st, s, 1, &type, &value, &stack);
}

int stacks__add_values(struct stacks *st, const struct sonde_sample *s, uint32_t nvals,
		       const uint32_t *types, const uint64_t *values, int *stack)
{
	struct callprof_sample cs = {
		.pid = s->pid,
		.tid = s->tid,
		.span_id = s->span_id,
		.trace_id_hi = s->trace_id_hi,
		.trace_id_lo = s->trace_id_lo,
		.func_id = s->func_id,
		.nvals = nvals,
	};
	uint32_t locs[2 * SONDE_MAX_STACK], n = 0;
	const __u64 *kips = s->ips;
	/* The user stack: DWARF-unwound, or the frame-pointer one from BPF. */
	uint64_t uips[SONDE_MAX_STACK];
	unsigned int unr = 0;
	char comm[SONDE_COMM_LEN + 1];
	int id;

	*stack = -1;
	if (!nvals || nvals > CALLPROF_MAX_VALUES)
		return -EINVAL;
	memcpy(comm, s->comm, SONDE_COMM_LEN);
	comm[SONDE_COMM_LEN] = '\0';
	if (st->unw)
		unr = unwind_user(st, s, uips);
	if (!unr) {
		unr = s->ustack_nr;
		memcpy(uips, s->ips + s->kstack_nr, unr * sizeof(*uips));
	}
	/* ips are innermost first; profiles want the root first. */
	for (int i = (int)unr - 1; i >= 0; i--) {
		/*
		 * Callers' entries are return addresses: look up the call
		 * instruction (addr - 1) so a call that ends a function is not
		 * credited to the next one.
		 */
		uint64_t a = i ? uips[i] - 1 : uips[i];
		int loc = location_of(st, s->pid, a, false);

		if (loc < 0)
			return loc;
		locs[n++] = loc;
	}
	for (int i = (int)s->kstack_nr - 1; i >= 0; i--) {
		uint64_t a = i ? kips[i] - 1 : kips[i];
		int loc = location_of(st, s->pid, a, true);

		if (loc < 0)
			return loc;
		locs[n++] = loc;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!profile__location(st->prof, locs[i])->nlines)
			st->st.unsymbolized++;
	}
	st->st.frames += n;
	if (!comm[0])
		strcpy(comm, "[unknown]");
	st->st.samples++;
	if (s->time_ns > st->last_sample_ns)
		st->last_sample_ns = s->time_ns;
	cs.comm = comm;
	cs.locs = locs;
	cs.n = n;
	memcpy(cs.types, types, nvals * sizeof(*types));
	memcpy(cs.values, values, nvals * sizeof(*values));
	if (st->calls)
		return callprof__add(st->calls, &cs, stack);
	/* No uprobe probe: samples carry no call. */
	for (uint32_t v = 0; v < nvals; v++) {
		if (!v) {
			id = profile__add_thread_value(st->prof, types[0], s->pid, s->tid, comm,
						       locs, n, values[0]);
			if (id < 0)
				return id;
			*stack = id;
		} else {
			id = profile__stack_add(st->prof, *stack, types[v], values[v]);
			if (id)
				return id;
		}
	}
	return 0;
}
