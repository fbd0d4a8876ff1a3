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

/* The span size for a large block of need bytes (page-rounded).
 * - Up to 1 MiB, 8 sizes per doubling (as the small classes), so that blocks of sizes drawn from
 *   one range reuse each other's cached spans instead of each missing the cache and mapping
 *   (mstress: blocks of 128-256 KiB). At most 12.5% more address space.
 * - Above, where spans grow (rp__heap_spans_grow), the next power of two, so that a cached span
 *   also holds the next larger blocks of its range instead of growing to each new maximum. Growth
 *   is an mremap that moves every page of the span (the tail of a fresh mapping abuts the one
 *   mapped before it, so it cannot grow in place); a moved page costs its next access a TLB miss,
 *   and on a machine that shadows page tables a hidden fault: bigreuse (blocks of 1-8 MiB) grew its
 *   span five times, and the last growth, to 8 MiB, cost 15 ms, 12% of the run. At most twice the
 *   address space, of which only what is written becomes resident; realloc grows in place into the
 *   rest. Where spans do not grow, the exact size: the rest would be mapped for nothing.
 * Not on heaps whose pages all stay resident. need is at least a page: no shift underflows. */
static size_t rp__large_round(const rp_heap_t *heap, size_t need, size_t page) {
    if (heap->resident) return need;
    unsigned top = 63u - (unsigned)__builtin_clzll((unsigned long long)(need - 1)); /* need in (2^top, 2^(top+1)] */
    if (need > RP__LARGE_ROUND_MAX) return rp__heap_spans_grow(heap) ? (size_t)2 << top : need;
    size_t step = (size_t)1 << (top - 3u);
    return step > page ? rp__align_up(need, step) : need;
}

/* The heap's list of large blocks, under heap->lock. */
static void rp__large_link(rp_heap_t *heap, rp__large_t *lg) {
    lg->prev = NULL;
    lg->next = heap->large;
    if (heap->large) heap->large->prev = lg;
    heap->large = lg;
}

static void rp__large_unlink(rp_heap_t *heap, rp__large_t *lg) {
    if (lg->prev) lg->prev->next = lg->next;
    else heap->large = lg->next;
    if (lg->next) lg->next->prev = lg->prev;
}

/* A freed large block's span waiting in the cache with its descriptor serves a block at its base
 * in one section of the heap lock, taken from the cache and listed together, where the general
 * path takes the lock twice. The heap lock is the one lock that mstress's threads share (its
 * blocks of 128-256 KiB, round 14). NULL when the cache has no such span: the caller goes the
 * general way. */
static uint8_t *rp__large_reuse(rp_heap_t *heap, size_t need, size_t exact, size_t size) {
    rp__heap_lock(heap);
    rp__large_t *lg = rp__cache_take_large(heap, need, exact);
    if (lg != NULL) {
        lg->block = lg->span.base;
        lg->usable = lg->span.size;
        /* The entry of an over-aligned block of its last use goes; the base's stays. */
        int err = rp__segmap_move_large(lg);
        RP_ASSERT(err == 0); /* clearing an entry allocates nothing */
        (void)err;
        lg->asked = size == 0 ? 1 : size;
        rp__large_link(heap, lg);
        atomic_fetch_add(&heap->large_bytes, lg->span.size);
        atomic_fetch_add(&heap->large_count, 1);
    }
    rp__heap_unlock(heap);
    if (lg == NULL) return NULL;
    rp__asan_span_clean(lg->block, lg->usable); /* freed blocks of its last use */
    return lg->block;
}

