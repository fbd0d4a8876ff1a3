/* SPDX-License-Identifier: MIT */
/* map/handle.c — the map handle and its per-page state array (both in pages of their own,
 * never malloc), the range check every call makes, and the wipe of a secret map's pages.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include <string.h>

#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

static void rp__state_free(rp_map_t *m) {
    if (m->state != rp__inline_state(m)) rp__os_release(m->state, m->state_bytes);
}

/* Make m->state hold pages entries, keeping the first keep (the rest of a new array is zero). */
rp_status_t rp__state_reserve(rp_map_t *m, size_t pages, size_t keep) {
    size_t raw;
    if (rp__mul_overflows(pages, sizeof(uint32_t), &raw))
        return rp__fail(RP_ERR_NOMEM, 0, "map state for %zu pages overflows", pages);
    if (raw <= m->state_bytes) return RP_OK;
    size_t bytes = rp__align_up(raw, rp__os_page_size());
    void *fresh = NULL;
    int err = bytes == 0 ? rp__os_err_unsupported() : rp__os_alloc(bytes, &fresh);
    if (err != 0) return rp__fail_os(err, "allocating map state for %zu pages", pages);
    memcpy(fresh, m->state, keep * sizeof(uint32_t));
    rp__state_free(m);
    m->state = fresh;
    m->state_bytes = bytes;
    return RP_OK;
}

rp_map_t *rp__handle_alloc(void) {
    void *p = NULL;
    if (rp__os_alloc(rp__handle_size(), &p) != 0) return NULL;
    rp_map_t *m = p;
    memset(m, 0, sizeof *m);
    m->file = RP__OS_FILE_NONE;
    m->state = rp__inline_state(m);
    m->state_bytes = rp__handle_size() - sizeof *m;
    return m;
}

void rp__handle_free(rp_map_t *m) {
    rp__state_free(m);
    if (m->file != RP__OS_FILE_NONE) rp__os_file_close(m->file);
    rp__os_release(m, rp__handle_size());
}

/* Check [offset, offset+len) against the view and widen it to whole pages of the mapping:
 * *first and *count in state[] units (an empty range when the check fails). */
rp_status_t rp__map_range(const rp_map_t *m, size_t offset, size_t len, const char *what, size_t *first,
                          size_t *count) {
    *first = *count = 0;
    /* An empty range names no byte, so no offset can be out of it (seed 001): a no-op anywhere. */
    if (len == 0) return RP_OK;
    if (offset > m->len || len > m->len - offset)
        return rp__fail(RP_ERR_BOUNDS, 0, "%s: range at offset %zu with length %zu is past the end of the %zu-byte map",
                        what, offset, len, m->len);
    /* Whole pages of the mapping: a hugetlb area cannot be split inside a huge page. */
    size_t start = (m->delta + offset) & ~(m->map_page - 1);
    size_t end = rp__align_up(m->delta + offset + len, m->map_page);
    if (end > m->base_len) end = m->base_len;
    *first = start / m->page;
    *count = end / m->page - *first;
    return RP_OK;
}

/* Pages asked about per rp__os_resident call while wiping (one byte each, on the stack). */
#define RP__WIPE_CHUNK_PAGES 1024u

/* Zero the resident pages of [p, p + pages pages). A page that was never touched holds nothing
 * and writing it would fault it in: a sparse 64 GiB no-dump map would need 64 GiB of RAM to be
 * destroyed. Where the OS cannot tell, every page counts as resident. */
static void rp__wipe_resident(const rp_map_t *m, unsigned char *p, size_t pages) {
    unsigned char vec[RP__WIPE_CHUNK_PAGES];
    for (size_t done = 0; done < pages;) {
        size_t n = pages - done < RP__WIPE_CHUNK_PAGES ? pages - done : RP__WIPE_CHUNK_PAGES;
        unsigned char *at = p + done * m->page;
        if (rp__os_resident(at, n * m->page, vec) != 0) memset(vec, 1, n);
        for (size_t i = 0; i < n;) {
            if (!(vec[i] & 1)) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < n && (vec[j] & 1)) j++;
            rp_memzero(at + i * m->page, (j - i) * m->page);
            i = j;
        }
        done += n;
    }
}

/* Wipe pages [first, first+count) of a secret map that are committed, run by run (a run of a
 * hugetlb map is whole huge pages, which is what mprotect needs there). */
void rp__map_wipe(rp_map_t *m, size_t first, size_t count) {
    if (!rp__map_secret(m)) return;
    size_t i = first > m->guard / m->page ? first : m->guard / m->page, end = first + count;
    while (i < end) {
        if (m->state[i] & RP__PAGE_DECOMMITTED) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < end && !(m->state[j] & RP__PAGE_DECOMMITTED)) j++;
        void *p = rp__page_addr(m, i);
        /* Read-only secrets still get wiped: open the pages for writing first. */
        if (rp__prot_write(m->prot) || rp__os_protect(p, (j - i) * m->page, RP__OS_PROT_READ_WRITE) == 0)
            rp__wipe_resident(m, p, j - i);
        i = j;
    }
}
