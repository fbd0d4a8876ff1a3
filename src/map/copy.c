/* SPDX-License-Identifier: MIT */
/* map/copy.c — rp_map_read and rp_map_write: copies that turn a SIGBUS from a file map
 * (truncated under it, or an I/O error) into RP_ERR_IO instead of killing the process.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

/* Check a copy of len bytes at offset: in the view, every page committed, the access allowed. */
static rp_status_t rp__check_copy(const rp_map_t *m, size_t offset, const void *buf, size_t len, bool write,
                                  const char *what) {
    if (m == NULL || (buf == NULL && len != 0)) return rp__fail(RP_ERR_INVALID, 0, "%s: NULL map or buffer", what);
    size_t first, count;
    rp_status_t st = rp__map_range(m, offset, len, what, &first, &count);
    if (st != RP_OK || len == 0) return st;
    if (m->prot == RP_MAP_PROT_NONE || (write && !rp__prot_write(m->prot)))
        return rp__fail(RP_ERR_PERMISSION, 0, "%s: the map is not %s", what, write ? "writable" : "readable");
    for (size_t i = first; i < first + count; i++)
        if (m->state[i] & RP__PAGE_DECOMMITTED)
            return rp__fail(RP_ERR_INVALID, 0, "%s: byte %zu of the map is reserved, not committed", what,
                            i * m->page > m->delta ? i * m->page - m->delta : 0);
    return RP_OK;
}

/* A guarded copy faulted: say why, with the file's size when it is shorter than the map. */
static rp_status_t rp__fail_copy(const rp_map_t *m, int err, size_t offset, size_t len, const char *what) {
    uint64_t size = 0, end = m->file_offset + m->delta + offset + len;
    if (m->source != RP_MAP_ANONYMOUS && rp__os_file_size(m->file, &size) == 0 && size < end)
        return rp__fail(RP_ERR_IO, err, "%s: %zu bytes at offset %zu of the map: the file is %llu bytes, shorter than the map "
                        "(the range ends at byte %llu of the file; truncated under the map?)", what, len, offset,
                        (unsigned long long)size, (unsigned long long)end);
    return rp__fail(RP_ERR_IO, err, "%s: %zu bytes at offset %zu of the map: the OS could not supply a page (I/O error "
                    "on the map's file?)", what, len, offset);
}

rp_status_t rp_map_read(const rp_map_t *m, size_t offset, void *dst, size_t len) {
    rp_status_t st = rp__check_copy(m, offset, dst, len, false, "rp_map_read");
    if (st != RP_OK || len == 0) return st;
    int err = rp__os_copy_guarded(dst, m->base + m->delta + offset, len, m->base, m->base_len);
    return err == 0 ? RP_OK : rp__fail_copy(m, err, offset, len, "rp_map_read");
}

rp_status_t rp_map_write(rp_map_t *m, size_t offset, const void *src, size_t len) {
    rp_status_t st = rp__check_copy(m, offset, src, len, true, "rp_map_write");
    if (st != RP_OK || len == 0) return st;
    int err = rp__os_copy_guarded(m->base + m->delta + offset, src, len, m->base, m->base_len);
    return err == 0 ? RP_OK : rp__fail_copy(m, err, offset, len, "rp_map_write");
}
