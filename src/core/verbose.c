/* SPDX-License-Identifier: MIT */
/* core/verbose.c — RAMPART_VERBOSE=1: every OS-level failure on stderr as it happens.
 *
 * rp__fail_os and rp__fail_lock call rp__verbose_failure once the thread's last error holds the
 * full message, so an operator sees failures a program handled quietly (a lock that fell back,
 * an mmap refused under a limit). The variable is read at the first failure, with the strict
 * reader; a malformed value is reported once and counts as off (a failure path is no place to
 * stop the process). Output goes through the platform's raw stderr write: no stdio, no
 * allocation, so it is safe inside the malloc preload.
 */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

/* 0: not read yet, 1: off, 2: on. */
static _Atomic int rp__verbose_state;

bool rp__verbose(void) {
    int state = atomic_load_explicit(&rp__verbose_state, memory_order_relaxed);
    if (state == 0) {
        static const char *const words[] = {"0", "1"};
        size_t on = 0;
        rp_error_t saved = *rp_last_error();
        if (rp__env_word("RAMPART_VERBOSE", false, words, 2, &on) != RP_OK) {
            const char *msg = rp_last_error()->message;
            rp__os_write_stderr("rampart: ", 9);
            rp__os_write_stderr(msg, strlen(msg));
            rp__os_write_stderr(" (verbose mode stays off)\n", 26);
        }
        *(rp_error_t *)rp_last_error() = saved; /* reading the variable must not change the caller's error */
        state = on == 1 ? 2 : 1;
        atomic_store_explicit(&rp__verbose_state, state, memory_order_relaxed);
    }
    return state == 2;
}

void rp__verbose_failure(void) {
    if (!rp__verbose()) return;
    const char *msg = rp_last_error()->message;
    rp__os_write_stderr("rampart: OS failure: ", 21);
    rp__os_write_stderr(msg, strlen(msg));
    rp__os_write_stderr("\n", 1);
}
