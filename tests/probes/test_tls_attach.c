// SPDX-License-Identifier: MIT
/*
 * The tls probe's inspected-file cache stays bounded on a host that runs
 * new programs all day (-a, the agent): files that are not TLS are
 * dropped once KNOWN_PRUNE (1024) of them pile up, and looked at again if
 * they come back.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "probes/tls_attach.h"

Test(tls_attach, cache_of_files_not_tls_is_pruned)
{
	struct tls_progs progs = {0};
	struct tls_attach *a = tls_attach__new(&progs);
	char path[PATH_MAX];
	size_t pruned = 0;

	cr_assert(a);
	/* 2600 distinct regular files, none an ELF: each one inspection. */
	for (int i = 0; i < 2600; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%d", test_tmpdir(), i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		cr_assert_geq(fd, 0, "%s", path);
		cr_assert_eq(write(fd, "not an ELF\n", 11), 11);
		close(fd);
		cr_assert_eq(tls_attach__path(a, path, 0), 0, "%s", path);
	}
	/* Pruned at the 1025th and the 2049th new file: 2048 dropped, 552 kept. */
	cr_expect_eq(tls_attach__cached(a, &pruned), 552);
	cr_expect_eq(pruned, 2048);
	/* One seen before and dropped is inspected again: a new entry. */
	snprintf(path, sizeof(path), "%s/f0", test_tmpdir());
	cr_expect_eq(tls_attach__path(a, path, 0), 0);
	cr_expect_eq(tls_attach__cached(a, NULL), 553);
	/* One still cached is not. */
	snprintf(path, sizeof(path), "%s/f2599", test_tmpdir());
	cr_expect_eq(tls_attach__path(a, path, 0), 0);
	cr_expect_eq(tls_attach__cached(a, NULL), 553);
	tls_attach__free(a);
}
