/* SPDX-License-Identifier: MIT */
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
 * Syscalls (mapping, unmapping, remapping, purging) happen outside the heap lock: see "spans
 * from the page source" below and rp__local_purge.
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
    void *p = NULL, *chunk = NULL;
    for (;;) {
        rp__os_mutex_lock(&rp__meta_lock);
        if (rp__meta_lists[c] != NULL) {
            p = rp__meta_lists[c];
            rp__meta_lists[c] = rp__meta_lists[c]->next;
        } else {
            if (chunk != NULL && (rp__meta_bump == NULL || (size_t)(rp__meta_end - rp__meta_bump) < bytes)) {
                rp__meta_bump = chunk; /* the tail of the old chunk (under 256 bytes) is dropped */
                rp__meta_end = rp__meta_bump + RP__META_CHUNK;
                chunk = NULL;
            }
            if (rp__meta_bump != NULL && (size_t)(rp__meta_end - rp__meta_bump) >= bytes) {
                p = rp__meta_bump;
                rp__meta_bump += bytes;
            }
        }
        rp__os_mutex_unlock(&rp__meta_lock);
        if (p != NULL || chunk != NULL) break;
        /* Map a new chunk outside the lock, then try again (another thread may have been first). */
        if (rp__os_alloc(RP__META_CHUNK, &chunk) != 0) return NULL;
    }
    if (chunk != NULL) rp__os_release(chunk, RP__META_CHUNK);
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
        rp__segmap_fork_lock(true);
    } else {
        rp__segmap_fork_lock(false);
        rp__os_mutex_unlock(&rp__meta_lock);
        rp__os_mutex_unlock(&rp__desc_lock);
    }
}

void rp__segment_fork_reset(void) {
    rp__os_mutex_reset(&rp__meta_lock);
    rp__os_mutex_reset(&rp__desc_lock);
    rp__segmap_fork_reset();
}

/* ---- spans from the page source and the cache ------------------------------------------------------ */

/* Syscalls happen outside the heap lock (design.md). Giving a span back is decided under the lock
 * and done after it: the span is "doomed" (it leaves the heap's books and the segment map, and a
 * node written into its own first bytes puts it on heap->doomed), and rp__heap_unlock returns the
 * doomed spans once the lock is released. Taking a span reserves its bytes against the limit under
 * the lock and maps them after it. */
typedef struct rp__doomed {
    struct rp__doomed *next;
    size_t size;
} rp__doomed_t;

/* Give a span back to the page source now. pre: it left heap->mapped. */
static void rp__span_unmap(rp_heap_t *heap, void *base, size_t size) {
    rp__asan_span_clean(base, size); /* the next user of these addresses starts clean */
    if (heap->pages == NULL) rp__os_release(base, size);
    else rp_pages_free_locked(heap->pages, base, size);
    atomic_fetch_add(&heap->purges, 1);
}

void rp__span_return(rp_heap_t *heap, void *base, size_t size) {
    atomic_fetch_sub(&heap->mapped, size);
    rp__span_unmap(heap, base, size);
}

/* Under heap->lock: the span leaves the books now and the address space at the next unlock. */
static void rp__span_doom(rp_heap_t *heap, void *base, size_t size) {
    atomic_fetch_sub(&heap->mapped, size);
    rp__asan_span_clean(base, size);
    rp__doomed_t *d = base;
    d->size = size;
    d->next = atomic_load_explicit(&heap->doomed, memory_order_relaxed);
    /* The only other writer is rp__span_flush, which swaps the whole list out. */
    while (!atomic_compare_exchange_weak_explicit(&heap->doomed, &d->next, d, memory_order_release,
                                                  memory_order_relaxed)) {
    }
}

void rp__span_flush(rp_heap_t *heap) {
    rp__doomed_t *d = atomic_exchange_explicit(&heap->doomed, NULL, memory_order_acquire);
    if (d == NULL) return;
    int saved = rp__os_last_error(); /* free never changes errno, malloc only on failure */
    while (d != NULL) {
        rp__doomed_t *next = d->next;
        rp__span_unmap(heap, d, d->size);
        d = next;
    }
    rp__os_set_last_error(saved);
}

