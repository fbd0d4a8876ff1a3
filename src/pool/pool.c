/* SPDX-License-Identifier: MIT */
/* pool/pool.c — the secure pool's public API: size classes, the fast paths, the shard paths,
 * trimming and the process-wide default pool.
 *
 * Fast path (small sizes, normal mode), no lock taken:
 *   alloc: class of size (+ canary) -> pop (slot, arena) from the thread cache's bin -> mark the
 *          slot live (one store) -> write the canary
 *   free:  page map -> this pool's arena? else corruption -> offset is a slot start? else
 *          corruption -> clear the live byte (atomic exchange; already clear = double free)
 *          -> check the canary -> wipe the whole slot -> into the thread's quarantine ring;
 *          the slot the ring pushes out (freed RP_POOL_QUARANTINE frees ago) goes on its bin
 * When a bin is empty it refills half of it from an arena of the thread's shard (shard lock);
 * when full it returns half to the slots' arenas. An arena whose slots are all back is released
 * at once (its pages go back to their region, run.c), except one empty arena per shard and class
 * kept against churn (rp_pool_trim gives those back too). Large allocations and guarded mode take
 * the shard path every time, on the calling thread's shard: a large allocation up to
 * RP__LARGE_RUN_MAX is a run of pages of a shared region (no system call once the region exists),
 * a larger one a mapping of its own, kept in the shard's large cache when freed (run.c), as are
 * runs above RP__TLARGE_MAX (those up to it stay with the freeing thread: rp__tlarge_free).
 * Statistics are in stats.c and stats_print.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool_internal.h"

/* ---- helpers ------------------------------------------------------------------------------------ */

/* Class of n bytes, 1 <= n <= RP_POOL_MAX_SMALL. */
static inline unsigned rp__class_of(size_t n) {
    if (n <= 128) return (unsigned)((n + 15u) >> 4) - 1u;
#if defined(__GNUC__)
    unsigned lg = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
#else
    unsigned lg = 0;
    for (size_t v = n - 1; v > 1; v >>= 1) lg++;
#endif
    return 8u + (lg - 7u) * 4u + (unsigned)(((n - 1) >> (lg - 2u)) & 3u);
}

static inline unsigned rp__ctz(uint64_t x) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    for (; !(x & 1); x >>= 1) n++;
    return n;
#endif
}

/* The canary for the 8 bytes at `at`: the pool's random key mixed with the address
 * (splitmix64's finaliser), so one slot's canary is no good on another. */
static inline uint64_t rp__canary_value(const rp_pool_t *pool, uintptr_t at) {
    uint64_t x = pool->canary_key ^ (uint64_t)at;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}
/* Under ASan the canary stays poisoned (core/annotate.h): an overflow into it is reported where
 * it happens, not only at the free. */
static inline void rp__canary_put(const rp_pool_t *pool, uintptr_t at) {
    uint64_t v = rp__canary_value(pool, at);
    rp__asan_unpoison((void *)at, sizeof v);
    rp__vg_undefined((void *)at, sizeof v); /* and no-access to the program under Valgrind */
    memcpy((void *)at, &v, sizeof v);
    rp__asan_poison((void *)at, sizeof v);
    rp__vg_noaccess((void *)at, sizeof v);
}
static inline void rp__canary_check(const rp_pool_t *pool, uintptr_t at, const void *p) {
    uint64_t v;
    rp__asan_unpoison((const void *)at, sizeof v);
    rp__vg_defined((const void *)at, sizeof v); /* the free that checks it closes the slot after its wipe */
    memcpy(&v, (const void *)at, sizeof v);
    /* A fork child reads an inherited pool's arenas as zeros, canaries included. */
    if (RP_UNLIKELY(v != rp__canary_value(pool, at)) && !(v == 0 && rp__pool_inherited(pool)))
        rp__corrupt("pool: canary damaged (buffer overflow)", p);
}

/* The arena of p, which must be this pool's; anything else is corruption. */
static inline rp__arena_t *rp__lookup(rp_pool_t *pool, const void *p) {
    rp__arena_t *a = rp__pagemap_get((uintptr_t)p);
    if (RP_UNLIKELY(a == NULL)) rp__corrupt("pool: free of a pointer the pool did not hand out", p);
    if (RP_UNLIKELY(a->pool != pool)) rp__corrupt("pool: free of a pointer that belongs to another pool", p);
    return a;
}

/* Whether a size a caller names for p (a sized free, or a realloc that stays in place) maps to
 * p's slot: for small arenas the same size class, for large ones the same whole pages (both
 * with the canary). Guarded slots compare the exact size instead (see their callers). */
static inline bool rp__small_fits(const rp_pool_t *pool, const rp__arena_t *a, size_t size) {
    return size - 1 < RP_POOL_MAX_SMALL - pool->canary && rp__class_of(size + pool->canary) == a->cls;
}
static bool rp__large_fits(const rp_pool_t *pool, const rp__arena_t *a, size_t size) {
    size_t need;
    return !rp__add_overflows(size, pool->canary, &need) && rp__align_up(need, 16) == a->stride;
}

/* Slot index of an offset on the slow paths. The fast paths use the small arenas' magic
 * multiplier instead, exact there because offsets stay below 2^24 and strides below 2^16. */
/* A stale page-map read (a query racing the arena's release) can meet a metadata block being
 * recycled, whose stride reads 0 between its clearing and its new shape: that gives SIZE_MAX,
 * which every caller's idx < slots check refuses, instead of a division by zero. */
static inline size_t rp__slot_index(const rp__arena_t *a, size_t off) {
    size_t stride = *(const volatile size_t *)&a->stride; /* read once: tested value = divisor */
    if (RP_UNLIKELY(stride == 0)) return SIZE_MAX;
    return a->slots == 1 ? 0 : off / stride;
}

/* The live bytes (pool_internal.h). Clear slot idx's; it must have been set. */
static inline void rp__live_clear(rp__arena_t *a, size_t idx, const void *p) {
    if (RP_UNLIKELY(atomic_exchange_explicit(&a->live[idx], 0, memory_order_relaxed) != 1))
        rp__corrupt("pool: double free", p);
}
/* Set it: the slot is this thread's alone (from its cache or just taken under the shard lock). */
static inline void rp__live_set(rp__arena_t *a, size_t idx) {
    atomic_store_explicit(&a->live[idx], 1, memory_order_relaxed);
}

/* ---- shard lists (under the shard lock) ----------------------------------------------------------- */

