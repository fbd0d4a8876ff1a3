/* SPDX-License-Identifier: MIT */
/* heap/stats.c — diagnostics: statistics, validation of the metadata, collecting cached memory.
 *
 * Statistics are gathered without stopping other threads: under the heap lock the segments are
 * walked and each page's block count (a relaxed counter only its owner writes) is added to its
 * class, so a snapshot may be a moment stale, never torn. Validation checks everything the calling thread may read safely: heap-wide structures
 * under the heap lock (segments in the map, large blocks, donations, partial-release records) and
 * the pages of the calling thread's own cache (free lists inside their page, freed marks on free
 * blocks, counts adding up).
 */
#include "heap/heap_internal.h"

/* rp_heap_stats_t and rp_heap_class_stats_t as first released (the end of their last field). */
#define RP__HEAP_STATS_V1 RP__SIZE_V1(rp_heap_stats_t, classes)
#define RP__HEAP_CLASS_STATS_V1 RP__SIZE_V1(rp_heap_class_stats_t, blocks)

void rp__heap_snapshot(rp_heap_t *heap, rp__heap_snapshot_t *snap) {
    memset(snap, 0, sizeof *snap);
    rp_heap_stats_t *out = &snap->stats;
    out->struct_size = sizeof *out;
    out->classes = RP__CLASSES;
    rp_heap_class_stats_t *classes = snap->classes;
    rp__heap_lock(heap);
    for (unsigned c = 0; c < RP__CLASSES; c++) {
        classes[c].struct_size = sizeof classes[c];
        classes[c].block_size = rp__heap_class_size(c);
    }
    for (const rp__segment_t *seg = heap->segs; seg != NULL; seg = seg->hnext) {
        for (unsigned j = 0; j < seg->nslices; j++) {
            const rp__page_t *page = &seg->pages[j];
            if (!atomic_load_explicit(&page->in_use, memory_order_relaxed)) continue;
            classes[atomic_load_explicit(&page->cls, memory_order_relaxed)].blocks +=
                atomic_load_explicit(&page->used, memory_order_relaxed);
        }
    }
    for (unsigned c = 0; c < RP__CLASSES; c++) out->allocated += classes[c].blocks * classes[c].block_size;
    for (rp__donated_t *d = heap->donated; d != NULL; d = d->next)
        for (size_t w = 0; w < (d->ngran + 63) / 64; w++)
            out->allocated += (size_t)__builtin_popcountll(d->used[w]) << RP__GRAN_SHIFT;
    rp__heap_unlock(heap);
    out->allocated += atomic_load(&heap->large_bytes);
    out->large_blocks = atomic_load(&heap->large_count);
    out->mapped = atomic_load(&heap->mapped);
    size_t decommitted = atomic_load(&heap->decommitted);
    out->resident = out->mapped > decommitted ? out->mapped - decommitted : 0;
    out->cached = atomic_load(&heap->cached);
    out->donated = atomic_load(&heap->donated_bytes);
    out->limit = heap->limit;
    out->purges = atomic_load(&heap->purges);
    out->unlocked = atomic_load(&heap->unlocked);
}

