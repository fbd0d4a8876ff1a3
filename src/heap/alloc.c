/* SPDX-License-Identifier: MIT */
/* heap/alloc.c — the allocation entry points: malloc, calloc, realloc, aligned allocation,
 * in-place resizing, usable size, for the default heap and for first-class heaps.
 *
 * The default heap allocates from the calling thread's local cache (rp__malloc_inline in
 * heap_internal.h is the fast path: a class lookup and a pop, no lock, no atomic). A first-class
 * heap allocates from its one shared cache under its lock. Requests above RP__SMALL_MAX are
 * large blocks (large.c). Every failure runs the out-of-memory handlers once and then returns
 * NULL with errno = ENOMEM.
 */
#include <errno.h>

#include "heap/heap_internal.h"

/* rp__heap_size_class(16 * g) for g = 0..64: the class of every request of g granules. */
const uint8_t rp__class_table[RP__TABLE_GRANULES] = {
    0,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 16, 17, 17, 18,
    18, 19, 19, 20, 20, 21, 21, 22, 22, 23, 23, 24, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26,
    26, 27, 27, 27, 27, 28, 28, 28, 28, 29, 29, 29, 29, 30, 30, 30, 30, 31, 31, 31, 31};

/* ---- one attempt, no handlers ---------------------------------------------------------------------- */

/* The smallest class at or above size whose blocks are all aligned to alignment (blocks sit at
 * multiples of their size from a page start, which is 4 KiB-aligned); RP__CLASSES when none. */
static unsigned rp__aligned_class(size_t size, size_t alignment) {
    if (size > RP__SMALL_MAX || alignment > RP__MAP_PAGE) return RP__CLASSES;
    for (unsigned c = rp__heap_size_class(size < alignment ? alignment : size); c < RP__CLASSES; c++)
        if (rp__heap_class_size(c) % alignment == 0) return c;
    return RP__CLASSES;
}

/* pre: a small block (rp__alloc_once sends the others to large.c before any lock is taken). */
static void *rp__alloc_with(rp__local_t *local, size_t size, size_t alignment, bool zero) {
    void *p;
    if (alignment <= RP__GRAN) {
        unsigned c = rp__heap_size_class(size);
        p = rp__local_pop(local, c);
        if (p == NULL) p = rp__page_malloc_slow(local, c, true);
    } else {
        unsigned c = rp__aligned_class(size, alignment);
        p = rp__local_pop(local, c);
        if (p == NULL) p = rp__page_malloc_slow(local, c, false);
    }
    if (p != NULL && zero) memset(p, 0, size);
    return p;
}

static size_t rp__block_info(const void *p, rp_heap_t **heap, const char *what);

/* Under Valgrind: p goes out for size bytes (core/annotate.h). */
static void *rp__vg_handed_out(rp_heap_t *heap, void *p, size_t size, bool zero) {
    if (p != NULL) rp__vg_alloc(heap, p, size, rp__block_info(p, NULL, "heap block"), zero);
    return p;
}

#if defined(RP__ASAN)
/* ASan: the bytes of a small block past the size asked for are a redzone (poisoned) until the
 * program asks for the usable size (rp__usable) or resizes in place. The free-list words stay
 * out of it: free reads the freed mark there. Large and donated blocks have none. */
static void rp__asan_redzone(void *p, size_t size) {
    uintptr_t e = rp__segmap_entry(p);
    if (!rp__entry_is_page(e)) return;
    size_t n = rp__entry_page(e)->bsize, from = size > RP__FREE_WORDS ? size : RP__FREE_WORDS;
    rp__asan_unpoison(p, from);
    if (n > from) rp__asan_poison((uint8_t *)p + from, n - from);
}
#else
static inline void rp__asan_redzone(void *p, size_t size) {
    (void)p;
    (void)size;
}
#endif

/* A block of usable size `usable` kept in place for `size` bytes: the tools learn its new size. */
static void rp__resized(rp_heap_t *owner, void *p, size_t usable, size_t size) {
    rp__vg_resize(owner, p, usable, size);
    if (RP__ASAN_ON && usable <= RP__SMALL_MAX) rp__asan_redzone(p, size);
}

static void *rp__alloc_once_raw(rp_heap_t *heap, size_t size, size_t alignment, bool zero);

static void *rp__alloc_once(rp_heap_t *heap, size_t size, size_t alignment, bool zero) {
    void *p = rp__alloc_once_raw(heap, size, alignment, zero);
    if (RP__ASAN_ON && p != NULL) rp__asan_redzone(p, size);
    return rp__vg_on() ? rp__vg_handed_out(heap, p, size, zero) : p;
}

