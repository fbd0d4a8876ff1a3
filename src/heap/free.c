/* SPDX-License-Identifier: MIT */
/* heap/free.c — freeing: the slow paths of free (blocks of other threads, wiping heaps, large
 * blocks, donations), sized free, and partial deallocation with its side table.
 *
 * Remote frees: a block freed by a thread that does not own its page is pushed onto the page's
 * atomic xfree list, which counts it too (one CAS). A thread with a cache of its own gathers
 * such blocks per page first and pushes each gathering with one CAS ("remote frees in batches"
 * below). If the push takes the page's "full" mark (RP__XFREE_FULL), the freeing thread also
 * pushes the page onto its owner's reclaim stack, so the owner uses it again.
 *
 * Partial deallocation (ralloc's "free any sub-range"): rp_free_part records the released byte
 * ranges of a block in a side table keyed by the block's address (nodes outside the heap's
 * memory). The block is freed as a whole once its released ranges form one run from its start
 * that is longer than the next smaller size class: every request that could have produced this
 * block is then covered. A range that overlaps one released before is a double free.
 */
#include "heap/heap_internal.h"

/* ---- free ------------------------------------------------------------------------------------------ */

void rp__free(void *p) { rp__free_inline(p); }

/* The leaf of p's region is not in this thread's cache: look it up (and cache it, unless this
 * thread has no cache of its own to write). */
void rp__free_miss(void *p) {
    rp__local_t *local = rp__tls_local;
    uintptr_t a = (uintptr_t)p;
    rp__segmap_leaf_t *leaf = rp__segmap_leaf(a);
    if (leaf == NULL) {
        rp__free_other(p, 0, local); /* NULL, or not the heap's */
        return;
    }
    if (local != RP__LOCAL_NONE) {
        uintptr_t key = a >> RP__LEAF_SHIFT;
        unsigned slot = (unsigned)key & (RP__LEAF_SLOTS - 1);
        local->leaf_key[slot] = key;
        local->leaf_bias[slot] = (uintptr_t)leaf - (key << RP__MAP_BITS) * sizeof(uintptr_t);
    }
    rp__free_at(p, atomic_load_explicit(&(*leaf)[(a >> RP__MAP_SHIFT) & RP__MAP_MASK], memory_order_acquire), local);
}

/* Every free the inline path does not finish: another thread's block (straight to its page's
 * remote list), a page with flags (wiping, full, partly released), Valgrind, large and donated
 * blocks, NULL, pointers the heap does not own. */
static void rp__free_remote_batched(rp__local_t *local, rp__page_t *page, rp__block_t *b);

void rp__free_other(void *p, uintptr_t e, rp__local_t *local) {
    if (rp__entry_is_page(e) && !rp__vg_on()) {
        rp__page_t *page = rp__entry_page(e);
        /* Whose page, from the descriptor's first line, which nobody writes while the page is in
         * use: the owner word shares the second with the lists its owner writes on every malloc
         * and free, and reading it from another core cost a miss on most remote frees. */
        if (page->local != local && atomic_load_explicit(&page->partials, memory_order_relaxed) == 0 &&
            page->wipe == 0 && page->shared == 0) {
            /* Another thread's block (no errno to keep: this path makes no call that could
             * change it). carved is the owner's to change, so the block check uses the count the
             * owner publishes (xcarved); rp__free_remote checks the mark. */
            size_t off = (size_t)((uint8_t *)p - page->start);
            uint64_t idx = (uint64_t)off * page->magic >> RP__MAGIC_SHIFT;
            if (RP_UNLIKELY(idx * page->bsize != off || idx >= atomic_load_explicit(&page->xcarved, memory_order_relaxed)))
                rp__bad_free(p, NULL);
            if (local != RP__LOCAL_NONE && page->bsize <= RP__XBATCH_BSIZE_MAX)
                rp__free_remote_batched(local, page, (rp__block_t *)p);
            else
                rp__free_remote(page, (rp__block_t *)p);
            return;
        }
    }
    if (p != NULL) rp__heap_free_slow(p, rp__segmap_get(p));
}

