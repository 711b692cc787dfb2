// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "session/procstat.h"

#define T_CPU "sonde_target_cpu_seconds_total"
#define T_RSS "sonde_target_resident_memory_bytes"
#define T_VSZ "sonde_target_virtual_memory_bytes"
#define T_FAULTS "sonde_target_page_faults_total"
#define T_SWITCHES "sonde_target_context_switches_total"
#define T_THREADS "sonde_target_threads"

/* Whole small /proc file into @buf; -ESRCH once the process is gone. */
static int read_proc(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[320];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		err = errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
	else if (n == 0)
		err = -ESRCH; /* a zombie being reaped reads empty */
	else
		buf[n] = '\0';
	close(fd);
	return err;
}

/* The number after "@key:" in /proc/PID/status text, or -1. */
static long long status_field(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return strtoll(p + kl + 1, NULL, 10);
	return -1;
}

/*
 * Context switches of every thread of @pid: /proc/PID/status counts the
 * main thread's only. Threads that already exited are not counted (the
 * kernel keeps their sum for getrusage() alone).
 */
static int task_switches(pid_t pid, long long *vol, long long *invol)
{
	char path[64], buf[4096];
	struct dirent *e;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	*vol = *invol = 0;
	while ((e = readdir(d))) {
		char file[300];
		long long v, i;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "task/%s/status", e->d_name);
		/* A thread that exits meanwhile is simply not counted. */
		if (read_proc(pid, file, buf, sizeof(buf)))
			continue;
		v = status_field(buf, "voluntary_ctxt_switches");
		i = status_field(buf, "nonvoluntary_ctxt_switches");
		if (v < 0 || i < 0) {
			err = -EIO;
			break;
		}
		*vol += v;
		*invol += i;
	}
	closedir(d);
	return err;
}

/*
 * The boot time (btime of /proc/stat), seconds since the epoch; 0 if
 * unknown. Read once: /proc/stat sums every CPU's interrupts for its
 * "intr" line, which made it the dearest file of a target's refresh.
 */
static unsigned long long boot_time(void)
{
	static _Atomic unsigned long long cached;
	unsigned long long bt = atomic_load_explicit(&cached, memory_order_relaxed);
	char line[256];
	FILE *f;

	if (bt)
		return bt;
	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &bt) == 1)
			break;
	fclose(f);
	atomic_store_explicit(&cached, bt, memory_order_relaxed);
	return bt;
}

int procstat_read(pid_t pid, struct procstat *out)
{
	unsigned long long minflt, majflt, utime, stime, start, size, resident;
	long long vol = 0, invol = 0;
	long threads, tck, page;
	char buf[4096], state;
	const char *p;
	int err;

	if (pid <= 0 || !out)
		return -EINVAL;
	err = read_proc(pid, "stat", buf, sizeof(buf));
	if (err)
		return err;
	/* comm may hold spaces and ')': fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	/* state(3) ppid pgrp session tty tpgid flags minflt(10) cminflt majflt(12)
	 * cmajflt utime(14) stime(15) cutime cstime priority nice num_threads(20)
	 * itrealvalue starttime(22) */
	if (sscanf(p + 1,
		   " %c %*d %*d %*d %*d %*d %*u %llu %*u %llu %*u %llu %llu %*d %*d %*d %*d %ld "
		   "%*d %llu",
		   &state, &minflt, &majflt, &utime, &stime, &threads, &start) != 7)
		return -EIO;
	/* A zombie has given its memory back: its figures are no reading. */
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	err = read_proc(pid, "statm", buf, sizeof(buf));
	if (err)
		return err;
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return -EIO;
	err = task_switches(pid, &vol, &invol);
	if (err)
		return err;
	tck = sysconf(_SC_CLK_TCK);
	page = sysconf(_SC_PAGESIZE);
	if (tck <= 0 || page <= 0 || vol < 0 || invol < 0)
		return -EIO;
	out->user_seconds = (double)utime / (double)tck;
	out->system_seconds = (double)stime / (double)tck;
	out->cpu_seconds = (double)(utime + stime) / (double)tck;
	out->resident_bytes = resident * (unsigned long long)page;
	out->virtual_bytes = size * (unsigned long long)page;
	out->minor_faults = minflt;
	out->major_faults = majflt;
	out->voluntary_switches = (uint64_t)vol;
	out->involuntary_switches = (uint64_t)invol;
	out->threads = threads > 0 ? (unsigned int)threads : 0;
	out->start_time_seconds = (double)boot_time() + (double)start / (double)tck;
	return 0;
}