static void *rp__alloc_once_raw(rp_heap_t *heap, size_t size, size_t alignment, bool zero) {
    /* Large blocks take the heap lock themselves, and only around their bookkeeping. */
    if (alignment <= RP__GRAN ? size > RP__SMALL_MAX : rp__aligned_class(size, alignment) == RP__CLASSES)
        return rp__large_alloc(heap, size, alignment, zero);
    if (heap->is_default) {
        rp__local_t *local = rp__tls_mine;
        if (local == NULL) local = rp__local_slow();
        if (local != NULL) return rp__alloc_with(local, size, alignment, zero);
    }
    rp__heap_lock(heap);
    rp__local_t *shared = rp__heap_shared_locked(heap);
    void *p = shared != NULL ? rp__alloc_with(shared, size, alignment, zero) : NULL;
    rp__heap_unlock(heap);
    return p;
}

/* An allocation failed. The heap may hold what a limit, a memlock budget or the address space
 * refused: cached spans, empty pages and segments (a heap with a 2 MiB limit, emptied, refused
 * 1.5 MiB while its empty segment still counted). Give it all back and try once more, then run
 * the OOM handlers, whose retry is the last. */
static void *rp__alloc_failed(rp_heap_t *heap, size_t size, size_t alignment, bool zero) {
    void *p = NULL;
    /* A size no address space holds was refused before anything was tried: nothing to give back. */
    if (size < (SIZE_MAX >> 1)) {
        rp_heap_collect(heap, true);
        p = rp__alloc_once(heap, size, alignment, zero);
    }
    if (p == NULL && rp__oom(heap, size)) p = rp__alloc_once(heap, size, alignment, zero);
    if (p == NULL) errno = ENOMEM;
    return p;
}

static void *rp__alloc(rp_heap_t *heap, size_t size, size_t alignment, bool zero) {
    void *p = rp__alloc_once(heap, size, alignment, zero);
    if (RP_UNLIKELY(p == NULL)) p = rp__alloc_failed(heap, size, alignment, zero);
    return p;
}

/* A block for a shrinking realloc, which can always keep the block it has: one attempt, no
 * collect, no out-of-memory handlers, and a failure leaves errno and rp_last_error as they were
 * (the realloc that keeps its block has not failed). */
static RP__NOINLINE void *rp__alloc_for_shrink(rp_heap_t *heap, size_t size) {
    int saved_os = rp__os_last_error();
    rp_error_t saved = *rp_last_error();
    void *q = rp__alloc_once(heap, size, 0, false);
    if (q == NULL) {
        *(rp_error_t *)rp_last_error() = saved;
        rp__os_set_last_error(saved_os);
    }
    return q;
}

static bool rp__heap_ok(rp_heap_t *heap, const char *what) {
    if (heap != NULL) return true;
    rp__fail(RP_ERR_INVALID, 0, "%s: no heap given", what);
    errno = EINVAL;
    return false;
}

/* ---- shared by the public functions and the preload shim -------------------------------------------- */

void *rp__malloc_default(size_t size) { return rp__alloc(rp__heap_default(), size, 0, false); }

/* The inline malloc's slow path: a thread without a cache (or under Valgrind) goes the whole
 * way, the others get a page with room, then run the handlers if there is none. */
void *rp__malloc_slow(rp__local_t *local, unsigned cls, size_t size) {
    if (local == RP__LOCAL_NONE) return rp__malloc_default(size);
    void *p = rp__page_malloc_slow(local, cls, true);
    if (RP_LIKELY(p != NULL)) return p;
    return rp__alloc_failed(rp__heap_default(), size, 0, false);
}

void *rp__heap_malloc(rp_heap_t *heap, size_t size) { return rp__alloc(heap, size, 0, false); }

static void *rp__calloc(rp_heap_t *heap, size_t count, size_t size) {
    size_t total;
    if (rp__mul_overflows(count, size, &total)) {
        rp__fail(RP_ERR_NOMEM, 0, "calloc: %zu * %zu bytes overflows", count, size);
        errno = ENOMEM;
        return NULL;
    }
    return rp__alloc(heap, total, 0, true);
}

void *rp__calloc_default(size_t count, size_t size) { return rp__calloc(rp__heap_default(), count, size); }

void *rp__heap_aligned(rp_heap_t *heap, size_t alignment, size_t size) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        rp__fail(RP_ERR_INVALID, 0, "aligned allocation: alignment %zu is not a power of two", alignment);
        errno = EINVAL;
        return NULL;
    }
    return rp__alloc(heap, size, alignment <= RP__GRAN ? 0 : alignment, false);
}

void *rp__aligned_default(size_t alignment, size_t size) {
    return rp__heap_aligned(rp__heap_default(), alignment, size);
}

/* A pointer into the heap's memory that is not a block's start: the report says so, as free's
 * does, rather than call it no heap block at all. */
