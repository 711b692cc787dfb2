/* SPDX-License-Identifier: MIT */
/*
 * Which processes are targets, for the agent: rules on what /proc says of
 * a process (command name, executable, command line, PID, cgroup,
 * container id, listening TCP ports), and the labels a target carries to
 * every output (service, container, Kubernetes pod). A process is a
 * target when it matches the include rules (or there are none) and not
 * the exclude rules. Everything is read from /proc with bounded reads;
 * nothing a target controls is followed (its files are not opened, its
 * environment is only scanned for HOSTNAME).
 */
#ifndef SONDE_SESSION_DISCOVER_H
#define SONDE_SESSION_DISCOVER_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One side of the rules: a process matches when any non-empty list matches it. */
struct discover_selector {
	const char *const *comm; /* fnmatch(3) globs on /proc/PID/comm */
	size_t ncomm;
	const char *const *exe; /* fnmatch(3) globs on the /proc/PID/exe path */
	size_t nexe;
	const regex_t *const *cmdline; /* on argv joined with single spaces */
	size_t ncmdline;
	const pid_t *pid;
	size_t npid;
	const char *const *cgroup; /* cgroup v2 path prefixes */
	size_t ncgroup;
	const char *const *container; /* container id prefixes (hex) */
	size_t ncontainer;
	const unsigned int *port; /* TCP ports listened on */
	size_t nport;
};

struct discover_rules {
	struct discover_selector include, exclude;
	const char *service; /* "" or NULL: each target's command name */
};

#define DISCOVER_CMDLINE_MAX 4096
#define DISCOVER_FIELD_MAX 256

/* What a rule can look at, and the labels that come of it. */
struct proc_info {
	pid_t pid;
	char comm[17];
	char exe[DISCOVER_CMDLINE_MAX];
	char cmdline[DISCOVER_CMDLINE_MAX]; /* argv joined with spaces, cut at the max */
	char cgroup[DISCOVER_CMDLINE_MAX];  /* the cgroup v2 path, "" if none */
	char container_id[65];		    /* from the cgroup path, "" if none */
	char pod_uid[40];		    /* Kubernetes, from the cgroup path */
	char pod_name[DISCOVER_FIELD_MAX];  /* HOSTNAME in its environment (a pod's name) */
	char k8s_namespace[DISCOVER_FIELD_MAX];
	bool kernel_thread;
};

/* Read @pid's /proc entries. 0, -ESRCH (gone), or -errno. */
int proc_info_read(pid_t pid, struct proc_info *out);

/* The container id (64 hex digits) and pod UID in a cgroup path, "" if none. */
void discover_parse_cgroup(const char *path, char *container_id, size_t idlen, char *pod_uid,
			   size_t uidlen);

/* Whether @pid listens on TCP @port (IPv4 or IPv6). */
bool discover_listens(pid_t pid, unsigned int port);

/*
 * proc_info_read() for matching against @r: only the command name when it
 * already rules the process out (include rules on comm or PID alone, the
 * common case: a scan of /proc or a host's every exec reads one file per
 * process). 0 (read whole), DISCOVER_NO_MATCH (@pi holds pid and comm
 * only, and discover_match() is false), -ESRCH or -errno.
 */
#define DISCOVER_NO_MATCH 1
int discover_read(const struct discover_rules *r, pid_t pid, struct proc_info *pi);

/* The rules' verdict on a process (kernel threads never match). */
bool discover_match(const struct discover_rules *r, const struct proc_info *pi);

/*
 * Every process of /proc that matches, in /proc's order: @cb is called with
 * each (a non-zero return stops the scan and is returned). @max bounds
 * the targets reported (0: no bound); past it the rest are counted in
 * *skipped. Returns 0, or the callback's value.
 */
int discover_scan(const struct discover_rules *r, unsigned int max,
		  int (*cb)(void *ctx, const struct proc_info *pi), void *ctx, unsigned int *skipped);

#endif /* SONDE_SESSION_DISCOVER_H */
