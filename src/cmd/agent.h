/* SPDX-License-Identifier: MIT */
/*
 * `sonde agent`'s option parser, apart from main() so tests can drive it.
 * Every configuration key is a flag: --KEY VALUE (--KEY=VALUE), booleans
 * --KEY, --KEY=false and --no-KEY; the short aliases of the schema (-F,
 * -f, -p, --listen, ...); -e LIST enables exactly the probes listed.
 */
#ifndef SONDE_CMD_AGENT_H
#define SONDE_CMD_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/agent_config.h"

struct agent_args {
	const char *config; /* --config, else $SONDE_CONFIG, else NULL */
	const char *env;    /* --env, or NULL ($SONDE_ENV is the loader's) */
	bool check_config;
	struct agent_config_flag *flags; /* in command-line order */
	size_t nflags;
	char **spelled; /* the flag spellings flags[].flag point to */
	size_t nspelled;
};

/*
 * 0, -EINVAL after one line, CLI_EXIT_HELP after --help, or -ENOMEM; @a
 * holds something to free (agent_args_free()) only after 0.
 */
int cli_parse_agent(int argc, char **argv, struct agent_args *a);
void agent_args_free(struct agent_args *a);

/*
 * The agent's run loop (agent_run.c) with the loaded @cfg, which a reload
 * may replace (*cfg is the one to free after). 0 after SIGTERM/SIGINT and
 * the final flush, or -errno.
 */
int agent_run(const struct agent_args *a, struct agent_config **cfg);

#endif /* SONDE_CMD_AGENT_H */
