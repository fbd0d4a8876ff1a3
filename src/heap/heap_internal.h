/* SPDX-License-Identifier: MIT */
/* heap/heap_internal.h — the heap layer's private types, constants and inline fast paths.
 *
 * Glossary (docs/heap.md draws it):
 *   span     any address range the heap knows: a segment, a large block's mapping, a donated
 *            buffer. The segment map (segmap.c) maps every 4 KiB of a span to its descriptor, so
 *            a pointer is looked up, never masked or dereferenced blindly.
 *   segment  a span of RP__SLICE_SIZE slices from the page source, owned by one local cache.
 *            Its descriptor (rp__segment_t) lives outside it: slice table and page descriptors.
 *   page     1..16 consecutive slices of a segment holding blocks of one size class.
 *   local    a per-thread cache (rp__local_t): for each class the page it allocates from and the
 *            list of its other pages. Its owner pops and pushes blocks without atomics; other
 *            threads push frees onto a page's atomic xfree list.
 *
 * Threat model of the metadata: a free block holds two words, the free-list link and a "freed"
 * mark (the block's address XOR a per-process random cookie, as glibc's tcache key). The mark
 * catches a block freed twice, locally or by another thread, in release builds too, at the cost of
 * no extra cache line: free writes the block's first line anyway. A program that forges the mark
 * must know the cookie. malloc clears the mark. Pointers that are not the start of a handed-out
 * block (interior, unaligned, never carved) are caught by the block arithmetic, and pointers the
 * heap does not own by the segment map; a use after free can redirect the free-list link, which
 * debug builds catch on every pop and rp_heap_validate on demand.
 */
#ifndef RP_HEAP_INTERNAL_H
#define RP_HEAP_INTERNAL_H

#include <stdatomic.h>
#include <string.h>

#include "core/annotate.h"
#include "internal.h"
#include "os/os.h"
#include "rampart/heap.h"

/* ---- layout constants ---------------------------------------------------------------------------- */

#define RP__GRAN_SHIFT 4                      /* 16-byte blocks and alignment */
#define RP__GRAN ((size_t)1 << RP__GRAN_SHIFT)
#define RP__SLICE_SHIFT 16                    /* 64 KiB slices */
#define RP__SLICE_SIZE ((size_t)1 << RP__SLICE_SHIFT)
#define RP__SEG_SLICES_MAX 64                 /* 4 MiB segments (default heap) */
#define RP__SEG_SLICES_SOURCE 16              /* 1 MiB on a heap's own page source */
#define RP__SEG_SIZE_MAX (RP__SEG_SLICES_MAX * RP__SLICE_SIZE)
#define RP__CLASSES 88                        /* size classes, 16 B .. 128 KiB */
#define RP__SMALL_MAX ((size_t)128 * 1024)    /* larger blocks are spans of their own */
#define RP__CLASS_TABLE_MAX 1024              /* requests up to this find their class by table */
#define RP__TABLE_GRANULES ((RP__CLASS_TABLE_MAX >> RP__GRAN_SHIFT) + 1)
#define RP__LARGE_ROUND_MAX ((size_t)1 << 20) /* large spans up to this come in 8 sizes per doubling */
#define RP__MAP_SHIFT 12                      /* segment map granule: 4 KiB */
#define RP__MAP_PAGE ((size_t)1 << RP__MAP_SHIFT)
#define RP__CARVE_BYTES 4096                  /* a page's free list grows this much at a time */
#define RP__PART_MAX 12                       /* released pieces tracked per partly freed block */
/* Freed spans waiting per heap. mstress keeps 40-100 large blocks live, and its live count swings
 * by more than 32 from round to round: with 32 slots, 1 in 75 large allocations missed the cache
 * (an mmap or mremap, then page faults) and pushed a span out (a munmap: a TLB shootdown of the
 * other core): 411 misses and 165 spans pushed out in a run at scale 1; with 64, 152 misses (most
 * of them the live set growing) and none pushed out. 128 slots gained nothing more. */
#define RP__CACHE_SLOTS 64
#define RP__MAGIC_SHIFT 40                    /* block index = offset * magic >> 40 (exact) */
#define RP__FREE_WORDS (2 * sizeof(uintptr_t))  /* a free block's link and freed mark */

_Static_assert(RP__SEG_SLICES_MAX <= 64, "free slices are one 64-bit mask");
_Static_assert(RP__SMALL_MAX <= RP__SEG_SLICES_SOURCE * RP__SLICE_SIZE, "the largest page fits a small segment");
_Static_assert(RP__SLICE_SIZE % RP__MAP_PAGE == 0, "slices are whole map granules");

/* ---- spans and the segment map ------------------------------------------------------------------- */

typedef enum rp__span_kind { RP__SPAN_SEGMENT = 1, RP__SPAN_LARGE, RP__SPAN_DONATED } rp__span_kind_t;

typedef struct rp__span {
    rp__span_kind_t kind;
    uint8_t *base;
    size_t size;
    rp_heap_t *heap;
} rp__span_t;

/* Map [base, base+size) to span (or to NULL to forget it): every 4 KiB granule, for segments and
 * donations, whose every address must resolve in one lookup. pre: base, size multiples of
 * RP__MAP_PAGE (donations are widened by the caller). 0 or an OS error. */
int rp__segmap_set(const void *base, size_t size, rp__span_t *span);
/* Whether any 4 KiB granule of the range is already mapped to a span, or the range overlaps a
 * large block. */
bool rp__segmap_any(const void *base, size_t size);

/* Three levels over 48-bit addresses at 4 KiB granularity: 12 + 12 + 12 bits. The root is 32 KiB
 * of .bss, middles and leaves 32 KiB each, mapped on first use (a leaf covers 16 MiB), so a
 * process that allocates little maps little. */
#define RP__MAP_BITS 12
#define RP__MAP_FAN ((size_t)1 << RP__MAP_BITS)
#define RP__MAP_MASK (RP__MAP_FAN - 1)
#define RP__MAP_ADDR_BITS (3 * RP__MAP_BITS + RP__MAP_SHIFT)
/* An entry is 0, a page descriptor with bit 0 set (rp__entry_is_page), or a span descriptor
 * (bit 0 clear: segment slices that hold no page, the first granule of a large block and of its
 * block, donations): the slices of a page map straight to it, so rp_free reaches the page in one
 * lookup, and one bit test tells a page from everything else (0 included). A page entry carries
 * in bits 1-5 its owner cache's tag (rp__local_t.entry_bits; descriptors are 64-byte aligned), so
 * that a free tells another thread's block from its own without reading the page's owner word,
 * which shares a line with the lists its owner writes on every malloc and free: that read missed
 * on most of mstress's remote frees. */
