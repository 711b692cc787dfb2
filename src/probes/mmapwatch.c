// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "probes/mmapwatch.h"
#include "probes/perfev.h"

/* Data pages per CPU (a power of two): ~300 records of a usual path between reads. */
#define RING_PAGES 8
/* The longest record read whole: a header, the fixed fields and a PATH_MAX name. */
#define REC_MAX (128 + 4096)

struct ring {
	int fd;
	void *base; /* the control page, then the data pages */
	size_t map_len;
};

struct mmapwatch {
	struct ring *rings;
	int n;
	uint64_t lost, records;
	unsigned char rec[REC_MAX];
};

/* PERF_RECORD_MMAP2 up to its file name; sample_id_all's {pid, tid, time} end it. */
struct mmap2_head {
	struct perf_event_header h;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
};

struct sample_id {
	uint32_t pid, tid;
	uint64_t time;
};

static int open_ring(int cpu, struct ring *r)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME,
		.mmap = 1,
		.mmap2 = 1,
		.sample_id_all = 1,
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
		.watermark = 1,
		.wakeup_watermark = 1, /* woken at the first byte: maps are read while they last */
	};
	long page = sysconf(_SC_PAGESIZE);

	r->fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	r->map_len = (size_t)(1 + RING_PAGES) * (size_t)page;
	r->base = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->base == MAP_FAILED) {
		int err = -errno;

		r->base = NULL;
		close(r->fd);
		r->fd = -1;
		return err;
	}
	return 0;
}

int mmapwatch__new(struct mmapwatch **out)
{
	struct mmapwatch *m;
	int *cpus = NULL, ncpu, err = 0;

	*out = NULL;
	ncpu = cpus_online(&cpus);
	if (ncpu < 0)
		return ncpu;
	m = calloc(1, sizeof(*m));
	if (m)
		m->rings = calloc((size_t)ncpu, sizeof(*m->rings));
	if (!m || !m->rings) {
		free(cpus);
		mmapwatch__free(m);
		return -ENOMEM;
	}
	for (int i = 0; i < ncpu && !err; i++) {
		err = open_ring(cpus[i], &m->rings[m->n]);
		if (!err)
			m->n++;
		else if (err == -ENODEV) /* a CPU gone offline since the list was read */
			err = 0;
	}
	free(cpus);
	if (err || !m->n) {
		mmapwatch__free(m);
		return err ? err : -ENODEV;
	}
	*out = m;
	return 0;
}

int mmapwatch__nfds(const struct mmapwatch *m)
{
	return m ? m->n : 0;
}

int mmapwatch__fd(const struct mmapwatch *m, int i)
{
	return m->rings[i].fd;
}

/* @len bytes at ring position @pos into @dst, across the end of the data area. */
static void copy_out(const unsigned char *data, uint64_t size, uint64_t pos, void *dst, size_t len)
{
	uint64_t off = pos & (size - 1);
	size_t first = len < size - off ? len : (size_t)(size - off);

	memcpy(dst, data + off, first);
	memcpy((unsigned char *)dst + first, data, len - first);
}

static void handle(struct mmapwatch *m, size_t len,
		   void (*fn)(void *ctx, const struct mmapwatch_ev *e), void *ctx)
{
	const struct perf_event_header *h = (const void *)m->rec;
	const struct mmap2_head *r = (const void *)m->rec;
	struct sample_id sid;
	const char *name;
	size_t name_max;

	if (h->type == PERF_RECORD_LOST && len >= sizeof(*h) + 16) {
		uint64_t lost;

		memcpy(&lost, m->rec + sizeof(*h) + 8, sizeof(lost));
		m->lost += lost;
		return;
	}
	if (h->type != PERF_RECORD_MMAP2 || len < sizeof(*r) + sizeof(sid) + 1)
		return;
	m->records++;
	memcpy(&sid, m->rec + len - sizeof(sid), sizeof(sid));
	name = (const char *)m->rec + sizeof(*r);
	name_max = len - sizeof(*r) - sizeof(sid);
	/* A file: not "//anon" (JIT code), "[vdso]" or a name not ended in the record. */
	if (name[0] != '/' || name[1] == '/' || !memchr(name, '\0', name_max))
		return;
	fn(ctx, &(struct mmapwatch_ev){.pid = r->pid,
				       .tid = r->tid,
				       .addr = r->addr,
				       .len = r->len,
				       .time_ns = sid.time});
}

static void read_ring(struct mmapwatch *m, struct ring *rg,
		      void (*fn)(void *ctx, const struct mmapwatch_ev *e), void *ctx)
{
	struct perf_event_mmap_page *mp = rg->base;
	const unsigned char *data = (const unsigned char *)rg->base + mp->data_offset;
	uint64_t size = mp->data_size, head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = mp->data_tail;

	while (head - tail >= sizeof(struct perf_event_header)) {
		struct perf_event_header h;

		copy_out(data, size, tail, &h, sizeof(h));
		/* A record the kernel cannot have written: drop what is left. */
		if (h.size < sizeof(h) || h.size > head - tail) {
			tail = head;
			break;
		}
		if (h.size <= sizeof(m->rec)) {
			copy_out(data, size, tail, m->rec, h.size);
			handle(m, h.size, fn, ctx);
		}
		tail += h.size;
	}
	__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}

void mmapwatch__read(struct mmapwatch *m, void (*fn)(void *ctx, const struct mmapwatch_ev *e),
		     void *ctx)
{
	for (int i = 0; m && i < m->n; i++)
		read_ring(m, &m->rings[i], fn, ctx);
}

uint64_t mmapwatch__lost(const struct mmapwatch *m)
{
	return m ? m->lost : 0;
}

uint64_t mmapwatch__records(const struct mmapwatch *m)
{
	return m ? m->records : 0;
}

void mmapwatch__free(struct mmapwatch *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n; i++) {
		munmap(m->rings[i].base, m->rings[i].map_len);
		close(m->rings[i].fd);
	}
	free(m->rings);
	free(m);
}
