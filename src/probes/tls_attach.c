// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "probes/probe.h"
#include "probes/tls_attach.h"
#include "probes/uprobe_multi.h"
#include "symbols/procmaps.h"

/* A file inspected once (by device and inode), TLS or not. */
struct known {
	dev_t dev;
	ino_t ino;
	int verdict; /* 1 TLS, 0 not, -errno unreadable */
	struct tls_lib lib;
	char *display; /* the path as its first user saw it */
};

/* One file's uprobes for one process (or every process: pid 0). */
struct tfile {
	size_t known;
	pid_t link_pid;
	int fds[2 * TLS_ROLE__COUNT];
	unsigned int nfds;
	struct bpf_link **links; /* perf-event uprobes (no uprobe_multi) */
	size_t nlinks;
	bool shared; /* for every process, kept while a user maps the file */
};

/* A dynamic target that maps known file @known (tls_attach__pid_shared). */
struct user {
	pid_t pid;
	size_t known;
	bool seen; /* found again by the latest scan of the process */
};

struct tls_attach {
	struct tls_progs p;
	struct known *known;
	size_t nknown;
	struct tfile *files;
	size_t nfiles;
	pid_t *reported; /* processes already described */
	size_t nreported;
	size_t refused;
	struct user *users;
	size_t nusers;
	/* The cache bounds: entries kept by the last pruning, pruned in all. */
	size_t nknown_tls_floor, nreported_live, pruned;
};

/* New entries of the file cache, and of the processes described, between prunings. */
#define KNOWN_PRUNE 1024
#define REPORTED_PRUNE 1024

struct tls_attach *tls_attach__new(const struct tls_progs *p)
{
	struct tls_attach *a = calloc(1, sizeof(*a));

	if (a)
		a->p = *p;
	return a;
}

static void tfile_detach(struct tfile *f)
{
	for (unsigned int j = 0; j < f->nfds; j++)
		close(f->fds[j]);
	f->nfds = 0;
	for (size_t j = 0; j < f->nlinks; j++)
		bpf_link__destroy(f->links[j]);
	free(f->links);
	f->links = NULL;
	f->nlinks = 0;
}

void tls_attach__detach(struct tls_attach *a)
{
	for (size_t i = 0; a && i < a->nfiles; i++)
		tfile_detach(&a->files[i]);
}

size_t tls_attach__cached(const struct tls_attach *a, size_t *pruned)
{
	if (pruned)
		*pruned = a->pruned;
	return a->nknown;
}

void tls_attach__free(struct tls_attach *a)
{
	if (!a)
		return;
	tls_attach__detach(a);
	for (size_t i = 0; i < a->nknown; i++)
		free(a->known[i].display);
	free(a->known);
	free(a->files);
	free(a->reported);
	free(a->users);
	free(a);
}

/*
 * The inspected-file cache past KNOWN_PRUNE entries (-a or the agent on a
 * host that runs new programs all day): the files that are not TLS go,
 * since nothing points at them and a second look costs one inspection;
 * the TLS ones stay, renumbered in the files and users that name them.
 */
static void prune_known(struct tls_attach *a)
{
	size_t *to = malloc(a->nknown * sizeof(*to)), n = 0;

	if (!to)
		return;
	for (size_t i = 0; i < a->nknown; i++) {
		if (a->known[i].verdict != 1) {
			free(a->known[i].display);
			to[i] = SIZE_MAX;
			continue;
		}
		to[i] = n;
		a->known[n++] = a->known[i];
	}
	for (size_t i = 0; i < a->nfiles; i++)
		a->files[i].known = to[a->files[i].known];
	for (size_t i = 0; i < a->nusers; i++)
		a->users[i].known = to[a->users[i].known];
	a->pruned += a->nknown - n;
	a->nknown = n;
	free(to);
}