typedef _Atomic uintptr_t rp__segmap_leaf_t[RP__MAP_FAN];
typedef _Atomic(rp__segmap_leaf_t *) rp__segmap_mid_t[RP__MAP_FAN];
extern _Atomic(rp__segmap_mid_t *) rp__segmap_root[RP__MAP_FAN];
#define RP__MAP_TAG_PAGE ((uintptr_t)1)
#define RP__MAP_ENTRY_LOW ((uintptr_t)63) /* the tag bits of an entry below the descriptor */
#define RP__MAP_OWNER_TAGS 31u              /* owner tags 1..31 in bits 1-5 */

#define RP__LEAF_SHIFT (RP__MAP_BITS + RP__MAP_SHIFT)     /* a leaf covers 16 MiB */
#define RP__MID_SHIFT (2 * RP__MAP_BITS + RP__MAP_SHIFT) /* a middle table covers 64 GiB */

/* The leaf holding p's entry, or NULL (nothing of the heap's in p's region). The first granule
 * never holds heap memory: NULL, which programs free and reallocate often, is answered without
 * reading the root, whose first page a short process would otherwise fault in for it alone. One
 * compare tests both ends (an address in the first granule wraps around). */
static inline rp__segmap_leaf_t *rp__segmap_leaf(uintptr_t a) {
    if (RP_UNLIKELY(a - RP__MAP_PAGE >= ((uintptr_t)1 << RP__MAP_ADDR_BITS) - RP__MAP_PAGE)) return NULL;
    rp__segmap_mid_t *mid =
        atomic_load_explicit(&rp__segmap_root[a >> RP__MID_SHIFT], memory_order_acquire);
    if (RP_UNLIKELY(mid == NULL)) return NULL;
    return atomic_load_explicit(&(*mid)[(a >> RP__LEAF_SHIFT) & RP__MAP_MASK], memory_order_acquire);
}

static inline uintptr_t rp__segmap_entry(const void *p) {
    uintptr_t a = (uintptr_t)p;
    rp__segmap_leaf_t *leaf = rp__segmap_leaf(a);
    if (RP_UNLIKELY(leaf == NULL)) return 0;
    return atomic_load_explicit(&(*leaf)[(a >> RP__MAP_SHIFT) & RP__MAP_MASK], memory_order_acquire);
}

/* ---- pages, segments, locals --------------------------------------------------------------------- */

typedef struct rp__block {
    struct rp__block *next;
} rp__block_t;

struct rp__local;
struct rp__segment;

/* xfree holds the list of blocks freed by other threads together with their count, so that one
 * CAS pushes and counts a block and one exchange hands the owner both (rp__xfree_* below):
 *   bit 0       the "full" mark. The owner sets it (only on an empty list) when the page has
 *               nothing left; the first thread that then frees into it clears the mark with its
 *               push and hands the page back to the owner through the owner's reclaim stack. A
 *               page that is marked is on no list of its owner and is never retired, so the
 *               freeing thread may still touch the page after its push.
 *   bits 1-31   the head block: its offset from the page start in 16-byte granules, plus one
 *               (0: the list is empty)
 *   bits 32-63  how many blocks the list holds */
#define RP__XFREE_FULL ((uintptr_t)1)
#define RP__XFREE_COUNT_SHIFT 32
_Static_assert(sizeof(uintptr_t) == 8, "xfree packs a count beside the list head");

/* The owner word of a page (rp__page_t.owner): its owner's local cache, whose descriptors are
 * page-aligned, with these flags in the low bits, so that the owner's free tests one word for
 * "mine, and nothing unusual": the word equals the thread's cache, or the cache with
 * RP__PAGE_CUR only. */
#define RP__PAGE_CUR 1u      /* the page its class allocates from (local->cur): kept when empty */
#define RP__PAGE_WIPE 2u     /* RP_HEAP_WIPE */
#define RP__PAGE_FULL 4u     /* marked full (RP__XFREE_FULL), on no list of the owner */
#define RP__PAGE_PARTIAL 8u  /* a block got a partial-release record (sticky until the page is
                                made again): the owner's frees check the records */
#define RP__PAGE_FLAGS ((uintptr_t)15)

/* Three cache lines, split by who writes them, so that a thread freeing into another thread's
 * page never reads a line its owner is writing (each such read costs the owner a miss on its next
 * malloc or free there), and the owner's malloc and free read one line of it: the fields they
 * need from line 1 are copied onto line 2 when the page is made (an owner's free of a block whose
 * descriptor is out of cache then misses once, not twice: measured 0.2 misses per step of
 * alloctest before). */
