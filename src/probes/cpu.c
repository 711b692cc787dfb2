// SPDX-License-Identifier: MIT
/*
 * The cpu probe. BPF samples arrive through the ring buffer; the callback
 * only copies them into a bounded queue. Between polls, tick hands each
 * sample to the shared stack builder (unwinding, symbolization, profile).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "model/profile.h"
#include "probes/bpf_stats.h"
#include "probes/cpu.h"
#include "probes/perfev.h"
#include "probes/rqueue.h"
#include "probes/sampler.h"
#include "probes/stacks.h"
#include "symbols/symbolize.h"
#include "symbols/unwind.h"
#include "cpu.skel.h"

/*
 * Bytes of samples queued between two ticks: ~1000 frame-pointer samples
 * or ~200 with 16 KiB stacks; a full queue pauses consumption (the ring
 * buffer holds the rest), it loses nothing.
 */
#define QUEUE_BYTES (4u << 20)
struct cpu {
	struct probe *p;
	const struct cpu_opts *o;
	struct cpu_bpf *skel;
	struct perfev_set *events;
	struct sampler_ring ring;
	int nevents; /* CPUs sampled */
	size_t ring_size; /* bytes */
	int type; /* the profile's samples/count */
	uint64_t nsamples; /* added to the profile (stacks' count is every probe's) */
};

void cpu_opts_default(struct cpu_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->freq = CPU_FREQ_DEFAULT;
	o->kernel = true;
	o->ring_kib = 0;
	o->max_pids = 8192;
	o->call_graph = CALL_GRAPH_DWARF;
	o->stack_size = CPU_STACK_SIZE_DEFAULT;
}

/*
 * Ring size in bytes: what every CPU produces at the rate in one second
 * (samples as big as they can be: both stacks full, the whole snapshot),
 * so a tick stalled on symbolizing a new binary (hundreds of ms with DWARF)
 * or a burst loses nothing; a quarter of that (4 x 100 ms polls) lost
 * 12-19 % of the samples of -a -F 999 on two busy CPUs. --ring-size
 * overrides it.
 */
static size_t ring_bytes(const struct probe_host *h, const struct cpu_opts *o, int ncpu)
{
	uint64_t per_sample = SONDE_SAMPLE_SIZE(2 * SONDE_MAX_STACK, 0);

	if (o->ring_kib)
		return (size_t)o->ring_kib * 1024;
	if (o->call_graph == CALL_GRAPH_DWARF)
		per_sample += o->stack_size;
	return sampler_ring_bytes(h, (uint64_t)ncpu * o->freq * per_sample);
}

