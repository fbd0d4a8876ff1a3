/* SPDX-License-Identifier: MIT */
/* map/resize.c — rp_map_resize: shrink, grow in place, or move (RP_MAP_MAY_MOVE) area by area,
 * keeping locks, reservations and the memlock limit in step.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

/* The OS areas of a map follow its page states: an area ends wherever the lock or commit state
 * changes (the kernel may merge more, never less). */
static bool rp__same_area(uint32_t a, uint32_t b) {
    return ((a & RP__PAGE_COUNT_MASK) != 0) == ((b & RP__PAGE_COUNT_MASK) != 0) &&
           (a & RP__PAGE_DECOMMITTED) == (b & RP__PAGE_DECOMMITTED);
}

/* Move units of the mapping [i, j) (state[] indexes, whole mapping pages) between base and
 * dest, unit by unit; the last unit of the map grows by grow bytes on the way. */
static int rp__move_units(rp_map_t *m, unsigned char *from, unsigned char *to, size_t i, size_t j, size_t grow) {
    size_t step = m->map_page / m->page, n = rp__map_pages(m);
    void *p = NULL;
    for (size_t k = i; k < j; k += step) {
        size_t bytes = m->map_page, extra = k + step >= n ? grow : 0;
        int err = rp__os_remap(from + k * m->page, bytes, bytes + extra, true, to + k * m->page, &p);
        if (err != 0) {
            rp__move_units(m, to, from, i, k, 0); /* put back what moved (in the old size) */
            return err;
        }
    }
    return 0;
}

/* Grow the OS mapping to total bytes: in place, else (RP_MAP_MAY_MOVE) the whole map into a
 * fresh reservation of the new size. One mremap cannot span areas, and the kernel may hold the
 * map in more areas than its page states suggest (found by fuzz/fuzz_map.c: rp_map_commit of a
 * range of a locked read-only map leaves that range an area of its own), so growing in place names only the last unit, and a move goes run by run of
 * equal state, unit by unit where a run is split. On failure nothing has changed. */
static int rp__map_grow_areas(rp_map_t *m, size_t total) {
    size_t n = rp__map_pages(m), grow = total - m->base_len;
    void *p = NULL;
    int err = rp__os_remap(m->base + m->base_len - m->map_page, m->map_page, m->map_page + grow, false, NULL, &p);
    if (err == 0 || !(m->flags & RP_MAP_MAY_MOVE)) return err;
    if (rp__os_remap(m->base, m->base_len, total, true, NULL, &p) == 0) { /* one area */
        m->base = p;
        return 0;
    }
    void *reserved = NULL;
    err = rp__os_reserve(total, &reserved);
    if (err != 0) return err;
    unsigned char *dest = reserved;
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && rp__same_area(m->state[i], m->state[j])) j++;
        size_t bytes = (j - i) * m->page;
        err = rp__os_remap(rp__page_addr(m, i), bytes, j == n ? bytes + grow : bytes, true, dest + i * m->page, &p);
        if (err != 0) err = rp__move_units(m, m->base, dest, i, j, grow);
        if (err != 0) break;
        i = j;
    }
    if (err == 0) {
        m->base = dest;
        return 0;
    }
    /* Move the runs already moved back where they were, and drop the rest of the reservation. */
    rp__move_units(m, dest, m->base, 0, i, 0);
    rp__os_unmap(dest + i * m->page, total - i * m->page);
    return err;
}

/* A last area the OS holds locked grows with its lock: mremap faults every new page in and
 * charges it to the memlock limit before rp_map_resize unlocks the growth, so one locked page
 * would make growing a sparse map to 64 GiB need 64 GiB of RAM. Relocked on fault first
 * (mlock2 MLOCK_ONFAULT: its own pages stay locked and resident, the growth is not faulted in)
 * and back to a plain lock after. RP_MAP_LOCKED maps lock their growth anyway. */
static int rp__map_grow(rp_map_t *m, size_t total) {
    size_t n = rp__map_pages(m), run = n;
    if (!(m->flags & RP_MAP_LOCKED))
        while (run > 0 && (m->state[run - 1] & RP__PAGE_COUNT_MASK) && rp__lockable(m, run - 1)) run--;
    size_t bytes = (n - run) * m->page;
    if (bytes == 0 || rp__os_lock_onfault(rp__page_addr(m, run), bytes) != 0) return rp__map_grow_areas(m, total);
    int err = rp__map_grow_areas(m, total);
    /* The run is locked either way (m->base is where it is now): a failure here would only
     * leave it in on-fault mode, with every page already resident. */
    (void)rp__os_lock(rp__page_addr(m, run), bytes);
    return err;
}

/* Shrink or grow the mapping to total bytes (a multiple of the map page); on failure the map
 * keeps its old size. */