typedef struct rp__page {
    /* Line 1: fixed while the page is in use (or written rarely); read by other threads' frees
     * and by the slow paths. */
    struct rp__local *local;
    uint8_t *start;
    uint64_t magic;
    uint32_t bsize;
    uint32_t capacity;
    _Atomic int partials;         /* blocks of this page with a partial-release record */
    uint8_t wipe;                 /* RP_HEAP_WIPE */
    uint8_t shared;               /* the owner is a shared local: frees take the heap lock */
    _Atomic uint8_t cls;          /* cls and in_use: written when the page is made, read by stats */
    _Atomic uint8_t in_use;
    uint8_t slices;
    uint8_t purged;               /* the slices were purged since last in use */
    uint8_t idle_sweeps;          /* idle sweeps (page.c) in a row that found it empty and untouched */
    struct rp__page *next, *prev; /* the owner's class list (slow paths only) */
    /* Line 2: written by the owner only; everything its fast paths read. */
    _Alignas(64) rp__block_t *free; /* owner's free list: malloc pops here */
    rp__block_t *local_free;      /* the owner's free that empties the page puts its block here
                                     (its slow paths all their frees); it becomes the free list
                                     when that is empty. The owner's other frees push onto free,
                                     last in, first out (rp__free_at) */
    /* The owner's local | RP__PAGE_* flags. Atomic because rp_free_part sets RP__PAGE_PARTIAL
     * from any thread (rarely: it shares the owner's line); the owner's fast path reads it with a
     * plain load, the slow paths change the flags with atomic read-modify-writes. */
    _Atomic uintptr_t owner;
    uint8_t *own_start;           /* a copy of start */
    uint64_t own_divides;         /* rp__is_block's multiplier: floor(2^64 / bsize) + 1 */
    _Atomic uint32_t used;        /* blocks out, including remote frees not yet collected;
                                     written by the owner only (relaxed), read by rp_heap_stats */
    uint32_t carved;
    uint64_t own_limit;           /* rp__is_block's bound: carved * (bsize * own_divides mod 2^64) */
    /* What the idle sweep (page.c) saw of this page's lists when it last found it empty: the same
     * again at the next sweep means no malloc or free touched it in between. */
    uintptr_t idle_seen;
    /* Line 3: written by other threads: the remote free list and the hand-back link; and the
     * segment, read on slow paths only. */
    _Alignas(64) _Atomic uintptr_t xfree;
    struct rp__page *reclaim_next;
    struct rp__segment *seg;
    /* carved, published by the owner for other threads' frees: a block at or past it was never
     * handed out. Their free checks it, since the owner takes their list without a walk. */
    _Atomic uint32_t xcarved;
} rp__page_t;
_Static_assert(sizeof(rp__page_t) == 192, "a page descriptor is three cache lines");
_Static_assert(_Alignof(rp__page_t) > RP__MAP_ENTRY_LOW, "a page entry's tag bits lie below the descriptor");
_Static_assert(((size_t)RP__SEG_SLICES_MAX * RP__SLICE_SIZE >> RP__GRAN_SHIFT) < ((size_t)1 << 30),
               "a block's granule offset fits xfree's head bits");

/* xfree's parts (see RP__XFREE_FULL). */
static inline uintptr_t rp__xfree_head_bits(const rp__page_t *page, const void *b) {
    return (((uintptr_t)((const uint8_t *)b - page->start) >> RP__GRAN_SHIFT) + 1) << 1;
}
static inline rp__block_t *rp__xfree_head(const rp__page_t *page, uintptr_t x) {
    uintptr_t granule = (x & (((uintptr_t)1 << RP__XFREE_COUNT_SHIFT) - 1)) >> 1;
    return granule == 0 ? NULL : (rp__block_t *)(page->start + ((granule - 1) << RP__GRAN_SHIFT));
}
static inline uint32_t rp__xfree_count(uintptr_t x) { return (uint32_t)(x >> RP__XFREE_COUNT_SHIFT); }

typedef struct rp__segment {
    rp__span_t span;
    struct rp__local *local;
    unsigned nslices;
    uint64_t free_slices;         /* bit i: slice i holds no page */
    uint64_t dirty_slices;        /* free slices touched since the last purge */
    uint64_t dirty_since;         /* when the oldest dirty slice became free (ms) */
    /* bit i: pages[i] is kept: not in use, its blocks still carved, free and marked on its lists,
     * so that the same class may take it back as it is while its slices stay dirty (segment.c). */
    uint64_t kept_starts;
    struct rp__segment *next, *prev;   /* the owner's list */
    struct rp__segment *hnext, *hprev; /* the heap's list (under the heap lock) */
    struct rp__segment *pool_next;     /* the descriptor pool */
    rp__page_t *slice_page[RP__SEG_SLICES_MAX];
    rp__page_t pages[RP__SEG_SLICES_MAX];
} rp__segment_t;

/* Whether no page of seg is in use: every one of its slices is free. */
static inline bool rp__segment_empty(const rp__segment_t *seg) {
    uint64_t all = seg->nslices >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << seg->nslices) - 1);
    return seg->free_slices == all;
}

#define RP__LEAF_SLOTS 8

/* Remote frees gathered per page before they go to it (free.c): up to RP__XBATCH_BYTES of blocks
 * no larger than RP__XBATCH_BSIZE_MAX, in RP__XBATCH_SLOTS batches direct-mapped by page. */
#define RP__XBATCH_SLOTS 32
#define RP__XBATCH_BYTES 4096u
#define RP__XBATCH_BSIZE_MAX 1024u
typedef struct {
    rp__page_t *page;                 /* NULL: empty */
    rp__block_t *head, *tail;         /* linked through next, head the last freed */
    uint32_t count, limit;            /* blocks in it; how many make it go */
} rp__xbatch_t;

typedef struct rp__local {
    /* The segment-map leaves this thread freed into last, direct-mapped by region (leaf)
     * number, so that a free costs one map load, not three, while the heap's segments lie in
     * RP__LEAF_SLOTS neighbouring 16 MiB regions (tables are never unmapped, so the pointers stay
     * valid). One cached leaf missed on 46% of alloctest's frees, whose 20 MiB straddle two
     * regions, a mispredicted branch each; a cached middle table (64 GiB) never misses but costs
     * a load and 6 instructions more per free. leaf_key: the region's address >> RP__LEAF_SHIFT,
     * UINTPTR_MAX while none. leaf_bias: the leaf's address less the region's first granule
     * number times the entry size, so that an address's entry lies at leaf_bias plus its whole
     * granule number (address >> RP__MAP_SHIFT) times 8, with no mask (one instruction less per
     * free). Keys and biased bases are two arrays, not one of pairs, so that a slot is an index
     * scaled by 8 into either (one instruction less again). */
    uintptr_t leaf_key[RP__LEAF_SLOTS];
    uintptr_t leaf_bias[RP__LEAF_SLOTS];
    /* The low bits of the map entries of this cache's pages: RP__MAP_TAG_PAGE and a tag of 1..31
     * in bits 1-5, given in turn to new caches (two live caches share one only past 31 of them,
     * and then the owner word still tells them apart). RP__LOCAL_NONE's matches no entry. */
    uintptr_t entry_bits;
    rp__page_t *cur[RP__CLASSES];     /* never NULL: &rp__empty_page when there is none */
    /* cur by request size for the table's classes: cur[rp__class_table[g]] for granule g, kept
     * so by rp__set_cur (page.c), the only writer of cur once the cache is made (rp__local_map
     * sets both to &rp__empty_page). malloc then loads the page straight
     * from the size, without the table's byte on its path: 3 instructions and one dependent load
     * fewer (tight 0.93x; docs/heap.md, round 13). */
    rp__page_t *cur_by_granule[RP__TABLE_GRANULES];
    rp__page_t *pages[RP__CLASSES];   /* class lists (pages not marked full) */
    uint64_t cur_mask[2];             /* bit c: cur[c] is a page (the idle sweep's worklist) */
    uint64_t held_mask[2];            /* bit c: class c's list may hold emptied pages (page.c) */
    uint64_t held_active[2];          /* bit c: class c emptied a page or took malloc's slow
                                         path since the last purge tick */
    uint32_t cur_count;               /* bits set in cur_mask */
    uint32_t fresh;                   /* times a class touched fresh memory (paces the idle sweep) */
    uint32_t xbatch_mask;             /* bit i: xbatch[i] holds blocks */
    rp__xbatch_t xbatch[RP__XBATCH_SLOTS];
    /* Full pages that got remote frees: the only field other threads write, on a line of its own. */
    _Alignas(64) _Atomic(rp__page_t *) reclaim;
    _Alignas(64) rp__segment_t *segs;
    rp__segment_t *spare;             /* the one empty segment kept on segs, or NULL (segment.c) */
    rp_heap_t *heap;
    struct rp__local *next_all, *next_orphan;
    uint32_t ops;                     /* slow-path calls, to pace purging */
    _Atomic uint32_t busy;            /* inside a slow path that changes the lists (for fork) */
    bool shared;                      /* used under the heap lock, not by one thread */
    bool orphan;                      /* on heap->orphans (under the heap lock) */
} rp__local_t;