static void rp__cache_take(rp_heap_t *heap, unsigned i) {
    atomic_fetch_sub(&heap->cached, heap->cache[i].size);
    heap->cache[i] = heap->cache[--heap->ncache];
}

/* A cached large block's descriptor leaves the map (the span is about to be reused as something
 * else or given back). */
static void rp__cache_forget_large(rp__span_cached_t c) {
    if (c.large == NULL) return;
    rp__segmap_remove_large(c.large);
    rp__meta_free(c.large, sizeof *c.large);
}

/* Under heap->lock: a cached span leaves for the OS at the next unlock. */
static void rp__cache_drop(rp_heap_t *heap, rp__span_cached_t c) {
    rp__cache_forget_large(c);
    rp__span_doom(heap, c.base, c.size);
}

void rp__cache_purge(rp_heap_t *heap, bool force) {
    if (heap->ncache == 0) return;
    uint64_t now = rp__os_clock_ms();
    /* Runs at every cache operation: with nothing due, skip the scan of up to RP__CACHE_SLOTS. */
    if (!force && (rp__config.purge_off || now - heap->cache_oldest < rp__config.purge_delay_ms)) return;
    uint64_t oldest = now;
    for (unsigned i = 0; i < heap->ncache;) {
        rp__span_cached_t c = heap->cache[i];
        bool old = !rp__config.purge_off && now - c.since >= rp__config.purge_delay_ms;
        if (force || old) {
            rp__cache_take(heap, i);
            rp__cache_drop(heap, c);
        } else {
            if (c.since < oldest) oldest = c.since;
            i++;
        }
    }
    heap->cache_oldest = oldest;
}

/* size bytes from the heap's own page source, with the thread's last error cleared first, so
 * that after the call it holds only what the source said. */
static void *rp__span_map_source(rp_heap_t *heap, size_t size, bool *locked) {
    *(rp_error_t *)rp_last_error() = (rp_error_t){.status = RP_OK};
    return rp_pages_allocate_locked(heap->pages, size, locked);
}

/* Map size fresh bytes from the heap's page source. No lock held; the bytes were reserved. */
static void *rp__span_map(rp_heap_t *heap, size_t size) {
    void *p = NULL;
    if (heap->pages == NULL) {
        int err = rp__os_alloc(size, &p);
        if (err != 0) {
            rp__fail_os(err, "heap: mapping %zu bytes", size);
            return NULL;
        }
        return p;
    }
    /* The page source records why it could not lock (with the remedy) when it knows; a source
     * that records nothing (yours) must not leave an older error to be reported as the reason. */
    rp_error_t before = *rp_last_error();
    int errno_before = rp__os_last_error();
    bool locked = false;
    p = rp__span_map_source(heap, size, &locked);
    /* Locked pages that wait in the span cache count against the memlock budget that just
     * refused these: give them back and ask again, rather than fail or take unlocked pages while
     * locked ones sit idle (a 5 MiB span cached under an 8 MiB budget refused a 6 MiB block). Only
     * when the source says a limit refused it: a source that never locks, or says nothing, would
     * otherwise map twice and empty the cache at every miss. */
    if ((p == NULL || !locked) && rp_last_error()->status == RP_ERR_LIMIT && atomic_load(&heap->cached) != 0) {
        if (p != NULL) rp_pages_free_locked(heap->pages, p, size);
        rp__heap_lock(heap);
        rp__cache_purge(heap, true);
        rp__heap_unlock(heap); /* unmaps what the purge dropped */
        p = rp__span_map_source(heap, size, &locked);
    }
    if (p != NULL && !locked) {
        if (heap->flags & RP_HEAP_REQUIRE_LOCKED) {
            rp_error_t why = *rp_last_error();
            rp_pages_free_locked(heap->pages, p, size);
            if (why.status == RP_OK) {
                rp__fail(RP_ERR_LIMIT, 0,
                         "heap: %zu bytes from the %s page source could not be locked (RP_HEAP_REQUIRE_LOCKED): the "
                         "source did not lock them and said nothing of why", size, heap->pages->name);
                return NULL;
            }
            rp__fail(why.status, why.os_error,
                     "heap: %zu bytes from the %s page source could not be locked (RP_HEAP_REQUIRE_LOCKED): %s", size,
                     heap->pages->name, why.message);
            if (why.remedy != NULL) rp__error_set_remedy(why.remedy);
            return NULL;
        }
        atomic_fetch_add(&heap->unlocked, size);
    }
    /* A success leaves the last error as it was, unless the source said why it could not lock
     * (rp_heap_stats().unlocked counts those pages); errno as it was in any case, as malloc does
     * (a failed mlock left ENOMEM there). */
    if (p != NULL && rp_last_error()->status == RP_OK) *(rp_error_t *)rp_last_error() = before;
    if (p != NULL) rp__os_set_last_error(errno_before);
    return p;
}

