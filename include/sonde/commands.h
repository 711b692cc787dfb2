/* SPDX-License-Identifier: MIT */
/* Subcommand entry points: return 0 or -errno; main() maps to exit codes. */
#ifndef SONDE_COMMANDS_H
#define SONDE_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_trace(int argc, char **argv);

#endif /* SONDE_COMMANDS_H */
