// SPDX-License-Identifier: MIT
/* Target discovery: cgroup paths, and rules matched against a live process. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "session/discover.h"

#define ID "4f2c0a1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"

Test(discover, cgroup_paths)
{
	char id[65], uid[40];

	discover_parse_cgroup("/kubepods.slice/kubepods-besteffort.slice/"
			      "kubepods-besteffort-pod1234abcd_5678_90ab_cdef_1234567890ab.slice/"
			      "cri-containerd-" ID ".scope",
			      id, sizeof(id), uid, sizeof(uid));
	cr_assert_str_eq(id, ID);
	cr_assert_str_eq(uid, "1234abcd-5678-90ab-cdef-1234567890ab");
	discover_parse_cgroup("/system.slice/docker-" ID ".scope", id, sizeof(id), uid,
			      sizeof(uid));
	cr_assert_str_eq(id, ID);
	cr_assert_str_eq(uid, "");
	discover_parse_cgroup("/docker/" ID, id, sizeof(id), uid, sizeof(uid));
	cr_assert_str_eq(id, ID);
	discover_parse_cgroup("/user.slice/user-0.slice/session-3.scope", id, sizeof(id), uid,
			      sizeof(uid));
	cr_assert_str_eq(id, "");
	cr_assert_str_eq(uid, "");
	/* 65 hex digits are no container id. */
	discover_parse_cgroup("/x/" ID "a", id, sizeof(id), uid, sizeof(uid));
	cr_assert_str_eq(id, "");
}

/*
 * A sleep(1) holding a TCP listener (bound before the exec, kept across
 * it), its argv[0] a marker: returns its PID.
 */
static char marker[64];

static pid_t start_listener(unsigned int *port)
{
	int p[2], s;

	/* Unique to this run: other runs' leftovers must not match. */
	snprintf(marker, sizeof(marker), "discofix-%d", (int)getpid());
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t len = sizeof(a);

		s = socket(AF_INET, SOCK_STREAM, 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(s, (void *)&a, sizeof(a)) || listen(s, 1) ||
		    getsockname(s, (void *)&a, &len))
			_exit(1);
		*port = ntohs(a.sin_port);
		if (write(p[1], port, sizeof(*port)) != sizeof(*port))
			_exit(1);
		close(p[1]);
		execl("/bin/sleep", marker, "1000", (char *)NULL);
		_exit(1);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], port, sizeof(*port)), sizeof(*port));
	close(p[0]);
	/* Until the exec is done, /proc shows the test binary. */
	for (int i = 0; i < 200; i++) {
		char buf[64] = {0}, path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (f && fgets(buf, sizeof(buf), f) && !strncmp(buf, "sleep", 5)) {
			fclose(f);
			break;
		}
		if (f)
			fclose(f);
		usleep(10000);
	}
	return pid;
}

struct found {
	pid_t pids[16];
	int n;
};

static int collect(void *ctx, const struct proc_info *pi)
{
	struct found *f = ctx;

	if (f->n < 16)
		f->pids[f->n++] = pi->pid;
	return 0;
}

static pid_t atexit_pid;

static void kill_listener(void)
{
	if (atexit_pid > 0)
		kill(atexit_pid, SIGKILL);
}

