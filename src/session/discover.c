// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "session/discover.h"

#define PF_KTHREAD 0x00200000u

/* Up to @len - 1 bytes of a /proc file, NUL-terminated; bytes read or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

/*
 * @rel read inside @pid's root: symlinks resolve in the container, never
 * on the host (an absolute link to /etc/shadow stays in the container).
 */
static ssize_t read_in_root(pid_t pid, const char *rel, char *buf, size_t len)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root[64];
	ssize_t n, got = 0;
	struct stat st;
	int dfd, fd;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	n = fd < 0 ? -errno : 0;
	close(dfd);
	if (fd < 0)
		return n;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* A Kubernetes namespace name (DNS-1123 label): anything else is not one. */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * Container ids are 64 hex digits in a path component, alone (cgroup v1
 * style /docker/ID) or wrapped (docker-ID.scope, cri-containerd-ID.scope,
 * crio-ID.scope, libpod-ID.scope); a pod's UID is "pod<uid>" in the
 * kubepods slices, with '_' for '-' under systemd.
 */
void discover_parse_cgroup(const char *path, char *container_id, size_t idlen, char *pod_uid,
			   size_t uidlen)
{
	const char *p = path;

	container_id[0] = '\0';
	pod_uid[0] = '\0';
	while (p && *p) {
		const char *end = strchr(p, '/'), *pod;
		size_t n = end ? (size_t)(end - p) : strlen(p);

		for (size_t i = 0; i + 64 <= n; i++) {
			bool left = i == 0 || !isxdigit((unsigned char)p[i - 1]);
			bool right = i + 64 == n || !isxdigit((unsigned char)p[i + 64]);

			if (left && right && is_hex(p + i, 64) && idlen > 64) {
				memcpy(container_id, p + i, 64);
				container_id[64] = '\0';
				break;
			}
		}
		for (pod = memmem(p, n, "pod", 3); pod && !pod_uid[0];
		     pod = memmem(pod + 1, p + n - pod - 1, "pod", 3)) {
			const char *q = pod + 3;
			size_t k = 0;

			for (; q < p + n && k + 1 < uidlen &&
			       (isxdigit((unsigned char)*q) || *q == '-' || *q == '_');
			     q++)
				pod_uid[k++] = *q == '_' ? '-' : *q;
			pod_uid[k] = '\0';
			if (k != 36)
				pod_uid[0] = '\0';
		}
		p = end ? end + 1 : NULL;
	}
}

/* HOSTNAME=... in a NUL-separated environment block. */
static void env_value(const char *env, size_t len, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);

	out[0] = '\0';
	for (size_t i = 0; i < len;) {
		const char *e = env + i;
		size_t elen = strnlen(e, len - i);

		if (elen > klen && !strncmp(e, key, klen) && e[klen] == '=') {
			snprintf(out, outlen, "%.*s", (int)(elen - klen - 1), e + klen + 1);
			return;
		}
		i += elen + 1;
	}
}

/* The command name alone: what most rules look at first. 0, -ESRCH or -errno. */
static int read_comm(pid_t pid, struct proc_info *pi)
{
	char path[64];
	ssize_t n;

	memset(pi, 0, sizeof(*pi));
	pi->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = read_small(path, pi->comm, sizeof(pi->comm));
	/* As proc_info_read() had it for stat: gone, or the error (EACCES, ...). */
	if (n <= 0)
		return n < 0 && n != -ENOENT ? (int)n : -ESRCH;
	pi->comm[strcspn(pi->comm, "\n")] = '\0';
	return 0;
}

/* The rest of proc_info_read() after read_comm(). */
static int read_rest(pid_t pid, struct proc_info *pi)
{
	char path[96], *buf = malloc(DISCOVER_CMDLINE_MAX * 4);
	ssize_t n;
	unsigned int flags = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = read_small(path, buf, 1024);
	if (n <= 0) {
		err = n < 0 && n != -ENOENT ? (int)n : -ESRCH;
		goto out;
	}
	{
		char *rp = strrchr(buf, ')');

		if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %u", &flags) != 1)
			flags = 0;
		pi->kernel_thread = flags & PF_KTHREAD;
	}
	/* No rule takes a kernel thread: nothing more to read. */
	if (pi->kernel_thread)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, pi->exe, sizeof(pi->exe) - 1);
	pi->exe[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_small(path, pi->cmdline, sizeof(pi->cmdline));
	for (ssize_t i = 0; i < n; i++)
		if (pi->cmdline[i] == '\0')
			pi->cmdline[i] = ' ';
	while (n > 0 && pi->cmdline[n - 1] == ' ')
		pi->cmdline[--n] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_small(path, buf, DISCOVER_CMDLINE_MAX) > 0) {
		/* cgroup v2: the "0::PATH" line. */
		char *l = strstr(buf, "0::");

		if (l && (l == buf || l[-1] == '\n'))
			snprintf(pi->cgroup, sizeof(pi->cgroup), "%.*s", (int)strcspn(l + 3, "\n"),
				 l + 3);
		discover_parse_cgroup(pi->cgroup[0] ? pi->cgroup : buf, pi->container_id,
				      sizeof(pi->container_id), pi->pod_uid, sizeof(pi->pod_uid));
	}
	if (pi->pod_uid[0]) {
		/* A pod's name is its hostname; its namespace, the service account's. */
		snprintf(path, sizeof(path), "/proc/%d/environ", pid);
		n = read_small(path, buf, DISCOVER_CMDLINE_MAX * 4);
		if (n > 0)
			env_value(buf, n, "HOSTNAME", pi->pod_name, sizeof(pi->pod_name));
		if (read_in_root(pid, "var/run/secrets/kubernetes.io/serviceaccount/namespace",
				 pi->k8s_namespace, sizeof(pi->k8s_namespace)) > 0)
			pi->k8s_namespace[strcspn(pi->k8s_namespace, "\n")] = '\0';
		if (!dns_label(pi->k8s_namespace))
			pi->k8s_namespace[0] = '\0';
	}
