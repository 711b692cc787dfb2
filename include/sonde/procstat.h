/* SPDX-License-Identifier: MIT */
/*
 * Per-process resource use from /proc: CPU time, resident memory, page
 * faults. Published as the process_* metrics client libraries use, with
 * pid and comm labels since one sonde watches many processes.
 */
#ifndef SONDE_PROCSTAT_H
#define SONDE_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

#include "sonde/metrics.h"

struct procstat {
	double user_seconds;	 /* utime / CLK_TCK */
	double system_seconds;	 /* stime / CLK_TCK */
	double cpu_seconds;	 /* user + system */
	uint64_t resident_bytes; /* statm resident pages x page size */
	uint64_t minor_faults;
	uint64_t major_faults;
	unsigned int threads;
};

/* 0, -ESRCH when @pid is gone, -EIO for a line that does not parse, -errno. */
int procstat_read(pid_t pid, struct procstat *out);

/*
 * Read @pid and set process_cpu_seconds_total{pid,comm},
 * process_resident_memory_bytes{pid,comm} and
 * process_page_faults_total{pid,comm,kind="minor"|"major"} in @m
 * (declaring them on first use). 0, -ESRCH, or a metrics__ error.
 */
int procstat_publish(struct metrics *m, pid_t pid, const char *comm);

/* Drop the series procstat_publish() made for @pid (after it exits). */
void procstat_forget(struct metrics *m, pid_t pid, const char *comm);

#endif /* SONDE_PROCSTAT_H */
