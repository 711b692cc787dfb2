// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "symbols/procmaps.h"

/* Real lines from a 6.x x86-64 kernel, plus the awkward cases. */
static const char maps_text[] =
	"55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1311 /usr/bin/my prog\n"
	"55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1311 /usr/bin/my prog\n"
	"55d0c0a02000-55d0c0a03000 rw-p 00002000 fe:01 1311 /usr/bin/my prog\n"
	"7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 \n"
	"7f1e30000000-7f1e30010000 rwxp 00000000 00:00 0\n"
	"7f1e31028000-7f1e311bd000 r-xp 00028000 fe:01 2097233                    "
	"/usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1e31400000-7f1e31402000 --xp 00003000 103:0a 99999999999 /tmp/lib old.so (deleted)\n"
	"7ffd5e9f0000-7ffd5e9f2000 r-xp 00000000 00:00 0                          [vdso]\n"
	"7ffd5e9ec000-7ffd5e9f0000 r--p 00000000 00:00 0                          [vvar]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

Test(procmaps, parse_keeps_exec_mappings_with_exact_fields)
{
	struct procmaps pm;
	const struct procmap *m;

	cr_assert_eq(procmaps__parse(maps_text, &pm), 0);
	cr_assert_eq(pm.nr, 6);

	m = &pm.maps[0];
	cr_assert_eq(m->start, 0x55d0c0a01000ULL);
	cr_assert_eq(m->end, 0x55d0c0a02000ULL);
	cr_assert_eq(m->pgoff, 0x1000);
	cr_assert_eq(m->dev_major, 0xfe);
	cr_assert_eq(m->dev_minor, 1);
	cr_assert_eq(m->inode, 1311);
	cr_assert_str_eq(m->path, "/usr/bin/my prog");

	m = &pm.maps[1];
	cr_assert_eq(m->start, 0x7f1e30000000ULL);
	cr_assert_eq(m->end, 0x7f1e30010000ULL);
	cr_assert_eq(m->inode, 0);
	cr_assert_str_eq(m->path, "");

	m = &pm.maps[2];
	cr_assert_eq(m->start, 0x7f1e31028000ULL);
	cr_assert_eq(m->pgoff, 0x28000);
	cr_assert_eq(m->inode, 2097233);
	cr_assert_str_eq(m->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");

	m = &pm.maps[3];
	cr_assert_eq(m->pgoff, 0x3000);
	cr_assert_eq(m->dev_major, 0x103);
	cr_assert_eq(m->dev_minor, 0xa);
	cr_assert_eq(m->inode, 99999999999ULL);
	cr_assert_str_eq(m->path, "/tmp/lib old.so (deleted)");

	m = &pm.maps[4];
	cr_assert_eq(m->start, 0x7ffd5e9f0000ULL);
	cr_assert_str_eq(m->path, "[vdso]");

	m = &pm.maps[5];
	cr_assert_eq(m->start, 0xffffffffff600000ULL);
	cr_assert_eq(m->end, 0xffffffffff601000ULL);
	cr_assert_str_eq(m->path, "[vsyscall]");
	procmaps__clear(&pm);
}

/* The byte budget's measure: the six entries and their paths. */
Test(procmaps, bytes_are_the_entries_and_their_paths)
{
	const char *paths[] = {
		"/usr/bin/my prog",	     "",       "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/tmp/lib old.so (deleted)", "[vdso]", "[vsyscall]",
	};
	size_t want = 6 * sizeof(struct procmap);
	struct procmaps pm;

	for (int i = 0; i < 6; i++)
		want += strlen(paths[i]) + 1;
	cr_assert_eq(procmaps__parse(maps_text, &pm), 0);
	cr_assert_eq(procmaps__bytes(&pm), want);
	procmaps__clear(&pm);
	cr_assert_eq(procmaps__bytes(&pm), 0);
}

Test(procmaps, find_uses_half_open_ranges)
{
	struct procmaps pm;

	cr_assert_eq(procmaps__parse(maps_text, &pm), 0);
	cr_assert_eq(procmaps__find(&pm, 0x55d0c0a01000ULL), &pm.maps[0]);
	cr_assert_eq(procmaps__find(&pm, 0x55d0c0a01fffULL), &pm.maps[0]);
	cr_assert_null(procmaps__find(&pm, 0x55d0c0a02000ULL)); /* rw-p: dropped */
	cr_assert_null(procmaps__find(&pm, 0x55d0c0a00fffULL));
	cr_assert_eq(procmaps__find(&pm, 0x7f1e31401234ULL), &pm.maps[3]);
	cr_assert_eq(procmaps__find(&pm, 0xffffffffff600abcULL), &pm.maps[5]);
	cr_assert_null(procmaps__find(&pm, 0));
	cr_assert_null(procmaps__find(&pm, UINT64_MAX));
	procmaps__clear(&pm);
}

Test(procmaps, unsorted_input_is_sorted)
{
	struct procmaps pm;

	cr_assert_eq(procmaps__parse("2000-3000 r-xp 0 08:01 5 /b\n"
				     "1000-2000 r-xp 0 08:01 4 /a\n",
				     &pm),
		     0);
	cr_assert_eq(pm.nr, 2);
	cr_assert_str_eq(pm.maps[0].path, "/a");
	cr_assert_str_eq(pm.maps[1].path, "/b");
	procmaps__clear(&pm);
}

Test(procmaps, empty_text_gives_no_mappings)
{
	struct procmaps pm;

	cr_assert_eq(procmaps__parse("", &pm), 0);
	cr_assert_eq(pm.nr, 0);
	cr_assert_null(procmaps__find(&pm, 0x1000));
	procmaps__clear(&pm);
}

Test(procmaps, malformed_lines_are_einval)
{
	static const char *const bad[] = {
		"garbage\n",
		"1000 r-xp 0 08:01 4 /a\n",
		"1000-2000 r-x 0 08:01 4 /a\n",
		"1000-2000 r-xp zz 08:01 4 /a\n",
		"1000-2000 r-xp 0 0801 4 /a\n",
		"1000-2000 r-xp 0 08:01 x /a\n",
		"2000-1000 r-xp 0 08:01 4 /a\n",
		"10000000000000000-10000000000000001 r-xp 0 08:01 4 /a\n",
		"1000-2000 r-xp 0 08:01 4 /a\nbroken line\n",
	};
	struct procmaps pm;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(procmaps__parse(bad[i], &pm), -EINVAL, "line %zu", i);
		cr_assert_eq(pm.nr, 0);
		cr_assert_null(pm.maps);
	}
}

