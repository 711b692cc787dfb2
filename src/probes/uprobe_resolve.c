// SPDX-License-Identifier: MIT
#include <ctype.h>
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

#include "symbols/debuginfo.h"
#include "symbols/demangle.h"
#include "symbols/dwarf_lines.h"
#include "symbols/elfsyms.h"
#include "base/log.h"
#include "symbols/procmaps.h"
#include "base/suggest.h"
#include "probes/uprobe_resolve.h"

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

/*
 * The mapping of @pid whose file a short name (@by_path false) or a path
 * as the target sees it (@by_path true) names; the main executable counts
 * too. @path gets /proc/PID/map_files/START-END, which reaches the file
 * that is mapped, not what the path names now in the target's mount
 * namespace (a FIFO or a copy bind-mounted over it); @display the path.
 */
static int find_in_maps(const char *name, bool by_path, pid_t pid, char *path, size_t plen,
			char *display, size_t dlen)
{
	struct procmaps maps = {0};
	int err;

	err = procmaps__read(pid, &maps);
	if (err)
		return err;
	err = -ENOENT;
	for (size_t i = 0; i < maps.nr; i++) {
		const struct procmap *m = &maps.maps[i];

		if (!m->path || m->path[0] != '/' || !m->inode || strstr(m->path, " (deleted)"))
			continue;
		if (by_path ? !strcmp(name, m->path) : uprobe_short_name_matches(name, m->path)) {
			snprintf(display, dlen, "%s", m->path);
			snprintf(path, plen, "/proc/%d/map_files/%llx-%llx", (int)pid,
				 (unsigned long long)m->start, (unsigned long long)m->end);
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
	err = elf_open_regular(path, &fd, NULL);
	if (err)
		return err;
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
 * The DT_NEEDED closure of @exe, breadth-first as the dynamic loader
 * searches it, @exe first: @visit(ctx, needed_name, path) for each file
 * until it returns non-zero (returned), else -ENOENT.
 */
static int walk_needed(const char *exe, int (*visit)(void *ctx, const char *name, const char *path),
		       void *ctx)
{
	char *queue[MAX_LIBS];
	int head = 0, tail = 0, err = -ENOENT;

	queue[tail] = strdup(exe);
	if (!queue[tail])
		return -ENOMEM;
	tail++;
	err = visit(ctx, exe, exe);
	while (head < tail && !err) {
		char *cur = queue[head++];
		struct dyninfo d;

		if (read_dynamic(cur, &d))
			continue;
		for (int i = 0; i < d.nneeded && !err; i++) {
			char found[PATH_MAX];
			bool seen = false;

			if (locate_lib(d.needed[i], cur, d.runpath, found, sizeof(found)))
				continue;
			for (int j = 0; j < tail && !seen; j++)
				seen = !strcmp(queue[j], found);
			if (seen)
				continue;
			err = visit(ctx, d.needed[i], found);
			if (!err && tail < MAX_LIBS) {
				queue[tail] = strdup(found);
				if (queue[tail])
					tail++;
			}
		}
		dyninfo_clear(&d);
	}
	for (int i = 0; i < tail; i++)
		free(queue[i]);
	return err ? err : -ENOENT;
}

struct short_name_walk {
	const char *name;
	char *path;
	size_t plen;
};

static int match_short_name(void *ctx, const char *needed, const char *path)
{
	struct short_name_walk *w = ctx;

	if (!uprobe_short_name_matches(w->name, needed) &&
	    !uprobe_short_name_matches(w->name, path))
		return 0;
	snprintf(w->path, w->plen, "%s", path);
	return 1;
}

/* The library of @exe's DT_NEEDED closure whose file name the short name matches. */
static int find_in_needed(const char *name, const char *exe, char *path, size_t plen)
{
	struct short_name_walk w = {name, path, plen};
	int r = walk_needed(exe, match_short_name, &w);

	return r == 1 ? 0 : r;
}

int uprobe_resolve_target(const char *spec, const char *target, pid_t pid, const char *exe,
			  char *path, size_t plen, char *display, size_t dlen)
{
	char real[PATH_MAX];
	int err;

	if (strchr(target, '/')) {
		/* A file the process maps: through its mapping, not its path. */
		if (pid > 0 && target[0] == '/' &&
		    !find_in_maps(target, true, pid, path, plen, display, dlen))
			return 0;
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
		err = find_in_maps(target, false, pid, path, plen, display, dlen);
		if (err == -ENOENT)
			log_err("cannot trace '%s': PID %d maps no file named '%s' (give the "
				"path: -f /path/to/%s:FUNCTION; 'libc' means libc.so.6)",
				spec, pid, target, target);
		else if (err)
			log_err("cannot trace '%s': failed to read the maps of PID %d: %s", spec,
				pid, strerror(-err));
		return err;
	}
	if (uprobe_short_name_matches(target, exe)) {
		snprintf(path, plen, "%s", realpath(exe, real) ? real : exe);
	} else {
		err = find_in_needed(target, exe, path, plen);
		if (err) {
			log_err("cannot trace '%s': %s links no library named '%s'; a library it "
				"loads later with dlopen() must be given by its path: -f "
				"/path/to/%s.so:FUNCTION",
				spec, exe, target, target);
			return err;
		}
	}
	snprintf(display, dlen, "%s", path);
	return 0;
}

static int add_match(struct uprobe_func **out, size_t *n, size_t max, const struct elfsyms *syms,
		     const struct elfsym *s, const char *shown)
{
	struct uprobe_func *grown;
	uint64_t off;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*out)[i].name, shown))
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
	grown[*n] = (struct uprobe_func){.name = strdup(shown), .offset = off};
	if (!grown[*n].name)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static bool pattern_matches(const char *pattern, bool glob, const char *name)
{
	return glob ? !fnmatch(pattern, name, 0) : !strcmp(pattern, name);
}

/*
 * Whether @pattern names symbol @raw: as it is, or demangled without or
 * with its parameters ("ns::Klass::method", "ns::Klass::method(int)").
 * *@shown gets the name to report (malloc'd): demangled with parameters,
 * which tells overloads apart, or @raw. -ENOMEM, 0 (no), 1 (yes).
 */
static int name_matches(const char *pattern, bool glob, const char *raw, char **shown)
{
	char *bare = NULL, *full = NULL;
	bool hit = pattern_matches(pattern, glob, raw);

	*shown = NULL;
	if (sym_is_mangled(raw)) {
		bare = sym_demangle(raw, false);
		full = sym_demangle(raw, true);
		hit = hit || (bare && pattern_matches(pattern, glob, bare)) ||
		      (full && pattern_matches(pattern, glob, full));
	}
	free(bare);
	if (!hit) {
		free(full);
		return 0;
	}
	*shown = full ? full : strdup(raw);
	return *shown ? 1 : -ENOMEM;
}

/*
 * Is @raw a compiler's clone of function @name, the whole function under
 * another name: "name.constprop.0", "name.isra.0", "name.lto_priv.0",
 * "name.llvm.1234" and chains of them ("name.isra.0.constprop.0")? Not
 * "name.part.0" nor "name.cold": pieces of a function, run inside a call
 * its own probe times.
 */
static bool clone_of(const char *name, const char *raw)
{
	static const char *const kinds[] = {"constprop.", "isra.", "lto_priv.", "llvm."};
	size_t n = strlen(name);
	const char *p = raw + n;

	if (strncmp(raw, name, n) || *p != '.')
		return false;
	while (*p == '.') {
		size_t k = 0, l = 0;

		p++;
		for (; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			l = strlen(kinds[k]);
			if (!strncmp(p, kinds[k], l))
				break;
		}
		if (k == sizeof(kinds) / sizeof(kinds[0]) || !isdigit((unsigned char)p[l]))
			return false;
		for (p += l; isdigit((unsigned char)*p);)
			p++;
	}
	return !*p;
}

/*
 * Does symbol @s match: by name_matches(), or, for a plain name, as one of
 * its clones (its own name shown)? As name_matches().
 */
static int func_matches(const char *pattern, bool glob, const struct elfsym *s,
			const struct elfsym *exact, char **shown)
{
	/* The symbol of that name that elfsyms__by_name() prefers, or any by the scan. */
	if (!exact || (s->addr == exact->addr && !strcmp(s->name, exact->name))) {
		int e = name_matches(pattern, glob, s->name, shown);

		if (e)
			return e;
	}
	if (glob || !clone_of(pattern, s->name))
		return 0;
	*shown = strdup(s->name);
	return *shown ? 1 : -ENOMEM;
}

int uprobe_match_funcs(const struct elfsyms *syms, const char *pattern, size_t max,
		       struct uprobe_func **out, size_t *n)
{
	struct uprobe_func *res = NULL;
	size_t nres = 0, total = 0;
	bool glob = uprobe_is_glob(pattern);
	const struct elfsym *exact = glob ? NULL : elfsyms__by_name(syms, pattern);
	int err = 0;

	if (!max)
		max = 1;
	/*
	 * With a symbol of that very name only clones are looked for in the
	 * scan (a compare each); otherwise demangled names are too.
	 */
	for (size_t i = 0; i < elfsyms__count(syms); i++) {
		const struct elfsym *s = elfsyms__at(syms, i);
		char *shown;
		int e = func_matches(pattern, glob, s, exact, &shown);

		if (e < 0) {
			err = e;
			goto out;
		}
		if (!e)
			continue;
		/* Past the cap keep counting, so the message can say how many. */
		e = err ? err : add_match(&res, &nres, max, syms, s, shown);
		free(shown);
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
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].src);
	}
	free(f);
}

