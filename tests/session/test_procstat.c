// SPDX-License-Identifier: MIT
/*
 * procstat against our own process and the proc_load fixture, checked with
 * /proc/PID/status and getrusage()/wait4(), which the kernel fills from the
 * same counters; the metrics it publishes, for the targets and for sonde.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "helpers.h"
#include "session/procstat.h"

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

/* proc_load, started and stopped once "ready": its figures hold still. */
static pid_t start_loaded(double *t_start)
{
	char *argv[] = {(char *)fixture_path("proc_load"), NULL};
	char buf[16] = "";
	int fds[2];
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	*t_start = (double)time(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		dup2(fds[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], buf, sizeof(buf) - 1), 6, "fixture did not start");
	cr_assert_str_eq(buf, "ready\n");
	close(fds[0]);
	kill(pid, SIGSTOP);
	usleep(100000);
	return pid;
}

static long status_of(pid_t pid, const char *task, const char *field)
{
	char path[128], *buf;
	const char *p;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s%sstatus", (int)pid, task ? "task/" : "",
		 task ? task : "");
	buf = read_file(path, NULL);
	cr_assert_not_null(buf, "%s", path);
	p = strstr(buf, field);
	if (p)
		v = strtol(p + strlen(field) + 1, NULL, 10);
	free(buf);
	return v;
}

static bool within(double got, double want, double rel)
{
	return got >= want * (1 - rel) && got <= want * (1 + rel);
}

/* Every figure against /proc of the fixture and its rusage, within 2 %. */
Test(procstat, fixture_figures_match_proc_within_2_percent, .timeout = 30)
{
	struct procstat ps;
	struct rusage ru;
	char task[32];
	long vol = 0, invol = 0, rss_kb, vsz_kb;
	double t_start, ut, st;
	pid_t pid = start_loaded(&t_start);
	DIR *d;
	struct dirent *e;
	int status;

	cr_assert_eq(procstat_read(pid, &ps), 0);
	rss_kb = status_of(pid, NULL, "VmRSS:");
	vsz_kb = status_of(pid, NULL, "VmSize:");
	snprintf(task, sizeof(task), "/proc/%d/task", (int)pid);
	d = opendir(task);
	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char t[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(t, sizeof(t), "%s/", e->d_name);
		vol += status_of(pid, t, "voluntary_ctxt_switches:");
		invol += status_of(pid, t, "nonvoluntary_ctxt_switches:");
	}
	closedir(d);
	cr_assert_eq(ps.threads, 4);
	cr_assert(within((double)ps.resident_bytes, rss_kb * 1024.0, 0.02), "rss %llu vs %ld kB",
		  (unsigned long long)ps.resident_bytes, rss_kb);
	cr_assert_gt(ps.resident_bytes, 32ull << 20);
	cr_assert(within((double)ps.virtual_bytes, vsz_kb * 1024.0, 0.02), "vsz %llu vs %ld kB",
		  (unsigned long long)ps.virtual_bytes, vsz_kb);
	/* Every thread's switches, not the main thread's alone. */
	cr_assert_eq(ps.voluntary_switches, (uint64_t)vol);
	cr_assert_eq(ps.involuntary_switches, (uint64_t)invol);
	cr_assert_geq(ps.voluntary_switches, 300);
	cr_assert(ps.start_time_seconds >= t_start - 1 && ps.start_time_seconds <= t_start + 2,
		  "started at %.0f, not %.0f", ps.start_time_seconds, t_start);

	kill(pid, SIGKILL);
	cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
	ut = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	st = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	cr_log_info("user %.3f/%.3f s, system %.3f/%.3f s, minflt %llu/%ld, nvcsw %llu/%ld",
		    ps.user_seconds, ut, ps.system_seconds, st,
		    (unsigned long long)ps.minor_faults, ru.ru_minflt,
		    (unsigned long long)ps.voluntary_switches, ru.ru_nvcsw);
	cr_assert(within(ps.user_seconds + ps.system_seconds, ut + st, 0.02), "cpu %.3f vs %.3f",
		  ps.user_seconds + ps.system_seconds, ut + st);
	cr_assert_geq(ps.user_seconds, 0.9);
	cr_assert(within(ps.user_seconds, ut, 0.02), "user %.3f vs %.3f", ps.user_seconds, ut);
	cr_assert(within(ps.system_seconds, st, 0.02), "system %.3f vs %.3f", ps.system_seconds,
		  st);
	cr_assert(within((double)ps.minor_faults, (double)ru.ru_minflt, 0.02), "minflt %llu vs %ld",
		  (unsigned long long)ps.minor_faults, ru.ru_minflt);
	cr_assert_geq(ps.minor_faults, (32u << 20) / 4096);
	cr_assert_eq(ps.major_faults, (uint64_t)ru.ru_majflt);
}

Test(procstat, zombie_is_gone)
{
	struct procstat ps;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (!pid)
		_exit(0);
	/* Exited, not yet reaped: its figures are no reading any more. */
	usleep(200000);
	cr_assert_eq(procstat_read(pid, &ps), -ESRCH);
	waitpid(pid, NULL, 0);
}

