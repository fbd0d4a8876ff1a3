/* SPDX-License-Identifier: MIT */
/* counting_pages.h — a page allocator for the pool tests: the OS's locked pages, counted, so a
 * test can say how many regions or arenas the pool made, whether it gave them all back and
 * whether it wiped them before it did.
 *
 *   counting                the allocator (rp_pool_options_t.pages = &counting)
 *   counted_allocations     calls that asked for pages (a failed one too: it was a call)
 *   counted_releases        calls that gave pages back
 *   counted_outstanding     pages allocations handed out and not yet given back
 *   counted_nonzero_at_free bytes not zero in what the pool gave back (it wipes before it does)
 *   count_nonzero(p, n)     bytes of p..p+n that are not zero, whatever the pool did with them
 */
#ifndef RP_COUNTING_PAGES_H
#define RP_COUNTING_PAGES_H

#include <stdatomic.h>

#include "core/annotate.h"
#include "rampart.h"

static _Atomic size_t counted_allocations, counted_releases, counted_outstanding, counted_nonzero_at_free;

/* Reads pool memory whatever its state (free slots, canaries, released pages): under ASan the
 * pool poisons what it does not hand out, so the range is unpoisoned first (core/annotate.h). */
static inline size_t count_nonzero(const void *p, size_t n) {
    rp__asan_unpoison(p, n);
    const volatile unsigned char *b = p;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += b[i] != 0;
    return c;
}

static inline void *counting_allocate(void *ctx, size_t len, bool *locked) {
    (void)ctx;
    counted_allocations++;
    void *p = rp_pages_allocate_locked(rp_pages_os(), len, locked);
    if (p != NULL) counted_outstanding++;
    return p;
}
static inline rp_status_t counting_free(void *ctx, void *addr, size_t len) {
    (void)ctx;
    counted_releases++;
    counted_outstanding--;
    counted_nonzero_at_free += count_nonzero(addr, len);
    return rp_pages_free_locked(rp_pages_os(), addr, len);
}
static inline size_t counting_limit(void *ctx) {
    (void)ctx;
    return rp_pages_get_limit(rp_pages_os());
}
static const rp_page_allocator_t counting = {RP_SIZED(rp_page_allocator_t), "counting", counting_allocate,
                                             counting_free, counting_limit, NULL};

#endif /* RP_COUNTING_PAGES_H */
