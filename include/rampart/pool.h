/* SPDX-License-Identifier: MIT */
/* rampart/pool.h — a secure pool for secrets: many small allocations sharing a few locked arenas
 * (seed 000 with Bitcoin Core's LockedPool on top), fast enough for every key and every buffer.
 *
 * A pool takes whole pages from a page allocator (rampart/pages.h: rp_pages_os() by default,
 * rp_pages_secret() for memfd_secret, or your own) in regions, hands their pages out in runs,
 * and cuts each run into slots of one size class (or gives it whole to one large allocation).
 * What the pool promises (each is tested, see docs/pool.md):
 *   - no metadata inside the secret pages: bitmaps, free lists, thread caches and the page map
 *     live in separate ordinary pages, never in an arena and never from malloc;
 *   - every free wipes the whole slot that was handed out (rp_memzero), and releasing an arena
 *     wipes it whole before the pages go back;
 *   - arenas are excluded from core dumps (MADV_DONTDUMP) and read as zeros in fork children
 *     (MADV_WIPEONFORK; memfd_secret arenas are not mapped in children at all: MADV_DONTFORK);
 *   - a guard page before and after every arena; in guarded mode every allocation also ends
 *     exactly against a guard page of its own, so a one-byte overflow faults;
 *   - an optional canary behind every slot, checked on free;
 *   - a double free, a free of a pointer the pool did not hand out, a sized free with the wrong
 *     size or a damaged canary goes to the corruption handler (rp_set_corruption_handler:
 *     message, then abort), never on silently;
 *   - growth is bounded by the page allocator's lock limit; what happens when locking fails is
 *     the caller's choice (rp_pool_lock_policy_t); stats say how much is locked and unlocked;
 *   - empty arenas go back to the page allocator, so after everything is freed and
 *     rp_pool_trim() (or rp_pool_destroy()) runs, locked memory is back to where it started.
 *
 * Memory layout (P = page size):
 *
 *   normal mode: a region is one page-allocator allocation with a guard page at each end; its
 *   pages are handed out in runs of whole pages, each run serving one size class or one large
 *   allocation (up to 1 MiB asked for, canary or not; larger ones get a mapping of their own,
 *   drawn like a region with one spare page, kept for reuse when freed; see docs/pool.md):
 *
 *     base                                                                        base+len
 *     |  guard  | run: class 32 | run: class 256 | run: one large | free pages |  guard  |
 *     |<-- P -->|<-- k*P ------>|                                              |<-- P -->|
 *
 *   a run of S-byte slots (S a multiple of 16), run start r (page-aligned):
 *     | slot 0 | slot 1 | ... | slot n-1 | zeros (tail < S) |
 *     ^ 16-byte aligned, slot i at r + i*S; the first run of a region starts at base + P
 *   a large allocation of n bytes: one slot of n rounded up to 16, at the start of its run;
 *   a run of more than 64 KiB (68 KiB with a canary) has one spare page, and its slot starts
 *   turn*64 bytes in, one turn further on each time the freed run is handed out again:
 *     | turn*64 | one large allocation | rest of the spare page |
 *   with a canary, the last RP_POOL_CANARY_SIZE bytes of each slot hold it:
 *                | user bytes (usable size = S - 8) | canary |
 *
 *   guarded mode, slots of k data pages each followed by its own guard page:
 *
 *     |  guard  | pad | user bytes | guard | pad | user bytes | guard | ... |
 *     |<-- P -->|<--- k*P ------->|<- P ->|
 *                     ^ ends exactly at the guard: p = slot + k*P - size; the pointer is
 *                       16-byte aligned when size is a multiple of 16, else aligned to the
 *                       largest power of two dividing size. With a canary it sits in the
 *                       8 bytes just before the user bytes (catches underflows).
 *
 *   Regions start small (64 KiB of pages, or what the lock budget allows) and each later one
 *   is twice as large, up to 4 MiB; every size class and large allocation shares them.
 *   Guard pages are MADV_GUARD_INSTALL markers where the kernel has them (no extra mapping: an
 *   arena with any number of guards is one entry against vm.max_map_count), PROT_NONE pages
 *   otherwise (each guard then splits the mapping: guarded mode costs about two map entries per
 *   live allocation there, so heavy guarded use on such systems can meet vm.max_map_count).
 *
 * fork(): in the child, a pool created before the fork hands out nothing (its arenas are wiped
 * and no longer locked or guarded there): allocations fail with RP_ERR_INVALID, while frees of
 * what it handed out and rp_pool_destroy still work. The default pool starts afresh in the child.
 *
 * Threads: all functions are thread-safe. Each thread keeps a small cache of free slots per
 * pool and size class; a thread's cache goes back to the pool when the thread exits, when it
 * calls rp_pool_trim(), or at rp_pool_destroy(). Memory may be freed by any thread.
 */
#ifndef RAMPART_POOL_H
#define RAMPART_POOL_H

#include <stdio.h>

