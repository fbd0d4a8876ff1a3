/* SPDX-License-Identifier: MIT */
/* pool/run.c — runs: arenas made of whole pages of a shared region, so that every size class
 * and every large allocation up to RP__LARGE_RUN_MAX shares the lock budget and no system call
 * runs on the steady-state path.
 *
 *   create:   under the shard lock, find n free pages in one of the shard's regions (small
 *             runs: first fit, to pack; large runs: next fit from the region's cursor, so freed
 *             pages come back last) -> a metadata block -> published in the page map. When no
 *             region has room: a new region (arena.c: mapped, guarded, locked, advised) sized
 *             by the pool's growth rule and clamped to the lock budget. Pages held by quarantined
 *             large runs come back only when that fails (pool.c retries after rp__pool_give_back),
 *             so that a freed run's pages are not the next ones handed out.
 *   release:  out of the page map -> pages back into the region's bitmap (they are zero: every
 *             slot was wiped on free) -> a region left empty is kept as the shard's spare, or
 *             released when the shard has one already.
 *
 * A freed large allocation (a run, or a mapping of its own) is not released at once: wiped, it
 * waits in its shard's quarantine (up to RP__LARGE_QUARANTINE of them and
 * RP__LARGE_QUARANTINE_BYTES, but always the newest), still in the page map with its live byte
 * clear, so a second free of it is reported; its pages cannot be handed to anybody else (nor its
 * address be mapped again) meanwhile. docs/pool.md states the window that remains.
 *
 * A freed large mapping (above RP__LARGE_RUN_MAX) goes to its shard's large cache instead when
 * the cache's bounds allow (pool_internal.h: RP__LCACHE...): wiped, still locked, guarded,
 * advised and in the page map with its live byte clear, so a second free of it is reported
 * there too. Reused, its slot starts RP__LARGE_TURN bytes further on (into its spare page), so
 * the freed address is not handed out again and a stale free of it is refused as not the start
 * of the allocation. It keeps its lock-budget reservation while cached: an allocation that would
 * pass the budget gives the cache back first (arena.c), as do rp_pool_trim and destroy, and a
 * mapping left unused for RP__LCACHE_AGE large operations of its shard is released.
 *
 * A large run above RP__TLARGE_MAX (rp__run_turns) has a spare page too and goes to the same
 * cache, the freeing thread's shard's, where that thread's next allocation of the size finds it
 * (the pages it just wiped, still warm, as malloc's free list would give them back) one turn
 * further on. It stays in its region, whose shard alone releases it; one that leaves the cache
 * other than by a trim (aged out, or pushed out by newer ones) goes to the quarantine, as it did
 * when freed before the cache took runs, so its window is no shorter than it was.
 *
 * Everything here runs under the lock of the run's shard; the region and its page bitmap belong
 * to that shard alone. A run is its region's shard's: where the lock budget leaves no room for a
 * region of the calling thread's shard, its run is made in another shard's region, under that
 * shard's lock, and belongs to that shard (rp__find_pages_elsewhere).
 */
#include <string.h>

#include "pool/pool_internal.h"

static inline unsigned rp__ctz64(uint64_t x) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    for (; !(x & 1); x >>= 1) n++;
    return n;
#endif
}

/* The first index >= from of n consecutive set bits among the nbits of w (bits at nbits and
 * above are clear), or SIZE_MAX. Skips whole words of clear or set bits at a time. */
static size_t rp__bits_find(const uint64_t *w, size_t nbits, size_t n, size_t from) {
    size_t i = from;
    while (i < nbits && nbits - i >= n) {
        uint64_t word = w[i >> 6] & (~(uint64_t)0 << (i & 63u));
        while (word == 0) {
            i = (i | 63u) + 1u;
            if (i >= nbits) return SIZE_MAX;
            word = w[i >> 6];
        }
        i = (i & ~(size_t)63) + rp__ctz64(word);
        size_t j = i;
        for (;;) {
            uint64_t clear = ~w[j >> 6] & (~(uint64_t)0 << (j & 63u));
            if (clear != 0) {
                j = (j & ~(size_t)63) + rp__ctz64(clear);
                break;
            }
            j = (j | 63u) + 1u;
            if (j >= nbits) break;
        }
        if (j > nbits) j = nbits;
        if (j - i >= n) return i;
        i = j;
    }
    return SIZE_MAX;
}

