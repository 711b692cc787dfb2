// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "base/log.h"
#include "base/tracefs.h"

#define TRACEFS "/sys/kernel/tracing"

static int events_there(void)
{
	return !access(TRACEFS "/events", F_OK) ||
	       !access("/sys/kernel/debug/tracing/events", F_OK);
}

int tracefs_ensure(void)
{
	static int done;
	int err;

	if (events_there())
		return 0;
	if (done)
		return done;
	if (mount("nodev", TRACEFS, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		err = -errno;
		/* Another sonde mounted it meanwhile. */
		if (events_there())
			return 0;
		log_warn("tracefs is not mounted and mounting it at %s failed: %s", TRACEFS,
			 strerror(-err));
		done = err;
		return err;
	}
	if (!events_there()) {
		log_warn("tracefs mounted at %s has no events: tracepoints are off in this kernel",
			 TRACEFS);
		done = -ENOENT;
		return done;
	}
	log_info("mounted tracefs at %s: it was not, and the syscall tracepoints need it", TRACEFS);
	done = 0;
	return 0;
}
