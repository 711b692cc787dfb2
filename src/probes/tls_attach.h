/* SPDX-License-Identifier: MIT */
/*
 * Which files the tls probe's uprobes go into, for which processes, and
 * what to tell the user about each target: the TLS library found (path,
 * version, the functions probed) or why none could be probed.
 *
 * A uprobe belongs to a file, not to a process: attached with pid 0 it
 * fires in every process that maps the file, now or later (-a, and a
 * launched command whose children are followed); with a pid only in that
 * process (-p). So -a attaches to the system's libssl and to every other
 * TLS file any process maps, and to the program of each new process as
 * it execs.
 */
#ifndef SONDE_PROBES_TLS_ATTACH_H
#define SONDE_PROBES_TLS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "probes/tls_lib.h"

struct bpf_program;

struct tls_progs {
	/* Entry programs by enum tls_role; return programs of writes and reads. */
	const struct bpf_program *entry[TLS_ROLE__COUNT];
	const struct bpf_program *ret[TLS_ROLE__COUNT];
	bool multi; /* loaded for uprobe_multi links (else one perf uprobe each) */
	/*
	 * With multi: the entry programs of roles with a return program are
	 * uprobe sessions (Linux 6.13), entry and return in one program that
	 * skips the return of a call it does not copy; ret[] is not attached.
	 */
	bool session;
	bool (*stopping)(void);
};

struct tls_attach;

struct tls_attach *tls_attach__new(const struct tls_progs *p);
void tls_attach__free(struct tls_attach *a);
/*
 * Files in the inspection cache now; *@pruned (if not NULL): the entries
 * of files that are not TLS dropped to bound it.
 */
size_t tls_attach__cached(const struct tls_attach *a, size_t *pruned);

/* What tls_attach__pid() says about a process, once. */
enum tls_report {
	TLS_REPORT_NONE = 0,
	TLS_REPORT_FOUND, /* the TLS files it uses, if any */
	TLS_REPORT_ALL,	  /* that, or why none could be probed */
};

/*
 * The TLS files of process @pid: its executable and every executable
 * mapping, attached for @link_pid (0: every process), and one line as
 * @report asks.
 * Returns the number of TLS files it uses, or -errno for a failure to
 * attach (logged); a process that is gone is 0.
 */
int tls_attach__pid(struct tls_attach *a, pid_t pid, pid_t link_pid, enum tls_report report);
/*
 * The file at @path (as sonde sees it), e.g. a command not yet started:
 * 1 attached (or already), 0 not TLS, -errno.
 */
int tls_attach__path(struct tls_attach *a, const char *path, pid_t link_pid);
/*
 * The system's libssl where the dynamic loader finds it (loaded later by
 * dlopen, as python's ssl module does). Returns how many were attached.
 */
int tls_attach__system(struct tls_attach *a, pid_t link_pid);
/*
 * A dynamic target (the agent's): the TLS files @pid maps, and the system
 * libssl its own root holds (a later dlopen), attached for every process
 * (the target map filters in BPF): one link set per file, shared by every
 * target that uses it; @pid is a user of each until tls_attach__release().
 * Paths are opened in the process's root, never outside it. Returns the
 * number of TLS files, or -errno for a failure to attach (logged).
 */
int tls_attach__pid_shared(struct tls_attach *a, pid_t pid);
/* @pid left: the shared files no other target uses are detached; returns how many. */
size_t tls_attach__release(struct tls_attach *a, pid_t pid);
/* Every process's mappings (-a). Returns the number of TLS files, or -errno. */
int tls_attach__all(struct tls_attach *a);

/* Files attached, and uprobes the kernel refused. */
size_t tls_attach__nfiles(const struct tls_attach *a);
size_t tls_attach__refused(const struct tls_attach *a);
/* "path (version: funcs)" of file @i for messages. */
const char *tls_attach__describe(const struct tls_attach *a, size_t i, char *buf, size_t len);
/*
 * For a target that made no LLM call: why, as far as its mappings tell
 * (into @buf; "" when it uses a probed TLS file).
 */
const char *tls_attach__why_none(struct tls_attach *a, pid_t pid, char *buf, size_t len);
/* Detach everything (the links' uprobes are removed). */
void tls_attach__detach(struct tls_attach *a);

#endif /* SONDE_PROBES_TLS_ATTACH_H */
