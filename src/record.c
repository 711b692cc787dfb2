// SPDX-License-Identifier: MIT
/*
 * sonde record: CPU sampling to flame graphs.
 *
 * BPF samples arrive through the ring buffer; the callback only copies them
 * into a bounded queue. Between polls, on_tick unwinds each sample's user
 * stack snapshot (DWARF mode; see unwind.h), symbolizes each new address
 * once (cached per PID and address; symbol tables cached per file) and adds
 * the stack to the profile. Writers run once at the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sonde/bpf_stats.h"
#include "sonde/cli.h"
#include "sonde/commands.h"
#include "sonde/events.h"
#include "sonde/export_pprof.h"
#include "sonde/flamegraph.h"
#include "sonde/log.h"
#include "sonde/outfile.h"
#include "sonde/perfev.h"
#include "sonde/privs.h"
#include "sonde/profile.h"
#include "sonde/runloop.h"
#include "sonde/symbolize.h"
#include "sonde/target.h"
#include "sonde/unwind.h"
#include "profile.skel.h"

/*
 * Bytes of samples queued between two on_ticks: ~1000 frame-pointer
 * samples or ~200 with 16 KiB stacks; a full queue pauses consumption
 * (the ring buffer holds the rest), it loses nothing.
 */
#define QUEUE_BYTES (4u << 20)
#define QUEUE_CAP (QUEUE_BYTES + sizeof(struct sonde_sample))
/* Auto-sized ring buffer (--ring-size unset): bounds in KiB. */
#define RING_KIB_MIN 4096u
#define RING_KIB_MAX (256u << 10)
/* Address cache entries before it is cleared (bounded memory on -a). */
#define ADDR_CACHE_MAX (1u << 20)

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

struct record {
	const struct record_opts *o;
	struct profile_bpf *skel;
	struct perfev_set *events;
	struct ring_buffer *rb;
	struct target *target;
	struct symbolizer *sym;
	struct profile *prof;
	struct outfile *out[RECORD_MAX_OUTPUTS];
	struct addr_cache cache;

	struct unwinder *unw; /* NULL in frame-pointer mode */

	/* The queue the ring-buffer callback fills and on_tick empties:
	 * samples back to back, each at an 8-byte aligned offset. */
	unsigned char *queue;
	size_t queued;

	uint64_t samples;
	uint64_t fp_fallbacks; /* DWARF unwinding impossible: FP stack used */
	uint64_t spliced;      /* DWARF stack completed from the FP stack */
	uint64_t stack_bytes;  /* snapshot bytes received */
	uint64_t unwind_ns;    /* CLOCK_MONOTONIC time spent unwinding */
	uint64_t frames;
	uint64_t unsymbolized;
	uint64_t bad_samples;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct record *r = ctx;
	const struct sonde_sample *s = data;

