/* SPDX-License-Identifier: MIT */
/* cli.h — the rampart command-line tool: one function per command, and shared output helpers.
 * Each command takes the arguments after its name and returns the process exit status. */
#ifndef RP_CLI_H
#define RP_CLI_H

/* The exit status of `rampart status`: a health check (systemd ExecStartPost=, a Kubernetes exec
 * probe) passes on 0 only. 2 stays the usage error of every command. */
enum {
    RP_CLI_LOCKED = 0,         /* every lockable area of the process is locked */
    RP_CLI_PARTLY_LOCKED = 1,  /* some of it is locked, some not */
    RP_CLI_USAGE = 2,          /* bad arguments (every command) */
    RP_CLI_NOT_LOCKED = 3,     /* nothing of it is locked */
    RP_CLI_CANNOT_TELL = 4     /* its memory areas cannot be read: no such process, no permission, no /proc */
};
#define RP_CLI_STATUS_CODES "0 locked, 1 partly locked, 3 not locked, 4 cannot tell"

int rp_cli_doctor(int argc, char **argv);
int rp_cli_maps(int argc, char **argv);
int rp_cli_run(int argc, char **argv);
int rp_cli_status(int argc, char **argv);

#endif /* RP_CLI_H */
