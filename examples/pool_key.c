/* SPDX-License-Identifier: MIT */
/* pool_key.c — keep a secret key in rampart's secure pool (rampart/pool.h).
 *
 * The key lives in a slot of a locked arena: it is never swapped out, is left out of core dumps,
 * reads as zeros in fork children, and is wiped when freed. A guarded, canaried pool also makes
 * an overflow past the key fault at once. Build: cc pool_key.c $(pkg-config --cflags --libs rampart)
 */
#include <rampart.h>
#include <stdio.h>
#include <string.h>

enum { KEY_BYTES = 32 };

int main(void) {
    /* A pool of its own, with the strictest settings: every allocation ends against a guard
     * page, a canary guards its other side. The default lock policy is REQUIRED: if the memlock
     * limit does not allow the arena, allocation fails rather than hand out unlocked memory. */
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.flags = RP_POOL_GUARDED | RP_POOL_CANARY;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&cfg, &pool) != RP_OK) {
        fprintf(stderr, "pool_key: cannot create the pool: %s\n", rp_last_error()->message);
        return 1;
    }
    unsigned char *key = rp_pool_alloc(pool, KEY_BYTES);
    if (key == NULL) {
        /* rp_last_error() says why (the memlock limit, usually) and how to raise it. */
        fprintf(stderr, "pool_key: cannot allocate a locked key: %s\n", rp_last_error()->message);
        rp_pool_destroy(pool);
        return 1;
    }
    /* Derive the key straight into locked memory; never build it in a stack buffer first. A real
     * program would read it from a KDF or a key file here. */
    for (size_t i = 0; i < KEY_BYTES; i++) key[i] = (unsigned char)(i * 37u + 11u);

    rp_pool_stats_t st = {RP_SIZED(rp_pool_stats_t)};
    if (rp_pool_stats(pool, &st) != RP_OK || st.locked == 0 || st.unlocked != 0) {
        fprintf(stderr, "pool_key: the key's arena is not locked\n");
        rp_pool_free(pool, key);
        rp_pool_destroy(pool);
        return 1;
    }
    printf("pool_key: %d-byte key in a locked arena (%zu bytes locked, %zu guard pages)\n",
           KEY_BYTES, st.locked, st.guard_pages);

    /* Free wipes the slot (and checks the canary); destroy wipes and releases every arena. */
    rp_pool_free(pool, key);
    rp_pool_destroy(pool);
    printf("pool_key: key wiped and released\n");
    return 0;
}