	if (len < SONDE_SAMPLE_HDR_SIZE || s->kind != SONDE_EV_SAMPLE ||
	    s->kstack_nr > SONDE_MAX_STACK || s->ustack_nr > SONDE_MAX_STACK ||
	    s->stack_len > SONDE_MAX_STACK_BYTES ||
	    len < SONDE_SAMPLE_SIZE(s->kstack_nr + s->ustack_nr, s->stack_len) ||
	    len > sizeof(*s)) {
		r->bad_samples++;
		return 0;
	}
	/*
	 * libbpf has consumed this record already even if we fail it: store
	 * it, then ask for a flush once the queue is full. The runloop flushes
	 * before consuming again, so the guard below is only a safety net.
	 */
	if (r->queued >= QUEUE_BYTES) {
		r->bad_samples++;
		return RUNLOOP_QUEUE_FULL;
	}
	memcpy(r->queue + r->queued, data, len);
	r->queued += (len + 7) & ~(size_t)7;
	return r->queued >= QUEUE_BYTES ? RUNLOOP_QUEUE_FULL : 0;
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

static int symbolize_one(struct record *r, uint32_t pid, uint64_t addr, bool kernel)
{
	struct sym_result res;
	struct profile_location loc;
	int err;

	memset(&res, 0, sizeof(res));
	if (kernel)
		err = symbolizer__resolve_kernel(r->sym, addr, &res);
	else
		err = symbolizer__resolve_user(r->sym, pid, addr, &res);
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
	return profile__intern_location(r->prof, &loc);
}

/* Location id for an address, symbolizing it the first time it is seen. */
static int location_of(struct record *r, uint32_t pid, uint64_t addr, bool kernel)
{
	struct addr_entry *e;
	uint32_t key_pid = kernel ? 0 : pid;
	int loc, err;

	if (r->cache.used >= ADDR_CACHE_MAX) {
		free(r->cache.slots);
		memset(&r->cache, 0, sizeof(r->cache));
	}
	if (r->cache.used * 2 >= r->cache.cap) {
		err = cache_grow(&r->cache);
		if (err)
			return err;
	}
	e = cache_slot(&r->cache, key_pid, addr);
	if (e->loc >= 0)
		return e->loc;
	loc = symbolize_one(r, pid, addr, kernel);
	if (loc < 0)
		return loc;
	e->key_addr = addr;
	e->key_pid = key_pid;
	e->loc = loc;
	r->cache.used++;
	return loc;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The user stack of a DWARF-mode sample, unwound from its snapshot into
 * @out. Returns the frame count, or 0 to use the frame-pointer stack.
 */
static unsigned int unwind_user(struct record *r, const struct sonde_sample *s, const char *comm,
				uint64_t *out)
{
	const __u64 *fp = s->ips + s->kstack_nr;
	struct unwind_input in = {
		.ip = s->user_ip,
		.sp = s->user_sp,
		.bp = s->user_bp,
		.stack = s->ips + s->kstack_nr + s->ustack_nr,
		.stack_len = s->stack_len,
		.comm = comm,
	};
	struct unwind_result res;
	uint64_t t0;
	int n;

	r->stack_bytes += s->stack_len;
	if (!s->user_ip) {
		r->fp_fallbacks++;
		return 0;
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	n = unwinder__unwind(r->unw, s->pid, &in, out, SONDE_MAX_STACK, &res);
	r->unwind_ns += now_ns(CLOCK_MONOTONIC) - t0;
	if (n <= 0) {
		r->fp_fallbacks++;
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
			r->spliced++;
			break;
		}
	}
	return (unsigned int)n;
}

static int add_sample(struct record *r, const struct sonde_sample *s)
{
	uint32_t locs[2 * SONDE_MAX_STACK], n = 0;
	const __u64 *kips = s->ips;
	/* The user stack: DWARF-unwound, or the frame-pointer one from BPF. */
	uint64_t uips[SONDE_MAX_STACK];
	unsigned int unr = 0;
	char comm[SONDE_COMM_LEN + 1];

	memcpy(comm, s->comm, SONDE_COMM_LEN);
	comm[SONDE_COMM_LEN] = '\0';
	if (r->unw)
		unr = unwind_user(r, s, comm, uips);
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
		int loc = location_of(r, s->pid, a, false);

		if (loc < 0)
			return loc;
		locs[n++] = loc;
	}
	for (int i = (int)s->kstack_nr - 1; i >= 0; i--) {
		uint64_t a = i ? kips[i] - 1 : kips[i];
		int loc = location_of(r, s->pid, a, true);

		if (loc < 0)
			return loc;
		locs[n++] = loc;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!profile__location(r->prof, locs[i])->nlines)
			r->unsymbolized++;
	}
	r->frames += n;
	if (!comm[0])
		strcpy(comm, "[unknown]");
	r->samples++;
	return profile__add(r->prof, s->pid, comm, locs, n, 1);
}

static int on_tick(void *ctx)
{
	struct record *r = ctx;
	size_t off = 0;
	int err = 0;

	while (off < r->queued && !err) {
		const struct sonde_sample *s = (const void *)(r->queue + off);

		err = add_sample(r, s);
		off += (SONDE_SAMPLE_SIZE(s->kstack_nr + s->ustack_nr, s->stack_len) + 7) &
		       ~(size_t)7;
	}
	r->queued = 0;
	return err;
}

/*
 * Ring size in bytes: what every CPU produces at the rate in four 100 ms
 * polls, so a slow tick or a burst loses nothing, within
 * [RING_KIB_MIN, RING_KIB_MAX]; --ring-size overrides it.
 */
