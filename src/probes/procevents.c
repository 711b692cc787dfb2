// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "model/metrics.h"
#include "probes/bpf_stats.h"
#include "probes/mmapwatch.h"
#include "probes/procevents.h"
#include "probes/procwatch.h"
#include "probes/rqueue.h"
#include "probes/stacks.h"
#include "sonde/events.h"
#include "symbols/symbolize.h"
#include "procevents.skel.h"

/* Events held between ticks: execs come in bursts (a build, a shell loop). */
#define QUEUE_EVENTS 8192

struct procevents {
	struct procevents_bpf *skel;
	/*
	 * While stack probes run (host->stacks), a thread reads the ring and
	 * snapshots targets' maps (probes/procwatch.h); otherwise the
	 * session's ring buffer fills the queue.
	 */
	struct procwatch *pw;
	struct rqueue q;
	uint64_t events;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct procevents *pe = ctx;
	const struct sonde_proc_event *e = data;

	if (len < sizeof(*e) || e->kind != SONDE_EV_PROC)
		return 0;
	return rqueue__push(&pe->q, data, sizeof(*e));
}

static int pe_open(struct probe *p)
{
	const struct procevents_opts *o = p->opts;
	struct probe_host *h = p->host;
	bool watch_maps = h->stacks != NULL;
	struct mmapwatch *mw = NULL;
	struct procevents *pe;
	int err;

	pe = calloc(1, sizeof(*pe));
	if (!pe)
		return -ENOMEM;
	p->priv = pe;
	pe->skel = procevents_bpf__open();
	if (!pe->skel) {
		err = -errno;
		log_err("procevents: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	pe->skel->rodata->pidns_dev = h->pidns.dev;
	pe->skel->rodata->pidns_ino = h->pidns.ino;
	pe->skel->rodata->follow_forks = o->follow_forks;
	pe->skel->rodata->report_execs = o->report_execs;
	pe->skel->rodata->watch_maps = watch_maps;
	pe->skel->rodata->target_all = h->targets.all;
	/* A launched command's exec also makes it a target in full. */
	bpf_program__set_autoload(pe->skel->progs.on_exec,
				  o->report_execs || watch_maps || h->targets.launched);
	/*
	 * Mmaps of code for the stack probes' maps: from perf's mmap records,
	 * which cost nothing but a record per such mmap, or else (no perf
	 * events) from every syscall's exit on the host.
	 */
	if (watch_maps) {
		err = mmapwatch__new(&mw);
		if (err)
			log_warn("procevents: no perf mmap records (%s): mmaps are watched at "
				 "every syscall's exit",
				 strerror(-err));
	}
	bpf_program__set_autoload(pe->skel->progs.on_sys_exit, watch_maps && !mw);
	err = probe_reuse_targets(h, pe->skel->maps.targets, "procevents");
	if (!err) {
		err = procevents_bpf__load(pe->skel);
		if (err)
			log_err("procevents: failed to load BPF programs: %s", strerror(-err));
	}
	if (err) {
		mmapwatch__free(mw);
		return err;
	}
	if (watch_maps)
		return procwatch__new(pe->skel->maps.events, pe->skel->maps.targets, h->targets.all,
				      mw, &pe->pw);
	err = rqueue__init(&pe->q, QUEUE_EVENTS * sizeof(struct sonde_proc_event),
			   sizeof(struct sonde_proc_event));
	if (err)
		return err;
	return probe_add_ring(h, pe->skel->maps.events, on_event, pe, "procevents");
}

/* Attached at once: the target set is kept from the first fork on. */
static int pe_attach(struct probe *p)
{
	struct procevents *pe = p->priv;
	int err = procevents_bpf__attach(pe->skel);

	if (err)
		log_err("procevents: failed to attach the process tracepoints: %s",
			strerror(-err));
	return err;
}

/* One event to the host (a mapping is the stack probes' business only). */
static void deliver(struct probe *p, const struct sonde_proc_event *e)
{
	struct procevents *pe = p->priv;

	pe->events++;
	if (p->host->on_proc && e->op != SONDE_PROC_MMAP)
		p->host->on_proc(p->host->proc_ctx, e);
}

/* A record of procwatch: the maps to the stack probes first, then the event. */
static void on_rec(void *ctx, const struct procwatch_rec *r)
{
	struct probe *p = ctx;

	stacks__proc(p->host->stacks, r);
	deliver(p, &r->ev);
}

static int pe_tick(struct probe *p)
{
	struct procevents *pe = p->priv;
	const void *rec;
	size_t off, len;
	bool more;

	if (pe->pw) {
		/*
		 * Maps up to now, before the stack probes' ticks: every sample
		 * they hold was taken before now, so the exec or mmap that made
		 * its mapping is in.
		 */
		do {
			more = procwatch__catch_up(pe->pw);
			procwatch__drain(pe->pw, on_rec, p);
		} while (more);
		stacks__reap(p->host->stacks);
		return 0;
	}
	rqueue_for_each(&pe->q, off, rec, len)
		deliver(p, rec);
	rqueue__clear(&pe->q);
	return 0;
}

static uint64_t lost_events(struct probe *p)
{
	struct procevents *pe = p->priv;

	return bpf_stats_sum(pe->skel->maps.stats, SONDE_PSTAT_RB_DROPS) + pe->q.dropped;
}

static void pe_publish(struct probe *p, struct metrics *m)
{
	struct procevents *pe = p->priv;

	probe_count(m, PROBE_M_EVENTS, "procevents", "kind", "process", pe->events);
	probe_count(m, PROBE_M_DROPPED, "procevents", "reason", "ring_full",
		    bpf_stats_sum(pe->skel->maps.stats, SONDE_PSTAT_RB_DROPS));
	probe_count(m, PROBE_M_DROPPED, "procevents", "reason", "queue_full", pe->q.dropped);
	probe_count(m, PROBE_M_DROPPED, "procevents", "reason", "targets_full",
		    bpf_stats_sum(pe->skel->maps.stats, SONDE_PSTAT_TARGETS_FULL));
}

/* The stack probes' side: maps read, symbols, releases (-v). */
static void watch_details(struct probe *p)
{
	struct procevents *pe = p->priv;
	struct procwatch_stats ps;
	struct symbolizer_stats ss;
	struct stacks_stats st;

	procwatch__stats(pe->pw, &ps);
	symbolizer__stats(p->host->sym, &ss);
	stacks__stats(p->host->stacks, &st);
	log_info("procevents: symbols: %llu lookups, %llu unnamed; %llu files cached, %llu debug "
		 "files, %llu with DWARF open (%llu opens); %llu maps read; caches %llu KiB "
		 "(peak %llu KiB), %llu evicted for max_bytes, %llu too big to cache",
		 (unsigned long long)ss.lookups, (unsigned long long)ss.unresolved,
		 (unsigned long long)ss.files_cached, (unsigned long long)ss.debug_files,
		 (unsigned long long)ss.dwarf_open, (unsigned long long)ss.dwarf_opens,
		 (unsigned long long)ss.maps_reads, (unsigned long long)(ss.bytes >> 10),
		 (unsigned long long)(ss.bytes_peak >> 10), (unsigned long long)ss.budget_evictions,
		 (unsigned long long)ss.oversized);
	log_info("procevents: %llu events, %llu lost; %llu forks, %llu execs, %llu mmaps "
		 "(%llu merged) of targets, %llu exits released; %llu processes gone before "
		 "their maps were read, %llu snapshots dropped, %llu stalls",
		 (unsigned long long)ps.events, (unsigned long long)lost_events(p),
		 (unsigned long long)st.forks, (unsigned long long)st.execs,
		 (unsigned long long)st.mmaps, (unsigned long long)ps.merged,
		 (unsigned long long)st.exits, (unsigned long long)ps.gone,
		 (unsigned long long)ps.dropped, (unsigned long long)ps.stalls);
	if (ps.mmaps_lost)
		log_warn("procevents: %llu mmaps of code not seen (perf's ring full): libraries "
			 "loaded then are named when their process is read again",
			 (unsigned long long)ps.mmaps_lost);
}

/* What went wrong (a lost event is a process followed late or not at all); with -v, figures. */
static void pe_details(struct probe *p)
{
	struct procevents *pe = p->priv;
	uint64_t lost = lost_events(p),
		 full = bpf_stats_sum(pe->skel->maps.stats, SONDE_PSTAT_TARGETS_FULL);

	if (pe->pw)
		watch_details(p);
	if (lost)
		log_warn("procevents: %llu process events lost (exec, fork, exit): processes "
			 "were followed late or not at all",
			 (unsigned long long)lost);
	if (full)
		log_warn("procevents: %llu forked processes not followed: the target map was "
			 "full (raise --max-pids)",
			 (unsigned long long)full);
}

static void pe_stop(struct probe *p)
{
	struct procevents *pe = p->priv;

	procevents_bpf__detach(pe->skel);
}

static void pe_free(struct probe *p)
{
	struct procevents *pe = p->priv;

	if (!pe)
		return;
	/* The thread reads the ring: stopped before the ring goes. */
	procwatch__free(pe->pw);
	procevents_bpf__destroy(pe->skel);
	rqueue__free(&pe->q);
	free(pe);
	p->priv = NULL;
}

const struct probe_ops procevents_probe_ops = {
	.name = "procevents",
	.open = pe_open,
	.attach = pe_attach,
	.tick = pe_tick,
	.publish = pe_publish,
	.stop = pe_stop,
	.details = pe_details,
	.free = pe_free,
};