/* The cached span that serves size bytes (at least least): the smallest one at least least and
 * at most 16 times size, or -1. Under heap->lock. */
static int rp__cache_best(const rp_heap_t *heap, size_t size, size_t least) {
    int best = -1;
    for (unsigned i = 0; i < heap->ncache; i++) {
        size_t s = heap->cache[i].size;
        if (s >= least && s / 16 <= size && (best < 0 || s < heap->cache[best].size)) best = (int)i;
    }
    return best;
}

rp__large_t *rp__cache_take_large(rp_heap_t *heap, size_t size, size_t least) {
    rp__cache_purge(heap, false);
    int best = rp__cache_best(heap, size, least);
    if (best < 0 || heap->cache[best].large == NULL) return NULL;
    rp__large_t *lg = heap->cache[best].large;
    rp__cache_take(heap, (unsigned)best);
    return lg;
}

void *rp__span_acquire(rp_heap_t *heap, size_t size, size_t least, size_t *got, bool *fresh, rp__large_t **large) {
    *fresh = false;
    if (large != NULL) *large = NULL;
    /* Locked and secret pages stay in RAM: a span larger than the machine's memory cannot be
     * honoured, and mapping it would only defer the failure to mlock (which faults pages in until
     * the OOM killer steps in) or to the wipe at free. Refuse it before anything is mapped.
     * Asked only for such heaps: sysconf(_SC_PHYS_PAGES) is a system call (sysinfo), which every
     * large block of the default heap paid before. */
    if (heap->resident) {
        size_t ram = rp__os_physical_memory();
        if (size > ram) {
            rp__fail(RP_ERR_NOMEM, 0,
                     "heap: %zu bytes from the %s page source would stay resident, more than the %zu bytes of "
                     "physical memory", size, heap->pages->name, ram);
            return NULL;
        }
    }
    rp__heap_lock(heap);
    rp__cache_purge(heap, false);
    int best = rp__cache_best(heap, size, least);
    if (best >= 0) {
        rp__span_cached_t c = heap->cache[best];
        rp__cache_take(heap, (unsigned)best);
        if (large != NULL) *large = c.large;
        else rp__cache_forget_large(c); /* the segment re-maps the range */
        rp__heap_unlock(heap);
        rp__asan_span_clean(c.base, c.size); /* freed blocks of its last use */
        *got = c.size;
        return c.base;
    }
    /* A miss. On OS pages, grow the largest smaller cached span (mremap moves its pages, so only
     * the new tail faults in). For a large block, cached spans less than half this request would
     * otherwise pile up behind ever larger ones (a program that reuses blocks of growing size):
     * give them back. Those within a factor of two stay: blocks of sizes drawn from one range
     * (mstress: 128-256 KiB) serve each other, and giving them all back at every miss cost a
     * munmap each (170 in a short mstress run, against tcmalloc's 15). Not for a segment: it is
     * no larger block of the same program, and every new segment (4 MiB) emptied the cache of
     * such blocks, which the next of them then mapped again (mstress at 16 threads: 490 of its
     * 600 munmap calls, round 15); they leave by the purge delay and the cache's bounds. */
    int grow = -1;
    if (rp__heap_spans_grow(heap)) {
        for (unsigned i = 0; i < heap->ncache; i++)
            if (heap->cache[i].size < size && (grow < 0 || heap->cache[i].size > heap->cache[grow].size)) grow = (int)i;
    }
    rp__span_cached_t old = {0};
    if (grow >= 0) {
        old = heap->cache[grow];
        rp__cache_take(heap, (unsigned)grow);
        rp__cache_forget_large(old);
        rp__asan_span_clean(old.base, old.size);
    }
    for (unsigned i = 0; i < heap->ncache && large != NULL;) {
        if (heap->cache[i].size < size / 2) {
            rp__span_cached_t c = heap->cache[i];
            rp__cache_take(heap, i);
            rp__cache_drop(heap, c);
        } else {
            i++;
        }
    }
    /* Reserve the bytes against the limit (cached spans count: drop them before refusing). */
    size_t mapped = atomic_load(&heap->mapped);
    size_t need = old.base != NULL ? size - old.size : size;
    if (heap->limit != SIZE_MAX && (need > heap->limit || mapped > heap->limit - need)) {
        rp__cache_purge(heap, true);
        mapped = atomic_load(&heap->mapped);
        if (need > heap->limit || mapped > heap->limit - need) {
            rp__heap_unlock(heap);
            rp__fail(RP_ERR_LIMIT, 0, "heap limit: %zu bytes held, %zu more needed, limit %zu", mapped, need,
                     heap->limit);
            return NULL;
        }
    }
    atomic_fetch_add(&heap->mapped, need);
    rp__heap_unlock(heap);

    void *p = NULL;
    if (old.base != NULL && rp__os_remap(old.base, old.size, size, true, NULL, &p) != 0) {
        /* Growth only happens without a limit, so widening the reservation to a fresh map is fine. */
        p = NULL;
        rp__span_return(heap, old.base, old.size);
        atomic_fetch_add(&heap->mapped, old.size);
        need = size;
    }
    /* A grown span keeps its old contents; a page source of yours promises only read-write
     * memory (pages.h), not zeros, so only the OS's fresh pages let calloc skip its memset. */
    *fresh = p == NULL && (heap->pages == NULL || heap->pages == rp_pages_os() || heap->pages == rp_pages_plain());
    if (p == NULL) p = rp__span_map(heap, size);
    if (p == NULL) {
        atomic_fetch_sub(&heap->mapped, need);
        return NULL;
    }
    *got = size;
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
    uint64_t now = rp__os_clock_ms();
    if (heap->ncache == 0) heap->cache_oldest = now; /* later entries are no older */
    heap->cache[heap->ncache++] = (rp__span_cached_t){base, size, now, large};
    atomic_fetch_add(&heap->cached, size);
    rp__cache_purge(heap, false);
}