/* The cache entry of @path, inspected now if new; NULL on ENOMEM or a stat failure. */
static struct known *inspect(struct tls_attach *a, const char *path, const char *display,
			     size_t *idx)
{
	struct known *grown, *k;
	struct stat st;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return NULL;
	if (a->nknown >= KNOWN_PRUNE + a->nknown_tls_floor) {
		prune_known(a);
		/* Mostly TLS files: look again only after as many new ones. */
		a->nknown_tls_floor = a->nknown;
	}
	for (size_t i = 0; i < a->nknown; i++) {
		if (a->known[i].dev == st.st_dev && a->known[i].ino == st.st_ino) {
			*idx = i;
			return &a->known[i];
		}
	}
	grown = realloc(a->known, (a->nknown + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	a->known = grown;
	k = &grown[a->nknown];
	memset(k, 0, sizeof(*k));
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->display = strdup(display);
	if (!k->display)
		return NULL;
	k->verdict = tls_lib_inspect(path, &k->lib);
	if (k->verdict == 0)
		k->verdict = 1;
	else if (k->verdict == -ENOENT || k->verdict == -ENOEXEC)
		k->verdict = 0;
	*idx = a->nknown++;
	return k;
}

/* The kernel refuses to probe an instruction: -ENOTSUPP (524) or -EINVAL. */
static bool refused(int err)
{
	return err == -524 || err == -EINVAL || err == -EOPNOTSUPP;
}

static int push_fd(struct tfile *f, int fd)
{
	if (f->nfds == sizeof(f->fds) / sizeof(f->fds[0])) {
		close(fd);
		return -E2BIG;
	}
	f->fds[f->nfds++] = fd;
	return 0;
}

/*
 * Entry (and return) probes on @n functions of one role as uprobe_multi
 * links; when the kernel refuses one instruction the whole link fails, so
 * then each function goes alone and the refused ones are skipped.
 */
static int attach_role_multi(struct tls_attach *a, struct tfile *f, const char *path,
			     enum tls_role role, const uint64_t *offs, const uint64_t *cookies,
			     size_t n)
{
	const struct bpf_program *ret = a->p.ret[role];
	int fd, rfd = -1, err;

	fd = uprobe_multi_attach(a->p.entry[role], path, f->link_pid, offs, cookies, n,
				 a->p.session && ret ? UPROBE_MULTI_SESSION : UPROBE_MULTI_ENTRY);
	if (fd >= 0 && ret && !a->p.session) {
		rfd = uprobe_multi_attach(ret, path, f->link_pid, offs, cookies, n,
					  UPROBE_MULTI_RETURN);
		if (rfd < 0) {
			close(fd);
			fd = rfd;
		}
	}
	if (fd >= 0) {
		err = push_fd(f, fd);
		return err ? err : (rfd >= 0 ? push_fd(f, rfd) : 0);
	}
	if (!refused(fd) || n == 1) {
		if (refused(fd)) {
			a->refused++;
			return 0;
		}
		return fd;
	}
	for (size_t i = 0; i < n; i++) {
		err = attach_role_multi(a, f, path, role, offs + i, cookies + i, 1);
		if (err)
			return err;
	}
	return 0;
}

/* One perf-event uprobe (and uretprobe) per function: kernels before 6.6. */
static int attach_role_single(struct tls_attach *a, struct tfile *f, const char *path,
			      enum tls_role role, const uint64_t *offs, const uint64_t *cookies,
			      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int r = 0; r < (a->p.ret[role] ? 2 : 1); r++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = cookies[i],
				    .retprobe = r != 0);
			const struct bpf_program *prog = r ? a->p.ret[role] : a->p.entry[role];
			struct bpf_link **grown, *l;

			l = bpf_program__attach_uprobe_opts(prog, f->link_pid ? f->link_pid : -1,
							    path, offs[i], &uo);
			if (!l && refused(-errno)) {
				a->refused++;
				break;
			}
			if (!l)
				return -errno;
			grown = realloc(f->links, (f->nlinks + 1) * sizeof(*grown));
			if (!grown) {
				bpf_link__destroy(l);
				return -ENOMEM;
			}
			f->links = grown;
			f->links[f->nlinks++] = l;
		}
	}
	return 0;
}

static int attach_file(struct tls_attach *a, struct tfile *f, const char *path)
{
	const struct tls_lib *lib = &a->known[f->known].lib;
	uint64_t offs[TLS_LIB_MAX_FUNCS], cookies[TLS_LIB_MAX_FUNCS];
	int err = 0;

	for (int role = 0; role < TLS_ROLE__COUNT && !err; role++) {
		size_t n = 0;

		for (unsigned int i = 0; i < lib->nfuncs; i++) {
			if (lib->funcs[i].role != (enum tls_role)role)
				continue;
			offs[n] = lib->funcs[i].offset;
			cookies[n++] = lib->funcs[i].cookie;
		}
		if (!n)
			continue;
		err = a->p.multi ? attach_role_multi(a, f, path, role, offs, cookies, n)
				 : attach_role_single(a, f, path, role, offs, cookies, n);
	}
	return err;
}

