/* SPDX-License-Identifier: MIT */
/* heap/large.c — blocks above RP__SMALL_MAX (128 KiB): each gets a span of its own from the page
 * source, page-rounded (plus alignment slack when the alignment exceeds a page). A freed span
 * goes into the heap's span cache (segment.c) instead of back to the OS, together with its
 * descriptor, which stays in the segment map marked free (block NULL): reusing a multi-MiB block
 * then costs no page fault and no segment-map update; the cache gives it back after the purge
 * delay. calloc of a span fresh from the OS skips the memset (the OS hands out zeros; a page
 * source of yours need not).
 */
#include "heap/heap_internal.h"

void *rp__large_alloc(rp_heap_t *heap, size_t size, size_t alignment, bool zero) {
    size_t page = rp__os_page_size();
    size_t extra = alignment > page ? alignment - page : 0;
    size_t need = rp__align_up(size == 0 ? 1 : size, page);
    if (need == 0 || rp__add_overflows(need, extra, &need) || need > (SIZE_MAX >> 1)) {
        rp__fail(RP_ERR_NOMEM, 0, "heap: a block of %zu bytes (alignment %zu) is larger than any address space",
                 size, alignment);
        return NULL;
    }
    /* Up to 1 MiB, spans come in 8 sizes per doubling (as the small classes), so that blocks of
     * sizes drawn from one range reuse each other's cached spans instead of each missing the cache
     * and mapping (mstress: blocks of 128-256 KiB). At most 12.5% of address space more, of which
     * only what is written becomes resident; not on heaps whose pages all stay resident. */
    if (need <= RP__LARGE_ROUND_MAX && extra == 0 && !heap->resident) {
        size_t step = (size_t)1 << (63u - (unsigned)__builtin_clzll((unsigned long long)(need - 1)) - 3u);
        if (step > page) need = rp__align_up(need, step);
    }
    size_t got = 0;
    bool fresh = false;
    rp__large_t *lg = NULL;
    uint8_t *block = NULL;
    /* Mapped and registered without the heap lock; only the list link is made under it. */
    uint8_t *base = rp__span_acquire(heap, need, &got, &fresh, &lg);
    if (base == NULL) return NULL;
    bool mapped = lg != NULL; /* a cached descriptor is still in the segment map */
    uint8_t *at = (uint8_t *)rp__align_up((uintptr_t)base, alignment > RP__GRAN ? alignment : RP__GRAN);
    if (lg == NULL) lg = rp__meta_alloc(sizeof *lg);
    if (lg == NULL) {
        rp__fail(RP_ERR_NOMEM, rp__os_err_nomem(), "heap: no memory for a large block's descriptor");
    } else {
        lg->span = (rp__span_t){RP__SPAN_LARGE, base, got, heap};
        lg->block = at;
        int err = mapped ? rp__segmap_move_large(lg) : rp__segmap_add_large(lg);
        if (err != 0) {
            rp__fail(RP_ERR_NOMEM, err, "heap: no memory for the segment map of a large block");
            if (mapped) rp__segmap_remove_large(lg);
            rp__meta_free(lg, sizeof *lg);
            lg = NULL;
        }
    }
    rp__heap_lock(heap);
    if (lg == NULL) {
        rp__span_release(heap, base, got, NULL);
    } else {
        block = at;
        lg->block = block;
        lg->usable = (size_t)(base + got - block);
        lg->asked = size == 0 ? 1 : size;
        lg->prev = NULL;
        lg->next = heap->large;
        if (heap->large) heap->large->prev = lg;
        heap->large = lg;
        atomic_fetch_add(&heap->large_bytes, got);
        atomic_fetch_add(&heap->large_count, 1);
    }
    rp__heap_unlock(heap);
    if (block != NULL && zero && !fresh) memset(block, 0, size);
    return block;
}

void rp__large_free(rp__large_t *lg, void *p) {
    if ((uint8_t *)p != lg->block)
        rp__corrupt(lg->block == NULL ? "double free (of a large block)" : "free of a pointer inside a large block", p);
    if (atomic_load_explicit(&lg->partials, memory_order_relaxed) != 0 && rp__partial_has(p))
        rp__corrupt("double free (part of this block was already released with rp_free_part)", p);
    rp_heap_t *heap = lg->span.heap;
    rp__vg_block_free(p, lg->usable);
    if (heap->flags & RP_HEAP_WIPE) rp__memzero_resident(lg->block, lg->usable);
    rp__vg_noaccess(p, lg->usable);
    rp__heap_lock(heap);
    if (lg->prev) lg->prev->next = lg->next;
    else heap->large = lg->next;
    if (lg->next) lg->next->prev = lg->prev;
    lg->block = NULL;
    atomic_fetch_sub(&heap->large_bytes, lg->span.size);
    atomic_fetch_sub(&heap->large_count, 1);
    rp__span_release(heap, lg->span.base, lg->span.size, lg);
    rp__heap_unlock(heap);
}

/* Kept in place, the block's asked size follows (rp_free_part completes it there). */
void *rp__large_expand(rp__large_t *lg, void *p, size_t size) {
    if ((uint8_t *)p != lg->block || size > lg->usable) return NULL;
    lg->asked = size == 0 ? 1 : size;
    return p;
}

void rp__large_destroy_all(rp_heap_t *heap) {
    for (rp__large_t *lg = heap->large, *next; lg != NULL; lg = next) {
        next = lg->next;
        rp__segmap_remove_large(lg);
        rp__span_return(heap, lg->span.base, lg->span.size);
        rp__meta_free(lg, sizeof *lg);
    }
    heap->large = NULL;
    atomic_store(&heap->large_bytes, 0);
    atomic_store(&heap->large_count, 0);
}
