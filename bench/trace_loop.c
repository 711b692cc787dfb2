// SPDX-License-Identifier: MIT
/*
 * Target of the sonde trace overhead benchmark: calls bench_fn() N times
 * in a tight loop (on each of THREADS threads) and prints the cost per
 * call, wall and thread CPU time. bench_fn is written in assembly so its
 * first instruction is a fixed 5-byte NOP whatever the compiler does: the
 * uprobe's cost depends on that instruction, and every configuration must
 * probe the same one.
 *
 * With --wait-probe it first waits until bench_fn's first byte changes (a
 * uprobe's breakpoint went in), then waits GRACE ms more so the tracer can
 * finish attaching, and only then starts the clock.
 *
 * usage: trace_loop N [THREADS] [--wait-probe]
 * prints: "calls N wall_ns_per_call X cpu_ns_per_call Y seconds S"
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GRACE_MS 500

__asm__(".pushsection .text\n"
	".globl bench_fn\n"
	".type bench_fn, @function\n"
	".p2align 4\n"
	"bench_fn:\n"
	/* nopl 0x0(%rax,%rax,1) spelt out: gas would drop the zero disp8. */
	".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"lea 1(%rdi), %rax\n"
	"ret\n"
	".size bench_fn, .-bench_fn\n"
	/*
	 * The same body as a compiler writes it: its first instruction (lea)
	 * must be single-stepped by the uprobe, the common case for small
	 * functions, and the ~10 us uprobe cost the goal assumes.
	 */
	".globl bench_fn_plain\n"
	".type bench_fn_plain, @function\n"
	".p2align 4\n"
	"bench_fn_plain:\n"
	"lea 1(%rdi), %rax\n"
	"ret\n"
	".size bench_fn_plain, .-bench_fn_plain\n"
	".popsection\n");
uint64_t bench_fn(uint64_t x);
uint64_t bench_fn_plain(uint64_t x);

/* TRACE_LOOP_FN=bench_fn_plain selects the plain function. */
static uint64_t (*fn)(uint64_t) = bench_fn;

static long iters;
static volatile uint64_t sink;

static uint64_t ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

struct result {
	uint64_t wall, cpu;
};

static void *worker(void *arg)
{
	struct result *r = arg;
	uint64_t w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_THREAD_CPUTIME_ID), acc = 0;

	for (long i = 0; i < iters; i++)
		acc = fn(acc);
	sink = acc;
	r->cpu = ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	r->wall = ns(CLOCK_MONOTONIC) - w0;
	return NULL;
}

static int wait_probe(void)
{
	volatile unsigned char *p = (volatile unsigned char *)fn;
	/*
	 * The first byte as assembled (NOP 0x0f, lea's REX 0x48), not a copy
	 * read at start: a fast tracer may win.
	 */
	const unsigned char b0 = fn == bench_fn ? 0x0f : 0x48;
	struct timespec tick = {0, 5000000L}, grace = {0, GRACE_MS * 1000000L};

	for (int i = 0; i < 12000; i++) {
		if (*p != b0) {
			nanosleep(&grace, NULL);
			return 0;
		}
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "trace_loop: no uprobe showed up in 60 s\n");
	return 1;
}

int main(int argc, char **argv)
{
	struct result res[64] = {0};
	pthread_t tids[64];
	int nthreads = 1;
	uint64_t w0, wall, cpu = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: trace_loop N [THREADS] [--wait-probe]\n");
		return 2;
	}
	if (getenv("TRACE_LOOP_FN") && !strcmp(getenv("TRACE_LOOP_FN"), "bench_fn_plain"))
		fn = bench_fn_plain;
	iters = atol(argv[1]);
	if (argc > 2 && strcmp(argv[2], "--wait-probe"))
		nthreads = atoi(argv[2]);
	if (nthreads < 1 || nthreads > 64 || iters < 1)
		return 2;
	if (!strcmp(argv[argc - 1], "--wait-probe") && wait_probe())
		return 1;
	w0 = ns(CLOCK_MONOTONIC);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&tids[i], NULL, worker, &res[i]);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(tids[i], NULL);
		cpu += res[i].cpu;
	}
	wall = ns(CLOCK_MONOTONIC) - w0;
	printf("calls %ld wall_ns_per_call %.1f cpu_ns_per_call %.1f seconds %.3f\n",
	       iters * nthreads, (double)res[0].wall / iters, (double)cpu / (iters * nthreads),
	       wall / 1e9);
	return 0;
}