rp_status_t rp_heap_stats(rp_heap_t *heap, rp_heap_stats_t *out) {
    if (heap == NULL || out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_heap_stats: no %s given", heap ? "output" : "heap");
    rp_status_t st = rp__sized_out_check(out, RP__HEAP_STATS_V1, "rp_heap_stats");
    if (st != RP_OK) return st;
    rp__heap_snapshot_t snap;
    rp__heap_snapshot(heap, &snap);
    rp__sized_out_write(out, &snap.stats, sizeof snap.stats);
    return RP_OK;
}

rp_status_t rp_heap_class_stats(rp_heap_t *heap, size_t index, rp_heap_class_stats_t *out) {
    if (heap == NULL || out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_heap_class_stats: no %s given", heap ? "output" : "heap");
    rp_status_t st = rp__sized_out_check(out, RP__HEAP_CLASS_STATS_V1, "rp_heap_class_stats");
    if (st != RP_OK) return st;
    if (index >= RP__CLASSES)
        return rp__fail(RP_ERR_BOUNDS, 0, "rp_heap_class_stats: class %zu past the last, %u", index, RP__CLASSES - 1);
    rp__heap_snapshot_t snap;
    rp__heap_snapshot(heap, &snap);
    rp__sized_out_write(out, &snap.classes[index], sizeof snap.classes[index]);
    return RP_OK;
}

static rp_status_t rp__bad(const char *what, const void *where) {
    return rp__fail(RP_ERR_CORRUPT, 0, "heap validate: %s at %p", what, where);
}

static rp_status_t rp__validate_page(const rp__page_t *page) {
    uint32_t n = 0;
    const rp__block_t *lists[2] = {page->free, page->local_free};
    for (int l = 0; l < 2; l++) {
        for (const rp__block_t *b = lists[l]; b != NULL;) {
            const uint8_t *q = (const uint8_t *)b;
            if (++n > page->carved) return rp__bad("a free list with a cycle", page->start);
            if (q < page->start || q >= page->start + (size_t)page->carved * page->bsize ||
                (size_t)(q - page->start) % page->bsize != 0)
                return rp__bad("a free list pointer outside its page", b);
            rp__vg_defined(b, RP__FREE_WORDS); /* under Valgrind a free block is no-access */
            bool marked = rp__is_marked(b);
            const rp__block_t *next = b->next;
            rp__vg_noaccess(b, RP__FREE_WORDS);
            if (!marked) return rp__bad("a free block without its freed mark", b);
            b = next;
        }
    }
    if ((uint64_t)n + page->used > page->carved) return rp__bad("a page whose counts exceed its blocks", page->start);
    return RP_OK;
}

static rp_status_t rp__validate_segment(rp_heap_t *heap, const rp__segment_t *seg, const rp__local_t *mine) {
    if (seg->span.kind != RP__SPAN_SEGMENT || seg->span.heap != heap) return rp__bad("a segment of another heap", seg->span.base);
    if (rp__segmap_get(seg->span.base) != &seg->span ||
        rp__segmap_get(seg->span.base + seg->span.size - 1) != &seg->span)
        return rp__bad("a segment missing from the segment map", seg->span.base);
    if (seg->local != mine) return RP_OK; /* another thread's pages: not ours to read */
    for (unsigned j = 0; j < seg->nslices; j++) {
        const rp__page_t *page = seg->slice_page[j];
        bool free = (seg->free_slices >> j) & 1;
        if (free != (page == NULL)) return rp__bad("a slice table that disagrees with the free slices", seg->span.base);
        if (page == NULL) continue;
        unsigned at = (unsigned)(page - seg->pages);
        if (!page->in_use || j < at || j >= at + page->slices || page->seg != seg)
            return rp__bad("a slice pointing at the wrong page", seg->span.base + ((size_t)j << RP__SLICE_SHIFT));
        if (j == at) {
            rp_status_t st = rp__validate_page(page);
            if (st != RP_OK) return st;
        }
    }
    return RP_OK;
}

rp_status_t rp_heap_validate(rp_heap_t *heap) {
    if (heap == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_heap_validate: no heap given");
    const rp__local_t *mine = heap->is_default ? rp__tls_mine : heap->shared;
    rp_status_t st = RP_OK;
    rp__heap_lock(heap);
    for (const rp__segment_t *seg = heap->segs; seg != NULL && st == RP_OK; seg = seg->hnext)
        st = rp__validate_segment(heap, seg, mine);
    for (const rp__large_t *lg = heap->large; lg != NULL && st == RP_OK; lg = lg->next) {
        if (rp__segmap_get(lg->block) != &lg->span || lg->block < lg->span.base ||
            lg->block + lg->usable != lg->span.base + lg->span.size)
            st = rp__bad("a large block whose descriptor disagrees with the map", lg->block);
    }
    if (st == RP_OK) st = rp__donated_validate(heap);
    if (st == RP_OK && heap->ncache > RP__CACHE_SLOTS) st = rp__bad("a span cache past its slots", heap);
    rp__heap_unlock(heap);
    if (st == RP_OK) st = rp__partial_validate(heap);
    return st;
}

/* What rp_heap_collect gives back of one cache: its held pages, and with force every empty page,
 * the current page of each class included. An empty current page is kept for the next malloc of
 * its class, but it also keeps its segment from ever being empty: a heap whose blocks were all
 * freed still held a segment per class used, 13 MiB after a forced collect of 97 classes (on a
 * locked heap, locked memory that only rp_heap_destroy gave back). */
static void rp__local_give_back(rp__local_t *local, bool force) {
    if (force) rp__local_release(local);
    else rp__local_drop_held(local, true);
    rp__local_purge(local, force);
}

void rp_heap_collect(rp_heap_t *heap, bool force) {
    if (heap == NULL) return;
    int saved = rp__os_last_error();
    if (heap->is_default) {
        rp__local_t *local = rp__tls_mine;
        if (local != NULL) {
            rp__local_enter(local);
            rp__xbatch_flush_all(local);
            rp__local_reclaim(local);
            rp__local_give_back(local, force);
            rp__local_leave(local);
        }
        rp__orphans_collect(heap, force);
    }
    rp__heap_lock(heap);
    /* The heap's one cache (a heap you created), or the default heap's for threads without one of
     * their own (made at the first such call: a thread past its cache's exit hook). */
    if (heap->shared != NULL) {
        rp__local_reclaim(heap->shared);
        rp__local_give_back(heap->shared, force);
    }
    rp__cache_purge(heap, force);
    rp__heap_unlock(heap);
    rp__os_set_last_error(saved);
}
