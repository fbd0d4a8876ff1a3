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

/* ---- moving a map that the kernel holds in several areas ----------------------------------------
 *
 * Each run of equal state moves into a fresh reservation by its own mremap (MREMAP_FIXED), and a
 * failure moves back what had moved. Other threads may map into any range the moment it is
 * empty, and three kinds of range become empty on the way: a run's old place once it moved out;
 * a part of the reservation that the kernel unmapped before it refused a remap (it unmaps the
 * destination before the checks that can still fail: the commit charge, the memlock limit, a run
 * the kernel holds in more areas than its state says); and a part emptied by moving back. So
 * each old place is held again at once as a reservation (rp__hold), a run moves back only onto
 * its held place, and only what is still this map's reservation is unmapped at the end. Before,
 * a refused growth unmapped another thread's memory that had landed in the hole. A place that
 * is wholly mapped after a refusal is taken for the untouched reservation: for it to be another's,
 * other mappings would have to fill the hole exactly within that moment. */

#define RP__MOVE_LOST_MAX 8

typedef struct rp__move {
    rp_map_t *m;
    unsigned char *dest; /* the reservation, of the map's new size */
    size_t grow;         /* bytes the last mapping page grows by on its way */
    size_t done;         /* mapping pages [0, done) (state indexes) are at dest */
    /* Old places of moved pages that another thread mapped into before they were held again,
     * offsets from the map's base in increasing order: nothing moves back there and they are not
     * unmapped. */
    size_t lost_at[RP__MOVE_LOST_MAX], lost_len[RP__MOVE_LOST_MAX];
    unsigned nlost;
    size_t refused_end;  /* a refused remap's place in the reservation, not held again: it ends
                            here (an offset from dest; 0: none) */
} rp__move_t;

/* Take [addr, addr+len) as a reservation if nothing is mapped there: true when this process
 * holds it now, false when anything is there (another thread's mapping, or a reservation the
 * kernel refused to replace, which is then given up rather than risk unmapping another's). */
static bool rp__hold(void *addr, size_t len) {
    rp__os_map_request_t req = {.size = len, .prot = RP__OS_PROT_NONE, .file = RP__OS_FILE_NONE, .fixed = addr};
    void *p = NULL;
    return rp__os_map(&req, &p) == 0;
}

/* Move mapping pages [i, j) to the reservation in one mremap, the last page of the map growing
 * by the move's growth. On success their old place is held again; on failure *held says whether
 * their place in the reservation is still this map's (if not, it is recorded). pre: i == done. */
static int rp__move_out(rp__move_t *mv, size_t i, size_t j, bool *held) {
    rp_map_t *m = mv->m;
    size_t bytes = (j - i) * m->page, extra = j == rp__map_pages(m) ? mv->grow : 0;
    unsigned char *from = rp__page_addr(m, i), *to = mv->dest + i * m->page;
    void *p = NULL;
    int err = rp__os_remap(from, bytes, bytes + extra, true, to, &p);
    if (err != 0) {
        /* Some refusals come before the kernel unmaps the destination, some after: the place is
         * this map's when it is still wholly mapped (the reservation, untouched) or can be held
         * again now. */
        *held = rp__os_mapped(to, bytes + extra) || rp__hold(to, bytes + extra);
        if (!*held) mv->refused_end = (size_t)(to - mv->dest) + bytes + extra;
        return err;
    }
    if (!rp__hold(from, bytes)) {
        if (mv->nlost == RP__MOVE_LOST_MAX)
            rp__corrupt("rp_map_resize: other threads mapped into too many of the places a moving map left", from);
        mv->lost_at[mv->nlost] = i * m->page;
        mv->lost_len[mv->nlost++] = bytes;
    }
    mv->done = j;
    return 0;
}

/* Put pages [0, done) back onto their held old places (in their old size: only the last page
 * grows, and its move ends the move): run by run of equal state, as they moved, else mapping page
 * by mapping page (each split of the held place is one more kernel area, near the process's limit
 * of them). The places they leave in the reservation are not this map's any more, and are left
 * alone. */
static void rp__move_back(rp__move_t *mv) {
    rp_map_t *m = mv->m;
    if (mv->done == 0) return;
    if (mv->nlost != 0)
        rp__corrupt("rp_map_resize: a failed move cannot put the map back: another thread mapped into its old place",
                    m->base);
    size_t step = m->map_page / m->page;
    void *p = NULL;
    for (size_t i = 0, j; i < mv->done; i = j) {
        for (j = i + 1; j < mv->done && rp__same_area(m->state[i], m->state[j]);) j++;
        size_t bytes = (j - i) * m->page;
        if (rp__os_remap(mv->dest + i * m->page, bytes, bytes, true, rp__page_addr(m, i), &p) == 0) continue;
        for (size_t k = i; k < j; k += step)
            if (rp__os_remap(mv->dest + k * m->page, m->map_page, m->map_page, true, rp__page_addr(m, k), &p) != 0)
                rp__corrupt("rp_map_resize: a failed move could not put a page of the map back", rp__page_addr(m, k));
    }
}

/* Grow the OS mapping to total bytes: in place, else (RP_MAP_MAY_MOVE) the whole map into a
 * fresh reservation of the new size. One mremap cannot span areas, and the kernel may hold the
 * map in more areas than its page states suggest (found by fuzz/fuzz_map.c: rp_map_commit of a
 * range of a locked read-only map leaves that range an area of its own), so growing in place
 * names only the last unit, and a move goes run by run of equal state, mapping page by mapping
 * page where a run is refused whole. On failure nothing has changed. */
static int rp__map_grow_areas(rp_map_t *m, size_t total) {
    size_t n = rp__map_pages(m), grow = total - m->base_len, step = m->map_page / m->page;
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
    rp__move_t mv = {.m = m, .dest = reserved, .grow = grow};
    bool held = true;
    for (size_t i = 0; i < n && err == 0; i = mv.done) {
        size_t j = i + 1;
        while (j < n && rp__same_area(m->state[i], m->state[j])) j++;
        err = rp__move_out(&mv, i, j, &held);
        if (err != 0 && held) { /* refused whole: mapping page by mapping page, into the held place */
            err = 0;
            for (size_t k = i; k < j && err == 0; k += step) err = rp__move_out(&mv, k, k + step, &held);
        }
    }
    if (err == 0) {
        /* Give back the old places, but those another thread took before they were held. */
        size_t from = 0;
        for (unsigned k = 0; k < mv.nlost; k++) {
            if (mv.lost_at[k] > from) rp__os_unmap(m->base + from, mv.lost_at[k] - from);
            from = mv.lost_at[k] + mv.lost_len[k];
        }
        if (m->base_len > from) rp__os_unmap(m->base + from, m->base_len - from);
        m->base = mv.dest;
        return 0;
    }
    /* The reservation from the first page that did not move is still this map's, except a refused
     * place that another thread took. */
    size_t keep = mv.refused_end != 0 ? mv.refused_end : mv.done * m->page;
    rp__move_back(&mv);
    if (total > keep) rp__os_unmap(mv.dest + keep, total - keep);
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
