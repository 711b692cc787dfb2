// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "probes/mmapwatch.h"
#include "probes/probe.h"
#include "probes/procwatch.h"
#include "sonde/events.h"
#include "symbols/procmaps.h"

/* A full queue: the thread waits this long for the collector before it looks again. */
#define POLL_MS 50
/* Its nice: ahead of the busy processes it watches. */
#define WATCH_NICE (-10)

struct rec {
	struct rec *next;
	struct sonde_proc_event ev;
	int same_root;
	char *maps;
	size_t len;
};

struct procwatch {
	struct ring_buffer *rb;
	struct mmapwatch *mw; /* the mmaps of code, when not from the ring */
	int targets_fd;	      /* the session's target map, for mw's records */
	bool target_all;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	int stop_fd; /* an eventfd: written to stop the thread out of its poll */
	/* Held while consuming the ring: the thread, or a catch-up by the collector. */
	pthread_mutex_t consume;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t drained;
	struct rec *head, *tail;
	size_t bytes, nrecs;
	struct procwatch_stats st;
};

/* Whether @pid's root is ours: then its files outlive it at their paths. */
static int same_root(uint32_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%u/root/", pid);
	return !stat(path, &a) && !stat("/", &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Queue @r; PROBE_QUEUE_FULL when the queue is at PROCWATCH_MAX_RECS. */
static int push(struct procwatch *pw, struct rec *r)
{
	struct rec *t;
	int ret;

	pthread_mutex_lock(&pw->lock);
	t = pw->tail;
	pw->st.events++;
	if (r->maps)
		pw->st.snapshots++;
	else if ((r->ev.flags & SONDE_PROC_F_TARGET) && r->ev.op != SONDE_PROC_EXIT)
		pw->st.gone++;
	if (r->maps && pw->bytes + r->len > PROCWATCH_MAX_BYTES) {
		pw->st.dropped++;
		free(r->maps);
		r->maps = NULL;
		r->len = 0;
	}
	/* A burst of mmaps by ld.so: the newest maps hold the older ones. */
	if (r->ev.op == SONDE_PROC_MMAP && r->maps && t && t->ev.pid == r->ev.pid &&
	    t->ev.op != SONDE_PROC_EXIT && (t->ev.flags & SONDE_PROC_F_TARGET)) {
		pw->bytes -= t->len;
		free(t->maps);
		t->maps = r->maps;
		t->len = r->len;
		t->same_root = r->same_root;
		pw->bytes += r->len;
		pw->st.merged++;
		free(r);
	} else {
		pw->bytes += r->len;
		pw->nrecs++;
		if (t)
			t->next = r;
		else
			pw->head = r;
		pw->tail = r;
	}
	ret = pw->nrecs >= PROCWATCH_MAX_RECS ? PROBE_QUEUE_FULL : 0;
	pthread_mutex_unlock(&pw->lock);
	return ret;
}

/* Queue event @ev, with the maps of a target's process read now. */
static int take(struct procwatch *pw, const struct sonde_proc_event *ev)
{
	struct rec *r = calloc(1, sizeof(*r));

	if (!r)
		return 0;
	r->ev = *ev;
	/* A target's maps, while it lives: what its samples will need. */
	if ((ev->flags & SONDE_PROC_F_TARGET) && ev->op != SONDE_PROC_EXIT) {
		r->same_root = same_root(ev->pid);
		/* ESRCH: the process exited before we could read it. */
		procmaps__read_text((pid_t)ev->pid, &r->maps);
		r->len = r->maps ? strlen(r->maps) : 0;
		/* The reader's buffer starts at 16 KiB: keep only the text, or a backlog multiplies. */
		if (r->maps) {
			char *fit = realloc(r->maps, r->len + 1);

			if (fit)
				r->maps = fit;
		}
	}
	return push(pw, r);
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct sonde_proc_event *ev = data;

	if (len < sizeof(*ev) || ev->kind != SONDE_EV_PROC)
		return 0;
	return take(ctx, ev);
}

/* A file mapped executable, from perf: an mmap event as the BPF side would send it. */
static void on_mmap(void *ctx, const struct mmapwatch_ev *m)
{
	struct procwatch *pw = ctx;
	struct sonde_proc_event ev = {
		.kind = SONDE_EV_PROC,
		.op = SONDE_PROC_MMAP,
		.pid = m->pid,
		.time_ns = m->time_ns,
		.addr = m->addr,
		.len = m->len,
	};
	uint32_t state;

	/* PID 0: a process outside sonde's PID namespace. */
	if (!m->pid || (!pw->target_all && bpf_map_lookup_elem(pw->targets_fd, &ev.pid, &state)))
		return;
	ev.flags = SONDE_PROC_F_TARGET;
	/* Queued over PROCWATCH_MAX_RECS too: perf's rings hold a few hundred at most. */
	take(pw, &ev);
}

static int consume(struct procwatch *pw)
{
	int err;

	pthread_mutex_lock(&pw->consume);
	err = ring_buffer__consume(pw->rb);
	if (err >= 0 && pw->mw) {
		mmapwatch__read(pw->mw, on_mmap, pw);
		pthread_mutex_lock(&pw->lock);
		pw->st.mmaps_lost = mmapwatch__lost(pw->mw);
		if (pw->nrecs >= PROCWATCH_MAX_RECS)
			err = PROBE_QUEUE_FULL;
		pthread_mutex_unlock(&pw->lock);
	}
	pthread_mutex_unlock(&pw->consume);
	return err;
}

static void *run(void *arg)
{
	struct procwatch *pw = arg;
	int nfd = 2 + mmapwatch__nfds(pw->mw);
	struct pollfd pfd[nfd];

	pfd[0] = (struct pollfd){.fd = ring_buffer__epoll_fd(pw->rb), .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = pw->stop_fd, .events = POLLIN};
	for (int i = 2; i < nfd; i++)
		pfd[i] = (struct pollfd){.fd = mmapwatch__fd(pw->mw, i - 2), .events = POLLIN};

	/* Ahead of the busy processes it watches: their maps must be read before they exit. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WATCH_NICE);
	while (!atomic_load(&pw->stop)) {
		/* Woken by an event or the stop only: no timer wakeups while the host is quiet. */
		int err, n = poll(pfd, (nfds_t)nfd, -1);

		if (n < 0 && errno != EINTR) {
			log_err("procevents: failed to wait for process events: %s",
				strerror(errno));
			break;
		}
		err = consume(pw);
		if (err == PROBE_QUEUE_FULL) {
			/* The collector is behind: the ring holds the rest until it drains. */
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += POLL_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&pw->lock);
			pw->st.stalls++;
			while (pw->nrecs >= PROCWATCH_MAX_RECS && !atomic_load(&pw->stop))
				if (pthread_cond_timedwait(&pw->drained, &pw->lock, &until))
					break;
			pthread_mutex_unlock(&pw->lock);
		} else if (err < 0 && err != -EINTR) {
			log_err("procevents: failed to read process events: %s", strerror(-err));
			break;
		}
	}
	return NULL;
}

