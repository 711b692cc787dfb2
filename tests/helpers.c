// SPDX-License-Identifier: MIT
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memrchr */
#endif
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "helpers.h"
#include "export/folded.h"
#include "model/metrics.h"

static const char *env_or_die(const char *name)
{
	const char *v = getenv(name);

	if (!v)
		cr_fatal("%s is not set: run the tests through meson test", name);
	return v;
}

const char *fixture_path(const char *name)
{
	static char buf[8][4096];
	static int slot;
	char *b = buf[slot++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", env_or_die("FIXTURE_DIR"), name);
	return b;
}

const char *fixture_realpath(const char *name)
{
	static char buf[4][PATH_MAX];
	static int slot;
	char *b = buf[slot++ % 4];

	cr_assert_not_null(realpath(fixture_path(name), b));
	return b;
}

const char *sonde_bin(void)
{
	return env_or_die("SONDE_BIN");
}

const char *source_path(const char *rel)
{
	static char buf[4][4096];
	static int slot;
	char *b = buf[slot++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", env_or_die("SOURCE_DIR"), rel);
	return b;
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, 4096, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int append(char **buf, size_t *len, const char *data, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + *len, data, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
	return 0;
}

int run_cmd(char *const argv[], char **out, char **err)
{
	int po[2], pe[2], status;
	char *ob = NULL, *eb = NULL;
	size_t ol = 0, el = 0;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	ob = calloc(1, 1);
	eb = calloc(1, 1);
	for (;;) {
		struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
		char tmp[4096];

		if (po[0] < 0 && pe[0] < 0)
			break;
		fds[0].fd = po[0];
		fds[1].fd = pe[0];
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &pe[0] : &po[0];
			ssize_t r;

			if (*fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(*fd, tmp, sizeof(tmp));
			if (r <= 0) {
				close(*fd);
				*fd = -1;
				continue;
			}
			if (i)
				append(&eb, &el, tmp, r);
			else
				append(&ob, &ol, tmp, r);
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = ob;
	else
		free(ob);
	if (err)
		*err = eb;
	else
		free(eb);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int run_sh(const char *cmd, char **out, char **err)
{
	char *argv[] = {"/bin/bash", "-c", (char *)cmd, NULL};

	return run_cmd(argv, out, err);
}

bool in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && (!strcmp(ci, "true") || !strcmp(ci, "1"));
}

void require_bpf(void)
{
	if (geteuid() == 0)
		return;
	if (in_ci())
		cr_fatal("BPF test needs root, and CI=true forbids skipping it");
	cr_skip_test("BPF test needs root");
}

const char *test_tmpdir(void)
{
	static char dir[64];

	if (!dir[0]) {
		strcpy(dir, "/tmp/sonde-test-XXXXXX");
		if (!mkdtemp(dir))
			cr_fatal("mkdtemp: %s", strerror(errno));
	}
	return dir;
}

const char *tmp_path(const char *name)
{
	static char path[8][512];
	static int slot;
	char *b = path[slot++ % 8];

	snprintf(b, sizeof(path[0]), "%s/%s", test_tmpdir(), name);
	return b;
}

char *folded_text(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(folded__write(p, f), 0);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

const char *find_in_path(const char *name, const char *fallback)
{
	static char buf[4][4096];
	static int slot;
	char *b = buf[slot++ % 4];
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;

	if (path) {
		copy = strdup(path);
		cr_assert_not_null(copy);
		for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
			if (!access(b, X_OK)) {
				free(copy);
				return b;
			}
		}
		free(copy);
	}
	if (fallback && !access(fallback, X_OK))
		return fallback;
	return NULL;
}

void skip_or_fail(const char *what)
{
	if (in_ci())
		cr_fatal("%s not found, and CI=true forbids skipping", what);
	cr_skip_test("%s not found", what);
}

void require_path(const char *path, int mode, const char *what)
{
	if (!access(path, mode))
		return;
	if (in_ci())
		cr_fatal("%s is missing (%s) and CI=true forbids skipping: run scripts/setup.sh",
			 what, path);
	cr_skip_test("%s is missing (%s): run scripts/setup.sh", what, path);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

double now_s(void)
{
	return now_ns() / 1e9;
}

pid_t spawn(char *const argv[], const char *outpath, const char *errpath)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int o = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		/* One open file for both, or each stream would overwrite the other. */
		int e = strcmp(outpath, errpath) ? open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)
						 : o;

		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		/* Never outlive a test that failed half-way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

pid_t gone_pid(void)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (!pid)
		_exit(0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

int count_of(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

uint64_t folded_sum(const char *text, const char *needle)
{
	uint64_t sum = 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *sp = memrchr(line, ' ', len);
		const char *hit = strstr(line, needle);

		if (sp && hit && hit < sp)
			sum += strtoull(sp + 1, NULL, 10);
		line = nl ? nl + 1 : NULL;
	}
	return sum;
}

unsigned long long number_before(const char *text, const char *word)
{
	const char *w = strstr(text, word);

	cr_assert(w != NULL, "no '%s' in: %s", word, text);
	while (w > text && w[-1] == ' ')
		w--;
	while (w > text && w[-1] >= '0' && w[-1] <= '9')
		w--;
	return strtoull(w, NULL, 10);
}

double named_value(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *line = text; line && *line;) {
		if (!strncmp(line, name, n) && line[n] == ' ')
			return strtod(line + n + 1, NULL);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

const struct metric_family *family(const struct metrics_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->nfamilies; i++)
		if (!strcmp(s->families[i].name, name))
			return &s->families[i];
	cr_fatal("family %s not in the snapshot", name);
	return NULL;
}

uint32_t lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

void section_of(const char *path, const char *name, size_t *off, size_t *size)
{
	char cmd[PATH_MAX + 128], line[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -SW %s", path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	*off = *size = 0;
	while (fgets(line, sizeof(line), p)) {
		char n[128], type[64];
		unsigned long long addr, o, sz;
		char *br = strchr(line, ']');

		if (!br ||
		    sscanf(br + 1, "%127s %63s %llx %llx %llx", n, type, &addr, &o, &sz) != 5)
			continue;
		if (!strcmp(n, name)) {
			*off = (size_t)o;
			*size = (size_t)sz;
		}
	}
	pclose(p);
	cr_assert_gt(*size, 0, "%s has no %s", path, name);
}

size_t section_sizes(const char *path, const char *name, bool prefix, bool inflated)
{
	int fd = open(path, O_RDONLY);
	size_t shstr, total = 0, nlen = strlen(name);
	Elf_Scn *scn = NULL;
	Elf *e;

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(e, "%s", path);
	cr_assert_eq(elf_getshdrstrndx(e, &shstr), 0);
	while ((scn = elf_nextscn(e, scn))) {
		const char *n;
		GElf_Shdr sh;
		GElf_Chdr ch;

		cr_assert_not_null(gelf_getshdr(scn, &sh));
		n = elf_strptr(e, shstr, sh.sh_name);
		if (!n || (prefix ? strncmp(n, name, nlen) : strcmp(n, name)))
			continue;
		if (inflated && (sh.sh_flags & SHF_COMPRESSED) && gelf_getchdr(scn, &ch))
			total += ch.ch_size;
		else
			total += sh.sh_size;
	}
	elf_end(e);
	close(fd);
	return total;
}

const char *go_bin(void)
{
	const char *go = find_in_path("go", "/usr/lib/go/bin/go");
	char dir[4200];

	if (!go) {
		skip_or_fail("go (golang-go)");
		return NULL;
	}
	/* go wants a writable home and cache, which meson test may not give. */
	snprintf(dir, sizeof(dir), "%s/gohome", test_tmpdir());
	mkdir(dir, 0700);
	setenv("HOME", dir, 1);
	snprintf(dir, sizeof(dir), "%s/gohome/cache", test_tmpdir());
	setenv("GOCACHE", dir, 1);
	snprintf(dir, sizeof(dir), "%s/gohome/gopath", test_tmpdir());
	setenv("GOPATH", dir, 1);
	setenv("GOFLAGS", "-mod=mod", 1);
	setenv("GOTOOLCHAIN", "local", 1);
	/* No browser, no symbol server: only the file. */
	setenv("PPROF_TMPDIR", test_tmpdir(), 1);
	return go;
}

/* Run go tool pprof with @args (NULL-terminated) on @file; stdout. */
char *pprof_run(const char *file, const char *a1, const char *a2, const char *a3)
{
	const char *go = go_bin();
	char *argv[9];
	char *out = NULL, *err = NULL;
	int n = 0, rc;

	argv[n++] = (char *)go;
	argv[n++] = "tool";
	argv[n++] = "pprof";
	if (a1)
		argv[n++] = (char *)a1;
	if (a2)
		argv[n++] = (char *)a2;
	if (a3)
		argv[n++] = (char *)a3;
	argv[n++] = (char *)file;
	argv[n] = NULL;
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "go tool pprof %s failed (%d): %s", a1 ? a1 : "", rc, err);
	free(err);
	return out;
}

/* cp @from @to, keeping the mode. */
static void copy_file(const char *from, const char *to)
{
	char *const argv[] = {(char *)find_in_path("cp", "/bin/cp"), "-p", (char *)from,
			      (char *)to, NULL};

	cr_assert_eq(run_cmd(argv, NULL, NULL), 0, "cp %s %s failed", from, to);
}

pid_t spawn_hostile(const char *name, char *const args[], const char *over, char *dir)
{
	char bin[PATH_MAX], alt[PATH_MAX], file[PATH_MAX + 64], pidf[PATH_MAX + 16];
	char script[8192], probe[PATH_MAX + 96];
	static int seq;
	size_t used;
	pid_t pid = 0;
	struct stat before, after;

	snprintf(dir, PATH_MAX, "%s/hostile%d", test_tmpdir(), seq++);
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	snprintf(alt, sizeof(alt), "%s/alt", dir);
	cr_assert_eq(mkdir(dir, 0755) | mkdir(bin, 0777) | mkdir(alt, 0777), 0);
	/* nobody writes its pid file into DIR. */
	chmod(dir, 0777);
	/* nobody must reach and run it: the test's own tmpdir is private. */
	chmod(test_tmpdir(), 0755);
	snprintf(file, sizeof(file), "%s/%s", bin, name);
	copy_file(fixture_path(name), file);
	cr_assert_eq(stat(file, &before), 0);
	snprintf(file, sizeof(file), "%s/%s", alt, name);
	if (!strcmp(over, "fifo"))
		cr_assert_eq(mkfifo(file, 0666), 0);
	else
		copy_file(fixture_path(name), file);
	snprintf(pidf, sizeof(pidf), "%s/pid", dir);
	used = (size_t)snprintf(script, sizeof(script), "'%s/%s'", bin, name);
	for (int i = 0; args && args[i]; i++)
		used += (size_t)snprintf(script + used, sizeof(script) - used, " '%s'", args[i]);
	/* Mount once the fixture has mapped its file; then just wait for it. */
	snprintf(script + used, sizeof(script) - used,
		 " & p=$!; sleep 0.3; mount --bind '%s' '%s' && echo $p > '%s.tmp' && "
		 "mv '%s.tmp' '%s'; wait $p",
		 alt, bin, pidf, pidf, pidf);
	char *argv[] = {(char *)find_in_path("setpriv", "/usr/bin/setpriv"),
			"--reuid=65534",
			"--regid=65534",
			"--clear-groups",
			(char *)find_in_path("unshare", "/usr/bin/unshare"),
			"-Urm",
			"/bin/sh",
			"-c",
			script,
			NULL};
	snprintf(file, sizeof(file), "%s/out", dir);
	/* The shell dies with the test (PR_SET_PDEATHSIG), the fixture with its namespace. */
	spawn(argv, file, file);
	for (int i = 0; i < 500 && !pid; i++) {
		char *text = read_file(pidf, NULL);

		if (text)
			pid = (pid_t)atoi(text);
		free(text);
		if (!pid)
			usleep(10 * 1000);
	}
	cr_assert_gt(pid, 0, "the hostile fixture did not start: %s", read_file(file, NULL));
	/* Its view of its own binary is now the other file. */
	snprintf(probe, sizeof(probe), "/proc/%d/root%s/%s", pid, bin, name);
	cr_assert_eq(stat(probe, &after), 0);
	cr_assert_neq(after.st_ino, before.st_ino, "the bind mount did not take");
	return pid;
}

char *capture_stderr(int (*fn)(void *), void *arg, int *ret)
{
	char path[256];
	int saved, fd;
	char *text;

	snprintf(path, sizeof(path), "%s/stderr-%d", test_tmpdir(), getpid());
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	dup2(fd, 2);
	close(fd);
	*ret = fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	text = read_file(path, NULL);
	cr_assert_not_null(text);
	unlink(path);
	return text;
}

/* The value of "key":"..." in @line, copied into @out. */
void json_str(const char *line, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(line, pat);
	cr_assert(p != NULL, "no %s in span: %s", key, line);
	p += strlen(pat);
	end = strchr(p, '"');
	cr_assert(end != NULL && (size_t)(end - p) < len, "bad %s in span: %s", key, line);
	memcpy(out, p, end - p);
	out[end - p] = '\0';
}
