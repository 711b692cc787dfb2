// SPDX-License-Identifier: MIT
/*
 * The offcpu probe's userspace half: load bpf/offcpu.bpf.c sized from the
 * options, queue its samples from the ring, and add them between polls to
 * the profile's off_cpu/nanoseconds type with the weight the kernel gave
 * them (the wait's length, or keep_ns for a sampled shorter one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "model/profile.h"
#include "probes/bpf_stats.h"
#include "probes/offcpu.h"
#include "probes/sampler.h"
#include "probes/stacks.h"
#include "offcpu.skel.h"

#define QUEUE_BYTES (4u << 20)
/* Waits sent per second the ring is sized for, four 100 ms polls' worth. */
#define RING_WAITS_PER_S 2000u

struct offcpu {
	struct probe *p;
	const struct offcpu_opts *o;
	struct offcpu_bpf *skel;
	struct sampler_ring ring;
	int type;
	bool at_exit; /* no task works here: user stacks read at syscall exits */
	uint64_t nsamples, weight_ns;
};

void offcpu_opts_default(struct offcpu_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->min_ns = OFFCPU_MIN_NS_DEFAULT;
	o->sample = 1.0;
	o->max_pending = 4096;
}

static uint64_t stat(const struct offcpu *c, uint32_t idx)
{
	return bpf_stats_sum(c->skel->maps.stats, idx);
}

/*
 * Open, size and load the BPF object, with the programs that read a kept
 * wait's user stack in a task work or, @at_exit, at its syscall's exit.
 */