static const struct fam {
	const char *name;
	enum metric_type type;
	const char *help;
} target_fams[] =
	{
		{T_CPU, METRIC_COUNTER,
		 "CPU time of a traced process in seconds, by mode (user, system)."},
		{T_RSS, METRIC_GAUGE, "Resident memory of a traced process in bytes."},
		{T_VSZ, METRIC_GAUGE, "Virtual memory size of a traced process in bytes."},
		{T_FAULTS, METRIC_COUNTER,
		 "Page faults of a traced process by kind: minor (no I/O) or major (read from "
		 "disk)."},
		{T_SWITCHES, METRIC_COUNTER,
		 "Context switches of a traced process by kind: voluntary (it waited) or "
		 "involuntary "
		 "(preempted)."},
		{T_THREADS, METRIC_GAUGE, "Threads of a traced process."},
},
  self_fams[] = {
	  {"process_cpu_seconds_total", METRIC_COUNTER,
	   "Total user and system CPU time spent in seconds."},
	  {"process_resident_memory_bytes", METRIC_GAUGE, "Resident memory size in bytes."},
	  {"process_virtual_memory_bytes", METRIC_GAUGE, "Virtual memory size in bytes."},
	  {"process_start_time_seconds", METRIC_GAUGE,
	   "Start time of the process since unix epoch in seconds."},
	  {"process_open_fds", METRIC_GAUGE, "Number of open file descriptors."},
	  {"process_max_fds", METRIC_GAUGE, "Maximum number of open file descriptors."},
	  {"sonde_build_info", METRIC_GAUGE,
	   "The sonde version and the libbpf it runs with; the value is 1."},
};

static int declare(struct metrics *m, const struct fam *f, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = metrics__declare(m, f[i].name, f[i].type, f[i].help, NULL, 0);
	return err;
}

#define NFAMS(a) (sizeof(a) / sizeof((a)[0]))

/* A counter or gauge of @pid's series: its @n labels and, with @k, @k=@v. */
static int set(struct metrics *m, const char *fam, struct metric_label *l, unsigned int n,
	       const char *k, const char *v, double val)
{
	if (k)
		l[n++] = (struct metric_label){k, v};
	if (!strcmp(fam, T_CPU) || !strcmp(fam, T_FAULTS) || !strcmp(fam, T_SWITCHES))
		return metrics__counter_set(m, fam, l, n, val);
	return metrics__gauge_set(m, fam, l, n, val);
}

/* pid, comm, then the @nextra others: how many. */
static unsigned int id_labels(struct metric_label *l, char *pidbuf, size_t len, pid_t pid,
			      const char *comm, const struct metric_label *extra, unsigned int nextra)
{
	unsigned int n = 2;

	snprintf(pidbuf, len, "%d", (int)pid);
	l[0] = (struct metric_label){"pid", pidbuf};
	l[1] = (struct metric_label){"comm", comm ? comm : ""};
	for (unsigned int i = 0; i < nextra && i < PROCSTAT_MAX_LABELS; i++)
		l[n++] = extra[i];
	return n;
}

int procstat_publish(struct metrics *m, pid_t pid, const char *comm, const struct procstat *ps)
{
	return procstat_publish_labels(m, pid, comm, NULL, 0, ps);
}

