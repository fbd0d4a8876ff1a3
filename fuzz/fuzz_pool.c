/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_pool.c — libFuzzer target for the secure pool (rampart/pool.h).
 *
 * The input is a sequence of operations on four pools created for each input: plain, with
 * canaries, guarded (plain pages) and guarded with canaries (OS pages, locked where the budget
 * allows). Every pool uses RP_POOL_LOCK_SILENT, so a run as an unprivileged user with an 8 MiB
 * memlock limit goes on with unlocked pages instead of failing; guarded requests are capped at
 * 16 KiB and others at 64 KiB, with at most 48 live allocations, so no run holds more than a few
 * MiB.
 *
 * The model: each live allocation has its pool, requested size, usable size and a pattern seed;
 * the harness writes the pattern over every usable byte (canaries sit outside them, so a write
 * the pool allowed must never trip one). Checked:
 *   - a new allocation is zero-filled, 16-byte aligned (guarded: aligned to the largest power of
 *     two dividing its size, up to 16, and ending exactly on a page boundary, against its guard),
 *     never overlapping a live one, with usable size >= requested;
 *   - contents survive everything else; realloc keeps min(old, new) bytes; size 0 is refused
 *     (alloc) or frees (realloc); an overflowing zalloc is refused;
 *   - ownership: rp_pool_owns and rp_pool_usable_size say yes for the pool's own allocations
 *     and no (0, RP_ERR_NOT_OWNED) for the other pools';
 *   - rp_pool_stats after rp_pool_trim: chunks_used is the number of live allocations and used
 *     their usable bytes; after all is freed and trimmed the pool holds no arena and no lock.
 * A corruption report (double free, canary, foreign pointer) aborts: with a correct model it is
 * a bug in the pool.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "rampart/pages.h"
#include "rampart/pool.h"

#define FZ_POOLS 4
#define FZ_SLOTS 48
#define FZ_MAX_SIZE ((size_t)64 << 10)
#define FZ_MAX_GUARDED ((size_t)16 << 10)

typedef struct fz_alloc {
    uint8_t *p; /* NULL: empty slot */
    size_t size, usable;
    int pool;
    uint32_t seed;
} fz_alloc_t;

typedef struct fz_state {
    rp_pool_t *pools[FZ_POOLS];
    bool guarded[FZ_POOLS];
    fz_alloc_t allocs[FZ_SLOTS];
    uint32_t next_seed;
} fz_state_t;

static void check_alloc(const fz_alloc_t *a, const char *when) {
    size_t bad = fz_find_bad(a->p, 0, a->usable, a->seed);
    FZ_CHECK(bad == a->usable, "%s: allocation %p (size %zu, usable %zu, pool %d) byte %zu changed", when,
             (void *)a->p, a->size, a->usable, a->pool, bad);
}

static size_t cap_of(const fz_state_t *s, int pool) { return s->guarded[pool] ? FZ_MAX_GUARDED : FZ_MAX_SIZE; }

static void adopt(fz_state_t *s, fz_alloc_t *a, uint8_t *p, size_t size, int pool, size_t keep, uint32_t old_seed) {
    size_t align = 16;
    if (s->guarded[pool]) {
        while (align > 1 && size % align != 0) align /= 2;
        FZ_CHECK(((uintptr_t)(p + size) & (rp_page_size() - 1)) == 0,
                 "guarded allocation %p of %zu bytes does not end against its guard page", (void *)p, size);
    }
    FZ_CHECK(((uintptr_t)p & (align - 1)) == 0, "allocation %p of %zu bytes is not %zu-byte aligned", (void *)p, size,
             align);
    size_t usable = rp_pool_usable_size(s->pools[pool], p);
    FZ_CHECK(usable >= size, "usable size %zu < requested %zu (%s)", usable, size, rp_last_error()->message);
    FZ_CHECK(rp_pool_owns(s->pools[pool], p), "pool %d does not own its allocation %p", pool, (void *)p);
    for (int i = 0; i < FZ_SLOTS; i++) {
        const fz_alloc_t *o = &s->allocs[i];
        if (o == a || o->p == NULL) continue;
        FZ_CHECK(p + usable <= o->p || o->p + o->usable <= p, "allocation %p+%zu overlaps live %p+%zu", (void *)p,
                 usable, (void *)o->p, o->usable);
    }
    if (keep) {
        size_t bad = fz_find_bad(p, 0, keep, old_seed);
        FZ_CHECK(bad == keep, "realloc to %zu bytes lost byte %zu of the %zu it had to keep", size, bad, keep);
    } else {
        /* Fresh memory is always zero-filled, the whole usable size. */
        size_t nz = fz_find_nonzero(p, 0, usable);
        FZ_CHECK(nz == usable, "fresh allocation %p (%zu usable) has a non-zero byte at %zu", (void *)p, usable, nz);
    }
    a->p = p;
    a->size = size;
    a->usable = usable;
    a->pool = pool;
    a->seed = keep ? old_seed : s->next_seed++;
    fz_fill(p, keep, usable, a->seed);
}

