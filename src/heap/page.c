/* SPDX-License-Identifier: MIT */
/* heap/page.c — the slow paths of a local cache: growing a page's free list, collecting frees
 * from other threads, marking pages full and taking them back, finding or making a page.
 *
 * A page's free list grows RP__CARVE_BYTES at a time (never the whole page at once), so a fresh
 * page costs one OS page of resident memory, not 64 KiB. Pages that have nothing left are marked
 * full (RP__XFREE_FULL) and leave the class list; the first remote free into a full page hands
 * it back through the owner's reclaim stack, and a local free takes it back directly. A page that
 * drops to zero blocks is retired (its slices return to the segment, where it is kept for its
 * class, segment.c), except the page a class currently allocates from (a loop of malloc + free
 * must not retire and remake a page each time) and a page of few blocks, which is held on its
 * class list for a while ("held pages" below).
 */
#include "heap/heap_internal.h"

rp__page_t rp__empty_page;

/* ---- class lists ---------------------------------------------------------------------------------- */

static void rp__list_push(rp__local_t *local, rp__page_t *page) {
    rp__page_t **head = &local->pages[page->cls];
    page->prev = NULL;
    page->next = *head;
    if (*head) (*head)->prev = page;
    *head = page;
}

static void rp__list_remove(rp__local_t *local, rp__page_t *page) {
    if (page->prev) page->prev->next = page->next;
    else local->pages[page->cls] = page->next;
    if (page->next) page->next->prev = page->prev;
    page->next = page->prev = NULL;
}

/* Make page (or &rp__empty_page) the one class cls allocates from; cur_by_granule, the
 * RP__PAGE_CUR bits of the old and the new page and the idle sweep's mask follow. */
static void rp__set_cur(rp__local_t *local, unsigned cls, rp__page_t *page) {
    rp__page_t *old = local->cur[cls];
    if (old == page) return;
    if (old != &rp__empty_page) atomic_fetch_and_explicit(&old->owner, ~(uintptr_t)RP__PAGE_CUR, memory_order_relaxed);
    local->cur[cls] = page;
    /* The class's granules run down from its size's to the one after the class below. */
    size_t size = rp__heap_class_size(cls);
    if (size <= RP__CLASS_TABLE_MAX) {
        for (size_t g = size >> RP__GRAN_SHIFT;; g--) {
            local->cur_by_granule[g] = page;
            if (g == 0 || rp__class_table[g - 1] != cls) break;
        }
    }
    uint64_t bit = (uint64_t)1 << (cls & 63);
    if (page != &rp__empty_page) {
        atomic_fetch_or_explicit(&page->owner, (uintptr_t)RP__PAGE_CUR, memory_order_relaxed);
        local->cur_count += (local->cur_mask[cls >> 6] & bit) == 0;
        local->cur_mask[cls >> 6] |= bit;
    } else {
        local->cur_count -= (local->cur_mask[cls >> 6] & bit) != 0;
        local->cur_mask[cls >> 6] &= ~bit;
    }
}

static bool rp__page_full(const rp__page_t *page) {
    return (atomic_load_explicit(&page->owner, memory_order_relaxed) & RP__PAGE_FULL) != 0;
}

static void rp__page_unmark_full(rp__page_t *page) {
    atomic_fetch_and_explicit(&page->owner, ~(uintptr_t)RP__PAGE_FULL, memory_order_relaxed);
}

/* ---- debug checks ---------------------------------------------------------------------------------- */

static bool rp__in_page(const rp__page_t *page, const void *b) {
    const uint8_t *q = b;
    if (q < page->start || q >= page->start + (size_t)page->carved * page->bsize) return false;
    size_t off = (size_t)(q - page->start);
    return ((uint64_t)off * page->magic >> RP__MAGIC_SHIFT) * page->bsize == off;
}

void rp__debug_on_alloc(rp__page_t *page, rp__block_t *b) {
    if (!rp__in_page(page, b)) rp__corrupt("heap free list damaged (a block outside its page)", b);
    const uint8_t *q = (const uint8_t *)b;
    /* Wiping heaps keep freed blocks zero instead of junk; both are checked. */
    uint8_t expect = page->wipe ? 0 : RP_HEAP_FREE_JUNK;
    for (size_t i = RP__FREE_WORDS; i < page->bsize; i++)
        if (q[i] != expect) rp__corrupt("write after free (a freed block changed)", b);
    if (page->free != NULL && !rp__in_page(page, page->free))
        rp__corrupt("heap free list damaged (next block outside its page)", b);
    memset(b, RP_HEAP_ALLOC_JUNK, page->bsize);
}

