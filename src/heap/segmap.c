/* SPDX-License-Identifier: MIT */
/* heap/segmap.c — the segment map: which span (segment, large block, donation) holds an address.
 *
 * Three levels over 48-bit addresses at 4 KiB granularity (heap_internal.h): a 32 KiB root in
 * .bss, then middles and leaves of 32 KiB mapped on first use, only the touched part resident
 * (8 KiB per 4 MiB segment). A lookup is three dependent loads and never touches the address
 * itself, so rp_free of a pointer the heap never handed out (a stack address, an unmapped one,
 * memory of another allocator) is recognised instead of crashing. Entries are atomic and tables
 * are installed with a compare-and-swap: no lock.
 *
 * Segments and donations map every granule. A large block maps two (its span's first granule and
 * its block's), so its cost does not grow with its size; the range list below resolves its other
 * addresses, on slow paths only.
 */
#include "heap/heap_internal.h"

_Atomic(rp__segmap_mid_t *) rp__segmap_root[RP__MAP_FAN];

/* Install a table at *slot (NULL: mapping failed, *err set). The first to install one wins. A
 * table made ahead (*spare, not NULL) is used before a new one is mapped; *spare is NULL once it
 * is installed, and stays the caller's to give back otherwise. */
static void *rp__segmap_table(_Atomic(void *) *slot, size_t size, void **spare, int *err) {
    void *t = atomic_load_explicit(slot, memory_order_acquire);
    if (t != NULL) return t;
    void *fresh = spare != NULL ? *spare : NULL;
    if (fresh == NULL) {
        *err = rp__os_alloc(size, &fresh);
        if (*err != 0) return NULL;
    }
    void *expect = NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &expect, fresh, memory_order_acq_rel, memory_order_acquire)) {
        if (spare != NULL && fresh == *spare) *spare = NULL;
        return fresh;
    }
    if (spare == NULL || fresh != *spare) rp__os_release(fresh, size);
    return expect;
}

/* The entry of address a, its tables made if create (from spare's first, when given); NULL when
 * absent (or mapping failed). */
static _Atomic uintptr_t *rp__segmap_slot(uintptr_t a, bool create, rp__segmap_spare_t *spare, int *err) {
    _Atomic(void *) *rslot = (_Atomic(void *) *)&rp__segmap_root[a >> (2 * RP__MAP_BITS + RP__MAP_SHIFT)];
    rp__segmap_mid_t *mid = create ? rp__segmap_table(rslot, sizeof(rp__segmap_mid_t), spare ? &spare->mid : NULL, err)
                                   : atomic_load_explicit(rslot, memory_order_acquire);
    if (mid == NULL) return NULL;
    _Atomic(void *) *mslot = (_Atomic(void *) *)&(*mid)[(a >> (RP__MAP_BITS + RP__MAP_SHIFT)) & RP__MAP_MASK];
    rp__segmap_leaf_t *leaf = create ? rp__segmap_table(mslot, sizeof(rp__segmap_leaf_t), spare ? &spare->leaf : NULL, err)
                                     : atomic_load_explicit(mslot, memory_order_acquire);
    if (leaf == NULL) return NULL;
    return &(*leaf)[(a >> RP__MAP_SHIFT) & RP__MAP_MASK];
}

int rp__segmap_spare_make(rp__segmap_spare_t *spare) {
    spare->mid = spare->leaf = NULL;
    int err = rp__os_alloc(sizeof(rp__segmap_mid_t), &spare->mid);
    if (err == 0) err = rp__os_alloc(sizeof(rp__segmap_leaf_t), &spare->leaf);
    if (err != 0) rp__segmap_spare_drop(spare);
    return err;
}

void rp__segmap_spare_drop(rp__segmap_spare_t *spare) {
    if (spare->mid != NULL) rp__os_release(spare->mid, sizeof(rp__segmap_mid_t));
    if (spare->leaf != NULL) rp__os_release(spare->leaf, sizeof(rp__segmap_leaf_t));
    spare->mid = spare->leaf = NULL;
}

int rp__segmap_set(const void *base, size_t size, rp__span_t *span) {
    uintptr_t a = (uintptr_t)base, end = a + size;
    RP_ASSERT(rp__is_aligned(a, RP__MAP_PAGE) && rp__is_aligned(size, RP__MAP_PAGE));
    if ((end - 1) >> RP__MAP_ADDR_BITS) return rp__os_err_nomem();
    uintptr_t value = (uintptr_t)span;
    for (; a < end; a += RP__MAP_PAGE) {
        int err = 0;
        _Atomic uintptr_t *slot = rp__segmap_slot(a, span != NULL, NULL, &err);
        if (slot == NULL) {
            if (span == NULL) continue;
            return err;
        }
        atomic_store_explicit(slot, value, memory_order_release);
    }
    return 0;
}

void rp__segmap_set_page(rp__page_t *page, bool in_use) {
    /* The segment's range is already mapped, so the tables exist. */
    uintptr_t value = in_use ? (uintptr_t)page | page->local->entry_bits : (uintptr_t)&page->seg->span;
    uintptr_t a = (uintptr_t)page->start, end = a + ((size_t)page->slices << RP__SLICE_SHIFT);
    for (; a < end; a += RP__MAP_PAGE) atomic_store_explicit(rp__segmap_slot(a, false, NULL, NULL), value, memory_order_release);
}

