// SPDX-License-Identifier: MIT
/*
 * sonde's own memory as memory_limit counts it: 32 MiB touched shows in
 * the heap part, given back leaves it; a BPF map (as root) counts its
 * memlock and nothing of a test process without one.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "base/selfmem.h"

#define MIB (1024 * 1024)

Test(selfmem, heap_and_maps)
{
	struct selfmem before, during, after;
	size_t len = 32 * MIB;
	char *p;
	int fd;

	cr_assert_eq(selfmem_read(&before), 0);
	cr_assert_gt(before.anon, 0);
	cr_assert_geq(before.rss, before.anon);
	cr_assert_eq(before.nmaps, 0);
	cr_assert_eq(before.maps, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	memset(p, 1, len);
	cr_assert_eq(selfmem_read(&during), 0);
	cr_assert_geq(during.anon, before.anon + len, "%llu then %llu",
		      (unsigned long long)before.anon, (unsigned long long)during.anon);
	munmap(p, len);
	cr_assert_eq(selfmem_read(&after), 0);
	cr_assert_lt(after.anon, during.anon - len / 2);
	cr_assert_eq(selfmem_used(&after), after.anon + after.maps);

	if (geteuid())
		return; /* the map part needs BPF */
	/* 4096 entries of 8 + 1024 bytes: over 4 MiB. */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "selfmem_t", 4, 1024, 4096, NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(selfmem_read(&during), 0);
	cr_assert_eq(during.nmaps, 1);
	cr_assert_geq(during.maps, 4096ull * 1024);
	cr_assert_lt(during.maps, 8ull * MIB);
	cr_assert_eq(during.largest, during.maps);
	close(fd);
	cr_assert_eq(selfmem_read(&after), 0);
	cr_assert_eq(after.nmaps, 0);
}