int procstat_publish_labels(struct metrics *m, pid_t pid, const char *comm,
			    const struct metric_label *extra, unsigned int nextra,
			    const struct procstat *ps)
{
	struct metric_label l[3 + PROCSTAT_MAX_LABELS];
	char pidbuf[16];
	unsigned int n;
	int err;

	if (!m || !ps)
		return -EINVAL;
	err = declare(m, target_fams, NFAMS(target_fams));
	if (err)
		return err;
	n = id_labels(l, pidbuf, sizeof(pidbuf), pid, comm, extra, nextra);
	err = set(m, T_CPU, l, n, "mode", "user", ps->user_seconds);
	if (!err)
		err = set(m, T_CPU, l, n, "mode", "system", ps->system_seconds);
	if (!err)
		err = set(m, T_RSS, l, n, NULL, NULL, (double)ps->resident_bytes);
	if (!err)
		err = set(m, T_VSZ, l, n, NULL, NULL, (double)ps->virtual_bytes);
	if (!err)
		err = set(m, T_FAULTS, l, n, "kind", "minor", (double)ps->minor_faults);
	if (!err)
		err = set(m, T_FAULTS, l, n, "kind", "major", (double)ps->major_faults);
	if (!err)
		err = set(m, T_SWITCHES, l, n, "kind", "voluntary", (double)ps->voluntary_switches);
	if (!err)
		err = set(m, T_SWITCHES, l, n, "kind", "involuntary",
			  (double)ps->involuntary_switches);
	if (!err)
		err = set(m, T_THREADS, l, n, NULL, NULL, ps->threads);
	return err;
}

void procstat_forget(struct metrics *m, pid_t pid, const char *comm)
{
	procstat_forget_labels(m, pid, comm, NULL, 0);
}

void procstat_forget_labels(struct metrics *m, pid_t pid, const char *comm,
			    const struct metric_label *extra, unsigned int nextra)
{
	static const struct {
		const char *fam, *k, *v;
	} series[] = {
		{T_CPU, "mode", "user"},
		{T_CPU, "mode", "system"},
		{T_RSS, NULL, NULL},
		{T_VSZ, NULL, NULL},
		{T_FAULTS, "kind", "minor"},
		{T_FAULTS, "kind", "major"},
		{T_SWITCHES, "kind", "voluntary"},
		{T_SWITCHES, "kind", "involuntary"},
		{T_THREADS, NULL, NULL},
	};
	struct metric_label l[3 + PROCSTAT_MAX_LABELS];
	char pidbuf[16];
	unsigned int n = id_labels(l, pidbuf, sizeof(pidbuf), pid, comm, extra, nextra);

	for (size_t i = 0; i < NFAMS(series); i++) {
		l[n] = (struct metric_label){series[i].k, series[i].v};
		metrics__remove(m, series[i].fam, l, series[i].k ? n + 1 : n);
	}
}

/* Entries of /proc/self/fd, less the one the count itself opens. */
static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