bool procwatch__catch_up(struct procwatch *pw)
{
	return consume(pw) == PROBE_QUEUE_FULL;
}

int procwatch__new(const struct bpf_map *map, const struct bpf_map *targets, bool target_all,
		   struct mmapwatch *mw, struct procwatch **out)
{
	struct procwatch *pw = calloc(1, sizeof(*pw));
	sigset_t all, old;
	int err;

	*out = NULL;
	if (!pw) {
		mmapwatch__free(mw);
		return -ENOMEM;
	}
	pw->mw = mw;
	pw->targets_fd = bpf_map__fd(targets);
	pw->target_all = target_all;
	pthread_mutex_init(&pw->lock, NULL);
	pthread_mutex_init(&pw->consume, NULL);
	pthread_cond_init(&pw->drained, NULL);
	pw->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (pw->stop_fd < 0) {
		err = -errno;
		log_err("procevents: failed to create an eventfd: %s", strerror(errno));
		procwatch__free(pw);
		return err;
	}
	pw->rb = ring_buffer__new(bpf_map__fd(map), on_event, pw, NULL);
	if (!pw->rb) {
		err = -errno;
		log_err("procevents: failed to create ring buffer: %s", strerror(errno));
		procwatch__free(pw);
		return err;
	}
	/* SIGINT and SIGTERM stay with the run loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&pw->thread, NULL, run, pw);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_err("procevents: failed to start the process event thread: %s", strerror(-err));
		procwatch__free(pw);
		return err;
	}
	pw->started = true;
	*out = pw;
	return 0;
}

void procwatch__drain(struct procwatch *pw, void (*fn)(void *ctx, const struct procwatch_rec *r),
		      void *ctx)
{
	struct rec *r, *next;

	pthread_mutex_lock(&pw->lock);
	r = pw->head;
	pw->head = pw->tail = NULL;
	pw->bytes = 0;
	pw->nrecs = 0;
	pthread_cond_signal(&pw->drained);
	pthread_mutex_unlock(&pw->lock);
	for (; r; r = next) {
		struct procwatch_rec pr = {r->ev, r->same_root, r->maps};

		next = r->next;
		fn(ctx, &pr);
		free(r->maps);
		free(r);
	}
}

void procwatch__stats(struct procwatch *pw, struct procwatch_stats *st)
{
	pthread_mutex_lock(&pw->lock);
	*st = pw->st;
	pthread_mutex_unlock(&pw->lock);
}

void procwatch__free(struct procwatch *pw)
{
	struct rec *r, *next;

	if (!pw)
		return;
	if (pw->started) {
		uint64_t one = 1;

		atomic_store(&pw->stop, true);
		if (write(pw->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("procevents: failed to wake the process event thread: %s",
				 strerror(errno));
		pthread_join(pw->thread, NULL);
	}
	if (pw->stop_fd >= 0)
		close(pw->stop_fd);
	ring_buffer__free(pw->rb);
	mmapwatch__free(pw->mw);
	for (r = pw->head; r; r = next) {
		next = r->next;
		free(r->maps);
		free(r);
	}
	pthread_cond_destroy(&pw->drained);
	pthread_mutex_destroy(&pw->lock);
	pthread_mutex_destroy(&pw->consume);
	free(pw);
}
