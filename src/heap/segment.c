/* heap/segment.c — memory from the page source: segments and their slices, the span cache that
 * delays giving memory back, purging, and the descriptors that live outside the spans.
 *
 * Rule for giving memory back (docs/heap.md, "Memory behaviour"):
 *   - A freed large block or an emptied segment goes into its heap's span cache, still mapped
 *     and resident, so the next request that fits (the smallest cached span at least as large,
 *     and at most 16 times as large) reuses it without a single page fault. A span leaves the cache for the OS when it has waited
 *     RAMPART_PURGE_DELAY ms (default 500), when the cache holds more than RAMPART_CACHE_MAX bytes
 *     (default 64 MiB) or RP__CACHE_SLOTS spans, or on rp_heap_collect.
 *   - Slices of a live segment that lost their page are purged (MADV_DONTNEED / decommit) once
 *     they stayed free for the same delay; the check runs on the slow paths (every 256th) and on
 *     rp_heap_collect, so an idle program keeps what it had until it allocates again.
 *   - On a heap with its own page source (locked, secret, yours) nothing is purged in place,
 *     since locked pages cannot be discarded: whole spans go back through free_locked, which
 *     wipes them.
 * Syscalls happen under the heap lock (the lock is only taken on these slow paths).
 */
#include "heap/heap_internal.h"

/* ---- metadata nodes ------------------------------------------------------------------------------ */

/* Small fixed-size nodes (64/128/256 bytes) for descriptors of large blocks, donations and
 * partial-release records, carved from 64 KiB chunks of OS pages: never from malloc, never inside
 * the memory they describe. Nodes are recycled, chunks are kept. */
#define RP__META_CHUNK ((size_t)64 * 1024)
typedef struct rp__meta_node {
    struct rp__meta_node *next;
} rp__meta_node_t;
static rp__meta_node_t *rp__meta_lists[3];
static uint8_t *rp__meta_bump, *rp__meta_end;
static rp__os_mutex_t rp__meta_lock = RP__OS_MUTEX_INIT;

static unsigned rp__meta_class(size_t size) { return size <= 64 ? 0 : size <= 128 ? 1 : 2; }

void *rp__meta_alloc(size_t size) {
    RP_ASSERT(size <= 256);
    unsigned c = rp__meta_class(size);
    size_t bytes = (size_t)64 << c;
    void *p = NULL;
    rp__os_mutex_lock(&rp__meta_lock);
    if (rp__meta_lists[c] != NULL) {
        p = rp__meta_lists[c];
        rp__meta_lists[c] = rp__meta_lists[c]->next;
    } else {
        if (rp__meta_bump == NULL || (size_t)(rp__meta_end - rp__meta_bump) < bytes) {
            void *chunk = NULL;
            if (rp__os_alloc(RP__META_CHUNK, &chunk) == 0) {
                rp__meta_bump = chunk;
                rp__meta_end = rp__meta_bump + RP__META_CHUNK;
            }
        }
        if (rp__meta_bump != NULL && (size_t)(rp__meta_end - rp__meta_bump) >= bytes) {
            p = rp__meta_bump;
            rp__meta_bump += bytes;
        }
    }
    rp__os_mutex_unlock(&rp__meta_lock);
    if (p != NULL) memset(p, 0, bytes);
    return p;
}

void rp__meta_free(void *p, size_t size) {
    if (p == NULL) return;
    unsigned c = rp__meta_class(size);
    rp__meta_node_t *n = p;
    rp__os_mutex_lock(&rp__meta_lock);
    n->next = rp__meta_lists[c];
    rp__meta_lists[c] = n;
    rp__os_mutex_unlock(&rp__meta_lock);
}

/* ---- segment descriptors ------------------------------------------------------------------------- */

/* Descriptors are recycled through a pool and never unmapped: a thread that pushed a remote free
 * may still read its page descriptor (see RP__XFREE_FULL), so that memory must stay valid. */
static rp__segment_t *rp__desc_pool;
static rp__os_mutex_t rp__desc_lock = RP__OS_MUTEX_INIT;

