// SPDX-License-Identifier: MIT
/*
 * Attach the empty uprobe_floor programs to BINARY:FUNCTION in PID and
 * hold them until PID exits (or SIGINT/SIGTERM): the cheapest tracer
 * possible, the floor sonde trace is compared to.
 *
 * usage: uprobe_floor PID BINARY FUNCTION
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "sonde/elfsyms.h"
#include "uprobe_floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

int main(int argc, char **argv)
{
	struct uprobe_floor_bpf *skel = NULL;
	struct bpf_link *entry = NULL, *ret = NULL;
	const struct elfsym *sym;
	struct elfsyms *e = NULL;
	uint64_t off;
	pid_t pid;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: uprobe_floor PID BINARY FUNCTION\n");
		return 2;
	}
	pid = atoi(argv[1]);
	e = elfsyms__open(argv[2]);
	sym = e ? elfsyms__by_name(e, argv[3]) : NULL;
	if (!sym || elfsyms__vaddr_to_off(e, sym->addr, &off)) {
		fprintf(stderr, "uprobe_floor: no function %s in %s\n", argv[3], argv[2]);
		goto out;
	}
	skel = uprobe_floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "uprobe_floor: failed to load: %s\n", strerror(errno));
		goto out;
	}
	entry = bpf_program__attach_uprobe(skel->progs.floor_entry, false, pid, argv[2], off);
	ret = bpf_program__attach_uprobe(skel->progs.floor_return, true, pid, argv[2], off);
	if (!entry || !ret) {
		fprintf(stderr, "uprobe_floor: failed to attach: %s\n", strerror(errno));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop && !kill(pid, 0))
		usleep(50000);
	rc = 0;
out:
	bpf_link__destroy(ret);
	bpf_link__destroy(entry);
	uprobe_floor_bpf__destroy(skel);
	elfsyms__free(e);
	return rc;
}