static size_t ring_bytes(const struct record_opts *o, int ncpu)
{
	uint64_t per_sample = SONDE_SAMPLE_HDR_SIZE + 64 * sizeof(__u64), want, kib;

	if (o->ring_kib)
		return (size_t)o->ring_kib * 1024;
	if (o->call_graph == CALL_GRAPH_DWARF)
		per_sample += o->stack_size;
	want = (uint64_t)(ncpu > 0 ? ncpu : 1) * o->freq * per_sample * 4 / 10;
	for (kib = RING_KIB_MIN; kib < RING_KIB_MAX && kib * 1024 < want; kib *= 2)
		;
	return (size_t)kib * 1024;
}

static int load_bpf(struct record *r)
{
	const struct record_opts *o = r->o;
	bool follow = target__launched(r->target);
	int ncpu = libbpf_num_possible_cpus();
	size_t ring;
	int err;

	if (ncpu <= 0) {
		log_err("record: failed to count possible CPUs: %s", strerror(-ncpu));
		return ncpu ? ncpu : -EINVAL;
	}
	ring = ring_bytes(o, ncpu);
	log_info("record: %s stacks, %zu KiB ring buffer",
		 o->call_graph == CALL_GRAPH_DWARF ? "DWARF" : "frame-pointer", ring / 1024);

	r->skel = profile_bpf__open();
	if (!r->skel) {
		err = -errno;
		log_err("record: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	r->skel->rodata->target_all = target__all(r->target);
	r->skel->rodata->follow_forks = follow;
	r->skel->rodata->capture_kernel = o->kernel;
	r->skel->rodata->wakeup_bytes = ring / 4;
	r->skel->rodata->stack_size = o->call_graph == CALL_GRAPH_DWARF ? o->stack_size : 0;
	bpf_map__set_max_entries(r->skel->maps.targets, o->max_pids);
	bpf_map__set_max_entries(r->skel->maps.samples, ring);
	/* One sample under construction per CPU (indexed by CPU id). */
	bpf_map__set_max_entries(r->skel->maps.scratch, ncpu);
	/* Fork tracking is only for launched commands; leave it unloaded. */
	bpf_program__set_autoload(r->skel->progs.on_fork_proc, follow);
	bpf_program__set_autoload(r->skel->progs.on_exit_proc, follow);

	err = profile_bpf__load(r->skel);
	if (err) {
		log_err("record: failed to load BPF programs: %s (is the kernel built with "
			"BTF and BPF support? run with -v for details)",
			strerror(-err));
		return err;
	}
	if (follow) {
		err = profile_bpf__attach(r->skel);
		if (err) {
			log_err("record: failed to attach fork tracking: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

static int add_targets(struct record *r)
{
	const pid_t *pids;
	int n;
	__u32 one = 1;

	pids = target__pids(r->target, &n);
	for (int i = 0; i < n; i++) {
		__u32 key = pids[i];

		if (bpf_map__update_elem(r->skel->maps.targets, &key, sizeof(key), &one,
					 sizeof(one), BPF_ANY)) {
			log_err("record: failed to add PID %d to the filter: %s", pids[i],
				strerror(errno));
			return -errno;
		}
		/* Read maps now: a short-lived target may be gone by the end. */
		if (!target__launched(r->target))
			symbolizer__prepare_pid(r->sym, pids[i]);
	}
	return 0;
}

static int write_one(struct record *r, unsigned int i)
{
	const struct record_opts *o = r->o;
	FILE *f = outfile__fp(r->out[i]);
	int err;

	switch (o->formats[i]) {
	case OUT_FOLDED:
		err = folded__write(r->prof, f);
		break;
	case OUT_SVG: {
		struct svg_opts so = {.title = "CPU flame graph"};
		char sub[256];

		if (o->t.cmd)
			snprintf(sub, sizeof(sub), "sonde record -F %u -- %s", o->freq,
				 o->t.cmd[0]);
		else if (o->t.all)
			snprintf(sub, sizeof(sub), "sonde record -F %u -a", o->freq);
		else
			snprintf(sub, sizeof(sub), "sonde record -F %u -p %d%s", o->freq,
				 o->t.pids[0], o->t.npids > 1 ? ",..." : "");
		so.subtitle = sub;
		err = flamegraph_svg__write(r->prof, f, &so);
		break;
	}
	case OUT_PPROF:
		err = pprof__write(r->prof, f);
		break;
	default:
		err = -EINVAL;
		break;
	}
	if (err) {
		log_err("record: failed to write '%s': %s", o->outputs[i], strerror(-err));
		return err;
	}
	return outfile__commit(r->out[i]);
}

static int write_output(struct record *r)
{
	int err;

	if (!r->o->noutputs)
		return report_top__write(r->prof, stdout, r->o->top);
	for (unsigned int i = 0; i < r->o->noutputs; i++) {
		err = write_one(r, i);
		if (err)
			return err;
	}
	return 0;
}

/* Append to a summary line being built in @buf; never overflows. */
static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (n >= len)
		return n;
	va_start(ap, fmt);
	w = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return w < 0 ? n : n + w;
}

/*
 * The run's one closing line: samples, lost, unsymbolized frames, and with
 * DWARF unwinding ", N user stacks complete, N truncated, N unwinding
 * failures": how many walks reached the outermost frame, how many ran off
 * the snapshot (raise --stack-size) and how many stopped early for other
 * reasons (no CFI, unreadable maps of an exited process, unsupported CFI).
 */
static void print_summary(struct record *r, uint64_t lost, bool wrote)
{
	char buf[2048];
	size_t n;

	n = append(buf, sizeof(buf), 0, "%llu samples, %llu lost, %llu of %llu frames unsymbolized",
		   (unsigned long long)r->samples, (unsigned long long)lost,
		   (unsigned long long)r->unsymbolized, (unsigned long long)r->frames);
	if (r->unw) {
		struct unwinder_stats st;

		unwinder__stats(r->unw, &st);
		n = append(buf, sizeof(buf), n,
			   ", %llu user stacks complete, %llu truncated, %llu unwinding failures",
			   (unsigned long long)st.ends[UNWIND_END_COMPLETE],
			   (unsigned long long)st.ends[UNWIND_END_TRUNCATED],
			   (unsigned long long)(st.ends[UNWIND_END_NO_INFO] +
						st.ends[UNWIND_END_BAD] +
						st.ends[UNWIND_END_DEPTH] + r->fp_fallbacks));
	}
	for (unsigned int i = 0; wrote && i < r->o->noutputs; i++)
		n = append(buf, sizeof(buf), n, "%s%s", i ? ", " : ", wrote ", r->o->outputs[i]);
	log_summary("%s", buf);
}

/* The details behind the summary, with -v. */
static void log_unwind_details(struct record *r)
{
	struct unwinder_stats st;

	unwinder__stats(r->unw, &st);
	log_info("record: unwinding: %llu stacks, %llu complete, %llu truncated, %llu no CFI, "
		 "%llu bad CFI, %llu too deep, %llu without maps or registers (frame pointers "
		 "used), %llu completed from frame pointers; %llu CFI and %llu frame-pointer "
		 "steps; %llu stack bytes and %.1f us of unwinding per sample; %llu files, "
		 "%llu failed; %llu stack copy failures",
		 (unsigned long long)st.stacks, (unsigned long long)st.ends[UNWIND_END_COMPLETE],
		 (unsigned long long)st.ends[UNWIND_END_TRUNCATED],
		 (unsigned long long)st.ends[UNWIND_END_NO_INFO],
		 (unsigned long long)st.ends[UNWIND_END_BAD],
		 (unsigned long long)st.ends[UNWIND_END_DEPTH], (unsigned long long)r->fp_fallbacks,
		 (unsigned long long)r->spliced, (unsigned long long)st.cfi_frames,
		 (unsigned long long)st.fp_frames,
		 (unsigned long long)(r->samples ? r->stack_bytes / r->samples : 0),
		 st.stacks ? r->unwind_ns / 1e3 / st.stacks : 0.0,
		 (unsigned long long)st.files_cached, (unsigned long long)st.files_failed,
		 (unsigned long long)bpf_stats_sum(r->skel->maps.stats, SONDE_STAT_STACK_COPY_ERR));
}

static void record_free(struct record *r)
{
	ring_buffer__free(r->rb);
	perfev_set__free(r->events);
	profile_bpf__destroy(r->skel);
	target__free(r->target);
	symbolizer__free(r->sym);
	profile__free(r->prof);
	for (unsigned int i = 0; i < RECORD_MAX_OUTPUTS; i++)
		outfile__free(r->out[i]);
	unwinder__free(r->unw);
	free(r->cache.slots);
	free(r->queue);
}

int cmd_record(int argc, char **argv)
{
	struct symbolizer_opts sopts = {.sz = sizeof(sopts)};
	struct record_opts o;
	struct record r;
	struct runloop_opts lo;
	uint64_t t0_mono, t0_real, lost, kerr, uerr;
	int err, reason;

	err = cli_parse_record(argc, argv, &o);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	log_set_level(o.verbose >= 2 ? LOG_DEBUG : o.verbose ? LOG_INFO : LOG_WARN);
	memset(&r, 0, sizeof(r));
	r.o = &o;

	err = privs_check_bpf();
	if (err)
		goto out;
	for (unsigned int i = 0; i < o.noutputs; i++) {
		err = outfile__open(o.outputs[i], &r.out[i]);
		if (err)
			goto out;
	}
	privs_bump_memlock();
	r.queue = malloc(QUEUE_CAP);
	r.sym = symbolizer__new(&sopts);
	r.prof = profile__new();
	if (o.call_graph == CALL_GRAPH_DWARF) {
		struct unwinder_opts uo = {.sz = sizeof(uo)};

		r.unw = unwinder__new(&uo);
	}
	if (!r.queue || !r.sym || !r.prof || (o.call_graph == CALL_GRAPH_DWARF && !r.unw)) {
		err = -ENOMEM;
		log_err("record: failed to allocate the collector: out of memory");
		goto out;
	}
	profile__set_period_ns(r.prof, 1000000000ull / o.freq);

	err = target__new(&o.t, &r.target);
	if (err)
		goto out;
	err = load_bpf(&r);
	if (err)
		goto out;
	err = add_targets(&r);
	if (err)
		goto out;
	r.rb = ring_buffer__new(bpf_map__fd(r.skel->maps.samples), on_event, &r, NULL);
	if (!r.rb) {
		err = -errno;
		log_err("record: failed to create ring buffer: %s", strerror(errno));
		goto out;
	}
	err = perfev_set__open(r.skel->progs.on_sample, o.freq, &r.events);
	if (err)
		goto out;

	runloop_install_signals();
	t0_mono = now_ns(CLOCK_MONOTONIC);
	t0_real = now_ns(CLOCK_REALTIME);
	err = target__start(r.target);
	if (err)
		goto out;
	log_info("record: sampling at %u Hz on %d CPUs", o.freq, perfev_set__count(r.events));

	memset(&lo, 0, sizeof(lo));
	lo.rb = r.rb;
	lo.target = r.target;
	lo.duration_s = o.t.duration_s;
	lo.on_tick = on_tick;
	lo.ctx = &r;
	reason = runloop__run(&lo);
	/* Stop sampling before writing: the profile is complete now. */
	perfev_set__free(r.events);
	r.events = NULL;
	if (reason < 0) {
		err = reason;
		goto out;
	}
	profile__set_time(r.prof, t0_real, now_ns(CLOCK_MONOTONIC) - t0_mono);
	if (target__launched(r.target) && reason == RUNLOOP_TARGET_EXIT &&
	    target__exit_status(r.target))
		log_warn("record: '%s' exited with status %d", o.t.cmd[0],
			 target__exit_status(r.target));

	err = write_output(&r);
	lost = bpf_stats_sum(r.skel->maps.stats, SONDE_STAT_RB_DROPS);
	kerr = bpf_stats_sum(r.skel->maps.stats, SONDE_STAT_KSTACK_ERR);
	uerr = bpf_stats_sum(r.skel->maps.stats, SONDE_STAT_USTACK_ERR);
	print_summary(&r, lost, err == 0);
	if (r.unw)
		log_unwind_details(&r);
	if (kerr || uerr || r.bad_samples)
		log_warn("record: %llu kernel and %llu user stacks could not be read, %llu "
			 "malformed samples",
			 (unsigned long long)kerr, (unsigned long long)uerr,
			 (unsigned long long)r.bad_samples);
out:
	record_free(&r);
	record_opts_free(&o);
	return err;
}