void rp__debug_on_free(rp__page_t *page, rp__block_t *b) {
    rp__asan_unpoison(b, page->bsize); /* the redzone of a live block (alloc.c) is junked too */
    memset((uint8_t *)b + RP__FREE_WORDS, page->wipe ? 0 : RP_HEAP_FREE_JUNK, page->bsize - RP__FREE_WORDS);
}

/* ---- free lists ---------------------------------------------------------------------------------- */

static void rp__page_extend(rp__page_t *page) {
    uint32_t n = (uint32_t)(RP__CARVE_BYTES / page->bsize);
    if (n == 0) n = 1;
    if (n > page->capacity - page->carved) n = page->capacity - page->carved;
    uint8_t *first = page->start + (size_t)page->carved * page->bsize;
    rp__vg_undefined(first, (size_t)n * page->bsize); /* Valgrind: whatever this memory held before */
    rp__block_t *tail = page->free;
    for (uint32_t i = n; i-- > 0;) {
        rp__block_t *b = (rp__block_t *)(first + (size_t)i * page->bsize);
        if (RP__DEBUG) rp__debug_on_free(page, b);
        rp__asan_block_freed(page, b);
        rp__mark(b); /* free, never handed out: freeing it is an invalid free */
        b->next = tail;
        tail = b;
    }
    if (page->carved == 0 && n > 1 && rp__vg_on()) {
        /* Under Valgrind a page's first block is never handed out: the page descriptor points
         * at it (page->start), so memcheck's leak search would call it reachable when the
         * program loses it. It stays marked freed: a free of it is a double free. */
        tail = tail->next;
    }
    rp__vg_noaccess(first, (size_t)n * page->bsize); /* free blocks: the program's no longer */
    page->free = tail;
    rp__page_set_carved(page, page->carved + n);
}

RP_NORETURN void rp__bad_free(const void *p, rp__page_t *page) {
    if (page == NULL || !page->in_use || !rp__in_page(page, p) || !rp__is_marked(p))
        rp__corrupt("free of a pointer that is not the start of a block", p);
    rp__corrupt("double free", p);
}

/* Move the blocks other threads freed into the owner's list. pre: the page is not marked full.
 *
 * One exchange takes the list and its count (xfree packs both). With the owner's free list empty
 * (malloc's slow path, which is where the owner collects), the list becomes its free list whole:
 * no block of it is read here but the head. Walking it cost a serial miss per block, written last
 * by another core (mstress: 8% of the run in this walk, 92% of that on the first read of each
 * block); malloc's pop reads each block anyway, one at a time, with the next one prefetched. A
 * block pushed twice (two threads freeing it at once) no longer shows as a cycle here: the remote
 * free's atomic mark catches that (free.c). Otherwise (and under Valgrind) the blocks are pushed
 * one by one onto the owner's list, each checked, and their number against the count. */
void rp__page_collect(rp__page_t *page) {
    if (atomic_load_explicit(&page->xfree, memory_order_relaxed) == 0) return;
    uintptr_t x = atomic_exchange_explicit(&page->xfree, 0, memory_order_acquire);
    RP_ASSERT((x & RP__XFREE_FULL) == 0);
    uint32_t counted = rp__xfree_count(x), used = atomic_load_explicit(&page->used, memory_order_relaxed);
    rp__block_t *b = rp__xfree_head(page, x);
    if (counted > used || (b == NULL) != (counted == 0))
        rp__corrupt("heap remote free list damaged (its count disagrees with the blocks out)", b);
    atomic_store_explicit(&page->used, used - counted, memory_order_relaxed);
    if (b == NULL) return;
    /* Under Valgrind the walk closes each block's words to the program again (the remote free
     * left them open for this read): memcheck then still reports a write to them before reuse. */
    if (page->free == NULL && !rp__vg_on()) {
        if (!rp__in_page(page, b) || !rp__is_marked(b))
            rp__corrupt("heap remote free list damaged (a block outside its page, or unmarked)", b);
        page->free = b;
        return;
    }
    uint32_t n = 0;
    while (b != NULL) {
        if (++n > counted || !rp__in_page(page, b))
            rp__corrupt("heap remote free list damaged (a block outside its page, or more than counted)", b);
        rp__vg_defined(b, RP__FREE_WORDS); /* Valgrind: the remote free left them readable */
        if (!rp__is_marked(b)) rp__corrupt("heap remote free list damaged (an unmarked block)", b);
        rp__block_t *next = b->next;
        b->next = page->free;
        rp__vg_noaccess(b, RP__FREE_WORDS);
        page->free = b;
        b = next;
    }
    if (n != counted) rp__corrupt("heap remote free list damaged (fewer blocks than counted)", page->start);
}

