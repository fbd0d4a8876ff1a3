/* SPDX-License-Identifier: MIT */
/* cli.h — the rampart command-line tool: one function per command, and shared output helpers.
 * Each command takes the arguments after its name and returns the process exit status. */
#ifndef RP_CLI_H
#define RP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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
int rp_cli_lock(int argc, char **argv);
int rp_cli_maps(int argc, char **argv);
int rp_cli_unlock(int argc, char **argv);
int rp_cli_run(int argc, char **argv);
/* `rampart run` through ptrace (run_traced.c): CMD locked at its exec stop; follow: descendants too. */
int rp_cli_run_traced(char **cmd, bool onfault, bool best_effort, bool follow);
int rp_cli_status(int argc, char **argv);

/* The PID argument of command cmd: 0 with *pid set, or RP_CLI_USAGE after a message on stderr
 * naming the problem (an unknown option, a second argument, not a process id). have_pid: one
 * was given already. */
int rp_cli_pid_arg(const char *cmd, const char *arg, bool have_pid, int *pid);

/* JSON output (json.c). Members of one object: pass the same `first` flag, true at the start. */
void rp_json_string(FILE *out, const char *s);
void rp_json_key(FILE *out, bool *first, const char *key);
void rp_json_bytes(FILE *out, bool *first, const char *key, size_t n);   /* SIZE_MAX: null */
void rp_json_text(FILE *out, bool *first, const char *key, const char *s); /* NULL: null */
void rp_json_bool(FILE *out, bool *first, const char *key, bool v);

#endif /* RP_CLI_H */
