// SPDX-License-Identifier: MIT
/* procstat against our own process, checked with /proc/self/status and
 * getrusage(), which the kernel fills from the same counters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "sonde/procstat.h"

static long status_kb(const char *field)
{
	char *buf = read_file("/proc/self/status", NULL);
	const char *p;
	long v = -1;

	cr_assert_not_null(buf);
	p = strstr(buf, field);
	if (p)
		sscanf(p + strlen(field), ": %ld kB", &v);
	free(buf);
	return v;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(procstat, rss_matches_vmrss)
{
	struct procstat ps;
	long vmrss_kb;
	/* Touch 8 MiB so RSS is well above noise. */
	size_t n = 8 << 20;
	char *mem = malloc(n);

	cr_assert_not_null(mem);
	memset(mem, 1, n);
	cr_assert_eq(procstat_read(getpid(), &ps), 0);
	vmrss_kb = status_kb("VmRSS");
	cr_assert_gt(vmrss_kb, 8 * 1024);
	cr_assert(ps.resident_bytes >= (uint64_t)(vmrss_kb * 1024 * 0.8) &&
			  ps.resident_bytes <= (uint64_t)(vmrss_kb * 1024 * 1.2),
		  "rss %llu vs VmRSS %ld kB", (unsigned long long)ps.resident_bytes, vmrss_kb);
	cr_assert_eq(ps.resident_bytes % (uint64_t)sysconf(_SC_PAGESIZE), 0);
	cr_assert_geq(ps.threads, 1);
	free(mem);
}

Test(procstat, cpu_time_grows_after_burning_200ms)
{
	struct procstat a, b;
	volatile unsigned long x = 0;
	double t0;

	cr_assert_eq(procstat_read(getpid(), &a), 0);
	t0 = thread_cpu_s();
	while (thread_cpu_s() - t0 < 0.2)
		x++;
	cr_assert_eq(procstat_read(getpid(), &b), 0);
	/* Ticks are 10 ms: at least 150 ms must show, and not absurdly more. */
	cr_assert(b.cpu_seconds - a.cpu_seconds >= 0.15 && b.cpu_seconds - a.cpu_seconds < 1.0,
		  "cpu grew by %f s", b.cpu_seconds - a.cpu_seconds);
	cr_assert_float_eq(b.cpu_seconds, b.user_seconds + b.system_seconds, 1e-9);
}

Test(procstat, faults_track_getrusage)
{
	struct procstat a, b;
	struct rusage ru;
	size_t n = 4 << 20;
	char *mem;

	cr_assert_eq(procstat_read(getpid(), &a), 0);
	mem = malloc(n);
	cr_assert_not_null(mem);
	/* One minor fault per fresh page. */
	for (size_t i = 0; i < n; i += 4096)
		mem[i] = 1;
	cr_assert_eq(procstat_read(getpid(), &b), 0);
	getrusage(RUSAGE_SELF, &ru);
	cr_assert_geq(b.minor_faults - a.minor_faults, n / 4096 / 2);
	cr_assert_leq(b.minor_faults, (uint64_t)ru.ru_minflt);
	cr_assert_leq(b.major_faults, (uint64_t)ru.ru_majflt);
	free(mem);
}

Test(procstat, gone_pid_is_esrch)
{
	struct procstat ps;
	pid_t pid = gone_pid();

	cr_assert_eq(procstat_read(pid, &ps), -ESRCH);
	cr_assert_eq(procstat_read(0, &ps), -EINVAL);
}

Test(procstat, publish_sets_labelled_series)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	const struct metric_family *f;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", getpid());
	cr_assert_eq(procstat_publish(m, getpid(), "tester"), 0);
	/* Twice: declarations are idempotent, series are updated in place. */
	cr_assert_eq(procstat_publish(m, getpid(), "tester"), 0);
	cr_assert_eq(metrics__snapshot(m, &s), 0);

	f = family(s, "process_cpu_seconds_total");
	cr_assert_eq(f->type, METRIC_COUNTER);
	cr_assert_eq(f->nseries, 1);
	cr_assert_eq(f->series[0].nlabels, 2);
	cr_assert_str_eq(f->series[0].labels[0].key, "comm");
	cr_assert_str_eq(f->series[0].labels[0].value, "tester");
	cr_assert_str_eq(f->series[0].labels[1].key, "pid");
	cr_assert_str_eq(f->series[0].labels[1].value, pid);

	f = family(s, "process_resident_memory_bytes");
	cr_assert_eq(f->type, METRIC_GAUGE);
	cr_assert_eq(f->nseries, 1);
	cr_assert_gt(f->series[0].value, 1024 * 1024);

	f = family(s, "process_page_faults_total");
	cr_assert_eq(f->nseries, 2);
	cr_assert_str_eq(f->series[0].labels[1].key, "kind");
	cr_assert_str_eq(f->series[0].labels[1].value, "minor");
	cr_assert_str_eq(f->series[1].labels[1].value, "major");
	cr_assert_gt(f->series[0].value, 0);
	metrics_snapshot__free(s);

	procstat_forget(m, getpid(), "tester");
	cr_assert_eq(metrics__snapshot(m, &s), 0);
	cr_assert_eq(family(s, "process_page_faults_total")->nseries, 0);
	cr_assert_eq(family(s, "process_cpu_seconds_total")->nseries, 0);
	metrics_snapshot__free(s);
	metrics__free(m);
}