void rp__free_sized_slow(void *p, size_t size) {
    if (p != NULL && size > rp__usable(p)) rp__corrupt("sized free with a size larger than the block", p);
    rp__free_miss(p);
}

/* Mark block b of another thread's page freed. */
static void rp__remote_mark(rp__page_t *page, rp__block_t *b) {
    /* Freed twice by other threads (or by one after its owner): the mark is already there. The
     * mark goes in with one atomic exchange, so of two threads freeing the block at the same
     * instant exactly one finds it unset (the owner takes the remote list without reading it,
     * page.c, so a block pushed twice would not be found later). */
    if (__atomic_exchange_n((uintptr_t *)b + 1, rp__freed_mark(b), __ATOMIC_RELAXED) == rp__freed_mark(b))
        rp__corrupt("double free", b);
    if (RP__DEBUG) rp__debug_on_free(page, b);
    rp__asan_block_freed(page, b); /* before the push: then the owner may pop it at once */
    /* Valgrind: no-access past the link and mark, which the owner's collect reads and closes. */
    rp__vg_noaccess((uint8_t *)b + RP__FREE_WORDS, page->bsize - RP__FREE_WORDS);
}

/* Push the marked blocks head .. tail (linked through next, n of them) onto page's remote list. */
static void rp__remote_push(rp__page_t *page, rp__block_t *head, rp__block_t *tail, uint32_t n) {
    uintptr_t as_head = rp__xfree_head_bits(page, head);
    uintptr_t old = atomic_load_explicit(&page->xfree, memory_order_relaxed), pushed;
    do {
        tail->next = rp__xfree_head(page, old);
        pushed = as_head | ((uintptr_t)(rp__xfree_count(old) + n) << RP__XFREE_COUNT_SHIFT); /* no full mark */
    } while (!atomic_compare_exchange_weak_explicit(&page->xfree, &old, pushed, memory_order_release,
                                                    memory_order_relaxed));
    if (old & RP__XFREE_FULL) {
        /* We took the mark: the page is off its owner's lists until we hand it back. */
        rp__local_t *owner = page->local;
        rp__page_t *top = atomic_load_explicit(&owner->reclaim, memory_order_relaxed);
        do {
            page->reclaim_next = top;
        } while (!atomic_compare_exchange_weak_explicit(&owner->reclaim, &top, page, memory_order_release,
                                                        memory_order_relaxed));
    }
}

void rp__free_remote(rp__page_t *page, rp__block_t *b) {
    rp__remote_mark(page, b);
    rp__remote_push(page, b, b, 1);
}

/* ---- remote frees in batches ----------------------------------------------------------------------
 *
 * A thread freeing blocks of other threads' pages gathers them per page, marked freed at once
 * (the double-free checks see them so), and pushes each page's gathering with one CAS: when it
 * holds RP__XBATCH_BYTES, when a free for another page falls on its slot, at the thread's next
 * malloc slow path, at its exit and at rp_heap_collect. The CAS onto the page's remote word, a
 * line the owner's collect takes back, was 57% of the remote free's time in mstress; a page's
 * blocks mostly leave in runs (a consumer freeing what a producer made in a row). Until pushed
 * they count as in use on their page: at most RP__XBATCH_SLOTS * RP__XBATCH_BYTES (128 KiB) per
 * thread, of blocks of at most RP__XBATCH_BSIZE_MAX bytes; larger ones go at once. */

static void rp__xbatch_flush(rp__local_t *local, unsigned i) {
    rp__xbatch_t *x = &local->xbatch[i];
    rp__remote_push(x->page, x->head, x->tail, x->count);
    x->page = NULL;
    local->xbatch_mask &= ~(1u << i);
}

void rp__xbatch_flush_all(rp__local_t *local) {
    while (local->xbatch_mask != 0) rp__xbatch_flush(local, (unsigned)__builtin_ctz(local->xbatch_mask));
}

void rp__xbatch_drop(rp__local_t *local) {
    for (unsigned i = 0; i < RP__XBATCH_SLOTS; i++) local->xbatch[i].page = NULL;
    local->xbatch_mask = 0;
}