static void rp__bits_clear(uint64_t *w, size_t at, size_t n) {
    for (size_t i = at; i < at + n; i++) w[i >> 6] &= ~((uint64_t)1 << (i & 63u));
}
static void rp__bits_set(uint64_t *w, size_t at, size_t n) {
    for (size_t i = at; i < at + n; i++) w[i >> 6] |= (uint64_t)1 << (i & 63u);
}

/* n free pages of region r, taken; the index of the first, or SIZE_MAX. */
static size_t rp__region_take(rp__arena_t *r, size_t n, bool next_fit) {
    if (r->nfree < n) return SIZE_MAX;
    size_t at = SIZE_MAX;
    if (next_fit) at = rp__bits_find(r->freebits, r->slots, n, r->cursor);
    if (at == SIZE_MAX) at = rp__bits_find(r->freebits, r->slots, n, 0);
    if (at == SIZE_MAX) return SIZE_MAX;
    rp__bits_clear(r->freebits, at, n);
    r->nfree -= (uint32_t)n;
    if (next_fit) r->cursor = (uint32_t)((at + n) % r->slots);
    return at;
}

/* A run of n pages from the shard's regions, under its lock: (region, first page) or NULL.
 * Locked regions first: under RP_POOL_LOCK_REPORT or SILENT a region made while the budget was
 * spent stays unlocked, and its room must not be taken while locked room is free again (16 of
 * 20 secrets went to such a region beside 128 KiB of empty locked ones). */
static rp__arena_t *rp__find_pages(rp__shard_t *sh, size_t n, bool next_fit, size_t *at) {
    for (int want_locked = 1; want_locked >= 0; want_locked--) {
        for (rp__arena_t *r = sh->regions; r != NULL; r = r->next) {
            if (r->locked != (want_locked == 1)) continue;
            size_t i = rp__region_take(r, n, next_fit);
            if (i != SIZE_MAX) {
                if (sh->spare_region == r) sh->spare_region = NULL;
                *at = i;
                return r;
            }
        }
    }
    return NULL;
}

/* n pages from the regions of a shard other than shard's, when the lock budget is too short for
 * a region of its own (rp__budget_short): the shard whose region had them, left locked (the run
 * is that shard's, as its region is), or RP__SHARDS. Call it with no lock held. */
static unsigned rp__find_pages_elsewhere(rp_pool_t *pool, unsigned shard, size_t n, bool next_fit,
                                         rp__arena_t **r, size_t *at) {
    for (unsigned k = 1; k < RP__SHARDS; k++) {
        unsigned s = (shard + k) % RP__SHARDS;
        rp__shard_t *other = &pool->shards[s];
        rp__os_mutex_lock(&other->lock);
        *r = rp__find_pages(other, n, next_fit, at);
        if (*r != NULL) return s;
        rp__os_mutex_unlock(&other->lock);
    }
    return RP__SHARDS;
}

static void rp__quarantine_drain(rp_pool_t *pool, rp__shard_t *sh, size_t keep_bytes, uint32_t keep_runs,
                                 rp__arena_t **release);

/* Another shard's spare region of at least pages pages, moved to shard (no lock held): whether
 * there was one. A thread's first large run on a shard of its own (threads take the shards in
 * turn) would otherwise map, lock and fault in a region while others lie empty. An empty region
 * holds no run, so nothing refers to its shard; one shard lock at a time. */
static bool rp__region_adopt(rp_pool_t *pool, unsigned shard, size_t pages) {
    rp__arena_t *r = NULL;
    for (unsigned k = 1; r == NULL && k < RP__SHARDS; k++) {
        rp__shard_t *other = &pool->shards[(shard + k) % RP__SHARDS];
        rp__os_mutex_lock(&other->lock);
        rp__arena_t *spare = other->spare_region;
        if (spare != NULL && spare->nfree == spare->slots && spare->slots >= pages) {
            if (spare->prev) spare->prev->next = spare->next;
            else other->regions = spare->next;
            if (spare->next) spare->next->prev = spare->prev;
            other->spare_region = NULL;
            r = spare;
        }
        rp__os_mutex_unlock(&other->lock);
    }
    if (r == NULL) return false;
    rp__shard_t *sh = &pool->shards[shard];
    rp__os_mutex_lock(&sh->lock);
    r->shard = (uint8_t)shard;
    r->prev = NULL;
    r->next = sh->regions;
    if (sh->regions) sh->regions->prev = r;
    sh->regions = r;
    if (sh->spare_region == NULL) sh->spare_region = r; /* still empty: the shard's spare now */
    rp__os_mutex_unlock(&sh->lock);
    return true;
}

