/* SPDX-License-Identifier: MIT */
/* pool/arena.c — one arena: pages from the page allocator made fit for secrets, and given back.
 *
 *   create:  size it (and clamp it to the lock budget) -> allocate_locked -> apply the lock
 *            policy -> metadata -> guards (before locking: MADV_GUARD_INSTALL refuses locked
 *            ranges, so a locked arena is unlocked, guarded, and locked again on fault, then
 *            touched so every data page is resident and locked before it is handed out) -> wiped
 *            if the page allocator is the user's -> MADV_DONTDUMP and MADV_WIPEONFORK as two
 *            calls (DONTFORK where the pages cannot be wiped in a child, as for memfd_secret) ->
 *            published in the page map
 *   release: out of the page map -> guards removed -> every data page wiped (by the built-in
 *            sources' free_locked, resident pages only; here for a page allocator of the user's)
 *            -> free_locked
 *
 * Metadata blocks (header + bitmaps + guarded sizes) come from chunks of ordinary pages that the
 * pool owns (rp__os_alloc), never from the arena and never from malloc.
 */
#include <stdio.h>
#include <string.h>

#include "pool/pool_internal.h"

size_t rp__class_size(unsigned cls) {
    if (cls < 8) return 16u * (cls + 1u);
    unsigned lg = 7u + (cls - 8u) / 4u, idx = (cls - 8u) % 4u;
    return ((size_t)1 << lg) + (size_t)(idx + 1u) * ((size_t)1 << (lg - 2u));
}

/* ---- metadata blocks ------------------------------------------------------------------------------ */

rp__arena_t *rp__meta_get(rp_pool_t *pool) {
    rp__os_mutex_lock(&pool->lock);
    rp__arena_t *a = pool->meta_free;
    if (a != NULL) pool->meta_free = a->next;
    rp__os_mutex_unlock(&pool->lock);
    if (a != NULL) return a;

    size_t per = pool->meta_size, len = rp__align_up(64u * 1024u, pool->page);
    if (len < 4 * per + sizeof(rp__meta_chunk_t)) len = rp__align_up(4 * per + sizeof(rp__meta_chunk_t), pool->page);
    void *mem = NULL;
    int err = rp__os_alloc(len, &mem);
    if (err != 0) {
        rp__fail_os(err, "pool: %zu bytes of metadata pages", len);
        return NULL;
    }
    rp__meta_chunk_t *chunk = mem;
    chunk->len = len;
    uintptr_t at = rp__align_up((uintptr_t)mem + sizeof *chunk, RP__CACHELINE);
    a = (rp__arena_t *)at;
    at += per;
    rp__os_mutex_lock(&pool->lock);
    chunk->next = pool->meta_chunks;
    pool->meta_chunks = chunk;
    for (; at + per <= (uintptr_t)mem + len; at += per) {
        rp__arena_t *b = (rp__arena_t *)at;
        b->next = pool->meta_free;
        pool->meta_free = b;
    }
    rp__os_mutex_unlock(&pool->lock);
    return a;
}

void rp__meta_put(rp_pool_t *pool, rp__arena_t *a) {
    rp__os_mutex_lock(&pool->lock);
    a->pool = NULL;
    a->next = pool->meta_free;
    pool->meta_free = a;
    rp__os_mutex_unlock(&pool->lock);
}

void rp__meta_bits(rp_pool_t *pool, rp__arena_t *a, size_t n) {
    uint64_t *bits = (uint64_t *)((uintptr_t)a + rp__align_up(sizeof *a, RP__CACHELINE));
    size_t words = (pool->max_slots + 63u) / 64u;
    a->freebits = bits;
    a->sizes = (size_t *)(bits + words);
    a->live = (_Atomic uint8_t *)(a->sizes + RP__GUARDED_SLOTS_MAX);
    /* Only what n slots use is cleared (a large run: one word, one live byte): nothing reads
     * past slot n - 1, and the free-slot search stops at the first word with a set bit. */
    memset(bits, 0, (n + 63u) / 64u * sizeof *bits);
    memset(a->sizes, 0, RP__GUARDED_SLOTS_MAX * sizeof *a->sizes);
    memset((void *)a->live, 0, n);
    for (size_t i = 0; i < n / 64; i++) bits[i] = ~(uint64_t)0;
    if (n % 64) bits[n / 64] = ((uint64_t)1 << (n % 64)) - 1;
}

/* ---- guards ----------------------------------------------------------------------------------------- */