/* A thread marks its cache busy while a slow path changes its lists, so that a fork child knows
 * which caches of threads it does not have are consistent enough to take over (heap.c,
 * rp__fork_child). The fast paths are not marked: cut short, they leave a block counted as in use
 * or lost from a list, which only keeps a page from being reused. */
static inline void rp__local_enter(rp__local_t *local) {
    atomic_fetch_add_explicit(&local->busy, 1, memory_order_seq_cst);
}
static inline void rp__local_leave(rp__local_t *local) {
    atomic_fetch_sub_explicit(&local->busy, 1, memory_order_release);
}

extern rp__page_t rp__empty_page;
/* The cache of a thread that has none yet, is exiting, or runs under Valgrind: every class's
 * current page is &rp__empty_page and no leaf key matches, so the fast paths fall through to
 * their slow paths without testing for it. Read-only: nothing may write it. */
extern const rp__local_t rp__local_none;
#define RP__LOCAL_NONE ((rp__local_t *)&rp__local_none)

/* The large block whose span holds p (a list walk under a lock: only for addresses the map does
 * not resolve, which are interior pointers of large blocks or not the heap's), or NULL. */
rp__span_t *rp__range_find(const void *p);

static inline bool rp__entry_is_page(uintptr_t e) { return (e & RP__MAP_TAG_PAGE) != 0; }
static inline rp__page_t *rp__entry_page(uintptr_t e) { return (rp__page_t *)(e & ~RP__MAP_ENTRY_LOW); }

/* The descriptor of the span holding p, or NULL when p is not in any span (never touches p). */
static inline rp__span_t *rp__segmap_get(const void *p) {
    uintptr_t e = rp__segmap_entry(p);
    if (rp__entry_is_page(e)) return &rp__entry_page(e)->seg->span;
    return e != 0 ? (rp__span_t *)e : rp__range_find(p);
}
/* Map the slices of page to it (or back to its segment). */
void rp__segmap_set_page(rp__page_t *page, bool in_use);

/* ---- large blocks, donations, the span cache ------------------------------------------------------ */

/* A large block costs the segment map two entries whatever its size (its span's first granule and
 * its block's), and a place on the global range list, which resolves interior addresses on the
 * slow paths (rp_free_part, reports of bad frees, donation overlaps). */
typedef struct rp__large {
    rp__span_t span;
    uint8_t *block;
    size_t usable;
    size_t asked;     /* the size last asked for (>= 1): where rp_free_part completes the block */
    _Atomic int partials;
    struct rp__large *next, *prev;
    uint8_t *mapped_block;        /* the block granule entered in the map (NULL: only the base's) */
    struct rp__large *rnext, *rprev; /* the range list (segmap.c) */
} rp__large_t;

/* Enter lg (span and block set) in the map and the range list; 0 or an OS error (nothing
 * entered). */
int rp__segmap_add_large(rp__large_t *lg);
/* Tables made ahead for an entry whose address is not known yet (a large block that mremap is
 * about to move where the kernel chooses): entering it then cannot fail. */
typedef struct rp__segmap_spare {
    void *mid, *leaf;
} rp__segmap_spare_t;
int rp__segmap_spare_make(rp__segmap_spare_t *spare); /* 0 or an OS error (nothing held) */
void rp__segmap_spare_drop(rp__segmap_spare_t *spare); /* gives back the tables not installed */
/* rp__segmap_add_large for a block at its span's base, with spare's tables where the map has
 * none: it cannot fail. */
void rp__segmap_add_large_spared(rp__large_t *lg, rp__segmap_spare_t *spare);
/* lg's block moved inside its span (a cached span reused with another alignment). */
int rp__segmap_move_large(rp__large_t *lg);
void rp__segmap_remove_large(rp__large_t *lg);
void rp__segmap_fork_lock(bool lock);
void rp__segmap_fork_reset(void);

typedef struct rp__donated {
    rp__span_t span;              /* base/size: the page-widened range registered in the map */
    uint8_t *start;               /* first 16-byte granule inside the buffer */
    size_t ngran;
    uint64_t *used, *first;       /* granule in use / granule starts a block */
    size_t meta_size;
    _Atomic int partials;
    struct rp__donated *next;
} rp__donated_t;

typedef struct rp__span_cached {
    uint8_t *base;
    size_t size;
    uint64_t since;
    struct rp__large *large; /* a large block's descriptor, still in the segment map, or NULL */
} rp__span_cached_t;

/* ---- the heap ------------------------------------------------------------------------------------ */