static size_t rp__desc_size(void) { return rp__align_up(sizeof(rp__segment_t), rp__os_page_size()); }

static rp__segment_t *rp__desc_get(void) {
    rp__os_mutex_lock(&rp__desc_lock);
    rp__segment_t *d = rp__desc_pool;
    if (d != NULL) rp__desc_pool = d->pool_next;
    rp__os_mutex_unlock(&rp__desc_lock);
    if (d != NULL) return d;
    void *mem = NULL;
    if (rp__os_alloc(rp__desc_size(), &mem) != 0) return NULL;
    return mem;
}

static void rp__desc_put(rp__segment_t *d) {
    memset(d, 0, sizeof *d);
    rp__os_mutex_lock(&rp__desc_lock);
    d->pool_next = rp__desc_pool;
    rp__desc_pool = d;
    rp__os_mutex_unlock(&rp__desc_lock);
}

void rp__segment_fork_lock(bool lock) {
    if (lock) {
        rp__os_mutex_lock(&rp__desc_lock);
        rp__os_mutex_lock(&rp__meta_lock);
    } else {
        rp__os_mutex_unlock(&rp__meta_lock);
        rp__os_mutex_unlock(&rp__desc_lock);
    }
}

void rp__segment_fork_reset(void) {
    rp__os_mutex_reset(&rp__meta_lock);
    rp__os_mutex_reset(&rp__desc_lock);
}

/* ---- spans from the page source and the cache ------------------------------------------------------ */

void rp__span_return(rp_heap_t *heap, void *base, size_t size) {
    if (heap->pages == NULL) rp__os_release(base, size);
    else rp_pages_free_locked(heap->pages, base, size);
    atomic_fetch_sub(&heap->mapped, size);
    atomic_fetch_add(&heap->purges, 1);
}

static void rp__cache_take(rp_heap_t *heap, unsigned i) {
    atomic_fetch_sub(&heap->cached, heap->cache[i].size);
    heap->cache[i] = heap->cache[--heap->ncache];
}

/* A cached span leaves for the OS: its large descriptor leaves the map first. */
static void rp__cache_drop(rp_heap_t *heap, rp__span_cached_t c) {
    if (c.large != NULL) {
        rp__segmap_set(c.base, c.size, NULL);
        rp__meta_free(c.large, sizeof *c.large);
    }
    rp__span_return(heap, c.base, c.size);
}

void rp__cache_purge(rp_heap_t *heap, bool force) {
    if (heap->ncache == 0) return;
    uint64_t now = rp__os_clock_ms();
    for (unsigned i = 0; i < heap->ncache;) {
        rp__span_cached_t c = heap->cache[i];
        bool old = !rp__config.purge_off && now - c.since >= rp__config.purge_delay_ms;
        if (force || old) {
            rp__cache_take(heap, i);
            rp__cache_drop(heap, c);
        } else {
            i++;
        }
    }
}