/* ---- segments ------------------------------------------------------------------------------------- */

static uint64_t rp__slice_mask(unsigned first, unsigned count) {
    uint64_t ones = count >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << count) - 1);
    return ones << first;
}

/* The first run of count free slices, or -1: bit i of m stays set while slices i.. are free
 * (free has no bit at or past nslices, and the shifts bring in zeros). */
static int rp__find_run(uint64_t free, unsigned count) {
    uint64_t m = free;
    for (unsigned i = 1; i < count && m != 0; i++) m &= free >> i;
    return m != 0 ? __builtin_ctzll(m) : -1;
}

/* The first segment of a cache has RP__SEG_SLICES_FIRST slices (256 KiB); each further one
 * doubles, up to the heap's segment size: a process that allocates little maps little, one that
 * allocates much soon gets whole segments. The process's first segment of the default heap has
 * RP__SEG_SLICES_START (512 KiB): a short process (dash for `sh -c`: 5 classes) then fits in one
 * segment, where 256 KiB made it map a second one and its descriptor, two system calls and a page
 * fault in every process under the preload; untouched slices cost no memory. Only that one: under
 * future locking (rampart run, mlockall) every segment is charged to RLIMIT_MEMLOCK whole, so each
 * further thread's first segment stays small. */
#define RP__SEG_SLICES_FIRST 4u
#define RP__SEG_SLICES_START 8u
static atomic_bool rp__seg_started;