void *rp__large_alloc(rp_heap_t *heap, size_t size, size_t alignment, bool zero) {
    size_t page = rp__os_page_size();
    size_t extra = alignment > page ? alignment - page : 0;
    size_t need = rp__align_up(size == 0 ? 1 : size, page);
    if (need == 0 || rp__add_overflows(need, extra, &need) || need > (SIZE_MAX >> 1)) {
        rp__fail(RP_ERR_NOMEM, 0, "heap: a block of %zu bytes (alignment %zu) is larger than any address space",
                 size, alignment);
        return NULL;
    }
    size_t exact = need;
    if (extra == 0) {
        need = rp__large_round(heap, need, page);
        /* With nothing cached the try would only cost a lock section. */
        uint8_t *reused = atomic_load_explicit(&heap->cached, memory_order_relaxed) != 0
                              ? rp__large_reuse(heap, need, exact, size) : NULL;
        if (reused != NULL) {
            if (zero) memset(reused, 0, size);
            return reused;
        }
    }
    size_t got = 0;
    bool fresh = false;
    rp__large_t *lg = NULL;
    uint8_t *block = NULL;
    /* Mapped and registered without the heap lock; only the list link is made under it. The
     * rounding is a convenience: under an address-space, commit or heap limit that the exact size
     * still fits, the exact size it is, and a malloc that succeeds leaves errno and rp_last_error
     * as they were. */
    int saved_os = rp__os_last_error();
    rp_error_t saved = *rp_last_error();
    uint8_t *base = rp__span_acquire(heap, need, exact, &got, &fresh, &lg);
    if (base == NULL && need > exact) {
        base = rp__span_acquire(heap, exact, exact, &got, &fresh, &lg);
        if (base != NULL) {
            *(rp_error_t *)rp_last_error() = saved;
            rp__os_set_last_error(saved_os);
        }
    }
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
        rp__large_link(heap, lg);
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
    /* ASan: freed, while its span waits in the cache (which cleans it before any reuse:
     * rp__asan_span_clean, with the same bound on the shadow it writes). */
    if (lg->span.size <= 16 * RP__SEG_SIZE_MAX) rp__asan_poison(p, lg->usable);
    rp__heap_lock(heap);
    rp__large_unlink(heap, lg);
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

/* realloc shrinking a large block to less than half of it, still large: the block stays where it
 * is and its pages past the new size go back to the OS (still mapped: they read as zeros if the
 * block grows into them again). A move would touch both blocks and copy, and could fail where
 * the block itself is enough (a 200 MiB block shrunk to 90 MiB: 0.33 s and 90 MiB more at the
 * peak). On OS pages only: a heap's own page source holds locked pages, which cannot be
 * discarded, and there the move gives them back whole. NULL when not done. */
void *rp__large_shrink(rp__large_t *lg, void *p, size_t size) {
    if ((uint8_t *)p != lg->block || size > lg->usable || lg->span.heap->pages != NULL) return NULL;
    uint8_t *keep_end = (uint8_t *)rp__align_up((uintptr_t)lg->block + size, rp__os_page_size());
    uint8_t *end = lg->block + lg->usable;
    /* Where the tail cannot be given back (Windows: its recommit failed) the block moves. */
    if (end > keep_end && rp__os_advise(keep_end, (size_t)(end - keep_end), RP__OS_ADV_FREE) != 0) return NULL;
    return p; /* the caller records the asked size (rp__large_expand) */
}

/* realloc growing a block of at least 1 MiB past its span, on OS pages: mremap grows the span,
 * in place where the addresses after it are free, else by moving its pages to where the kernel
 * chooses, instead of a copy. A copy has both blocks resident at once and writes every byte
 * again: a 300 MiB string built by appending peaked at 527 MB against glibc's 309 MB (glibc
 * moves its mmapped chunks so too).
 * - Not onto a range reserved first (MREMAP_FIXED): the kernel unmaps that range before checks
 *   that can still fail (the commit charge, a span the program split by mprotect or madvise), and
 *   another thread could map into the hole before the reservation was given back, which would
 *   then unmap that thread's memory. Without it, a failed mremap changes nothing.
 * - The map's tables for the new address are made ahead (spares), so that nothing can fail once
 *   the block has left its old address, which is then any thread's to map and register; its old
 *   entry goes before the move for that reason.
 * - The block leaves the heap's list while it moves, so that rp_heap_validate never sees it half
 *   moved; the heap lock is not held across the system call, whose page-table move other
 *   threads' large blocks would otherwise wait for.
 * - The span is rounded as a fresh one is (the next appends grow in place), or has the exact size
 *   where the rounded one does not fit (an address-space limit).
 * Not under Valgrind, whose records of the block would have to move with it, nor for a block with
 * released parts (rp_free_part records them by address; realloc of it is a double free, which
 * the copy path reports). NULL when not done: the caller copies. */
void *rp__large_grow(rp__large_t *lg, void *p, size_t size) {
    rp_heap_t *heap = lg->span.heap;
    if ((uint8_t *)p != lg->block || lg->block != lg->span.base || lg->span.size < RP__LARGE_ROUND_MAX ||
        size <= lg->usable || !rp__heap_spans_grow(heap) || rp__vg_on() ||
        atomic_load_explicit(&lg->partials, memory_order_relaxed) != 0)
        return NULL;
    size_t page = rp__os_page_size();
    size_t exact = rp__align_up(size, page);
    if (exact < size || exact > (SIZE_MAX >> 2)) return NULL; /* the copy reports it */
    size_t need = rp__large_round(heap, exact, page);
    int saved_os = rp__os_last_error();
    rp__segmap_spare_t spare;
    if (rp__segmap_spare_make(&spare) != 0) {
        rp__os_set_last_error(saved_os);
        return NULL;
    }
    rp__heap_lock(heap);
    rp__large_unlink(heap, lg);
    rp__heap_unlock(heap);
    rp__segmap_remove_large(lg);
    void *moved = NULL;
    int err = rp__os_remap(lg->span.base, lg->span.size, need, true, NULL, &moved);
    if (err != 0 && need > exact) {
        need = exact;
        err = rp__os_remap(lg->span.base, lg->span.size, need, true, NULL, &moved);
    }
    if (err != 0 && atomic_load_explicit(&heap->cached, memory_order_relaxed) != 0) {
        /* Under an address-space limit the spans the cache keeps mapped may be what is missing:
         * given back, and tried once more (the copy the caller falls back to needs the old and
         * the new block at once, more than the growth). */
        rp__heap_lock(heap);
        rp__cache_purge(heap, true);
        rp__heap_unlock(heap); /* unmaps what the purge dropped */
        err = rp__os_remap(lg->span.base, lg->span.size, need, true, NULL, &moved);
    }
    if (err == 0) {
        size_t grown = need - lg->span.size;
        lg->span.base = moved;
        lg->span.size = need;
        lg->block = moved;
        lg->usable = need;
        lg->asked = size;
        atomic_fetch_add(&heap->mapped, grown);
        atomic_fetch_add(&heap->large_bytes, grown);
    }
    rp__segmap_add_large_spared(lg, &spare); /* where it is now, moved or not */
    rp__heap_lock(heap);
    rp__large_link(heap, lg);
    rp__heap_unlock(heap);
    rp__segmap_spare_drop(&spare);
    rp__os_set_last_error(saved_os); /* a failed try of the rounded size set it */
    return err == 0 ? moved : NULL;
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
