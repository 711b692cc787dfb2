/* SPDX-License-Identifier: MIT */
/* What every command does once its options are parsed: one session, run. */
#ifndef SONDE_CMD_RUN_H
#define SONDE_CMD_RUN_H

#include "session/session.h"

/*
 * Set the log level from -v, build the session, run it, write its results
 * and free it (and @o). -errno, or the exit status to pass on (0, or the
 * launched command's own, see session__exit_status()); main() turns that
 * into sonde's exit status.
 */
int cmd_run_session(struct session_opts *o);

#endif /* SONDE_CMD_RUN_H */
