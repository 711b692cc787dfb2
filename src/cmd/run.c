// SPDX-License-Identifier: MIT
#include "base/log.h"
#include "cmd/run.h"

int cmd_run_session(struct session_opts *o)
{
	struct session *s = NULL;
	int err, reason;

	log_set_level(o->verbose >= 2 ? LOG_DEBUG : o->verbose ? LOG_INFO : LOG_WARN);
	err = session__new(o, &s);
	if (err)
		goto out;
	reason = session__run(s);
	if (reason < 0) {
		err = reason;
		goto out;
	}
	err = session__finish(s);
	if (!err)
		err = session__exit_status(s);
out:
	session__free(s);
	session_opts_free(o);
	return err;
}
