/* SPDX-License-Identifier: MIT */
/* main.c — the rampart command-line tool: dispatches to one command per file. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rampart.h"

typedef struct rp_cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} rp_cli_command_t;

static const rp_cli_command_t rp_cli_commands[] = {
    {"doctor", rp_cli_doctor, "check what this machine and process allow, then self-test each page source"},
    {"lock", rp_cli_lock, "lock all memory of a running process (ptrace; no restart): rampart lock PID"},
    {"maps", rp_cli_maps, "show a process's memory regions: locked, excluded from core dumps, wiped on fork"},
    {"run", rp_cli_run, "run a program with all of its memory locked in RAM (current and future pages)"},
    {"status", rp_cli_status, "is a process locked in RAM? verdict from bytes, exit status for health checks"},
    {"unlock", rp_cli_unlock, "unlock all memory of a running process (munlockall, injected like lock)"},
};

/* Every RAMPART_* variable (README "Environment variables" has the same table, with what a
 * malformed value does): one row each, so a new variable is one line here. */
typedef struct rp_cli_variable {
    const char *name, *values, *fallback, *reader;
    bool secure; /* ignored in set-user-ID / set-group-ID / file-capability programs */
} rp_cli_variable_t;

static const rp_cli_variable_t rp_cli_variables[] = {
    {"RAMPART_LOCK", "current,future,onfault,required,best-effort", "current,future,required", "librampart-lock.so", true},
    {"RAMPART_LOCK_LIBRARY", "path of librampart-lock.so", "beside rampart", "rampart run", true},
    {"RAMPART_POOL_LOCK", "required | report | silent", "required", "default secret pool", true},
    {"RAMPART_PURGE_DELAY", "milliseconds, or -1 (never)", "500", "heap", false},
    {"RAMPART_CACHE_MAX", "bytes, suffix k/m/g/t (64M)", "64M", "heap", false},
    {"RAMPART_HEAP_WIPE", "0 | 1", "0", "default heap", false},
    {"RAMPART_SHOW_STATS", "0 | 1 (heap and pool stats at exit)", "0", "heap, default pool", false},
    {"RAMPART_VERBOSE", "0 | 1 (options, OS failures)", "0", "heap, OS failures", false},
};

static void rp_cli_variables_table(FILE *out) {
    fprintf(out, "\nenvironment (parsed strictly; secure ones are ignored in set-user-ID and file-capability programs):\n");
    fprintf(out, "  %-20s %-43s %-23s %-19s %s\n", "VARIABLE", "VALUES", "DEFAULT", "READ BY", "SECURE");
    for (size_t i = 0; i < sizeof rp_cli_variables / sizeof rp_cli_variables[0]; i++) {
        const rp_cli_variable_t *v = &rp_cli_variables[i];
        fprintf(out, "  %-20s %-43s %-23s %-19s %s\n", v->name, v->values, v->fallback, v->reader,
                v->secure ? "yes" : "no");
    }
}