static int rp__guard_at(rp__arena_t *a, uintptr_t g, size_t page) {
    bool lw = false;
    int err = rp__os_guard_install((void *)g, page, &lw);
    if (err != 0) return err;
    if (a->guard_count == 0) a->guards_lightweight = lw;
    else if (lw != a->guards_lightweight) a->guards_mixed = true;
    a->guard_count++;
    return 0;
}

/* Guard page addresses of arena a, in order; returns how many (at most max). */
static size_t rp__guard_list(const rp__arena_t *a, size_t page, uintptr_t *out, size_t max) {
    size_t n = 0;
    if (n < max) out[n++] = a->base;
    if (a->kind == RP__ARENA_GUARDED) {
        for (uint32_t i = 0; i < a->slots && n < max; i++) out[n++] = a->first + (size_t)i * a->stride + a->data;
    } else if (n < max) {
        out[n++] = a->base + a->len - page;
    }
    return n;
}

static void rp__guards_remove(rp__arena_t *a, size_t page) {
    uintptr_t g[RP__GUARDED_SLOTS_MAX + 2];
    size_t n = rp__guard_list(a, page, g, sizeof g / sizeof g[0]);
    if (n > a->guard_count) n = a->guard_count; /* a create that failed part way */
    for (size_t i = 0; i < n; i++) {
        int err;
        if (a->guards_mixed) {
            (void)rp__os_guard_remove((void *)g[i], page, true); /* harmless on a PROT_NONE page */
            err = rp__os_guard_remove((void *)g[i], page, false);
        } else {
            err = rp__os_guard_remove((void *)g[i], page, a->guards_lightweight);
        }
        if (err != 0) rp__corrupt("pool: a guard page could not be removed before release", (void *)g[i]);
    }
}

/* Wipe every page that can hold data (guards never do, and cannot be written). */
static void rp__arena_wipe(const rp__arena_t *a, size_t page) {
    if (a->kind == RP__ARENA_GUARDED) {
        for (uint32_t i = 0; i < a->slots; i++) rp_memzero((void *)(a->first + (size_t)i * a->stride), a->data);
    } else {
        rp_memzero((void *)(a->base + page), a->len - 2 * page); /* a large mapping's slot moves (turn) */
    }
}

/* ---- create / release ----------------------------------------------------------------------------- */

/* The built-in page sources hand out zero pages and wipe the resident pages of what they get
 * back (rp__memzero_resident); a page allocator of the user's own promises only to wipe. */
static bool rp__pages_builtin(const rp_page_allocator_t *pa) {
    return pa == rp_pages_os() || pa == rp_pages_plain() || pa == rp_pages_secret();
}

/* Give back n bytes of the lock budget reserved by rp__arena_create. */
static void rp__budget_return(rp_pool_t *pool, size_t n) {
    if (n != 0) atomic_fetch_sub_explicit(&pool->reserved, n, memory_order_relaxed);
}

static uint64_t rp__magic(size_t stride) { return (((uint64_t)1 << 40) + stride - 1) / stride; }

bool rp__budget_short(rp_pool_t *pool, size_t len) {
    size_t limit = rp_pages_get_limit(pool->cfg.pages);
    if (limit == SIZE_MAX) return false;
    size_t cur = atomic_load_explicit(&pool->reserved, memory_order_relaxed);
    return cur >= limit || len > limit - cur;
}

