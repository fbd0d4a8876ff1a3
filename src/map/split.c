/* SPDX-License-Identifier: MIT */
/* map/split.c — rp_map_split and rp_map_merge: one map cut in two at a page boundary, and
 * two neighbouring maps of the same kind joined into one.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include <string.h>

#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

/* The flags a map must share with its neighbour to be merged with it. */
#define RP__MERGE_FLAGS \
    (RP_MAP_SHARED | RP_MAP_JIT | RP_MAP_NODUMP | RP_MAP_WIPEONFORK | RP_MAP_LOCKED | RP_MAP_RESERVE | RP_MAP_STACK)

rp_status_t rp_map_split(rp_map_t *m, size_t offset, rp_map_t **tail) {
    if (tail == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_split: tail is NULL");
    *tail = NULL;
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_split: map is NULL");
    if (!rp__os_remap_available()) return rp__fail(RP_ERR_UNSUPPORTED, 0, "rp_map_split: this OS maps views that cannot be split");
    if (offset == 0 || offset >= m->len)
        return rp__fail(RP_ERR_BOUNDS, 0, "rp_map_split: offset %zu is not inside the %zu-byte map", offset, m->len);
    size_t cut = m->delta + offset;
    if (!rp__is_aligned(cut, m->map_page))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_split: offset %zu does not fall on a %zu-byte page boundary", offset, m->map_page);
    rp_map_t *t = rp__handle_alloc();
    if (t == NULL) return rp__fail_os(rp__os_last_error(), "allocating a map handle");
    *t = *m;
    t->state = rp__inline_state(t);
    t->state_bytes = rp__handle_size() - sizeof *t;
    t->file = RP__OS_FILE_NONE;
    t->base = m->base + cut;
    t->base_len = m->base_len - cut;
    t->delta = 0;
    t->len = m->len - offset;
    t->guard = 0;
    t->flags &= ~RP_MAP_STACK;
    t->file_offset = m->file_offset + cut;
    rp_status_t st = rp__state_reserve(t, rp__map_pages(t), 0);
    int err = 0;
    if (st == RP_OK && m->file != RP__OS_FILE_NONE && (err = rp__os_file_clone(m->file, &t->file)) != 0)
        st = rp__fail_os(err, "rp_map_split: a second handle to the map's file");
    if (st != RP_OK) {
        rp__handle_free(t);
        return st;
    }
    memcpy(t->state, m->state + cut / m->page, rp__map_pages(t) * sizeof(uint32_t));
    m->base_len = cut;
    m->len = offset;
    *tail = t;
    return RP_OK;
}

rp_status_t rp_map_merge(rp_map_t *a, rp_map_t *b) {
    if (a == NULL || b == NULL || a == b) return rp__fail(RP_ERR_INVALID, 0, "rp_map_merge: needs two different maps");
    if (!rp__os_remap_available()) return rp__fail(RP_ERR_UNSUPPORTED, 0, "rp_map_merge: this OS unmaps views only whole");
    if (a->base + a->base_len != b->base || a->delta + a->len != a->base_len || b->delta != 0)
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_merge: the map at %p does not start where the map at %p ends",
                        rp_map_ptr(b), rp_map_ptr(a));
    if (a->source != b->source || a->prot != b->prot || a->map_page != b->map_page || a->thp != b->thp ||
        (a->flags & RP__MERGE_FLAGS & ~RP_MAP_STACK) != (b->flags & RP__MERGE_FLAGS & ~RP_MAP_STACK) ||
        (b->flags & RP_MAP_STACK))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_merge: the maps differ in kind (source, protection, flags or page size)");
    if (a->source != RP_MAP_ANONYMOUS) {
        bool same = false;
        int err = rp__os_file_same(a->file, b->file, &same);
        if (err != 0) return rp__fail_os(err, "rp_map_merge: comparing the maps' files");
        if (!same || b->file_offset != a->file_offset + a->base_len)
            return rp__fail(RP_ERR_INVALID, 0, "rp_map_merge: the maps are not contiguous parts of one file");
    }
    size_t na = rp__map_pages(a), nb = rp__map_pages(b);
    rp_status_t st = rp__state_reserve(a, na + nb, na);
    if (st != RP_OK) return st;
    memcpy(a->state + na, b->state, nb * sizeof(uint32_t));
    a->base_len += b->base_len;
    a->len += b->len;
    rp__handle_free(b);
    return RP_OK;
}