static void rp__list_push(rp__arena_t **head, rp__arena_t *a) {
    a->prev = NULL;
    a->next = *head;
    if (*head) (*head)->prev = a;
    *head = a;
    a->listed = true;
}
static void rp__list_remove(rp__arena_t **head, rp__arena_t *a) {
    if (a->prev) a->prev->next = a->next;
    else *head = a->next;
    if (a->next) a->next->prev = a->prev;
    a->next = a->prev = NULL;
    a->listed = false;
}
static rp__arena_t **rp__list_of(rp__shard_t *sh, const rp__arena_t *a) {
    return a->kind == RP__ARENA_GUARDED ? &sh->gpartial[a->cls] : &sh->partial[a->cls];
}

/* Take one free slot out of a's free bitmap; a must have one. */
static size_t rp__take_free(rp__arena_t *a) {
    for (size_t w = 0;; w++) {
        uint64_t bits = a->freebits[w];
        if (bits != 0) {
            unsigned b = rp__ctz(bits);
            a->freebits[w] = bits & (bits - 1);
            a->nfree--;
            return w * 64u + b;
        }
    }
}

/* Take the first free slot of guarded arena a at or after its cursor, wrapping around (a has
 * one, and at most RP__GUARDED_SLOTS_MAX slots: one bitmap word). Next fit rather than lowest
 * first, so that a freed slot is not the very next one handed out: a double free after reuse is
 * then caught unless every other free slot of the arena was handed out in between. */
static size_t rp__take_next(rp__arena_t *a) {
    uint64_t bits = a->freebits[0], ahead = bits & (~(uint64_t)0 << a->cursor);
    unsigned b = rp__ctz(ahead != 0 ? ahead : bits);
    a->freebits[0] = bits & ~((uint64_t)1 << b);
    a->nfree--;
    a->cursor = (b + 1u) % a->slots;
    return b;
}

/* Put slot idx back into a's free bitmap. When a becomes empty it leaves its list and is either
 * kept as the class's spare or chained on *release (via next) for the caller to release after
 * unlocking. A guarded arena of a shared class is kept too: releasing it took a mapping, its
 * guards, lock and advice (about 40 system calls and the pool lock) for every guarded
 * allocation of a loop that frees what it allocates. */
static void rp__return_locked(rp__shard_t *sh, rp__arena_t *a, size_t idx, rp__arena_t **release) {
    a->freebits[idx >> 6] |= (uint64_t)1 << (idx & 63u);
    a->nfree++;
    rp__arena_t **list = rp__list_of(sh, a);
    if (!a->listed && a->nfree < a->slots) rp__list_push(list, a);
    if (a->nfree == a->slots) {
        if (a->listed) rp__list_remove(list, a);
        rp__arena_t **spare = a->kind == RP__ARENA_SMALL ? &sh->spare[a->cls]
                              : a->kind == RP__ARENA_GUARDED && a->cls < RP__GUARDED_CLASSES ? &sh->gspare[a->cls]
                                                                                             : NULL;
        if (spare != NULL && *spare == NULL) {
            *spare = a;
        } else {
            a->next = *release;
            *release = a;
        }
    }
}

static void rp__release_chain(rp_pool_t *pool, rp__arena_t *chain) {
    while (chain != NULL) {
        rp__arena_t *next = chain->next;
        rp__arena_release(pool, chain);
        chain = next;
    }
}

static void rp__tlarge_flush(rp_pool_t *pool, rp__tcache_t *tc);

/* Release shard sh's spare guarded arenas, and its spare small runs too when small; whether
 * there were any. */
static bool rp__spares_release(rp_pool_t *pool, rp__shard_t *sh, bool small) {
    rp__arena_t *release = NULL;
    rp__os_mutex_lock(&sh->lock);
    for (unsigned c = 0; small && c < RP__CLASSES; c++) {
        if (sh->spare[c] != NULL) {
            sh->spare[c]->next = release;
            release = sh->spare[c];
            sh->spare[c] = NULL;
        }
    }
    for (unsigned c = 0; c < RP__GUARDED_CLASSES; c++) {
        if (sh->gspare[c] != NULL) {
            sh->gspare[c]->next = release;
            release = sh->gspare[c];
            sh->gspare[c] = NULL;
        }
    }
    rp__os_mutex_unlock(&sh->lock);
    rp__release_chain(pool, release);
    return release != NULL;
}

/* Whether a large run of len bytes stays with the thread that frees it (rp__tlarge_free):
 * allocations of up to RP__TLARGE_MAX bytes, with their canary when the pool has one. */
static inline bool rp__tlarge_fits(const rp_pool_t *pool, size_t len) {
    return len <= RP__TLARGE_MAX + (pool->canary != 0 ? pool->page : 0);
}

bool rp__pool_give_back(rp_pool_t *pool) {
    bool any = false;
    for (size_t i = 0; i < sizeof rp__tls.way / sizeof rp__tls.way[0]; i++)
        if (rp__tls.way[i].id == pool->id && rp__tcache_flush_all(pool, rp__tls.way[i].tc)) any = true;
    for (unsigned s = 0; s < RP__SHARDS; s++)
        if (rp__spares_release(pool, &pool->shards[s], true)) any = true;
    if (rp__shards_give_back(pool)) any = true;
    return any;
}

/* After a failure to get memory (RP_ERR_LIMIT, RP_ERR_PERMISSION or RP_ERR_NOMEM): give back
 * what is held without need and say whether to try again. The thread's cached slots go too:
 * each pins its run, its run its region, and a region the lock budget (one freed 32-byte secret
 * kept a 100 KB one from a 128 KiB budget). */
static bool rp__give_back_held(rp_pool_t *pool) {
    rp_status_t st = rp_last_error()->status;
    if (st != RP_ERR_LIMIT && st != RP_ERR_PERMISSION && st != RP_ERR_NOMEM) return false;
    return rp__pool_give_back(pool);
}

/* ---- small slots: refill and flush --------------------------------------------------------------- */

/* An arena of shard sh with a free slot: the head of its list *partial, else its spare, which
 * joins the list; or NULL. Under sh's lock; for small runs (partial[cls], spare[cls]) and
 * guarded arenas of a shared class (gpartial[c], gspare[c]) alike. */
static rp__arena_t *rp__partial_take(rp__arena_t **partial, rp__arena_t **spare) {
    rp__arena_t *a = *partial;
    if (a == NULL && *spare != NULL) {
        a = *spare;
        *spare = NULL;
        rp__list_push(partial, a);
    }
    return a;
}

static rp__arena_t *rp__partial_of(rp__shard_t *sh, bool guarded, unsigned c) {
    return guarded ? rp__partial_take(&sh->gpartial[c], &sh->gspare[c]) : rp__partial_take(&sh->partial[c], &sh->spare[c]);
}

