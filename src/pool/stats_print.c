/* SPDX-License-Identifier: MIT */
/* pool/stats_print.c — rp_pool_stats_print: the pool's statistics as lines for people.
 *
 * One snapshot (rp_pool_stats) becomes two labelled lines (what is in use, what is locked and
 * what could not be, the guards), then one line per size class that has live allocations: small
 * classes by slot size, guarded allocations by their data pages, large ones together. The class
 * counts come from a walk of the arenas' live bytes under the same locks as rp_pool_stats, taken
 * after it: under concurrent use the two can differ by what changed in between.
 * docs/debugging.md shows the output.
 */
#include "pool/pool_internal.h"

/* Live allocations per kind of arena, counted from the live bytes. */
typedef struct rp__class_usage {
    size_t small[RP__CLASSES];                 /* slots handed out, per size class */
    size_t guarded[RP__GUARDED_CLASSES + 1];   /* per data pages k (index k - 1; the last: more) */
    size_t guarded_bytes[RP__GUARDED_CLASSES + 1];
    size_t large, large_bytes;
} rp__class_usage_t;

/* Counts one arena's live slots by kind. */
static void rp__usage_add_arena(rp_pool_t *pool, rp__arena_t *a, void *ctx) {
    rp__class_usage_t *u = ctx;
    for (size_t i = 0; i < a->slots; i++) {
        if (!rp__live(a, i)) continue;
        if (a->kind == RP__ARENA_SMALL) {
            u->small[a->cls]++;
        } else if (a->kind == RP__ARENA_GUARDED) {
            unsigned k = a->cls < RP__GUARDED_CLASSES ? a->cls : RP__GUARDED_CLASSES;
            u->guarded[k]++;
            u->guarded_bytes[k] += a->sizes[i];
        } else {
            u->large++;
            u->large_bytes += a->stride - pool->canary;
        }
    }
}

static void rp__class_usage(rp_pool_t *pool, rp__class_usage_t *u) {
    memset(u, 0, sizeof *u);
    rp__pool_lock_all(pool);
    rp__pool_each_arena(pool, rp__usage_add_arena, u);
    rp__pool_unlock_all(pool);
}

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
    rp__class_usage_t usage;
    rp__class_usage(pool, &usage);
    for (unsigned c = 0; c < RP__CLASSES; c++) {
        if (usage.small[c] == 0) continue;
        size_t slot = rp__class_size(c);
        snprintf(buf, sizeof buf, "  class %2u: %7zu-byte slots x %zu = %s", c, slot, usage.small[c],
                 rp_format_bytes(slot * usage.small[c], u, sizeof u));
        line(buf, ctx);
    }
    for (unsigned k = 0; k <= RP__GUARDED_CLASSES; k++) {
        if (usage.guarded[k] == 0) continue;
        if (k < RP__GUARDED_CLASSES)
            snprintf(buf, sizeof buf, "  guarded, %u data page%s: %zu allocations = %s", k + 1, k ? "s" : "",
                     usage.guarded[k], rp_format_bytes(usage.guarded_bytes[k], t, sizeof t));
        else
            snprintf(buf, sizeof buf, "  guarded, more than %u data pages: %zu allocations = %s", RP__GUARDED_CLASSES,
                     usage.guarded[k], rp_format_bytes(usage.guarded_bytes[k], t, sizeof t));
        line(buf, ctx);
    }
    if (usage.large != 0) {
        snprintf(buf, sizeof buf, "  large: %zu allocations = %s", usage.large, rp_format_bytes(usage.large_bytes, t, sizeof t));
        line(buf, ctx);
    }
    return RP_OK;
}

rp_status_t rp_pool_stats_print(rp_pool_t *pool, FILE *out) {
    if (out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_pool_stats_print: no stream given");
    rp__file_sink_t sink = {out, 0};
    rp_status_t status = rp_pool_stats_print_to(pool, rp__line_to_file, &sink);
    return status != RP_OK ? status : rp__file_sink_status(&sink, "rp_pool_stats_print");
}