Test(procmaps, read_self_finds_own_code)
{
	struct procmaps pm;
	const struct procmap *m;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_eq(procmaps__read(getpid(), &pm), 0);
	m = procmaps__find(&pm, (uint64_t)(uintptr_t)&procmaps__find);
	cr_assert_not_null(m);
	cr_assert_str_eq(m->path, exe);
	procmaps__clear(&pm);
}

Test(procmaps, read_gone_pid_is_esrch)
{
	struct procmaps pm;
	pid_t pid = gone_pid();

	cr_assert_eq(procmaps__read(pid, &pm), -ESRCH);
	cr_assert_eq(pm.nr, 0);
}

/* An exited child its parent has not reaped (a zombie): its maps read "", which is no process. */
Test(procmaps, read_zombie_is_esrch)
{
	struct procmaps pm;
	char *text = NULL;
	siginfo_t si;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (!pid)
		_exit(0);
	/* Waits for the exit and leaves the child unreaped. */
	cr_assert_eq(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
	cr_assert_eq(procmaps__read(pid, &pm), -ESRCH);
	cr_assert_eq(pm.nr, 0);
	cr_assert_null(pm.maps);
	cr_assert_eq(procmaps__read_text(pid, &text), -ESRCH);
	cr_assert_null(text);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	cr_assert_eq(procmaps__read(pid, &pm), -ESRCH);
}