/* The DWARF of @e (at @path), its own or its debug file's; NULL if none. */
static struct dwarf_lines *open_dwarf(const char *path, const struct elfsyms *e)
{
	struct debuginfo_query q = {.path = path, .build_id = elfsyms__build_id(e)};
	char dbg[PATH_MAX];

	if (elfsyms__has_dwarf(e))
		return dwarf_lines__open(path);
	q.debuglink = elfsyms__debuglink(e, &q.debuglink_crc);
	if (debuginfo__find(&q, dbg, sizeof(dbg)))
		return NULL;
	return dwarf_lines__open(dbg);
}

void uprobe_resolve_sources(const char *path, struct uprobe_func *fns, size_t n)
{
	struct elfsyms *e = n ? elfsyms__open(path) : NULL;
	struct dwarf_lines *d = e ? open_dwarf(path, e) : NULL;

	for (size_t i = 0; d && i < n; i++) {
		struct dwarf_line_frame fr[8];
		uint64_t vaddr;
		int nf;

		if (elfsyms__off_to_vaddr(e, fns[i].offset, &vaddr))
			continue;
		nf = dwarf_lines__lookup(d, vaddr, fr, 8);
		/* The last frame is the function itself, not what is inlined in it. */
		if (nf <= 0 || !fr[nf - 1].file)
			continue;
		fns[i].src = strdup(fr[nf - 1].file);
		fns[i].line = fr[nf - 1].line;
	}
	dwarf_lines__free(d);
	elfsyms__free(e);
}

