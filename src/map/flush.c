/* SPDX-License-Identifier: MIT */
/* map/flush.c — rp_map_flush: write a file map's dirty pages back, and say when the file
 * has shrunk under the map.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

rp_status_t rp_map_flush(rp_map_t *m, size_t offset, size_t len, bool async) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_flush: map is NULL");
    size_t first, count;
    rp_status_t st = rp__map_range(m, offset, len, "rp_map_flush", &first, &count);
    if (st != RP_OK || len == 0 || m->source == RP_MAP_ANONYMOUS) return st;
    int err = rp__os_flush(rp__page_addr(m, first), count * m->page, async, m->file);
    if (err != 0) return rp__fail_os(err, "flushing %zu bytes at offset %zu of the map (%s)", len, offset, async ? "async" : "sync");
    /* The OS flushes what it can and says nothing of bytes past the end of a file that shrank
     * under the map: they are not in the file, and reading them kills with SIGBUS. */
    uint64_t size = 0, end = m->file_offset + m->delta + offset + len;
    err = rp__os_file_size(m->file, &size);
    if (err != 0) return rp__fail_os(err, "flushing: reading the size of the map's file");
    if (size < end)
        return rp__fail(RP_ERR_IO, 0, "flushing %zu bytes at offset %zu of the map: the file is %llu bytes, shorter than "
                        "the map (the range ends at byte %llu of the file; truncated under the map?): bytes past its end "
                        "are not in the file", len, offset, (unsigned long long)size, (unsigned long long)end);
    return RP_OK;
}

rp_status_t rp_map_flush_all(rp_map_t *m, bool async) {
    return rp_map_flush(m, 0, m ? m->len : 0, async);
}