#include "rampart/common.h"
#include "rampart/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every allocation is aligned to at least this (guarded mode: see the drawing above). */
#define RP_POOL_ALIGNMENT 16
/* Largest request served from size classes (thread caches); larger ones get a run of pages of
 * their own in a shared region up to 1 MiB, a mapping of their own above. */
#define RP_POOL_MAX_SMALL 4096
/* Bytes of each slot a canary takes (RP_POOL_CANARY). */
#define RP_POOL_CANARY_SIZE 8
/* Frees each thread holds back before their small slots can be handed out again: a second free
 * of a pointer within its thread's last RP_POOL_QUARANTINE frees is reported as a double free
 * even after the slot was reused (docs/pool.md, "What is detected"). */
#define RP_POOL_QUARANTINE 8
/* Default bytes of the largest run of a small class (runs start at a page and grow to it). */
#define RP_POOL_ARENA_SIZE (64u * 1024u)

typedef struct rp_pool rp_pool_t;

/* What to do when an arena's pages cannot be locked. */
typedef enum rp_pool_lock_policy {
    RP_POOL_LOCK_REQUIRED = 0, /* fail the allocation (NULL, RP_ERR_LIMIT / RP_ERR_PERMISSION) */
    RP_POOL_LOCK_REPORT = 1,   /* go on with unlocked pages; call on_lock_failure (or, when
                                  that is NULL, print one line to stderr once per pool) and
                                  count the bytes in rp_pool_stats_t.unlocked */
    RP_POOL_LOCK_SILENT = 2    /* go on with unlocked pages, no report; stats still count them */
} rp_pool_lock_policy_t;

/* Flags for rp_pool_options_t.flags. */
#define RP_POOL_GUARDED (1u << 0) /* every allocation ends against its own guard page */
#define RP_POOL_CANARY  (1u << 1) /* a keyed canary behind (guarded: before) every allocation */

/* Called when an arena of bytes could not be locked and policy is RP_POOL_LOCK_REPORT; status
 * and rp_last_error() say why. Runs on the allocating thread, with no pool lock held. */
typedef void (*rp_pool_lock_failure_fn)(rp_pool_t *pool, size_t bytes, rp_status_t status, void *ctx);

/* A growing struct (rampart/common.h): start from rp_pool_options_default() (or set struct_size
 * with RP_SIZED(rp_pool_options_t) and every field yourself). */
typedef struct rp_pool_options {
    size_t struct_size;               /* sizeof(rp_pool_options_t) as the caller's headers define it */
    const rp_page_allocator_t *pages; /* NULL: rp_pages_os() */
    rp_pool_lock_policy_t lock_policy;
    unsigned flags;                   /* RP_POOL_* */
    size_t arena_size;                /* bytes of the largest run of a small class; 0: RP_POOL_ARENA_SIZE */
    rp_pool_lock_failure_fn on_lock_failure;
    void *ctx;                        /* passed to on_lock_failure */
} rp_pool_options_t;

/* The defaults (OS locked pages, RP_POOL_LOCK_REQUIRED, no flags, RP_POOL_ARENA_SIZE) with
 * struct_size set. Inline on purpose: compiled into the caller, it always matches the caller's
 * struct (an exported function returning the struct by value would not). */
static inline rp_pool_options_t rp_pool_options_default(void) {
    rp_pool_options_t o;
    memset(&o, 0, sizeof o); /* not an initialiser list: the same warning-free code in C and C++ */
    o.struct_size = sizeof o;
    o.lock_policy = RP_POOL_LOCK_REQUIRED;
    o.arena_size = RP_POOL_ARENA_SIZE;
    return o;
}

/* Create a pool into *out; options NULL means the defaults. No memory is taken from the page
 * allocator until the first allocation. On failure *out is NULL and the status (also in
 * rp_last_error(), with the message) says why: RP_ERR_INVALID for a bad struct_size, an unknown
 * policy or flag, a page allocator without functions, or out NULL. */
RP_API RP_NODISCARD rp_status_t rp_pool_create(const rp_pool_options_t *options, rp_pool_t **out);
/* Wipe and release every arena and all metadata, whatever is still allocated. Every pointer
 * from the pool becomes invalid; no thread may use the pool during or after the call. NULL is a
 * no-op; a pool destroyed already goes to the corruption handler. Does not change errno. */
RP_API void rp_pool_destroy(rp_pool_t *pool);

/* size bytes, aligned to RP_POOL_ALIGNMENT (guarded mode: see the drawing), always zero-filled.
 * NULL + rp_last_error(): size 0 (RP_ERR_INVALID), too large (RP_ERR_NOMEM), or an arena that
 * could not be had or locked. */
RP_API RP_NODISCARD void *rp_pool_alloc(rp_pool_t *pool, size_t size);
/* count * size bytes, zeroed; RP_ERR_NOMEM when the product overflows. */
RP_API RP_NODISCARD void *rp_pool_zalloc(rp_pool_t *pool, size_t count, size_t size);
/* Like realloc: p NULL allocates; size 0 frees p and returns NULL; on failure p is untouched.
 * It stays in place only when size maps to the slot p already has (the same size class, the
 * same pages; guarded: the same size); otherwise the data moves and the old slot is wiped. */