/* A large allocation leaves the quarantine: a run's pages go back to its region; a mapping is
 * chained on *release (via next) for the caller to release after unlocking. */
static void rp__quarantine_out(rp_pool_t *pool, rp__shard_t *sh, rp__arena_t *a, rp__arena_t **release) {
    if (a->region != NULL) {
        rp__run_release_locked(pool, sh, a, release);
    } else {
        a->next = *release;
        *release = a;
    }
}

rp__arena_t *rp__run_create(rp_pool_t *pool, rp__arena_kind_t kind, unsigned cls, size_t need, unsigned shard) {
    const size_t P = pool->page;
    rp__shard_t *sh = &pool->shards[shard];
    size_t stride, bytes, least;
    if (kind == RP__ARENA_SMALL) {
        /* One page (or the pages of one slot) for the class's first two runs in the shard, twice
         * as many for every two further live runs, up to arena_size: a class that is used little
         * costs little of the lock budget, one used much gets runs as large as before. */
        stride = rp__class_size(cls);
        least = rp__align_up(stride, P);
        rp__os_mutex_lock(&sh->lock);
        unsigned grow = sh->nruns[cls] / 2u < 16 ? sh->nruns[cls] / 2u : 16;
        rp__os_mutex_unlock(&sh->lock);
        bytes = P << grow;
        if (bytes > pool->cfg.arena_size) bytes = pool->cfg.arena_size;
        if (bytes < least) bytes = least;
    } else {
        stride = rp__align_up(need, 16);
        bytes = least = rp__align_up(stride, P) + (rp__run_turns(stride, P, pool->canary) ? P : 0);
    }

    /* A metadata block from the shard's own free list (no pool-wide lock on this path). */
    rp__os_mutex_lock(&sh->lock);
    rp__arena_t *a = sh->meta_free;
    if (a != NULL) {
        sh->meta_free = a->next;
    } else {
        rp__os_mutex_unlock(&sh->lock);
        if ((a = rp__meta_get(pool)) == NULL) return NULL;
        rp__os_mutex_lock(&sh->lock);
    }
    rp__arena_t *r = NULL;
    size_t at = 0;
    bool looked_elsewhere = false;
    for (;;) {
        r = rp__find_pages(sh, bytes / P, kind == RP__ARENA_LARGE, &at);
        if (r == NULL && bytes > least) {
            bytes = least; /* a short region: the smallest run that serves */
            r = rp__find_pages(sh, bytes / P, kind == RP__ARENA_LARGE, &at);
        }
        if (r != NULL) break;
        rp__os_mutex_unlock(&sh->lock);
        if (rp__region_adopt(pool, shard, bytes / P)) {
            rp__os_mutex_lock(&sh->lock);
            continue;
        }
        /* No room for a region of its own: the smallest run that serves, from another shard's
         * region, becomes that shard's run (once: a region made meanwhile is found above). */
        if (!looked_elsewhere && rp__budget_short(pool, least + 2 * P)) {
            looked_elsewhere = true;
            unsigned other = rp__find_pages_elsewhere(pool, shard, least / P, kind == RP__ARENA_LARGE, &r, &at);
            if (other < RP__SHARDS) {
                bytes = least;
                shard = other;
                sh = &pool->shards[other];
                break;
            }
        }
        /* A new region: a quarter of what the pool's regions hold, from RP__REGION_FIRST up to
         * RP__REGION_MAX or the run; clamped to the budget down to the run. */
        size_t want = atomic_load_explicit(&pool->region_data, memory_order_relaxed) / 4;
        if (want < RP__REGION_FIRST) want = RP__REGION_FIRST;
        if (want > RP__REGION_MAX) want = RP__REGION_MAX;
        want = rp__align_up(want, P);
        if (want < bytes) want = bytes;
        rp__arena_t *fresh = rp__arena_create(pool, RP__ARENA_REGION, 0, want, bytes, shard);
        rp__os_mutex_lock(&sh->lock);
        if (fresh == NULL) {
            a->next = sh->meta_free;
            sh->meta_free = a;
            rp__os_mutex_unlock(&sh->lock);
            return NULL;
        }
        fresh->prev = NULL;
        fresh->next = sh->regions;
        if (sh->regions) sh->regions->prev = fresh;
        sh->regions = fresh;
    }

    memset(a, 0, sizeof *a);
    a->pool = pool;
    a->region = r;
    a->base = a->first = r->first + at * P;
    a->len = bytes;
    a->stride = stride;
    a->slots = kind == RP__ARENA_SMALL ? (uint32_t)(bytes / stride) : 1u;
    a->span = stride * a->slots;
    a->magic = (((uint64_t)1 << 40) + stride - 1) / stride;
    a->nfree = a->slots;
    a->cls = (uint16_t)cls;
    a->kind = (uint8_t)kind;
    a->shard = (uint8_t)shard;
    a->locked = r->locked;
    if (kind == RP__ARENA_LARGE && bytes > rp__align_up(stride, P)) {
        /* Its first turn from the pool's counter, as a new mapping's: a run laid where a freed
         * one was is unlikely to start at the freed one's address. */
        a->turns = true;
        a->cursor = atomic_fetch_add_explicit(&pool->large_turn, 1, memory_order_relaxed) % (uint32_t)(P / RP__LARGE_TURN);
        a->first += (size_t)a->cursor * RP__LARGE_TURN;
    }
    rp__meta_bits(pool, a, a->slots);
    int err = rp__pagemap_set(a->base, a->len, a);
    if (err != 0) {
        rp__pagemap_set(a->base, a->len, NULL);
        rp__bits_set(r->freebits, at, bytes / P);
        r->nfree += (uint32_t)(bytes / P);
        a->pool = NULL;
        a->next = sh->meta_free;
        sh->meta_free = a;
        rp__os_mutex_unlock(&sh->lock);
        rp__fail_os(err, "pool: recording a run at %p in the page map", (void *)a->base);
        return NULL;
    }
    if (kind == RP__ARENA_SMALL) sh->nruns[cls]++;
    else sh->lops++; /* a large operation: cached mappings age (rp__lcache_get) */
    a->all_prev = NULL;
    a->all_next = sh->runs;
    if (sh->runs) sh->runs->all_prev = a;
    sh->runs = a;
    rp__os_mutex_unlock(&sh->lock);
    /* Under ASan a region's free pages are poisoned; a small run's slots stay so until handed
     * out, a large run's one slot goes out at once. */
    if (kind == RP__ARENA_LARGE) rp__asan_unpoison((void *)a->first, a->span);
    return a;
}

