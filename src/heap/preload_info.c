/* SPDX-License-Identifier: MIT */
/* heap/preload_info.c — librampart-malloc.so: glibc's allocator introspection (mallinfo2,
 * mallinfo, malloc_stats, malloc_info, malloc_trim) answered from rampart's default heap.
 *
 * Without these, a preloaded program asking glibc about its heap gets glibc's own, empty arena.
 * The figures come from one rp_heap_stats snapshot. glibc fields that rampart has no counterpart
 * for are 0 (docs/debugging.md maps each field): rampart has no fastbins, no per-arena free-chunk
 * counts and no sbrk top chunk.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>

#include "heap/heap_internal.h"

#define RP__EXPORT __attribute__((visibility("default")))

RP__EXPORT struct mallinfo2 mallinfo2(void);
RP__EXPORT struct mallinfo mallinfo(void);
RP__EXPORT void malloc_stats(void);
RP__EXPORT int malloc_info(int options, FILE *fp);
RP__EXPORT int malloc_trim(size_t pad);

/* uordblks: bytes in live blocks; fordblks: the rest of what is mapped; hblks: live large blocks
 * (rampart's counterpart of glibc's mmapped chunks); keepcost: the span cache, which
 * malloc_trim gives back. */
struct mallinfo2 mallinfo2(void) {
    struct mallinfo2 mi;
    memset(&mi, 0, sizeof mi);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    if (rp_heap_stats(rp_heap_default(), &st) != RP_OK) return mi;
    mi.arena = st.mapped;
    mi.uordblks = st.allocated;
    mi.fordblks = st.mapped > st.allocated ? st.mapped - st.allocated : 0;
    mi.hblks = st.large_blocks;
    mi.keepcost = st.cached;
    return mi;
}

/* The int fields saturate at INT_MAX instead of wrapping as glibc's do. */
static int rp__clamp(size_t v) { return v > (size_t)INT_MAX ? INT_MAX : (int)v; }

struct mallinfo mallinfo(void) {
    struct mallinfo2 m = mallinfo2();
    struct mallinfo mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = rp__clamp(m.arena);
    mi.uordblks = rp__clamp(m.uordblks);
    mi.fordblks = rp__clamp(m.fordblks);
    mi.hblks = rp__clamp(m.hblks);
    mi.keepcost = rp__clamp(m.keepcost);
    return mi;
}

static void rp__stderr_line(const char *line, void *ctx) {
    (void)ctx;
    rp__os_write_stderr(line, strlen(line));
    rp__os_write_stderr("\n", 1);
}

/* Like glibc's, to stderr; the lines are rp_heap_stats_print's. */
void malloc_stats(void) { (void)rp_heap_stats_print_to(rp_heap_default(), rp__stderr_line, NULL); }

/* glibc's XML shape (one heap, its size classes, totals) with version "rampart-1", so tools
 * that parse the elements keep working and a reader can tell whose heap it describes. */
int malloc_info(int options, FILE *fp) {
    if (options != 0 || fp == NULL) {
        errno = EINVAL;
        return -1;
    }
    rp__heap_snapshot_t snap;
    rp__heap_snapshot(rp_heap_default(), &snap);
    const rp_heap_stats_t st = snap.stats;
    fprintf(fp, "<malloc version=\"rampart-1\">\n<heap nr=\"0\">\n<sizes>\n");
    size_t from = 1;
    for (unsigned i = 0; i < RP__CLASSES; i++) {
        const rp_heap_class_stats_t *k = &snap.classes[i];
        if (k->blocks != 0)
            fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n", from, k->block_size,
                    k->blocks * k->block_size, k->blocks);
        from = k->block_size + 1;
    }
    fprintf(fp, "</sizes>\n<total type=\"large\" count=\"%zu\"/>\n", st.large_blocks);
    fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n<system type=\"resident\" size=\"%zu\"/>\n", st.mapped, st.resident);
    fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"in-use\" size=\"%zu\"/>\n", st.mapped, st.allocated);
    fprintf(fp, "</heap>\n</malloc>\n");
    return ferror(fp) ? -1 : 0;
}

/* Give cached memory back now (rp_heap_collect, forced); pad has no meaning without a top chunk.
 * 1 when memory went back to the OS, as glibc says. */
int malloc_trim(size_t pad) {
    (void)pad;
    rp_heap_t *heap = rp_heap_default();
    size_t before = atomic_load(&heap->purges);
    rp_heap_collect(heap, true);
    return atomic_load(&heap->purges) != before ? 1 : 0;
}
