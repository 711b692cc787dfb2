// SPDX-License-Identifier: MIT
/*
 * sonde-demo: the built-in demo target. A few seconds of recognisable CPU
 * work in a small call tree, so the first flame graph a user makes has
 * something to show: render_mandelbrot ~50 %, sort_records ~30 %,
 * hash_strings ~20 %.
 *
 *   sonde-demo [SECONDS]      (default 3)
 *   sonde-demo llm-server | llm PORT [ROUNDS]   LLM calls (demo_llm.c)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo/demo.h"

static volatile uint64_t sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static int mandel_point(double cr, double ci)
{
	double zr = 0, zi = 0;
	int i;

	for (i = 0; i < 256 && zr * zr + zi * zi < 4; i++) {
		double t = zr * zr - zi * zi + cr;

		zi = 2 * zr * zi + ci;
		zr = t;
	}
	return i;
}

__attribute__((noinline)) static void render_mandelbrot(double budget)
{
	double end = now() + budget;
	uint64_t acc = 0;

	while (now() < end)
		for (int y = 0; y < 40; y++)
			for (int x = 0; x < 80; x++)
				acc += mandel_point(-2.0 + x * 0.0375, -1.0 + y * 0.05);
	sink += acc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

__attribute__((noinline)) static void sort_records(double budget)
{
	static uint32_t v[4096];
	double end = now() + budget;
	uint32_t seed = 1;

	while (now() < end) {
		for (size_t i = 0; i < 4096; i++) {
			seed = seed * 1664525u + 1013904223u;
			v[i] = seed;
		}
		qsort(v, 4096, sizeof(v[0]), cmp_u32);
	}
	sink += v[0];
}

__attribute__((noinline)) static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

__attribute__((noinline)) static void hash_strings(double budget)
{
	double end = now() + budget;
	char buf[64];
	uint64_t acc = 0;

	/* The clock is a system call: read it every 1024 strings, not each. */
	for (unsigned int i = 0; (i & 1023) || now() < end; i++) {
		snprintf(buf, sizeof(buf), "request-%u-user-%u", i, i * 7);
		acc ^= fnv1a(buf);
	}
	sink += acc;
}

__attribute__((noinline)) static void run_demo(double seconds)
{
	/* Interleave in slices so any part of a run shows all three. */
	for (double done = 0; done < seconds; done += 0.1) {
		render_mandelbrot(0.05);
		sort_records(0.03);
		hash_strings(0.02);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: sonde-demo [SECONDS] | llm-server | llm PORT [ROUNDS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	double seconds;

	if (argc == 2 && !strcmp(argv[1], "llm-server"))
		return demo_llm_server();
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "llm")) {
		int port = atoi(argv[2]), rounds = argc == 4 ? atoi(argv[3]) : 4;

		if (port <= 0 || port > 65535 || rounds <= 0 || rounds > 1000)
			return usage();
		return demo_llm_client(port, rounds);
	}
	seconds = argc == 2 ? atof(argv[1]) : argc == 1 ? 3 : 0;
	if (seconds <= 0 || seconds > 3600)
		return usage();
	run_demo(seconds);
	return 0;
}
