/* SPDX-License-Identifier: MIT */
/* rampart/heap.h — a general-purpose allocator with ralloc's features (seed 004).
 *
 * A heap hands out blocks of any size. There is one default process heap (rp_malloc, rp_free,
 * ...; also what librampart-malloc.so puts behind malloc) and any number of first-class heaps,
 * each created on a page source (the OS default, rp_pages_os() for locked pages,
 * rp_pages_secret() for memfd_secret pages, or your own rp_page_allocator_t) with an optional
 * byte limit, and destroyed at once with everything in it.
 *
 * rp_free, rp_realloc, rp_usable_size and the other block functions find the owning heap from
 * the pointer (a global address map; a pointer the map does not know is reported through the
 * corruption handler, never dereferenced).
 *
 * Layout (docs/heap.md has the full story):
 *   segment  256 KiB from the page source at first, doubling per segment a cache holds up to
 *            4 MiB (1 MiB on a first-class heap), cut into 64 KiB slices; its metadata lives
 *            outside it
 *   page     1..16 slices holding blocks of one size class (88 classes, 16 B .. 128 KiB, about
 *            12.5% apart), owned by one thread's cache
 *   large    blocks above 128 KiB get their own span from the page source (two address-map
 *            entries whatever the size); freed spans wait in a cache and go back to the OS after
 *            RAMPART_PURGE_DELAY milliseconds; on a locked or secret source a block larger than
 *            the machine's memory is refused before anything is mapped
 *
 * ralloc's features:
 *   out-of-memory handlers     rp_set_oom_handler (process-wide), rp_set_thread_oom_handler
 *                              (one-shot, this thread)
 *   double-free detection      always: a "freed" mark in each free block (release builds too), reported through
 *                              rp_set_corruption_handler; debug builds also junk-fill and check
 *   partial deallocation       rp_free_part(p, n): give back any sub-range of a live block
 *   separate deallocation      rp_heap_donate(h, buf, len): a buffer the heap then serves from
 *   thread-local fast path     each thread allocates from its own pages without locks or atomics
 *   in-place realloc           rp_realloc_in_place / rp_heap_expand: grow or shrink, never move
 *   platform agnostic          only the rampart platform layer is used (POSIX, Windows)
 */
#ifndef RAMPART_HEAP_H
#define RAMPART_HEAP_H

#include <stdio.h>
#include <string.h> /* memset, for the inline *_default() */

#include "rampart/common.h"
#include "rampart/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rp_heap rp_heap_t;

/* Flags for rp_heap_options_t.flags. */
enum {
    /* Zero every block when it is freed (rp_memzero), so no secret outlives its block. */
    RP_HEAP_WIPE = 1u << 0,
    /* Fail an allocation (NULL, rp_last_error() with the lock failure and its remedy) rather than
     * use pages the page source could not lock. Without it the heap uses them and counts them in
     * rp_heap_stats().unlocked. */
    RP_HEAP_REQUIRE_LOCKED = 1u << 1
};
/* A growing struct (rampart/common.h): set struct_size with RP_SIZED(rp_heap_options_t) or start
 * from rp_heap_options_default(). */
typedef struct rp_heap_options {
    size_t struct_size;               /* sizeof(rp_heap_options_t) as the caller's headers define it */
    const rp_page_allocator_t *pages; /* NULL: the OS default (plain pages, not locked) */
    size_t limit;                     /* bytes of pages the heap may hold; 0: no limit */
    unsigned flags;                   /* RP_HEAP_WIPE, RP_HEAP_REQUIRE_LOCKED */
} rp_heap_options_t;
/* The defaults (OS pages, no limit, no flags) with struct_size set. Inline on purpose: compiled
 * into the caller, it always matches the caller's struct. */
static inline rp_heap_options_t rp_heap_options_default(void) {
    rp_heap_options_t o;
    memset(&o, 0, sizeof o); /* not an initialiser list: the same warning-free code in C and C++ */
    o.struct_size = sizeof o;
    return o;
}

/* Create a heap into *out (options may be NULL: OS pages, no limit). On failure *out is NULL and
 * the status (also in rp_last_error(), with the message) says why: RP_ERR_INVALID for a bad
 * struct_size, unknown flags, contradictory options or out NULL; RP_ERR_NOMEM when its metadata
 * cannot be mapped.
 * A first-class heap is thread-safe: any thread may allocate (serialised by the heap's lock) and
 * free into it. */
RP_API RP_NODISCARD rp_status_t rp_heap_create(const rp_heap_options_t *options, rp_heap_t **out);
/* Give every page of the heap back to its page source at once (wiped by the source when it
 * wipes, as rp_pages_os and rp_pages_secret do). All its blocks become invalid. Destroying the
 * default heap or NULL does nothing. No other thread may use the heap meanwhile. */