/* An arena of small class or guarded class c with a free slot on a shard other than shard's, that
 * shard left locked in *shp, or NULL. Only while the lock budget has no room for a new arena of
 * len bytes (one page, or one slot, and its guards): then other threads' runs and arenas with
 * room serve before new ones are made in their regions' pages (rp__run_create), and before an
 * allocation fails or goes unlocked. Call it with no lock held. */
static rp__arena_t *rp__partial_elsewhere(rp_pool_t *pool, unsigned shard, bool guarded, unsigned c, size_t len,
                                          rp__shard_t **shp) {
    if (!rp__budget_short(pool, len)) return NULL;
    for (unsigned k = 1; k < RP__SHARDS; k++) {
        rp__shard_t *sh = &pool->shards[(shard + k) % RP__SHARDS];
        rp__os_mutex_lock(&sh->lock);
        rp__arena_t *a = rp__partial_of(sh, guarded, c);
        if (a != NULL) {
            *shp = sh;
            return a;
        }
        rp__os_mutex_unlock(&sh->lock);
    }
    return NULL;
}

/* One free slot of class cls from the shard, plus up to half of b's capacity into b (b may be
 * NULL: no thread cache). NULL + rp_last_error() when no arena can be had. */
static void *rp__refill(rp_pool_t *pool, rp__bin_t *b, unsigned cls, unsigned shard, rp__arena_t **arena) {
    rp__shard_t *sh = &pool->shards[shard];
    rp__os_mutex_lock(&sh->lock);
    rp__arena_t *a = rp__partial_of(sh, false, cls);
    if (a == NULL) {
        rp__os_mutex_unlock(&sh->lock);
        size_t P = pool->page;
        a = rp__partial_elsewhere(pool, shard, false, cls, rp__align_up(rp__class_size(cls), P) + 2 * P, &sh);
    }
    if (a == NULL) {
        rp__arena_t *fresh = rp__run_create(pool, RP__ARENA_SMALL, cls, 0, shard);
        if (fresh == NULL && rp__give_back_held(pool)) fresh = rp__run_create(pool, RP__ARENA_SMALL, cls, 0, shard);
        if (fresh == NULL) return NULL;
        sh = &pool->shards[fresh->shard]; /* another shard's when the budget is short (run.c) */
        rp__os_mutex_lock(&sh->lock);
        rp__list_push(&sh->partial[cls], fresh);
        a = fresh;
    }
    size_t idx = rp__take_free(a);
    void *p = (void *)(a->first + idx * a->stride);
    if (b != NULL) {
        uint32_t want = b->cap / 2;
        while (b->count < want && a->nfree > 0) {
            idx = rp__take_free(a);
            b->slots[b->count++] = (rp__cached_t){(void *)(a->first + idx * a->stride), a};
        }
    }
    if (a->nfree == 0) rp__list_remove(&sh->partial[cls], a);
    rp__os_mutex_unlock(&sh->lock);
    *arena = a;
    return p;
}

void rp__bin_flush(rp_pool_t *pool, rp__tcache_t *tc, unsigned cls, uint32_t keep) {
    rp__bin_t *b = &tc->bins[cls];
    if (b->count <= keep) return;
    uint32_t n = b->count - keep;
    rp__arena_t *release = NULL;
    rp__shard_t *cur = NULL;
    for (uint32_t i = 0; i < n; i++) {
        void *p = b->slots[i].p;
        rp__arena_t *a = b->slots[i].a;
        rp__shard_t *sh = &pool->shards[a->shard];
        if (sh != cur) {
            if (cur) rp__os_mutex_unlock(&cur->lock);
            rp__os_mutex_lock(&sh->lock);
            cur = sh;
        }
        rp__return_locked(sh, a, ((uintptr_t)p - a->first) / a->stride, &release);
    }
    if (cur) rp__os_mutex_unlock(&cur->lock);
    memmove(b->slots, b->slots + n, keep * sizeof b->slots[0]);
    b->count = keep;
    rp__release_chain(pool, release);
}

/* Return one wiped small slot to its arena directly (no thread cache). */
static void rp__return_one(rp_pool_t *pool, rp__arena_t *a, size_t idx) {
    rp__shard_t *sh = &pool->shards[a->shard];
    rp__arena_t *release = NULL;
    rp__os_mutex_lock(&sh->lock);
    rp__return_locked(sh, a, idx, &release);
    rp__os_mutex_unlock(&sh->lock);
    rp__release_chain(pool, release);
}

/* The large runs tc holds (ring and ready) back to their regions. */
static void rp__tlarge_flush(rp_pool_t *pool, rp__tcache_t *tc) {
    for (unsigned i = 0; i < RP__TLARGE_RING; i++) {
        rp__arena_t *a = tc->lring[i];
        tc->lring[i] = NULL;
        if (a != NULL) rp__arena_release(pool, a);
    }
    for (unsigned i = 0; i < tc->lready_count; i++) rp__arena_release(pool, tc->lready[i]);
    tc->lready_count = 0;
    tc->lbytes = 0;
}

bool rp__tcache_flush_all(rp_pool_t *pool, rp__tcache_t *tc) {
    bool any = tc->lbytes != 0;
    rp__tlarge_flush(pool, tc);
    for (unsigned i = 0; i < RP_POOL_QUARANTINE; i++) {
        rp__cached_t c = tc->quarantine[i];
        tc->quarantine[i] = (rp__cached_t){NULL, NULL};
        if (c.p != NULL) {
            any = true;
            rp__return_one(pool, c.a, ((uintptr_t)c.p - c.a->first) / c.a->stride);
        }
    }
    for (unsigned c = 0; c < RP__CLASSES; c++) {
        if (tc->bins[c].count != 0) any = true;
        rp__bin_flush(pool, tc, c, 0);
    }
    return any;
}

/* ---- large and guarded allocations --------------------------------------------------------------- */

/* A large allocation: a run of its shard's regions up to RP__LARGE_RUN_MAX (no system call once
 * a region has room), a mapping of its own above (a cached one when there is: no system call
 * either). Its one slot is need rounded up to 16 bytes, the canary at its end: usable size, wipe
 * and canary cost the same as for a small slot. The run limit applies to the size asked for,
 * canary left out, so that a canary never moves an allocation onto a dearer path. */