static int load(struct offcpu *c, size_t ring, int ncpu, bool at_exit)
{
	const struct offcpu_opts *o = c->o;
	struct probe_host *h = c->p->host;
	uint32_t pending = at_exit ? 1 : o->max_pending;
	int err;

	c->skel = offcpu_bpf__open();
	if (!c->skel) {
		err = -errno;
		log_err("offcpu: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	err = SAMPLER_SETUP(c->skel, h, ring, ncpu, SONDE_OSTAT_MAX);
	if (err)
		return err;
	c->skel->rodata->min_ns = o->min_ns;
	c->skel->rodata->keep_ns = (uint64_t)((double)o->min_ns / o->sample);
	bpf_map__set_max_entries(c->skel->maps.pending, pending);
	bpf_map__set_max_entries(c->skel->maps.pending_kstack, pending);
	bpf_map__set_max_entries(c->skel->maps.scratch_busy, ncpu);
	bpf_program__set_autoload(c->skel->progs.on_switch, !at_exit);
	bpf_program__set_autoload(c->skel->progs.on_switch_exit, at_exit);
	bpf_program__set_autoload(c->skel->progs.on_sys_exit, at_exit);
	bpf_program__set_autoload(c->skel->progs.on_thread_exit, at_exit);
	c->at_exit = at_exit;
	return offcpu_bpf__load(c->skel);
}

static int offcpu_open(struct probe *p)
{
	const struct offcpu_opts *o = p->opts;
	struct probe_host *h = p->host;
	struct offcpu *c;
	size_t ring;
	int err, ncpu, type;

	err = sampler_open(p, sizeof(*c), "offcpu", "off_cpu", "nanoseconds", &ncpu, &type);
	c = p->priv;
	if (err)
		return err;
	c->p = p;
	c->o = o;
	c->type = type;
	ring = sampler_ring_bytes(h, (size_t)RING_WAITS_PER_S *
				  (SONDE_SAMPLE_HDR_SIZE + 64 * 8 + h->stack_size) * 4 / 10);

	err = load(c, ring, ncpu, false);
	if (err == -EPERM || err == -EINVAL || err == -EACCES || err == -ESRCH || err == -ENOENT) {
		/* Refused (a kernel that lets only sleepable programs schedule them) or absent. */
		log_info("offcpu: no BPF task work from sched_switch on this kernel (%s): user "
			 "stacks are read at syscall exits",
			 strerror(-err));
		offcpu_bpf__destroy(c->skel);
		c->skel = NULL;
		err = load(c, ring, ncpu, true);
	}
	if (err) {
		log_err("offcpu: failed to load BPF programs: %s (needs sched_switch and sys_exit "
			"BTF tracepoints and task storage, Linux 5.11; run with -v for details)",
			strerror(-err));
		return err;
	}
	log_info("offcpu: waits under %.3f ms counted, longer ones stacked with probability "
		 "min(1, d / %.3f ms)",
		 o->min_ns / 1e6, c->skel->rodata->keep_ns / 1e6);
	return sampler_ring__open(&c->ring, h, c->skel->maps.samples, QUEUE_BYTES, "offcpu");
}

static int offcpu_attach(struct probe *p)
{
	struct offcpu *c = p->priv;
	int err = offcpu_bpf__attach(c->skel);

	if (err)
		log_err("offcpu: failed to attach to sched_switch: %s", strerror(-err));
	return err;
}

static int offcpu_arm(struct probe *p, bool on)
{
	struct offcpu *c = p->priv;

	SAMPLER_ARM(c->skel, on);
	return 0;
}

static int offcpu_tick(struct probe *p)
{
	struct offcpu *c = p->priv;

	return sampler_ring__drain(&c->ring, c->type, &c->nsamples, &c->weight_ns);
}

/* Waits lost for want of room (pending map, sample slots, ring, queue). */
static uint64_t lost(const struct offcpu *c)
{
	return stat(c, SONDE_OSTAT_PENDING_FULL) + stat(c, SONDE_OSTAT_SCRATCH_BUSY) +
	       stat(c, SONDE_OSTAT_SCHED_ERR) + stat(c, SONDE_OSTAT_STALE) +
	       stat(c, SONDE_STAT_RB_DROPS) + c->ring.q.dropped;
}

static void offcpu_publish(struct probe *p, struct metrics *m)
{
	struct offcpu *c = p->priv;

	probe_count(m, PROBE_M_EVENTS, "offcpu", "kind", "wait", stat(c, SONDE_OSTAT_WAITS));
	probe_count(m, PROBE_M_EVENTS, "offcpu", "kind", "short_wait", stat(c, SONDE_OSTAT_SHORT));
	probe_count(m, PROBE_M_EVENTS, "offcpu", "kind", "sample", c->nsamples);
	probe_count(m, PROBE_M_DROPPED, "offcpu", "reason", "ring_full",
		    stat(c, SONDE_STAT_RB_DROPS));
	probe_count(m, PROBE_M_DROPPED, "offcpu", "reason", "queue_full", c->ring.q.dropped);
	probe_count(m, PROBE_M_DROPPED, "offcpu", "reason", "pending_full",
		    stat(c, SONDE_OSTAT_PENDING_FULL) + stat(c, SONDE_OSTAT_SCRATCH_BUSY));
}

static void offcpu_stop(struct probe *p)
{
	struct offcpu *c = p->priv;

	offcpu_bpf__detach(c->skel);
}

/*
 * "N waits of 1 ms or more (S s off-CPU), M stacked (E s estimated),
 * K shorter (T s) counted, L lost": the exact totals beside what the
 * flame graph estimates from its samples.
 */
static void offcpu_summary(struct probe *p, struct log_line *l)
{
	struct offcpu *c = p->priv;

	log_line_add(l,
		     "%llu waits of %.3f ms or more (%.3f s off-CPU), %llu stacked (%.3f s "
		     "estimated), %llu shorter (%.3f s) counted without stacks, %llu lost",
		     (unsigned long long)stat(c, SONDE_OSTAT_WAITS), c->o->min_ns / 1e6,
		     stat(c, SONDE_OSTAT_WAIT_NS) / 1e9, (unsigned long long)c->nsamples,
		     c->weight_ns / 1e9, (unsigned long long)stat(c, SONDE_OSTAT_SHORT),
		     stat(c, SONDE_OSTAT_SHORT_NS) / 1e9, (unsigned long long)lost(c));
	log_line_int(l, "sonde.offcpu.waits", (long long)stat(c, SONDE_OSTAT_WAITS));
	log_line_double(l, "sonde.offcpu.seconds", stat(c, SONDE_OSTAT_WAIT_NS) / 1e9);
	log_line_int(l, "sonde.samples", (long long)c->nsamples);
	log_line_int(l, "sonde.samples.lost", (long long)lost(c));
}

static void offcpu_details(struct probe *p)
{
	struct offcpu *c = p->priv;

	log_info("offcpu: %llu waits kept, %llu merged into an earlier wait of the same "
		 "thread (same user stack), %llu kernel stacks unreadable",
		 (unsigned long long)stat(c, SONDE_OSTAT_KEPT),
		 (unsigned long long)stat(c, SONDE_OSTAT_MERGED),
		 (unsigned long long)stat(c, SONDE_STAT_KSTACK_ERR));
	if (c->at_exit)
		log_info("offcpu: user stacks read at syscall exits (no task works here): %llu "
			 "waits outside a syscall with the user pc only",
			 (unsigned long long)stat(c, SONDE_OSTAT_PC_ONLY));
	if (lost(c))
		log_warn("offcpu: %llu waits lost: %llu with --offcpu-max-pending full, %llu "
			 "without a free sample slot, %llu refused task works, %llu that ran user "
			 "code before their syscall's exit, %llu with the ring full, %llu dropped "
			 "by the collector",
			 (unsigned long long)lost(c),
			 (unsigned long long)stat(c, SONDE_OSTAT_PENDING_FULL),
			 (unsigned long long)stat(c, SONDE_OSTAT_SCRATCH_BUSY),
			 (unsigned long long)stat(c, SONDE_OSTAT_SCHED_ERR),
			 (unsigned long long)stat(c, SONDE_OSTAT_STALE),
			 (unsigned long long)stat(c, SONDE_STAT_RB_DROPS),
			 (unsigned long long)c->ring.q.dropped);
}

static void offcpu_free(struct probe *p)
{
	struct offcpu *c = p->priv;

	if (!c)
		return;
	offcpu_bpf__destroy(c->skel);
	sampler_ring__free(&c->ring);
	free(c);
	p->priv = NULL;
}

const struct probe_ops offcpu_probe_ops = {
	.name = "offcpu",
	.open = offcpu_open,
	.attach = offcpu_attach,
	.arm = offcpu_arm,
	.tick = offcpu_tick,
	.publish = offcpu_publish,
	.stop = offcpu_stop,
	.summary = offcpu_summary,
	.details = offcpu_details,
	.free = offcpu_free,
	.feeds_profile = true,
};