struct rp_heap {
    rp__os_mutex_t lock;
    const rp_page_allocator_t *pages; /* NULL: OS default */
    size_t limit;                     /* SIZE_MAX: none */
    unsigned flags;
    bool is_default;
    bool resident;                    /* the page source keeps every page in RAM (os: locked; secret) */
    unsigned seg_slices;
    rp__local_t *shared;              /* the local used under the lock (the default heap's: made at first need) */
    rp__local_t *locals, *orphans;
    _Atomic unsigned orphan_count;    /* caches on orphans (written under the lock; read without) */
    _Atomic uint64_t orphans_collected_ms; /* when a new segment last had the orphans collected */
    rp__segment_t *segs;
    rp__large_t *large;
    rp__donated_t *donated;
    rp__span_cached_t cache[RP__CACHE_SLOTS];
    unsigned ncache;
    uint64_t cache_oldest;            /* no cached span entered before (ms): a purge that finds
                                         nothing due skips the scan of every slot */
    _Atomic(struct rp__doomed *) doomed; /* spans to give back once the lock is released */
    struct rp_heap *next_heap;
    _Atomic size_t mapped, decommitted, cached, large_bytes, large_count, donated_bytes, purges, unlocked;
};

/* Spans of this heap grow by mremap (segment.c): OS pages, no limit to reserve against, and an
 * OS that resizes mappings. On such a heap a large span is also rounded to a power of two
 * (large.c). */
static inline bool rp__heap_spans_grow(const rp_heap_t *heap) {
    return heap->pages == NULL && heap->limit == SIZE_MAX && rp__os_remap_available();
}

/* Options read once from the environment (heap.c). */
typedef struct rp__heap_config {
    uint64_t purge_delay_ms;  /* RAMPART_PURGE_DELAY */
    size_t cache_max;         /* RAMPART_CACHE_MAX */
    bool purge_off;           /* RAMPART_PURGE_DELAY=-1 */
} rp__heap_config_t;
extern rp__heap_config_t rp__config;
/* RAMPART_SHOW_STATS and the verbose options line, at the end of the heap's options (show.c). */
void rp__heap_show_env(bool wipe);

/* ---- size classes ------------------------------------------------------------------------------- */

/* Requests up to RP__CLASS_TABLE_MAX take their class from a table indexed by 16-byte granules
 * (class sizes up to there are multiples of 16): one load instead of a branch, a bit scan and two
 * shifts (alloc.c holds it; test_size_classes checks it against the formula below for every size
 * up to 2 KiB). malloc's fast path reads it only on its way to the slow path: it finds the page
 * itself by granule (rp__local_t.cur_by_granule). */
extern const uint8_t rp__class_table[RP__TABLE_GRANULES];

/* 16..128 in steps of 16, then 8 classes per doubling (12.5% apart) up to 128 KiB. */
static inline unsigned rp__heap_size_class(size_t n) {
    if (n <= RP__CLASS_TABLE_MAX) return rp__class_table[(n + RP__GRAN - 1) >> RP__GRAN_SHIFT];
    size_t x = n - 1;
    unsigned b = 63u - (unsigned)__builtin_clzll((unsigned long long)x);
    return 8u + (b - 7u) * 8u + (unsigned)(x >> (b - 3u)) - 8u;
}
static inline size_t rp__heap_class_size(unsigned c) {
    if (c < 8) return (size_t)(c + 1) << 4;
    unsigned b = (c - 8u) / 8u + 7u, i = (c - 8u) % 8u;
    return (size_t)(i + 9u) << (b - 3u);
}
/* Slices per page of class c. A page's carved blocks stay resident until the whole page is empty,
 * and only then go to other classes: with at least 8 blocks per page (a 512 KiB page for 64 KiB
 * blocks), alloc-test's few live blocks of each class above 8 KiB held pages that never emptied,
 * with several free carved blocks each (peak RSS 17.8 MiB, 15.6 MiB with one slice, glibc 13.2 MiB;
 * one thread, scale 0.2). So classes above 8 KiB get one slice, or as many as one block needs.
 *
 * Classes of 2-8 KiB get pages of at least RP__PAGE_BLOCKS_MIN blocks (2-4 slices) instead of one
 * slice (8-28 blocks). The blocks freed into a page other than its class's current one wait there
 * until the current page runs dry, so a class whose live blocks fill several small pages gets
 * them back one at a time, each through malloc's slow path: 4.2% of alloc-test's mallocs took it
 * (338 K of 8 M, scale 0.4, one thread), 1.9% with these pages; alloctest1 0.95-0.99x time,
 * alloctestN 0.96x, their peak RSS 1.02x, mstress's 1.05x: a page made on slices other pages left
 * resident keeps them all resident while any block of it lives (docs/heap.md, round 9). Up to
 * 16 KiB, alloc-test's peak RSS went up 28%. */
#define RP__PAGE_BLOCKS_MIN 32u
#define RP__PAGE_BLOCKS_MAX_BSIZE 8192u
static inline unsigned rp__heap_class_slices(unsigned c) {
    size_t s = rp__heap_class_size(c);
    size_t bytes = s <= RP__PAGE_BLOCKS_MAX_BSIZE ? RP__PAGE_BLOCKS_MIN * s : s;
    return bytes <= RP__SLICE_SIZE ? 1u : (unsigned)((bytes + RP__SLICE_SIZE - 1) >> RP__SLICE_SHIFT);
}

/* ---- cross-file functions ------------------------------------------------------------------------- */

/* heap.c */
rp_heap_t *rp__heap_default(void);
rp__local_t *rp__local_slow(void);          /* this thread's local for the default heap */
/* A cache for heap (takes heap->lock): a thread's takes an orphan if there is one; a shared one
 * is used under the heap lock by any thread. */
rp__local_t *rp__local_new(rp_heap_t *heap, bool shared);
rp__local_t *rp__heap_shared_locked(rp_heap_t *heap); /* heap->shared, made if need be; NULL: no memory */
bool rp__oom(rp_heap_t *heap, size_t size); /* run the handlers: true = retry */
void rp__heap_lock(rp_heap_t *heap);
void rp__heap_unlock(rp_heap_t *heap);      /* then gives back the spans doomed under the lock */

/* segment.c: memory from the page source, the span cache, purging, descriptors */
/* A span of size bytes, or from the cache one of at least least bytes (least <= size: a large
 * block's exact size under its rounded one, large.c). pre: heap->lock NOT held (it is taken for
 * the cache and the reservation, and released before any mapping). large: NULL for a segment (a
 * cached large descriptor is dropped), else it receives the cached span's descriptor, or NULL.
 * fresh: the span comes zeroed from the source. */