void *rp__span_acquire(rp_heap_t *heap, size_t size, size_t *got, bool *fresh, rp__large_t **large) {
    *fresh = false;
    if (large != NULL) *large = NULL;
    rp__cache_purge(heap, false);
    int best = -1;
    for (unsigned i = 0; i < heap->ncache; i++) {
        size_t s = heap->cache[i].size;
        if (s >= size && s / 16 <= size && (best < 0 || s < heap->cache[best].size)) best = (int)i;
    }
    if (best >= 0) {
        rp__span_cached_t c = heap->cache[best];
        rp__cache_take(heap, (unsigned)best);
        if (large != NULL) *large = c.large;
        else if (c.large != NULL) rp__meta_free(c.large, sizeof *c.large); /* the segment re-maps the range */
        *got = c.size;
        return c.base;
    }
    /* A miss. On OS pages, grow the largest smaller cached span (mremap moves its pages, so only
     * the new tail faults in); cached spans smaller than this request would otherwise pile up
     * behind ever larger ones (a program that reuses blocks of varying size): give them back. */
    int grow = -1;
    if (heap->pages == NULL && rp__os_remap_available()) {
        for (unsigned i = 0; i < heap->ncache; i++)
            if (heap->cache[i].size < size && (grow < 0 || heap->cache[i].size > heap->cache[grow].size)) grow = (int)i;
    }
    void *grown = NULL;
    if (grow >= 0 && heap->limit == SIZE_MAX) {
        rp__span_cached_t c = heap->cache[grow];
        rp__cache_take(heap, (unsigned)grow);
        if (c.large != NULL) {
            rp__segmap_set(c.base, c.size, NULL);
            rp__meta_free(c.large, sizeof *c.large);
        }
        if (rp__os_remap(c.base, c.size, size, true, NULL, &grown) == 0) {
            atomic_fetch_add(&heap->mapped, size - c.size);
        } else {
            grown = NULL;
            rp__span_return(heap, c.base, c.size);
        }
    }
    for (unsigned i = 0; i < heap->ncache;) {
        if (heap->cache[i].size < size) {
            rp__span_cached_t c = heap->cache[i];
            rp__cache_take(heap, i);
            rp__cache_drop(heap, c);
        } else {
            i++;
        }
    }
    if (grown != NULL) {
        *got = size;
        return grown;
    }
    size_t mapped = atomic_load(&heap->mapped);
    if (heap->limit != SIZE_MAX && (size > heap->limit || mapped > heap->limit - size)) {
        /* Cached spans count against the limit: give them back before refusing. */
        rp__cache_purge(heap, true);
        mapped = atomic_load(&heap->mapped);
        if (size > heap->limit || mapped > heap->limit - size) {
            rp__fail(RP_ERR_LIMIT, 0, "heap limit: %zu bytes held, %zu more needed, limit %zu", mapped, size,
                     heap->limit);
            return NULL;
        }
    }
    void *p = NULL;
    if (heap->pages == NULL) {
        int err = rp__os_alloc(size, &p);
        if (err != 0) {
            rp__fail_os(err, "heap: mapping %zu bytes", size);
            p = NULL;
        }
    } else {
        bool locked = false;
        p = rp_pages_allocate_locked(heap->pages, size, &locked);
        if (p != NULL && !locked) {
            if (heap->flags & RP_HEAP_REQUIRE_LOCKED) {
                /* The page source recorded why the lock failed (with the remedy); keep that. */
                rp_error_t why = *rp_last_error();
                rp_pages_free_locked(heap->pages, p, size);
                rp__fail(why.status == RP_OK ? RP_ERR_LIMIT : why.status, why.os_error,
                         "heap: %zu bytes from the %s page source could not be locked (RP_HEAP_REQUIRE_LOCKED): %s",
                         size, heap->pages->name, why.message);
                if (why.remedy != NULL) rp__error_set_remedy(why.remedy);
                return NULL;
            }
            atomic_fetch_add(&heap->unlocked, size);
        }
    }
    if (p == NULL) return NULL;
    atomic_fetch_add(&heap->mapped, size);
    *got = size;
    *fresh = true;
    return p;
}

void rp__span_release(rp_heap_t *heap, void *base, size_t size, rp__large_t *large) {
    if (rp__config.cache_max == 0 || size > rp__config.cache_max) {
        rp__cache_drop(heap, (rp__span_cached_t){base, size, 0, large});
        return;
    }
    while (heap->ncache > 0 &&
           (heap->ncache == RP__CACHE_SLOTS || atomic_load(&heap->cached) + size > rp__config.cache_max)) {
        unsigned oldest = 0;
        for (unsigned i = 1; i < heap->ncache; i++)
            if (heap->cache[i].since < heap->cache[oldest].since) oldest = i;
        rp__span_cached_t c = heap->cache[oldest];
        rp__cache_take(heap, oldest);
        rp__cache_drop(heap, c);
    }
    heap->cache[heap->ncache++] = (rp__span_cached_t){base, size, rp__os_clock_ms(), large};
    atomic_fetch_add(&heap->cached, size);
    rp__cache_purge(heap, false);
}

/* ---- segments ------------------------------------------------------------------------------------- */

static uint64_t rp__slice_mask(unsigned first, unsigned count) {
    uint64_t ones = count >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << count) - 1);
    return ones << first;
}

