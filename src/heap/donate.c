/* SPDX-License-Identifier: MIT */
/* heap/donate.c — separate deallocation (ralloc's "free what was never allocated"): a buffer the
 * caller owns (a static array, a mapping) is handed to a heap, which serves blocks from it once
 * its own pages of a size class run out.
 *
 * A donation is managed first-fit in 16-byte granules with two bitmaps kept in pages of their own
 * (never in the buffer, which may be tiny): "used" and "first granule of a block". The OS pages
 * the buffer touches are entered in the segment map, so rp_free of a block from it is recognised
 * and a pointer elsewhere in those pages is reported as not the heap's. All access is under the
 * heap lock. Two donations may not share an OS page.
 */
#include "heap/heap_internal.h"

static rp__os_mutex_t rp__donate_lock = RP__OS_MUTEX_INIT;

/* Fork (heap.c): held across it (0: lock, 1: parent unlocks), reset in the child (2), so a
 * donation under way in another thread at fork time cannot leave the child's lock taken. */
void rp__donate_fork(int phase) {
    if (phase == 0) rp__os_mutex_lock(&rp__donate_lock);
    else if (phase == 1) rp__os_mutex_unlock(&rp__donate_lock);
    else rp__os_mutex_reset(&rp__donate_lock);
}

static bool rp__bit(const uint64_t *w, size_t i) { return (w[i >> 6] >> (i & 63)) & 1; }
static void rp__bit_set(uint64_t *w, size_t i) { w[i >> 6] |= (uint64_t)1 << (i & 63); }
static void rp__bit_clear(uint64_t *w, size_t i) { w[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

rp_status_t rp_heap_donate(rp_heap_t *heap, void *buf, size_t len) {
    if (heap == NULL || buf == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_heap_donate: no %s given", heap ? "buffer" : "heap");
    /* A heap that promises locked or secret memory would serve blocks from a buffer that is
     * neither: a silent downgrade, so the donation is refused instead. */
    const rp_page_allocator_t *secret = rp_pages_secret();
    if ((heap->flags & RP_HEAP_REQUIRE_LOCKED) || (secret != NULL && heap->pages == secret))
        return rp__fail(RP_ERR_INVALID, 0, "rp_heap_donate: this heap promises %s memory and a donated buffer is not; "
                        "donate to a heap without RP_HEAP_REQUIRE_LOCKED on an ordinary page source",
                        (heap->flags & RP_HEAP_REQUIRE_LOCKED) ? "locked" : "secret");
    uintptr_t end;
    if (len < 64 || rp__add_overflows((uintptr_t)buf, len, (size_t *)&end))
        return rp__fail(RP_ERR_INVALID, 0, "rp_heap_donate: %zu bytes at %p (at least 64 are needed)", len, buf);
    uintptr_t start = rp__align_up((uintptr_t)buf, RP__GRAN);
    end &= ~(uintptr_t)(RP__GRAN - 1);
    if (start == 0 || end <= start || (end - start) < 64)
        return rp__fail(RP_ERR_INVALID, 0, "rp_heap_donate: %zu bytes at %p hold too few aligned granules", len, buf);
    size_t ngran = (size_t)(end - start) >> RP__GRAN_SHIFT;
    uintptr_t pbase = start & ~(uintptr_t)(RP__MAP_PAGE - 1);
    uintptr_t pend = rp__align_up(end, RP__MAP_PAGE);
    size_t words = (ngran + 63) / 64;
    size_t meta_size = rp__align_up(2 * words * sizeof(uint64_t), rp__os_page_size());

    rp__donated_t *d = rp__meta_alloc(sizeof *d);
    void *bits = NULL;
    if (d == NULL || rp__os_alloc(meta_size, &bits) != 0) {
        rp__meta_free(d, sizeof *d);
        return rp__fail(RP_ERR_NOMEM, rp__os_err_nomem(), "rp_heap_donate: no memory for the bitmaps");
    }
    d->span = (rp__span_t){RP__SPAN_DONATED, (uint8_t *)pbase, (size_t)(pend - pbase), heap};
    d->start = (uint8_t *)start;
    d->ngran = ngran;
    d->used = bits;
    d->first = (uint64_t *)bits + words;
    d->meta_size = meta_size;

    rp_status_t st = RP_OK;
    rp__os_mutex_lock(&rp__donate_lock);
    if (rp__segmap_any((void *)pbase, (size_t)(pend - pbase))) {
        st = rp__fail(RP_ERR_EXISTS, 0,
                      "rp_heap_donate: %p..%p overlaps memory a heap already manages (or shares an OS page with "
                      "an earlier donation)", buf, (void *)(uintptr_t)((uintptr_t)buf + len));
    } else if (rp__segmap_set((void *)pbase, (size_t)(pend - pbase), &d->span) != 0) {
        rp__segmap_set((void *)pbase, (size_t)(pend - pbase), NULL);
        st = rp__fail(RP_ERR_NOMEM, rp__os_err_nomem(), "rp_heap_donate: no memory for the segment map");
    }
    rp__os_mutex_unlock(&rp__donate_lock);
    if (st != RP_OK) {
        rp__os_release(bits, meta_size);
        rp__meta_free(d, sizeof *d);
        return st;
    }
    rp__vg_noaccess(d->start, ngran << RP__GRAN_SHIFT); /* Valgrind: free granules until handed out */
    rp__heap_lock(heap);
    d->next = heap->donated;
    heap->donated = d;
    atomic_fetch_add(&heap->donated_bytes, ngran << RP__GRAN_SHIFT);
    rp__heap_unlock(heap);
    return RP_OK;
}

void *rp__donated_alloc(rp_heap_t *heap, size_t size) {
    size_t n = (size + RP__GRAN - 1) >> RP__GRAN_SHIFT;
    for (rp__donated_t *d = heap->donated; d != NULL; d = d->next) {
        size_t run = 0;
        for (size_t g = 0; g < d->ngran; g++) {
            if ((g & 63) == 0 && d->used[g >> 6] == ~(uint64_t)0) {
                run = 0;
                g += 63;
                continue;
            }
            run = rp__bit(d->used, g) ? 0 : run + 1;
            if (run == n) {
                size_t first = g + 1 - n;
                for (size_t i = first; i <= g; i++) rp__bit_set(d->used, i);
                rp__bit_set(d->first, first);
                return d->start + (first << RP__GRAN_SHIFT);
            }
        }
    }
    return NULL;
}

/* Granules of the block that starts at granule g. pre: heap lock held, g starts a live block. */
static size_t rp__donated_len(const rp__donated_t *d, size_t g) {
    size_t e = g + 1;
    while (e < d->ngran && rp__bit(d->used, e) && !rp__bit(d->first, e)) e++;
    return e - g;
}

size_t rp__donated_usable(rp__donated_t *d, const void *p, bool *live) {
    const uint8_t *q = p;
    *live = false;
    if (q < d->start || q >= d->start + (d->ngran << RP__GRAN_SHIFT) || ((uintptr_t)q & (RP__GRAN - 1))) return 0;
    size_t g = (size_t)(q - d->start) >> RP__GRAN_SHIFT, n = 0;
    rp__heap_lock(d->span.heap);
    if (rp__bit(d->first, g)) {
        *live = true;
        n = rp__donated_len(d, g) << RP__GRAN_SHIFT;
    }
    rp__heap_unlock(d->span.heap);
    return n;
}

void rp__donated_free(rp__donated_t *d, void *p) {
    uint8_t *q = p;
    if (q < d->start || q >= d->start + (d->ngran << RP__GRAN_SHIFT) || ((uintptr_t)q & (RP__GRAN - 1)))
        rp__corrupt("free of a pointer the heap did not hand out (inside a donated page)", p);
    if (atomic_load_explicit(&d->partials, memory_order_relaxed) != 0 && rp__partial_has(p))
        rp__corrupt("double free (part of this block was already released with rp_free_part)", p);
    size_t g = (size_t)(q - d->start) >> RP__GRAN_SHIFT;
    rp_heap_t *heap = d->span.heap;
    rp__heap_lock(heap);
    if (!rp__bit(d->first, g)) {
        bool used = rp__bit(d->used, g);
        rp__heap_unlock(heap);
        rp__corrupt(used ? "free of a pointer that is not the start of a block" : "double free", p);
    }
    size_t n = rp__donated_len(d, g);
    rp__vg_block_free(q, n << RP__GRAN_SHIFT);
    if (heap->flags & RP_HEAP_WIPE) rp_memzero(q, n << RP__GRAN_SHIFT);
    rp__vg_noaccess(q, n << RP__GRAN_SHIFT);
    rp__bit_clear(d->first, g);
    for (size_t i = g; i < g + n; i++) rp__bit_clear(d->used, i);
    rp__heap_unlock(heap);
}

void rp__donated_destroy_all(rp_heap_t *heap) {
    for (rp__donated_t *d = heap->donated, *next; d != NULL; d = next) {
        next = d->next;
        /* The buffer stays with its owner, so destroying a wiping heap must wipe the blocks still
         * live in it (free granules are zero already; wiping all of them is simpler). */
        rp__vg_defined(d->start, d->ngran << RP__GRAN_SHIFT); /* Valgrind: the owner's buffer again */
        if (heap->flags & RP_HEAP_WIPE) rp_memzero(d->start, d->ngran << RP__GRAN_SHIFT);
        rp__segmap_set(d->span.base, d->span.size, NULL);
        rp__os_release(d->used, d->meta_size);
        rp__meta_free(d, sizeof *d);
    }
    heap->donated = NULL;
}

rp_status_t rp__donated_validate(rp_heap_t *heap) {
    for (rp__donated_t *d = heap->donated; d != NULL; d = d->next) {
        if (rp__segmap_get(d->start) != &d->span)
            return rp__fail(RP_ERR_CORRUPT, 0, "heap validate: donation at %p left the segment map", (void *)d->start);
        for (size_t w = 0; w < (d->ngran + 63) / 64; w++)
            if (d->first[w] & ~d->used[w])
                return rp__fail(RP_ERR_CORRUPT, 0, "heap validate: donation at %p has a block start on a free granule",
                                (void *)d->start);
    }
    return RP_OK;
}
