/* SPDX-License-Identifier: MIT */
/* tests/vg_pool.c — one bug per run for Valgrind memcheck (tests/valgrind.sh) in rp_pool_alloc
 * memory: an overflow, a use after free, a 100-byte leak; "zeroed" reads a fresh allocation,
 * which is no error (pool memory is handed out zeroed: memcheck sees it defined); "clean" runs
 * the default pool (locked, guarded: no system call Valgrind does not handle), small, large,
 * canary and guarded pools, realloc and destroy with live slots, and must give no
 * error at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rampart.h"

static rp_pool_t *pool;

static __attribute__((noinline)) void leak(void) {
    volatile char *p = rp_pool_alloc(pool, 100);
    p[0] = 1;
}

static __attribute__((noinline)) void scrub_stack(void) {
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

static int clean(void) {
    /* The default pool (locked, guard pages): Valgrind must handle every system call it makes. */
    rp_pool_t *dflt = NULL;
    if (rp_pool_create(NULL, &dflt) != RP_OK) return 8;
    char *d = rp_pool_alloc(dflt, 32);
    if (d == NULL) return 9;
    memset(d, 1, 32);
    rp_pool_free(dflt, d);
    rp_pool_destroy(dflt);
    unsigned flags[3] = {0, RP_POOL_CANARY, RP_POOL_GUARDED | RP_POOL_CANARY};
    for (int f = 0; f < 3; f++) {
        rp_pool_options_t o = rp_pool_options_default();
        o.flags = flags[f];
        o.lock_policy = RP_POOL_LOCK_SILENT;
        rp_pool_t *q = NULL;
        if (rp_pool_create(&o, &q) != RP_OK) return 10 + f;
        char *a = rp_pool_alloc(q, 40);
        memset(a, 1, 40);
        a = rp_pool_realloc(q, a, 300);
        if (a == NULL || a[39] != 1) return 20 + f;
        memset(a, 2, 300);
        char *big = rp_pool_alloc(q, 20000);
        if (big == NULL) return 30 + f;
        big[19999] = 3;
        rp_pool_free(q, big);
        rp_pool_free(q, a);
        for (int i = 0; i < 100; i++) rp_pool_free(q, rp_pool_zalloc(q, 1, (size_t)(i + 1)));
        /* A large block freed, then one of the same size: the cached arena comes back with its
         * slot turned (it starts inside a page), and the second free wipes its pages. */
        for (int turn = 0; turn < 2; turn++) {
            char *huge = rp_pool_alloc(q, 2000000);
            if (huge == NULL) return 40 + f;
            huge[1999999] = 4;
            rp_pool_free(q, huge);
        }
        char *kept = rp_pool_alloc(q, 64); /* still live at destroy: not a leak */
        kept[0] = 1;
        rp_pool_destroy(q);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "clean";
    rp_pool_options_t o = rp_pool_options_default();
    o.lock_policy = RP_POOL_LOCK_SILENT;
    if (rp_pool_create(&o, &pool) != RP_OK) return 1;
    volatile char *p;
    if (strcmp(mode, "overflow") == 0) {
        p = rp_pool_alloc(pool, 100);
        p[100] = 1;
        rp_pool_free(pool, (void *)p);
    } else if (strcmp(mode, "use-after-free") == 0) {
        p = rp_pool_alloc(pool, 100);
        rp_pool_free(pool, (void *)p);
        p[10] = 2;
    } else if (strcmp(mode, "zeroed") == 0) {
        p = rp_pool_alloc(pool, 100);
        if (p[50] != 0) return 3; /* defined zeros: memcheck says nothing */
        rp_pool_free(pool, (void *)p);
    } else if (strcmp(mode, "leak") == 0) {
        leak();
        scrub_stack();
        return 0; /* the pool is not destroyed: its slot is lost */
    } else if (strcmp(mode, "clean") == 0) {
        int rc = clean();
        if (rc != 0) {
            fprintf(stderr, "vg_pool clean: step %d failed\n", rc);
            return rc;
        }
    } else {
        fprintf(stderr, "vg_pool: unknown mode %s\n", mode);
        return 2;
    }
    rp_pool_destroy(pool);
    return 0;
}