static void rp__page_retire_now(rp__local_t *local, rp__page_t *page) {
    if (rp__page_full(page)) {
        uintptr_t expect = RP__XFREE_FULL;
        /* A remote free took the mark: the page is on the reclaim stack and comes back there. */
        if (!atomic_compare_exchange_strong(&page->xfree, &expect, 0)) return;
        rp__page_unmark_full(page);
    } else {
        rp__list_remove(local, page);
    }
    int saved = rp__os_last_error();
    rp__segment_page_free(local, page);
    rp__os_set_last_error(saved);
}

void rp__local_reclaim(rp__local_t *local) {
    if (atomic_load_explicit(&local->reclaim, memory_order_relaxed) == NULL) return;
    rp__page_t *page = atomic_exchange_explicit(&local->reclaim, NULL, memory_order_acquire);
    while (page != NULL) {
        rp__page_t *next = page->reclaim_next;
        if (rp__page_full(page)) {
            rp__page_unmark_full(page);
            rp__list_push(local, page);
        }
        rp__page_collect(page);
        rp__page_retire(local, page);
        page = next;
    }
}

/* A local free into a page marked full: take the page back so its blocks are used again. */
void rp__page_unfull(rp__local_t *local, rp__page_t *page) {
    uintptr_t expect = RP__XFREE_FULL;
    if (atomic_compare_exchange_strong(&page->xfree, &expect, 0)) {
        rp__page_unmark_full(page);
        rp__list_push(local, page);
    }
}

/* ---- held pages ------------------------------------------------------------------------------------
 *
 * A page of at most RP__HOLD_BLOCKS blocks (the classes above 8 KiB) that empties stays on its
 * class list, held, instead of going back to the segment at once. A program that keeps a few
 * blocks of such a class live emptied a page on most of its frees and made one on most of its
 * mallocs (alloc-test: 111 K pages made and retired in 20 M steps, from 1% of its requests), and a
 * retired page's slices went to other classes while the class's next page took fresh ones: held,
 * alloctest1 0.94x the time and 0.91x the peak RSS, mstress 0.81x the peak RSS.
 *
 * A class keeps up to RP__HOLD_PAGES held pages while it is in use. At each purge tick of malloc's
 * slow path (every 256 calls, rp__local_drop_held) the held pages past those go back, and all of a
 * class that neither emptied a page nor took malloc's slow path since the tick before; all go back
 * at rp_heap_collect and at thread exit. Memory a program stopped using so goes back on the same
 * ticks as the purge that follows. */

static void rp__page_retire_empty(rp__local_t *local, rp__page_t *page) {
    if (page == local->cur[page->cls] || page->used != 0) return;
    rp__local_enter(local);
    rp__page_retire_now(local, page);
    rp__local_leave(local);
}

void rp__page_retire(rp__local_t *local, rp__page_t *page) {
    if (page->capacity > RP__HOLD_BLOCKS) {
        rp__page_retire_empty(local, page);
    } else if (page != local->cur[page->cls] && page->used == 0) {
        uint64_t bit = (uint64_t)1 << (page->cls & 63);
        local->held_mask[page->cls >> 6] |= bit;
        local->held_active[page->cls >> 6] |= bit;
    }
}