void *rp__span_acquire(rp_heap_t *heap, size_t size, size_t least, size_t *got, bool *fresh,
                       struct rp__large **large);
/* Under heap->lock: cache the span (with its large descriptor, which stays in the segment map);
 * spans pushed out of the cache are given back at the unlock. */
void rp__span_release(rp_heap_t *heap, void *base, size_t size, struct rp__large *large);
/* Under heap->lock: the descriptor of the cached span that rp__span_acquire would serve size
 * (least) bytes from, taken out of the cache, when that span is a freed large block's; NULL when
 * it is a segment's or none fits (then nothing is taken). */
struct rp__large *rp__cache_take_large(rp_heap_t *heap, size_t size, size_t least);
void rp__span_return(rp_heap_t *heap, void *base, size_t size);   /* give back to the source now */
void rp__span_flush(rp_heap_t *heap);      /* give back the doomed spans (no lock needed) */
/* Under heap->lock: cached spans past the delay (all if force) are given back at the unlock. */
void rp__cache_purge(rp_heap_t *heap, bool force);
rp__page_t *rp__segment_page_alloc(rp__local_t *local, unsigned cls);
void rp__segment_page_free(rp__local_t *local, rp__page_t *page);
void rp__segment_release(rp__local_t *local, rp__segment_t *seg); /* an empty segment to the cache */
void rp__local_purge(rp__local_t *local, bool force);
/* Collect the caches of exited threads (heap.c): the blocks other threads freed into their pages
 * count as freed, and their emptied pages and segments go back (to the span cache; with force,
 * every empty page). rp_heap_collect, and a thread about to map a segment (segment.c). Call it
 * with no lock held. */
void rp__orphans_collect(rp_heap_t *heap, bool force);
void rp__segment_destroy_all(rp_heap_t *heap);
void *rp__meta_alloc(size_t size);
void rp__meta_free(void *p, size_t size);
void rp__segment_fork_lock(bool lock);
void rp__segment_fork_reset(void);

/* page.c: the slow paths of one local */
void *rp__page_malloc_slow(rp__local_t *local, unsigned cls, bool donated_ok);
void rp__page_collect(rp__page_t *page);
/* An emptied page of at most RP__HOLD_BLOCKS blocks stays on its class list, held; a class in use
 * keeps up to RP__HOLD_PAGES of them past a purge tick (page.c). */
#define RP__HOLD_BLOCKS 8u
#define RP__HOLD_PAGES 4u
void rp__page_retire(rp__local_t *local, rp__page_t *page);
/* Retire the emptied pages held on class lists: all, or those past what a class in use keeps. */
void rp__local_drop_held(rp__local_t *local, bool all);
void rp__local_reclaim(rp__local_t *local);
void rp__page_unfull(rp__local_t *local, rp__page_t *page);
void rp__local_release(rp__local_t *local);  /* thread exit: give back what is empty */
RP_NORETURN void rp__bad_free(const void *p, rp__page_t *page);

/* alloc.c */
void *rp__heap_malloc(rp_heap_t *heap, size_t size);
void *rp__heap_aligned(rp_heap_t *heap, size_t alignment, size_t size);
void *rp__heap_realloc(rp_heap_t *heap, void *p, size_t size);
void *rp__malloc_default(size_t size);
void *rp__calloc_default(size_t count, size_t size);
void *rp__realloc_default(void *p, size_t size);
void *rp__aligned_default(size_t alignment, size_t size);
size_t rp__usable(const void *p);

/* free.c */
void rp__free(void *p);
void rp__free_remote(rp__page_t *page, rp__block_t *b);
void rp__xbatch_flush_all(rp__local_t *local); /* send every batch of local's remote frees */
void rp__xbatch_drop(rp__local_t *local);      /* forget them (fork child: their blocks stay in use) */
void rp__heap_free_slow(void *p, rp__span_t *span);
void rp__partial_forget_heap(rp_heap_t *heap);
bool rp__partial_has(const void *block);
rp_status_t rp__partial_validate(rp_heap_t *heap);
void rp__partial_fork(int phase);

/* large.c */
void *rp__large_alloc(rp_heap_t *heap, size_t size, size_t alignment, bool zero);
void rp__large_free(rp__large_t *lg, void *p);
void rp__large_destroy_all(rp_heap_t *heap);
void *rp__large_expand(rp__large_t *lg, void *p, size_t size);
void *rp__large_shrink(rp__large_t *lg, void *p, size_t size); /* realloc to under half, on OS pages */
void *rp__large_grow(rp__large_t *lg, void *p, size_t size);   /* realloc past the span, by mremap */

/* donate.c */
void *rp__donated_alloc(rp_heap_t *heap, size_t size);  /* under heap->lock */
void rp__donated_free(rp__donated_t *d, void *p);
size_t rp__donated_usable(rp__donated_t *d, const void *p, bool *live);
void rp__donated_destroy_all(rp_heap_t *heap);
void rp__donate_fork(int phase); /* 0: before fork, 1: parent after, 2: child after */
rp_status_t rp__donated_validate(rp_heap_t *heap); /* under heap->lock */

/* One consistent snapshot of a heap's statistics with every size class (stats.c): what
 * rp_heap_stats and rp_heap_class_stats hand out part of, and what the reports print whole. */
typedef struct rp__heap_snapshot {
    rp_heap_stats_t stats;
    rp_heap_class_stats_t classes[RP__CLASSES];
} rp__heap_snapshot_t;
void rp__heap_snapshot(rp_heap_t *heap, rp__heap_snapshot_t *out);

/* ---- the fast paths -------------------------------------------------------------------------------- */

#if defined(RP_HEAP_PRELOAD)
#  define RP__TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#  define RP__TLS_MODEL
#endif
/* What the fast paths use: this thread's cache, or RP__LOCAL_NONE (never NULL). */
extern _Thread_local rp__local_t *rp__tls_local RP__TLS_MODEL;
/* This thread's cache of the default heap for the slow paths, or NULL: it differs from
 * rp__tls_local under Valgrind, whose processes take the slow paths (they describe every block
 * to memcheck), so that the fast paths need no test for it. */
extern _Thread_local rp__local_t *rp__tls_mine RP__TLS_MODEL;