static void rp__free_remote_batched(rp__local_t *local, rp__page_t *page, rp__block_t *b) {
    rp__remote_mark(page, b);
    /* Page descriptors lie 3 lines apart in a segment: 8 neighbours take 8 different slots. */
    unsigned i = (unsigned)((uintptr_t)page >> 6) & (RP__XBATCH_SLOTS - 1);
    rp__xbatch_t *x = &local->xbatch[i];
    if (x->page == page) {
        b->next = x->head;
        x->head = b;
        if (++x->count >= x->limit) rp__xbatch_flush(local, i);
        return;
    }
    if (x->page != NULL) rp__xbatch_flush(local, i);
    x->page = page;
    x->head = x->tail = b;
    x->count = 1;
    x->limit = RP__XBATCH_BYTES / page->bsize;
    local->xbatch_mask |= 1u << i;
}

static void rp__free_local(rp__local_t *local, rp__page_t *page, rp__block_t *b);

static void rp__free_segment(void *p, rp__segment_t *seg) {
    rp__page_t *page = seg->slice_page[(size_t)((uint8_t *)p - seg->span.base) >> RP__SLICE_SHIFT];
    if (page == NULL || (uint8_t *)p < page->start) rp__bad_free(p, page);
    size_t off = (size_t)((uint8_t *)p - page->start);
    uint64_t idx = (uint64_t)off * page->magic >> RP__MAGIC_SHIFT;
    if (idx * page->bsize != off || idx >= atomic_load_explicit(&page->xcarved, memory_order_relaxed))
        rp__bad_free(p, page);
    rp__vg_block_free(p, page->bsize);
    if (atomic_load_explicit(&page->partials, memory_order_relaxed) != 0 && rp__partial_has(p))
        rp__corrupt("double free (part of this block was already released with rp_free_part)", p);
    if (rp__is_marked(p)) rp__corrupt("double free", p);
    rp__asan_unpoison(p, page->bsize); /* the redzone (alloc.c): wiped, then poisoned with the rest */
    /* Past the link and the mark, which the free writes next anyway: wiping the mark too would
     * let a second thread freeing the block at the same time find it unset (free_remote). */
    if (page->wipe) rp_memzero((uint8_t *)p + RP__FREE_WORDS, page->bsize - RP__FREE_WORDS);
    rp__block_t *b = p;
    rp__local_t *local = rp__tls_mine;
    if (page->shared) {
        /* A first-class heap: its one cache is used under the heap lock, so free into it directly
         * (the block is reusable at once and the counts are exact). */
        rp_heap_t *heap = page->local->heap;
        rp__heap_lock(heap);
        rp__free_local(page->local, page, b);
        rp__heap_unlock(heap);
        return;
    }
    if (local == NULL || page->local != local) {
        rp__free_remote(page, b);
        return;
    }
    rp__free_local(local, page, b);
}

static void rp__free_local(rp__local_t *local, rp__page_t *page, rp__block_t *b) {
    void *p = b;
    if (!rp__is_block(page, p) || rp__is_marked(p)) rp__bad_free(p, page);
    if (RP__DEBUG) rp__debug_on_free(page, b);
    rp__asan_block_freed(page, b);
    rp__local_enter(local);
    rp__mark(b);
    b->next = page->local_free;
    page->local_free = b;
    rp__vg_noaccess(b, page->bsize);
    if (atomic_load_explicit(&page->owner, memory_order_relaxed) & RP__PAGE_FULL) rp__page_unfull(local, page);
    uint32_t used = atomic_load_explicit(&page->used, memory_order_relaxed) - 1;
    atomic_store_explicit(&page->used, used, memory_order_relaxed);
    if (used == 0) rp__page_retire(local, page);
    rp__local_leave(local);
}

void rp__heap_free_slow(void *p, rp__span_t *span) {
    int saved = rp__os_last_error();
    if (span == NULL) rp__corrupt("free of a pointer the heap did not hand out", p);
    switch (span->kind) {
    case RP__SPAN_SEGMENT: rp__free_segment(p, (rp__segment_t *)span); break;
    case RP__SPAN_LARGE: rp__large_free((rp__large_t *)span, p); break;
    case RP__SPAN_DONATED: rp__donated_free((rp__donated_t *)span, p); break;
    }
    rp__os_set_last_error(saved);
}