out:
	free(buf);
	return err;
}

int proc_info_read(pid_t pid, struct proc_info *pi)
{
	int err = read_comm(pid, pi);

	return err ? err : read_rest(pid, pi);
}

/* Inodes of the TCP sockets in LISTEN state in /proc/PID/net/tcp{,6} on @port. */
static bool port_listened(pid_t pid, unsigned int port, unsigned long *inodes, size_t max,
			  size_t *n)
{
	const char *files[] = {"tcp", "tcp6"};
	char path[64], line[512];

	*n = 0;
	for (size_t f = 0; f < 2; f++) {
		FILE *fp;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, files[f]);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp)) {
			char local[128];
			unsigned int st, lport;
			unsigned long ino;
			const char *colon;

			if (sscanf(line, " %*d: %127s %*s %x %*s %*s %*s %*d %*d %lu", local, &st,
				   &ino) != 3 ||
			    st != 0x0A)
				continue;
			colon = strrchr(local, ':');
			if (!colon || sscanf(colon + 1, "%x", &lport) != 1 || lport != port)
				continue;
			if (*n < max)
				inodes[(*n)++] = ino;
		}
		fclose(fp);
	}
	return *n > 0;
}

bool discover_listens(pid_t pid, unsigned int port)
{
	unsigned long inodes[64];
	char path[64], link[64];
	struct dirent *e;
	size_t n;
	DIR *d;
	bool found = false;

	if (!port_listened(pid, port, inodes, 64, &n))
		return false;
	/* The socket is this process's: one of its descriptors is it. */
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char fdpath[320];
		unsigned long ino;
		ssize_t len;

		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
		len = readlink(fdpath, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		for (size_t i = 0; i < n && !found; i++)
			found = inodes[i] == ino;
	}
	closedir(d);
	return found;
}

static bool any_glob(const char *const *globs, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!fnmatch(globs[i], s, 0))
			return true;
	return false;
}

static bool any_prefix(const char *const *pre, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (*s && !strncmp(s, pre[i], strlen(pre[i])))
			return true;
	return false;
}

static bool selector_empty(const struct discover_selector *s)
{
	return !s->ncomm && !s->nexe && !s->ncmdline && !s->npid && !s->ncgroup &&
	       !s->ncontainer && !s->nport;
}

static bool selector_match(const struct discover_selector *s, const struct proc_info *pi)
{
	if (any_glob(s->comm, s->ncomm, pi->comm) || any_glob(s->exe, s->nexe, pi->exe))
		return true;
	for (size_t i = 0; i < s->ncmdline; i++)
		if (!regexec(s->cmdline[i], pi->cmdline, 0, NULL, 0))
			return true;
	for (size_t i = 0; i < s->npid; i++)
		if (s->pid[i] == pi->pid)
			return true;
	if (any_prefix(s->cgroup, s->ncgroup, pi->cgroup) ||
	    any_prefix(s->container, s->ncontainer, pi->container_id))
		return true;
	for (size_t i = 0; i < s->nport; i++)
		if (discover_listens(pi->pid, s->port[i]))
			return true;
	return false;
}

/*
 * Whether a process of @pi's command name and PID may match @r whatever
 * else it shows: false only when the include rules look at nothing else.
 */
static bool may_match(const struct discover_rules *r, const struct proc_info *pi)
{
	const struct discover_selector *in = &r->include;

	if (selector_empty(in) || in->nexe || in->ncmdline || in->ncgroup || in->ncontainer ||
	    in->nport)
		return true;
	if (any_glob(in->comm, in->ncomm, pi->comm))
		return true;
	for (size_t i = 0; i < in->npid; i++)
		if (in->pid[i] == pi->pid)
			return true;
	return false;
}

int discover_read(const struct discover_rules *r, pid_t pid, struct proc_info *pi)
{
	int err = read_comm(pid, pi);

	if (err)
		return err;
	return may_match(r, pi) ? read_rest(pid, pi) : DISCOVER_NO_MATCH;
}

bool discover_match(const struct discover_rules *r, const struct proc_info *pi)
{
	if (pi->kernel_thread || !pi->exe[0])
		return false;
	if (!selector_empty(&r->include) && !selector_match(&r->include, pi))
		return false;
	return selector_empty(&r->exclude) || !selector_match(&r->exclude, pi);
}

int discover_scan(const struct discover_rules *r, unsigned int max,
		  int (*cb)(void *ctx, const struct proc_info *pi), void *ctx, unsigned int *skipped)
{
	struct proc_info *pi = malloc(sizeof(*pi));
	unsigned int found = 0;
	struct dirent *e;
	pid_t self = getpid();
	DIR *d;
	int err = 0;

	if (skipped)
		*skipped = 0;
	if (!pi)
		return -ENOMEM;
	d = opendir("/proc");
	if (!d) {
		err = -errno;
		free(pi);
		return err;
	}
	while (!err && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self)
			continue;
		if (discover_read(r, (pid_t)pid, pi) || !discover_match(r, pi))
			continue;
		if (max && found >= max) {
			if (skipped)
				(*skipped)++;
			continue;
		}
		found++;
		err = cb(ctx, pi);
	}
	closedir(d);
	free(pi);
	return err;
}
