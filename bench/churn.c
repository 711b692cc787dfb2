// SPDX-License-Identifier: MIT
/*
 * Process churn for bench/churn_rss.sh: start RATE short-lived processes a
 * second (each execs PROG, default /bin/true) for SECONDS, reaping them as
 * they go; prints how many were started.
 *
 * usage: churn RATE SECONDS [PROG]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 1000, secs = argc > 2 ? atof(argv[2]) : 10;
	const char *prog = argc > 3 ? argv[3] : "/bin/true";
	double t0 = now_s(), t;
	unsigned long started = 0;

	if (rate <= 0 || secs <= 0) {
		fprintf(stderr, "usage: churn RATE SECONDS [PROG]\n");
		return 2;
	}
	while ((t = now_s() - t0) < secs) {
		pid_t pid;

		/* Behind schedule: start the next one now; ahead: wait for its time. */
		if (started >= t * rate) {
			struct timespec d = {0, (long)(1e9 / rate / 2)};

			nanosleep(&d, NULL);
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		pid = fork();
		if (pid == 0) {
			execl(prog, prog, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			started++;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	while (wait(NULL) > 0)
		;
	printf("%lu\n", started);
	return 0;
}
