/* SPDX-License-Identifier: MIT */
/* pool/stats.c — rp_pool_stats: one snapshot of what the pool holds, and the locked walk of its
 * arenas that the snapshot and the printer (stats_print.c) share.
 *
 * The walk takes every shard lock and then the pool lock, so nothing is handed out, freed or
 * released while it runs and the counts add up; the locked and unlocked byte counts are the
 * pool's own bookkeeping of what it locked, which test_pool_stats_match_vmlck checks against the
 * kernel's VmLck.
 */
#include <string.h>

#include "pool/pool_internal.h"

/* rp_pool_stats_t as first released (the end of its last field). */
#define RP__POOL_STATS_V1 RP__SIZE_V1(rp_pool_stats_t, guards_lightweight)

void rp__pool_lock_all(rp_pool_t *pool) {
    for (unsigned s = 0; s < RP__SHARDS; s++) rp__os_mutex_lock(&pool->shards[s].lock);
    rp__os_mutex_lock(&pool->lock);
}

void rp__pool_unlock_all(rp_pool_t *pool) {
    rp__os_mutex_unlock(&pool->lock);
    for (unsigned s = RP__SHARDS; s-- > 0;) rp__os_mutex_unlock(&pool->shards[s].lock);
}

void rp__pool_each_arena(rp_pool_t *pool, void (*visit)(rp_pool_t *pool, rp__arena_t *a, void *ctx), void *ctx) {
    rp__arena_t *lists[1 + RP__SHARDS];
    lists[0] = pool->arenas;
    for (unsigned s = 0; s < RP__SHARDS; s++) lists[1 + s] = pool->shards[s].runs;
    for (unsigned l = 0; l < 1 + RP__SHARDS; l++)
        for (rp__arena_t *a = lists[l]; a != NULL; a = a->all_next)
            if (a->kind != RP__ARENA_REGION) visit(pool, a, ctx);
}

/* Adds one arena's slots to the snapshot. */
static void rp__stats_add_arena(rp_pool_t *pool, rp__arena_t *a, void *ctx) {
    rp_pool_stats_t *out = ctx;
    size_t live = 0;
    for (size_t i = 0; i < a->slots; i++) live += rp__live(a, i);
    if (a->kind == RP__ARENA_GUARDED) {
        out->total += a->slots * (a->data - pool->canary);
        for (size_t i = 0; i < a->slots; i++)
            if (rp__live(a, i)) out->used += a->sizes[i];
    } else {
        out->total += a->slots * (a->stride - pool->canary);
        out->used += live * (a->stride - pool->canary);
    }
    out->chunks_used += live;
    out->chunks_free += a->slots - live;
}

rp_status_t rp_pool_stats(rp_pool_t *pool, rp_pool_stats_t *given) {
    if (pool == NULL || given == NULL) return rp__fail(RP_ERR_INVALID, 0, "pool: stats of a NULL pool or into NULL");
    rp_status_t st = rp__sized_out_check(given, RP__POOL_STATS_V1, "rp_pool_stats");
    if (st != RP_OK) return st;
    /* filled whole here, handed over only as far as the caller's struct_size reaches */
    rp_pool_stats_t full, *out = &full;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    rp__pool_lock_all(pool);
    rp__pool_each_arena(pool, rp__stats_add_arena, out);
    out->free = out->total - out->used;
    out->locked = pool->locked_bytes;
    out->unlocked = pool->unlocked_bytes;
    out->guard_pages = pool->guard_pages;
    if (rp__pool_inherited(pool)) {
        /* A fork child's copy: fork passed on neither the locks nor the guards (pool.h). */
        out->unlocked += out->locked;
        out->locked = 0;
        out->guard_pages = 0;
    }
    out->arenas = pool->arena_count;
    out->lock_failures = pool->lock_failures;
    out->guards_lightweight = !pool->any_heavy_guard && rp__os_guard_lightweight_available();
    rp__pool_unlock_all(pool);
    rp__sized_out_write(given, &full, sizeof full);
    return RP_OK;
}