void rp__local_drop_held(rp__local_t *local, bool all) {
    for (unsigned w = 0; w < 2; w++) {
        uint64_t mask = local->held_mask[w], active = all ? 0 : local->held_active[w];
        local->held_mask[w] = local->held_active[w] = 0;
        while (mask != 0) {
            unsigned c = w * 64 + (unsigned)__builtin_ctzll(mask);
            uint64_t bit = mask & -mask;
            mask &= mask - 1;
            unsigned keep = (active & bit) ? RP__HOLD_PAGES : 0, kept = 0;
            for (rp__page_t *page = local->pages[c], *next; page != NULL; page = next) {
                next = page->next;
                if (page == local->cur[c] || page->used != 0) continue;
                if (kept < keep) kept++;
                else rp__page_retire_empty(local, page);
            }
            if (kept != 0) local->held_mask[w] |= bit;
        }
    }
}

/* ---- idle classes --------------------------------------------------------------------------------- */

/* Before class cls touches fresh memory (a new page, or more of its page's blocks), give back the
 * current pages of other classes that are empty and idle, so that the new page goes on their
 * resident slices (segment.c takes those first) instead of untouched ones. A class's current page
 * is kept when it empties, so that a malloc/free loop does not make and retire a page on every
 * pair; but a program that uses one size after another (glibc-simple: batches of one size) then
 * held one page per class it had ever used, resident.
 *
 * The sweep runs at every RP__SWEEP_EVERY-th time a class touches fresh memory (each run reads
 * every current page's owner line: at every time, alloc-test spent 17 instructions per step in
 * it). Idle means: found empty, with its lists as they were, by more sweeps in a row than
 * (M + RP__SWEEP_EVERY - 1) / RP__SWEEP_EVERY + 1, M being the classes with a current page. The
 * lists are compared by their heads: a malloc pops the free list's head, and the free that leaves
 * the page empty again pushes the other one, so mallocs and frees between two sweeps that both
 * find the page empty change a head, except when they bring both back to where they were (which
 * takes a page of very few carved blocks, handed out and freed in just that order): that page is
 * at worst retired and made again. The count is what keeps a loop over many classes from
 * churning: a class the loop visits once per round is passed by at most M - 1 fresh-memory events,
 * so by at most (M - 1) / RP__SWEEP_EVERY + 1 sweeps, even when every other visit makes a page
 * (retiring at the second sweep made tight's 8 classes retire one another's pages on every pair,
 * 1985 instructions per pair instead of 98). A loop that needs no fresh memory runs no sweep at all. */
#define RP__SWEEP_EVERY 8u
static void rp__local_idle_sweep(rp__local_t *local, unsigned cls) {
    if (++local->fresh % RP__SWEEP_EVERY != 0) return;
    unsigned limit = (local->cur_count + RP__SWEEP_EVERY - 1) / RP__SWEEP_EVERY + 1;
    for (unsigned w = 0; w < 2; w++) {
        uint64_t mask = local->cur_mask[w];
        while (mask != 0) {
            unsigned c = w * 64 + (unsigned)__builtin_ctzll(mask);
            mask &= mask - 1;
            rp__page_t *page = local->cur[c];
            if (c == cls) continue;
            uintptr_t seen = ((uintptr_t)page->free ^ ((uintptr_t)page->local_free << 1)) | 1;
            if (atomic_load_explicit(&page->used, memory_order_relaxed) != 0 || page->idle_seen != seen) {
                page->idle_seen = seen;
                page->idle_sweeps = 0;
                continue;
            }
            if (++page->idle_sweeps <= limit) continue;
            rp__set_cur(local, c, &rp__empty_page);
            rp__page_retire_now(local, page);
        }
    }
}

/* ---- the slow path of malloc ---------------------------------------------------------------------- */

static void *rp__page_malloc_slow_marked(rp__local_t *local, unsigned cls, bool donated_ok);

void *rp__page_malloc_slow(rp__local_t *local, unsigned cls, bool donated_ok) {
    rp__local_enter(local);
    void *b = rp__page_malloc_slow_marked(local, cls, donated_ok);
    rp__local_leave(local);
    return b;
}

