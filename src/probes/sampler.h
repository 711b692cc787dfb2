/* SPDX-License-Identifier: MIT */
/*
 * What the userspace halves of the stack probes (cpu, offcpu, alloc,
 * faults) share: their BPF programs include bpf/sample.bpf.h, so their
 * skeletons have the same rodata knobs, maps and fork-tracking programs,
 * set up here alike; the target filter; and the ring callback that
 * queues well-formed samples.
 */
#ifndef SONDE_PROBES_SAMPLER_H
#define SONDE_PROBES_SAMPLER_H

#include <stddef.h>

#include <bpf/libbpf.h>

#include "probes/probe.h"
#include "probes/rqueue.h"

/*
 * The sample.bpf.h part of skeleton @skel before load: the host's target
 * map (or -a), stack capture as the host says, a ring of @ring bytes
 * (woken at a quarter full), one sample slot per CPU, @nstats counters,
 * and with the uprobe probe in the session its call stacks (h->calls) to
 * tag samples with. Evaluates to 0 or -errno (logged).
 */
#define SAMPLER_SETUP(skel, h, ring, ncpu, nstats)                              \
	({                                                                      \
		(skel)->rodata->pidns_dev = (h)->pidns.dev;                     \
		(skel)->rodata->pidns_ino = (h)->pidns.ino;                     \
		(skel)->rodata->target_all = (h)->targets.all;                  \
		(skel)->rodata->capture_kernel = (h)->kernel_stacks;            \
		(skel)->rodata->wakeup_bytes = (ring) / 4;                      \
		(skel)->rodata->stack_size = (h)->stack_size;                   \
		(skel)->rodata->tag_calls = (h)->calls != NULL;                 \
		(skel)->rodata->calls_slot_mask = sampler_calls_mask(h);        \
		bpf_map__set_max_entries((skel)->maps.samples, (ring));         \
		bpf_map__set_max_entries((skel)->maps.scratch, (ncpu));         \
		bpf_map__set_max_entries((skel)->maps.stats, (nstats));         \
		probe_reuse_targets((h), (skel)->maps.targets, "sampler")       \
			?: sampler_share_calls((h), (skel)->maps.calls);        \
	})

/* The slot mask of the host's call stacks (h->calls), 0 without them. */
unsigned int sampler_calls_mask(const struct probe_host *h);
/* Put h->calls in place of the @calls map of a skeleton not loaded yet. 0 or -errno. */
int sampler_share_calls(const struct probe_host *h, struct bpf_map *calls);

/* Every stack probe's arm op: the sample.bpf.h flag of skeleton @skel. */
#define SAMPLER_ARM(skel, on) __atomic_store_n(&(skel)->bss->armed, (on), __ATOMIC_SEQ_CST)

/*
 * The smallest power of two of KiB >= @want bytes within [4 MiB, the
 * host's ring_max (1 GiB when 0)]; a ring_max under 4 MiB gives the
 * largest power of two of KiB within it (64 KiB at least). faults and alloc, sized for 20000
 * samples/s of whole stacks, ask 256 MiB: a one-off recording absorbs a
 * burst of faults with it (test_faults: 20480 in a few ms, nothing lost),
 * the agent caps it by its memory_limit (ring_max).
 */
size_t sampler_ring_bytes(const struct probe_host *h, size_t want);

/*
 * A probe's queue and its ring: @q gets room for @queue_bytes of samples,
 * and the @samples ring of the host's ring_buffer pushes valid samples
 * into it (see sampler_on_sample). 0 or -errno (logged).
 */
struct sampler_ring {
	struct probe_host *host;
	struct rqueue q;
};
int sampler_ring__open(struct sampler_ring *r, struct probe_host *h, const struct bpf_map *samples,
		       size_t queue_bytes, const char *name);
void sampler_ring__free(struct sampler_ring *r);

/* Number of possible CPUs, or -errno (logged with @name). */
int sampler_ncpu(const char *name);

/*
 * The start of a stack probe's open: its private struct (@size bytes,
 * zeroed, into p->priv for the probe's free), the number of CPUs into
 * @ncpu and, with @type, that sample type declared in the profile (its
 * index into @type_idx). 0 or -errno (logged).
 */
int sampler_open(struct probe *p, size_t size, const char *name, const char *type, const char *unit,
		 int *ncpu, int *type_idx);

/*
 * Between polls: every queued sample into type @type of the profile,
 * weighing its value; adds to @nsamples and @sum. 0 or -errno.
 */
int sampler_ring__drain(struct sampler_ring *r, int type, uint64_t *nsamples, uint64_t *sum);

#endif /* SONDE_PROBES_SAMPLER_H */
