/* SPDX-License-Identifier: MIT */
/*
 * The one event loop of a recording: ring_buffer__poll with a timeout,
 * SIGINT/SIGTERM, a duration deadline and the targets' exit. Ring-buffer
 * callbacks only queue; work happens in on_tick between polls.
 */
#ifndef SONDE_RUNLOOP_H
#define SONDE_RUNLOOP_H

#include <errno.h>
#include <stdbool.h>

#include "probes/probe.h"

struct ring_buffer;
struct target;

/* A probe's ring callback filled its queue: tick before consuming more. */
#define RUNLOOP_QUEUE_FULL PROBE_QUEUE_FULL

enum runloop_reason {
	RUNLOOP_SIGNAL = 1, /* SIGINT or SIGTERM */
	RUNLOOP_DURATION, /* -d elapsed */
	RUNLOOP_TARGET_EXIT, /* every target exited */
	RUNLOOP_CALLER, /* on_tick returned > 0 (the agent's reload) */
};

struct runloop_opts {
	struct ring_buffer *rb;
	struct target *target; /* NULL: never ends for target exit */
	double duration_s; /* 0: no deadline */
	int poll_ms; /* poll timeout, default 100 */
	/*
	 * Called after every poll (and once more at the end): drain what the
	 * callbacks queued. A negative return stops the loop with that error,
	 * a positive one ends it as RUNLOOP_CALLER (the ring is drained).
	 */
	int (*on_tick)(void *ctx);
	void *ctx;
};

/* Install SIGINT/SIGTERM handlers that make runloop__run return. */
void runloop_install_signals(void);
/* True once SIGINT/SIGTERM arrived (for work outside the loop). */
bool runloop_stopping(void);
/* SIGINT/SIGTERM received so far: a later one cuts the final flush short. */
unsigned int runloop_signals(void);

/*
 * Run until a signal, the deadline or the targets' exit. Returns the
 * enum runloop_reason (> 0) or -errno. EINTR is not an error.
 */
int runloop__run(const struct runloop_opts *o);

#endif /* SONDE_RUNLOOP_H */