rp__arena_t *rp__arena_create(rp_pool_t *pool, rp__arena_kind_t kind, unsigned cls, size_t need, size_t min,
                              unsigned shard) {
    const size_t P = pool->page;
    const rp_page_allocator_t *pa = pool->cfg.pages;
    size_t stride, slots, data = 0, len;

    /* Shape. A region is shaped as P-byte slots (its pages); a large arena's slot is the
     * allocation rounded up to 16 bytes, in whole pages, plus a spare page its slot moves into
     * on reuse (pool_internal.h: RP__LARGE_TURN). */
    if (kind == RP__ARENA_REGION) {
        stride = P;
        slots = need / P;
        min = min / P;
    } else if (kind == RP__ARENA_LARGE) {
        stride = rp__align_up(need, 16);
        if (stride == 0 || rp__align_up(stride, P) == 0) goto too_large;
        slots = 1;
    } else {
        size_t k = cls + 1u;
        if (k > RP__GUARDED_CLASSES) {
            data = rp__align_up(need, P);
            if (data == 0) goto too_large;
            slots = 1;
        } else {
            data = k * P;
            slots = RP__GUARDED_SLOTS_MAX / k;
        }
        if (rp__add_overflows(data, P, &stride)) goto too_large;
    }
    size_t body, guards = kind == RP__ARENA_GUARDED ? 1 : 2;
    if (rp__mul_overflows(stride, slots, &body)) goto too_large;
    body = rp__align_up(body, P);
    if (kind == RP__ARENA_LARGE && rp__add_overflows(body, P, &body)) goto too_large;
    if (rp__add_overflows(body, guards * P, &len)) goto too_large;
    /* Guarded arenas of shared classes shrink to the budget too, down to one slot. */
    if (kind == RP__ARENA_GUARDED && slots > 1) min = 1;

    /* The lock budget: what the page allocator says may be locked, less what this pool holds
     * or is about to hold. The room is reserved with a compare-and-swap before anything is
     * mapped, so two threads creating arenas at once cannot both take the same room. A region
     * (or a guarded arena of a shared class) shrinks to fit, down to min slots (Bitcoin clamps
     * its first arena the same way); what cannot fit is over budget and the policy decides (an
     * arena made over budget reserves nothing). */
    size_t limit = rp_pages_get_limit(pa), held = 0, reserved = 0;
    bool over = false, gave_back = false, shrinking = false, shrink_done = false;
    size_t full_slots = slots;
again:
    if (limit != SIZE_MAX) {
        size_t cur = atomic_load_explicit(&pool->reserved, memory_order_relaxed);
        for (;;) {
            size_t avail = limit > cur ? limit - cur : 0, s = slots, b = body, l = len;
            over = false;
            if (l > avail) {
                size_t fit = avail >= guards * P ? ((avail - guards * P) / P) * P : 0;
                /* guarded slots are stride bytes each, data pages and their guard */
                s = fit / stride;
                if (min != 0 && s >= min) {
                    b = s * stride;
                    l = b + guards * P;
                } else {
                    over = true;
                }
            }
            if (over) {
                held = cur;
                break;
            }
            if (atomic_compare_exchange_weak_explicit(&pool->reserved, &cur, cur + l, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                slots = s;
                body = b;
                len = l;
                reserved = l;
                break;
            }
        }
    }
    /* Over budget: first what the calling thread and the shards hold without need (cached slots
     * and large allocations, spare runs and regions) goes back, once, whatever the policy; only
     * then does the policy decide. */
    if (over && !gave_back) {
        gave_back = true;
        if (rp__pool_give_back(pool)) goto again;
    }
    if (over && pool->cfg.lock_policy == RP_POOL_LOCK_REQUIRED) {
        /* No budget at all is the lack of privilege that common.h's remedies tell apart from a
         * budget too small (and what mlock reports under the other policies: EPERM). */
        rp_status_t why = limit == 0 ? RP_ERR_PERMISSION : RP_ERR_LIMIT;
        rp__fail(why, 0,
                 "pool: an arena of %zu bytes would exceed the lock budget (limit %zu bytes, %zu held by the pool)",
                 len, limit, held);
        rp__error_set_remedy(rp_remedy(why, RP_REMEDY_BRIEF));
        return NULL;
    }

    bool locked = false;
    /* The last error cleared first, so that afterwards it holds only what the page allocator said
     * (one that says nothing, as rp_pages_plain() and most of yours, must not pass an older error
     * off as its reason); put back when it said nothing. */
    rp_error_t before = *rp_last_error();
    *(rp_error_t *)rp_last_error() = (rp_error_t){.status = RP_OK};
    void *mem = rp_pages_allocate_locked(pa, len, &locked);
    if (rp_last_error()->status == RP_OK) *(rp_error_t *)rp_last_error() = before;
    if (mem == NULL) {
        rp__budget_return(pool, reserved);
        return NULL;
    }
    rp_status_t why = RP_OK;
    if (!locked) {
        const rp_error_t *e = rp_last_error();
        /* a limit, only when the page allocator said so */
        bool limit_said = e->status == RP_ERR_LIMIT && e->os_error != 0;
        why = (e->status == RP_ERR_PERMISSION || e->status == RP_ERR_LIMIT || e->status == RP_ERR_UNSUPPORTED)
                  ? e->status : RP_ERR_LIMIT;
        rp_error_t refused = *e;
        if (!limit_said) refused = (rp_error_t){.status = why, .message = "it said nothing of why"};
        if (why == RP_ERR_LIMIT && limit != SIZE_MAX && !gave_back) {
            /* The page allocator could not lock it (the process's limit is shared with the rest
             * of the program): what is held without need goes back, and it is tried once more,
             * before the policy decides. */
            gave_back = true;
            if (rp__pool_give_back(pool)) {
                rp_pages_free_locked(pa, mem, len);
                rp__budget_return(pool, reserved);
                reserved = 0;
                goto again;
            }
        }
        /* The pool's own count left room that the process's does not (another pool, or the
         * program, holds locked memory): a region, or a guarded arena of a shared class, shrinks
         * by halves down to min slots, as it does to fit the pool's count. Only when the page
         * allocator said a limit refused it, and, where the policy goes on unlocked, only while
         * a smaller arena could still be locked: refused at min slots since the pool last gave
         * locked memory back, the next arena does not try (a failed lock per halving, and a
         * mapping per small unlocked arena, for every arena made while the budget is spent). */
        size_t min_len = rp__align_up(min * stride, P) + guards * P;
        size_t refused_len = atomic_load_explicit(&pool->lock_refused_len, memory_order_relaxed);
        bool worth = pool->cfg.lock_policy == RP_POOL_LOCK_REQUIRED || refused_len == 0 || min_len < refused_len;
        size_t retry_slots = 0;
        if (limit_said && !over && !shrink_done && min != 0 && slots > min && (shrinking || worth)) {
            if (!shrinking) full_slots = slots;
            shrinking = true;
            retry_slots = slots / 2 > min ? slots / 2 : min;
        } else if (shrinking && !shrink_done) {
            /* Refused down to min slots: remembered, and an arena that goes on unlocked gets the
             * size it was to have, not the smallest (one mapping per run otherwise). */
            atomic_store_explicit(&pool->lock_refused_len, len, memory_order_relaxed);
            shrink_done = true;
            if (pool->cfg.lock_policy != RP_POOL_LOCK_REQUIRED && slots != full_slots) retry_slots = full_slots;
        }
        if (retry_slots != 0) {
            rp_pages_free_locked(pa, mem, len);
            rp__budget_return(pool, reserved);
            reserved = 0;
            slots = retry_slots;
            body = rp__align_up(slots * stride, P);
            len = body + guards * P;
            goto again;
        }
        if (pool->cfg.lock_policy == RP_POOL_LOCK_REQUIRED) {
            rp_pages_free_locked(pa, mem, len);
            rp__budget_return(pool, reserved);
            rp__fail(why, refused.os_error, "pool: the page allocator \"%s\" could not lock an arena of %zu bytes: %s",
                     pa->name, len, refused.message);
            rp__error_set_remedy(rp_remedy(why, RP_REMEDY_BRIEF));
            return NULL;
        }
        /* Unlocked pages take nothing from the lock budget. */
        rp__budget_return(pool, reserved);
        reserved = 0;
    }

    rp__arena_t *a = rp__meta_get(pool);
    if (a == NULL) {
        rp_pages_free_locked(pa, mem, len);
        rp__budget_return(pool, reserved);
        return NULL;
    }
    memset(a, 0, sizeof *a);
    a->pool = pool;
    a->base = (uintptr_t)mem;
    a->len = len;
    a->first = a->base + P;
    if (kind == RP__ARENA_LARGE) {
        /* New mappings start at successive turns too, so that one the kernel places where a
         * released one was is unlikely to hand out the released one's address again. */
        a->cursor = atomic_fetch_add_explicit(&pool->large_turn, 1, memory_order_relaxed) % (uint32_t)(P / RP__LARGE_TURN);
        a->first += (size_t)a->cursor * RP__LARGE_TURN;
    }
    a->stride = stride;
    a->slots = (uint32_t)slots;
    a->span = stride * slots;
    a->magic = rp__magic(stride);
    a->data = data;
    a->nfree = (uint32_t)slots;
    a->cls = (uint16_t)cls;
    a->kind = (uint8_t)kind;
    a->shard = (uint8_t)shard;
    a->locked = locked;
    a->reserved = reserved;
    rp__meta_bits(pool, a, slots);

    /* Guards first, then the lock (see the file comment). */
    int err = 0;
    /* memfd_secret pages are unevictable whatever mlock says, refuse guard markers (their
     * mapping is always locked) and cannot be faulted in by mlock: they keep PROT_NONE guards
     * and no re-lock. */
    bool unevictable = rp__os_secret_available() && pa == rp_pages_secret();
    bool relock = locked && !unevictable && rp__os_guard_lightweight_available() && rp__os_unlock(mem, len) == 0;
    uintptr_t g[RP__GUARDED_SLOTS_MAX + 2];
    size_t ng = rp__guard_list(a, P, g, sizeof g / sizeof g[0]);
    for (size_t i = 0; i < ng && err == 0; i++) err = rp__guard_at(a, g[i], P);
    if (err != 0) {
        rp__fail_os(err, "pool: installing a guard page in an arena of %zu bytes", len);
        goto undo;
    }
    if (relock) {
        /* Lightweight guards: lock the whole range on fault (one mapping, guards skipped). Guards
         * that fell back to PROT_NONE (memfd_secret mappings refuse the markers) split the
         * mapping anyway: lock the data ranges between them. */
        if (a->guards_lightweight && !a->guards_mixed) {
            err = rp__os_lock_onfault(mem, len);
        } else if (kind == RP__ARENA_GUARDED) {
            for (uint32_t i = 0; i < a->slots && err == 0; i++) err = rp__os_lock((void *)(a->first + i * stride), data);
        } else {
            err = rp__os_lock((void *)a->first, len - 2 * P);
        }
        if (err != 0) {
            /* The pages were locked a moment ago; losing the lock now is a lock failure. */
            rp__fail_lock(err, len, "re-locking a guarded arena");
            if (pool->cfg.lock_policy == RP_POOL_LOCK_REQUIRED) goto undo;
            a->locked = false;
            rp__budget_return(pool, a->reserved);
            a->reserved = 0;
            why = rp_last_error()->status;
        }
        /* Fault every data page in now, so each is resident and locked before any secret (a
         * large mapping's spare page too: its slot moves into it on reuse). */
        uintptr_t from = kind == RP__ARENA_LARGE ? a->base + P : a->first;
        uintptr_t to = kind == RP__ARENA_LARGE ? a->base + len - P : a->first + a->span;
        for (uintptr_t q = from; q < to; q += P) {
            if (kind == RP__ARENA_GUARDED && (q - a->first) % stride == data) continue;
            *(volatile char *)q = 0;
        }
    }
    /* Allocation never clears a slot: it relies on every free slot being zero. The built-in
     * sources hand out fresh OS pages, which are; a page allocator of the user's own need not
     * (its contract does not say so), so its pages are wiped here, before any slot goes out. */
    if (!rp__pages_builtin(pa)) rp__arena_wipe(a, P);
    /* "Unsupported" comes back only for an advice the OS lacks altogether (the os layer probes
     * each one); any other refusal of DONTDUMP fails the arena rather than leave it dumpable. */
    err = rp__os_advise(mem, len, RP__OS_ADV_DONTDUMP);
    if (err != 0 && err != rp__os_err_unsupported()) {
        rp__fail_os(err, "pool: excluding an arena of %zu bytes from core dumps", len);
        goto undo;
    }
    err = rp__os_advise(mem, len, RP__OS_ADV_WIPEONFORK);
    if (err != 0) {
        /* Not wiped in a child: shared mappings (memfd_secret) refuse it (EINVAL), older kernels
         * lack it. Keep the arena out of children altogether instead. */
        err = rp__os_advise(mem, len, RP__OS_ADV_DONTFORK);
        if (err == rp__os_err_unsupported()) err = 0; /* no fork on this platform */
    }
    if (err != 0) {
        rp__fail_os(err, "pool: keeping an arena of %zu bytes from fork children", len);
        goto undo;
    }

    rp__os_mutex_lock(&pool->lock);
    /* A region's pages are mapped run by run (run.c). */
    err = kind == RP__ARENA_REGION ? 0 : rp__pagemap_set(a->base, len, a);
    if (err == 0) {
        a->all_next = pool->arenas;
        a->all_prev = NULL;
        if (pool->arenas) pool->arenas->all_prev = a;
        pool->arenas = a;
        pool->arena_count++;
        if (kind == RP__ARENA_REGION) atomic_fetch_add_explicit(&pool->region_data, a->span, memory_order_relaxed);
        pool->guard_pages += a->guard_count;
        if (!a->guards_lightweight || a->guards_mixed) pool->any_heavy_guard = true;
        if (a->locked) pool->locked_bytes += len;
        else {
            pool->unlocked_bytes += len;
            pool->lock_failures++;
        }
    }
    rp__os_mutex_unlock(&pool->lock);
    if (err != 0) {
        rp__pagemap_set(a->base, len, NULL);
        rp__fail_os(err, "pool: recording an arena at %p in the page map", mem);
        goto undo;
    }

    if (!a->locked && pool->cfg.lock_policy == RP_POOL_LOCK_REPORT) {
        if (pool->cfg.on_lock_failure != NULL) {
            pool->cfg.on_lock_failure(pool, len, why, pool->cfg.ctx);
        } else if (!atomic_exchange(&pool->reported, true)) {
            char line[200];
            int n = snprintf(line, sizeof line,
                             "rampart: pool: arenas are not locked in RAM (%s); stats count the unlocked bytes\n",
                             rp_strerror(why));
            if (n > 0) rp__os_write_stderr(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        }
    }
    /* Under ASan every slot is free memory until it is handed out (core/annotate.h); a large
     * arena's one slot goes out at once; a region's pages until a run takes them. Guard pages
     * stay unpoisoned: a touch there must fault. */
    if (kind == RP__ARENA_REGION) rp__asan_poison((void *)a->first, a->span);
    else if (kind == RP__ARENA_GUARDED)
        for (uint32_t i = 0; i < a->slots; i++) rp__asan_poison((void *)(a->first + (size_t)i * stride), data);
    /* Valgrind: the same ranges, no-access. */
    if (kind == RP__ARENA_REGION) rp__vg_noaccess((void *)a->first, a->span);
    else if (kind == RP__ARENA_GUARDED)
        for (uint32_t i = 0; i < a->slots; i++) rp__vg_noaccess((void *)(a->first + (size_t)i * stride), data);
    return a;

undo:;
    rp_error_t saved = *rp_last_error();
    rp__guards_remove(a, P);
    rp_pages_free_locked(pa, mem, len);
    rp__budget_return(pool, a->reserved);
    rp__meta_put(pool, a);
    rp__fail(saved.status, saved.os_error, "%s", saved.message);
    return NULL;

too_large:
    rp__fail(RP_ERR_NOMEM, 0, "pool: an allocation of %zu bytes is too large", need);
    return NULL;
}

void rp__arena_release(rp_pool_t *pool, rp__arena_t *a) {
    const size_t P = pool->page;
    if (a->region != NULL) {
        rp__shard_t *sh = &pool->shards[a->shard];
        rp__arena_t *release = NULL;
        rp__os_mutex_lock(&sh->lock);
        rp__run_release_locked(pool, sh, a, &release);
        rp__os_mutex_unlock(&sh->lock);
        if (release != NULL) rp__region_spare_or_release(pool, release);
        return;
    }
    rp__os_mutex_lock(&pool->lock);
    if (a->kind != RP__ARENA_REGION) rp__pagemap_set(a->base, a->len, NULL);
    if (a->all_prev) a->all_prev->all_next = a->all_next;
    else pool->arenas = a->all_next;
    if (a->all_next) a->all_next->all_prev = a->all_prev;
    pool->arena_count--;
    if (a->kind == RP__ARENA_REGION) atomic_fetch_sub_explicit(&pool->region_data, a->span, memory_order_relaxed);
    pool->guard_pages -= a->guard_count;
    if (a->locked) {
        pool->locked_bytes -= a->len;
        /* locked memory given back: an arena refused before may be locked now */
        atomic_store_explicit(&pool->lock_refused_len, 0, memory_order_relaxed);
    }
    else pool->unlocked_bytes -= a->len;
    rp__os_mutex_unlock(&pool->lock);

    /* rp_pool_destroy releases arenas with live slots, which rp_pool_protect may have left
     * unreadable: read-write again before anything wipes them. */
    if (a->kind == RP__ARENA_GUARDED)
        for (size_t i = 0; i < a->slots; i++) rp__protect_restore_if(a, i);
    rp__asan_unpoison((void *)a->base, a->len); /* free slots, canaries: wiped and given back */
    rp__vg_undefined((void *)a->base, a->len); /* Valgrind: the same */
    rp__guards_remove(a, P);
    /* A built-in source wipes the resident pages itself: wiping here too would do it twice and
     * fault in every page never touched. Another source is wiped here, in case it does not. */
    if (!rp__pages_builtin(pool->cfg.pages)) rp__arena_wipe(a, P);
    rp_status_t st = rp_pages_free_locked(pool->cfg.pages, (void *)a->base, a->len);
    if (st == RP_ERR_NOT_OWNED) rp__corrupt("pool: the page allocator does not know an arena it gave out", (void *)a->base);
    rp__budget_return(pool, a->reserved);
    rp__meta_put(pool, a);
}
