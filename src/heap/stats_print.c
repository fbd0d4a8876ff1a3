/* SPDX-License-Identifier: MIT */
/* heap/stats_print.c — rp_heap_stats_print: the heap's statistics as lines for people.
 *
 * One snapshot (rp__heap_snapshot: rp_heap_stats with every class) becomes a summary line and one line per size class that has live
 * blocks; classes without blocks are left out so the report stays short. docs/debugging.md shows
 * what it looks like.
 */
#include <inttypes.h>

#include "heap/heap_internal.h"

rp_status_t rp_heap_stats_print_to(rp_heap_t *heap, rp_line_fn line, void *ctx) {
    if (heap == NULL || line == NULL)
        return rp__fail(RP_ERR_INVALID, 0, "rp_heap_stats_print: no %s given", heap ? "line function" : "heap");
    rp__heap_snapshot_t snap;
    rp__heap_snapshot(heap, &snap);
    const rp_heap_stats_t st = snap.stats;
    char a[32], r[32], m[32], c[32], d[32], l[32], u[32], buf[256];
    size_t small = 0;
    for (unsigned i = 0; i < RP__CLASSES; i++) small += snap.classes[i].blocks;
    snprintf(buf, sizeof buf, "rampart heap %p: allocated %s in %zu small and %zu large blocks",
             (void *)heap, rp_format_bytes(st.allocated, a, sizeof a), small, st.large_blocks);
    line(buf, ctx);
    snprintf(buf, sizeof buf, "  resident %s, mapped %s, cached %s, donated %s, limit %s, unlocked %s, purges %zu",
             rp_format_bytes(st.resident, r, sizeof r), rp_format_bytes(st.mapped, m, sizeof m),
             rp_format_bytes(st.cached, c, sizeof c), rp_format_bytes(st.donated, d, sizeof d),
             rp_format_bytes(st.limit, l, sizeof l), rp_format_bytes(st.unlocked, u, sizeof u), st.purges);
    line(buf, ctx);
    for (unsigned i = 0; i < RP__CLASSES; i++) {
        const rp_heap_class_stats_t *k = &snap.classes[i];
        if (k->blocks == 0) continue;
        snprintf(buf, sizeof buf, "  class %2u: %7zu-byte blocks x %zu = %s", i, k->block_size, k->blocks,
                 rp_format_bytes(k->blocks * k->block_size, a, sizeof a));
        line(buf, ctx);
    }
    return RP_OK;
}

rp_status_t rp_heap_stats_print(rp_heap_t *heap, FILE *out) {
    if (out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_heap_stats_print: no stream given");
    rp__file_sink_t sink = {out, 0};
    rp_status_t status = rp_heap_stats_print_to(heap, rp__line_to_file, &sink);
    return status != RP_OK ? status : rp__file_sink_status(&sink, "rp_heap_stats_print");
}
