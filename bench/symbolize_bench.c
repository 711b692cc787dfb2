// SPDX-License-Identifier: MIT
/*
 * Symbolization throughput and memory on a live process.
 *
 *   symbolize_bench PID            every function of the PID's main
 *                                  executable and libc, at mid-function
 *   symbolize_bench PID ADDRS      the hex addresses in file ADDRS
 *
 * For each set, with DWARF and without: a cold pass (fresh symbolizer:
 * symbol tables, debug files and DWARF loaded on the way) and a warm pass
 * over the same addresses (the symbolizer has no per-address cache, so
 * warm is the steady-state cost of one lookup). Memory per cached file is
 * the growth of RSS (file pages touched included) and of the heap while
 * that file's addresses are resolved for the first time, beside what the
 * symbolizer counts for its byte budget (max_bytes, 0 here).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "symbols/debuginfo.h"
#include "symbols/elfsyms.h"
#include "symbols/procmaps.h"
#include "symbols/symbolize.h"

struct addrs {
	uint64_t *v;
	size_t n, cap;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static int push(struct addrs *a, uint64_t v)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4096;
		uint64_t *nv = realloc(a->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n++] = v;
	return 0;
}

/* The symbols of @path with its debug file's, as the symbolizer sees them. */
static struct elfsyms *open_full(const char *path)
{
	struct elfsyms *e = elfsyms__open(path), *full;
	struct debuginfo_query q = {.path = path};
	char dpath[4096];

	if (!e)
		return NULL;
	q.build_id = elfsyms__build_id(e);
	q.debuglink = elfsyms__debuglink(e, &q.debuglink_crc);
	if (elfsyms__source(e) == ELFSYMS_SRC_SYMTAB || debuginfo__find(&q, dpath, sizeof(dpath)))
		return e;
	full = elfsyms__open_debug(path, dpath);
	if (!full)
		return e;
	elfsyms__free(e);
	return full;
}

/* Mid-function runtime addresses of every function of the file mapped at @m. */
static int file_addrs(const struct procmaps *pm, const char *path, struct addrs *out)
{
	struct elfsyms *e = open_full(path);
	size_t i, j;

	if (!e)
		return -errno;
	for (i = 0; i < elfsyms__count(e); i++) {
		const struct elfsym *s = elfsyms__at(e, i);
		uint64_t off;

		if (elfsyms__vaddr_to_off(e, s->addr + s->size / 2, &off))
			continue;
		for (j = 0; j < pm->nr; j++) {
			const struct procmap *m = &pm->maps[j];

			if (!strcmp(m->path, path) && off >= m->pgoff &&
			    off - m->pgoff < m->end - m->start) {
				if (push(out, m->start + off - m->pgoff))
					return -ENOMEM;
				break;
			}
		}
	}
	elfsyms__free(e);
	return 0;
}

struct pass {
	double secs;
	uint64_t named, with_line, inline_frames;
};

static void run(struct symbolizer *s, pid_t pid, const struct addrs *a, struct pass *p)
{
	double t0 = now_s();
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < a->n; i++) {
		struct sym_result r;

		if (symbolizer__resolve_user(s, pid, a->v[i], &r))
			continue;
		p->named += r.nframes > 0;
		p->with_line += r.nframes > 0 && r.frames[0].line > 0;
		p->inline_frames += r.nframes > 1 ? (uint64_t)r.nframes - 1 : 0;
	}
	p->secs = now_s() - t0;
}

static void report(const char *what, size_t n, const struct pass *p)
{
	printf("  %-22s %8zu addrs %8.3f s %10.0f addr/s %7.2f us/addr  named %" PRIu64
	       " with line %" PRIu64 " inline frames %" PRIu64 "\n",
	       what, n, p->secs, n / p->secs, p->secs * 1e6 / n, p->named, p->with_line,
	       p->inline_frames);
}

