// SPDX-License-Identifier: MIT
/*
 * The faults probe's userspace half: bpf/faults.bpf.c on the software
 * page-faults event of every online CPU; samples go to the profile's
 * page_faults/count type, each weighing --faults-period faults, or with
 * --faults-freq the period the kernel chose for it.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "model/profile.h"
#include "probes/bpf_stats.h"
#include "probes/faults.h"
#include "probes/perfev.h"
#include "probes/sampler.h"
#include "probes/stacks.h"
#include "faults.skel.h"

#define QUEUE_BYTES (4u << 20)
/* Samples per second the ring is sized for, four 100 ms polls' worth. */
#define RING_SAMPLES_PER_S 20000u

struct faults {
	struct probe *p;
	const struct faults_opts *o;
	struct faults_bpf *skel;
	struct perfev_set *events;
	struct sampler_ring ring;
	int type;
	uint64_t nsamples, faults;
};

void faults_opts_default(struct faults_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->period = 1;
}

static int faults_open(struct probe *p)
{
	const struct faults_opts *o = p->opts;
	struct probe_host *h = p->host;
	struct faults *f;
	size_t ring;
	int err, ncpu, type;

	err = sampler_open(p, sizeof(*f), "faults", "page_faults", "count", &ncpu, &type);
	f = p->priv;
	if (err)
		return err;
	f->p = p;
	f->o = o;
	f->type = type;
	ring = sampler_ring_bytes(h, (size_t)RING_SAMPLES_PER_S *
				  (SONDE_SAMPLE_HDR_SIZE + 64 * 8 + h->stack_size) * 4 / 10);
	f->skel = faults_bpf__open();
	if (!f->skel) {
		err = -errno;
		log_err("faults: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	err = SAMPLER_SETUP(f->skel, h, ring, ncpu, SONDE_STAT_MAX);
	if (err)
		return err;
	err = faults_bpf__load(f->skel);
	if (err) {
		log_err("faults: failed to load BPF programs: %s (run with -v for details)",
			strerror(-err));
		return err;
	}
	return sampler_ring__open(&f->ring, h, f->skel->maps.samples, QUEUE_BYTES, "faults");
}

static int faults_attach(struct probe *p)
{
	struct faults *f = p->priv;
	int err;

	if (p->host->targets.launched) {
		err = faults_bpf__attach(f->skel);
		if (err) {
			log_err("faults: failed to attach fork tracking: %s", strerror(-err));
			return err;
		}
	}
	return perfev_set__open_sw(f->skel->progs.on_fault, PERF_COUNT_SW_PAGE_FAULTS,
				   f->o->freq ? f->o->freq : f->o->period, f->o->freq != 0,
				   &f->events);
}

static int faults_arm(struct probe *p, bool on)
{
	struct faults *f = p->priv;

	SAMPLER_ARM(f->skel, on);
	return 0;
}

static int faults_tick(struct probe *p)
{
	struct faults *f = p->priv;

	return sampler_ring__drain(&f->ring, f->type, &f->nsamples, &f->faults);
}

static void faults_publish(struct probe *p, struct metrics *m)
{
	struct faults *f = p->priv;

	probe_count(m, PROBE_M_EVENTS, "faults", "kind", "sample",
		    bpf_stats_sum(f->skel->maps.stats, SONDE_STAT_SAMPLES));
	probe_count(m, PROBE_M_DROPPED, "faults", "reason", "ring_full",
		    bpf_stats_sum(f->skel->maps.stats, SONDE_STAT_RB_DROPS));
	probe_count(m, PROBE_M_DROPPED, "faults", "reason", "queue_full", f->ring.q.dropped);
}

static void faults_stop(struct probe *p)
{
	struct faults *f = p->priv;

	perfev_set__free(f->events);
	f->events = NULL;
}

static void faults_summary(struct probe *p, struct log_line *l)
{
	struct faults *f = p->priv;
	uint64_t lost = bpf_stats_sum(f->skel->maps.stats, SONDE_STAT_RB_DROPS) + f->ring.q.dropped;

	if (f->o->freq)
		log_line_add(l, "%llu page faults in %llu samples (%u Hz per CPU), %llu lost",
			     (unsigned long long)f->faults, (unsigned long long)f->nsamples,
			     f->o->freq, (unsigned long long)lost);
	else
		log_line_add(l, "%llu page faults in %llu samples (1 in %u), %llu lost",
			     (unsigned long long)f->faults, (unsigned long long)f->nsamples,
			     f->o->period, (unsigned long long)lost);
	log_line_int(l, "sonde.faults", (long long)f->faults);
	log_line_int(l, "sonde.samples", (long long)f->nsamples);
	log_line_int(l, "sonde.samples.lost", (long long)lost);
}

static void faults_free(struct probe *p)
{
	struct faults *f = p->priv;

	if (!f)
		return;
	perfev_set__free(f->events);
	faults_bpf__destroy(f->skel);
	sampler_ring__free(&f->ring);
	free(f);
	p->priv = NULL;
}

const struct probe_ops faults_probe_ops = {
	.name = "faults",
	.open = faults_open,
	.attach = faults_attach,
	.arm = faults_arm,
	.tick = faults_tick,
	.publish = faults_publish,
	.stop = faults_stop,
	.summary = faults_summary,
	.free = faults_free,
	.feeds_profile = true,
};
