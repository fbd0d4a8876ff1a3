/* SPDX-License-Identifier: MIT */
/* lockall_daemon.c — lock a whole daemon in RAM at start-up (rampart/lockall.h), the way a
 * service holding keys, or one that must never wait on swap, does it.
 *
 * It locks every page mapped now and every page mapped later (MCL_CURRENT | MCL_FUTURE), says on
 * one line what it got, then serves. With --required (what a real daemon should use) it refuses to
 * serve when it cannot lock, and says why and how to fix it; by default it is best effort and says
 * plainly that it runs unlocked. It serves a few rounds and exits, so the test suite can run it;
 * a real daemon loops until told to stop.
 * Build: cc lockall_daemon.c $(pkg-config --cflags --libs rampart)
 */
#include <rampart.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    rp_lockall_options_t cfg = rp_lockall_options_default();   /* current + future, required */
    cfg.required = argc > 1 && strcmp(argv[1], "--required") == 0;
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    if (rp_lockall(&cfg, &st) != RP_OK) {
        /* Required and not possible: do not serve unlocked. The message has the numbers. */
        fprintf(stderr, "lockall_daemon: cannot lock: %s\n", rp_last_error()->message);
        if (rp_last_error()->remedy) fprintf(stderr, "%s\n", rp_last_error()->remedy);
        return 1;
    }
    char line[512];
    printf("lockall_daemon: %s\n", rp_lockall_status_format(&st, line, sizeof line));
    bool locked = st.state == RP_LOCKALL_LOCKED;
    /* What the status says must agree with what the kernel reports. */
    if (locked != rp_lockall_is_locked()) {
        fprintf(stderr, "lockall_daemon: status and kernel disagree about the lock\n");
        return 1;
    }
    /* Serve: with MCL_FUTURE every buffer allocated from here on is locked as it is mapped. */
    for (int round = 0; round < 3; round++) {
        char *work = malloc(64 * 1024);
        if (work == NULL) return 1;
        memset(work, round, 64 * 1024);
        free(work);
    }
    printf("lockall_daemon: served 3 rounds %s\n", locked ? "locked in RAM" : "UNLOCKED (best effort)");
    if (locked && rp_unlockall() != RP_OK) return 1;
    return 0;
}
