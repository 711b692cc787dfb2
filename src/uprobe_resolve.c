// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sonde/elfsyms.h"
#include "sonde/log.h"
#include "sonde/procmaps.h"
#include "sonde/suggest.h"
#include "sonde/uprobe_resolve.h"

/* DT_NEEDED closure walked for a -- CMD; a real program links far fewer. */
#define MAX_LIBS 256
#define MAX_SUGGEST 3

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#else
#define MULTIARCH ""
#endif

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

bool uprobe_short_name_matches(const char *name, const char *path)
{
	const char *b = base_name(path);
	size_t n = strlen(name);

	if (!strcmp(b, name))
		return true;
	return !strncmp(b, name, n) && (b[n] == '.' || b[n] == '-');
}

bool uprobe_is_glob(const char *pattern)
{
	return strpbrk(pattern, "*?[") != NULL;
}

int uprobe_find_exe(const char *cmd0, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL;
	int err = -ENOENT;

	if (strchr(cmd0, '/')) {
		if (access(cmd0, X_OK))
			return -errno;
		snprintf(out, len, "%s", cmd0);
		return 0;
	}
	dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return -ENOMEM;
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", *dir ? dir : ".", cmd0);
		if (!access(out, X_OK)) {
			err = 0;
			break;
		}
	}
	free(dirs);
	return err;
}

/* A short name among the files PID maps; the main executable counts too. */
static int find_in_maps(const char *name, pid_t pid, char *display, size_t dlen)
{
	struct procmaps maps = {0};
	int err;

	err = procmaps__read(pid, &maps);
	if (err)
		return err;
	err = -ENOENT;
	for (size_t i = 0; i < maps.nr; i++) {
		const char *p = maps.maps[i].path;

		if (!p || p[0] != '/' || strstr(p, " (deleted)"))
			continue;
		if (uprobe_short_name_matches(name, p)) {
			snprintf(display, dlen, "%s", p);
			err = 0;
			break;
		}
	}
	procmaps__clear(&maps);
	return err;
}

struct dyninfo {
	char *needed[64];
	int nneeded;
	char *runpath; /* DT_RUNPATH, else DT_RPATH */
};

static void dyninfo_clear(struct dyninfo *d)
{
	for (int i = 0; i < d->nneeded; i++)
		free(d->needed[i]);
	free(d->runpath);
	memset(d, 0, sizeof(*d));
}

/* DT_NEEDED names and the run path of an ELF file. */
static int read_dynamic(const char *path, struct dyninfo *d)
{
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd, err = 0;

	memset(d, 0, sizeof(*d));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		err = -ENOEXEC;
		goto out_fd;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1);
		     i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH &&
			    dyn.d_tag != DT_RPATH)
				continue;
			s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			if (dyn.d_tag == DT_NEEDED && d->nneeded < 64) {
				d->needed[d->nneeded] = strdup(s);
				if (d->needed[d->nneeded])
					d->nneeded++;
			} else if (dyn.d_tag == DT_RUNPATH || !d->runpath) {
				free(d->runpath);
				d->runpath = strdup(s);
			}
		}
		break;
	}
	elf_end(elf);
out_fd:
	close(fd);
	return err;
}

/* Search a ':'-separated list of directories; $ORIGIN is @origin. */
static int search_dirs(const char *list, const char *origin, const char *lib, char *out, size_t len)
{
	char *copy, *dir, *save = NULL;
	int err = -ENOENT;

	if (!list || !*list)
		return -ENOENT;
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (!strncmp(dir, "$ORIGIN", 7))
			snprintf(out, len, "%s%s/%s", origin, dir + 7, lib);
		else if (!strncmp(dir, "${ORIGIN}", 9))
			snprintf(out, len, "%s%s/%s", origin, dir + 9, lib);
		else
			snprintf(out, len, "%s/%s", dir, lib);
		if (!access(out, R_OK)) {
			err = 0;
			break;
		}
	}
	free(copy);
	return err;
}

/* Where the dynamic loader would find @lib needed by @from. */
static int locate_lib(const char *lib, const char *from, const char *runpath, char *out, size_t len)
{
	static const char *const defaults = "/lib/" MULTIARCH ":/usr/lib/" MULTIARCH
					    ":/lib64:/usr/lib64:/lib:/usr/lib:/usr/local/lib";
	char origin[PATH_MAX];
	const char *slash = strrchr(from, '/');

	if (strchr(lib, '/')) {
		snprintf(out, len, "%s", lib);
		return access(out, R_OK) ? -ENOENT : 0;
	}
	snprintf(origin, sizeof(origin), "%.*s", slash ? (int)(slash - from) : 1,
		 slash ? from : ".");
	if (!search_dirs(runpath, origin, lib, out, len))
		return 0;
	if (!search_dirs(getenv("LD_LIBRARY_PATH"), origin, lib, out, len))
		return 0;
	return search_dirs(defaults, origin, lib, out, len);
}

