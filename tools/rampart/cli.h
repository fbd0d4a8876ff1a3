/* SPDX-License-Identifier: MIT */
/* cli.h — the rampart command-line tool: one function per command, and shared output helpers.
 * Each command takes the arguments after its name and returns the process exit status. */
#ifndef RP_CLI_H
#define RP_CLI_H

int rp_cli_doctor(int argc, char **argv);
int rp_cli_maps(int argc, char **argv);
int rp_cli_run(int argc, char **argv);
int rp_cli_status(int argc, char **argv);

#endif /* RP_CLI_H */
