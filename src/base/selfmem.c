// SPDX-License-Identifier: MIT
/* sonde's own memory (see selfmem.h). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/selfmem.h"

/* "Key:   N kB" lines of /proc/self/status: VmRSS, and RssAnon + RssShmem, in bytes. */
static int read_status(uint64_t *rss, uint64_t *out)
{
	char line[256];
	unsigned long long kb;
	uint64_t sum = 0;
	int seen = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1 ||
		    sscanf(line, "RssShmem: %llu kB", &kb) == 1) {
			sum += (uint64_t)kb * 1024;
			seen++;
		} else if (sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
			*rss = (uint64_t)kb * 1024;
		}
	}
	fclose(f);
	if (seen != 2)
		return -ENOENT;
	*out = sum;
	return 0;
}

/* One descriptor's fdinfo: a BPF map's memlock into @m. */
static void add_map(struct selfmem *m, const char *fd)
{
	char path[320], line[256];
	unsigned long long memlock = 0;
	bool map = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "map_type:", 9))
			map = true;
		else if (!strncmp(line, "memlock:", 8))
			memlock = strtoull(line + 8, NULL, 10);
	}
	fclose(f);
	if (!map)
		return;
	m->maps += memlock;
	m->nmaps++;
	if (memlock > m->largest)
		m->largest = memlock;
}

int selfmem_read(struct selfmem *m)
{
	char target[64], link[320];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int err;

	memset(m, 0, sizeof(*m));
	err = read_status(&m->rss, &m->anon);
	if (err)
		return err;
	d = opendir("/proc/self/fd");
	if (!d)
		return 0; /* no maps to count */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, "anon_inode:bpf-map"))
			add_map(m, de->d_name);
	}
	closedir(d);
	return 0;
}
