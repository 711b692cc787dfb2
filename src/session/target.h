/* SPDX-License-Identifier: MIT */
/*
 * The processes a command watches: running PIDs (-p), the whole system
 * (-a), or a command it launches (-- CMD). A launched command is forked
 * paused and only exec'd by target__start(), after the probes are
 * attached, so its first instructions are observed too.
 */
#ifndef SONDE_TARGET_H
#define SONDE_TARGET_H

#include <stdbool.h>
#include <sys/types.h>


/* What the command line asked to watch. */
struct target_opts {
	pid_t *pids; /* -p PID[,PID...] */
	int npids;
	bool all; /* -a */
	char **cmd; /* -- CMD ARGS (points into argv) */
	double duration_s; /* -d SECONDS, 0 = until stopped */
	/* No target at first; the command adds them (the agent): alive until stopped. */
	bool dynamic;
};

struct rusage;
struct target;

/*
 * Validate -p PIDs (one clear error line for a PID that does not exist)
 * or fork the -- CMD child, paused. Returns 0 or -errno.
 */
int target__new(const struct target_opts *o, struct target **out);
/* Let the launched command exec; -errno (e.g. -ENOENT) if exec failed. */
int target__start(struct target *t);
/* PIDs being watched: the -p list or the launched child. */
const pid_t *target__pids(const struct target *t, int *n);
bool target__all(const struct target *t);
bool target__launched(const struct target *t);
/*
 * 1 while something is left to watch (always 1 for -a), 0 once every -p
 * PID has exited or the launched child has been reaped.
 */
int target__alive(struct target *t);
/*
 * Exit status of the launched command (valid once target__alive() is 0):
 * its exit code, or 128+N when signal N ended it, as a shell reports it.
 */
int target__exit_status(const struct target *t);
/* The signal that ended the launched command, or 0 if it exited. */
int target__term_signal(const struct target *t);
/*
 * The launched command's resource usage at its exit, children it waited
 * for included (as time(1) reports it), or NULL while it is not reaped.
 */
const struct rusage *target__rusage(const struct target *t);
/* Kill (SIGTERM) and reap a launched command still running; free. */
void target__free(struct target *t);

#endif /* SONDE_TARGET_H */
