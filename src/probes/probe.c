// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "model/metrics.h"
#include "probes/probe.h"
#include "sonde/events.h"

int probe_add_ring(struct probe_host *h, const struct bpf_map *map, ring_buffer_sample_fn fn,
		   void *ctx, const char *probe_name)
{
	int fd = bpf_map__fd(map), err;

	if (!h->rb) {
		h->rb = ring_buffer__new(fd, fn, ctx, NULL);
		if (!h->rb) {
			err = -errno;
			log_err("%s: failed to create ring buffer: %s", probe_name, strerror(errno));
			return err;
		}
		return 0;
	}
	err = ring_buffer__add(h->rb, fd, fn, ctx);
	if (err)
		log_err("%s: failed to add ring buffer: %s", probe_name, strerror(-err));
	return err;
}

/* The initial PID namespace's inode number (PROC_PID_INIT_INO, fixed by the kernel). */
#define PID_INIT_INO 0xEFFFFFFCu

int probe_pidns_self(struct probe_pidns *out)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (stat("/proc/self/ns/pid", &st))
		return -errno;
	/*
	 * /proc/self/status NSpid cannot tell: a container's own /proc shows
	 * only its namespace's PIDs. The initial namespace's inode can.
	 */
	if (st.st_ino == PID_INIT_INO)
		return 0;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
}

int probe__open(struct probe *p)
{
	return p->ops->open(p);
}

int probe__attach(struct probe *p)
{
	return p->ops->attach ? p->ops->attach(p) : 0;
}

int probe__arm(struct probe *p, bool on)
{
	return p->ops->arm ? p->ops->arm(p, on) : 0;
}

int probe__tick(struct probe *p)
{
	return p->ops->tick ? p->ops->tick(p) : 0;
}

void probe__publish(struct probe *p, struct metrics *m)
{
	if (p->ops->publish)
		p->ops->publish(p, m);
}

void probe__stop(struct probe *p)
{
	if (p->ops->stop)
		p->ops->stop(p);
}

int probe__finish(struct probe *p)
{
	return p->ops->finish ? p->ops->finish(p) : 0;
}

int probe__report(struct probe *p, FILE *f)
{
	return p->ops->report ? p->ops->report(p, f) : 0;
}

void probe__summary(struct probe *p, struct log_line *l)
{
	if (p->ops->summary)
		p->ops->summary(p, l);
}

void probe__details(struct probe *p)
{
	if (p->ops->details)
		p->ops->details(p);
}

int probe__add_pid(struct probe *p, pid_t pid)
{
	return p->ops->add_pid ? p->ops->add_pid(p, pid) : 0;
}

void probe__remove_pid(struct probe *p, pid_t pid)
{
	if (p->ops->remove_pid)
		p->ops->remove_pid(p, pid);
}

static int targets_put(struct probe_host *h, pid_t pid, __u32 state)
{
	__u32 key = (__u32)pid;

	if (h->targets_fd < 0)
		return 0;
	return bpf_map_update_elem(h->targets_fd, &key, &state, BPF_ANY) ? -errno : 0;
}

int probe_targets_create(struct probe_host *h, unsigned int max)
{
	const struct probe_targets *t = &h->targets;
	int err;

	h->targets_fd = -1;
	if (t->all)
		return 0;
	h->targets_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "sonde_targets", sizeof(__u32),
				       sizeof(__u32), max ? max : 1, NULL);
	if (h->targets_fd < 0) {
		err = -errno;
		log_err("session: failed to create the target map (%u entries): %s", max,
			strerror(errno));
		return err;
	}
	for (int i = 0; i < t->npids; i++) {
		/* A launched command counts from its exec on (bpf/procevents.bpf.c). */
		err = targets_put(h, t->pids[i],
				  t->launched ? SONDE_TARGET_PRE_EXEC : SONDE_TARGET_ON);
		if (err) {
			log_err("session: failed to add PID %d to the target map: %s", t->pids[i],
				strerror(-err));
			return err;
		}
	}
	return 0;
}

int probe_reuse_targets(struct probe_host *h, struct bpf_map *map, const char *probe_name)
{
	int err;

	if (h->targets_fd < 0)
		return bpf_map__set_max_entries(map, 1);
	err = bpf_map__reuse_fd(map, h->targets_fd);
	if (err)
		log_err("%s: failed to share the target map: %s", probe_name, strerror(-err));
	return err;
}

int probe_targets_add(struct probe_host *h, pid_t pid)
{
	return targets_put(h, pid, SONDE_TARGET_ON);
}

int probe_targets_remove(struct probe_host *h, pid_t pid)
{
	__u32 key = (__u32)pid;

	if (h->targets_fd < 0)
		return 0;
	return bpf_map_delete_elem(h->targets_fd, &key) && errno != ENOENT ? -errno : 0;
}

void probe_count(struct metrics *m, const char *family, const char *probe, const char *key,
		 const char *val, uint64_t v)
{
	struct metric_label l[2] = {{"probe", probe}, {key, val}};
	const char *help = !strcmp(family, PROBE_M_EVENTS)
				   ? "Events sonde handled, by probe and kind (cpu: sample; "
				     "uprobe: call, span)."
				   : "Events lost or left untimed, by probe and reason (ring_full, "
				     "queue_full, max_depth, max_threads).";

	/* Idempotent; -E2BIG (the series cap) is counted by the registry itself. */
	metrics__declare(m, family, METRIC_COUNTER, help, NULL, 0);
	metrics__counter_set(m, family, l, 2, (double)v);
}

void probe_read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

void probe__free(struct probe *p)
{
	if (p && p->ops)
		p->ops->free(p);
}