static void report_missing(const char *spec, const char *display, const struct elfsyms *syms,
			   const char *pattern, const char *libs)
{
	const char *best[MAX_SUGGEST];
	const char **names = NULL;
	size_t count = elfsyms__count(syms), nbest = 0;
	char hint[512] = "";
	const char *stripped = "";

	if (elfsyms__source(syms) == ELFSYMS_SRC_DYNSYM)
		stripped =
			count ? " (the file is stripped: only its exported functions are visible)"
			      : " (the file is stripped and exports no functions)";
	if (uprobe_is_glob(pattern)) {
		log_err("cannot trace '%s': no function matching '%s' in %s%s%s", spec, pattern,
			display, libs, stripped);
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
	log_err("cannot trace '%s': no function '%s' in %s%s%s%s", spec, pattern, display, libs,
		hint, stripped);
	free(names);
}

/*
 * The symbols of @path (@display as the target sees it), with those of
 * its separate debug file (build-id or .gnu_debuglink, under the target's
 * root first, as the symbolizer finds it) when it has one: libc's
 * _int_malloc is only in libc6-dbg's file. NULL with errno.
 */
static struct elfsyms *open_syms(const char *path, const char *display, pid_t pid)
{
	char root[64], dpath[PATH_MAX];
	struct debuginfo_query q = {0};
	struct elfsyms *syms, *full;

	syms = elfsyms__open(path);
	if (!syms || elfsyms__source(syms) == ELFSYMS_SRC_SYMTAB)
		return syms;
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	q.root = pid > 0 ? root : NULL;
	q.path = display;
	q.build_id = elfsyms__build_id(syms);
	q.debuglink = elfsyms__debuglink(syms, &q.debuglink_crc);
	if ((!q.build_id && !q.debuglink) || debuginfo__find(&q, dpath, sizeof(dpath)))
		return syms;
	full = elfsyms__open_debug(path, dpath);
	if (!full)
		return syms;
	log_debug("trace: symbols of %s from %s", display, dpath);
	elfsyms__free(syms);
	return full;
}

/* Open and match, printing nothing; 0, -ENOENT, -E2BIG (n = matches), -errno. */
static int match_in(const char *path, const char *display, pid_t pid, const char *pattern,
		    size_t max, struct elfsyms **symsp, struct uprobe_func **out, size_t *n)
{
	struct elfsyms *syms = open_syms(path, display, pid);
	int err;

	*out = NULL;
	*n = 0;
	if (!syms)
		return -errno;
	err = uprobe_match_funcs(syms, pattern, max, out, n);
	if (symsp)
		*symsp = syms;
	else
		elfsyms__free(syms);
	return err;
}

/* A function not in TARGET may be in a library it links: look there. */
struct lib_search {
	const char *pattern;
	size_t max;
	pid_t pid;
	const char *skip; /* TARGET itself */
	char path[PATH_MAX + 64], display[PATH_MAX];
	struct uprobe_func *funcs;
	size_t n;
	int err; /* of the library that had it (0, or -E2BIG) */
	int searched;
};

static int try_lib(struct lib_search *ls, const char *path, const char *display)
{
	int err;

	if (!strcmp(display, ls->skip))
		return 0;
	ls->searched++;
	err = match_in(path, display, ls->pid, ls->pattern, ls->max, NULL, &ls->funcs, &ls->n);
	if (err == -ENOENT || err == -ENOEXEC || err == -EACCES || err == -ENODATA)
		return 0;
	ls->err = err;
	snprintf(ls->path, sizeof(ls->path), "%s", path);
	snprintf(ls->display, sizeof(ls->display), "%s", display);
	return 1;
}

static int visit_needed(void *ctx, const char *name, const char *path)
{
	char real[PATH_MAX];
	const char *p = realpath(path, real) ? real : path;

	return try_lib(ctx, p, p);
}

/* Every file @pid maps, in address order, through its mapping. */
static int search_maps(struct lib_search *ls)
{
	struct procmaps maps = {0};
	int r = 0;

	if (procmaps__read(ls->pid, &maps))
		return 0;
	for (size_t i = 0; i < maps.nr && !r; i++) {
		const struct procmap *m = &maps.maps[i];
		char mf[96];
		bool seen = false;

		if (m->path[0] != '/' || !m->inode || strstr(m->path, " (deleted)"))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = maps.maps[j].inode == m->inode && maps.maps[j].dev_minor == m->dev_minor &&
			       maps.maps[j].dev_major == m->dev_major;
		if (seen)
			continue;
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", (int)ls->pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		r = try_lib(ls, mf, m->path);
	}
	procmaps__clear(&maps);
	return r;
}

static bool target_exists(const char *target, pid_t pid)
{
	char path[PATH_MAX + 32];

	if (pid > 0 && target[0] == '/')
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, target);
	else
		snprintf(path, sizeof(path), "%s", target);
	return !access(path, F_OK);
}

