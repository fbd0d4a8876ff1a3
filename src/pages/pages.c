/* SPDX-License-Identifier: MIT */
/* pages/pages.c — page allocators (seed 000): the checked entry points and the built-in sources.
 *
 * rp_pages_allocate_locked / rp_pages_free_locked / rp_pages_get_limit validate and round the
 * arguments for any allocator, built-in or the user's. The built-in sources (os, secret, plain)
 * are one implementation parameterised by how pages are mapped and whether they are locked:
 *
 *   allocate: map -> exclude from core dumps -> lock (best effort) -> record
 *   free:     find the record (else RP_ERR_NOT_OWNED, nothing touched) -> wipe -> observer ->
 *             unlock -> unmap
 *
 * The record of what was handed out is a sorted array of (address, length) in pages of its own,
 * never in the pages handed out and never from malloc. A mutex guards it; mapping, locking and
 * unmapping happen outside the mutex.
 */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "rampart/pages.h"

/* ---- the record of live regions ---------------------------------------------------------------- */

typedef struct rp__region {
    uintptr_t addr;
    size_t len;
} rp__region_t;

typedef struct rp__registry {
    rp__os_mutex_t lock;
    rp__region_t *items;  /* sorted by addr */
    size_t count, cap;
} rp__registry_t;

/* Index of the first item with addr >= key. Caller holds the lock. */
static size_t rp__registry_search(const rp__registry_t *r, uintptr_t key) {
    size_t lo = 0, hi = r->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->items[mid].addr < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int rp__registry_add(rp__registry_t *r, uintptr_t addr, size_t len) {
    for (;;) {
        rp__os_mutex_lock(&r->lock);
        if (r->count < r->cap) {
            size_t at = rp__registry_search(r, addr);
            memmove(&r->items[at + 1], &r->items[at], (r->count - at) * sizeof r->items[0]);
            r->items[at] = (rp__region_t){addr, len};
            r->count++;
            rp__os_mutex_unlock(&r->lock);
            return 0;
        }
        size_t want = r->cap ? r->cap * 2 : rp__os_page_size() / sizeof(rp__region_t);
        rp__os_mutex_unlock(&r->lock);

        /* Grow outside the lock, then swap in if nobody grew it meanwhile. */
        void *fresh;
        size_t fresh_cap = want;
        int err = rp__os_alloc(want * sizeof(rp__region_t), &fresh);
        if (err != 0) return err;
        rp__os_mutex_lock(&r->lock);
        if (r->cap < want) {
            if (r->count) memcpy(fresh, r->items, r->count * sizeof r->items[0]);
            void *old = r->items;
            size_t old_cap = r->cap;
            r->items = fresh;
            r->cap = want;
            fresh = old;
            fresh_cap = old_cap;
        }
        rp__os_mutex_unlock(&r->lock);
        if (fresh != NULL) rp__os_release(fresh, fresh_cap * sizeof(rp__region_t));
    }
}

/* Remove the exact region (addr, len); false when there is none. */
static bool rp__registry_take(rp__registry_t *r, uintptr_t addr, size_t len) {
    bool found = false;
    rp__os_mutex_lock(&r->lock);
    size_t at = rp__registry_search(r, addr);
    if (at < r->count && r->items[at].addr == addr && r->items[at].len == len) {
        memmove(&r->items[at], &r->items[at + 1], (r->count - at - 1) * sizeof r->items[0]);
        r->count--;
        found = true;
    }
    rp__os_mutex_unlock(&r->lock);
    return found;
}

/* ---- the free observer -------------------------------------------------------------------------- */

typedef struct rp__observer {
    rp_pages_observer_t fn;
    void *ctx;
} rp__observer_t;
static rp__observer_t rp__observer;
static rp__os_mutex_t rp__observer_lock = RP__OS_MUTEX_INIT;

void rp_pages_set_free_observer(rp_pages_observer_t observer, void *ctx) {
    rp__os_mutex_lock(&rp__observer_lock);
    rp__observer = (rp__observer_t){observer, ctx};
    rp__os_mutex_unlock(&rp__observer_lock);
}

static void rp__observe(const void *addr, size_t len) {
    rp__os_mutex_lock(&rp__observer_lock);
    rp__observer_t o = rp__observer;
    rp__os_mutex_unlock(&rp__observer_lock);
    if (o.fn != NULL) o.fn(addr, len, o.ctx);
}

/* ---- the built-in sources ----------------------------------------------------------------------- */

typedef enum rp__source_kind { RP__SOURCE_OS, RP__SOURCE_SECRET, RP__SOURCE_PLAIN } rp__source_kind_t;

typedef struct rp__source {
    rp__source_kind_t kind;
    rp__registry_t registry;
} rp__source_t;

static void *rp__source_allocate(void *ctx, size_t len, bool *locked) {
    rp__source_t *src = ctx;
    void *p = NULL;
    int err = src->kind == RP__SOURCE_SECRET ? rp__os_secret_alloc(len, &p) : rp__os_alloc(len, &p);
    if (err != 0) {
        rp__os_set_last_error(err);
        return NULL;
    }
    *locked = false;
    if (src->kind == RP__SOURCE_OS) {
        /* Excluded from core dumps before anything is written into it. Where the OS has no such
         * advice the pages are still usable; rampart doctor reports that platform gap. */
        err = rp__os_advise(p, len, RP__OS_ADV_DONTDUMP);
        if (err != 0 && err != rp__os_err_unsupported()) goto fail;
        err = rp__os_lock(p, len);
        if (err == 0) *locked = true;
        else rp__fail_lock(err, len, "locking pages");
    } else if (src->kind == RP__SOURCE_SECRET) {
        *locked = true; /* secret memory is never swapped: the kernel keeps it unevictable */
    }
    err = rp__registry_add(&src->registry, (uintptr_t)p, len);
    if (err == 0) return p;
    if (*locked && src->kind == RP__SOURCE_OS) rp__os_unlock(p, len);
fail:
    rp__os_release(p, len);
    rp__os_set_last_error(err);
    return NULL;
}

static rp_status_t rp__source_free(void *ctx, void *addr, size_t len) {
    rp__source_t *src = ctx;
    if (!rp__registry_take(&src->registry, (uintptr_t)addr, len)) return RP_ERR_NOT_OWNED;
    rp__memzero_resident(addr, len); /* an untouched page holds nothing: no need to fault it in */
    rp__observe(addr, len);
    if (src->kind == RP__SOURCE_OS) rp__os_unlock(addr, len);
    int err = rp__os_release(addr, len);
    /* The region was ours and is already wiped; a failed unmap leaves zeros behind, never data. */
    return err == 0 ? RP_OK : rp__fail_os(err, "releasing %zu bytes at %p", len, addr);
}

static size_t rp__source_limit(void *ctx) {
    rp__source_t *src = ctx;
    if (src->kind == RP__SOURCE_PLAIN) return SIZE_MAX; /* locks nothing, so no budget applies */
    if (rp__os_can_lock_unlimited()) return SIZE_MAX;
    size_t soft = 0;
    if (rp__os_lock_limit(&soft, NULL) != 0) return 0;
    return soft;
}

static rp__source_t rp__os_source = {RP__SOURCE_OS, {RP__OS_MUTEX_INIT, NULL, 0, 0}};
static rp__source_t rp__secret_source = {RP__SOURCE_SECRET, {RP__OS_MUTEX_INIT, NULL, 0, 0}};
static rp__source_t rp__plain_source = {RP__SOURCE_PLAIN, {RP__OS_MUTEX_INIT, NULL, 0, 0}};

static const rp_page_allocator_t rp__os_pages = {
    RP_SIZED(rp_page_allocator_t), "os", rp__source_allocate, rp__source_free, rp__source_limit, &rp__os_source};
static const rp_page_allocator_t rp__secret_pages = {
    RP_SIZED(rp_page_allocator_t), "secret", rp__source_allocate, rp__source_free, rp__source_limit, &rp__secret_source};
static const rp_page_allocator_t rp__plain_pages = {
    RP_SIZED(rp_page_allocator_t), "plain", rp__source_allocate, rp__source_free, rp__source_limit, &rp__plain_source};

const rp_page_allocator_t *rp_pages_os(void) { return &rp__os_pages; }
const rp_page_allocator_t *rp_pages_plain(void) { return &rp__plain_pages; }

const rp_page_allocator_t *rp_pages_secret(void) {
    if (!rp__os_secret_available()) {
        rp__fail(RP_ERR_UNSUPPORTED, rp__os_err_unsupported(),
                 "memfd_secret is not available (Linux 5.14+, and some kernels need secretmem.enable=1)");
        return NULL;
    }
    return &rp__secret_pages;
}

/* ---- the checked entry points -------------------------------------------------------------------- */

/* rp_page_allocator_t as first released (struct_size .. ctx). */
#define RP__PAGE_ALLOCATOR_V1 RP__SIZE_V1(rp_page_allocator_t, ctx)

rp_status_t rp__pages_check(const rp_page_allocator_t *pa, const char *what) {
    if (pa == NULL) return rp__fail(RP_ERR_INVALID, 0, "%s: no page allocator given", what);
    rp_status_t st = rp__sized_in_check(pa, RP__PAGE_ALLOCATOR_V1, sizeof *pa, what);
    if (st != RP_OK) return st;
    if (pa->allocate_locked == NULL || pa->free_locked == NULL)
        return rp__fail(RP_ERR_INVALID, 0, "%s: the page allocator \"%s\" lacks allocate_locked or free_locked", what,
                        pa->name ? pa->name : "");
    return RP_OK;
}

size_t rp_page_size(void) { return rp__os_page_size(); }

size_t rp_page_round(size_t len) { return rp__align_up(len, rp__os_page_size()); }

void *rp_pages_allocate_locked(const rp_page_allocator_t *pa, size_t len, bool *locked) {
    bool ignored;
    if (locked == NULL) locked = &ignored;
    *locked = false;
    if (rp__pages_check(pa, "allocate_locked") != RP_OK) return NULL;
    if (len == 0) {
        rp__fail(RP_ERR_INVALID, 0, "%s pages: allocate_locked of 0 bytes", pa->name);
        return NULL;
    }
    size_t rounded = rp_page_round(len);
    if (rounded == 0) {
        rp__fail(RP_ERR_NOMEM, 0, "%s pages: allocate_locked of %zu bytes overflows when rounded up to pages",
                 pa->name, len);
        return NULL;
    }
    /* Secret pages are always resident: more than the machine's RAM can never be honoured, and
     * with CAP_IPC_LOCK the kernel would map it lazily and fail only when touched. */
    if (pa == &rp__secret_pages) {
        size_t phys = rp__os_physical_memory();
        if (rounded > phys) {
            rp__fail(RP_ERR_NOMEM, 0, "secret pages: allocate_locked of %zu bytes is more than physical memory (%zu bytes)",
                     rounded, phys);
            return NULL;
        }
    }
    rp__os_set_last_error(0);
    void *p = pa->allocate_locked(pa->ctx, rounded, locked);
    if (p == NULL) {
        int err = rp__os_last_error();
        if (err == 0) err = rp__os_err_nomem();
        /* Secret memory is locked by being mapped, so the memlock limit refuses the mapping
         * itself (EAGAIN): report it as the lock failure it is, with the limits and the remedy. */
        if (pa == &rp__secret_pages && rp__os_classify(err) == RP_ERR_LIMIT)
            rp__fail_lock(err, rounded, "secret pages: allocate_locked");
        else
            rp__fail_os(err, "%s pages: allocate_locked of %zu bytes", pa->name, rounded);
        *locked = false;
    }
    return p;
}

rp_status_t rp_pages_free_locked(const rp_page_allocator_t *pa, void *addr, size_t len) {
    int saved = rp__os_last_error();
    rp_status_t st;
    if ((st = rp__pages_check(pa, "free_locked")) != RP_OK) {
        /* the message says what is wrong with the allocator */
    } else if (addr == NULL) {
        st = rp__fail(RP_ERR_INVALID, 0, "%s pages: free_locked of a NULL pointer", pa->name);
    } else if (len == 0) {
        st = rp__fail(RP_ERR_INVALID, 0, "%s pages: free_locked of 0 bytes at %p", pa->name, addr);
    } else if (rp_page_round(len) == 0) {
        st = rp__fail(RP_ERR_INVALID, 0, "%s pages: free_locked length %zu overflows when rounded up", pa->name, len);
    } else {
        st = pa->free_locked(pa->ctx, addr, rp_page_round(len));
        if (st == RP_ERR_NOT_OWNED)
            rp__fail(st, 0, "%s pages: %p (%zu bytes) was not handed out by this allocator", pa->name, addr, len);
    }
    rp__os_set_last_error(saved);
    return st;
}

size_t rp_pages_get_limit(const rp_page_allocator_t *pa) {
    if (rp__pages_check(pa, "get_limit") != RP_OK || pa->get_limit == NULL) return 0;
    return pa->get_limit(pa->ctx);
}