static void *rp__alloc_large(rp_pool_t *pool, size_t need) {
    unsigned shard = rp__thread_shard();
    rp__arena_t *a = NULL;
    size_t stride = rp__align_up(need, 16);
    bool run = need - pool->canary <= RP__LARGE_RUN_MAX;
    bool ring = run && rp__tlarge_fits(pool, rp__align_up(stride, pool->page));
    if (ring) {
        /* A run with the same slot size this thread freed a while ago (past its ring): no lock,
         * no page-map or metadata work. The same slot size, so that nothing in the run's
         * metadata changes (rp_pool_stats reads it under the shard lock only). The newest such
         * run: the older ones are the first to give way (rp__tlarge_free). */
        rp__tcache_t *tc = rp__tcache_get(pool);
        for (uint32_t i = tc != NULL ? tc->lready_count : 0; i-- > 0;) {
            if (tc->lready[i]->stride != stride) continue;
            a = tc->lready[i];
            tc->lready_count--;
            memmove(&tc->lready[i], &tc->lready[i + 1], (tc->lready_count - i) * sizeof tc->lready[0]);
            tc->lbytes -= a->len;
            rp__asan_unpoison((void *)a->first, stride);
            break;
        }
    }
    if (a == NULL && !ring) {
        /* A mapping or a run that turns, freed before (by this thread, most likely: the run the
         * last pair wiped, still warm) */
        a = rp__lcache_get(pool, shard, stride);
        if (a != NULL) {
            rp__asan_unpoison((void *)a->first, a->stride);
            rp__vg_undefined((void *)a->first, a->stride);
        }
    }
    for (int attempt = 0; a == NULL && attempt < 2; attempt++) {
        a = run ? rp__run_create(pool, RP__ARENA_LARGE, 0, need, shard)
                : rp__arena_create(pool, RP__ARENA_LARGE, 0, need, 0, shard);
        if (a == NULL && (attempt == 1 || !rp__give_back_held(pool))) return NULL;
    }
    a->freebits[0] = 0; /* not yet reachable by any other thread */
    a->nfree = 0;
    void *p = (void *)a->first;
    rp__live_set(a, 0);
    if (pool->canary) rp__canary_put(pool, a->first + a->stride - pool->canary);
    return p;
}

static void *rp__alloc_guarded(rp_pool_t *pool, size_t size, size_t need) {
    size_t k = (need + pool->page - 1) / pool->page;
    unsigned shard = rp__thread_shard();
    rp__shard_t *sh = &pool->shards[shard];
    rp__arena_t *a;
    if (k <= RP__GUARDED_CLASSES) {
        rp__os_mutex_lock(&sh->lock);
        a = rp__partial_of(sh, true, (unsigned)(k - 1));
        if (a == NULL) {
            rp__os_mutex_unlock(&sh->lock);
            /* an arena of one slot: k data pages, its guard and the leading one */
            a = rp__partial_elsewhere(pool, shard, true, (unsigned)(k - 1), (k + 2) * pool->page, &sh);
        }
        if (a == NULL) {
            sh = &pool->shards[shard];
            rp__arena_t *fresh = rp__arena_create(pool, RP__ARENA_GUARDED, (unsigned)(k - 1), need, 0, shard);
            /* another class's spare may hold the budget */
            if (fresh == NULL && rp__give_back_held(pool))
                fresh = rp__arena_create(pool, RP__ARENA_GUARDED, (unsigned)(k - 1), need, 0, shard);
            if (fresh == NULL) return NULL;
            rp__os_mutex_lock(&sh->lock);
            rp__list_push(&sh->gpartial[k - 1], fresh);
            a = fresh;
        }
    } else {
        a = rp__arena_create(pool, RP__ARENA_GUARDED, RP__GUARDED_CLASSES, need, 0, shard);
        if (a == NULL && rp__give_back_held(pool)) a = rp__arena_create(pool, RP__ARENA_GUARDED, RP__GUARDED_CLASSES, need, 0, shard);
        if (a == NULL) return NULL;
        rp__os_mutex_lock(&sh->lock);
    }
    size_t idx = rp__take_next(a);
    if (a->nfree == 0 && a->listed) rp__list_remove(&sh->gpartial[a->cls], a);
    a->sizes[idx] = size;
    rp__os_mutex_unlock(&sh->lock);
    uintptr_t p = a->first + idx * a->stride + a->data - size;
    rp__asan_unpoison((void *)p, size);
    rp__live_set(a, idx);
    if (pool->canary) rp__canary_put(pool, p - pool->canary);
    return (void *)p;
}

/* A freed large run (wiped, live byte 0) into the thread's ring; the run the ring pushes out
 * waits for reuse by this thread. Ready runs are kept oldest first, and the oldest go back to
 * their regions to make room for it (too many runs, or too many bytes): a loop whose sizes
 * change keeps reusing the runs of its current sizes, where refusing the newest would leave
 * the ready list full of sizes no longer asked for. Only when the ring alone holds too many
 * bytes does the pushed-out run itself go back. */
static void rp__tlarge_free(rp_pool_t *pool, rp__tcache_t *tc, rp__arena_t *a) {
    rp__arena_t *out = tc->lring[tc->lpos];
    tc->lring[tc->lpos] = a;
    tc->lpos = (tc->lpos + 1u) % RP__TLARGE_RING;
    tc->lbytes += a->len;
    if (out == NULL) return;
    uint32_t drop = 0;
    while (drop < tc->lready_count &&
           (tc->lready_count - drop >= RP__TLARGE_READY || tc->lbytes > RP__TLARGE_BYTES)) {
        tc->lbytes -= tc->lready[drop]->len;
        rp__arena_release(pool, tc->lready[drop++]);
    }
    tc->lready_count -= drop;
    memmove(&tc->lready[0], &tc->lready[drop], tc->lready_count * sizeof tc->lready[0]);
    if (tc->lbytes <= RP__TLARGE_BYTES) {
        tc->lready[tc->lready_count++] = out;
        return;
    }
    tc->lbytes -= out->len;
    rp__arena_release(pool, out);
}