/* The first run of count free slices, or -1. */
static int rp__find_run(uint64_t free, unsigned nslices, unsigned count) {
    uint64_t want = rp__slice_mask(0, count);
    for (unsigned i = 0; i + count <= nslices; i++) {
        if (((free >> i) & want) == want) return (int)i;
    }
    return -1;
}

static rp__segment_t *rp__segment_new(rp__local_t *local) {
    rp_heap_t *heap = local->heap;
    size_t size = (size_t)heap->seg_slices * RP__SLICE_SIZE;
    if (!local->shared) rp__heap_lock(heap);
    rp__segment_t *seg = NULL;
    size_t got = 0;
    bool fresh;
    void *base = rp__span_acquire(heap, size, &got, &fresh, NULL);
    if (base != NULL) {
        seg = rp__desc_get();
        if (seg != NULL && rp__segmap_set(base, got, &seg->span) != 0) {
            rp__segmap_set(base, got, NULL);
            rp__desc_put(seg);
            seg = NULL;
        }
        if (seg == NULL) {
            rp__span_release(heap, base, got, NULL);
        } else {
            seg->span = (rp__span_t){RP__SPAN_SEGMENT, base, got, heap};
            seg->local = local;
            seg->nslices = heap->seg_slices;
            seg->free_slices = rp__slice_mask(0, seg->nslices);
            seg->dirty_slices = 0;
            seg->hnext = heap->segs;
            seg->hprev = NULL;
            if (heap->segs) heap->segs->hprev = seg;
            heap->segs = seg;
            /* Slices never touched are not resident: count them as purged until a page uses them. */
            for (unsigned i = 0; i < seg->nslices; i++) seg->pages[i].purged = 1;
            atomic_fetch_add(&heap->decommitted, size);
        }
    }
    if (!local->shared) rp__heap_unlock(heap);
    if (seg != NULL) {
        seg->prev = NULL;
        seg->next = local->segs;
        if (local->segs) local->segs->prev = seg;
        local->segs = seg;
    }
    return seg;
}

void rp__segment_release(rp__local_t *local, rp__segment_t *seg) {
    rp_heap_t *heap = local->heap;
    if (seg->prev) seg->prev->next = seg->next;
    else local->segs = seg->next;
    if (seg->next) seg->next->prev = seg->prev;
    size_t purged = 0;
    for (unsigned i = 0; i < seg->nslices; i++) purged += seg->pages[i].purged ? RP__SLICE_SIZE : 0;
    if (!local->shared) rp__heap_lock(heap);
    if (seg->hprev) seg->hprev->hnext = seg->hnext;
    else heap->segs = seg->hnext;
    if (seg->hnext) seg->hnext->hprev = seg->hprev;
    atomic_fetch_sub(&heap->decommitted, purged);
    rp__segmap_set(seg->span.base, seg->span.size, NULL);
    rp__span_release(heap, seg->span.base, seg->span.size, NULL);
    if (!local->shared) rp__heap_unlock(heap);
    rp__desc_put(seg);
}

