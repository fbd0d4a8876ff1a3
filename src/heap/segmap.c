/* SPDX-License-Identifier: MIT */
/* heap/segmap.c — the segment map: which span (segment, large block, donation) holds an address.
 *
 * Two levels over 48-bit addresses at 4 KiB granularity: a root of 2^18 leaf pointers (2 MiB of
 * zero pages until used) and leaves of 2^18 span pointers (2 MiB each, mapped on first use, only
 * the touched part becomes resident: 8 KiB per 4 MiB segment). A lookup is two dependent loads and
 * never touches the address itself, so rp_free of a pointer the heap never handed out (a stack
 * address, an unmapped one, memory of another allocator) is recognised instead of crashing.
 * Entries are atomic and leaves are installed with a compare-and-swap: no lock.
 */
#include "heap/heap_internal.h"

_Atomic(rp__segmap_leaf_t *) rp__segmap_root[(size_t)1 << RP__MAP_L1_BITS];

#define RP__MAP_L2_MASK (((size_t)1 << RP__MAP_L2_BITS) - 1)

static rp__segmap_leaf_t *rp__segmap_leaf(uintptr_t a, bool create, int *err) {
    size_t top = a >> (RP__MAP_L2_BITS + RP__MAP_SHIFT);
    rp__segmap_leaf_t *leaf = atomic_load_explicit(&rp__segmap_root[top], memory_order_acquire);
    if (leaf != NULL || !create) return leaf;
    /* Map the leaf outside any lock; the first to install one wins, the loser gives its back. */
    void *fresh = NULL;
    *err = rp__os_alloc(sizeof(rp__segmap_leaf_t), &fresh);
    if (*err != 0) return NULL;
    rp__segmap_leaf_t *expect = NULL;
    if (atomic_compare_exchange_strong_explicit(&rp__segmap_root[top], &expect, (rp__segmap_leaf_t *)fresh,
                                                memory_order_acq_rel, memory_order_acquire))
        return fresh;
    rp__os_release(fresh, sizeof(rp__segmap_leaf_t));
    return expect;
}

int rp__segmap_set(const void *base, size_t size, rp__span_t *span) {
    uintptr_t a = (uintptr_t)base, end = a + size;
    RP_ASSERT(rp__is_aligned(a, RP__MAP_PAGE) && rp__is_aligned(size, RP__MAP_PAGE));
    if ((end - 1) >> (RP__MAP_L1_BITS + RP__MAP_L2_BITS + RP__MAP_SHIFT)) return rp__os_err_nomem();
    for (; a < end; a += RP__MAP_PAGE) {
        int err = 0;
        rp__segmap_leaf_t *leaf = rp__segmap_leaf(a, span != NULL, &err);
        if (leaf == NULL) {
            if (span == NULL) continue;
            return err;
        }
        atomic_store_explicit(&(*leaf)[(a >> RP__MAP_SHIFT) & RP__MAP_L2_MASK],
                              span != NULL ? (uintptr_t)span | RP__MAP_SPAN : 0, memory_order_release);
    }
    return 0;
}

void rp__segmap_set_page(rp__page_t *page, bool in_use) {
    /* The segment's range is already mapped, so the leaves exist. */
    uintptr_t value = in_use ? (uintptr_t)page : (uintptr_t)&page->seg->span | RP__MAP_SPAN;
    uintptr_t a = (uintptr_t)page->start, end = a + ((size_t)page->slices << RP__SLICE_SHIFT);
    for (; a < end; a += RP__MAP_PAGE) {
        rp__segmap_leaf_t *leaf = atomic_load_explicit(&rp__segmap_root[a >> (RP__MAP_L2_BITS + RP__MAP_SHIFT)],
                                                       memory_order_acquire);
        atomic_store_explicit(&(*leaf)[(a >> RP__MAP_SHIFT) & RP__MAP_L2_MASK], value, memory_order_release);
    }
}

bool rp__segmap_any(const void *base, size_t size) {
    uintptr_t a = (uintptr_t)base, end = a + size;
    for (; a < end; a += RP__MAP_PAGE)
        if (rp__segmap_get((const void *)a) != NULL) return true;
    return false;
}
