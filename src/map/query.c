/* SPDX-License-Identifier: MIT */
/* map/query.c — what a map is: its pointer, length, info and OS areas.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include <string.h>

#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

void *rp_map_ptr(const rp_map_t *m) { return m ? m->base + m->delta : NULL; }
size_t rp_map_len(const rp_map_t *m) { return m ? m->len : 0; }

/* rp_map_info_t as first released (the end of its last field). */
#define RP__MAP_INFO_V1 RP__SIZE_V1(rp_map_info_t, locked_pages)

rp_status_t rp_map_info(const rp_map_t *m, rp_map_info_t *given) {
    if (m == NULL || given == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_info: NULL argument");
    rp_status_t st = rp__sized_out_check(given, RP__MAP_INFO_V1, "rp_map_info");
    if (st != RP_OK) return st;
    /* filled whole here, handed over only as far as the caller's struct_size reaches */
    rp_map_info_t full, *out = &full;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->ptr = m->base + m->delta;
    out->len = m->len;
    out->page_size = m->map_page;
    out->thp_advised = m->thp;
    out->prot = m->prot;
    out->flags = m->flags;
    out->source = m->source;
    out->offset = m->source == RP_MAP_ANONYMOUS ? 0 : m->file_offset + m->delta;
    for (size_t i = 0; i < rp__map_pages(m); i++) out->locked_pages += (m->state[i] & RP__PAGE_COUNT_MASK) != 0;
    rp__sized_out_write(given, &full, sizeof full);
    return RP_OK;
}

typedef struct rp__map_area_filter {
    uintptr_t start, end;
    rp_area_fn fn;
    void *ctx;
} rp__map_area_filter_t;

static bool rp__map_area_filter(const rp_area_t *area, void *ctx) {
    rp__map_area_filter_t *f = ctx;
    if (area->start >= f->end) return false;
    if (area->end <= f->start) return true;
    return f->fn(area, f->ctx);
}

rp_status_t rp_map_areas(const rp_map_t *m, rp_area_fn fn, void *ctx) {
    if (m == NULL || fn == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_areas: NULL argument");
    rp__map_area_filter_t f = {(uintptr_t)m->base, (uintptr_t)m->base + m->base_len, fn, ctx};
    return rp_areas_foreach(0, rp__map_area_filter, &f);
}
