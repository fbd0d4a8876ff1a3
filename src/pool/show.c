/* SPDX-License-Identifier: MIT */
/* pool/show.c — RAMPART_SHOW_STATS=1 for the default pool (rp_secret_alloc's): its statistics
 * on stderr at exit, beside the default heap's (heap/show.c).
 *
 * The variable is read when the default pool is created, so a program that never asks for a
 * secret prints nothing for the pool. The lines go out through the platform's raw stderr write
 * from a destructor, which runs at exit() after atexit handlers: whatever the program freed by
 * then is counted as freed.
 */
#include "pool/pool_internal.h"

static _Atomic(rp_pool_t *) rp__shown_pool;

rp_status_t rp__pool_show_env(bool *show) {
    static const char *const words[] = {"0", "1"};
    size_t value = 0;
    rp_status_t status = rp__env_word("RAMPART_SHOW_STATS", false, words, 2, &value);
    *show = value == 1;
    return status;
}

void rp__pool_show_at_exit(rp_pool_t *pool) {
    rp__os_keep_stderr(); /* the program may close its stderr before the report (os/os.h) */
    atomic_store_explicit(&rp__shown_pool, pool, memory_order_release);
}

__attribute__((destructor)) static void rp__pool_print_at_exit(void) {
    rp_pool_t *pool = atomic_load_explicit(&rp__shown_pool, memory_order_acquire);
    if (pool != NULL) (void)rp_pool_stats_print_to(pool, rp__line_to_stderr, NULL);
}