RP_NORETURN static RP__NOINLINE void rp__not_block_start(const char *what, const void *p) {
    char message[200];
    snprintf(message, sizeof message, "%s (it points inside a block, not at its start)", what);
    rp__corrupt(message, p);
}

/* The block's usable size and its heap; reports a pointer that is not a live block start. */
static size_t rp__block_info(const void *p, rp_heap_t **heap, const char *what) {
    rp__span_t *span = rp__segmap_get(p);
    if (span == NULL) rp__corrupt(what, p);
    if (heap) *heap = span->heap;
    switch (span->kind) {
    case RP__SPAN_SEGMENT: {
        rp__segment_t *seg = (rp__segment_t *)span;
        rp__page_t *page = seg->slice_page[(size_t)((const uint8_t *)p - span->base) >> RP__SLICE_SHIFT];
        if (page == NULL || (const uint8_t *)p < page->start) rp__corrupt(what, p);
        size_t off = (size_t)((const uint8_t *)p - page->start);
        if (((uint64_t)off * page->magic >> RP__MAGIC_SHIFT) * page->bsize != off) rp__not_block_start(what, p);
        return page->bsize;
    }
    case RP__SPAN_LARGE: {
        rp__large_t *lg = (rp__large_t *)span;
        if ((const uint8_t *)p != lg->block) {
            if (lg->block != NULL && (const uint8_t *)p > lg->block && (const uint8_t *)p < lg->block + lg->usable)
                rp__not_block_start(what, p);
            rp__corrupt(what, p);
        }
        return lg->usable;
    }
    default: {
        bool live = false;
        size_t n = rp__donated_usable((rp__donated_t *)span, p, &live);
        if (!live) rp__corrupt(what, p);
        return n;
    }
    }
}

size_t rp__usable(const void *p) {
    if (p == NULL) return 0;
    size_t n = rp__block_info(p, NULL, "usable size of a pointer that is not a heap block");
    /* ASan: the caller may use all of it now (the redzone of a small block goes). */
    if (RP__ASAN_ON && n <= RP__SMALL_MAX) rp__asan_unpoison(p, n);
    /* Under Valgrind, as with Valgrind's malloc_usable_size: only the bytes asked for. */
    return rp__vg_on() ? rp__vg_size_get(p, n) : n;
}

/* Resize in place: p, or NULL (block unchanged). */
static void *rp__expand(void *p, size_t size, rp_heap_t **heap) {
    rp_heap_t *owner = NULL;
    size_t usable = rp__block_info(p, &owner, "in-place realloc of a pointer that is not a heap block");
    if (heap) *heap = owner;
    rp__span_t *span = rp__segmap_get(p);
    void *q = span->kind == RP__SPAN_LARGE ? rp__large_expand((rp__large_t *)span, p, size) : size <= usable ? p : NULL;
    if (q != NULL) rp__resized(owner, p, usable, size);
    return q;
}

void *rp__heap_realloc(rp_heap_t *heap, void *p, size_t size) {
    if (p == NULL) return heap == NULL ? rp__malloc_default(size) : rp__heap_malloc(heap, size);
    if (size == 0) {
        rp__free(p);
        return NULL;
    }
    rp_heap_t *owner = NULL;
    size_t usable = rp__block_info(p, &owner, "realloc of a pointer that is not a heap block");
    if (heap == NULL) heap = owner;
    bool shrink = heap == owner && size <= usable;
    if (shrink) {
        /* Keep the block unless it would waste more than half of it, or a large one on OS pages
         * that stays large: that gives the pages past the new size back instead. */
        rp__span_t *span = rp__segmap_get(p);
        bool large = span->kind == RP__SPAN_LARGE;
        if (size >= usable / 2 || usable <= 64 ||
            (large && size > RP__SMALL_MAX && rp__large_shrink((rp__large_t *)span, p, size) != NULL)) {
            if (large) rp__large_expand((rp__large_t *)span, p, size); /* the asked size */
            rp__resized(owner, p, usable, size);
            return p;
        }
    } else if (heap == owner && rp__segmap_get(p)->kind == RP__SPAN_LARGE) {
        rp__large_t *lg = (rp__large_t *)rp__segmap_get(p);
        void *q = rp__large_expand(lg, p, size);
        if (q != NULL) {
            rp__resized(owner, p, usable, size);
            return q;
        }
        q = rp__large_grow(lg, p, size);
        if (q != NULL) return q;
    }
    void *q = shrink ? rp__alloc_for_shrink(heap, size) : rp__alloc(heap, size, 0, false);
    if (q == NULL) {
        if (!shrink) return NULL;
        /* A smaller block could not be had, but a shrink needs none: keep this one. */
        rp__span_t *span = rp__segmap_get(p);
        if (span->kind == RP__SPAN_LARGE) rp__large_expand((rp__large_t *)span, p, size);
        rp__resized(owner, p, usable, size);
        return p;
    }
    /* The bytes to copy: under Valgrind those asked for (the rest is no-access to the program);
     * under ASan the redzone's too (the block goes, and its bytes past the size asked for are
     * copied into usable bytes of the new one). */
    if (rp__vg_on()) usable = rp__vg_size_get(p, usable);
    else if (RP__ASAN_ON && usable <= RP__SMALL_MAX) rp__asan_unpoison(p, usable);
    memcpy(q, p, size < usable ? size : usable);
    rp__free(p);
    return q;
}

