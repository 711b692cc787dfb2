// SPDX-License-Identifier: MIT
/*
 * A process nobody traces making N system calls: write(2) of one byte to
 * /dev/null, or getppid(2); prints its CPU time per call in ns (user +
 * system, getrusage). For host_syscalls.sh: what a tracer attached to
 * another process costs everyone else's syscalls.
 *
 *   syscall_loop write|getppid N
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	long n = argc == 3 ? atol(argv[2]) : 0;
	int fd = open("/dev/null", O_WRONLY);
	char c = 0;
	double t0;

	if (n <= 0 || fd < 0 || (strcmp(argv[1], "write") && strcmp(argv[1], "getppid"))) {
		fprintf(stderr, "usage: syscall_loop write|getppid N\n");
		return 2;
	}
	t0 = cpu_s();
	if (!strcmp(argv[1], "write"))
		for (long i = 0; i < n; i++)
			if (write(fd, &c, 1) != 1)
				return 1;
	if (!strcmp(argv[1], "getppid"))
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
	printf("%.1f\n", (cpu_s() - t0) * 1e9 / (double)n);
	return 0;
}
