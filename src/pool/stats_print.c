/* SPDX-License-Identifier: MIT */
/* pool/stats_print.c — rp_pool_stats_print: the pool's statistics as lines for people.
 *
 * One snapshot (rp_pool_stats) becomes labelled lines: what is in use, what is locked and what
 * could not be, and the guards. The pool keeps no per-class counts in rp_pool_stats_t, so there
 * are no per-class lines (the heap's printer has them). docs/debugging.md shows the output.
 */
#include "pool/pool_internal.h"

rp_status_t rp_pool_stats_print_to(rp_pool_t *pool, rp_line_fn line, void *ctx) {
    if (pool == NULL || line == NULL)
        return rp__fail(RP_ERR_INVALID, 0, "rp_pool_stats_print: no %s given", pool ? "line function" : "pool");
    rp_pool_stats_t st = {RP_SIZED(rp_pool_stats_t)};
    rp_status_t status = rp_pool_stats(pool, &st);
    if (status != RP_OK) return status;
    char u[32], f[32], t[32], l[32], n[32], buf[256];
    snprintf(buf, sizeof buf, "rampart pool %p: used %s in %zu allocations, free %s in %zu slots, total %s in %zu arenas",
             (void *)pool, rp_format_bytes(st.used, u, sizeof u), st.chunks_used, rp_format_bytes(st.free, f, sizeof f),
             st.chunks_free, rp_format_bytes(st.total, t, sizeof t), st.arenas);
    line(buf, ctx);
    snprintf(buf, sizeof buf, "  locked %s, unlocked %s, lock failures %zu, guard pages %zu (%s)",
             rp_format_bytes(st.locked, l, sizeof l), rp_format_bytes(st.unlocked, n, sizeof n), st.lock_failures,
             st.guard_pages, st.guards_lightweight ? "lightweight markers" : "mappings");
    line(buf, ctx);
    return RP_OK;
}

rp_status_t rp_pool_stats_print(rp_pool_t *pool, FILE *out) {
    if (out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_pool_stats_print: no stream given");
    rp__file_sink_t sink = {out, 0};
    rp_status_t status = rp_pool_stats_print_to(pool, rp__line_to_file, &sink);
    return status != RP_OK ? status : rp__file_sink_status(&sink, "rp_pool_stats_print");
}