/*
 * Breadth-first over the DT_NEEDED closure of @exe for a library whose
 * file name the short name matches.
 */
static int find_in_needed(const char *name, const char *exe, char *path, size_t plen)
{
	char *queue[MAX_LIBS];
	int head = 0, tail = 0, err = -ENOENT;

	queue[tail] = strdup(exe);
	if (!queue[tail])
		return -ENOMEM;
	tail++;
	while (head < tail && err == -ENOENT) {
		char *cur = queue[head++];
		struct dyninfo d;

		if (read_dynamic(cur, &d))
			continue;
		for (int i = 0; i < d.nneeded && err == -ENOENT; i++) {
			char found[PATH_MAX];
			bool seen = false;

			if (locate_lib(d.needed[i], cur, d.runpath, found, sizeof(found)))
				continue;
			if (uprobe_short_name_matches(name, d.needed[i]) ||
			    uprobe_short_name_matches(name, found)) {
				snprintf(path, plen, "%s", found);
				err = 0;
				break;
			}
			for (int j = 0; j < tail && !seen; j++)
				seen = !strcmp(queue[j], found);
			if (!seen && tail < MAX_LIBS) {
				queue[tail] = strdup(found);
				if (queue[tail])
					tail++;
			}
		}
		dyninfo_clear(&d);
	}
	for (int i = 0; i < tail; i++)
		free(queue[i]);
	return err;
}

int uprobe_resolve_target(const char *spec, const char *target, pid_t pid, const char *exe,
			  char *path, size_t plen, char *display, size_t dlen)
{
	char real[PATH_MAX];
	int err;

	if (strchr(target, '/')) {
		/* A relative path means the same file for us and for a -- CMD. */
		if (pid > 0 && target[0] == '/')
			snprintf(path, plen, "/proc/%d/root%s", pid, target);
		else
			snprintf(path, plen, "%s", target);
		if (access(path, R_OK)) {
			err = -errno;
			log_err("cannot trace '%s': %s: %s", spec, target, strerror(errno));
			return err;
		}
		/* Spans name the file absolutely; a PID's paths are its own. */
		snprintf(display, dlen, "%s", pid > 0 || !realpath(path, real) ? target : real);
		return 0;
	}
	if (pid > 0) {
		err = find_in_maps(target, pid, display, dlen);
		if (err == -ENOENT)
			log_err("cannot trace '%s': PID %d maps no file named '%s' (give the "
				"path: -f /path/to/%s:FUNCTION; 'libc' means libc.so.6)",
				spec, pid, target, target);
		else if (err)
			log_err("cannot trace '%s': failed to read the maps of PID %d: %s", spec,
				pid, strerror(-err));
		if (err)
			return err;
		snprintf(path, plen, "/proc/%d/root%s", pid, display);
		return 0;
	}
	if (uprobe_short_name_matches(target, exe)) {
		snprintf(path, plen, "%s", realpath(exe, real) ? real : exe);
	} else {
		err = find_in_needed(target, exe, path, plen);
		if (err) {
			log_err("cannot trace '%s': %s links no library named '%s' (give the "
				"path: -f /path/to/%s.so:FUNCTION)",
				spec, exe, target, target);
			return err;
		}
	}
	snprintf(display, dlen, "%s", path);
	return 0;
}

