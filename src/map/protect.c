/* SPDX-License-Identifier: MIT */
/* map/protect.c — rp_map_protect: protection transitions, run by run over committed pages,
 * with the instruction cache flushed for code and counted locks applied when access returns.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

/* Apply prot to every committed run of pages past the guard, flushing the instruction cache of
 * runs that become executable; on failure undo the runs already changed (back to old) and return
 * the error. */
static int rp__protect_runs(rp_map_t *m, rp_map_prot_t prot, rp_map_prot_t old) {
    size_t first = m->guard / m->page, end = rp__map_pages(m), i = first;
    int err = 0;
    while (i < end && err == 0) {
        if (m->state[i] & RP__PAGE_DECOMMITTED) { i++; continue; }
        size_t j = i;
        while (j < end && !(m->state[j] & RP__PAGE_DECOMMITTED)) j++;
        err = rp__os_protect(rp__page_addr(m, i), (j - i) * m->page, rp__os_prot_of(prot));
        if (err != 0) break;
        /* Code just became executable: make the instruction cache see what was written as data.
         * Run by run: on ARM the cache maintenance faults on the no-access pages between them. */
        if (rp__prot_exec(prot)) rp__os_icache_flush(rp__page_addr(m, i), (j - i) * m->page);
        i = j;
    }
    if (err == 0) return 0;
    for (size_t k = first; k < i;) {
        if (m->state[k] & RP__PAGE_DECOMMITTED) { k++; continue; }
        size_t j = k;
        while (j < i && !(m->state[j] & RP__PAGE_DECOMMITTED)) j++;
        rp__os_protect(rp__page_addr(m, k), (j - k) * m->page, rp__os_prot_of(old));
        k = j;
    }
    return err;
}

rp_status_t rp_map_protect(rp_map_t *m, rp_map_prot_t prot) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_protect: map is NULL");
    if (!rp__prot_valid(prot)) return rp__fail(RP_ERR_INVALID, 0, "rp_map_protect: unknown protection %d", (int)prot);
    if (prot == RP_MAP_PROT_READ_WRITE_EXEC && !(m->flags & RP_MAP_JIT))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_protect: read-write-execute needs a map created with RP_MAP_JIT");
    rp_map_prot_t old = m->prot;
    int err = rp__protect_runs(m, prot, old);
    if (err != 0) return rp__fail_os(err, "changing the protection of the %zu-byte map at %p", m->len, rp_map_ptr(m));
    if (old == RP_MAP_PROT_NONE && prot != RP_MAP_PROT_NONE) {
        /* Locks counted while the map had no access take effect now. */
        m->prot = prot;
        err = rp__lock_counted(m, 0, rp__map_pages(m), false);
        if (err != 0) {
            /* The runs locked before the one that failed would stay charged to the memlock
             * limit under a map that has no access again: let them go (unlocking a run that
             * was not locked is harmless). */
            rp__unlock_counted(m);
            m->prot = old;
            rp__protect_runs(m, old, prot);
            return rp__fail_map_lock(m, err, 0, rp__map_pages(m), m->base_len);
        }
    }
    m->prot = prot;
    return RP_OK;
}