Test(discover, rules_on_a_live_process)
{
	unsigned int port = 0, skipped;
	pid_t pid = start_listener(&port);

	/* The listener must not outlive a failed assertion (the runner would wait for it). */
	atexit_pid = pid;
	atexit(kill_listener);
	const char *sl[] = {"sl*"}, *other[] = {"nomatch*"};
	struct discover_rules r = {0};
	struct proc_info pi;
	struct found f = {0};
	regex_t re;

	cr_assert_eq(proc_info_read(pid, &pi), 0);
	cr_assert_str_eq(pi.comm, "sleep");
	cr_assert(!strcmp(pi.exe, "/usr/bin/sleep") || !strcmp(pi.exe, "/bin/sleep"), "exe %s",
		  pi.exe);
	{
		char want[96];

		snprintf(want, sizeof(want), "%s 1000", marker);
		cr_assert_str_eq(pi.cmdline, want);
	}
	cr_assert(!pi.kernel_thread);

	r.include.comm = sl;
	r.include.ncomm = 1;
	cr_assert(discover_match(&r, &pi));
	r.include.comm = other;
	cr_assert(!discover_match(&r, &pi));
	/* By port: the one it listens on, not another. */
	r.include.ncomm = 0;
	r.include.port = &port;
	r.include.nport = 1;
	cr_assert(discover_match(&r, &pi));
	cr_assert(discover_listens(pid, port));
	cr_assert(!discover_listens(getpid(), port), "the parent does not hold that socket");
	/* Excluded by its command line. */
	{
		char pat[96];

		snprintf(pat, sizeof(pat), "^%s 1000$", marker);
		cr_assert_eq(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB), 0);
	}
	r.exclude.cmdline = (const regex_t *const[]){&re};
	r.exclude.ncmdline = 1;
	cr_assert(!discover_match(&r, &pi));

	/* A scan by command line finds exactly that process. */
	memset(&r, 0, sizeof(r));
	r.include.cmdline = (const regex_t *const[]){&re};
	r.include.ncmdline = 1;
	cr_assert_eq(discover_scan(&r, 0, collect, &f, &skipped), 0);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.pids[0], pid);
	cr_assert_eq(skipped, 0);
	/* Rules on comm or PID alone: one file read when the comm rules it out. */
	memset(&r, 0, sizeof(r));
	r.include.comm = other;
	r.include.ncomm = 1;
	cr_assert_eq(discover_read(&r, pid, &pi), DISCOVER_NO_MATCH);
	cr_assert_str_eq(pi.comm, "sleep");
	cr_assert_str_eq(pi.exe, "");
	cr_assert_str_eq(pi.cmdline, "");
	cr_assert(!discover_match(&r, &pi));
	r.include.pid = &pid;
	r.include.npid = 1;
	cr_assert_eq(discover_read(&r, pid, &pi), 0);
	cr_assert(discover_match(&r, &pi));
	memset(&r, 0, sizeof(r));
	r.include.comm = sl;
	r.include.ncomm = 1;
	cr_assert_eq(discover_read(&r, pid, &pi), 0);
	cr_assert(!strcmp(pi.exe, "/usr/bin/sleep") || !strcmp(pi.exe, "/bin/sleep"), "exe %s",
		  pi.exe);
	cr_assert(discover_match(&r, &pi));
	/* Any other rule needs the whole entry: read whatever the comm. */
	r.include.comm = other;
	r.include.cmdline = (const regex_t *const[]){&re};
	r.include.ncmdline = 1;
	cr_assert_eq(discover_read(&r, pid, &pi), 0);
	cr_assert(discover_match(&r, &pi));
	regfree(&re);
	/* A kernel thread never matches, whatever the rules. */
	cr_assert_eq(proc_info_read(2, &pi), 0);
	cr_assert(pi.kernel_thread);
	memset(&r, 0, sizeof(r));
	cr_assert(!discover_match(&r, &pi));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(proc_info_read(pid, &pi), -ESRCH);
}

/* Remove the test's cgroup and chroot directory, whatever happened. */
static char cg_dir[640], root_dir[256];
static pid_t pod_pid;

static void pod_cleanup(void)
{
	char path[sizeof(cg_dir)];

	if (pod_pid > 0) {
		kill(pod_pid, SIGKILL);
		waitpid(pod_pid, NULL, 0);
	}
	if (cg_dir[0]) {
		rmdir(cg_dir);
		snprintf(path, sizeof(path), "%s", cg_dir);
		*strrchr(path, '/') = '\0';
		rmdir(path);
		*strrchr(path, '/') = '\0';
		rmdir(path);
	}
}

/*
 * A process in a pod's cgroup, chrooted into @root (python3, which keeps
 * running from memory there): discover reads its pod UID and container id
 * from the cgroup, its pod name from HOSTNAME and its namespace from the
 * service account file inside its root. Returns its pid once chrooted.
 */