int procstat_publish_self(struct metrics *m)
{
	struct metric_label info[2] = {{"version", SONDE_VERSION}, {"libbpf", NULL}};
	struct procstat ps;
	struct rlimit rl;
	char lib[32];
	long fds;
	int err;

	err = declare(m, self_fams, NFAMS(self_fams));
	if (!err)
		err = procstat_read(getpid(), &ps);
	if (err)
		return err;
	fds = open_fds();
	err = metrics__counter_set(m, "process_cpu_seconds_total", NULL, 0, ps.cpu_seconds);
	if (!err)
		err = metrics__gauge_set(m, "process_resident_memory_bytes", NULL, 0,
					 (double)ps.resident_bytes);
	if (!err)
		err = metrics__gauge_set(m, "process_virtual_memory_bytes", NULL, 0,
					 (double)ps.virtual_bytes);
	if (!err)
		err = metrics__gauge_set(m, "process_start_time_seconds", NULL, 0,
					 ps.start_time_seconds);
	if (!err && fds >= 0)
		err = metrics__gauge_set(m, "process_open_fds", NULL, 0, (double)fds);
	if (!err && !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		err = metrics__gauge_set(m, "process_max_fds", NULL, 0, (double)rl.rlim_cur);
	snprintf(lib, sizeof(lib), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	info[1].value = lib;
	if (!err)
		err = metrics__gauge_set(m, "sonde_build_info", info, 2, 1);
	return err;
}

void procstat_summary(const struct procstat *ps, pid_t pid, const char *comm, bool gone,
		      struct log_line *l)
{
	log_line_add(l,
		     "target %d (%s): %.2f s CPU (%.2f user, %.2f system), %.1f MiB resident, "
		     "%.1f MiB virtual, %llu minor + %llu major page faults, %llu voluntary + %llu "
		     "involuntary context switches, %u thread%s%s",
		     (int)pid, comm, ps->cpu_seconds, ps->user_seconds, ps->system_seconds,
		     ps->resident_bytes / 1048576.0, ps->virtual_bytes / 1048576.0,
		     (unsigned long long)ps->minor_faults, (unsigned long long)ps->major_faults,
		     (unsigned long long)ps->voluntary_switches,
		     (unsigned long long)ps->involuntary_switches, ps->threads,
		     plural_s(ps->threads), gone ? " (last read before it exited)" : "");
	log_line_int(l, "sonde.target.pid", pid);
	log_line_double(l, "sonde.target.cpu.user_seconds", ps->user_seconds);
	log_line_double(l, "sonde.target.cpu.system_seconds", ps->system_seconds);
	log_line_int(l, "sonde.target.memory.resident_bytes", (long long)ps->resident_bytes);
	log_line_int(l, "sonde.target.memory.virtual_bytes", (long long)ps->virtual_bytes);
	log_line_int(l, "sonde.target.page_faults.minor", (long long)ps->minor_faults);
	log_line_int(l, "sonde.target.page_faults.major", (long long)ps->major_faults);
	log_line_int(l, "sonde.target.context_switches.voluntary",
		     (long long)ps->voluntary_switches);
	log_line_int(l, "sonde.target.context_switches.involuntary",
		     (long long)ps->involuntary_switches);
	log_line_int(l, "sonde.target.threads", ps->threads);
}

static double tv_seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

void procstat_summary_exited(const struct rusage *ru, unsigned int threads, pid_t pid,
			     const char *comm, struct log_line *l)
{
	double user = tv_seconds(&ru->ru_utime), sys = tv_seconds(&ru->ru_stime);

	log_line_add(l,
		     "target %d (%s): exited, %.2f s CPU (%.2f user, %.2f system), %.1f MiB peak "
		     "resident, %ld minor + %ld major page faults, %ld voluntary + %ld involuntary "
		     "context switches with the children it waited for, %u thread%s",
		     (int)pid, comm, user + sys, user, sys, ru->ru_maxrss / 1024.0, ru->ru_minflt,
		     ru->ru_majflt, ru->ru_nvcsw, ru->ru_nivcsw, threads, plural_s(threads));
	log_line_int(l, "sonde.target.pid", pid);
	log_line_double(l, "sonde.target.cpu.user_seconds", user);
	log_line_double(l, "sonde.target.cpu.system_seconds", sys);
	log_line_int(l, "sonde.target.memory.peak_resident_bytes", (long long)ru->ru_maxrss * 1024);
	log_line_int(l, "sonde.target.page_faults.minor", ru->ru_minflt);
	log_line_int(l, "sonde.target.page_faults.major", ru->ru_majflt);
	log_line_int(l, "sonde.target.context_switches.voluntary", ru->ru_nvcsw);
	log_line_int(l, "sonde.target.context_switches.involuntary", ru->ru_nivcsw);
	log_line_int(l, "sonde.target.threads", threads);
}