/* Free p in a large or guarded arena. want: the size a sized free claims, or 0. */
static RP__NOINLINE void rp__free_other(rp_pool_t *pool, rp__arena_t *a, void *p, size_t want) {
    size_t off = (uintptr_t)p - a->first;
    if (a->kind == RP__ARENA_LARGE) {
        /* A mapping reused from the large cache has its slot one turn further on: a stale free
         * of the address it had before lands here too. */
        if (off != 0)
            rp__corrupt("pool: free of a pointer that is not the start of a live large allocation (inside it, "
                        "or freed before and reused since)", p);
        if (want != 0 && !rp__large_fits(pool, a, want))
            rp__corrupt("pool: sized free with a size that does not match the allocation", p);
        rp__live_clear(a, 0, p);
        if (pool->canary) rp__canary_check(pool, a->first + a->stride - pool->canary, p);
        /* The bytes that may hold data (the slot: usable size and canary; of a mapping of its
         * own, only its pages that were touched), then it waits in its shard's quarantine
         * before its pages are reused or released (run.c). */
        if (a->region != NULL) {
            rp__asan_unpoison((void *)a->first, a->stride);
            rp_memzero((void *)a->first, a->stride);
            rp__vg_noaccess((void *)a->first, a->stride); /* free until handed out again */
            if (a->turns) {
                /* Reused one turn on, by the next allocation of its size (run.c). */
                rp__asan_poison((void *)a->first, a->stride);
                if (rp__lcache_put(pool, a)) return;
                rp__large_quarantine(pool, a);
                return;
            }
            rp__tcache_t *tc = rp__tlarge_fits(pool, a->len) ? rp__tcache_get(pool) : NULL;
            if (tc != NULL) {
                rp__tlarge_free(pool, tc, a);
                return;
            }
        } else {
            /* the slot's pages (it may start inside a page: its turn) */
            uintptr_t from = a->first & ~(uintptr_t)(pool->page - 1);
            rp__memzero_resident((void *)from, rp__align_up(a->first + a->stride, pool->page) - from);
            rp__asan_poison((void *)(a->base + pool->page), a->len - 2 * pool->page); /* free until reused */
            rp__vg_noaccess((void *)(a->base + pool->page), a->len - 2 * pool->page);
            if (rp__lcache_put(pool, a)) return;
        }
        rp__large_quarantine(pool, a);
        return;
    }
    rp__shard_t *sh = &pool->shards[a->shard];
    size_t idx = rp__slot_index(a, off);
    uintptr_t slot = a->first + idx * a->stride;
    /* Read-write again if rp_pool_protect changed it, before the canary check and the wipe
     * (outside the shard lock: a system call; the slot is the caller's). */
    if (off < a->span && idx < a->slots) rp__protect_restore_if(a, idx);
    rp__os_mutex_lock(&sh->lock);
    if (off >= a->span || idx >= a->slots) rp__corrupt("pool: free of a pointer the pool did not hand out", p);
    if (!rp__live(a, idx)) rp__corrupt("pool: double free", p);
    size_t size = a->sizes[idx];
    if ((uintptr_t)p != slot + a->data - size) rp__corrupt("pool: free of a pointer inside an allocation, not at its start", p);
    if (want != 0 && want != size) rp__corrupt("pool: sized free with a size that does not match the allocation", p);
    rp__live_clear(a, idx, p);
    if (pool->canary) rp__canary_check(pool, (uintptr_t)p - pool->canary, p);
    rp__asan_unpoison((void *)slot, a->data); /* the canary, for the wipe */
    rp_memzero((void *)slot, a->data);
    rp__asan_poison((void *)slot, a->data);
    rp__vg_noaccess((void *)slot, a->data);
    a->sizes[idx] = 0;
    rp__arena_t *release = NULL;
    rp__return_locked(sh, a, idx, &release);
    rp__os_mutex_unlock(&sh->lock);
    rp__release_chain(pool, release);
}

/* ---- the API --------------------------------------------------------------------------------------- */

/* rp_pool_options_t as first released (struct_size ... ctx); later fields go after. */
#define RP__POOL_OPTIONS_V1 (offsetof(rp_pool_options_t, ctx) + sizeof(void *))

/* rp_pool_create's work: the pool, or NULL with the thread's last error set. */
static rp_pool_t *rp__pool_new(const rp_pool_options_t *options) {
    /* an older caller's smaller struct leaves the later fields at their defaults */
    rp_pool_options_t cfg = rp_pool_options_default();
    if (options != NULL && rp__read_sized(options, RP__POOL_OPTIONS_V1, &cfg, sizeof cfg, "rp_pool_create") != RP_OK)
        return NULL;
    if (cfg.pages == NULL) cfg.pages = rp_pages_os();
    if (rp__pages_check(cfg.pages, "rp_pool_create") != RP_OK) return NULL;
    if ((unsigned)cfg.lock_policy > RP_POOL_LOCK_SILENT) {
        rp__fail(RP_ERR_INVALID, 0, "pool: unknown lock policy %u", (unsigned)cfg.lock_policy);
        return NULL;
    }
    if (cfg.flags & ~(unsigned)(RP_POOL_GUARDED | RP_POOL_CANARY)) {
        rp__fail(RP_ERR_INVALID, 0, "pool: unknown flags 0x%x", cfg.flags);
        return NULL;
    }
    const size_t P = rp__os_page_size();
    if (cfg.arena_size == 0) cfg.arena_size = RP_POOL_ARENA_SIZE;
    if (cfg.arena_size > RP__ARENA_SIZE_MAX) {
        rp__fail(RP_ERR_INVALID, 0, "pool: arena_size %zu is above the most, %u bytes", cfg.arena_size,
                 (unsigned)RP__ARENA_SIZE_MAX);
        return NULL;
    }
    cfg.arena_size = rp__align_up(cfg.arena_size, P);
    if (cfg.arena_size < RP_POOL_MAX_SMALL) cfg.arena_size = rp__align_up(RP_POOL_MAX_SMALL, P);

    size_t len = rp__align_up(sizeof(rp_pool_t), P);
    void *mem = NULL;
    int err = rp__os_alloc(len, &mem);
    if (err != 0) {
        rp__fail_os(err, "pool: %zu bytes for the pool's own state", len);
        return NULL;
    }
    rp_pool_t *pool = mem;
    memset(pool, 0, sizeof *pool);
    pool->cfg = cfg;
    pool->page = P;
    pool->canary = (cfg.flags & RP_POOL_CANARY) ? RP_POOL_CANARY_SIZE : 0;
    pool->guarded = (cfg.flags & RP_POOL_GUARDED) != 0;
    /* a small run's slots, or a region's pages */
    pool->max_slots = (uint32_t)(cfg.arena_size / 16u);
    if (pool->max_slots < RP__REGION_MAX / P) pool->max_slots = (uint32_t)(RP__REGION_MAX / P);
    size_t words = (pool->max_slots + 63u) / 64u;
    pool->meta_size = rp__align_up(rp__align_up(sizeof(rp__arena_t), RP__CACHELINE) + words * sizeof(uint64_t) +
                                       RP__GUARDED_SLOTS_MAX * sizeof(size_t) + pool->max_slots,
                                   RP__CACHELINE);
    pool->tcache_size = rp__align_up(rp__tcache_bytes(), P);
    rp__os_mutex_t init = RP__OS_MUTEX_INIT;
    pool->lock = init;
    for (unsigned i = 0; i < RP__SHARDS; i++) pool->shards[i].lock = init;
    err = rp__os_random(&pool->canary_key, sizeof pool->canary_key);
    if (err != 0) {
        rp__fail_os(err, "pool: reading the canary key from the OS random source");
        rp__os_release(mem, len);
        return NULL;
    }
    if (rp__registry_add(pool) != RP_OK) {
        rp__os_release(mem, len);
        return NULL;
    }
    rp__annotate_init(); /* before the first slot: Valgrind must see every one */
    return pool;
}