static void *rp__page_malloc_slow_marked(rp__local_t *local, unsigned cls, bool donated_ok) {
    if ((++local->ops & 255) == 0) {
        rp__xbatch_flush_all(local);
        rp__local_drop_held(local, false);
        rp__local_purge(local, false);
        /* Only take the heap lock when the span cache holds something to age out. */
        if (atomic_load_explicit(&local->heap->cached, memory_order_relaxed) != 0) {
            if (!local->shared) rp__heap_lock(local->heap);
            rp__cache_purge(local->heap, false);
            if (!local->shared) rp__heap_unlock(local->heap);
        }
    }
    rp__local_reclaim(local);
    local->held_active[cls >> 6] |= (uint64_t)1 << (cls & 63); /* the class is in use */
    rp__page_t *page = local->cur[cls];
    if (page != &rp__empty_page) {
        if (page->free == NULL && page->local_free != NULL) {
            page->free = page->local_free;
            page->local_free = NULL;
        }
        if (page->free != NULL) return rp__local_pop(local, cls);
    }

    /* Free blocks of any page first, blocks other threads gave back among them (their lines are
     * warm somewhere); fresh blocks only when no page has any. Carving the first page not fully
     * carved while later pages held free blocks touched fresh memory needlessly (alloc-test's
     * random replacement over many classes: peak RSS 1.35x glibc's). */
    rp__page_t *uncarved = NULL;
    for (page = local->pages[cls]; page != NULL;) {
        rp__page_t *next = page->next;
        if (page->free == NULL && page->local_free != NULL) {
            page->free = page->local_free;
            page->local_free = NULL;
        }
        if (page->free == NULL) rp__page_collect(page);
        if (page->free != NULL) {
            rp__set_cur(local, cls, page);
            return rp__local_pop(local, cls);
        }
        if (page->carved < page->capacity) {
            if (uncarved == NULL) uncarved = page;
            page = next;
            continue;
        }
        uintptr_t expect = 0;
        if (atomic_compare_exchange_strong(&page->xfree, &expect, RP__XFREE_FULL)) {
            rp__list_remove(local, page);
            atomic_fetch_or_explicit(&page->owner, (uintptr_t)RP__PAGE_FULL, memory_order_relaxed);
            if (local->cur[cls] == page) rp__set_cur(local, cls, &rp__empty_page);
            page = next;
        }
        /* else a remote free arrived meanwhile: collect it on the next round */
    }
    if (uncarved != NULL) {
        rp__local_idle_sweep(local, cls);
        rp__page_extend(uncarved);
        rp__set_cur(local, cls, uncarved);
        return rp__local_pop(local, cls);
    }
    rp__set_cur(local, cls, &rp__empty_page);

    rp_heap_t *heap = local->heap;
    /* Whether the heap has donations is asked without the lock (the default heap's threads take
     * no lock here), so through the atomic byte count, not the list head donations write. */
    if (donated_ok && atomic_load_explicit(&heap->donated_bytes, memory_order_relaxed) != 0) {
        if (!local->shared) rp__heap_lock(heap);
        void *b = rp__donated_alloc(heap, rp__heap_class_size(cls));
        if (!local->shared) rp__heap_unlock(heap);
        if (b != NULL) return b;
    }
    rp__local_idle_sweep(local, cls);
    page = rp__segment_page_alloc(local, cls);
    if (page == NULL) return NULL;
    rp__list_push(local, page);
    /* A kept page (segment.c) comes back with its free blocks, resident: those go out first. */
    if (page->free == NULL && page->local_free == NULL) rp__page_extend(page);
    rp__set_cur(local, cls, page);
    return rp__local_pop(local, cls);
}

/* ---- thread exit ---------------------------------------------------------------------------------- */

void rp__local_release(rp__local_t *local) {
    rp__xbatch_flush_all(local);
    rp__local_reclaim(local);
    for (unsigned c = 0; c < RP__CLASSES; c++) {
        rp__set_cur(local, c, &rp__empty_page);
        for (rp__page_t *page = local->pages[c], *next; page != NULL; page = next) {
            next = page->next;
            rp__page_collect(page);
            rp__page_retire_empty(local, page);
        }
    }
    local->held_mask[0] = local->held_mask[1] = 0;
    /* Empty segments go to the span cache (the delay still applies there). */
    for (rp__segment_t *seg = local->segs, *next; seg != NULL; seg = next) {
        next = seg->next;
        if (rp__segment_empty(seg))
            rp__segment_release(local, seg);
    }
}