/* A new segment for local, of at least min_slices slices. A shared local's caller holds
 * heap->lock: it is released while the span is mapped and registered (the new segment is nobody
 * else's yet) and held again on return. */
/* Blocks that threads free into the pages of an exited thread's cache wait there until a cache
 * is collected: a new thread adopting it, or malloc_trim. A thread about to map a segment collects
 * them first, at most every RP__ORPHANS_COLLECT_MS, so that their emptied segments reach the span
 * cache where its request looks first: a thread that freed what an exited one had allocated
 * (40 MB) then allocated as much again kept both resident (44 MB, then 89 MB; glibc 2.5 MB, then
 * 43 MB). The default heap's thread caches only: a shared cache's caller holds the heap lock. */
#define RP__ORPHANS_COLLECT_MS 10u

static void rp__orphans_collect_paced(rp__local_t *local) {
    rp_heap_t *heap = local->heap;
    if (!heap->is_default || local->shared || atomic_load_explicit(&heap->orphan_count, memory_order_relaxed) == 0)
        return;
    uint64_t now = rp__os_clock_ms();
    uint64_t last = atomic_load_explicit(&heap->orphans_collected_ms, memory_order_relaxed);
    if (now - last < RP__ORPHANS_COLLECT_MS ||
        !atomic_compare_exchange_strong_explicit(&heap->orphans_collected_ms, &last, now, memory_order_relaxed,
                                                 memory_order_relaxed))
        return;
    rp__orphans_collect(heap, false);
}

/* On a page source that locks under a finite budget (rp_pages_os() without CAP_IPC_LOCK), at
 * most the slices that fit in what the heap does not hold yet: its first segment (256 KiB) could
 * not be locked under Docker's 64 KiB limit, so a heap that requires locked pages served not even
 * 32 bytes there, and under 1 MiB it stopped at 768 KiB when the next segment was 1 MiB. The
 * caller still raises it to what the request needs. */
static unsigned rp__segment_fit_budget(rp_heap_t *heap, unsigned nslices) {
    if (heap->pages == NULL) return nslices;
    size_t limit = rp_pages_get_limit(heap->pages);
    if (limit == SIZE_MAX || limit == 0) return nslices; /* no budget, or none known */
    size_t held = atomic_load_explicit(&heap->mapped, memory_order_relaxed);
    size_t fit = limit > held ? (limit - held) >> RP__SLICE_SHIFT : 0;
    if (fit >= nslices) return nslices;
    /* Past the budget a best-effort heap's segments go unlocked whatever their size: small ones
     * would only mean more of them (a mapping and a failed lock each, and a longer list to walk
     * for every new page: 1024 segments for 64 MiB of small blocks, against 66). */
    if (fit == 0) return (heap->flags & RP_HEAP_REQUIRE_LOCKED) ? 1 : nslices;
    return (unsigned)fit;
}

