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

/* Grow the OS mapping to total bytes: the last area in place, else (RP_MAP_MAY_MOVE) the whole
 * map, area by area, into a fresh reservation of the new size, since one mremap cannot span
 * areas. On failure nothing has changed. */
static int rp__map_grow_areas(rp_map_t *m, size_t total) {
    size_t n = rp__map_pages(m), last = n - 1, grow = total - m->base_len;
    while (last > 0 && rp__same_area(m->state[last - 1], m->state[n - 1])) last--;
    size_t last_bytes = (n - last) * m->page;
    void *p = NULL;
    int err = rp__os_remap(rp__page_addr(m, last), last_bytes, last_bytes + grow, false, NULL, &p);
    if (err == 0 || !(m->flags & RP_MAP_MAY_MOVE)) return err;
    if (last == 0) {
        err = rp__os_remap(m->base, m->base_len, total, true, NULL, &p);
        if (err == 0) m->base = p;
        return err;
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
        if (err != 0) break;
        i = j;
    }
    if (err == 0) {
        m->base = dest;
        return 0;
    }
    /* Move the areas already moved back where they were, and drop the rest of the reservation. */
    for (size_t k = 0; k < i;) {
        size_t j = k + 1;
        while (j < i && rp__same_area(m->state[k], m->state[j])) j++;
        size_t bytes = (j - k) * m->page;
        rp__os_remap(dest + k * m->page, bytes, bytes, true, rp__page_addr(m, k), &p);
        k = j;
    }
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

rp_status_t rp_map_resize(rp_map_t *m, size_t new_len) {
    if (m == NULL || new_len == 0) return rp__fail(RP_ERR_INVALID, 0, "rp_map_resize: NULL map or length 0");
    if (m->guard) return rp__fail(RP_ERR_INVALID, 0, "rp_map_resize: a stack map keeps its size (its guard sits below it)");
    if (!rp__os_remap_available()) return rp__fail(RP_ERR_UNSUPPORTED, 0, "rp_map_resize: this OS cannot resize a mapping");
    size_t total;
    if (rp__add_overflows(m->delta, new_len, &total) || (total = rp__align_up(total, m->map_page)) == 0)
        return rp__fail(RP_ERR_NOMEM, 0, "rp_map_resize: %zu bytes overflow the address space", new_len);
    if (m->source != RP_MAP_ANONYMOUS) {
        /* file_offset + delta + new_len can pass 2^64 even when delta + new_len fits. */
        uint64_t size = 0, want = m->file_offset + m->delta;
        if (want > UINT64_MAX - new_len)
            return rp__fail(RP_ERR_NOMEM, 0, "rp_map_resize: %zu bytes at file offset %llu overflow the file's offsets",
                            new_len, (unsigned long long)want);
        want += new_len;
        int err = rp__os_file_size(m->file, &size);
        if (err != 0) return rp__fail_os(err, "rp_map_resize: reading the file size");
        if (want > size && !(m->flags & RP_MAP_GROW))
            return rp__fail(RP_ERR_BOUNDS, 0, "rp_map_resize: %zu bytes would reach past the end of the file (%llu bytes); "
                            "create the map with RP_MAP_GROW", new_len, (unsigned long long)size);
        if (want > size && (err = rp__os_file_grow(m->file, want)) != 0)
            return rp__fail_os(err, "rp_map_resize: extending the file to %llu bytes", (unsigned long long)want);
    }
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
    m->len = new_len;
    return RP_OK;
}