rp__page_t *rp__segment_page_alloc(rp__local_t *local, unsigned cls) {
    unsigned k = rp__heap_class_slices(cls);
    rp__segment_t *seg;
    int at = -1;
    for (seg = local->segs; seg != NULL; seg = seg->next) {
        at = rp__find_run(seg->free_slices, seg->nslices, k);
        if (at >= 0) break;
    }
    if (seg == NULL) {
        seg = rp__segment_new(local);
        if (seg == NULL) return NULL;
        at = 0;
    }
    uint64_t mask = rp__slice_mask((unsigned)at, k);
    seg->free_slices &= ~mask;
    seg->dirty_slices &= ~mask;
    size_t back = 0;
    for (unsigned j = (unsigned)at; j < (unsigned)at + k; j++) {
        if (seg->pages[j].purged) back += RP__SLICE_SIZE;
        seg->pages[j].purged = 0;
    }
    if (back) atomic_fetch_sub(&local->heap->decommitted, back);

    rp__page_t *page = &seg->pages[at];
    size_t bsize = rp__heap_class_size(cls);
    page->free = NULL;
    page->local_free = NULL;
    atomic_store_explicit(&page->used, 0, memory_order_relaxed);
    page->bsize = (uint32_t)bsize;
    atomic_store_explicit(&page->partials, 0, memory_order_relaxed);
    page->wipe = (local->heap->flags & RP_HEAP_WIPE) ? 1 : 0;
    page->flags = page->wipe ? RP__PAGE_WIPE : 0;
    atomic_store_explicit(&page->cls, (uint8_t)cls, memory_order_relaxed);
    page->slices = (uint8_t)k;
    atomic_store_explicit(&page->in_use, 1, memory_order_relaxed);
    page->start = seg->span.base + ((size_t)at << RP__SLICE_SHIFT);
    page->capacity = (uint32_t)(((size_t)k << RP__SLICE_SHIFT) / bsize);
    page->carved = 0;
    page->magic = (((uint64_t)1 << RP__MAGIC_SHIFT) + bsize - 1) / bsize;
    page->local = local;
    page->seg = seg;
    page->next = page->prev = NULL;
    page->reclaim_next = NULL;
    atomic_store_explicit(&page->xfree, 0, memory_order_relaxed);
    for (unsigned j = (unsigned)at; j < (unsigned)at + k; j++) seg->slice_page[j] = page;
    rp__segmap_set_page(page, true);
    return page;
}

void rp__segment_page_free(rp__local_t *local, rp__page_t *page) {
    rp__segment_t *seg = page->seg;
    unsigned at = (unsigned)(page - seg->pages);
    uint64_t mask = rp__slice_mask(at, page->slices);
    for (unsigned j = at; j < at + page->slices; j++) seg->slice_page[j] = NULL;
    atomic_store_explicit(&page->in_use, 0, memory_order_relaxed);
    rp__segmap_set_page(page, false);
    if (seg->dirty_slices == 0) seg->dirty_since = rp__os_clock_ms();
    seg->dirty_slices |= mask;
    seg->free_slices |= mask;
    /* An empty segment goes to the span cache, unless it is the local's only one (a loop that
     * allocates and frees one block must not map and unmap a segment each time). */
    if (seg->free_slices == rp__slice_mask(0, seg->nslices) && (local->segs != seg || seg->next != NULL))
        rp__segment_release(local, seg);
}

void rp__local_purge(rp__local_t *local, bool force) {
    rp_heap_t *heap = local->heap;
    uint64_t now = rp__os_clock_ms();
    for (rp__segment_t *seg = local->segs, *next; seg != NULL; seg = next) {
        next = seg->next;
        if (seg->free_slices == rp__slice_mask(0, seg->nslices) && force) {
            rp__segment_release(local, seg);
            continue;
        }
        if (seg->dirty_slices == 0 || heap->pages != NULL) continue;
        if (!force && (rp__config.purge_off || now - seg->dirty_since < rp__config.purge_delay_ms)) continue;
        unsigned i = 0;
        while (i < seg->nslices) {
            if (!(seg->dirty_slices >> i & 1)) {
                i++;
                continue;
            }
            unsigned j = i;
            while (j < seg->nslices && (seg->dirty_slices >> j & 1)) j++;
            if (rp__os_advise(seg->span.base + ((size_t)i << RP__SLICE_SHIFT), (size_t)(j - i) << RP__SLICE_SHIFT,
                              RP__OS_ADV_FREE) == 0) {
                for (unsigned s = i; s < j; s++) seg->pages[s].purged = 1;
                atomic_fetch_add(&heap->decommitted, (size_t)(j - i) << RP__SLICE_SHIFT);
            }
            i = j;
        }
        seg->dirty_slices = 0;
        atomic_fetch_add(&heap->purges, 1);
    }
}

void rp__segment_destroy_all(rp_heap_t *heap) {
    for (rp__segment_t *seg = heap->segs, *next; seg != NULL; seg = next) {
        next = seg->hnext;
        rp__segmap_set(seg->span.base, seg->span.size, NULL);
        rp__span_return(heap, seg->span.base, seg->span.size);
        rp__desc_put(seg);
    }
    heap->segs = NULL;
}
