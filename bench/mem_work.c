// SPDX-License-Identifier: MIT
/*
 * Workloads of the memory and off-CPU probe benchmarks
 * (memprobes_overhead.sh), each timing its own loop:
 *
 *   mem_work switch N      two threads on one CPU ping-pong one byte over
 *                          two pipes N times: 2 blocking waits (and
 *                          wake-ups) per round trip; counts the process's
 *                          context switches (getrusage) over the loop
 *   mem_work alloc N SIZE [--wait SYM[+OFF]]
 *                          N x (malloc(SIZE), touch, free(p)) on one thread
 *   mem_work faults N MIB  N x (mmap MIB MiB, MADV_NOHUGEPAGE, touch every
 *                          page, munmap): N x MIB x 256 minor faults
 *
 * --wait: first wait until the libc function SYM's byte at +OFF became a
 * breakpoint (0xcc: a uprobe went in), then 500 ms more so the tracer
 * finishes attaching (the other probes of its set), then start the clock.
 *
 * prints: "events E cpu_ns C wall_ns W" (E: switches, calls or faults;
 * C: the process's CPU time over the loop, every thread)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int ping[2], pong[2];
static long rounds;
void *volatile sink;

static uint64_t ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static long switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static void *ponger(void *arg)
{
	char c;

	(void)arg;
	for (long i = 0; i < rounds; i++)
		if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
			exit(1);
	return NULL;
}

static long run_switch(long n)
{
	pthread_t t;
	long s0;
	char c = 'x';
	cpu_set_t one;

	/*
	 * Both threads on the last CPU: every switch goes from one to the
	 * other (no idle CPU in between), so each switch-out and switch-in
	 * runs in the process and its cost shows in its CPU time.
	 */
	CPU_ZERO(&one);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		exit(1);
	rounds = n;
	if (pipe(ping) || pipe(pong) || pthread_create(&t, NULL, ponger, NULL))
		exit(1);
	s0 = switches();
	for (long i = 0; i < n; i++)
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			exit(1);
	pthread_join(t, NULL);
	return switches() - s0;
}

static long run_alloc(long n, size_t size)
{
	for (long i = 0; i < n; i++) {
		char *p = malloc(size);

		if (!p)
			exit(1);
		p[0] = (char)i;
		sink = p;
		free(p);
	}
	return n;
}

static long run_faults(long n, size_t mib)
{
	size_t bytes = mib << 20;
	long f0 = minflt();

	for (long i = 0; i < n; i++) {
		volatile char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || madvise((void *)p, bytes, MADV_NOHUGEPAGE))
			exit(1);
		for (size_t off = 0; off < bytes; off += 4096)
			p[off] = 1;
		munmap((void *)p, bytes);
	}
	return minflt() - f0;
}

/* Wait for a uprobe on SYM[+OFF] of libc (see above). 0 or 1 on time-out. */
static int wait_probe(const char *spec)
{
	char name[128];
	const char *plus = strchr(spec, '+');
	long off = plus ? strtol(plus + 1, NULL, 0) : 0;
	volatile unsigned char *p;
	struct timespec tick = {0, 5000000L}, grace = {0, 500000000L};

	snprintf(name, sizeof(name), "%.*s", plus ? (int)(plus - spec) : (int)strlen(spec), spec);
	p = (volatile unsigned char *)dlsym(RTLD_DEFAULT, name);
	if (!p) {
		fprintf(stderr, "mem_work: no %s\n", name);
		return 1;
	}
	p += off;
	for (int i = 0; i < 12000; i++) {
		if (*p == 0xcc) {
			nanosleep(&grace, NULL);
			return 0;
		}
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "mem_work: no uprobe on %s in 60 s\n", spec);
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t w0, c0;
	long n, events;

	if (argc < 3) {
		fprintf(stderr, "usage: mem_work switch N | alloc N SIZE [--wait SYM[+OFF]] | "
				"faults N MIB\n");
		return 2;
	}
	n = atol(argv[2]);
	if (argc >= 6 && !strcmp(argv[4], "--wait") && wait_probe(argv[5]))
		return 1;
	w0 = ns(CLOCK_MONOTONIC);
	c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
	if (!strcmp(argv[1], "switch"))
		events = run_switch(n);
	else if (!strcmp(argv[1], "alloc") && argc >= 4)
		events = run_alloc(n, (size_t)atol(argv[3]));
	else if (!strcmp(argv[1], "faults") && argc >= 4)
		events = run_faults(n, (size_t)atol(argv[3]));
	else
		return 2;
	printf("events %ld cpu_ns %llu wall_ns %llu\n", events,
	       (unsigned long long)(ns(CLOCK_PROCESS_CPUTIME_ID) - c0),
	       (unsigned long long)(ns(CLOCK_MONOTONIC) - w0));
	return 0;
}