void rp__run_release_locked(rp_pool_t *pool, rp__shard_t *sh, rp__arena_t *a, rp__arena_t **release) {
    const size_t P = pool->page;
    rp__arena_t *r = a->region;
    rp__pagemap_set(a->base, a->len, NULL);
    if (a->all_prev) a->all_prev->all_next = a->all_next;
    else sh->runs = a->all_next;
    if (a->all_next) a->all_next->all_prev = a->all_prev;
    if (a->kind == RP__ARENA_SMALL) sh->nruns[a->cls]--;
    rp__asan_poison((void *)a->base, a->len);
    rp__vg_noaccess((void *)a->base, a->len); /* Valgrind: the same */
    size_t at = (a->base - r->first) / P, n = a->len / P;
    rp__bits_set(r->freebits, at, n);
    r->nfree += (uint32_t)n;
    a->pool = NULL; /* a stale page-map read is refused (pool.c) */
    a->next = sh->meta_free;
    sh->meta_free = a;
    if (r->nfree == r->slots && sh->spare_region != r) {
        /* One empty region is kept per shard, the larger of two: it can serve what the smaller
         * could, so a pattern of large pairs does not map and unmap a region each time. */
        rp__arena_t *out = r;
        if (sh->spare_region == NULL || sh->spare_region->slots < r->slots) {
            out = sh->spare_region;
            sh->spare_region = r;
        }
        if (out != NULL) {
            if (out->prev) out->prev->next = out->next;
            else sh->regions = out->next;
            if (out->next) out->next->prev = out->prev;
            out->next = *release;
            *release = out;
        }
    }
}