RP_API void rp_heap_destroy(rp_heap_t *heap);
/* The default process heap (thread caches, OS pages). */
RP_API rp_heap_t *rp_heap_default(void);

/* ---- the default heap ----------------------------------------------------------------------------
 * malloc semantics: blocks are aligned to 16 bytes; size 0 gives a unique minimal block; failure
 * gives NULL with errno = ENOMEM (after the out-of-memory handlers had their turn). */
RP_API void *rp_malloc(size_t size);
RP_API void *rp_calloc(size_t count, size_t size);
/* realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns NULL (glibc's rule). */
RP_API void *rp_realloc(void *p, size_t size);
/* alignment: any power of two (smaller than 16 means 16). size need not be a multiple of it. */
RP_API void *rp_aligned_alloc(size_t alignment, size_t size);
/* These work on a block of any heap. free(NULL) does nothing; errno is never changed. */
RP_API void rp_free(void *p);
/* Free with the size you asked for (checked: a size larger than the block is corruption). */
RP_API void rp_free_sized(void *p, size_t size);
/* Bytes usable at p (at least what was asked for); 0 for NULL. */
RP_API size_t rp_usable_size(const void *p);
/* Resize the block at p to size bytes without moving it: returns p, or NULL when it cannot
 * (the block is then unchanged). Shrinking always succeeds. */
RP_API void *rp_realloc_in_place(void *p, size_t size);
/* Partial deallocation: give back the n bytes at p, which must lie inside one live block. The
 * block returns to its heap once the released ranges form one run [0, x) from its start with
 * x > T. Until then the remaining bytes stay valid. T is set so that releasing every byte of the
 * size last asked for is always enough:
 *   - large blocks (above 128 KiB, or aligned to more than 4 KiB): the heap keeps
 *     the size last asked for (malloc, realloc, aligned allocation, rp_realloc_in_place), so T is
 *     that size - 1: release [0, size) and the block goes, whatever alignment slack follows it;
 *   - small blocks and blocks of a donated buffer: the heap does not store the size asked for, so
 *     T is the largest request that would have got a smaller block: rp_usable_size(block) - 16 up
 *     to 128 bytes, the next smaller size class up to 128 KiB (at most 12.5% below). Two kinds of
 *     small block keep a size class larger than that rule assumes: one from aligned allocation
 *     (alignment above 16) and one shrunk with rp_realloc_in_place (or kept in place by realloc).
 *     For those, release [0, rp_usable_size(block)): every byte up to the usable size always frees
 *     any block.
 * So freeing a malloc(200) block as two 100-byte halves leaks nothing. The rule frees a block
 * early in one case only: you keep a last piece that starts after T and release everything before
 * it while still using it. Release such a tail piece before the front is complete (or keep one
 * byte at or below T until the end) and the block stays live exactly as long as any piece of it.
 * Releasing a byte twice is a double free (corruption). RP_ERR_INVALID for NULL / n == 0 / a
 * range that leaves the block, RP_ERR_LIMIT when a block would be cut into more than 12 separate
 * released pieces. */
RP_API rp_status_t rp_free_part(void *p, size_t n);

/* ---- any heap ------------------------------------------------------------------------------------ */
RP_API void *rp_heap_malloc(rp_heap_t *heap, size_t size);
RP_API void *rp_heap_calloc(rp_heap_t *heap, size_t count, size_t size);
/* Reallocate within heap: a block of another heap is moved into this one. */
RP_API void *rp_heap_realloc(rp_heap_t *heap, void *p, size_t size);
RP_API void *rp_heap_aligned_alloc(rp_heap_t *heap, size_t alignment, size_t size);
/* rp_realloc_in_place for a block that must belong to heap (NULL otherwise). */
RP_API void *rp_heap_expand(rp_heap_t *heap, void *p, size_t size);
/* Separate deallocation: hand the heap len bytes at buf (any memory you own and will not touch
 * again while the heap lives: a static array, a stack buffer of main, a mapping). The heap serves
 * allocations from it when its own pages of a size class run out, and frees of those blocks are
 * recognised. At least 64 bytes; RP_ERR_EXISTS when the range overlaps memory any heap manages
 * or shares a 4 KiB page with an earlier donation (the heap's address map works in 4 KiB pages,
 * so two buffers of one page, e.g. two malloc blocks, cannot both be donated; give each donation
 * whole pages of its own); RP_ERR_INVALID for a heap with RP_HEAP_REQUIRE_LOCKED or on rp_pages_secret(),
 * whose promise a donated buffer would break (on other locking sources donated bytes are served
 * unlocked: stats.donated counts them). The buffer is never given back (rp_heap_destroy just
 * forgets it). */
RP_API rp_status_t rp_heap_donate(rp_heap_t *heap, void *buf, size_t len);