/* ---- large blocks: two entries and the range list ------------------------------------------------ */

static rp__large_t *rp__ranges;
static rp__os_mutex_t rp__range_lock = RP__OS_MUTEX_INIT;

static uintptr_t rp__granule(const void *p) { return (uintptr_t)p & ~(uintptr_t)(RP__MAP_PAGE - 1); }

static void rp__range_link(rp__large_t *lg) {
    rp__os_mutex_lock(&rp__range_lock);
    lg->rprev = NULL;
    lg->rnext = rp__ranges;
    if (rp__ranges != NULL) rp__ranges->rprev = lg;
    rp__ranges = lg;
    rp__os_mutex_unlock(&rp__range_lock);
}

int rp__segmap_add_large(rp__large_t *lg) {
    uintptr_t base = (uintptr_t)lg->span.base, last = base + lg->span.size - 1;
    if (last >> RP__MAP_ADDR_BITS) return rp__os_err_nomem();
    int err = rp__segmap_set((void *)base, RP__MAP_PAGE, &lg->span);
    if (err != 0) return err;
    lg->mapped_block = NULL;
    err = rp__segmap_move_large(lg);
    if (err != 0) {
        rp__segmap_set((void *)base, RP__MAP_PAGE, NULL);
        return err;
    }
    rp__range_link(lg);
    return 0;
}

void rp__segmap_add_large_spared(rp__large_t *lg, rp__segmap_spare_t *spare) {
    uintptr_t base = (uintptr_t)lg->span.base;
    RP_ASSERT(lg->block == lg->span.base);
    /* Linux places a mapping above 2^47 only when asked to (x86-64, arm64): checked all the same,
     * in every build, since an entry past the map's root would be written out of bounds. */
    if ((base + lg->span.size - 1) >> RP__MAP_ADDR_BITS)
        rp__corrupt("heap: mremap moved a large block above the 48-bit addresses the segment map covers", lg->block);
    int err = 0;
    _Atomic uintptr_t *slot = rp__segmap_slot(base, true, spare, &err);
    RP_ASSERT(slot != NULL); /* each level had a table or a spare */
    atomic_store_explicit(slot, (uintptr_t)&lg->span, memory_order_release);
    lg->mapped_block = NULL;
    rp__range_link(lg);
}

int rp__segmap_move_large(rp__large_t *lg) {
    uint8_t *want = rp__granule(lg->block) == (uintptr_t)lg->span.base ? NULL : (uint8_t *)rp__granule(lg->block);
    if (want == lg->mapped_block) return 0;
    if (want != NULL) {
        int err = rp__segmap_set(want, RP__MAP_PAGE, &lg->span);
        if (err != 0) return err;
    }
    if (lg->mapped_block != NULL) rp__segmap_set(lg->mapped_block, RP__MAP_PAGE, NULL);
    lg->mapped_block = want;
    return 0;
}

void rp__segmap_remove_large(rp__large_t *lg) {
    rp__segmap_set(lg->span.base, RP__MAP_PAGE, NULL);
    if (lg->mapped_block != NULL) rp__segmap_set(lg->mapped_block, RP__MAP_PAGE, NULL);
    lg->mapped_block = NULL;
    rp__os_mutex_lock(&rp__range_lock);
    if (lg->rprev) lg->rprev->rnext = lg->rnext;
    else rp__ranges = lg->rnext;
    if (lg->rnext) lg->rnext->rprev = lg->rprev;
    rp__os_mutex_unlock(&rp__range_lock);
}

static rp__large_t *rp__range_overlap(uintptr_t a, uintptr_t end) {
    rp__large_t *found = NULL;
    rp__os_mutex_lock(&rp__range_lock);
    for (rp__large_t *lg = rp__ranges; lg != NULL && found == NULL; lg = lg->rnext) {
        uintptr_t b = (uintptr_t)lg->span.base;
        if (a < b + lg->span.size && b < end) found = lg;
    }
    rp__os_mutex_unlock(&rp__range_lock);
    return found;
}

rp__span_t *rp__range_find(const void *p) {
    if (p == NULL) return NULL;
    rp__large_t *lg = rp__range_overlap((uintptr_t)p, (uintptr_t)p + 1);
    return lg != NULL ? &lg->span : NULL;
}

bool rp__segmap_any(const void *base, size_t size) {
    uintptr_t a = (uintptr_t)base, end = a + size;
    for (uintptr_t g = a; g < end; g += RP__MAP_PAGE)
        if (rp__segmap_entry((const void *)g) != 0) return true;
    return rp__range_overlap(a, end) != NULL;
}

void rp__segmap_fork_lock(bool lock) {
    if (lock) rp__os_mutex_lock(&rp__range_lock);
    else rp__os_mutex_unlock(&rp__range_lock);
}

void rp__segmap_fork_reset(void) { rp__os_mutex_reset(&rp__range_lock); }