static const struct metric_series *series_with(const struct metric_family *f, const char *k,
					       const char *v)
{
	for (size_t i = 0; i < f->nseries; i++)
		for (unsigned int l = 0; l < f->series[i].nlabels; l++)
			if (!strcmp(f->series[i].labels[l].key, k) &&
			    !strcmp(f->series[i].labels[l].value, v))
				return &f->series[i];
	cr_assert_fail("no series %s=%s in %s", k, v, f->name);
	return NULL;
}

Test(procstat, publish_sets_labelled_series)
{
	struct procstat ps = {.user_seconds = 1.5, .system_seconds = 0.25, .cpu_seconds = 1.75,
			      .resident_bytes = 4096000, .virtual_bytes = 8192000,
			      .minor_faults = 120, .major_faults = 3, .voluntary_switches = 40,
			      .involuntary_switches = 7, .threads = 5};
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	const struct metric_family *f;

	cr_assert_eq(procstat_publish(m, 4242, "tester", &ps), 0);
	/* Twice: declarations are idempotent, series are updated in place. */
	cr_assert_eq(procstat_publish(m, 4242, "tester", &ps), 0);
	cr_assert_eq(metrics__snapshot(m, &s), 0);

	f = family(s, "sonde_target_cpu_seconds_total");
	cr_assert_eq(f->type, METRIC_COUNTER);
	cr_assert_eq(f->nseries, 2);
	cr_assert_eq(f->series[0].nlabels, 3);
	cr_assert_str_eq(f->series[0].labels[0].key, "comm");
	cr_assert_str_eq(f->series[0].labels[0].value, "tester");
	cr_assert_str_eq(f->series[0].labels[1].key, "mode");
	cr_assert_str_eq(f->series[0].labels[2].key, "pid");
	cr_assert_str_eq(f->series[0].labels[2].value, "4242");
	cr_assert_eq(series_with(f, "mode", "user")->value, 1.5);
	cr_assert_eq(series_with(f, "mode", "system")->value, 0.25);
	f = family(s, "sonde_target_resident_memory_bytes");
	cr_assert_eq(f->type, METRIC_GAUGE);
	cr_assert_eq(f->series[0].value, 4096000);
	cr_assert_eq(family(s, "sonde_target_virtual_memory_bytes")->series[0].value, 8192000);
	f = family(s, "sonde_target_page_faults_total");
	cr_assert_eq(series_with(f, "kind", "minor")->value, 120);
	cr_assert_eq(series_with(f, "kind", "major")->value, 3);
	f = family(s, "sonde_target_context_switches_total");
	cr_assert_eq(f->type, METRIC_COUNTER);
	cr_assert_eq(series_with(f, "kind", "voluntary")->value, 40);
	cr_assert_eq(series_with(f, "kind", "involuntary")->value, 7);
	cr_assert_eq(family(s, "sonde_target_threads")->series[0].value, 5);
	metrics_snapshot__free(s);

	/* An exited process's series go: nothing of it is left. */
	procstat_forget(m, 4242, "tester");
	cr_assert_eq(metrics__snapshot(m, &s), 0);
	for (size_t i = 0; i < s->nfamilies; i++)
		if (!strncmp(s->families[i].name, "sonde_target_", 13))
			cr_assert_eq(s->families[i].nseries, 0, "%s", s->families[i].name);
	metrics_snapshot__free(s);
	metrics__free(m);
}

/* sonde's own, as client libraries name them, against our own /proc. */
Test(procstat, self_metrics_as_client_libraries_name_them)
{
	struct metrics *m = metrics__new(0);
	struct metrics_snapshot *s = NULL;
	const struct metric_family *f;
	struct rlimit rl;
	long before = status_kb("VmRSS"), after;
	double rss;
	char lib[32];

	cr_assert_eq(procstat_publish_self(m), 0);
	after = status_kb("VmRSS");
	cr_assert_eq(metrics__snapshot(m, &s), 0);
	cr_assert_eq(family(s, "process_cpu_seconds_total")->type, METRIC_COUNTER);
	/* Between the readings taken around it, within 2 %. */
	rss = family(s, "process_resident_memory_bytes")->series[0].value;
	cr_assert(rss >= (before < after ? before : after) * 1024.0 * 0.98 &&
			  rss <= (before > after ? before : after) * 1024.0 * 1.02,
		  "%.0f vs %ld-%ld kB", rss, before, after);
	cr_assert(within(family(s, "process_virtual_memory_bytes")->series[0].value,
			 status_kb("VmSize") * 1024.0, 0.02));
	f = family(s, "process_start_time_seconds");
	/* btime is whole seconds and time() truncates: started this second, it may lead by 1. */
	cr_assert(f->series[0].value > 1.6e9 && f->series[0].value <= (double)time(NULL) + 1.0,
		  "%f", f->series[0].value);
	cr_assert_geq(family(s, "process_open_fds")->series[0].value, 3);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(family(s, "process_max_fds")->series[0].value, (double)rl.rlim_cur);
	f = family(s, "sonde_build_info");
	snprintf(lib, sizeof(lib), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	cr_assert_eq(f->series[0].value, 1);
	cr_assert_str_eq(series_with(f, "version", SONDE_VERSION)->labels[0].value, lib);
	metrics_snapshot__free(s);
	metrics__free(m);
}
