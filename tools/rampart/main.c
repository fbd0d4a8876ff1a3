/* SPDX-License-Identifier: MIT */
/* main.c — the rampart command-line tool: dispatches to one command per file. */
#include <stdio.h>
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
    {"maps", rp_cli_maps, "show a process's memory regions: locked, excluded from core dumps, wiped on fork"},
    {"run", rp_cli_run, "run a program with all of its memory locked in RAM (current and future pages)"},
    {"status", rp_cli_status, "show a process's memory locks: locked bytes, limit, CAP_IPC_LOCK, room to lock more"},
};

static void rp_cli_usage(FILE *out) {
    fprintf(out, "rampart %s — memory that stays in RAM, out of swap and core dumps, wiped when done\n\n", rp_version());
    fprintf(out, "usage: rampart COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof rp_cli_commands / sizeof rp_cli_commands[0]; i++)
        fprintf(out, "  %-8s %s\n", rp_cli_commands[i].name, rp_cli_commands[i].summary);
    fprintf(out, "  %-8s %s\n", "version", "print the version");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        rp_cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("rampart %s\n", rp_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof rp_cli_commands / sizeof rp_cli_commands[0]; i++)
        if (!strcmp(argv[1], rp_cli_commands[i].name)) return rp_cli_commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "rampart: unknown command '%s'\n\n", argv[1]);
    rp_cli_usage(stderr);
    return 2;
}
