/* SPDX-License-Identifier: MIT */
/* run_unsupported.c — `rampart run` where programs cannot be preloaded (Windows): the command
 * exists so the CLI is the same everywhere, and says what to do instead. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rampart.h"

int rp_cli_run(int argc, char **argv) {
    bool help = argc > 0 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"));
    fprintf(help ? stdout : stderr,
            "%srampart run: this platform cannot preload a library into another program; call\n"
            "  rp_lockall() (with current, best effort) at the start of the program instead\n",
            help ? "usage: rampart run [--onfault] [--best-effort] [--] CMD [ARGS...]\n" : "");
    return help ? 0 : RP_LOCKALL_EXIT_FAILURE;
}
