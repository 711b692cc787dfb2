// SPDX-License-Identifier: MIT
/*
 * Attach the empty uprobe_floor programs to BINARY:FUNCTION in PID and
 * hold them until PID exits (or SIGINT/SIGTERM): the cheapest tracer
 * possible, the floor sonde trace is compared to.
 *
 * usage: uprobe_floor PID BINARY FUNCTION[+OFF] [--entry-only]
 * (+OFF: that many bytes into the function, e.g. free+9 past its NULL
 * check; --entry-only: no uretprobe, the floor of an entry-only probe)
 *
 * FUNCTION "tls": the very places sonde llm's tls probe attaches in
 * BINARY (probes/tls_lib.h: the reads and writes entry and return, the
 * calls that end a connection entry only); with --entry-only no return
 * probe either: the floor of a uprobe session that skips the return of
 * a call it does not copy. In a Go program: entry probes at Go's
 * crypto/tls functions and at the RETs of (*Conn).Read, as sonde's.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "probes/tls_lib.h"
#include "symbols/elfsyms.h"
#include "uprobe_floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

#define MAX_LINKS (2 * TLS_LIB_MAX_FUNCS)

/* The empty programs at sonde llm's attach points in @path; links into @l. */
static int attach_tls(struct uprobe_floor_bpf *skel, pid_t pid, const char *path, bool entry_only,
		      struct bpf_link **l, int *nl)
{
	struct tls_lib lib;

	if (tls_lib_inspect(path, &lib)) {
		fprintf(stderr, "uprobe_floor: no OpenSSL or Go crypto/tls in %s\n", path);
		return -1;
	}
	for (unsigned int i = 0; i < lib.nfuncs; i++) {
		const struct tls_func *f = &lib.funcs[i];

		l[(*nl)++] = bpf_program__attach_uprobe(skel->progs.floor_entry, false, pid, path,
							f->offset);
		/* Go's returns are probes at its RETs (a uretprobe crashes Go). */
		if ((f->role == TLS_ROLE_WRITE || f->role == TLS_ROLE_READ) && !entry_only)
			l[(*nl)++] = bpf_program__attach_uprobe(skel->progs.floor_return, true, pid,
								path, f->offset);
		if (!l[*nl - 1]) {
			fprintf(stderr, "uprobe_floor: failed to attach at %s: %s\n", f->name,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct uprobe_floor_bpf *skel = NULL;
	struct bpf_link *entry = NULL, *ret = NULL, *links[MAX_LINKS] = {0};
	int nlinks = 0;
	const struct elfsym *sym;
	struct elfsyms *e = NULL;
	uint64_t off;
	pid_t pid;
	int rc = 1;
	char fn[256], *plus;
	long extra = 0;
	int entry_only = argc == 5 && !strcmp(argv[4], "--entry-only");

	if (argc != 4 && !entry_only) {
		fprintf(stderr, "usage: uprobe_floor PID BINARY FUNCTION[+OFF] [--entry-only]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	snprintf(fn, sizeof(fn), "%s", argv[3]);
	plus = strchr(fn, '+');
	if (plus) {
		*plus = '\0';
		extra = strtol(plus + 1, NULL, 0);
	}
	if (!strcmp(fn, "tls")) {
		skel = uprobe_floor_bpf__open_and_load();
		if (!skel || attach_tls(skel, pid, argv[2], entry_only, links, &nlinks))
			goto out;
		goto hold;
	}
	e = elfsyms__open(argv[2]);
	sym = e ? elfsyms__by_name(e, fn) : NULL;
	if (!sym || elfsyms__vaddr_to_off(e, sym->addr + extra, &off)) {
		fprintf(stderr, "uprobe_floor: no function %s in %s\n", argv[3], argv[2]);
		goto out;
	}
	skel = uprobe_floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "uprobe_floor: failed to load: %s\n", strerror(errno));
		goto out;
	}
	entry = bpf_program__attach_uprobe(skel->progs.floor_entry, false, pid, argv[2], off);
	if (!entry_only)
		ret = bpf_program__attach_uprobe(skel->progs.floor_return, true, pid, argv[2], off);
	if (!entry || (!ret && !entry_only)) {
		fprintf(stderr, "uprobe_floor: failed to attach: %s\n", strerror(errno));
		goto out;
	}
hold:
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop && !kill(pid, 0))
		usleep(50000);
	rc = 0;
out:
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	bpf_link__destroy(ret);
	bpf_link__destroy(entry);
	uprobe_floor_bpf__destroy(skel);
	elfsyms__free(e);
	return rc;
}
