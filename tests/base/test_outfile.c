// SPDX-License-Identifier: MIT
/*
 * Output files: atomic for regular files, in place for devices, FIFOs and
 * streams, symlinks kept, stale temporaries of killed runs removed, write
 * errors reported with their errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "base/outfile.h"

static const char *tpath(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", test_tmpdir(), name);
	return buf[i];
}

static int count_temps(const char *name)
{
	char cmd[1024];
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "ls -a %s | grep -c '^%s\\.sonde-'", test_tmpdir(), name);
	p = popen(cmd, "r");
	cr_assert(p);
	if (fscanf(p, "%d", &n) != 1)
		n = 0;
	pclose(p);
	return n;
}

Test(outfile, regular_file_is_atomic)
{
	const char *path = tpath("atomic.txt");
	struct outfile *o;
	char *text;

	unlink(path);
	cr_assert_eq(outfile__open(path, OUTFILE_ATOMIC, &o), 0);
	fputs("hello\n", outfile__fp(o));
	fflush(outfile__fp(o));
	cr_assert_neq(access(path, F_OK), 0, "the file exists before commit");
	cr_assert_eq(count_temps("atomic.txt"), 1);
	cr_assert_eq(outfile__commit(o), 0);
	outfile__free(o);
	text = read_file(path, NULL);
	cr_assert_str_eq(text, "hello\n");
	free(text);
	cr_assert_eq(count_temps("atomic.txt"), 0);

	/* Not committed: nothing is left behind, the old content stays. */
	cr_assert_eq(outfile__open(path, OUTFILE_ATOMIC, &o), 0);
	fputs("partial", outfile__fp(o));
	outfile__free(o);
	text = read_file(path, NULL);
	cr_assert_str_eq(text, "hello\n");
	free(text);
	cr_assert_eq(count_temps("atomic.txt"), 0);
}

Test(outfile, device_written_in_place)
{
	struct outfile *o;
	struct stat st;

	/* A private copy of /dev/null: replacing it would show as a regular file. */
	const char *path = tpath("null");

	unlink(path);
	cr_assert_eq(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0, "mknod: %s", strerror(errno));
	cr_assert_eq(outfile__open(path, OUTFILE_ATOMIC, &o), 0);
	fputs("gone\n", outfile__fp(o));
	cr_assert_eq(outfile__commit(o), 0);
	outfile__free(o);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISCHR(st.st_mode), "the device was replaced by a regular file");
	cr_assert_eq(count_temps("null"), 0);
}

Test(outfile, fifo_needs_a_reader_and_never_blocks)
{
	const char *path = tpath("fifo");
	struct outfile *o = NULL;
	char buf[64] = {0};
	uint64_t t0 = now_ns();
	int fd;

	unlink(path);
	cr_assert_eq(mkfifo(path, 0600), 0);
	/* No reader: an error at once, not a hang in open(). */
	cr_assert_eq(outfile__open(path, OUTFILE_STREAM, &o), -ENXIO);
	cr_assert_lt(now_ns() - t0, 1000000000ull);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	cr_assert_eq(outfile__open(path, OUTFILE_ATOMIC, &o), 0);
	fputs("line\n", outfile__fp(o));
	cr_assert_eq(outfile__commit(o), 0);
	outfile__free(o);
	cr_assert_eq(read(fd, buf, sizeof(buf) - 1), 5);
	cr_assert_str_eq(buf, "line\n");
	close(fd);
	{
		struct stat st;

		cr_assert_eq(lstat(path, &st), 0);
		cr_assert(S_ISFIFO(st.st_mode), "the FIFO was replaced");
	}
}

Test(outfile, symlink_kept_target_replaced)
{
	const char *target = tpath("real.txt"), *link = tpath("link.txt");
	struct outfile *o;
	struct stat st;
	char *text;

	unlink(target);
	unlink(link);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_eq(outfile__open(link, OUTFILE_ATOMIC, &o), 0);
	fputs("via link\n", outfile__fp(o));
	cr_assert_eq(outfile__commit(o), 0);
	outfile__free(o);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced");
	text = read_file(target, NULL);
	cr_assert_str_eq(text, "via link\n");
	free(text);
}

Test(outfile, stream_is_visible_before_commit)
{
	const char *path = tpath("stream.jsonl");
	struct outfile *o;
	char *text;

	cr_assert_eq(outfile__open(path, OUTFILE_STREAM, &o), 0);
	fputs("{\"a\":1}\n", outfile__fp(o));
	fflush(outfile__fp(o));
	text = read_file(path, NULL);
	cr_assert_str_eq(text, "{\"a\":1}\n", "tail -f would see nothing");
	free(text);
	cr_assert_eq(outfile__commit(o), 0);
	outfile__free(o);
}

Test(outfile, stale_temporaries_of_dead_runs_removed)
{
	const char *path = tpath("stale.svg");
	char dead[512], live[512];
	struct outfile *o;
	pid_t gone = gone_pid();

	snprintf(dead, sizeof(dead), "%s.sonde-%d-AbC123", path, (int)gone);
	snprintf(live, sizeof(live), "%s.sonde-%d-XyZ789", path, (int)getppid());
	fclose(fopen(dead, "w"));
	fclose(fopen(live, "w"));
	cr_assert_eq(outfile__open(path, OUTFILE_ATOMIC, &o), 0);
	cr_assert_neq(access(dead, F_OK), 0, "the dead run's temporary file is still there");
	cr_assert_eq(access(live, F_OK), 0, "a live run's temporary file was removed");
	outfile__free(o);
	unlink(live);
}

Test(outfile, full_disk_says_so)
{
	struct outfile *o;
	char big[65536];

	memset(big, 'x', sizeof(big));
	cr_assert_eq(outfile__open("/dev/full", OUTFILE_ATOMIC, &o), 0);
	fwrite(big, 1, sizeof(big), outfile__fp(o));
	cr_assert_eq(outfile__commit(o), -ENOSPC);
	cr_assert_eq(outfile__error(o), -ENOSPC);
	outfile__free(o);
	cr_assert_eq(outfile__open("", OUTFILE_ATOMIC, &o), -EINVAL);
}