static void op_alloc(fz_state_t *s, fz_input_t *in, fz_alloc_t *a, bool zalloc) {
    int pool = fz_u8(in) % FZ_POOLS;
    size_t size = fz_size(in, cap_of(s, pool));
    uint8_t *p;
    if (zalloc) {
        size_t count = fz_u8(in) % 9;
        if (count == 8) {
            p = rp_pool_zalloc(s->pools[pool], SIZE_MAX / 4, 8);
            FZ_CHECK(p == NULL && rp_last_error()->status == RP_ERR_NOMEM, "overflowing zalloc gave %p", (void *)p);
            return;
        }
        size = count ? size / count : size;
        p = rp_pool_zalloc(s->pools[pool], count, size);
        size *= count;
    } else {
        p = rp_pool_alloc(s->pools[pool], size);
    }
    if (size == 0) {
        FZ_CHECK(p == NULL && rp_last_error()->status == RP_ERR_INVALID, "a 0-byte allocation gave %p", (void *)p);
        return;
    }
    FZ_CHECK(p != NULL, "pool %d refused %zu bytes: %s", pool, size, rp_last_error()->message);
    adopt(s, a, p, size, pool, 0, 0);
}

static void op_realloc(fz_state_t *s, fz_input_t *in, fz_alloc_t *a) {
    size_t size = fz_size(in, cap_of(s, a->pool));
    check_alloc(a, "before realloc");
    uint8_t *q = rp_pool_realloc(s->pools[a->pool], a->p, size);
    if (size == 0) {
        FZ_CHECK(q == NULL, "realloc to 0 gave %p", (void *)q);
        memset(a, 0, sizeof *a);
        return;
    }
    FZ_CHECK(q != NULL, "pool %d refused a realloc to %zu bytes: %s", a->pool, size, rp_last_error()->message);
    size_t keep = a->size < size ? a->size : size;
    uint32_t seed = a->seed;
    int pool = a->pool;
    a->p = NULL;
    /* Bytes past the kept part of a block that moved are not promised to be anything; a block
     * that stayed keeps them, and adopt() rewrites them all anyway. */
    adopt(s, a, q, size, pool, keep, seed);
}

static void op_free(fz_state_t *s, fz_alloc_t *a, bool sized) {
    check_alloc(a, "before free");
    if (sized) rp_pool_free_sized(s->pools[a->pool], a->p, a->size);
    else rp_pool_free(s->pools[a->pool], a->p);
    memset(a, 0, sizeof *a);
}

/* No pool but the owner claims an allocation. */
static void op_ownership(fz_state_t *s, fz_input_t *in, const fz_alloc_t *a) {
    int other = fz_u8(in) % FZ_POOLS;
    if (other == a->pool) {
        FZ_CHECK(rp_pool_usable_size(s->pools[other], a->p) == a->usable, "usable size changed");
        FZ_CHECK(rp_pool_owns(s->pools[other], a->p + fz_u16(in) % a->usable), "owner disowns an inner byte");
        return;
    }
    FZ_CHECK(!rp_pool_owns(s->pools[other], a->p), "pool %d claims pool %d's allocation", other, a->pool);
    FZ_CHECK(rp_pool_usable_size(s->pools[other], a->p) == 0 && rp_last_error()->status == RP_ERR_NOT_OWNED,
             "pool %d gives a usable size for pool %d's allocation", other, a->pool);
}

