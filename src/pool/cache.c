/* SPDX-License-Identifier: MIT */
/* pool/cache.c — per-thread caches of free slots, and the registry of live pools.
 *
 * Each thread keeps, per pool, a cache (bins of free slot pointers per size class) so that an
 * allocation and a free touch no lock and no cache line another thread writes. A thread finds
 * its cache through four thread-local ways keyed by the pool's id (ids are never reused, so a
 * way left behind by a destroyed pool never matches again); a thread that uses more than four
 * pools at once takes the locked shard path for the others.
 *
 * In a fork child every existing pool is inherited (rp__pool_inherited): a child handler starts
 * a new fork epoch and drops the forking thread's ways, so no allocation there takes a cached
 * slot of an inherited pool.
 *
 * Caches live in pages of the pool's own (rp__os_alloc). They go back to their pool when the
 * thread exits (a thread-exit destructor from the os layer: pthread key / fiber-local storage),
 * at rp_pool_trim on the owning thread, and at rp_pool_destroy. The registry of live pools,
 * under one mutex, lets a thread-exit destructor tell whether a pool still exists; destroy holds
 * that mutex while it tears down, so the two never overlap.
 */
#include <string.h>

#include "pool/pool_internal.h"

_Thread_local struct rp__tls rp__tls;

static rp__os_mutex_t rp__reg_lock = RP__OS_MUTEX_INIT;
static rp_pool_t *rp__reg_head;
static uint64_t rp__reg_next_id = 1;
static bool rp__key_ready;
static rp__os_thread_key_t rp__key;
_Atomic uint32_t rp__fork_epoch;

void rp__registry_lock(void) { rp__os_mutex_lock(&rp__reg_lock); }
void rp__registry_unlock(void) { rp__os_mutex_unlock(&rp__reg_lock); }

static rp_pool_t *rp__registry_find_locked(uint64_t id) {
    for (rp_pool_t *p = rp__reg_head; p != NULL; p = p->reg_next)
        if (p->id == id) return p;
    return NULL;
}

static void rp__thread_exit(void *value) {
    struct rp__tls *t = value;
    rp__registry_lock();
    for (size_t i = 0; i < sizeof t->way / sizeof t->way[0]; i++) {
        if (t->way[i].id == 0) continue;
        rp_pool_t *pool = rp__registry_find_locked(t->way[i].id);
        rp__tcache_t *tc = t->way[i].tc;
        t->way[i].id = 0;
        t->way[i].tc = NULL;
        if (pool == NULL) continue; /* destroyed: its caches went with it */
        rp__tcache_flush_all(pool, tc);
        rp__os_mutex_lock(&pool->lock);
        if (tc->prev) tc->prev->next = tc->next;
        else pool->tcaches = tc->next;
        if (tc->next) tc->next->prev = tc->prev;
        tc->next = pool->tcache_free;
        pool->tcache_free = tc;
        rp__os_mutex_unlock(&pool->lock);
    }
    t->registered = false;
    rp__registry_unlock();
}

/* Runs in a fork child, where only the forking thread exists; takes no lock (another thread
 * of the parent may have held one at the fork). */
static void rp__fork_child(void) {
    atomic_fetch_add_explicit(&rp__fork_epoch, 1, memory_order_relaxed);
    memset(rp__tls.way, 0, sizeof rp__tls.way);
}

rp_status_t rp__registry_add(rp_pool_t *pool) {
    rp__registry_lock();
    if (!rp__key_ready) {
        int err = rp__os_thread_key_create(rp__thread_exit, &rp__key);
        if (err == 0) {
            /* Where there is no fork (Windows) there is never a child to tell. */
            err = rp__os_atfork(NULL, NULL, rp__fork_child);
            if (err != 0 && err != rp__os_err_unsupported()) {
                rp__registry_unlock();
                return rp__fail_os(err, "pool: registering the fork-child handler");
            }
        } else {
            rp__registry_unlock();
            return rp__fail_os(err, "pool: creating the thread-exit key");
        }
        rp__key_ready = true;
    }
    pool->id = rp__reg_next_id++;
    pool->epoch = atomic_load_explicit(&rp__fork_epoch, memory_order_relaxed);
    pool->reg_next = rp__reg_head;
    rp__reg_head = pool;
    rp__registry_unlock();
    return RP_OK;
}