rp_status_t rp_pool_create(const rp_pool_options_t *options, rp_pool_t **out) {
    if (out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_pool_create: out is NULL");
    *out = rp__pool_new(options);
    return *out != NULL ? RP_OK : rp_last_error()->status;
}

void rp_pool_destroy(rp_pool_t *pool) {
    if (pool == NULL) return;
    int saved = rp__os_last_error();
    rp__registry_lock();
    /* Checked before the handle is read: a destroyed pool's pages are gone. */
    if (!rp__registry_remove_locked(pool))
        rp__corrupt("pool: destroy of a pool that does not exist (destroyed twice?)", pool);
    rp__vg_destroy(pool); /* Valgrind: every slot of the pool is gone */
    for (size_t i = 0; i < sizeof rp__tls.way / sizeof rp__tls.way[0]; i++)
        if (rp__tls.way[i].id == pool->id) rp__tls.way[i].id = 0;
    /* Runs first out of the page map (their metadata goes with the chunks below), then every
     * mapping, regions included, is wiped and released. */
    for (unsigned s = 0; s < RP__SHARDS; s++)
        for (rp__arena_t *a = pool->shards[s].runs; a != NULL; a = a->all_next) rp__pagemap_set(a->base, a->len, NULL);
    while (pool->arenas != NULL) rp__arena_release(pool, pool->arenas);
    rp__tcache_t *lists[2] = {pool->tcaches, pool->tcache_free};
    for (int l = 0; l < 2; l++) {
        for (rp__tcache_t *tc = lists[l]; tc != NULL;) {
            rp__tcache_t *next = tc->next;
            rp__os_release(tc, pool->tcache_size);
            tc = next;
        }
    }
    for (rp__meta_chunk_t *c = pool->meta_chunks; c != NULL;) {
        rp__meta_chunk_t *next = c->next;
        rp__os_release(c, c->len);
        c = next;
    }
    rp__os_release(pool, rp__align_up(sizeof(rp_pool_t), pool->page));
    rp__registry_unlock();
    rp__os_set_last_error(saved);
}

/* NULL + error: pool was created before a fork of which this process is the child. */
static void *rp__alloc_inherited(void) {
    rp__fail(RP_ERR_INVALID, 0,
             "pool: allocation in a fork child from a pool created before the fork (its arenas are "
             "neither locked nor guarded here); create a new pool in the child");
    return NULL;
}

static RP__NOINLINE void *rp__alloc_slow(rp_pool_t *pool, size_t size) {
    if (pool == NULL) {
        rp__fail(RP_ERR_INVALID, 0, "pool: allocation from a NULL pool");
        return NULL;
    }
    if (RP_UNLIKELY(rp__pool_inherited(pool))) return rp__alloc_inherited();
    if (size == 0) {
        rp__fail(RP_ERR_INVALID, 0, "pool: allocation of 0 bytes");
        return NULL;
    }
    size_t need;
    if (size > (SIZE_MAX >> 1) || rp__add_overflows(size, pool->canary, &need)) {
        rp__fail(RP_ERR_NOMEM, 0, "pool: an allocation of %zu bytes is too large", size);
        return NULL;
    }
    if (pool->guarded) return rp__alloc_guarded(pool, size, need);
    return rp__alloc_large(pool, need);
}

/* Hand out small slot p of arena a: mark it live, write its canary. */
static inline void *rp__hand_out(rp_pool_t *pool, rp__arena_t *a, void *p) {
    rp__asan_unpoison(p, a->stride - pool->canary); /* the usable size; the canary stays poisoned */
    rp__live_set(a, (size_t)((((uintptr_t)p - a->first) * a->magic) >> 40));
    if (pool->canary) rp__canary_put(pool, (uintptr_t)p + a->stride - pool->canary);
    return p;
}

/* The thread's bin is empty, or there is no thread cache. */
static RP__NOINLINE void *rp__alloc_refill(rp_pool_t *pool, rp__tcache_t *tc, unsigned cls) {
    if (RP_UNLIKELY(rp__pool_inherited(pool))) return rp__alloc_inherited(); /* tc is NULL then */
    rp__arena_t *a = NULL;
    void *p = tc ? rp__refill(pool, &tc->bins[cls], cls, tc->shard, &a) : rp__refill(pool, NULL, cls, 0, &a);
    return p ? rp__hand_out(pool, a, p) : NULL;
}

static size_t rp__usable(rp_pool_t *pool, const void *p);

/* Under Valgrind (core/annotate.h): slot p goes out for size bytes, zeroed; the slot's rest
 * (slack, canary) stays no-access. */
static inline void *rp__alloc_impl(rp_pool_t *pool, size_t size);

static RP__NOINLINE void *rp__vg_handed_out(rp_pool_t *pool, void *p, size_t size) {
    rp__arena_t *a = rp__pagemap_get((uintptr_t)p);
    if (a->kind == RP__ARENA_SMALL && (uintptr_t)p == a->first && a->slots > 1) {
        /* Under Valgrind the first slot of a small arena stays rampart's (live, never used, no
         * access): the arena's descriptor points at it (a->first), so memcheck's leak search
         * would call it reachable when the program loses it. */
        p = rp__alloc_impl(pool, size);
        if (p == NULL) return NULL;
    }
    rp__vg_alloc(pool, p, size, rp__usable(pool, p), true);
    /* The thread bin's entries past its count are stale copies of slots handed out, which
     * memcheck's leak search would take for references (and call a lost slot reachable):
     * undefined words are not references to it, and the bin writes an entry before it reads it. */
    rp__tcache_t *tc = rp__tcache_get(pool);
    if (tc != NULL && !pool->guarded && size - 1 < RP_POOL_MAX_SMALL - pool->canary) {
        rp__bin_t *b = &tc->bins[rp__class_of(size + pool->canary)];
        if (b->slots != NULL && b->cap > b->count)
            rp__vg_undefined(&b->slots[b->count], (b->cap - b->count) * sizeof b->slots[0]);
    }
    return p;
}

/* Under Valgrind: p leaves the program (an invalid free is memcheck's to report), and its slot
 * is rampart's to check and wipe until rp__free_impl closes it. */
static RP__NOINLINE void rp__vg_release(rp_pool_t *pool, void *p) {
    rp__vg_free(p);
    rp__arena_t *a = rp__pagemap_get((uintptr_t)p);
    if (a == NULL || a->pool != pool || (uintptr_t)p - a->first >= a->span) return; /* reported there */
    uintptr_t slot = a->first + rp__slot_index(a, (uintptr_t)p - a->first) * a->stride;
    size_t n = a->kind == RP__ARENA_GUARDED ? a->data : a->stride;
    if (a->kind == RP__ARENA_LARGE) {
        /* Its free wipes the whole pages the slot starts and ends in (a cached large arena's
         * turn starts the slot inside a page), bytes the free before closed. */
        uintptr_t from = slot & ~(uintptr_t)(pool->page - 1);
        n = rp__align_up(slot + n, pool->page) - from;
        slot = from;
    }
    rp__vg_undefined((void *)slot, n);
}

static RP__NOINLINE void *rp__vg_alloc_path(rp_pool_t *pool, size_t size) {
    void *p = rp__alloc_impl(pool, size);
    return p != NULL ? rp__vg_handed_out(pool, p, size) : NULL;
}

#if defined(RP__ASAN)
/* ASan: the bytes of a small or large slot past the size asked for (before its canary) are a
 * redzone until the program asks for the usable size (rp_pool_usable_size) or reallocates in
 * place. Guarded allocations end at their guard page: no tail. */
static void rp__asan_tail(rp_pool_t *pool, void *p, size_t size) {
    if (p == NULL) return;
    rp__arena_t *a = rp__pagemap_get((uintptr_t)p);
    if (a == NULL || a->kind == RP__ARENA_GUARDED) return;
    size_t usable = a->stride - pool->canary;
    rp__asan_unpoison(p, size);
    if (usable > size) rp__asan_poison((uint8_t *)p + size, usable - size);
}
#else
static inline void rp__asan_tail(rp_pool_t *pool, void *p, size_t size) {
    (void)pool;
    (void)p;
    (void)size;
}
#endif

void *rp_pool_alloc(rp_pool_t *pool, size_t size) {
    if (RP_UNLIKELY(rp__vg_on())) return rp__vg_alloc_path(pool, size);
    void *p = rp__alloc_impl(pool, size);
    rp__asan_tail(pool, p, size);
    return p;
}

static inline void *rp__alloc_impl(rp_pool_t *pool, size_t size) {
    if (RP_LIKELY(pool != NULL && size - 1 < RP_POOL_MAX_SMALL - pool->canary && !pool->guarded)) {
        unsigned cls = rp__class_of(size + pool->canary);
        rp__tcache_t *tc = rp__tcache_get(pool);
        if (RP_LIKELY(tc != NULL)) {
            rp__bin_t *b = &tc->bins[cls];
            if (RP_LIKELY(b->count != 0)) {
                rp__cached_t c = b->slots[--b->count];
                return rp__hand_out(pool, c.a, c.p);
            }
        }
        return rp__alloc_refill(pool, tc, cls);
    }
    return rp__alloc_slow(pool, size);
}

void *rp_pool_zalloc(rp_pool_t *pool, size_t count, size_t size) {
    size_t total;
    if (rp__mul_overflows(count, size, &total)) {
        rp__fail(RP_ERR_NOMEM, 0, "pool: zalloc of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    /* Free slots are all zeros (wiped on free, or fresh pages), so no memset is needed. */
    return rp_pool_alloc(pool, total);
}

/* A wiped small slot whose thread bin is full (flush half of it first), or with no thread cache
 * (straight back to its arena). Leaves errno alone. */
static RP__NOINLINE void rp__free_slow(rp_pool_t *pool, rp__tcache_t *tc, rp__arena_t *a, void *p, size_t idx) {
    int saved = rp__os_last_error();
    if (tc != NULL) {
        rp__bin_t *b = &tc->bins[a->cls];
        rp__bin_flush(pool, tc, a->cls, b->cap / 2);
        b->slots[b->count++] = (rp__cached_t){p, a};
    } else {
        rp__return_one(pool, a, idx);
    }
    rp__os_set_last_error(saved);
}

/* Free p; want is the size a sized free claims (0: plain free); vg: under Valgrind. */
static inline void rp__free_impl(rp_pool_t *pool, void *p, size_t want, bool vg) {
    rp__arena_t *a = rp__lookup(pool, p);
    if (RP_LIKELY(a->kind == RP__ARENA_SMALL)) {
        size_t off = (uintptr_t)p - a->first;
        size_t idx = (size_t)((off * a->magic) >> 40); /* small arenas: offsets below 2^24 */
        if (RP_UNLIKELY(off >= a->span || idx * a->stride != off))
            rp__corrupt("pool: free of a pointer inside a slot, not at its start", p);
        if (want != 0 && !rp__small_fits(pool, a, want))
            rp__corrupt("pool: sized free with a size that does not match the allocation", p);
        rp__live_clear(a, idx, p);
        if (pool->canary) rp__canary_check(pool, (uintptr_t)p + a->stride - pool->canary, p);
        rp__asan_unpoison(p, a->stride); /* the tail redzone (rp__asan_tail), for the wipe */
        rp__wipe(p, a->stride);
        rp__asan_poison(p, a->stride); /* free until rp__hand_out */
        if (vg) rp__vg_noaccess(p, a->stride);
        rp__tcache_t *tc = rp__tcache_get(pool);
        if (RP_LIKELY(tc != NULL)) {
            /* Into the quarantine ring; what it pushes out (or nothing) goes on its bin. */
            rp__cached_t *q = &tc->quarantine[tc->qpos];
            tc->qpos = (tc->qpos + 1u) & (RP_POOL_QUARANTINE - 1u);
            rp__cached_t out = *q;
            *q = (rp__cached_t){p, a};
            if (out.p == NULL) return;
            p = out.p;
            a = out.a;
            rp__bin_t *b = &tc->bins[a->cls];
            if (RP_LIKELY(b->count < b->cap)) {
                b->slots[b->count++] = (rp__cached_t){p, a};
                return;
            }
        }
        rp__free_slow(pool, tc, a, p, idx);
        return;
    }
    int saved = rp__os_last_error();
    rp__free_other(pool, a, p, want);
    rp__os_set_last_error(saved);
}

void rp_pool_free(rp_pool_t *pool, void *p) {
    if (p == NULL) return;
    if (RP_UNLIKELY(pool == NULL)) rp__corrupt("pool: free into a NULL pool", p);
    if (RP_UNLIKELY(rp__vg_on())) {
        rp__vg_release(pool, p);
        rp__free_impl(pool, p, 0, true);
        return;
    }
    rp__free_impl(pool, p, 0, false);
}

void rp_pool_free_sized(rp_pool_t *pool, void *p, size_t size) {
    if (p == NULL) return;
    if (RP_UNLIKELY(pool == NULL)) rp__corrupt("pool: free into a NULL pool", p);
    if (RP_UNLIKELY(size == 0)) rp__corrupt("pool: sized free with a size that does not match the allocation", p);
    if (RP_UNLIKELY(rp__vg_on())) {
        rp__vg_release(pool, p);
        rp__free_impl(pool, p, size, true);
        return;
    }
    rp__free_impl(pool, p, size, false);
}

size_t rp_pool_usable_size(rp_pool_t *pool, const void *p) {
    size_t n = rp__usable(pool, p);
    if (RP__ASAN_ON && n != 0) rp__asan_unpoison(p, n); /* the caller may use all of it now */
    /* Under Valgrind, as with Valgrind's malloc_usable_size: only the bytes asked for. */
    return rp__vg_on() && n != 0 ? rp__vg_size_get(p, n) : n;
}

static size_t rp__usable(rp_pool_t *pool, const void *p) {
    rp__arena_t *a = (pool && p) ? rp__pagemap_get((uintptr_t)p) : NULL;
    size_t n = 0;
    if (a != NULL && a->pool == pool) {
        size_t off = (uintptr_t)p - a->first, idx = rp__slot_index(a, off);
        if (off < a->span && idx < a->slots) {
            if (a->kind == RP__ARENA_GUARDED) {
                rp__shard_t *sh = &pool->shards[a->shard % RP__SHARDS];
                rp__os_mutex_lock(&sh->lock);
                if (rp__live(a, idx) && (uintptr_t)p == a->first + idx * a->stride + a->data - a->sizes[idx])
                    n = a->sizes[idx];
                rp__os_mutex_unlock(&sh->lock);
            } else if (idx * a->stride == off && rp__live(a, idx)) {
                n = a->stride - pool->canary;
            }
        }
    }
    if (n == 0) rp__fail(RP_ERR_NOT_OWNED, 0, "pool: %p is not a live allocation of this pool", p);
    return n;
}

bool rp_pool_owns(rp_pool_t *pool, const void *p) {
    rp__arena_t *a = (pool && p) ? rp__pagemap_get((uintptr_t)p) : NULL;
    if (a == NULL || a->pool != pool) return false;
    size_t off = (uintptr_t)p - a->first, stride = *(const volatile size_t *)&a->stride;
    if (off >= a->span || stride == 0) return false; /* stride 0: being recycled (rp__slot_index) */
    return a->kind != RP__ARENA_GUARDED || off % stride < a->data;
}

void *rp_pool_realloc(rp_pool_t *pool, void *p, size_t size) {
    if (p == NULL) return rp_pool_alloc(pool, size);
    if (size == 0) {
        rp_pool_free(pool, p);
        return NULL;
    }
    rp__arena_t *a = rp__lookup(pool, p);
    size_t old = rp_pool_usable_size(pool, p);
    if (old == 0) rp__corrupt("pool: realloc of a pointer that is not a live allocation", p);
    /* In place only when the new size maps to the slot p already has (guarded: the exact size,
     * the only one whose end stays against the guard), so that a sized free with the new size
     * matches, as it would after a move. */
    bool same = a->kind == RP__ARENA_SMALL   ? rp__small_fits(pool, a, size)
                : a->kind == RP__ARENA_LARGE ? rp__large_fits(pool, a, size)
                                             : size == old;
    if (same) {
        rp__vg_resize(pool, p, old, size); /* the tools learn the new size */
        rp__asan_tail(pool, p, size);
        return p;
    }
    void *q = rp_pool_alloc(pool, size);
    if (q == NULL) return NULL;
    /* A guarded slot may be protected (rp_pool_protect): readable again before the copy. */
    if (a->kind == RP__ARENA_GUARDED) rp__protect_restore_if(a, rp__slot_index(a, (uintptr_t)p - a->first));
    memcpy(q, p, old < size ? old : size);
    rp_pool_free(pool, p);
    return q;
}

void rp_pool_trim(rp_pool_t *pool) {
    if (pool == NULL) return;
    int saved = rp__os_last_error();
    rp__pool_give_back(pool);
    rp__os_set_last_error(saved);
}

/* ---- the process-wide default pool ------------------------------------------------------------- */

static _Atomic(rp_pool_t *) rp__default_pool;
static rp__os_mutex_t rp__default_lock = RP__OS_MUTEX_INIT;

/* A fork child replaces the default pool it inherited (which hands out nothing there) with a
 * fresh one; rp_secret_free still returns the inherited pool's pointers to it. */
rp_pool_t *rp_secret_pool(void) {
    rp_pool_t *pool = atomic_load_explicit(&rp__default_pool, memory_order_acquire);
    if (RP_LIKELY(pool != NULL && !rp__pool_inherited(pool))) return pool;
    rp__os_mutex_lock(&rp__default_lock);
    pool = atomic_load_explicit(&rp__default_pool, memory_order_relaxed);
    if (pool == NULL || rp__pool_inherited(pool)) {
        rp_pool_options_t cfg = rp_pool_options_default();
        /* Secure: a set-user-ID program must not let its caller downgrade it to unlocked memory.
         * A malformed value fails the default pool (NULL, RP_ERR_INVALID naming it). */
        static const char *const policies[] = {"required", "report", "silent"};
        size_t policy = RP_POOL_LOCK_REQUIRED;
        bool show = false;
        pool = NULL;
        if (rp__env_word("RAMPART_POOL_LOCK", true, policies, 3, &policy) == RP_OK && rp__pool_show_env(&show) == RP_OK) {
            cfg.lock_policy = (rp_pool_lock_policy_t)policy;
            pool = rp__pool_new(&cfg);
        }
        if (pool != NULL) {
            pool->is_default = true;
            atomic_store_explicit(&rp__default_pool, pool, memory_order_release);
            if (show) rp__pool_show_at_exit(pool);
        }
    }
    rp__os_mutex_unlock(&rp__default_lock);
    return pool;
}

void *rp_secret_alloc(size_t size) {
    rp_pool_t *pool = rp_secret_pool();
    return pool ? rp_pool_alloc(pool, size) : NULL;
}

void rp_secret_free(void *p) {
    if (p == NULL) return;
    rp_pool_t *pool = atomic_load_explicit(&rp__default_pool, memory_order_acquire);
    if (pool == NULL) rp__corrupt("pool: rp_secret_free of a pointer the default pool did not hand out", p);
    if (RP_UNLIKELY(atomic_load_explicit(&rp__fork_epoch, memory_order_relaxed) != 0)) {
        rp__arena_t *a = rp__pagemap_get((uintptr_t)p); /* from a default pool inherited through fork? */
        if (a != NULL && a->pool != NULL && a->pool != pool && a->pool->is_default) pool = a->pool;
    }
    rp_pool_free(pool, p);
}