static int cpu_open(struct probe *p)
{
	const struct cpu_opts *o = p->opts;
	struct cpu *c;
	size_t ring;
	int err, ncpu, type;

	/* cpu opens first, so with -e cpu,offcpu the CPU samples are type 0. */
	err = sampler_open(p, sizeof(*c), "cpu", "samples", "count", &ncpu, &type);
	c = p->priv;
	if (err)
		return err;
	c->p = p;
	c->o = o;
	c->type = type;
	ring = c->ring_size = ring_bytes(p->host, o, ncpu);
	log_info("cpu: %s stacks, %zu KiB ring buffer",
		 o->call_graph == CALL_GRAPH_DWARF ? "DWARF" : "frame-pointer", ring / 1024);

	c->skel = cpu_bpf__open();
	if (!c->skel) {
		err = -errno;
		log_err("cpu: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	err = SAMPLER_SETUP(c->skel, p->host, ring, ncpu, SONDE_STAT_MAX);
	if (err)
		return err;

	err = cpu_bpf__load(c->skel);
	if (err) {
		log_err("cpu: failed to load BPF programs: %s (is the kernel built with "
			"BTF and BPF support? run with -v for details)",
			strerror(-err));
		return err;
	}
	return sampler_ring__open(&c->ring, p->host, c->skel->maps.samples, QUEUE_BYTES, "cpu");
}

static int cpu_attach(struct probe *p)
{
	struct cpu *c = p->priv;
	int err;

	if (p->host->targets.launched) {
		err = cpu_bpf__attach(c->skel);
		if (err) {
			log_err("cpu: failed to attach fork tracking: %s", strerror(-err));
			return err;
		}
	}
	err = perfev_set__open(c->skel->progs.on_sample, c->o->freq, &c->events);
	if (err)
		return err;
	c->nevents = perfev_set__count(c->events);
	log_info("cpu: sampling at %u Hz on %d CPUs", c->o->freq, c->nevents);
	return 0;
}

static int cpu_arm(struct probe *p, bool on)
{
	struct cpu *c = p->priv;

	SAMPLER_ARM(c->skel, on);
	return 0;
}

static int cpu_tick(struct probe *p)
{
	struct cpu *c = p->priv;
	uint64_t ticks = 0;

	return sampler_ring__drain(&c->ring, c->type, &c->nsamples, &ticks);
}

static void cpu_publish(struct probe *p, struct metrics *m)
{
	struct cpu *c = p->priv;
	struct stacks_stats st;

	stacks__stats(p->host->stacks, &st);
	probe_count(m, PROBE_M_EVENTS, "cpu", "kind", "sample",
		    bpf_stats_sum(c->skel->maps.stats, SONDE_STAT_SAMPLES));
	probe_count(m, PROBE_M_DROPPED, "cpu", "reason", "ring_full",
		    bpf_stats_sum(c->skel->maps.stats, SONDE_STAT_RB_DROPS));
	probe_count(m, PROBE_M_DROPPED, "cpu", "reason", "queue_full", c->ring.q.dropped);
	probe_count(m, PROBE_M_DROPPED, "cpu", "reason", "malformed", st.bad_samples);
}

static uint64_t cpu_lost(struct probe *p)
{
	struct cpu *c = p->priv;

	return bpf_stats_sum(c->skel->maps.stats, SONDE_STAT_RB_DROPS) + c->ring.q.dropped;
}

static size_t cpu_status(struct probe *p, char *buf, size_t len)
{
	struct cpu *c = p->priv;

	return str_append(buf, len, 0, "%llu samples, %llu lost", (unsigned long long)c->nsamples,
			  (unsigned long long)cpu_lost(p));
}

/* Stop sampling: the profile is complete once the rings are drained. */
static void cpu_stop(struct probe *p)
{
	struct cpu *c = p->priv;

	perfev_set__free(c->events);
	c->events = NULL;
}

/*
 * The run's closing line: samples, lost, unsymbolized frames, and with
 * DWARF unwinding ", N user stacks complete, N truncated, N unwinding
 * failures": how many walks reached the outermost frame, how many ran off
 * the snapshot (raise --stack-size) and how many stopped early for other
 * reasons (no CFI, unreadable maps of an exited process, unsupported CFI).
 */
static void cpu_summary(struct probe *p, struct log_line *l)
{
	struct cpu *c = p->priv;
	struct unwinder *unw = stacks__unwinder(p->host->stacks);
	struct stacks_stats st;
	uint64_t lost = bpf_stats_sum(c->skel->maps.stats, SONDE_STAT_RB_DROPS);

	stacks__stats(p->host->stacks, &st);
	log_line_add(l, "%llu samples, %llu lost", (unsigned long long)c->nsamples,
		     (unsigned long long)lost);
	if (lost)
		log_line_add(l, " (ring buffer full: raise --ring-size above %zu KiB, or lower -F)",
			     c->ring_size / 1024);
	log_line_add(l, ", %llu of %llu frames unsymbolized", (unsigned long long)st.unsymbolized,
		     (unsigned long long)st.frames);
	log_line_int(l, "sonde.samples", (long long)c->nsamples);
	log_line_int(l, "sonde.samples.lost", (long long)lost);
	log_line_int(l, "sonde.frames", (long long)st.frames);
	log_line_int(l, "sonde.frames.unsymbolized", (long long)st.unsymbolized);
	if (unw) {
		struct unwinder_stats us;
		uint64_t failed;

		unwinder__stats(unw, &us);
		failed = us.ends[UNWIND_END_NO_INFO] + us.ends[UNWIND_END_BAD] +
			 us.ends[UNWIND_END_DEPTH] + st.fp_fallbacks;
		log_line_add(l,
			     ", %llu user stacks complete, %llu truncated, %llu unwinding failures",
			     (unsigned long long)us.ends[UNWIND_END_COMPLETE],
			     (unsigned long long)us.ends[UNWIND_END_TRUNCATED],
			     (unsigned long long)failed);
		log_line_int(l, "sonde.stacks.complete", (long long)us.ends[UNWIND_END_COMPLETE]);
		log_line_int(l, "sonde.stacks.truncated", (long long)us.ends[UNWIND_END_TRUNCATED]);
		log_line_int(l, "sonde.stacks.failed", (long long)failed);
	}
}

/* The details behind the summary, with -v; and what could not be read. */
static void cpu_details(struct probe *p)
{
	struct cpu *c = p->priv;
	struct unwinder *unw = stacks__unwinder(p->host->stacks);
	struct stacks_stats st;
	uint64_t kerr = bpf_stats_sum(c->skel->maps.stats, SONDE_STAT_KSTACK_ERR);
	uint64_t uerr = bpf_stats_sum(c->skel->maps.stats, SONDE_STAT_USTACK_ERR);
	uint64_t pre_exec = bpf_stats_sum(c->skel->maps.stats, SONDE_STAT_PRE_EXEC);

	stacks__stats(p->host->stacks, &st);
	if (unw) {
		struct unwinder_stats us;

		unwinder__stats(unw, &us);
		log_info("cpu: unwinding: %llu stacks, %llu complete, %llu truncated, %llu no CFI, "
			 "%llu bad CFI, %llu too deep, %llu without maps or registers (frame "
			 "pointers used), %llu completed from frame pointers; %llu CFI (%llu of "
			 "them "
			 "cached) and %llu frame-pointer steps; %llu stack bytes and %.1f us of "
			 "unwinding per "
			 "sample; %llu files (%llu KiB of tables), %llu failed; %llu stack copy "
			 "failures; %llu leaf pcs on a uprobe's int3",
			 (unsigned long long)us.stacks,
			 (unsigned long long)us.ends[UNWIND_END_COMPLETE],
			 (unsigned long long)us.ends[UNWIND_END_TRUNCATED],
			 (unsigned long long)us.ends[UNWIND_END_NO_INFO],
			 (unsigned long long)us.ends[UNWIND_END_BAD],
			 (unsigned long long)us.ends[UNWIND_END_DEPTH],
			 (unsigned long long)st.fp_fallbacks, (unsigned long long)st.spliced,
			 (unsigned long long)us.cfi_frames, (unsigned long long)us.frame_hits,
			 (unsigned long long)us.fp_frames,
			 (unsigned long long)(st.samples ? st.stack_bytes / st.samples : 0),
			 us.stacks ? st.unwind_ns / 1e3 / us.stacks : 0.0,
			 (unsigned long long)us.files_cached, (unsigned long long)(us.bytes >> 10),
			 (unsigned long long)us.files_failed,
			 (unsigned long long)bpf_stats_sum(c->skel->maps.stats,
							   SONDE_STAT_STACK_COPY_ERR),
			 (unsigned long long)us.int3_pcs);
	}
	if (pre_exec)
		log_info("cpu: %llu ticks of the launched command before its exec (sonde's own "
			 "code) left out",
			 (unsigned long long)pre_exec);
	if (kerr || uerr || st.bad_samples || c->ring.q.dropped)
		log_warn("cpu: %llu kernel and %llu user stacks could not be read, %llu "
			 "malformed samples, %llu dropped by the collector",
			 (unsigned long long)kerr, (unsigned long long)uerr,
			 (unsigned long long)st.bad_samples, (unsigned long long)c->ring.q.dropped);
}

static void cpu_free(struct probe *p)
{
	struct cpu *c = p->priv;

	if (!c)
		return;
	perfev_set__free(c->events);
	cpu_bpf__destroy(c->skel);
	sampler_ring__free(&c->ring);
	free(c);
	p->priv = NULL;
}

const struct probe_ops cpu_probe_ops = {
	.name = "cpu",
	.open = cpu_open,
	.attach = cpu_attach,
	.arm = cpu_arm,
	.tick = cpu_tick,
	.publish = cpu_publish,
	.stop = cpu_stop,
	.summary = cpu_summary,
	.details = cpu_details,
	.lost = cpu_lost,
	.status = cpu_status,
	.free = cpu_free,
	.feeds_profile = true,
};