void rp_free(void *p) { rp__free_inline(p); }

void rp_free_sized(void *p, size_t size) { rp__free_sized_inline(p, size); }

/* ---- partial deallocation -------------------------------------------------------------------------- */

typedef struct rp__part {
    struct rp__part *next;
    uint8_t *block;
    size_t extent;     /* usable size */
    _Atomic int *counter;
    rp_heap_t *heap;
    uint32_t n;
    struct {
        size_t lo, hi;
    } r[RP__PART_MAX]; /* sorted, disjoint, not adjacent */
} rp__part_t;
_Static_assert(sizeof(rp__part_t) <= 256, "a partial record is one metadata node");

#define RP__PART_BUCKETS 256
static rp__part_t *rp__parts[RP__PART_BUCKETS];
static rp__os_mutex_t rp__part_lock = RP__OS_MUTEX_INIT;

static size_t rp__part_bucket(const void *block) {
    return (size_t)(((uintptr_t)block >> RP__GRAN_SHIFT) * 0x9E3779B97F4A7C15ull >> 56) % RP__PART_BUCKETS;
}

static rp__part_t **rp__part_find(const void *block) {
    rp__part_t **at = &rp__parts[rp__part_bucket(block)];
    while (*at != NULL && (*at)->block != block) at = &(*at)->next;
    return at;
}

bool rp__partial_has(const void *block) {
    rp__os_mutex_lock(&rp__part_lock);
    bool has = *rp__part_find(block) != NULL;
    rp__os_mutex_unlock(&rp__part_lock);
    return has;
}

void rp__partial_fork(int phase) {
    if (phase == 0) rp__os_mutex_lock(&rp__part_lock);
    else if (phase == 1) rp__os_mutex_unlock(&rp__part_lock);
    else rp__os_mutex_reset(&rp__part_lock);
}

void rp__partial_forget_heap(rp_heap_t *heap) {
    rp__os_mutex_lock(&rp__part_lock);
    for (size_t i = 0; i < RP__PART_BUCKETS; i++) {
        for (rp__part_t **at = &rp__parts[i]; *at != NULL;) {
            rp__part_t *e = *at;
            if (e->heap == heap) {
                *at = e->next;
                rp__meta_free(e, sizeof *e);
            } else {
                at = &e->next;
            }
        }
    }
    rp__os_mutex_unlock(&rp__part_lock);
}

rp_status_t rp__partial_validate(rp_heap_t *heap) {
    rp_status_t st = RP_OK;
    rp__os_mutex_lock(&rp__part_lock);
    for (size_t i = 0; i < RP__PART_BUCKETS && st == RP_OK; i++) {
        for (rp__part_t *e = rp__parts[i]; e != NULL && st == RP_OK; e = e->next) {
            if (e->heap != heap) continue;
            bool ok = e->n > 0 && e->n <= RP__PART_MAX && rp__segmap_get(e->block) != NULL;
            for (uint32_t k = 0; ok && k < e->n; k++) {
                ok = e->r[k].lo < e->r[k].hi && e->r[k].hi <= e->extent && (k == 0 || e->r[k - 1].hi < e->r[k].lo);
            }
            if (!ok) st = rp__fail(RP_ERR_CORRUPT, 0, "heap validate: partial-release record of %p is damaged",
                                   (void *)e->block);
        }
    }
    rp__os_mutex_unlock(&rp__part_lock);
    return st;
}

/* The live block holding p: its start, usable size, completion threshold and record counter.
 * page_flags: the page's owner word for a segment block (RP__PAGE_PARTIAL goes there), else NULL.
 * The threshold is worked out at every call, never kept in the record: rp_realloc_in_place and
 * realloc change a large block's asked size, and a threshold kept from the first release freed a
 * grown block while bytes of its new size were never released (or never freed a shrunk one). */
