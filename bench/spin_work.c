// SPDX-License-Identifier: MIT
/*
 * Fixed CPU-bound work for overhead benchmarks: ITERATIONS calls of a small
 * function chain, then one line on stdout: "cpu_s wall_s" (its own CPU time
 * and wall time), so a profiler's cost to the target is read from the
 * target itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clk(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long leaf(unsigned long x)
{
	for (int i = 0; i < 64; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	return x;
}

__attribute__((noinline)) static unsigned long middle(unsigned long x)
{
	return leaf(x) ^ (x >> 7);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000000ul, x = 1;
	double c0 = clk(CLOCK_PROCESS_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);

	for (unsigned long i = 0; i < n; i++)
		x = middle(x + i);
	printf("%.6f %.6f %lu\n", clk(CLOCK_PROCESS_CPUTIME_ID) - c0, clk(CLOCK_MONOTONIC) - w0,
	       x & 1);
	return 0;
}