bool rp__registry_remove_locked(rp_pool_t *pool) {
    for (rp_pool_t **pp = &rp__reg_head; *pp != NULL; pp = &(*pp)->reg_next) {
        if (*pp == pool) {
            *pp = pool->reg_next;
            return true;
        }
    }
    return false;
}

/* Bin capacity per class: about 8 KiB of slots, between 4 and 64 of them. */
static uint32_t rp__bin_cap(unsigned cls) {
    size_t c = 8192u / rp__class_size(cls);
    return (uint32_t)(c < 4 ? 4 : c > 64 ? 64 : c);
}

size_t rp__tcache_bytes(void) {
    size_t n = sizeof(rp__tcache_t);
    for (unsigned c = 0; c < RP__CLASSES; c++) n += rp__bin_cap(c) * sizeof(rp__cached_t);
    return n;
}

unsigned rp__thread_shard(void) {
    static _Atomic uint32_t next;
    if (RP_UNLIKELY(rp__tls.shard == 0))
        rp__tls.shard = 1u + atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) % RP__SHARDS;
    return rp__tls.shard - 1u;
}

static void rp__tls_promote(size_t i) {
    if (i == 0) return;
    rp__tls_way_t t = rp__tls.way[0];
    rp__tls.way[0] = rp__tls.way[i];
    rp__tls.way[i] = t;
}

rp__tcache_t *rp__tcache_slow(rp_pool_t *pool) {
    const size_t ways = sizeof rp__tls.way / sizeof rp__tls.way[0];
    if (pool->guarded || rp__pool_inherited(pool)) return NULL;
    for (size_t i = 1; i < ways; i++) {
        if (rp__tls.way[i].id == pool->id) {
            rp__tls_promote(i);
            return rp__tls.way[0].tc;
        }
    }
    size_t slot = ways;
    for (size_t i = 0; i < ways && slot == ways; i++)
        if (rp__tls.way[i].id == 0) slot = i;
    if (slot == ways) {
        /* Reuse a way whose pool was destroyed. */
        rp__registry_lock();
        for (size_t i = 0; i < ways && slot == ways; i++)
            if (rp__registry_find_locked(rp__tls.way[i].id) == NULL) slot = i;
        rp__registry_unlock();
        if (slot == ways) return NULL;
    }

    rp__os_mutex_lock(&pool->lock);
    rp__tcache_t *tc = pool->tcache_free;
    if (tc != NULL) pool->tcache_free = tc->next;
    rp__os_mutex_unlock(&pool->lock);
    if (tc == NULL) {
        void *mem = NULL;
        /* The shard path still works without a cache. free comes here on a thread's first use
         * of the pool and must not change errno, so a failure leaves no trace in it. */
        int saved = rp__os_last_error();
        if (rp__os_alloc(pool->tcache_size, &mem) != 0) {
            rp__os_set_last_error(saved);
            return NULL;
        }
        tc = mem;
    }
    memset(tc, 0, sizeof *tc);
    tc->pool = pool;
    tc->shard = atomic_fetch_add_explicit(&pool->next_shard, 1, memory_order_relaxed) % RP__SHARDS;
    rp__cached_t *at = tc->storage;
    for (unsigned c = 0; c < RP__CLASSES; c++) {
        tc->bins[c].cap = rp__bin_cap(c);
        tc->bins[c].slots = at;
        at += tc->bins[c].cap;
    }
    rp__os_mutex_lock(&pool->lock);
    tc->next = pool->tcaches;
    if (pool->tcaches) pool->tcaches->prev = tc;
    pool->tcaches = tc;
    rp__os_mutex_unlock(&pool->lock);

    rp__tls.way[slot].id = pool->id;
    rp__tls.way[slot].tc = tc;
    rp__tls_promote(slot);
    if (!rp__tls.registered) {
        rp__tls.registered = true;
        (void)rp__os_thread_key_set(rp__key, &rp__tls);
    }
    return tc;
}