static bool rp__part_block(void *p, uint8_t **block, size_t *extent, size_t *threshold, _Atomic int **counter,
                           _Atomic uintptr_t **page_flags, rp_heap_t **heap) {
    *page_flags = NULL;
    rp__span_t *span = rp__segmap_get(p);
    if (span == NULL) return false;
    *heap = span->heap;
    if (span->kind == RP__SPAN_SEGMENT) {
        rp__segment_t *seg = (rp__segment_t *)span;
        rp__page_t *page = seg->slice_page[(size_t)((uint8_t *)p - span->base) >> RP__SLICE_SHIFT];
        if (page == NULL || (uint8_t *)p < page->start) return false;
        size_t idx = (size_t)((uint64_t)(size_t)((uint8_t *)p - page->start) * page->magic >> RP__MAGIC_SHIFT);
        /* Live: handed out (below the count the owner publishes) and not marked freed. Under
         * Valgrind the mark is not read: a live block's second word may be undefined there. */
        if (idx >= atomic_load_explicit(&page->xcarved, memory_order_relaxed)) return false;
        *block = page->start + idx * page->bsize;
        if (!rp__vg_on() && rp__is_marked(*block)) return false;
        *extent = page->bsize;
        *threshold = page->cls == 0 ? 0 : rp__heap_class_size(page->cls - 1u);
        *counter = &page->partials;
        *page_flags = &page->owner;
        return true;
    }
    if (span->kind == RP__SPAN_LARGE) {
        rp__large_t *lg = (rp__large_t *)span;
        if ((uint8_t *)p < lg->block || (uint8_t *)p >= lg->block + lg->usable) return false;
        *block = lg->block;
        *extent = lg->usable;
        /* The size last asked for is known exactly (alignment slack and page rounding follow it). */
        *threshold = lg->asked - 1;
        *counter = &lg->partials;
        return true;
    }
    rp__donated_t *d = (rp__donated_t *)span;
    uint8_t *q = (uint8_t *)p;
    if (q < d->start || q >= d->start + d->ngran * RP__GRAN) return false;
    size_t g = (size_t)(q - d->start) >> RP__GRAN_SHIFT;
    /* Walk back to the granule that starts the block. */
    while (!(d->first[g >> 6] >> (g & 63) & 1)) {
        if (!(d->used[g >> 6] >> (g & 63) & 1) || g == 0) return false;
        g--;
    }
    bool live = false;
    *block = d->start + (g << RP__GRAN_SHIFT);
    *extent = rp__donated_usable(d, *block, &live);
    if (!live) return false;
    /* Donated blocks are served at a size class's size (page.c), so the class rule applies. */
    unsigned cls = rp__heap_size_class(*extent);
    *threshold = cls == 0 ? 0 : rp__heap_class_size(cls - 1u);
    *counter = &d->partials;
    return true;
}

