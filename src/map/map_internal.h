/* SPDX-License-Identifier: MIT */
/* map/map_internal.h — the map object shared by the files of the map layer (never installed).
 *
 * Coordinates. The OS mapping is [base, base + base_len); the caller's view is
 * [base + delta, base + delta + len). delta is non-zero for a file offset that is not a multiple
 * of the allocation granularity (the mapping starts at the granule below it) and for a stack map
 * (the guard page sits below the view). base_len is a multiple of map_page (the huge page size
 * for hugetlb maps), and state[] has one word per base page of base_len.
 *
 * Per-page state: the low bits count nested locks; RP__PAGE_DECOMMITTED marks a page of a
 * reserve map that is reserved but not committed. The OS lock is taken when a count goes 0 -> 1
 * and dropped when it goes 1 -> 0, so the kernel (which does not nest) always agrees with the
 * counts.
 *
 * The handle and the state array come from rp__os_alloc, not malloc: this layer sits below the
 * heap, and a map may hold secrets (the resident pages of RP_MAP_LOCKED / RP_MAP_NODUMP maps are
 * wiped before they go back to the OS).
 *
 * The files, one concept each:
 *   handle.c   the handle, the state array, the range check, the wipe of secret pages
 *   create.c   rp_map_create / rp_map_destroy
 *   query.c    rp_map_ptr, rp_map_len, rp_map_info, rp_map_areas
 *   lock.c     range locks with per-page counts
 *   protect.c  protection transitions
 *   flush.c    writeback of file maps
 *   copy.c     SIGBUS-safe rp_map_read / rp_map_write
 *   commit.c   reserve maps: commit and decommit
 *   split.c    rp_map_split / rp_map_merge
 *   resize.c   rp_map_resize
 */
#ifndef RP_MAP_INTERNAL_H
#define RP_MAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "os/os.h"
#include "rampart/map.h"

#define RP__PAGE_DECOMMITTED 0x80000000u
#define RP__PAGE_COUNT_MASK 0x7fffffffu
_Static_assert((RP__PAGE_DECOMMITTED & RP__PAGE_COUNT_MASK) == 0, "state bits overlap");

struct rp_map {
    unsigned char *base;
    size_t base_len;
    size_t delta;
    size_t len;
    size_t page;          /* base page size: the unit of state[] and of locks */
    size_t map_page;      /* page size of the mapping (hugetlb size, or page) */
    uint32_t *state;
    size_t state_bytes;   /* bytes of the state allocation */
    rp__os_file_t file;
    uint64_t file_offset; /* file offset of base */
    rp_map_prot_t prot;
    rp_map_source_t source;
    unsigned flags;
    size_t guard;         /* guard bytes at base (stack maps) */
    bool guard_light;
    bool thp;
};

/* ---- small helpers ----------------------------------------------------------------------------- */

static inline size_t rp__map_pages(const rp_map_t *m) { return m->base_len / m->page; }

static inline bool rp__prot_valid(rp_map_prot_t p) {
    return (unsigned)p <= (unsigned)RP_MAP_PROT_READ_WRITE_EXEC;
}
static inline bool rp__prot_exec(rp_map_prot_t p) {
    return p == RP_MAP_PROT_READ_EXEC || p == RP_MAP_PROT_READ_WRITE_EXEC;
}
static inline bool rp__prot_write(rp_map_prot_t p) {
    return p == RP_MAP_PROT_READ_WRITE || p == RP_MAP_PROT_READ_WRITE_EXEC;
}
static inline rp__os_prot_t rp__os_prot_of(rp_map_prot_t p) {
    static const rp__os_prot_t table[] = {
        [RP_MAP_PROT_NONE] = RP__OS_PROT_NONE,
        [RP_MAP_PROT_READ] = RP__OS_PROT_READ,
        [RP_MAP_PROT_READ_WRITE] = RP__OS_PROT_READ_WRITE,
        [RP_MAP_PROT_READ_EXEC] = RP__OS_PROT_READ_EXEC,
        [RP_MAP_PROT_READ_WRITE_EXEC] = RP__OS_PROT_READ_WRITE_EXEC,
    };
    return table[p];
}

/* A map that may hold secrets (the caller asked for a lock, no dump or wipe on fork): its pages
 * are wiped before they go back to the OS. */
static inline bool rp__map_secret(const rp_map_t *m) {
    return m->source == RP_MAP_ANONYMOUS && !(m->flags & RP_MAP_SHARED) && (m->flags & (RP_MAP_LOCKED | RP_MAP_NODUMP | RP_MAP_WIPEONFORK));
}

/* The handle lives in its own pages; the lock counts of a small map (up to about a thousand
 * pages) fit in the rest of the handle's page, so most maps cost one extra mapping, not two. */
static inline size_t rp__handle_size(void) { return rp__align_up(sizeof(rp_map_t), rp__os_page_size()); }
static inline uint32_t *rp__inline_state(rp_map_t *m) {
    _Static_assert(sizeof(rp_map_t) % sizeof(uint32_t) == 0, "inline state would be misaligned");
    return (uint32_t *)(m + 1);
}

static inline void *rp__page_addr(const rp_map_t *m, size_t index) { return m->base + index * m->page; }

/* ---- handle.c ---------------------------------------------------------------------------------- */

/* Make m->state hold pages entries, keeping the first keep (the rest of a new array is zero). */
rp_status_t rp__state_reserve(rp_map_t *m, size_t pages, size_t keep);
rp_map_t *rp__handle_alloc(void);
void rp__handle_free(rp_map_t *m);
/* Check [offset, offset+len) against the view and widen it to whole pages of the mapping:
 * *first and *count in state[] units (an empty range when the check fails). */
rp_status_t rp__map_range(const rp_map_t *m, size_t offset, size_t len, const char *what, size_t *first, size_t *count);
/* Wipe pages [first, first+count) of a secret map that are committed, run by run (a run of a
 * hugetlb map is whole huge pages, which is what mprotect needs there). */
void rp__map_wipe(rp_map_t *m, size_t first, size_t count);

/* ---- lock.c ------------------------------------------------------------------------------------ */

/* Whether the OS can hold a lock on page i now: committed, and the map accessible (mlock of
 * PROT_NONE memory fails). A counted page that is not gets its OS lock when it becomes
 * accessible (rp_map_commit, rp_map_protect). */
bool rp__lockable(const rp_map_t *m, size_t i);
/* A lock of pages [first, end) failed with err. mlock faults every page in, and a page past the
 * end of a file cannot be read: the kernel then says ENOMEM, which reads as "over the memlock
 * limit" (even for root). When the file is shorter than the map, say that instead, with sizes. */
rp_status_t rp__fail_map_lock(const rp_map_t *m, int err, size_t first, size_t end, size_t bytes);
/* Count one more lock on pages [first, first+count), taking the OS lock for pages that had none;
 * all or nothing. */
rp_status_t rp__lock_pages(rp_map_t *m, size_t first, size_t count);
/* Take the OS lock on the counted pages of [first, end) that just became accessible: lockable
 * ones, or with committing every counted one (the range is being committed). */
int rp__lock_counted(rp_map_t *m, size_t first, size_t end, bool committing);
/* Drop the OS lock on every counted, lockable run (the undo of rp__lock_counted). */
void rp__unlock_counted(rp_map_t *m);

/* ---- commit.c ---------------------------------------------------------------------------------- */

/* Decommit [addr, addr+bytes) and put back the advice the map promises (the fresh reservation
 * the OS puts there has none). */
int rp__decommit_pages(rp_map_t *m, void *addr, size_t bytes);

#endif /* RP_MAP_INTERNAL_H */
