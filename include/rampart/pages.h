/* SPDX-License-Identifier: MIT */
/* rampart/pages.h — page allocators: the seed's LockedPageAllocator as a C function table.
 *
 * A page allocator hands out whole pages and takes them back. Three operations, with the seed's
 * names:
 *   allocate_locked(len, &locked)  page-aligned memory, len rounded up to whole pages; succeeds
 *                                  even when the pages cannot be locked and then reports
 *                                  locked = false (best effort, as mlock/VirtualLock are)
 *   free_locked(addr, len)         wipe, unlock and release pages from allocate_locked
 *   get_limit()                    bytes this process may lock: SIZE_MAX when unlimited or
 *                                  privileged, 0 when none
 *
 * Callers go through rp_pages_allocate_locked() / rp_pages_free_locked() / rp_pages_get_limit().
 * Those validate the arguments (length 0, a length that overflows when rounded up, NULL) and
 * round the length, so an implementation sees only whole pages. Every allocator above
 * (pool, heap) takes one of these, so "locked", "secret" and "plain" are choices, not code paths.
 *
 * Built-in allocators (process-wide singletons, thread-safe):
 *   rp_pages_os()      POSIX: mmap + mlock + MADV_DONTDUMP; Windows: VirtualAlloc + VirtualLock,
 *                      raising the working-set minimum when a lock needs it
 *   rp_pages_secret()  Linux memfd_secret(2): pages removed from the kernel's direct map, never
 *                      swapped, not dumped; NULL with RP_ERR_UNSUPPORTED where unavailable
 *   rp_pages_plain()   ordinary pages, never locked (locked is always false)
 * They keep a record of what they gave out (outside the pages), so a pointer or length they did
 * not hand out gets RP_ERR_NOT_OWNED instead of a crash.
 */
#ifndef RAMPART_PAGES_H
#define RAMPART_PAGES_H

#include "rampart/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The function table. Users may fill one to supply their own pages (tests inject fakes).
 * Implementations receive only validated arguments: len > 0 and a whole number of pages, addr
 * non-NULL. free_locked must check that it gave the pages out before touching them, then wipe
 * them with rp_memzero() before unlocking and releasing.
 * A growing struct (rampart/common.h): start the initialiser with RP_SIZED,
 * `rp_page_allocator_t mine = {RP_SIZED(rp_page_allocator_t), "mine", my_alloc, my_free, my_limit, ctx};`;
 * a bad struct_size, or a missing allocate_locked or free_locked, is RP_ERR_INVALID where the
 * table is handed in (rp_pool_create, rp_heap_create, rp_pages_allocate_locked, ...). */
typedef struct rp_page_allocator {
    size_t struct_size; /* sizeof(rp_page_allocator_t) as the caller's headers define it */
    const char *name;
    /* Return len bytes of page-aligned read-write memory, or NULL with the OS error set (errno;
     * SetLastError on Windows). Set *locked to whether the pages are locked in RAM. */
    void *(*allocate_locked)(void *ctx, size_t len, bool *locked);
    /* Wipe, unlock and release. Return RP_OK, or RP_ERR_NOT_OWNED for memory this allocator
     * did not hand out (and then touch nothing). */
    rp_status_t (*free_locked)(void *ctx, void *addr, size_t len);
    /* Bytes this process may lock (SIZE_MAX: unlimited, 0: none). */
    size_t (*get_limit)(void *ctx);
    void *ctx;
} rp_page_allocator_t;

RP_API const rp_page_allocator_t *rp_pages_os(void);
RP_API const rp_page_allocator_t *rp_pages_secret(void);
RP_API const rp_page_allocator_t *rp_pages_plain(void);

/* The system page size, and len rounded up to it (0 when the rounding overflows). */
RP_API size_t rp_page_size(void);
RP_API size_t rp_page_round(size_t len);

/* Allocate len bytes (rounded up to whole pages) from pa. On success *locked says whether the
 * pages are locked. On failure returns NULL; rp_last_error() says why (RP_ERR_INVALID for len 0,
 * RP_ERR_NOMEM for a length that overflows or an exhausted OS). locked may be NULL. */
RP_API RP_NODISCARD void *rp_pages_allocate_locked(const rp_page_allocator_t *pa, size_t len, bool *locked);

/* Wipe len bytes (rounded up to whole pages) at addr, then unlock and release them. Ownership is
 * checked before anything is written: RP_ERR_NOT_OWNED for memory pa did not give out,
 * RP_ERR_INVALID for NULL or len 0. Does not change errno. */
RP_API rp_status_t rp_pages_free_locked(const rp_page_allocator_t *pa, void *addr, size_t len);

/* Bytes this process may lock, as pa sees it. */
RP_API size_t rp_pages_get_limit(const rp_page_allocator_t *pa);

/* For self-checks and audits: the built-in allocators call observer(addr, len, ctx) in
 * free_locked after the wipe and before the pages are unlocked and released, so a check can read
 * them back (rampart doctor and the tests do). NULL removes it. Process-wide. */
typedef void (*rp_pages_observer_t)(const void *addr, size_t len, void *ctx);
RP_API void rp_pages_set_free_observer(rp_pages_observer_t observer, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* RAMPART_PAGES_H */