static rp_status_t rp__free_part(void *p, size_t n) {
    if (p == NULL || n == 0) return rp__fail(RP_ERR_INVALID, 0, "rp_free_part: %s", p == NULL ? "NULL pointer" : "0 bytes");
    uint8_t *block;
    size_t extent, threshold;
    _Atomic int *counter;
    _Atomic uintptr_t *page_flags;
    rp_heap_t *heap;
    if (!rp__part_block(p, &block, &extent, &threshold, &counter, &page_flags, &heap))
        rp__corrupt("partial free of memory that is not a live heap block", p);
    /* Under Valgrind rp_usable_size answers the size asked for (core/annotate.h), and releasing
     * up to it must free the block as releasing up to the usable size does natively. */
    if (rp__vg_on()) {
        size_t asked = rp__vg_size_get(block, extent);
        if (asked != 0 && asked - 1 < threshold) threshold = asked - 1;
    }
    size_t lo = (size_t)((uint8_t *)p - block), hi;
    if (rp__add_overflows(lo, n, &hi) || hi > extent)
        return rp__fail(RP_ERR_INVALID, 0, "rp_free_part: %zu bytes at offset %zu leave the %zu-byte block %p", n, lo,
                        extent, (void *)block);

    rp__os_mutex_lock(&rp__part_lock);
    rp__part_t **at = rp__part_find(block);
    rp__part_t *e = *at;
    if (e == NULL) {
        if (lo == 0 && hi > threshold) { /* the whole block in one piece */
            rp__os_mutex_unlock(&rp__part_lock);
            rp__free(block);
            return RP_OK;
        }
        e = rp__meta_alloc(sizeof *e);
        if (e == NULL) {
            rp__os_mutex_unlock(&rp__part_lock);
            return rp__fail(RP_ERR_NOMEM, rp__os_err_nomem(), "rp_free_part: no memory for the record");
        }
        *e = (rp__part_t){.block = block, .extent = extent, .counter = counter, .heap = heap};
        e->next = *at;
        *at = e;
        atomic_fetch_add(counter, 1);
        /* The owner's inline free tests only its owner word: send its frees on this page to the
         * slow path, which looks the records up. */
        if (page_flags != NULL) atomic_fetch_or(page_flags, (uintptr_t)RP__PAGE_PARTIAL);
    }
    /* Insert [lo, hi): find its place, refuse overlaps, merge with touching neighbours. */
    uint32_t k = 0;
    while (k < e->n && e->r[k].hi < lo) k++;
    if (k < e->n && e->r[k].lo < hi && lo < e->r[k].hi) {
        rp__os_mutex_unlock(&rp__part_lock);
        rp__corrupt("double free (this range of the block was already released)", p);
    }
    bool join_prev = k < e->n && e->r[k].hi == lo;
    size_t next = join_prev ? k + 1 : k;
    if (next < e->n && e->r[next].lo < hi) {
        rp__os_mutex_unlock(&rp__part_lock);
        rp__corrupt("double free (this range of the block was already released)", p);
    }
    bool join_next = next < e->n && e->r[next].lo == hi;
    if (join_prev && join_next) {
        e->r[k].hi = e->r[next].hi;
        memmove(&e->r[next], &e->r[next + 1], (e->n - next - 1) * sizeof e->r[0]);
        e->n--;
    } else if (join_prev) {
        e->r[k].hi = hi;
    } else if (join_next) {
        e->r[next].lo = lo;
    } else {
        if (e->n == RP__PART_MAX) {
            rp__os_mutex_unlock(&rp__part_lock);
            return rp__fail(RP_ERR_LIMIT, 0, "rp_free_part: block %p already has %d separate released pieces",
                            (void *)block, RP__PART_MAX);
        }
        memmove(&e->r[k + 1], &e->r[k], (e->n - k) * sizeof e->r[0]);
        e->r[k].lo = lo;
        e->r[k].hi = hi;
        e->n++;
    }
    bool complete = e->r[0].lo == 0 && e->r[0].hi > threshold;
    if (extent <= RP__SMALL_MAX) rp__asan_unpoison(block + lo, hi - lo); /* maybe redzone: for the wipe */
    if (complete) {
        *rp__part_find(block) = e->next;
        atomic_fetch_sub(counter, 1);
    } else if (heap->flags & RP_HEAP_WIPE) {
        /* A released range is freed memory: on a wiping heap no secret may wait in it for the rest
         * of the block (which may never come). Under the lock, so the bytes cannot have been
         * handed out again by a completion on another thread; a completed block is wiped whole by
         * rp__free. */
        rp_memzero(block + lo, hi - lo);
    }
    if (!complete) rp__vg_noaccess(block + lo, hi - lo); /* Valgrind: released bytes */
#if defined(RP__ASAN)
    if (!complete && hi > RP__FREE_WORDS && rp__segmap_get(block)->kind == RP__SPAN_SEGMENT) {
        /* Released bytes of a small block are free memory to ASan (large and donated blocks are
         * never poisoned: rp__asan_span_clean); the first RP__FREE_WORDS stay readable, as in
         * every free block, for the free that completes the block. */
        size_t from = lo > RP__FREE_WORDS ? lo : RP__FREE_WORDS;
        rp__asan_poison(block + from, hi - from);
    }
#endif
    rp__os_mutex_unlock(&rp__part_lock);
    if (complete) {
        rp__meta_free(e, sizeof *e);
        if (extent <= RP__SMALL_MAX) rp__asan_unpoison(block, extent); /* released pieces: free wipes and marks it */
        rp__free(block);
    }
    return RP_OK;
}

/* Like every free, it leaves errno as it was, on errors too (a record that cannot be mapped). */
rp_status_t rp_free_part(void *p, size_t n) {
    int saved = rp__os_last_error();
    rp_status_t st = rp__free_part(p, n);
    rp__os_set_last_error(saved);
    return st;
}