static void rp_cli_usage(FILE *out) {
    fprintf(out, "rampart %s — memory that stays in RAM, out of swap and core dumps, wiped when done\n\n", rp_version());
    fprintf(out, "usage: rampart COMMAND [ARGS...]\n       rampart help [COMMAND]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof rp_cli_commands / sizeof rp_cli_commands[0]; i++)
        fprintf(out, "  %-8s %s\n", rp_cli_commands[i].name, rp_cli_commands[i].summary);
    fprintf(out, "  %-8s %s\n", "version", "print the version");
    fprintf(out, "  %-8s %s\n", "help", "this text, or a command's own help (also: rampart COMMAND --help)");
    fprintf(out, "\nexit status:\n"
                 "  0 success; 1 failure (a check failed, the process cannot be read, the output cannot be\n"
                 "  written); 2 usage error (an unknown command, option or argument).\n"
                 "  rampart status: " RP_CLI_STATUS_CODES ".\n"
                 "  rampart run: CMD's own status, or 125 (lock failed or cannot preload), 126 (cannot execute),\n"
                 "  127 (not found). rampart lock / unlock: 0 done, 1 refused or failed (cause and fix on stderr).\n");
    rp_cli_variables_table(out);
}

int rp_cli_pid_arg(const char *cmd, const char *arg, bool have_pid, int *pid) {
    if (arg[0] == '-' && arg[1] != '\0') {
        fprintf(stderr, "rampart %s: unknown option '%s'\n", cmd, arg);
        return RP_CLI_USAGE;
    }
    if (have_pid) {
        fprintf(stderr, "rampart %s: unexpected argument '%s': one process id at most\n", cmd, arg);
        return RP_CLI_USAGE;
    }
    /* Digits only: strtol would also take leading blanks and a sign (" 1", "+1") while refusing
     * trailing ones ("1 "). */
    char *end = NULL;
    long v = arg[0] >= '0' && arg[0] <= '9' ? strtol(arg, &end, 10) : 0;
    if (end == arg || end == NULL || *end != '\0' || v <= 0 || v > INT32_MAX) {
        fprintf(stderr, "rampart %s: '%s' is not a process id (a positive number)\n", cmd, arg);
        return RP_CLI_USAGE;
    }
    *pid = (int)v;
    return 0;
}

static const rp_cli_command_t *rp_cli_find(const char *name) {
    for (size_t i = 0; i < sizeof rp_cli_commands / sizeof rp_cli_commands[0]; i++)
        if (!strcmp(name, rp_cli_commands[i].name)) return &rp_cli_commands[i];
    return NULL;
}

/* `rampart help [TOPIC]`: the overview, or the topic's own --help. */
static int rp_cli_help(int argc, char **argv) {
    if (argc == 0) {
        rp_cli_usage(stdout);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "rampart help: unexpected argument '%s' (one topic at a time)\n", argv[1]);
        return 2;
    }
    if (!strcmp(argv[0], "version") || !strcmp(argv[0], "help")) {
        rp_cli_usage(stdout);
        return 0;
    }
    const rp_cli_command_t *c = rp_cli_find(argv[0]);
    if (c == NULL) {
        fprintf(stderr, "rampart help: no help on '%s': not a command\n\n", argv[0]);
        rp_cli_usage(stderr);
        return 2;
    }
    char help[] = "--help";
    char *args[] = {help, NULL};
    return c->run(1, args);
}

/* The exit status once the output is out: a command whose output could not be written (a full
 * disk, a closed pipe, > /dev/full) failed, and says so, where the buffered writes had failed
 * unseen and it exited 0 with an empty file. `status` keeps its verdict, which its exit status
 * is, and says it on stderr. */
static int rp_cli_finish(int rc, bool keep_status) {
    int err = fflush(stdout) != 0 ? errno : 0;
    if (err == 0 && ferror(stdout)) err = EIO;
    if (err == 0) return rc;
    fprintf(stderr, "rampart: cannot write the output: %s\n", strerror(err));
    return keep_status || rc != 0 ? rc : 1;
}

static int rp_cli_dispatch(int argc, char **argv) {
    if (argc < 2) {
        rp_cli_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return rp_cli_help(argc - 2, argv + 2);
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        if (argc > 2) {
            fprintf(stderr, "rampart version: unexpected argument '%s'\n", argv[2]);
            return 2;
        }
        printf("rampart %s\n", rp_version());
        return 0;
    }
    const rp_cli_command_t *c = rp_cli_find(argv[1]);
    if (c != NULL) return c->run(argc - 2, argv + 2);
    fprintf(stderr, "rampart: unknown command '%s'\n\n", argv[1]);
    rp_cli_usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    int rc = rp_cli_dispatch(argc, argv);
    return rp_cli_finish(rc, argc >= 2 && !strcmp(argv[1], "status"));
}