static void bench_set(const char *name, pid_t pid, const struct addrs *a)
{
	int dwarf;

	printf("%s:\n", name);
	for (dwarf = 1; dwarf >= 0; dwarf--) {
		struct symbolizer_opts o = {.sz = sizeof(o), .no_dwarf = !dwarf};
		struct symbolizer *s = symbolizer__new(&o);
		long rss0 = rss_kib();
		size_t heap0 = heap_bytes();
		struct symbolizer_stats st;
		struct pass cold, warm;

		if (!s)
			exit(1);
		run(s, pid, a, &cold);
		symbolizer__stats(s, &st);
		printf("  [%s] memory: RSS +%ld KiB, heap +%zu KiB; the caches count %llu KiB "
		       "(max_bytes)\n",
		       dwarf ? "dwarf" : "symbols", rss_kib() - rss0, (heap_bytes() - heap0) / 1024,
		       (unsigned long long)(st.bytes >> 10));
		run(s, pid, a, &warm);
		report(dwarf ? "cold, DWARF" : "cold, symbols only", a->n, &cold);
		report(dwarf ? "warm, DWARF" : "warm, symbols only", a->n, &warm);
		symbolizer__free(s);
		malloc_trim(0);
	}
}

/*
 * "HEX" (a runtime address) or "HEX (PATH)" lines: perf script -F ip,dso
 * prints the file offset in PATH, turned here into the address where
 * @pm maps that offset.
 */
static int read_addrs(const char *path, const struct procmaps *pm, struct addrs *a)
{
	FILE *f = fopen(path, "r");
	char line[4200];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *end, *open_p, *close_p;
		uint64_t v = strtoull(line, &end, 16);
		size_t i;

		if (end == line)
			continue;
		open_p = strchr(end, '(');
		close_p = open_p ? strrchr(open_p, ')') : NULL;
		if (open_p && close_p) {
			*close_p = '\0';
			for (i = 0; i < pm->nr; i++) {
				const struct procmap *m = &pm->maps[i];

				if (!strcmp(m->path, open_p + 1) && v >= m->pgoff &&
				    v - m->pgoff < m->end - m->start)
					break;
			}
			if (i == pm->nr)
				continue;
			v = pm->maps[i].start + v - pm->maps[i].pgoff;
		}
		if (push(a, v)) {
			fclose(f);
			return -ENOMEM;
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct addrs exe = {0}, libc = {0}, all = {0};
	char exe_path[4096] = "", libc_path[4096] = "";
	struct procmaps pm;
	pid_t pid;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: symbolize_bench PID [ADDR_FILE]\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	if (procmaps__read(pid, &pm)) {
		fprintf(stderr, "symbolize_bench: failed to read maps of %d\n", (int)pid);
		return 1;
	}
	if (argc > 2) {
		if (read_addrs(argv[2], &pm, &all)) {
			fprintf(stderr, "symbolize_bench: failed to read %s\n", argv[2]);
			return 1;
		}
		bench_set("recorded addresses", pid, &all);
		procmaps__clear(&pm);
		free(all.v);
		return 0;
	}
	for (i = 0; i < pm.nr; i++) {
		const char *p = pm.maps[i].path;

		if (p[0] == '/' && !exe_path[0] && !strstr(p, ".so"))
			snprintf(exe_path, sizeof(exe_path), "%s", p);
		if (strstr(p, "/libc.so.6"))
			snprintf(libc_path, sizeof(libc_path), "%s", p);
	}
	if (!exe_path[0] || !libc_path[0] || file_addrs(&pm, exe_path, &exe) ||
	    file_addrs(&pm, libc_path, &libc)) {
		fprintf(stderr, "symbolize_bench: no executable or libc in %d\n", (int)pid);
		return 1;
	}
	bench_set(exe_path, pid, &exe);
	bench_set(libc_path, pid, &libc);
	procmaps__clear(&pm);
	free(exe.v);
	free(libc.v);
	return 0;
}