RP_API RP_NODISCARD void *rp_pool_realloc(rp_pool_t *pool, void *p, size_t size);
/* Wipe and free. NULL is a no-op. A pointer this pool did not hand out, or one already freed,
 * goes to the corruption handler. Does not change errno. */
RP_API void rp_pool_free(rp_pool_t *pool, void *p);
/* Free p, which was allocated with size bytes (or any size up to its usable size that maps to
 * the same slot); a size that does not fit the slot is corruption. */
RP_API void rp_pool_free_sized(rp_pool_t *pool, void *p, size_t size);
/* The bytes p may use (>= what was asked for); 0 and RP_ERR_NOT_OWNED for a pointer that is not
 * a live allocation of this pool. */
RP_API size_t rp_pool_usable_size(rp_pool_t *pool, const void *p);
/* Whether p points into an arena of this pool (any byte of a slot, live or free). */
RP_API bool rp_pool_owns(rp_pool_t *pool, const void *p);

/* Page protection of a guarded allocation (rp_pool_protect). */
typedef enum rp_pool_prot {
    RP_POOL_PROT_NONE,      /* any access faults */
    RP_POOL_PROT_READ,      /* reads work, writes fault */
    RP_POOL_PROT_READWRITE  /* the state every allocation starts in */
} rp_pool_prot_t;
/* Set the protection of p's data pages, like libsodium's sodium_mprotect_*: p must be a live
 * allocation of a pool created with RP_POOL_GUARDED (whose slots own whole pages between guard
 * pages); the pages change as a whole, including the slack and canary before p. rp_pool_free
 * and rp_pool_realloc work from any state (they make the pages writable again, then wipe), as
 * does rp_pool_destroy. RP_ERR_INVALID for a pointer that is not the start of a live guarded
 * allocation of this pool, or a bad prot; the OS's error when the pages cannot change. */
RP_API RP_NODISCARD rp_status_t rp_pool_protect(rp_pool_t *pool, void *p, rp_pool_prot_t prot);

/* Return the calling thread's cached free slots to the pool and release every empty arena to
 * the page allocator. After all allocations are freed and every thread that used the pool has
 * exited or called this, the pool holds no arenas: locked memory is back at its baseline. */
RP_API void rp_pool_trim(rp_pool_t *pool);

/* A growing out-struct (rampart/common.h): `rp_pool_stats_t st = {RP_SIZED(rp_pool_stats_t)};`;
 * the library writes only the fields struct_size covers. */
typedef struct rp_pool_stats {
    size_t struct_size;   /* set by the caller: sizeof(rp_pool_stats_t) as its headers define it */
    size_t used;          /* bytes in live allocations (usable sizes) */
    size_t free;          /* total - used */
    size_t total;         /* bytes of slots in all runs and arenas */
    size_t locked;        /* bytes of arena pages locked (guard pages included: the kernel
                             charges whole mappings against the memlock limit) */
    size_t unlocked;      /* bytes of arena pages that could not be locked */
    size_t arenas;        /* page-allocator allocations held (regions, guarded and large arenas) */
    size_t chunks_used;   /* live allocations */
    size_t chunks_free;   /* free slots (in arenas and thread caches) */
    size_t lock_failures; /* arenas that could not be locked, over the pool's life */
    size_t guard_pages;   /* guard pages installed */
    bool guards_lightweight; /* all guards are MADV_GUARD_INSTALL markers (no extra mappings) */
} rp_pool_stats_t;
/* RP_ERR_INVALID for a NULL pool or out, or a bad out->struct_size. */
RP_API rp_status_t rp_pool_stats(rp_pool_t *pool, rp_pool_stats_t *out);

/* The pool's statistics for people (rp_pool_stats as labelled lines), to a stream or to a
 * function called once per line; errors as rp_heap_stats_print. */
RP_API rp_status_t rp_pool_stats_print(rp_pool_t *pool, FILE *out);
RP_API rp_status_t rp_pool_stats_print_to(rp_pool_t *pool, rp_line_fn line, void *ctx);

/* ---- the process-wide default pool ------------------------------------------------------------
 * Created on first use, thread-safely: OS locked pages, RP_POOL_LOCK_REQUIRED unless the
 * environment says RAMPART_POOL_LOCK=report or RAMPART_POOL_LOCK=silent (ignored in set-user-ID,
 * set-group-ID and file-capability programs; any value other than required, report or silent
 * fails the creation: NULL with RP_ERR_INVALID naming the variable). Never destroyed
 * (the kernel frees and zeroes the pages at exit). */
RP_API RP_NODISCARD void *rp_secret_alloc(size_t size);
RP_API void rp_secret_free(void *p);
/* The default pool itself (created if needed), for stats, trim, owns; NULL on failure. */
RP_API rp_pool_t *rp_secret_pool(void);

#ifdef __cplusplus
}
#endif
#endif /* RAMPART_POOL_H */