static rp__segment_t *rp__segment_new(rp__local_t *local, unsigned min_slices) {
    rp_heap_t *heap = local->heap;
    rp__orphans_collect_paced(local);
    unsigned nslices = RP__SEG_SLICES_FIRST;
    if (heap->is_default && local->segs == NULL && !atomic_load_explicit(&rp__seg_started, memory_order_relaxed) &&
        !atomic_exchange_explicit(&rp__seg_started, true, memory_order_relaxed))
        nslices = RP__SEG_SLICES_START;
    for (rp__segment_t *s = local->segs; s != NULL && nslices < heap->seg_slices; s = s->next) nslices *= 2;
    if (nslices > heap->seg_slices) nslices = heap->seg_slices;
    nslices = rp__segment_fit_budget(heap, nslices);
    if (nslices < min_slices) nslices = min_slices;
    size_t size = (size_t)nslices * RP__SLICE_SIZE;
    if (local->shared) rp__heap_unlock(heap);
    rp__segment_t *seg = NULL;
    size_t got = 0;
    bool fresh;
    void *base = rp__span_acquire(heap, size, size, &got, &fresh, NULL);
    if (base != NULL) {
        seg = rp__desc_get();
        if (seg != NULL && rp__segmap_set(base, got, &seg->span) != 0) {
            rp__segmap_set(base, got, NULL);
            rp__desc_put(seg);
            seg = NULL;
        }
        if (seg != NULL) {
            seg->span = (rp__span_t){RP__SPAN_SEGMENT, base, got, heap};
            seg->local = local;
            seg->nslices = nslices;
            seg->free_slices = rp__slice_mask(0, seg->nslices);
            seg->dirty_slices = 0;
            seg->kept_starts = 0;
            /* Slices never touched are not resident: count them as purged until a page uses them.
             * Not on a heap whose page source keeps its pages in RAM (locked, secret): locking
             * made them all resident (a 256 KiB locked segment with one page counted 64 KiB). */
            for (unsigned i = 0; i < seg->nslices; i++) seg->pages[i].purged = !heap->resident;
        }
    }
    rp__heap_lock(heap);
    if (seg != NULL) {
        seg->hnext = heap->segs;
        seg->hprev = NULL;
        if (heap->segs) heap->segs->hprev = seg;
        heap->segs = seg;
        if (!heap->resident) atomic_fetch_add(&heap->decommitted, size);
    } else if (base != NULL) {
        rp__span_release(heap, base, got, NULL);
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
    if (local->spare == seg) local->spare = NULL;
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

/* A kept page of class cls and k slices in one of local's segments whose slices are still dirty,
 * or NULL (its segment in *segp). */
static rp__page_t *rp__kept_find(rp__local_t *local, unsigned cls, unsigned k, rp__segment_t **segp) {
    for (rp__segment_t *seg = local->segs; seg != NULL; seg = seg->next) {
        for (uint64_t m = seg->kept_starts; m != 0; m &= m - 1) {
            unsigned at = (unsigned)__builtin_ctzll(m);
            rp__page_t *page = &seg->pages[at];
            uint64_t mask = rp__slice_mask(at, k);
            /* A purge since (which takes its slices off dirty_slices) may have zeroed its lists. */
            if (atomic_load_explicit(&page->cls, memory_order_relaxed) == cls && page->slices == k &&
                (seg->dirty_slices & mask) == mask) {
                *segp = seg;
                return page;
            }
        }
    }
    return NULL;
}

/* The slices of seg's kept pages. */
static uint64_t rp__kept_slices(const rp__segment_t *seg) {
    uint64_t slices = 0;
    for (uint64_t m = seg->kept_starts; m != 0; m &= m - 1) {
        unsigned s = (unsigned)__builtin_ctzll(m);
        slices |= rp__slice_mask(s, seg->pages[s].slices);
    }
    return slices;
}

/* Slices at .. at + k - 1 of seg get a page: a kept page that overlaps them is no longer kept. */
static void rp__kept_drop(rp__segment_t *seg, unsigned at, unsigned k) {
    for (uint64_t m = seg->kept_starts; m != 0; m &= m - 1) {
        unsigned s = (unsigned)__builtin_ctzll(m);
        if (s < at + k && s + seg->pages[s].slices > at) seg->kept_starts &= ~((uint64_t)1 << s);
    }
}

/* Which free slices rp__find_slices looks among. */
typedef enum {
    RP__SLICES_RESIDENT_UNKEPT, /* dirty, of no kept page */
    RP__SLICES_RESIDENT,        /* dirty */
    RP__SLICES_FREE,            /* any free */
} rp__slices_t;

/* The first of local's segments with a run of k free slices of the kind asked for (its start in
 * *at), or NULL. */
static rp__segment_t *rp__find_slices(rp__local_t *local, unsigned k, rp__slices_t kind, int *at) {
    for (rp__segment_t *seg = local->segs; seg != NULL; seg = seg->next) {
        uint64_t slices = kind == RP__SLICES_FREE ? seg->free_slices : seg->dirty_slices;
        if (kind == RP__SLICES_RESIDENT_UNKEPT) slices &= ~rp__kept_slices(seg);
        *at = rp__find_run(slices, k);
        if (*at >= 0) return seg;
    }
    return NULL;
}

rp__page_t *rp__segment_page_alloc(rp__local_t *local, unsigned cls) {
    unsigned k = rp__heap_class_slices(cls);
    rp__segment_t *seg = NULL;
    int at = -1;
    /* A page of this class that emptied and kept its blocks first: its free list is made, and its
     * slices are resident (glibc-simple: a batch of one size empties its pages, and the next batch
     * of that size carved them again, 4 KiB per trip through malloc's slow path). */
    rp__page_t *kept = rp__kept_find(local, cls, k, &seg);
    if (kept != NULL) {
        at = (int)(kept - seg->pages);
    } else {
        /* Slices that are still resident first (freed by another page, not purged yet), those
         * of no kept page before those of one, then any: a page made on untouched slices while
         * touched ones wait for the purge adds to the peak resident memory (glibc-simple, one size
         * class after another: 1.2 MiB over glibc's peak with one thread before, 0.6 MiB after).
         * New segments go to the front of the list, so first fit alone would prefer them. */
        seg = rp__find_slices(local, k, RP__SLICES_RESIDENT_UNKEPT, &at);
        if (seg == NULL) seg = rp__find_slices(local, k, RP__SLICES_RESIDENT, &at);
        if (seg == NULL) seg = rp__find_slices(local, k, RP__SLICES_FREE, &at);
        if (seg == NULL) {
            seg = rp__segment_new(local, k);
            if (seg == NULL) return NULL;
            at = 0;
        }
    }
    rp__kept_drop(seg, (unsigned)at, k);
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
    if (kept == NULL) {
        page->free = NULL;
        page->local_free = NULL;
        page->bsize = (uint32_t)bsize;
        atomic_store_explicit(&page->cls, (uint8_t)cls, memory_order_relaxed);
        page->slices = (uint8_t)k;
        page->start = seg->span.base + ((size_t)at << RP__SLICE_SHIFT);
        rp__asan_unpoison(page->start, (size_t)k << RP__SLICE_SHIFT); /* blocks of a page there before */
        page->capacity = (uint32_t)(((size_t)k << RP__SLICE_SHIFT) / bsize);
        page->magic = (((uint64_t)1 << RP__MAGIC_SHIFT) + bsize - 1) / bsize;
        page->own_start = page->start;
        page->own_divides = rp__block_divides(bsize);
        rp__page_set_carved(page, 0);
    }
    /* A kept page keeps its blocks, lists and geometry: only what an owner changes is set. */
    atomic_store_explicit(&page->used, 0, memory_order_relaxed);
    atomic_store_explicit(&page->partials, 0, memory_order_relaxed);
    page->wipe = (local->heap->flags & RP_HEAP_WIPE) ? 1 : 0;
    page->shared = local->shared ? 1 : 0;
    atomic_store_explicit(&page->in_use, 1, memory_order_relaxed);
    page->local = local;
    /* Locals are page-aligned (heap.c): the flags fit below the pointer. */
    atomic_store_explicit(&page->owner, (uintptr_t)local | (page->wipe ? RP__PAGE_WIPE : 0u), memory_order_relaxed);
    page->idle_seen = 0;
    page->idle_sweeps = 0;
    page->seg = seg;
    page->next = page->prev = NULL;
    page->reclaim_next = NULL;
    atomic_store_explicit(&page->xfree, 0, memory_order_relaxed);
    for (unsigned j = (unsigned)at; j < (unsigned)at + k; j++) seg->slice_page[j] = page;
    rp__segmap_set_page(page, true);
    return page;
}

/* seg has just become empty. The local keeps one empty segment, the spare, and hands any other
 * to the span cache. The spare's slices are resident until the purge delay passes, and the next
 * pages go there first (rp__segment_page_alloc takes resident slices before untouched ones), so
 * a program whose live set moves out of a segment and back does not touch fresh memory meanwhile:
 * glibc-simple, five size classes in turn, kept an emptied 256 KiB segment in the span cache while
 * its largest batch went on untouched slices of the next segment, 192 KiB more at its peak per
 * thread. The spare also keeps a loop that allocates and frees one block from mapping and
 * unmapping a segment each time. Of two empty segments the larger stays: it holds more pages. */
static void rp__segment_emptied(rp__local_t *local, rp__segment_t *seg) {
    rp__segment_t *spare = local->spare;
    if (spare == NULL || spare == seg || !rp__segment_empty(spare)) {
        local->spare = seg;
        return;
    }
    if (seg->nslices > spare->nslices) {
        local->spare = seg;
        seg = spare;
    }
    rp__segment_release(local, seg);
}

void rp__segment_page_free(rp__local_t *local, rp__page_t *page) {
    rp__segment_t *seg = page->seg;
    unsigned at = (unsigned)(page - seg->pages);
    uint64_t mask = rp__slice_mask(at, page->slices);
    for (unsigned j = at; j < at + page->slices; j++) seg->slice_page[j] = NULL;
    atomic_store_explicit(&page->in_use, 0, memory_order_relaxed);
    /* Every block of an emptied page is on its lists, marked freed (used is 0, and a block other
     * threads freed counts as used until collected), and a wiping heap's blocks are wiped already
     * (past the link and the mark) by their free: it is kept as it is. */
    if (page->carved != 0 && atomic_load_explicit(&page->used, memory_order_relaxed) == 0)
        seg->kept_starts |= (uint64_t)1 << at;
    rp__segmap_set_page(page, false);
    if (seg->dirty_slices == 0) seg->dirty_since = rp__os_clock_ms();
    seg->dirty_slices |= mask;
    seg->free_slices |= mask;
    if (rp__segment_empty(seg)) rp__segment_emptied(local, seg);
}

/* Purge the dirty free slices of local's segments (all of them if force; else those free for the
 * delay), and with force give back its empty segments. A shared local's caller holds heap->lock:
 * it is released around each madvise, with the slices being purged taken out of free_slices
 * meanwhile, so no page is made on them and their segment cannot be released under us. */
void rp__local_purge(rp__local_t *local, bool force) {
    rp_heap_t *heap = local->heap;
    uint64_t now = rp__os_clock_ms();
    for (rp__segment_t *seg = local->segs, *next; seg != NULL; seg = next) {
        next = seg->next;
        /* The spare (rp__segment_emptied) has served its purpose once the delay has passed with
         * no page made on it: to the span cache, as any other empty segment (but the local's only
         * one, which a loop that allocates and frees one block would map again). */
        bool spare_done = seg == local->spare && !rp__config.purge_off && now - seg->dirty_since >= rp__config.purge_delay_ms &&
                          (local->segs != seg || seg->next != NULL);
        if (rp__segment_empty(seg) && (force || spare_done)) {
            rp__segment_release(local, seg);
            continue;
        }
        if (seg->dirty_slices == 0 || heap->pages != NULL) continue;
        if (!force && (rp__config.purge_off || now - seg->dirty_since < rp__config.purge_delay_ms)) continue;
        uint64_t dirty = seg->dirty_slices, done = 0;
        seg->dirty_slices = 0;
        seg->free_slices &= ~dirty;
        if (local->shared) rp__heap_unlock(heap);
        for (unsigned i = 0; i < seg->nslices;) {
            if (!(dirty >> i & 1)) {
                i++;
                continue;
            }
            unsigned j = i;
            while (j < seg->nslices && (dirty >> j & 1)) j++;
            if (rp__os_advise(seg->span.base + ((size_t)i << RP__SLICE_SHIFT), (size_t)(j - i) << RP__SLICE_SHIFT,
                              RP__OS_ADV_FREE) == 0)
                done |= rp__slice_mask(i, j - i);
            i = j;
        }
        if (local->shared) rp__heap_lock(heap);
        seg->free_slices |= dirty;
        for (unsigned s = 0; s < seg->nslices; s++)
            if (done >> s & 1) seg->pages[s].purged = 1;
        atomic_fetch_add(&heap->decommitted, (size_t)__builtin_popcountll(done) << RP__SLICE_SHIFT);
        atomic_fetch_add(&heap->purges, 1);
        next = seg->next; /* the list may have changed while the lock was released */
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