/* ---- out of memory --------------------------------------------------------------------------------
 * When an allocation cannot be served, the handlers run before NULL is returned: first this
 * thread's one-shot handler (it is cleared before it is called), then, unless that one asked for
 * a retry, the process-wide one. A handler returns true to have the allocation retried once (it
 * freed something), false to let it fail; it may also abort or exit. An allocation that fails
 * inside a handler fails without running the handlers again. NULL removes a handler. */
typedef bool (*rp_oom_handler_t)(rp_heap_t *heap, size_t size, void *ctx);
RP_API void rp_set_oom_handler(rp_oom_handler_t handler, void *ctx);
RP_API void rp_set_thread_oom_handler(rp_oom_handler_t handler, void *ctx);

/* ---- diagnostics ---------------------------------------------------------------------------------- */
/* Statistics are growing out-structs (rampart/common.h, "Growing structs"): declare them with
 * RP_SIZED, `rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};`, and the library writes only
 * the fields your struct_size covers. */
typedef struct rp_heap_stats {
    size_t struct_size;     /* set by the caller: sizeof(rp_heap_stats_t) as its headers define it */
    size_t allocated;       /* bytes in live blocks (small blocks by class size, large by span) */
    size_t large_blocks;    /* live blocks above 128 KiB */
    size_t resident;        /* bytes of pages held from the page source and not purged */
    size_t mapped;          /* bytes of pages held from the page source, purged or not */
    size_t cached;          /* of those, bytes in freed spans waiting to be reused or released */
    size_t donated;         /* bytes donated with rp_heap_donate */
    size_t limit;           /* the heap's byte limit (SIZE_MAX: none) */
    size_t purges;          /* times memory went back to the OS */
    size_t unlocked;        /* bytes the page source handed out but could not lock (cumulative) */
    size_t classes;         /* size classes: the indexes rp_heap_class_stats takes are 0 .. classes-1 */
} rp_heap_stats_t;
/* RP_ERR_INVALID for a NULL heap or out, or a bad out->struct_size. */
RP_API rp_status_t rp_heap_stats(rp_heap_t *heap, rp_heap_stats_t *out);
/* One size class: its block size and live blocks, index 0 (the smallest, 16 bytes) up to
 * rp_heap_stats().classes - 1 (the largest, 128 KiB). RP_ERR_BOUNDS for an index past the last.
 * Each call walks the heap's segments afresh, so classes read one after another may come from
 * different moments (rp_heap_stats_print prints all of them from one walk). A growing out-struct
 * like rp_heap_stats_t. */
typedef struct rp_heap_class_stats {
    size_t struct_size; /* set by the caller: sizeof(rp_heap_class_stats_t) */
    size_t block_size;  /* bytes per block of this class */
    size_t blocks;      /* live blocks (frees from other threads count once their owner collects;
                           blocks served from donated memory are in no class: `allocated` counts
                           them) */
} rp_heap_class_stats_t;
RP_API rp_status_t rp_heap_class_stats(rp_heap_t *heap, size_t index, rp_heap_class_stats_t *out);
/* The heap's statistics for people: a summary line, then one line per size class with live
 * blocks, to a stream (each line ends in a newline) or to a function called once per line.
 * RP_ERR_INVALID for a NULL heap, stream or function; RP_ERR_OS (with errno) when the stream
 * fails. docs/debugging.md shows the output. */
RP_API rp_status_t rp_heap_stats_print(rp_heap_t *heap, FILE *out);
RP_API rp_status_t rp_heap_stats_print_to(rp_heap_t *heap, rp_line_fn line, void *ctx);
/* Check the heap's metadata: segments, the calling thread's pages and free lists, large blocks,
 * donations, partial-release records. RP_OK, or RP_ERR_CORRUPT with the detail in
 * rp_last_error() (validation reports, it does not call the corruption handler). */
RP_API rp_status_t rp_heap_validate(rp_heap_t *heap);
/* Return cached memory to the OS now (force), or only what has waited longer than the purge
 * delay (!force). With force, every empty page and segment of the calling thread's cache goes
 * (of the heap's one cache for a heap you created; on the default heap, of the cache of threads
 * past their own cache's exit hook too), so a heap whose blocks are all freed keeps nothing
 * mapped; other live threads' caches keep theirs. On the default heap it first collects
 * the caches of exited threads: blocks other threads freed into them then count as freed
 * (rp_heap_stats) and their pages can go. */
RP_API void rp_heap_collect(rp_heap_t *heap, bool force);

/* Debug builds fill freed blocks with this byte and check it when the block is handed out
 * again (a write after free is reported as corruption); fresh blocks from rp_malloc get
 * RP_HEAP_ALLOC_JUNK. Release builds do neither. */
#define RP_HEAP_FREE_JUNK 0xdf
#define RP_HEAP_ALLOC_JUNK 0xdb

#ifdef __cplusplus
}
#endif
#endif /* RAMPART_HEAP_H */
