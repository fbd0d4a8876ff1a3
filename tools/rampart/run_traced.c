/* SPDX-License-Identifier: MIT */
/* run_traced.c — `rampart run --ptrace | --follow` and statically linked CMDs (issue 15): CMD is
 * started traced and made to call mlockall at its exec stop, before its first instruction
 * (rp_lockall_run_traced), for the programs LD_PRELOAD cannot reach. With --follow every exec of
 * every descendant, and every fork child, is locked the same way (rampart stays attached until all
 * have exited). Exit status: CMD's own, 125 (lock failed), 126 (cannot run), 127 (not found). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rampart.h"

int rp_cli_run_traced(char **cmd, bool onfault, bool best_effort, bool follow) {
    rp_lockall_options_t cfg = rp_lockall_options_default();
    cfg.onfault = onfault;
    cfg.required = !best_effort;
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    int status = RP_LOCKALL_EXIT_FAILURE;
    fflush(NULL);
    rp_status_t s = rp_lockall_run_traced(cmd, &cfg, follow ? RP_LOCKALL_RUN_FOLLOW : 0u, &st, &status);
    if (s != RP_OK) {
        fprintf(stderr, "rampart run: %s\n", st.message);
        if (st.remedy) fprintf(stderr, "fix: %s\n", st.remedy);
        return status == 126 || status == 127 ? status : RP_LOCKALL_EXIT_FAILURE;
    }
    if (st.state != RP_LOCKALL_LOCKED)
        fprintf(stderr, "rampart run: warning: ran unlocked (best effort): %s\n", st.message);
    return status;
}
