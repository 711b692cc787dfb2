// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "session/target.h"

struct target {
	pid_t *pids;
	int npids;
	bool all;
	bool dynamic;
	bool launched;
	bool started;
	bool reaped;
	int go_fd;  /* write end: one byte lets the child exec */
	int err_fd; /* read end: the child's errno if exec failed */
	int status;
	struct rusage ru; /* the launched command's, once reaped (have_ru) */
	bool have_ru;
	char *cmd_name;
};

#define PF_KTHREAD 0x00200000u

/*
 * 'R', 'S', 'Z'... from /proc/PID/stat, 0 if the process is gone; @flags
 * (may be NULL) gets the task flags (PF_KTHREAD for a kernel thread).
 */
static char proc_state_flags(pid_t pid, unsigned int *flags)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: the state follows the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	/* state ppid pgrp session tty_nr tpgid flags */
	if (flags && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %u", flags) != 1)
		*flags = 0;
	return p[2];
}

static char proc_state(pid_t pid)
{
	return proc_state_flags(pid, NULL);
}

/* The thread-group id of @pid (itself for a process), or -errno. */
static pid_t proc_tgid(pid_t pid)
{
	char path[64], line[256];
	pid_t tgid = -ESRCH;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno == -ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Tgid:", 5)) {
			tgid = (pid_t)strtol(line + 5, NULL, 10);
			break;
		}
	}
	fclose(f);
	return tgid;
}

static int check_pids(struct target *t, const struct target_opts *o)
{
	t->pids = calloc(o->npids, sizeof(*t->pids));
	if (!t->pids)
		return -ENOMEM;
	for (int i = 0; i < o->npids; i++) {
		pid_t pid = o->pids[i], tgid = proc_tgid(pid);
		unsigned int flags = 0;
		char st = proc_state_flags(pid, &flags);

		if (tgid < 0 || !st || st == 'Z' || st == 'X') {
			log_err("cannot attach to PID %d: no such process", pid);
			return -ESRCH;
		}
		if (tgid == getpid()) {
			log_err("cannot attach to PID %d: that is this sonde itself", pid);
			return -EINVAL;
		}
		if (flags & PF_KTHREAD) {
			log_err("cannot attach to PID %d: it is a kernel thread, with no user space "
				"to profile or trace (sonde record -a samples the kernel too)",
				pid);
			return -EINVAL;
		}
		if (tgid != pid)
			log_warn("PID %d is a thread of process %d: watching the whole process",
				 pid, tgid);
		t->pids[t->npids++] = tgid;
	}
	return 0;
}

static int launch(struct target *t, char **cmd)
{
	int go[2], errp[2], err;
	pid_t pid;

	t->pids = malloc(sizeof(*t->pids));
	t->cmd_name = strdup(cmd[0]);
	if (!t->pids || !t->cmd_name)
		return -ENOMEM;
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(errp, O_CLOEXEC)) {
		err = -errno;
		goto err_close_go;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		log_err("target: failed to fork for '%s': %s", cmd[0], strerror(errno));
		goto err_close_err;
	}
	if (pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(errp[0]);
		/* Wait until the probes are attached; EOF means sonde gave up. */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(cmd[0], cmd);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	t->go_fd = go[1];
	t->err_fd = errp[0];
	t->pids[0] = pid;
	t->npids = 1;
	t->launched = true;
	return 0;

err_close_err:
	close(errp[0]);
	close(errp[1]);
err_close_go:
	close(go[0]);
	close(go[1]);
	return err;
}

int target__new(const struct target_opts *o, struct target **out)
{
	struct target *t;
	int err = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->go_fd = -1;
	t->err_fd = -1;
	if (o->all)
		t->all = true;
	else if (o->dynamic)
		t->dynamic = true;
	else if (o->cmd)
		err = launch(t, o->cmd);
	else
		err = check_pids(t, o);
	if (err) {
		target__free(t);
		return err;
	}
	*out = t;
	return 0;
}

/*
 * waitpid() of the launched command that keeps its resource usage (its
 * own and that of the children it waited for) once it is reaped.
 */
static pid_t reap(struct target *t, int options)
{
	pid_t r = wait4(t->pids[0], &t->status, options, &t->ru);

	if (r == t->pids[0])
		t->have_ru = true;
	return r;
}

int target__start(struct target *t)
{
	ssize_t n;
	int e;

	if (!t->launched || t->started)
		return 0;
	t->started = true;
	if (write(t->go_fd, "g", 1) != 1)
		return -errno;
	close(t->go_fd);
	t->go_fd = -1;
	/* EOF (exec closed the CLOEXEC pipe) means the exec succeeded. */
	do
		n = read(t->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(t->err_fd);
	t->err_fd = -1;
	if (n == sizeof(e)) {
		log_err("cannot run '%s': %s", t->cmd_name, strerror(e));
		while (reap(t, 0) < 0 && errno == EINTR)
			;
		t->reaped = true;
		return -e;
	}
	return 0;
}

const pid_t *target__pids(const struct target *t, int *n)
{
	*n = t->npids;
	return t->pids;
}

bool target__all(const struct target *t)
{
	return t->all;
}

bool target__launched(const struct target *t)
{
	return t->launched;
}

int target__alive(struct target *t)
{
	if (t->all || t->dynamic)
		return 1;
	if (t->launched) {
		pid_t r;

		if (t->reaped)
			return 0;
		r = reap(t, WNOHANG);
		if (r == t->pids[0] || (r < 0 && errno == ECHILD)) {
			t->reaped = true;
			return 0;
		}
		return 1;
	}
	for (int i = 0; i < t->npids; i++) {
		char st = proc_state(t->pids[i]);

		if (st && st != 'Z' && st != 'X')
			return 1;
	}
	return 0;
}

int target__exit_status(const struct target *t)
{
	if (WIFEXITED(t->status))
		return WEXITSTATUS(t->status);
	if (WIFSIGNALED(t->status))
		return 128 + WTERMSIG(t->status);
	return 0;
}

int target__term_signal(const struct target *t)
{
	return WIFSIGNALED(t->status) ? WTERMSIG(t->status) : 0;
}

const struct rusage *target__rusage(const struct target *t)
{
	return t && t->have_ru ? &t->ru : NULL;
}

/*
 * End a launched command still running (the recording stopped first: -d,
 * a signal, an error): SIGTERM, and SIGKILL if it has not exited within
 * two seconds, so a command that ignores SIGTERM cannot hang sonde.
 */
static void stop_child(struct target *t)
{
	pid_t pid = t->pids[0];

	if (t->started) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 200; i++) {
			pid_t r = reap(t, WNOHANG);

			if (r == pid || (r < 0 && errno != EINTR))
				return;
			usleep(10 * 1000);
		}
		kill(pid, SIGKILL);
	}
	/* Not started: it waits on the go pipe, which is closed, and exits. */
	while (reap(t, 0) < 0 && errno == EINTR)
		;
}

void target__free(struct target *t)
{
	if (!t)
		return;
	if (t->go_fd >= 0)
		close(t->go_fd); /* a child still waiting reads EOF and exits */
	if (t->err_fd >= 0)
		close(t->err_fd);
	if (t->launched && !t->reaped && t->npids)
		stop_child(t);
	free(t->cmd_name);
	free(t->pids);
	free(t);
}