static int add_match(struct uprobe_func **out, size_t *n, size_t max, const struct elfsyms *syms,
		     const struct elfsym *s)
{
	struct uprobe_func *grown;
	uint64_t off;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*out)[i].name, s->name))
			return 0;
	/* A symbol outside any loaded segment cannot be probed; skip it. */
	if (elfsyms__vaddr_to_off(syms, s->addr, &off))
		return 0;
	for (size_t i = 0; i < *n; i++)
		if ((*out)[i].offset == off)
			return 0;
	if (*n >= max)
		return -E2BIG;
	grown = realloc(*out, (*n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*out = grown;
	grown[*n].name = strdup(s->name);
	if (!grown[*n].name)
		return -ENOMEM;
	grown[*n].offset = off;
	(*n)++;
	return 0;
}

int uprobe_match_funcs(const struct elfsyms *syms, const char *pattern, size_t max,
		       struct uprobe_func **out, size_t *n)
{
	struct uprobe_func *res = NULL;
	size_t nres = 0, total = 0;
	int err = 0;

	if (!uprobe_is_glob(pattern)) {
		const struct elfsym *s = elfsyms__by_name(syms, pattern);

		if (!s) {
			err = -ENOENT;
		} else {
			err = add_match(&res, &nres, max ? max : 1, syms, s);
			total = nres;
			if (!err && !nres)
				err = -ENOENT;
		}
		goto out;
	}
	for (size_t i = 0; i < elfsyms__count(syms); i++) {
		const struct elfsym *s = elfsyms__at(syms, i);
		int e;

		if (fnmatch(pattern, s->name, 0))
			continue;
		/* Past the cap keep counting, so the message can say how many. */
		e = err ? err : add_match(&res, &nres, max, syms, s);
		if (e == -E2BIG || !e)
			total++;
		if (e == -ENOMEM) {
			err = e;
			goto out;
		}
		if (e == -E2BIG)
			err = e;
	}
	if (!err && !nres)
		err = -ENOENT;
out:
	*n = err == -E2BIG ? total : nres;
	if (err) {
		uprobe_funcs_free(res, nres);
		res = NULL;
	}
	*out = res;
	return err;
}

void uprobe_funcs_free(struct uprobe_func *f, size_t n)
{
	if (!f)
		return;
	for (size_t i = 0; i < n; i++)
		free(f[i].name);
	free(f);
}

/* 1 if the file has a .symtab, 0 if only .dynsym (stripped), -errno. */
static int has_symtab(const char *path)
{
	Elf_Scn *scn = NULL;
	int fd, found = 0;
	Elf *elf;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
			found = 1;
			break;
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

static void report_missing(const char *spec, const char *display, const char *path,
			   const struct elfsyms *syms, const char *pattern)
{
	const char *best[MAX_SUGGEST];
	const char **names = NULL;
	size_t count = elfsyms__count(syms), nbest = 0;
	char hint[512] = "";
	const char *stripped = "";

	if (has_symtab(path) == 0)
		stripped =
			count ? " (the file is stripped: only its exported functions are visible)"
			      : " (the file is stripped and exports no functions)";
	if (uprobe_is_glob(pattern)) {
		log_err("cannot trace '%s': no function matching '%s' in %s%s", spec, pattern,
			display, stripped);
		return;
	}
	names = calloc(count ? count : 1, sizeof(*names));
	if (names) {
		for (size_t i = 0; i < count; i++)
			names[i] = elfsyms__at(syms, i)->name;
		nbest = suggest_closest(names, count, pattern, best, MAX_SUGGEST);
	}
	for (size_t i = 0; i < nbest; i++) {
		size_t used = strlen(hint);

		snprintf(hint + used, sizeof(hint) - used, "%s%s",
			 i ? ", " : " (did you mean: ", best[i]);
	}
	if (nbest) {
		size_t used = strlen(hint);

		snprintf(hint + used, sizeof(hint) - used, "?)");
	}
	log_err("cannot trace '%s': no function '%s' in %s%s%s", spec, pattern, display, hint,
		stripped);
	free(names);
}

int uprobe_resolve_funcs(const char *spec, const char *path, const char *display,
			 const char *pattern, size_t max, struct uprobe_func **out, size_t *n)
{
	struct elfsyms *syms;
	int err;

	*out = NULL;
	*n = 0;
	syms = elfsyms__open(path);
	if (!syms) {
		err = -errno;
		if (err == -ENOEXEC)
			log_err("cannot trace '%s': %s is not an ELF executable or library", spec,
				display);
		else
			log_err("cannot trace '%s': failed to read %s: %s", spec, display,
				strerror(-err));
		return err;
	}
	err = uprobe_match_funcs(syms, pattern, max, out, n);
	if (err == -ENOENT)
		report_missing(spec, display, path, syms, pattern);
	else if (err == -E2BIG)
		log_err("cannot trace '%s': '%s' matches %zu functions in %s, more than "
			"--max-probes %zu; narrow the pattern or raise --max-probes",
			spec, pattern, *n, display, max);
	else if (err)
		log_err("cannot trace '%s': failed to resolve '%s': %s", spec, pattern,
			strerror(-err));
	if (err)
		*n = 0;
	elfsyms__free(syms);
	return err;
}