/* Attach known file @k (opened as @path) for @link_pid unless it already is. */
static int attach_known(struct tls_attach *a, size_t k, const char *path, pid_t link_pid)
{
	struct tfile *grown, *f;
	char desc[PATH_MAX + 512];
	int err;

	for (size_t i = 0; i < a->nfiles; i++)
		if (a->files[i].known == k &&
		    (a->files[i].link_pid == link_pid || !a->files[i].link_pid))
			return 0;
	if (a->p.stopping && a->p.stopping())
		return -EINTR;
	grown = realloc(a->files, (a->nfiles + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	a->files = grown;
	f = &grown[a->nfiles];
	memset(f, 0, sizeof(*f));
	f->known = k;
	f->link_pid = link_pid;
	a->nfiles++;
	err = attach_file(a, f, path);
	if (err) {
		log_err("llm: failed to attach uprobes to %s: %s", a->known[k].display,
			strerror(-err));
		return err;
	}
	log_info("llm: uprobes in %s%s", tls_attach__describe(a, a->nfiles - 1, desc, sizeof(desc)),
		 link_pid ? "" : " for every process");
	return 0;
}

int tls_attach__path(struct tls_attach *a, const char *path, pid_t link_pid)
{
	struct known *k;
	size_t idx;
	int err;

	k = inspect(a, path, path, &idx);
	if (!k)
		return errno == ENOMEM ? -ENOMEM : 0;
	if (k->verdict <= 0)
		return 0;
	err = attach_known(a, idx, path, link_pid);
	return err ? err : 1;
}

/* Where the dynamic loader finds the system's libssl. */
static const char *const sys_dirs[] = {"/usr/lib/x86_64-linux-gnu",
				       "/lib/x86_64-linux-gnu",
				       "/usr/lib64",
				       "/lib64",
				       "/usr/lib",
				       "/usr/local/lib",
				       "/usr/lib/aarch64-linux-gnu"};
static const char *const sys_names[] = {"libssl.so.3", "libssl.so.1.1"};

int tls_attach__system(struct tls_attach *a, pid_t link_pid)
{
	char path[PATH_MAX];
	int n = 0, r;

	for (size_t d = 0; d < sizeof(sys_dirs) / sizeof(sys_dirs[0]); d++) {
		for (size_t i = 0; i < sizeof(sys_names) / sizeof(sys_names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", sys_dirs[d], sys_names[i]);
			if (access(path, R_OK))
				continue;
			r = tls_attach__path(a, path, link_pid);
			if (r < 0)
				return r;
			n += r;
		}
	}
	return n;
}

/* The processes described that still exist: a PID reused later gets its own line. */
static void prune_reported(struct tls_attach *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->nreported; i++)
		if (!kill(a->reported[i], 0) || errno == EPERM)
			a->reported[n++] = a->reported[i];
	a->nreported = n;
}

static bool was_reported(struct tls_attach *a, pid_t pid)
{
	pid_t *grown;

	for (size_t i = 0; i < a->nreported; i++)
		if (a->reported[i] == pid)
			return true;
	if (a->nreported >= REPORTED_PRUNE + a->nreported_live) {
		prune_reported(a);
		a->nreported_live = a->nreported;
	}
	grown = realloc(a->reported, (a->nreported + 1) * sizeof(*grown));
	if (grown) {
		a->reported = grown;
		a->reported[a->nreported++] = pid;
	}
	return false;
}

/* For each executable file @pid maps (its program first): @fn(path as opened, as shown). */
typedef int (*file_fn)(struct tls_attach *a, const char *open_path, const char *display, void *ctx);

static int each_file(struct tls_attach *a, pid_t pid, file_fn fn, void *ctx)
{
	char open_path[PATH_MAX + 64], exe[PATH_MAX];
	struct procmaps maps;
	ssize_t n;
	int err;

	snprintf(open_path, sizeof(open_path), "/proc/%d/exe", pid);
	n = readlink(open_path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		err = fn(a, open_path, exe, ctx);
		if (err)
			return err;
	}
	err = procmaps__read(pid, &maps);
	if (err)
		return err == -ESRCH || err == -ENOENT ? 0 : err;
	for (size_t i = 0; i < maps.nr && !err; i++) {
		const char *p = maps.maps[i].path;

		/* One mapping per file is enough; skip the exe's and [vdso]-likes. */
		if (p[0] != '/' || (i && !strcmp(p, maps.maps[i - 1].path)) ||
		    (n > 0 && !strcmp(p, exe)))
			continue;
		snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", pid, p);
		err = fn(a, open_path, p, ctx);
	}
	procmaps__clear(&maps);
	return err;
}

struct pid_ctx {
	pid_t link_pid;
	pid_t user; /* tls_attach__pid_shared(): the files' user, else 0 */
	int tls;    /* TLS files found */
	char found[1024];
	size_t nfound;
};

/* @pid uses known file @k (attached for every process), once. */
static int add_user(struct tls_attach *a, pid_t pid, size_t k)
{
	struct user *grown;

	for (size_t i = 0; i < a->nfiles; i++)
		if (a->files[i].known == k && !a->files[i].link_pid)
			a->files[i].shared = true;
	for (size_t i = 0; i < a->nusers; i++) {
		if (a->users[i].pid == pid && a->users[i].known == k) {
			a->users[i].seen = true;
			return 0;
		}
	}
	grown = realloc(a->users, (a->nusers + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	a->users = grown;
	a->users[a->nusers++] = (struct user){pid, k, true};
	return 0;
}

static int attach_one(struct tls_attach *a, const char *open_path, const char *display, void *vctx)
{
	struct pid_ctx *c = vctx;
	struct known *k;
	size_t idx;
	int err;

	k = inspect(a, open_path, display, &idx);
	if (!k || k->verdict <= 0)
		return k || errno != ENOMEM ? 0 : -ENOMEM;
	err = attach_known(a, idx, open_path, c->link_pid);
	if (!err && c->user)
		err = add_user(a, c->user, idx);
	if (err)
		return err;
	c->tls++;
	c->nfound = str_append(c->found, sizeof(c->found), c->nfound, "%s%s (%s%s)",
			       c->nfound ? ", " : "", k->display,
			       k->lib.version[0] ? k->lib.version : "version unknown",
			       k->lib.from_symtab ? ", from .symtab" : "");
	return 0;
}

int tls_attach__pid(struct tls_attach *a, pid_t pid, pid_t link_pid, enum tls_report report)
{
	struct pid_ctx c = {.link_pid = link_pid};
	char comm[32], why[512];
	int err;

	err = each_file(a, pid, attach_one, &c);
	if (err)
		return err;
	if (report == TLS_REPORT_NONE || (!c.tls && (report != TLS_REPORT_ALL || kill(pid, 0))) ||
	    was_reported(a, pid))
		return c.tls;
	snprintf(comm, sizeof(comm), "?");
	probe_read_comm(pid, comm, sizeof(comm));
	if (c.tls)
		log_summary("llm: pid %d (%s): TLS through %s%s", pid, comm, c.found,
			    link_pid ? "" : " (and in its children)");
	else
		log_summary("llm: pid %d (%s): no TLS sonde can see into is mapped: %s; the "
			    "system's libssl is watched in case it loads it later",
			    pid, comm, tls_attach__why_none(a, pid, why, sizeof(why)));
	return c.tls;
}

struct why_ctx {
	char *buf;
	size_t len, n;
	bool tls;
};

static int why_one(struct tls_attach *a, const char *open_path, const char *display, void *vctx)
{
	struct why_ctx *c = vctx;
	const char *lib = tls_lib_unsupported(open_path);
	struct known *k;
	size_t idx;

	k = inspect(a, open_path, display, &idx);
	if (k && k->verdict > 0)
		c->tls = true;
	if (lib)
		c->n = str_append(c->buf, c->len, c->n,
				  "%sit uses %s (%s), which has no uprobe "
				  "support in sonde",
				  c->n ? "; " : "", lib, display);
	return 0;
}

const char *tls_attach__why_none(struct tls_attach *a, pid_t pid, char *buf, size_t len)
{
	struct why_ctx c = {.buf = buf, .len = len};

	buf[0] = '\0';
	each_file(a, pid, why_one, &c);
	if (c.tls) {
		buf[0] = '\0';
		return buf;
	}
	if (!c.n)
		str_append(
			buf, len, 0,
			"no OpenSSL or BoringSSL with SSL_write/SSL_read symbols and no Go "
			"crypto/tls in its program or libraries (statically linked and stripped, "
			"e.g. Bun, or another TLS library); plaintext HTTP is still seen");
	return buf;
}

/*
 * "/proc/PID/root@path" into @buf when @path (absolute) names the same
 * file there as it does resolved inside the process's root (its symlinks
 * may not lead out of it). 0, or -errno.
 */
static int path_in_root(pid_t pid, const char *path, char *buf, size_t len)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	struct stat in, as_named;
	int dfd, fd, err = 0;

	snprintf(buf, len, "/proc/%d/root", pid);
	dfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dfd, path + 1, &how, sizeof(how));
	if (fd < 0)
		err = -errno;
	close(dfd);
	if (err)
		return err;
	snprintf(buf, len, "/proc/%d/root%s", pid, path);
	if (fstat(fd, &in) || stat(buf, &as_named) || in.st_dev != as_named.st_dev ||
	    in.st_ino != as_named.st_ino)
		err = -EXDEV;
	close(fd);
	return err;
}

/* @pid's users that @keep does not keep go; then the shared files nobody uses. */
static size_t drop_users(struct tls_attach *a, pid_t pid, bool (*keep)(const struct user *u))
{
	size_t n = 0, detached = 0;

	for (size_t i = 0; i < a->nusers; i++)
		if (a->users[i].pid != pid || keep(&a->users[i]))
			a->users[n++] = a->users[i];
	a->nusers = n;
	for (size_t i = 0; i < a->nfiles;) {
		struct tfile *f = &a->files[i];
		bool used = false;

		for (size_t u = 0; u < a->nusers && !used; u++)
			used = a->users[u].known == f->known;
		if (!f->shared || used) {
			i++;
			continue;
		}
		log_info("llm: uprobes in %s detached: no target maps it any more",
			 a->known[f->known].display);
		tfile_detach(f);
		memmove(f, f + 1, (a->nfiles - i - 1) * sizeof(*f));
		a->nfiles--;
		detached++;
	}
	return detached;
}

static bool seen(const struct user *u)
{
	return u->seen;
}

static bool none(const struct user *u)
{
	(void)u;
	return false;
}

int tls_attach__pid_shared(struct tls_attach *a, pid_t pid)
{
	struct pid_ctx c = {.link_pid = 0, .user = pid};
	char path[PATH_MAX], open_path[PATH_MAX + 64];
	int err;

	for (size_t i = 0; i < a->nusers; i++)
		if (a->users[i].pid == pid)
			a->users[i].seen = false;
	err = each_file(a, pid, attach_one, &c);
	/* Its system libssl, which python's ssl module loads by dlopen, say. */
	for (size_t d = 0; !err && d < sizeof(sys_dirs) / sizeof(sys_dirs[0]); d++) {
		for (size_t i = 0; !err && i < sizeof(sys_names) / sizeof(sys_names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", sys_dirs[d], sys_names[i]);
			if (!path_in_root(pid, path, open_path, sizeof(open_path)))
				err = attach_one(a, open_path, path, &c);
		}
	}
	if (err)
		return err;
	/* What it no longer maps (an exec'd new program): not its files any more. */
	drop_users(a, pid, seen);
	return c.tls;
}

size_t tls_attach__release(struct tls_attach *a, pid_t pid)
{
	return drop_users(a, pid, none);
}

int tls_attach__all(struct tls_attach *a)
{
	struct pid_ctx c = {.link_pid = 0};
	struct dirent *de;
	DIR *d = opendir("/proc");
	pid_t self = getpid();
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self)
			continue;
		err = each_file(a, (pid_t)pid, attach_one, &c);
		/* A process that ended or that we may not read is not an error. */
		if (err == -EACCES || err == -EPERM)
			err = 0;
	}
	closedir(d);
	return err ? err : c.tls;
}

size_t tls_attach__nfiles(const struct tls_attach *a)
{
	return a->nfiles;
}

size_t tls_attach__refused(const struct tls_attach *a)
{
	return a->refused;
}

const char *tls_attach__describe(const struct tls_attach *a, size_t i, char *buf, size_t len)
{
	const struct known *k = &a->known[a->files[i].known];
	char funcs[512];
	size_t n;

	n = str_append(buf, len, 0, "%s (%s%s: %s", k->display,
		       k->lib.version[0] ? k->lib.version : "version unknown",
		       k->lib.from_symtab ? ", names from .symtab" : "",
		       tls_lib_funcs(&k->lib, funcs, sizeof(funcs)));
	str_append(buf, len, n, ")");
	return buf;
}