static pid_t start_pod(const char *root, const char *uid, const char *id)
{
	char path[sizeof(cg_dir) + 16], pid_s[16], line[16] = "";
	char *env[] = {"HOSTNAME=checkout-7d4f9", NULL};
	char *argv[] = {"python3", "-c",
			"import os, sys, time\n"
			"os.chroot(sys.argv[1]); os.chdir('/')\n"
			"print('ready', flush=True)\n"
			"time.sleep(1000)\n",
			(char *)root, NULL};
	int out[2];
	pid_t pid;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/unified/kubepods.slice");
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/unified/kubepods.slice/kubepods-pod%s.slice",
		 uid);
	mkdir(path, 0755);
	snprintf(cg_dir, sizeof(cg_dir), "%.256s/cri-containerd-%.64s.scope", path, id);
	cr_assert(!mkdir(cg_dir, 0755) || errno == EEXIST, "%s: %s", cg_dir, strerror(errno));
	cr_assert_eq(pipe(out), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		execve("/usr/bin/python3", argv, env);
		execve("/root/.pyenv/shims/python3", argv, env);
		_exit(127);
	}
	close(out[1]);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
	f = fopen(path, "w");
	cr_assert(f, "%s: %s", path, strerror(errno));
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	fputs(pid_s, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_gt(read(out[0], line, sizeof(line) - 1), 0, "python3 did not start");
	cr_assert(!strncmp(line, "ready", 5), "%s", line);
	close(out[0]);
	return pid;
}

static void write_at(const char *root, const char *rel, const char *text)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	cr_assert(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

#define SA_NS "var/run/secrets/kubernetes.io/serviceaccount/namespace"
#define POD_UID "1234abcd_5678_90ab_cdef_1234567890ab"

/*
 * A pod's labels come from inside its own root: the namespace file is
 * read there, a symlink planted in its place resolves in the container
 * (an absolute link to a host file finds nothing), and a value that is
 * not a DNS-1123 label is dropped.
 */
Test(discover, pod_labels_from_inside_its_root, .timeout = 30)
{
	struct proc_info pi;
	char link[512];

	if (geteuid()) {
		cr_skip_test("needs root (a cgroup and chroot)");
		return;
	}
	snprintf(root_dir, sizeof(root_dir), "/tmp/sonde-pod-XXXXXX");
	cr_assert(mkdtemp(root_dir));
	atexit(pod_cleanup);
	write_at(root_dir, SA_NS, "shop\n");
	pod_pid = start_pod(root_dir, POD_UID, ID);
	cr_assert_eq(proc_info_read(pod_pid, &pi), 0);
	cr_assert_str_eq(pi.container_id, ID);
	cr_assert_str_eq(pi.pod_uid, "1234abcd-5678-90ab-cdef-1234567890ab");
	cr_assert_str_eq(pi.pod_name, "checkout-7d4f9");
	cr_assert_str_eq(pi.k8s_namespace, "shop");

	/* A link to the host's file resolves inside the root: nothing there. */
	snprintf(link, sizeof(link), "%s/%s", root_dir, SA_NS);
	cr_assert_eq(unlink(link), 0);
	write_at("/tmp", "sonde-host-namespace", "host-secret\n");
	cr_assert_eq(symlink("/tmp/sonde-host-namespace", link), 0);
	cr_assert_eq(proc_info_read(pod_pid, &pi), 0);
	cr_assert_str_eq(pi.k8s_namespace, "");
	/* The same link resolved in the root finds the root's own file. */
	write_at(root_dir, "tmp/sonde-host-namespace", "inside\n");
	cr_assert_eq(proc_info_read(pod_pid, &pi), 0);
	cr_assert_str_eq(pi.k8s_namespace, "inside");
	/* Not a namespace name. */
	write_at(root_dir, "tmp/sonde-host-namespace", "Bad_Name\n");
	cr_assert_eq(proc_info_read(pod_pid, &pi), 0);
	cr_assert_str_eq(pi.k8s_namespace, "");
	unlink("/tmp/sonde-host-namespace");
}