static void check_stats(fz_state_t *s, int pool) {
    rp_pool_trim(s->pools[pool]);
    rp_pool_stats_t st = {RP_SIZED(rp_pool_stats_t)};
    FZ_CHECK(rp_pool_stats(s->pools[pool], &st) == RP_OK, "rp_pool_stats: %s", rp_last_error()->message);
    size_t live = 0, used = 0;
    for (int i = 0; i < FZ_SLOTS; i++)
        if (s->allocs[i].p != NULL && s->allocs[i].pool == pool) {
            live++;
            used += s->allocs[i].usable;
        }
    FZ_CHECK(st.chunks_used == live, "pool %d: stats say %zu live allocations, the model %zu", pool, st.chunks_used, live);
    FZ_CHECK(st.used == used, "pool %d: stats say %zu bytes used, the model %zu", pool, st.used, used);
    FZ_CHECK(st.used + st.free == st.total, "pool %d: used %zu + free %zu != total %zu", pool, st.used, st.free, st.total);
    if (live == 0) {
        FZ_CHECK(st.arenas == 0 && st.locked == 0 && st.total == 0,
                 "pool %d: empty and trimmed, yet %zu arenas, %zu bytes locked, %zu bytes of slots", pool, st.arenas,
                 st.locked, st.total);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_state_t s;
    memset(&s, 0, sizeof s);
    s.next_seed = 1;
    static const unsigned flags[FZ_POOLS] = {0, RP_POOL_CANARY, RP_POOL_GUARDED, RP_POOL_GUARDED | RP_POOL_CANARY};
    for (int i = 0; i < FZ_POOLS; i++) {
        rp_pool_options_t c = rp_pool_options_default();
        c.lock_policy = RP_POOL_LOCK_SILENT;
        c.flags = flags[i];
        if (i == 2) c.pages = rp_pages_plain();
        if (i == 1) c.arena_size = 16u << 10; /* small arenas: more of them, more arena turnover */
        s.guarded[i] = (flags[i] & RP_POOL_GUARDED) != 0;
        FZ_CHECK(rp_pool_create(&c, &s.pools[i]) == RP_OK, "rp_pool_create: %s", rp_last_error()->message);
    }

    fz_input_t in = {data, size};
    while (in.left > 0) {
        uint8_t op = fz_u8(&in);
        fz_alloc_t *a = &s.allocs[fz_u8(&in) % FZ_SLOTS];
        bool live = a->p != NULL;
        switch (op % 8) {
        case 0: case 1:
            if (!live) op_alloc(&s, &in, a, op % 2);
            else op_free(&s, a, false);
            break;
        case 2:
            if (live) op_realloc(&s, &in, a);
            else op_alloc(&s, &in, a, false);
            break;
        case 3:
            if (live) op_free(&s, a, true);
            break;
        case 4:
            if (live) op_ownership(&s, &in, a);
            break;
        case 5:
            if (live) check_alloc(a, "on request");
            break;
        case 6:
            check_stats(&s, fz_u8(&in) % FZ_POOLS);
            break;
        default:
            /* realloc from NULL allocates */
            if (!live) {
                int pool = fz_u8(&in) % FZ_POOLS;
                size_t n = 1 + fz_size(&in, cap_of(&s, pool) - 1);
                uint8_t *p = rp_pool_realloc(s.pools[pool], NULL, n);
                FZ_CHECK(p != NULL, "realloc(NULL, %zu): %s", n, rp_last_error()->message);
                adopt(&s, a, p, n, pool, 0, 0);
            }
            break;
        }
    }

    for (int i = 0; i < FZ_SLOTS; i++)
        if (s.allocs[i].p != NULL) {
            check_alloc(&s.allocs[i], "at the end");
            op_free(&s, &s.allocs[i], i & 1);
        }
    for (int i = 0; i < FZ_POOLS; i++) {
        check_stats(&s, i);
        rp_pool_destroy(s.pools[i]);
    }
    return 0;
}
