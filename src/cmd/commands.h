/* SPDX-License-Identifier: MIT */
/*
 * Subcommand entry points: return -errno, or the exit status to pass on (0,
 * or a launched command's); main() maps them to exit codes.
 */
#ifndef SONDE_COMMANDS_H
#define SONDE_COMMANDS_H

int cmd_agent(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_llm(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif /* SONDE_COMMANDS_H */