/* Release quarantined large runs, oldest first, until at most keep_runs runs and keep_bytes
 * bytes remain. Under the shard lock. */
static void rp__quarantine_drain(rp_pool_t *pool, rp__shard_t *sh, size_t keep_bytes, uint32_t keep_runs,
                                 rp__arena_t **release) {
    uint32_t count = 0;
    for (uint32_t i = 0; i < RP__LARGE_QUARANTINE; i++) count += sh->lq[i] != NULL;
    for (uint32_t k = 0; k < RP__LARGE_QUARANTINE && (count > keep_runs || sh->lqbytes > keep_bytes); k++) {
        /* the oldest is at lqpos, then onwards */
        uint32_t i = (sh->lqpos + k) % RP__LARGE_QUARANTINE;
        rp__arena_t *old = sh->lq[i];
        if (old == NULL) continue;
        sh->lq[i] = NULL;
        sh->lqbytes -= old->len;
        count--;
        rp__quarantine_out(pool, sh, old, release);
    }
}

/* Cached mapping i of sh leaves the cache (under the shard lock): chained on *release, or
 * returned when release is NULL. */
static rp__arena_t *rp__lcache_take(rp_pool_t *pool, rp__shard_t *sh, uint32_t i, rp__arena_t **release) {
    rp__arena_t *a = sh->lcache[i];
    sh->lcount--;
    sh->lcache[i] = sh->lcache[sh->lcount];
    sh->lstamp[i] = sh->lstamp[sh->lcount];
    sh->lcache[sh->lcount] = NULL;
    atomic_fetch_sub_explicit(&pool->lcache_bytes, a->len, memory_order_relaxed);
    if (release != NULL) {
        a->next = *release;
        *release = a;
    }
    return a;
}

/* Cached mappings of sh left unused for RP__LCACHE_AGE large operations onto *release. */
static void rp__lcache_age(rp_pool_t *pool, rp__shard_t *sh, rp__arena_t **release) {
    for (uint32_t i = 0; i < sh->lcount;) {
        if (sh->lops - sh->lstamp[i] > RP__LCACHE_AGE) rp__lcache_take(pool, sh, i, release);
        else i++;
    }
}

/* Release what *release chains (after unlocking). The runs on it came out of a large cache;
 * with quarantine set (they aged out or gave way to newer ones, rather than being trimmed) they
 * go to their shard's quarantine instead, as a freed run did before the cache took runs, and
 * regions left empty by runs leaving the quarantine may become another shard's spare. */
static void rp__release_all(rp_pool_t *pool, rp__arena_t *release, bool quarantine) {
    while (release != NULL) {
        rp__arena_t *next = release->next;
        if (quarantine && release->region != NULL) rp__large_quarantine(pool, release);
        else if (quarantine && release->kind == RP__ARENA_REGION) rp__region_spare_or_release(pool, release);
        else rp__arena_release(pool, release);
        release = next;
    }
}

void rp__region_spare_or_release(rp_pool_t *pool, rp__arena_t *r) {
    for (unsigned k = 1; k < RP__SHARDS; k++) {
        unsigned s = (r->shard + k) % RP__SHARDS;
        rp__shard_t *sh = &pool->shards[s];
        rp__os_mutex_lock(&sh->lock);
        bool kept = sh->spare_region == NULL;
        if (kept) {
            r->shard = (uint8_t)s;
            r->prev = NULL;
            r->next = sh->regions;
            if (sh->regions) sh->regions->prev = r;
            sh->regions = r;
            sh->spare_region = r;
        }
        rp__os_mutex_unlock(&sh->lock);
        if (kept) return;
    }
    rp__arena_release(pool, r);
}

/* The oldest of sh's cached mappings onto *release (sh has one; under its lock). */
static void rp__lcache_drop_oldest(rp_pool_t *pool, rp__shard_t *sh, rp__arena_t **release) {
    uint32_t old = 0;
    for (uint32_t i = 1; i < sh->lcount; i++)
        if (sh->lstamp[i] < sh->lstamp[old]) old = i;
    rp__lcache_take(pool, sh, old, release);
}