/* realloc's fast path moving a small block of the default heap (map entry e, usable bytes) to a
 * new small block: out of line, so that the path that keeps the block in place makes no call. In
 * librampart-malloc.so (initial-exec TLS) that path then needs no stack frame: it saved and
 * restored five registers on every realloc. */
static RP__NOINLINE void *rp__realloc_move(void *p, size_t size, uintptr_t e, size_t usable) {
    void *q;
    if (size < usable) {
        /* A shrink (to under half): a free block of the smaller class at once, or one attempt
         * of the slow path without the out-of-memory handling; else the block stays. */
        q = rp__page_pop_vg(size <= RP__CLASS_TABLE_MAX
                                ? rp__tls_local->cur_by_granule[(size + RP__GRAN - 1) >> RP__GRAN_SHIFT]
                                : rp__tls_local->cur[rp__heap_size_class(size)],
                            false);
        if (q == NULL) q = rp__alloc_for_shrink(rp__heap_default(), size);
        if (q == NULL) return p;
    } else {
        q = rp__malloc_inline(size);
        if (q == NULL) return NULL;
    }
    memcpy(q, p, size < usable ? size : usable);
    rp__free_at(p, e, rp__tls_local); /* the malloc may have given this thread its cache */
    return q;
}

void *rp__realloc_default(void *p, size_t size) {
    /* Fast path: a small block of a page, resized within its class or to another small class;
     * one map lookup, through the thread's cached leaves, serves the check and the free. */
    uintptr_t e = rp__local_entry(rp__tls_local, p);
    if (rp__entry_is_page(e) && size != 0 && size <= RP__SMALL_MAX && !RP__ASAN_ON && !rp__vg_on()) {
        const rp__page_t *page = rp__entry_page(e);
        size_t off = (size_t)((uint8_t *)p - page->start), usable = page->bsize;
        if ((uint8_t *)p >= page->start && ((uint64_t)off * page->magic >> RP__MAGIC_SHIFT) * usable == off &&
            page->local->heap->is_default) {
            if (size <= usable && (size >= usable / 2 || usable <= 64)) return p;
            return rp__realloc_move(p, size, e, usable);
        }
    }
    return rp__heap_realloc(NULL, p, size);
}

/* ---- the public API -------------------------------------------------------------------------------- */

void *rp_malloc(size_t size) { return rp__malloc_inline(size); }
void *rp_calloc(size_t count, size_t size) { return rp__calloc_default(count, size); }
void *rp_realloc(void *p, size_t size) { return rp__realloc_default(p, size); }
void *rp_aligned_alloc(size_t alignment, size_t size) { return rp__aligned_default(alignment, size); }
size_t rp_usable_size(const void *p) { return rp__usable(p); }

void *rp_realloc_in_place(void *p, size_t size) {
    if (p == NULL) return NULL;
    return rp__expand(p, size, NULL);
}

void *rp_heap_malloc(rp_heap_t *heap, size_t size) {
    return rp__heap_ok(heap, "rp_heap_malloc") ? rp__heap_malloc(heap, size) : NULL;
}

void *rp_heap_calloc(rp_heap_t *heap, size_t count, size_t size) {
    return rp__heap_ok(heap, "rp_heap_calloc") ? rp__calloc(heap, count, size) : NULL;
}

void *rp_heap_realloc(rp_heap_t *heap, void *p, size_t size) {
    return rp__heap_ok(heap, "rp_heap_realloc") ? rp__heap_realloc(heap, p, size) : NULL;
}

void *rp_heap_aligned_alloc(rp_heap_t *heap, size_t alignment, size_t size) {
    return rp__heap_ok(heap, "rp_heap_aligned_alloc") ? rp__heap_aligned(heap, alignment, size) : NULL;
}

void *rp_heap_expand(rp_heap_t *heap, void *p, size_t size) {
    if (!rp__heap_ok(heap, "rp_heap_expand") || p == NULL) return NULL;
    rp__span_t *span = rp__segmap_get(p);
    if (span == NULL || span->heap != heap) {
        rp__fail(RP_ERR_NOT_OWNED, 0, "rp_heap_expand: %p is not a block of this heap", p);
        return NULL;
    }
    return rp__expand(p, size, NULL);
}
