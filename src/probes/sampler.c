// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "model/profile.h"
#include "probes/sampler.h"
#include "probes/stacks.h"
#include "symbols/symbolize.h"

#define RING_KIB_MIN 4096u
#define RING_KIB_LEAST 64u /* under a small ring_max */
#define RING_KIB_MAX (1024u << 10)

unsigned int sampler_calls_mask(const struct probe_host *h)
{
	return h->calls ? bpf_map__max_entries(h->calls) - 1 : 0;
}

int sampler_share_calls(const struct probe_host *h, struct bpf_map *calls)
{
	int err;

	if (!h->calls)
		return 0;
	err = bpf_map__reuse_fd(calls, bpf_map__fd(h->calls));
	if (err)
		log_err("sampler: failed to share the uprobe probe's call stacks: %s",
			strerror(-err));
	return err;
}

size_t sampler_ring_bytes(const struct probe_host *h, size_t want)
{
	size_t max = h->ring_max ? h->ring_max / 1024 : RING_KIB_MAX, kib = RING_KIB_MIN;

	/* A ring_max under the floor is the bound: the largest power of two within it. */
	while (kib > max && kib > RING_KIB_LEAST)
		kib /= 2;
	for (; kib < max && kib * 2 <= max && kib * 1024 < want; kib *= 2)
		;
	return kib * 1024;
}

static int on_sample(void *ctx, void *data, size_t len)
{
	struct sampler_ring *r = ctx;

	if (!stacks__valid(r->host->stacks, data, len))
		return 0;
	return rqueue__push(&r->q, data, len);
}

int sampler_ring__open(struct sampler_ring *r, struct probe_host *h, const struct bpf_map *samples,
		       size_t queue_bytes, const char *name)
{
	int err;

	r->host = h;
	err = rqueue__init(&r->q, queue_bytes, sizeof(struct sonde_sample));
	if (err) {
		log_err("%s: failed to allocate the sample queue: %s", name, strerror(-err));
		return err;
	}
	return probe_add_ring(h, samples, on_sample, r, name);
}

void sampler_ring__free(struct sampler_ring *r)
{
	rqueue__free(&r->q);
}

int sampler_ncpu(const char *name)
{
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0) {
		log_err("%s: failed to count possible CPUs: %s", name, strerror(-ncpu));
		return ncpu ? ncpu : -EINVAL;
	}
	return ncpu;
}

int sampler_open(struct probe *p, size_t size, const char *name, const char *type, const char *unit,
		 int *ncpu, int *type_idx)
{
	p->priv = calloc(1, size);
	if (!p->priv)
		return -ENOMEM;
	*ncpu = sampler_ncpu(name);
	if (*ncpu < 0)
		return *ncpu;
	if (!type)
		return 0;
	*type_idx = profile__add_type(p->host->prof, type, unit);
	if (*type_idx < 0) {
		log_err("%s: failed to add sample type %s: %s", name, type, strerror(-*type_idx));
		return *type_idx;
	}
	return 0;
}

int sampler_ring__drain(struct sampler_ring *r, int type, uint64_t *nsamples, uint64_t *sum)
{
	const struct sonde_sample *rec;
	size_t off, len;
	int err = 0;

	rqueue_for_each(&r->q, off, rec, len)
	{
		err = stacks__add_value(r->host->stacks, rec, type, rec->value);
		if (err < 0)
			break;
		err = 0;
		(*nsamples)++;
		*sum += rec->value;
	}
	rqueue__clear(&r->q);
	return err;
}
