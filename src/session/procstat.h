/* SPDX-License-Identifier: MIT */
/*
 * Per-process resource use from /proc: CPU time by mode, resident and
 * virtual memory, page faults, context switches, threads.
 *
 * Two uses. The targets', published with names of their own, since
 * client libraries reserve process_* for the process that serves the
 * metrics (sonde), with pid and comm labels:
 *
 *   sonde_target_cpu_seconds_total{pid,comm,mode="user"|"system"}  counter
 *   sonde_target_resident_memory_bytes{pid,comm}                   gauge
 *   sonde_target_virtual_memory_bytes{pid,comm}                    gauge
 *   sonde_target_page_faults_total{pid,comm,kind="minor"|"major"}  counter
 *   sonde_target_context_switches_total{pid,comm,kind="voluntary"|"involuntary"}  counter
 *   sonde_target_threads{pid,comm}                                 gauge
 *
 * (OTLP renames them to OpenTelemetry's process.* under each process's
 * Resource, see export/otlp.c.) A process that exits keeps its last values
 * until the session has exported them once more, then procstat_forget()
 * removes its series, so a churning target set leaves no dead series.
 *
 * And sonde's own, as every Prometheus client library exports them:
 * process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds,
 * process_open_fds, process_max_fds, and sonde_build_info{version,libbpf}.
 */
#ifndef SONDE_PROCSTAT_H
#define SONDE_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/log.h"

#include "model/metrics.h"

struct rusage;

struct procstat {
	double user_seconds;	 /* utime / CLK_TCK */
	double system_seconds;	 /* stime / CLK_TCK */
	double cpu_seconds;	 /* user + system */
	uint64_t resident_bytes; /* statm resident pages x page size */
	uint64_t virtual_bytes;	 /* statm size pages x page size (VmSize) */
	uint64_t minor_faults;
	uint64_t major_faults;
	uint64_t voluntary_switches;   /* voluntary_ctxt_switches of status */
	uint64_t involuntary_switches; /* nonvoluntary_ctxt_switches */
	unsigned int threads;
	double start_time_seconds; /* since the epoch: boot time + starttime */
};

/* 0, -ESRCH when @pid is gone, -EIO for a line that does not parse, -errno. */
int procstat_read(pid_t pid, struct procstat *out);

/*
 * Set the sonde_target_* series of @pid in @m from @ps (declaring the
 * families on first use). 0 or a metrics__ error.
 */
int procstat_publish(struct metrics *m, pid_t pid, const char *comm, const struct procstat *ps);

/* Drop the series procstat_publish() made for @pid (after it exited). */
void procstat_forget(struct metrics *m, pid_t pid, const char *comm);

/*
 * The same with up to PROCSTAT_MAX_LABELS more labels after pid and comm
 * (the agent's service, container, pod, namespace); forget with the same.
 */
#define PROCSTAT_MAX_LABELS 5
int procstat_publish_labels(struct metrics *m, pid_t pid, const char *comm,
			    const struct metric_label *extra, unsigned int nextra,
			    const struct procstat *ps);
void procstat_forget_labels(struct metrics *m, pid_t pid, const char *comm,
			    const struct metric_label *extra, unsigned int nextra);

/*
 * The closing line of target @pid: "target 4242 (comm): 1.20 s CPU (1.00
 * user, 0.20 system), 3.2 MiB resident, ...", with its figures
 * (sonde.target.*); @gone: @ps is the last reading before it exited.
 */
void procstat_summary(const struct procstat *ps, pid_t pid, const char *comm, bool gone,
		      struct log_line *l);

/*
 * The closing line of a launched command reaped by sonde, from its
 * rusage @ru (wait4: exact, and with the children it waited for, as
 * time(1) counts; @threads as last read): "target 4242 (sh): exited, 1.20
 * s CPU (1.00 user, 0.20 system), 3.2 MiB peak resident, ...".
 */
void procstat_summary_exited(const struct rusage *ru, unsigned int threads, pid_t pid,
			     const char *comm, struct log_line *l);

/* Read sonde itself and set its process_* and sonde_build_info in @m. */
int procstat_publish_self(struct metrics *m);

#endif /* SONDE_PROCSTAT_H */