#ifndef NDEBUG
#  define RP__DEBUG 1
#else
#  define RP__DEBUG 0
#endif

/* The "freed" mark a free block carries in its second word. */
extern RP_HIDDEN uintptr_t rp__cookie;
static inline uintptr_t rp__freed_mark(const void *b) { return rp__cookie ^ (uintptr_t)b; }
static inline bool rp__is_marked(const void *b) { return ((const uintptr_t *)b)[1] == rp__freed_mark(b); }
static inline void rp__mark(void *b) { ((uintptr_t *)b)[1] = rp__freed_mark(b); }
/* The owner's free tests the mark's low half only (bytes 8-11 of the block), and leaves a match to
 * the full test on the slow path (a live block's bytes equal that half by chance once in 2^32
 * frees). A program that writes the last byte of a 16-byte block (a string's terminator) just
 * before freeing it left a byte store inside the word the full test loads, and the CPU cannot
 * forward a byte store into a wider load: the load waited for the store to reach the cache, on
 * every such free (tight: 20% of its time, with one pair in eight of 16 bytes). Stores that cover
 * the half load (aligned 8-byte or wider, as memcpy and memset make) forward as before. */
static inline bool rp__maybe_marked(const void *b) {
    uint32_t low;
    memcpy(&low, (const uint8_t *)b + sizeof(uintptr_t), sizeof low);
    return low == (uint32_t)rp__freed_mark(b);
}
/* Whether p is the start of a block this page has handed out at some point. pre: owner, and p
 * lies in the page's slices (its map entry is the page's).
 *
 * Divisibility without the quotient (Lemire, Kaser and Kurz, "Faster remainder by direct
 * computation", 2019), with the range folded in: with c = floor(2^64 / d) + 1 and e = d * c mod
 * 2^64 (1 <= e <= d), an offset j * d + r (0 <= r < d) times c is j * e + r * c modulo 2^64, with
 * no wrap for offsets far beyond a page. So block starts give j * e, below carved * e exactly for
 * the carved ones, and every other offset gives at least c, far above that bound; an address
 * before the page's start wraps to near 2^64. One multiplication and one comparison: the range
 * test before it cost a load, a compare and a branch on every free. */
static inline bool rp__is_block(const rp__page_t *page, const void *p) {
    uint64_t off = (uint64_t)((const uint8_t *)p - page->own_start);
    return off * page->own_divides < page->own_limit;
}
/* rp__is_block's multiplier for blocks of bsize bytes. */
static inline uint64_t rp__block_divides(size_t bsize) {
    uint64_t c = UINT64_MAX / bsize + 1;
    return (bsize & (bsize - 1)) == 0 ? c + 1 : c; /* floor(2^64 / bsize) + 1 */
}
/* The page has carved blocks: rp__is_block's bound and the count other threads' frees check
 * (xcarved) follow. */
static inline void rp__page_set_carved(rp__page_t *page, uint32_t carved) {
    page->carved = carved;
    page->own_limit = (uint64_t)carved * (page->own_divides * page->bsize);
    atomic_store_explicit(&page->xcarved, carved, memory_order_relaxed);
}

void rp__debug_on_alloc(rp__page_t *page, rp__block_t *b);
void rp__debug_on_free(rp__page_t *page, rp__block_t *b);

/* Under ASan, give a span that may hold poisoned blocks clean shadow before it is reused or given
 * back. Only segment blocks are poisoned, and a segment takes a cached span of at most 16 times
 * its size (segment.c): larger spans are large blocks, never poisoned, and skipped (unpoisoning
 * writes an eighth of the range in shadow: 2 GiB for a 16 GiB block). */
static inline void rp__asan_span_clean(const void *base, size_t size) {
    if (size <= 16 * RP__SEG_SIZE_MAX) rp__asan_unpoison(base, size);
    rp__vg_undefined(base, size); /* Valgrind: free blocks were no-access; writable for the wipe */
}

/* Under ASan, a free block is poisoned past its link and freed mark, which rampart reads and
 * writes (core/annotate.h); the pop unpoisons the whole block. */
static inline void rp__asan_block_freed(const rp__page_t *page, void *b) {
    rp__asan_poison((uint8_t *)b + RP__FREE_WORDS, page->bsize - RP__FREE_WORDS);
}

/* Under Valgrind (core/annotate.h): block p, of usable size n, leaves the program (an invalid
 * free is memcheck's to report); rampart may read, mark and wipe it until it closes it again
 * with rp__vg_noaccess. */
static inline void rp__vg_block_free(void *p, size_t n) {
    if (!rp__vg_on()) return;
    rp__vg_free(p);
    rp__vg_defined(p, n);
}

/* Pop a block from page (a local's current page of its class); NULL when the slow path must run.
 * vg: whether the process runs under Valgrind (the inline malloc never runs there). */