bool rp__lcache_put(rp_pool_t *pool, rp__arena_t *a) {
    /* The bounds: RP__LCACHE_BYTES in the pool, and for a mapping a quarter of the lock budget,
     * so that the cache never holds what the rest of the pool would need (it gives it back
     * anyway). A run takes no budget of its own (its region is locked, cached run or not), and
     * reading the limit can be a system call, which a loop of run pairs must not make. */
    size_t cap = RP__LCACHE_BYTES;
    if (a->region == NULL) {
        size_t limit = rp_pages_get_limit(pool->cfg.pages);
        if (limit / 4 < cap) cap = limit / 4;
    }
    if (a->len > cap) return false;
    rp__shard_t *sh = &pool->shards[a->region != NULL ? rp__thread_shard() : a->shard];
    rp__arena_t *release = NULL;
    bool kept = false;
    for (int attempt = 0; attempt < 2 && !kept; attempt++) {
        if (attempt == 1) {
            /* The bytes are held by other shards' caches (threads that are gone, or use other
             * sizes): their oldest go, one shard lock at a time (never two at once), until the
             * newest fits. */
            for (unsigned s = 0; s < RP__SHARDS; s++) {
                rp__shard_t *other = &pool->shards[s];
                if (other == sh) continue;
                rp__os_mutex_lock(&other->lock);
                while (other->lcount != 0 &&
                       atomic_load_explicit(&pool->lcache_bytes, memory_order_relaxed) + a->len > cap)
                    rp__lcache_drop_oldest(pool, other, &release);
                rp__os_mutex_unlock(&other->lock);
            }
        }
        rp__os_mutex_lock(&sh->lock);
        if (attempt == 0) {
            sh->lops++;
            rp__lcache_age(pool, sh, &release);
        }
        /* The shard's oldest make room: for a fifth, or for the bytes (the newest is likeliest
         * to be asked for again). */
        size_t cur = atomic_load_explicit(&pool->lcache_bytes, memory_order_relaxed);
        while (sh->lcount != 0 && (sh->lcount == RP__LCACHE || cur + a->len > cap)) {
            rp__lcache_drop_oldest(pool, sh, &release);
            cur = atomic_load_explicit(&pool->lcache_bytes, memory_order_relaxed);
        }
        while (cur + a->len <= cap) {
            if (atomic_compare_exchange_weak_explicit(&pool->lcache_bytes, &cur, cur + a->len, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                sh->lcache[sh->lcount] = a;
                sh->lstamp[sh->lcount] = sh->lops;
                sh->lcount++;
                kept = true;
                break;
            }
        }
        rp__os_mutex_unlock(&sh->lock);
    }
    rp__release_all(pool, release, true);
    return kept;
}

/* The data bytes of a cached large arena that a slot may fill: its length less the spare page,
 * and a mapping's guards. */
static size_t rp__lcache_room(const rp__arena_t *a, size_t P) { return a->len - (a->region != NULL ? 1u : 3u) * P; }

/* Take the cached mapping or run of sh that fits a slot of stride bytes best (the smallest whose
 * data pages hold it, wasting at most a quarter), reshaped for it and, a mapping, moved to
 * shard (a run stays with its region's shard); NULL if none. Under sh's lock: rp_pool_stats
 * reads the shape under every shard lock. */
static rp__arena_t *rp__lcache_take_fit(rp_pool_t *pool, rp__shard_t *sh, size_t stride, unsigned shard) {
    const size_t P = pool->page;
    size_t want = rp__align_up(stride, P);
    uint32_t best = RP__LCACHE;
    for (uint32_t i = 0; i < sh->lcount; i++) {
        size_t have = rp__lcache_room(sh->lcache[i], P);
        if (have >= want && have - want <= want / 4 && (best == RP__LCACHE || have < rp__lcache_room(sh->lcache[best], P)))
            best = i;
    }
    if (best == RP__LCACHE) return NULL;
    rp__arena_t *a = rp__lcache_take(pool, sh, best, NULL);
    /* The slot moves on by one turn, so the address it was freed at is not handed out again. */
    a->stride = stride;
    a->span = stride;
    a->magic = (((uint64_t)1 << 40) + stride - 1) / stride;
    a->cursor = (a->cursor + 1u) % (uint32_t)(P / RP__LARGE_TURN);
    a->first = a->base + (a->region != NULL ? 0 : P) + (size_t)a->cursor * RP__LARGE_TURN;
    if (a->region == NULL) a->shard = (uint8_t)shard;
    return a;
}

rp__arena_t *rp__lcache_get(rp_pool_t *pool, unsigned shard, size_t stride) {
    rp__shard_t *sh = &pool->shards[shard];
    rp__arena_t *release = NULL;
    rp__os_mutex_lock(&sh->lock);
    sh->lops++;
    rp__arena_t *a = rp__lcache_take_fit(pool, sh, stride, shard);
    rp__lcache_age(pool, sh, &release);
    rp__os_mutex_unlock(&sh->lock);
    rp__release_all(pool, release, true);
    /* Not here: one another shard keeps (its thread may be gone, or now uses other sizes) is
     * still cheaper than a new mapping. One shard lock at a time, only when the pool has any. */
    for (unsigned k = 1; a == NULL && k < RP__SHARDS && atomic_load_explicit(&pool->lcache_bytes, memory_order_relaxed); k++) {
        rp__shard_t *other = &pool->shards[(shard + k) % RP__SHARDS];
        rp__os_mutex_lock(&other->lock);
        if (other->lcount != 0) a = rp__lcache_take_fit(pool, other, stride, shard);
        rp__os_mutex_unlock(&other->lock);
    }
    return a;
}

void rp__large_quarantine(rp_pool_t *pool, rp__arena_t *a) {
    rp__shard_t *sh = &pool->shards[a->shard];
    rp__arena_t *release = NULL;
    rp__os_mutex_lock(&sh->lock);
    sh->lops++;
    rp__lcache_age(pool, sh, &release);
    rp__arena_t *old = sh->lq[sh->lqpos];
    if (old != NULL) {
        sh->lq[sh->lqpos] = NULL;
        sh->lqbytes -= old->len;
        rp__quarantine_out(pool, sh, old, &release);
    }
    /* Room for a within the byte bound; the newest is held whatever its size. */
    size_t keep = a->len < RP__LARGE_QUARANTINE_BYTES ? RP__LARGE_QUARANTINE_BYTES - a->len : 0;
    rp__quarantine_drain(pool, sh, keep, RP__LARGE_QUARANTINE, &release);
    sh->lq[sh->lqpos] = a;
    sh->lqbytes += a->len;
    sh->lqpos = (sh->lqpos + 1u) % RP__LARGE_QUARANTINE;
    rp__os_mutex_unlock(&sh->lock);
    rp__release_all(pool, release, true);
}

/* Shard sh's quarantined large allocations and spare region back (its cache is empty already:
 * rp__shards_give_back); whether there were any. */
static bool rp__shard_trim(rp_pool_t *pool, rp__shard_t *sh) {
    rp__arena_t *release = NULL;
    rp__os_mutex_lock(&sh->lock);
    bool any = sh->lqbytes != 0; /* quarantined runs go back to their regions here, not on release */
    rp__quarantine_drain(pool, sh, 0, 0, &release);
    rp__arena_t *r = sh->spare_region;
    if (r != NULL && r->nfree == r->slots) {
        if (r->prev) r->prev->next = r->next;
        else sh->regions = r->next;
        if (r->next) r->next->prev = r->prev;
        r->next = release;
        release = r;
    }
    sh->spare_region = NULL;
    rp__os_mutex_unlock(&sh->lock);
    if (release != NULL) any = true;
    rp__release_all(pool, release, false);
    return any;
}

bool rp__shards_give_back(rp_pool_t *pool) {
    bool any = false;
    /* Every cache first: a cached run may belong to another shard's region, which must be empty
     * before that shard's spare region is looked at. */
    for (unsigned s = 0; s < RP__SHARDS; s++) {
        rp__shard_t *sh = &pool->shards[s];
        rp__arena_t *release = NULL;
        rp__os_mutex_lock(&sh->lock);
        while (sh->lcount != 0) rp__lcache_take(pool, sh, 0, &release);
        rp__os_mutex_unlock(&sh->lock);
        if (release != NULL) any = true;
        rp__release_all(pool, release, false);
    }
    for (unsigned s = 0; s < RP__SHARDS; s++)
        if (rp__shard_trim(pool, &pool->shards[s])) any = true;
    return any;
}
