/* SPDX-License-Identifier: MIT */
/* map/commit.c — reserve maps: rp_map_commit and rp_map_decommit of page ranges, with lock
 * counts that survive a decommit and take effect again at the commit.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

/* Decommit [addr, addr+bytes) and put back the advice the map promises (the fresh reservation
 * the OS puts there has none). */
int rp__decommit_pages(rp_map_t *m, void *addr, size_t bytes) {
    int err = rp__os_decommit(addr, bytes);
    if (err != 0) return err;
    if (m->flags & RP_MAP_NODUMP) rp__os_advise(addr, bytes, RP__OS_ADV_DONTDUMP);
    if (m->flags & RP_MAP_WIPEONFORK) rp__os_advise(addr, bytes, RP__OS_ADV_WIPEONFORK);
    if (m->thp) rp__os_advise(addr, bytes, RP__OS_ADV_HUGEPAGE);
    return 0;
}

static rp_status_t rp__check_committable(const rp_map_t *m, const char *what) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "%s: map is NULL", what);
    if (m->source != RP_MAP_ANONYMOUS || (m->flags & RP_MAP_SHARED) || m->map_page != m->page)
        return rp__fail(RP_ERR_INVALID, 0, "%s: only private anonymous maps with base pages commit and decommit", what);
    return RP_OK;
}

rp_status_t rp_map_commit(rp_map_t *m, size_t offset, size_t len) {
    rp_status_t st = rp__check_committable(m, "rp_map_commit");
    size_t first, count;
    if (st == RP_OK) st = rp__map_range(m, offset, len, "rp_map_commit", &first, &count);
    if (st != RP_OK || len == 0) return st;
    void *addr = rp__page_addr(m, first);
    size_t bytes = count * m->page;
    int err = rp__os_commit(addr, bytes);
    if (err == 0 && m->prot != RP_MAP_PROT_READ_WRITE) err = rp__os_protect(addr, bytes, rp__os_prot_of(m->prot));
    /* Locks counted on the range (RP_MAP_LOCKED, or taken while it was reserved) apply now. */
    bool lock_failed = false;
    if (err == 0 && m->prot != RP_MAP_PROT_NONE) lock_failed = (err = rp__lock_counted(m, first, first + count, true)) != 0;
    if (err != 0) {
        /* Leave the pages as they were: the ones that were decommitted go back to that. */
        for (size_t i = first; i < first + count; i++)
            if (m->state[i] & RP__PAGE_DECOMMITTED) rp__decommit_pages(m, rp__page_addr(m, i), m->page);
        if (lock_failed) return rp__fail_lock(err, bytes, "mlock");
        return rp__fail_os(err, "committing %zu bytes at offset %zu of the map", bytes, offset);
    }
    for (size_t i = first; i < first + count; i++) m->state[i] &= ~RP__PAGE_DECOMMITTED;
    if (rp__prot_exec(m->prot)) rp__os_icache_flush(addr, bytes);
    return RP_OK;
}

rp_status_t rp_map_decommit(rp_map_t *m, size_t offset, size_t len) {
    rp_status_t st = rp__check_committable(m, "rp_map_decommit");
    size_t first, count;
    if (st == RP_OK) st = rp__map_range(m, offset, len, "rp_map_decommit", &first, &count);
    if (st != RP_OK || len == 0) return st;
    /* Widening would drop bytes the caller did not name: the range must cover whole pages. */
    size_t start = m->delta + offset;
    if (!rp__is_aligned(start, m->page) || (!rp__is_aligned(start + len, m->page) && offset + len != m->len))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_decommit: offset %zu, length %zu is not whole pages of %zu bytes",
                        offset, len, m->page);
    if (first * m->page < m->guard)
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_decommit: the range includes the stack guard");
    void *addr = rp__page_addr(m, first);
    size_t bytes = count * m->page;
    rp__map_wipe(m, first, count);
    int err = rp__decommit_pages(m, addr, bytes);
    if (err != 0) return rp__fail_os(err, "decommitting %zu bytes at offset %zu of the map", bytes, offset);
    /* Lock counts survive: they take effect again when the range is committed. */
    for (size_t i = first; i < first + count; i++) m->state[i] |= RP__PAGE_DECOMMITTED;
    return RP_OK;
}