/*
 * A file name may hold ':' ("./a:b.so"): when TARGET as first split is a
 * path that does not exist, a later ':' after the last '/' may end it,
 * and "FILE::FUNCTION" separates them explicitly ("./a:b.so::fn").
 */
static int split_spec(const char *arg, const char *target, const char *func, pid_t pid,
		      char **t_out, char **f_out)
{
	const char *slash = strrchr(arg, '/'), *c;

	*t_out = NULL;
	*f_out = NULL;
	if (slash && strchr(target, '/') && !target_exists(target, pid)) {
		for (c = strchr(arg + strlen(target) + 1, ':'); c; c = strchr(c + 1, ':')) {
			char *t = strndup(arg, (size_t)(c - arg));

			if (!t)
				return -ENOMEM;
			if (c > slash && c[1] && target_exists(t, pid) && (c[1] != ':' || c[2])) {
				*t_out = t;
				*f_out = strdup(c + (c[1] == ':' ? 2 : 1));
				return *f_out ? 0 : -ENOMEM;
			}
			free(t);
		}
	}
	*t_out = strdup(target);
	*f_out = strdup(func);
	return *t_out && *f_out ? 0 : -ENOMEM;
}

int uprobe_resolve_spec(const char *arg, const char *target_in, const char *func_in, pid_t pid,
			const char *exe, size_t max, struct uprobe_resolved *r)
{
	struct lib_search *ls = NULL;
	struct elfsyms *syms = NULL;
	char *target, *pattern, libs[160] = "";
	int err;

	memset(r, 0, sizeof(*r));
	err = split_spec(arg, target_in, func_in, pid, &target, &pattern);
	if (err)
		goto out;
	err = uprobe_resolve_target(arg, target, pid, exe, r->path, sizeof(r->path), r->display,
				    sizeof(r->display));
	if (err)
		goto out;
	err = match_in(r->path, r->display, pid, pattern, max, &syms, &r->funcs, &r->n);
	if (err == -ENOENT && syms) {
		/* PROG:FN where FN is in a library PROG links: say where, and trace it. */
		ls = calloc(1, sizeof(*ls));
		if (!ls) {
			err = -ENOMEM;
			goto out;
		}
		ls->pattern = pattern;
		ls->max = max;
		ls->pid = pid;
		ls->skip = r->display;
		if (pid > 0 ? search_maps(ls) : walk_needed(r->path, visit_needed, ls) == 1) {
			/* Shown at every level: the user named another file. */
			log_summary("trace: '%s': %s is not in %s but in %s, which it %s: tracing "
				    "it there",
				    arg, pattern, r->display, ls->display, pid > 0 ? "maps" : "links");
			snprintf(r->path, sizeof(r->path), "%s", ls->path);
			snprintf(r->display, sizeof(r->display), "%s", ls->display);
			r->funcs = ls->funcs;
			r->n = ls->n;
			err = ls->err;
		} else if (ls->searched) {
			snprintf(libs, sizeof(libs), " nor in the %d libraries it %s", ls->searched,
				 pid > 0 ? "maps" : "links");
		}
	}
	if (err == -ENOENT && syms)
		report_missing(arg, r->display, syms, pattern, libs);
	else if (err == -ENOEXEC)
		log_err("cannot trace '%s': %s is not an ELF executable or library", arg,
			r->display);
	else if (err == -E2BIG)
		log_err("cannot trace '%s': '%s' matches %zu functions in %s, more than "
			"--max-probes %zu; narrow the pattern or raise --max-probes",
			arg, pattern, r->n, r->display, max);
	else if (err)
		log_err("cannot trace '%s': failed to read %s: %s", arg, r->display,
			strerror(-err));

out:
	if (err) {
		uprobe_funcs_free(r->funcs, r->n);
		r->funcs = NULL;
		r->n = 0;
	}
	elfsyms__free(syms);
	free(ls);
	free(target);
	free(pattern);
	return err;
}
