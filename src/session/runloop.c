// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "base/log.h"
#include "session/runloop.h"
#include "session/target.h"

static volatile sig_atomic_t stop_signal;
/* Every SIGINT/SIGTERM: work after the loop (the final flush) polls it. */
static volatile sig_atomic_t nsignals;

static void on_signal(int sig)
{
	stop_signal = sig;
	nsignals++;
}

void runloop_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking epoll_wait must return EINTR at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool runloop_stopping(void)
{
	return stop_signal != 0;
}

unsigned int runloop_signals(void)
{
	return (unsigned int)nsignals;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Samples are produced without wakeups (a wakeup costs the target several
 * microseconds), so epoll may time out with data waiting: always consume.
 */
static int drain(const struct runloop_opts *o)
{
	int err;

	for (;;) {
		err = ring_buffer__consume(o->rb);
		if (err != RUNLOOP_QUEUE_FULL)
			break;
		err = o->on_tick ? o->on_tick(o->ctx) : 0;
		if (err < 0)
			return err;
	}
	if (err < 0 && err != -EINTR) {
		log_err("runloop: failed to read ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

int runloop__run(const struct runloop_opts *o)
{
	int poll_ms = o->poll_ms > 0 ? o->poll_ms : 100;
	double deadline = o->duration_s > 0 ? now_s() + o->duration_s : 0;
	int reason = 0, err;

	while (!reason) {
		int timeout = poll_ms;

		if (deadline) {
			double left = deadline - now_s();

			if (left <= 0) {
				reason = RUNLOOP_DURATION;
				break;
			}
			if (left * 1000 < timeout)
				timeout = (int)(left * 1000) + 1;
		}
		if (o->rb) {
			err = ring_buffer__poll(o->rb, timeout);
			if (err < 0 && err != -EINTR && err != RUNLOOP_QUEUE_FULL) {
				log_err("runloop: failed to poll ring buffer: %s", strerror(-err));
				return err;
			}
			/* The queue is full: empty it before consuming more. */
			if (err == RUNLOOP_QUEUE_FULL && o->on_tick) {
				err = o->on_tick(o->ctx);
				if (err < 0)
					return err;
			}
			err = drain(o);
			if (err < 0)
				return err;
		} else {
			struct timespec ts = {timeout / 1000, (timeout % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
		if (o->on_tick) {
			err = o->on_tick(o->ctx);
			if (err < 0)
				return err;
			if (err > 0)
				reason = RUNLOOP_CALLER;
		}
		if (reason)
			continue;
		if (stop_signal)
			reason = RUNLOOP_SIGNAL;
		else if (o->target && !target__alive(o->target))
			reason = RUNLOOP_TARGET_EXIT;
	}
	/* Whatever is still in the ring belongs to the recording. */
	if (o->rb) {
		err = drain(o);
		if (err < 0)
			return err;
	}
	if (o->on_tick) {
		err = o->on_tick(o->ctx);
		if (err < 0)
			return err;
	}
	return reason;
}