static inline void *rp__page_pop_vg(rp__page_t *page, bool vg) {
    rp__block_t *b = page->free;
    if (RP_UNLIKELY(b == NULL)) {
        /* The blocks of the local list become the allocation list. */
        b = page->local_free;
        if (b == NULL) return NULL;
        page->local_free = NULL;
    }
    if (vg) rp__vg_defined(b, page->bsize); /* rampart's again: link, mark, debug junk (core/annotate.h) */
    rp__block_t *next = b->next;
    page->free = next;
    rp__asan_unpoison(b, page->bsize);
    /* The next pop of this class reads that block's link and hands the block out to be written:
     * fetch its line now, so the miss overlaps the caller's work instead of stalling the pop
     * (blocks freed long ago or by other threads are rarely in this core's cache). */
    __builtin_prefetch(next, 1);
    ((uintptr_t *)b)[1] = 0; /* no longer freed */
    atomic_store_explicit(&page->used, atomic_load_explicit(&page->used, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (RP__DEBUG) rp__debug_on_alloc(page, b);
    return b;
}
static inline void *rp__local_pop_vg(rp__local_t *local, unsigned cls, bool vg) {
    return rp__page_pop_vg(local->cur[cls], vg);
}

static inline void *rp__local_pop(rp__local_t *local, unsigned cls) { return rp__local_pop_vg(local, cls, rp__vg_on()); }

/* The slow paths of the inline malloc and free. The fast paths reach them by tail calls only, so
 * that malloc and free stay leaf functions without a stack frame. */
void *rp__malloc_slow(rp__local_t *local, unsigned cls, size_t size); /* alloc.c */
void rp__free_miss(void *p);                                         /* free.c */
void rp__free_other(void *p, uintptr_t e, rp__local_t *local);
void rp__free_sized_slow(void *p, size_t size);

static inline void *rp__malloc_inline(size_t size) {
    rp__local_t *local = rp__tls_local;
    /* Under ASan the slow path places the redzone past the size asked for (alloc.c). */
    if (RP__ASAN_ON) return rp__malloc_default(size);
    /* Most requests are small: the page by granule, laid out as the straight-line path. A thread
     * without a cache, and any thread under Valgrind, has RP__LOCAL_NONE: the pop fails. */
    if (RP_LIKELY(size <= RP__CLASS_TABLE_MAX)) {
        size_t granule = (size + RP__GRAN - 1) >> RP__GRAN_SHIFT;
        void *b = rp__page_pop_vg(local->cur_by_granule[granule], false);
        if (RP_LIKELY(b != NULL)) return b;
        return rp__malloc_slow(local, rp__class_table[granule], size);
    }
    if (size > RP__SMALL_MAX) return rp__malloc_default(size); /* large blocks */
    unsigned cls = rp__heap_size_class(size);
    void *b = rp__local_pop_vg(local, cls, false);
    if (RP_LIKELY(b != NULL)) return b;
    return rp__malloc_slow(local, cls, size);
}

/* Free p, whose map entry is e; local is rp__tls_local. */
static inline void rp__free_at(void *p, uintptr_t e, rp__local_t *local) {
    /* A page of this thread's cache, by the entry's tag (another thread's, or a tag shared past 31
     * caches, fails the owner test below): the entry less this cache's bits is the descriptor
     * exactly when its low bits were those, so one subtraction both tests and strips the tag. */
    uintptr_t mine = e - local->entry_bits;
    if (RP_LIKELY((mine & RP__MAP_ENTRY_LOW) == 0)) {
        rp__page_t *page = (rp__page_t *)mine;
        uintptr_t owner = atomic_load_explicit(&page->owner, memory_order_relaxed);
        /* This thread's page with no flag but RP__PAGE_CUR (no wiping, not full, no partial
         * release; RP__LOCAL_NONE owns no page, so it never matches), and a block of it that was
         * handed out and whose mark's low half is unset. Anything else, a bad pointer or a double
         * free among them, takes the slow path, which tests the whole mark. */
        if (RP_LIKELY((owner ^ (uintptr_t)local) <= RP__PAGE_CUR && rp__is_block(page, p) && !rp__maybe_marked(p))) {
            rp__block_t *b = p;
            if (RP__DEBUG) rp__debug_on_free(page, b);
            rp__asan_block_freed(page, b);
            rp__mark(b);
            uint32_t used = atomic_load_explicit(&page->used, memory_order_relaxed) - 1;
            atomic_store_explicit(&page->used, used, memory_order_relaxed);
            /* A page that keeps live blocks hands this one out next, while its line is still in
             * cache (alloctest1 0.97x, cfrac 0.96x time). The free that empties the page puts its
             * block on the other list, so that a loop of malloc and free walks the page instead
             * of getting the block it just freed straight back: that cost tight 14% (round 10). */
            rp__block_t **list = used == 0 ? &page->local_free : &page->free;
            b->next = *list;
            *list = b;
            /* An emptied page goes back unless its class allocates from it (a malloc/free loop
             * empties that one on every free: no call then); an idle class's current page goes
             * back at the next idle sweep (page.c). */
            if (RP_UNLIKELY(used == 0) && (owner & RP__PAGE_CUR) == 0) rp__page_retire(local, page);
            return;
        }
    }
    rp__free_other(p, e, local);
}

/* The map entry of address a from the leaf this thread cached in slot (its key matched). */
static inline uintptr_t rp__cached_entry(const rp__local_t *local, unsigned slot, uintptr_t a) {
    uintptr_t at = local->leaf_bias[slot] + (a >> RP__MAP_SHIFT) * sizeof(uintptr_t);
    return atomic_load_explicit((_Atomic uintptr_t *)at, memory_order_acquire);
}

static inline void rp__free_inline(void *p) {
    rp__local_t *local = rp__tls_local;
    uintptr_t a = (uintptr_t)p, key = a >> RP__LEAF_SHIFT;
    unsigned slot = (unsigned)key & (RP__LEAF_SLOTS - 1);
    /* A leaf this thread has not cached (and every free of RP__LOCAL_NONE, whose keys match no
     * address, and of NULL, whose region holds no heap memory) takes the lookup out of line. */
    if (RP_UNLIKELY(local->leaf_key[slot] != key)) {
        rp__free_miss(p);
        return;
    }
    rp__free_at(p, rp__cached_entry(local, slot, a), local);
}

/* p's map entry through this thread's cached leaves (as free finds it), or by the full walk when
 * p's leaf is not cached there. */
static inline uintptr_t rp__local_entry(const rp__local_t *local, const void *p) {
    uintptr_t a = (uintptr_t)p, key = a >> RP__LEAF_SHIFT;
    unsigned slot = (unsigned)key & (RP__LEAF_SLOTS - 1);
    if (RP_LIKELY(local->leaf_key[slot] == key))
        return rp__cached_entry(local, slot, a);
    return rp__segmap_entry(p);
}

/* Sized free: one lookup, the size checked against the block's (a larger one is corruption). */
static inline void rp__free_sized_inline(void *p, size_t size) {
    rp__local_t *local = rp__tls_local;
    uintptr_t a = (uintptr_t)p, key = a >> RP__LEAF_SHIFT;
    unsigned slot = (unsigned)key & (RP__LEAF_SLOTS - 1);
    if (RP_LIKELY(local->leaf_key[slot] == key)) {
        uintptr_t e = rp__cached_entry(local, slot, a);
        if (RP_LIKELY(rp__entry_is_page(e))) {
            if (RP_UNLIKELY(size > rp__entry_page(e)->bsize))
                rp__corrupt("sized free with a size larger than the block", p);
            rp__free_at(p, e, local);
            return;
        }
    }
    rp__free_sized_slow(p, size);
}

#endif /* RP_HEAP_INTERNAL_H */
