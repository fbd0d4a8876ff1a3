/* SPDX-License-Identifier: MIT */
/* map/lock.c — range locks: a count per page, the OS lock taken when a count goes 0 -> 1
 * and dropped at 1 -> 0, so the kernel (which does not nest) always agrees with the counts.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

/* Whether the OS can hold a lock on page i now: committed, and the map accessible (mlock of
 * PROT_NONE memory fails). A counted page that is not gets its OS lock when it becomes
 * accessible (rp_map_commit, rp_map_protect). */
bool rp__lockable(const rp_map_t *m, size_t i) {
    return m->prot != RP_MAP_PROT_NONE && !(m->state[i] & RP__PAGE_DECOMMITTED);
}
/* A page the OS must lock when its count goes 0 -> 1. */
static bool rp__needs_os_lock(const rp_map_t *m, size_t i) {
    return !(m->state[i] & RP__PAGE_COUNT_MASK) && rp__lockable(m, i);
}

/* Whether pages [first, end) of a file map reach past the last page of its file, which may have
 * been truncated under the map; *size gets the file's size. */
static bool rp__file_short(const rp_map_t *m, size_t first, size_t end, uint64_t *size) {
    *size = 0;
    if (m->source == RP_MAP_ANONYMOUS || end <= first || rp__os_file_size(m->file, size) != 0) return false;
    return m->file_offset + (uint64_t)(end - 1) * m->page >= *size;
}

/* A lock of pages [first, end) failed with err. mlock faults every page in, and a page past the
 * end of a file cannot be read: the kernel then says ENOMEM, which reads as "over the memlock
 * limit" (even for root). When the file is shorter than the map, say that instead, with sizes. */
rp_status_t rp__fail_map_lock(const rp_map_t *m, int err, size_t first, size_t end, size_t bytes) {
    uint64_t size;
    if (rp__os_classify_lock(err) != RP_ERR_LIMIT || !rp__file_short(m, first, end, &size))
        return rp__fail_lock(err, bytes, "mlock");
    return rp__fail(RP_ERR_IO, err,
                    "mlock of %zu bytes failed: the file is %llu bytes, shorter than the map, which needs it to reach "
                    "byte %llu (truncated under the map?); pages past the end of a file cannot be read or locked",
                    bytes, (unsigned long long)size, (unsigned long long)(m->file_offset + (uint64_t)end * m->page));
}

/* Count one more lock on pages [first, first+count), taking the OS lock for pages that had none;
 * all or nothing. */
rp_status_t rp__lock_pages(rp_map_t *m, size_t first, size_t count) {
    size_t end = first + count;
    for (size_t i = first; i < end; i++)
        if ((m->state[i] & RP__PAGE_COUNT_MASK) == RP__PAGE_COUNT_MASK)
            return rp__fail(RP_ERR_LIMIT, 0, "rp_map_lock: page %zu of the map is locked %u times already", i, RP__PAGE_COUNT_MASK);
    /* Lock the runs of pages nobody holds yet; undo them all if one fails. */
    size_t i = first;
    while (i < end) {
        if (!rp__needs_os_lock(m, i)) { i++; continue; }
        size_t j = i;
        while (j < end && rp__needs_os_lock(m, j)) j++;
        int err = rp__os_lock(rp__page_addr(m, i), (j - i) * m->page);
        if (err != 0) {
            /* The failed run too: Linux marks the whole range locked before it faults the pages
             * in, and keeps the pages it got when a later one fails. */
            rp__os_unlock(rp__page_addr(m, i), (j - i) * m->page);
            for (size_t k = first; k < i;) {
                if (!rp__needs_os_lock(m, k)) { k++; continue; }
                size_t r = k;
                while (r < i && rp__needs_os_lock(m, r)) r++;
                rp__os_unlock(rp__page_addr(m, k), (r - k) * m->page);
                k = r;
            }
            return rp__fail_map_lock(m, err, i, j, count * m->page);
        }
        i = j;
    }
    for (size_t k = first; k < end; k++) m->state[k]++;
    return RP_OK;
}

/* Take the OS lock on the counted pages of [first, end) that just became accessible: lockable
 * ones, or with committing every counted one (the range is being committed). */
int rp__lock_counted(rp_map_t *m, size_t first, size_t end, bool committing) {
    size_t i = first;
    while (i < end) {
        size_t j = i;
        while (j < end && (m->state[j] & RP__PAGE_COUNT_MASK) && (committing || rp__lockable(m, j))) j++;
        if (j == i) {
            i++;
            continue;
        }
        int err = rp__os_lock(rp__page_addr(m, i), (j - i) * m->page);
        if (err != 0) return err;
        i = j;
    }
    return 0;
}

/* Drop the OS lock on every counted, lockable run (the undo of rp__lock_counted). */
void rp__unlock_counted(rp_map_t *m) {
    size_t i = 0, end = rp__map_pages(m);
    while (i < end) {
        size_t j = i;
        while (j < end && (m->state[j] & RP__PAGE_COUNT_MASK) && rp__lockable(m, j)) j++;
        if (j == i) {
            i++;
            continue;
        }
        rp__os_unlock(rp__page_addr(m, i), (j - i) * m->page);
        i = j;
    }
}

rp_status_t rp_map_lock(rp_map_t *m, size_t offset, size_t len) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_lock: map is NULL");
    size_t first, count;
    rp_status_t st = rp__map_range(m, offset, len, "rp_map_lock", &first, &count);
    if (st != RP_OK || len == 0) return st;
    return rp__lock_pages(m, first, count);
}

rp_status_t rp_map_unlock(rp_map_t *m, size_t offset, size_t len) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_unlock: map is NULL");
    size_t first, count;
    rp_status_t st = rp__map_range(m, offset, len, "rp_map_unlock", &first, &count);
    if (st != RP_OK || len == 0) return st;
    /* The OS holds a lock on a page whose count is 1 unless it is reserved (decommit let the
     * lock go; a reserved page was never locked). */
    size_t end = first + count, i = first;
    while (i < end) {
        if (m->state[i] != 1) {
            if (m->state[i] & RP__PAGE_COUNT_MASK) m->state[i]--;
            i++;
            continue;
        }
        size_t j = i;
        while (j < end && m->state[j] == 1) j++;
        int err = rp__os_unlock(rp__page_addr(m, i), (j - i) * m->page);
        /* Pages the OS never locked (Windows: ERROR_NOT_LOCKED) are unlocked all the same. */
        if (err != 0 && !rp__os_is_not_locked(err))
            return rp__fail_os(err, "unlocking %zu bytes at offset %zu of the map", (j - i) * m->page, i * m->page);
        for (size_t k = i; k < j; k++) m->state[k]--;
        i = j;
    }
    return RP_OK;
}

rp_status_t rp_map_lock_all(rp_map_t *m) { return rp_map_lock(m, 0, m ? m->len : 0); }
rp_status_t rp_map_unlock_all(rp_map_t *m) { return rp_map_unlock(m, 0, m ? m->len : 0); }
