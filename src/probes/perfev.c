// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "probes/perfev.h"

int cpulist_parse(const char *s, int **cpus)
{
	int *out = NULL, n = 0;
	const char *p = s;

	while (*p && *p != '\n') {
		char *end;
		long a, b;

		a = strtol(p, &end, 10);
		if (end == p || a < 0)
			goto err_inval;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				goto err_inval;
		}
		for (long c = a; c <= b; c++) {
			int *grown = realloc(out, (n + 1) * sizeof(*out));

			if (!grown) {
				free(out);
				return -ENOMEM;
			}
			out = grown;
			out[n++] = (int)c;
		}
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			goto err_inval;
		p = end;
	}
	*cpus = out;
	return n;

err_inval:
	free(out);
	return -EINVAL;
}

int cpus_online(int **cpus)
{
	char buf[4096];
	FILE *f;
	size_t n;

	f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return cpulist_parse(buf, cpus);
}

struct perfev_set {
	int n;
	struct bpf_link **links;
};

int perfev_set__open(struct bpf_program *prog, unsigned int freq, struct perfev_set **out)
{
	/* cpu-clock counts nanoseconds: a fixed period is an exact rate. */
	return perfev_set__open_sw(prog, PERF_COUNT_SW_CPU_CLOCK, 1000000000ull / freq, false, out);
}

int perfev_set__open_sw(struct bpf_program *prog, unsigned int config, unsigned long long n,
			bool freq, struct perfev_set **out)
{
	const char *what = config == PERF_COUNT_SW_CPU_CLOCK ? "cpu-clock" : "software";
	struct perf_event_attr attr;
	struct perfev_set *s;
	int *cpus = NULL, ncpu, err;

	ncpu = cpus_online(&cpus);
	if (ncpu < 0) {
		log_err("perf: failed to read online CPUs: %s", strerror(-ncpu));
		return ncpu;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto err_cpus;
	}
	s->links = calloc(ncpu, sizeof(*s->links));
	if (!s->links) {
		err = -ENOMEM;
		goto err_set;
	}

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = config;
	if (freq) {
		attr.freq = 1;
		attr.sample_freq = n;
	} else {
		attr.sample_period = n;
	}
	for (int i = 0; i < ncpu; i++) {
		int fd = syscall(SYS_perf_event_open, &attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			/* A CPU that went offline since we read the list. */
			if (errno == ENODEV)
				continue;
			err = -errno;
			log_err("perf: failed to open %s event on CPU %d: %s", what, cpus[i],
				strerror(errno));
			goto err_set;
		}
		s->links[s->n] = bpf_program__attach_perf_event(prog, fd);
		if (!s->links[s->n]) {
			err = -errno;
			close(fd);
			log_err("perf: failed to attach sampling program on CPU %d: %s", cpus[i],
				strerror(errno));
			goto err_set;
		}
		s->n++;
	}
	free(cpus);
	*out = s;
	return 0;

err_set:
	perfev_set__free(s);
err_cpus:
	free(cpus);
	return err;
}

int perfev_set__count(const struct perfev_set *s)
{
	return s->n;
}

void perfev_set__free(struct perfev_set *s)
{
	if (!s)
		return;
	/* The link owns its perf event fd and closes it. */
	for (int i = 0; i < s->n; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	free(s);
}
