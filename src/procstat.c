// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sonde/procstat.h"

#define CPU_NAME "process_cpu_seconds_total"
#define RSS_NAME "process_resident_memory_bytes"
#define FAULTS_NAME "process_page_faults_total"

/* Whole small /proc file into @buf; -ESRCH once the process is gone. */
static int read_proc(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		err = errno == ENOENT ? -ESRCH : -errno;
	else if (n == 0)
		err = -ESRCH; /* a zombie being reaped reads empty */
	else
		buf[n] = '\0';
	close(fd);
	return err;
}

int procstat_read(pid_t pid, struct procstat *out)
{
	unsigned long long minflt, majflt, utime, stime, size, resident;
	long threads, tck, page;
	char buf[1024];
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
	 * cmajflt utime(14) stime(15) cutime cstime priority nice num_threads(20) */
	if (sscanf(p + 1,
		   " %*c %*d %*d %*d %*d %*d %*u %llu %*u %llu %*u %llu %llu %*d %*d %*d %*d %ld",
		   &minflt, &majflt, &utime, &stime, &threads) != 5)
		return -EIO;
	err = read_proc(pid, "statm", buf, sizeof(buf));
	if (err)
		return err;
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return -EIO;
	tck = sysconf(_SC_CLK_TCK);
	page = sysconf(_SC_PAGESIZE);
	if (tck <= 0 || page <= 0)
		return -EINVAL;
	out->user_seconds = (double)utime / (double)tck;
	out->system_seconds = (double)stime / (double)tck;
	out->cpu_seconds = (double)(utime + stime) / (double)tck;
	out->resident_bytes = resident * (unsigned long long)page;
	out->minor_faults = minflt;
	out->major_faults = majflt;
	out->threads = threads > 0 ? (unsigned int)threads : 0;
	return 0;
}

static int declare_all(struct metrics *m)
{
	int err;

	err = metrics__declare(m, CPU_NAME, METRIC_COUNTER,
			       "Total user and system CPU time spent in seconds.", NULL, 0);
	if (!err)
		err = metrics__declare(m, RSS_NAME, METRIC_GAUGE, "Resident memory size in bytes.",
				       NULL, 0);
	if (!err)
		err = metrics__declare(m, FAULTS_NAME, METRIC_COUNTER,
				       "Page faults by kind: minor (no I/O) or major (read from "
				       "disk).",
				       NULL, 0);
	return err;
}

int procstat_publish(struct metrics *m, pid_t pid, const char *comm)
{
	struct metric_label l[3];
	struct procstat ps;
	char pidbuf[16];
	int err;

	if (!m)
		return -EINVAL;
	err = declare_all(m);
	if (err)
		return err;
	err = procstat_read(pid, &ps);
	if (err)
		return err;
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	l[0] = (struct metric_label){"pid", pidbuf};
	l[1] = (struct metric_label){"comm", comm ? comm : ""};
	err = metrics__counter_set(m, CPU_NAME, l, 2, ps.cpu_seconds);
	if (!err)
		err = metrics__gauge_set(m, RSS_NAME, l, 2, (double)ps.resident_bytes);
	l[2] = (struct metric_label){"kind", "minor"};
	if (!err)
		err = metrics__counter_set(m, FAULTS_NAME, l, 3, (double)ps.minor_faults);
	l[2].value = "major";
	if (!err)
		err = metrics__counter_set(m, FAULTS_NAME, l, 3, (double)ps.major_faults);
	return err;
}

void procstat_forget(struct metrics *m, pid_t pid, const char *comm)
{
	struct metric_label l[3];
	char pidbuf[16];

	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	l[0] = (struct metric_label){"pid", pidbuf};
	l[1] = (struct metric_label){"comm", comm ? comm : ""};
	l[2] = (struct metric_label){"kind", "minor"};
	metrics__remove(m, CPU_NAME, l, 2);
	metrics__remove(m, RSS_NAME, l, 2);
	metrics__remove(m, FAULTS_NAME, l, 3);
	l[2].value = "major";
	metrics__remove(m, FAULTS_NAME, l, 3);
}