static rp_status_t rp__map_set_size(rp_map_t *m, size_t total) {
    size_t old_pages = rp__map_pages(m), new_pages = total / m->page, old_len = m->base_len;
    if (total < old_len) {
        rp__map_wipe(m, new_pages, old_pages - new_pages);
        int err = rp__os_unmap(m->base + total, old_len - total);
        if (err != 0) return rp__fail_os(err, "rp_map_resize: %zu -> %zu bytes", old_len, total);
        m->base_len = total;
    } else if (total > old_len) {
        rp_status_t st = rp__state_reserve(m, new_pages, old_pages);
        if (st != RP_OK) return st;
        int err = rp__map_grow(m, total);
        if (err != 0) {
            /* The kernel grows a locked last area with its lock and refuses (EAGAIN) when that
             * would pass the memlock limit: a lock failure, with the numbers and the remedy. */
            if (rp__os_classify(err) == RP_ERR_LIMIT &&
                ((m->flags & RP_MAP_LOCKED) || (m->state[old_pages - 1] & RP__PAGE_COUNT_MASK))) {
                char from[32], to[32], held[32], what[160];
                size_t vm_locked = 0, resident = 0;
                int known = rp__os_locked_bytes(0, &vm_locked, &resident);
                snprintf(what, sizeof what, "rp_map_resize: growing a locked map from %s to %s (this process holds %s "
                         "locked now): the lock", rp_format_bytes(old_len, from, sizeof from),
                         rp_format_bytes(total, to, sizeof to), known == 0 ? rp_format_bytes(vm_locked, held, sizeof held) : "an unknown amount");
                return rp__fail_lock(err, total - old_len, what);
            }
            if (rp__os_classify(err) == RP_ERR_NOMEM && !(m->flags & RP_MAP_MAY_MOVE))
                return rp__fail(RP_ERR_NOMEM, err, "rp_map_resize: cannot grow %zu -> %zu bytes in place (the next pages "
                                "are in use); create the map with RP_MAP_MAY_MOVE", old_len, total);
            return rp__fail_os(err, "rp_map_resize: %zu -> %zu bytes", old_len, total);
        }
        m->base_len = total;
        unsigned char *grown = m->base + old_len;
        size_t bytes = total - old_len;
        memset(m->state + old_pages, 0, (new_pages - old_pages) * sizeof(uint32_t));
        /* The kernel extends the last area with its flags, a lock included: the counts say the
         * new pages are not locked, so make the kernel agree, then apply what the map promises. */
        if (m->state[old_pages - 1] & RP__PAGE_COUNT_MASK) rp__os_unlock(grown, bytes);
        if (m->flags & RP_MAP_RESERVE) {
            rp__decommit_pages(m, grown, bytes);
            for (size_t i = old_pages; i < new_pages; i++) m->state[i] = RP__PAGE_DECOMMITTED;
        } else if (m->state[old_pages - 1] & RP__PAGE_DECOMMITTED) {
            /* A decommitted last area grew with its no access: the new pages of a map that is not
             * a reserve map are committed (found by fuzz/fuzz_map.c: they faulted on first touch). */
            int e = rp__os_commit(grown, bytes);
            if (e == 0 && m->prot != RP_MAP_PROT_READ_WRITE) e = rp__os_protect(grown, bytes, rp__os_prot_of(m->prot));
            if (e != 0) {
                if (rp__os_unmap(grown, bytes) == 0) m->base_len = old_len;
                return rp__fail_os(e, "rp_map_resize: committing the %zu bytes it grew by", bytes);
            }
        }
        if (m->flags & RP_MAP_LOCKED) {
            st = rp__lock_pages(m, old_pages, new_pages - old_pages);
            if (st != RP_OK) {
                /* Keep the promise that a locked map is locked: go back to the old size. */
                if (rp__os_unmap(grown, bytes) == 0) m->base_len = old_len;
                return st;
            }
        }
    }
    return RP_OK;
}

rp_status_t rp_map_resize(rp_map_t *m, size_t new_len) {
    if (m == NULL || new_len == 0) return rp__fail(RP_ERR_INVALID, 0, "rp_map_resize: NULL map or length 0");
    if (m->guard) return rp__fail(RP_ERR_INVALID, 0, "rp_map_resize: a stack map keeps its size (its guard sits below it)");
    if (!rp__os_remap_available()) return rp__fail(RP_ERR_UNSUPPORTED, 0, "rp_map_resize: this OS cannot resize a mapping");
    size_t total;
    if (rp__add_overflows(m->delta, new_len, &total) || (total = rp__align_up(total, m->map_page)) == 0)
        return rp__fail(RP_ERR_NOMEM, 0, "rp_map_resize: %zu bytes overflow the address space", new_len);
    /* A file grown for this resize goes back to its old size when the mapping refuses the growth. */
    bool file_grown = false;
    uint64_t old_size = 0, want = 0;
    if (m->source != RP_MAP_ANONYMOUS) {
        /* file_offset + delta + new_len can pass 2^64 even when delta + new_len fits. */
        want = m->file_offset + m->delta;
        if (want > UINT64_MAX - new_len)
            return rp__fail(RP_ERR_NOMEM, 0, "rp_map_resize: %zu bytes at file offset %llu overflow the file's offsets",
                            new_len, (unsigned long long)want);
        want += new_len;
        int err = rp__os_file_size(m->file, &old_size);
        if (err != 0) return rp__fail_os(err, "rp_map_resize: reading the file size");
        if (want > old_size && !(m->flags & RP_MAP_GROW))
            return rp__fail(RP_ERR_BOUNDS, 0, "rp_map_resize: %zu bytes would reach past the end of the file (%llu bytes); "
                            "create the map with RP_MAP_GROW", new_len, (unsigned long long)old_size);
        if (want > old_size && (err = rp__os_file_grow(m->file, want)) != 0)
            return rp__fail_os(err, "rp_map_resize: extending the file to %llu bytes", (unsigned long long)want);
        file_grown = want > old_size;
    }
    rp_status_t st = rp__map_set_size(m, total);
    uint64_t now = 0;
    if (st == RP_OK)
        m->len = new_len;
    else if (file_grown && rp__os_file_size(m->file, &now) == 0 && now == want) /* unless changed since */
        (void)rp__os_file_truncate(m->file, old_size);
    return st;
}
