/* SPDX-License-Identifier: MIT */
/* core/system.c — machine and process facts, and memory areas, from the platform layer.
 *
 * A thin public face over os/: it converts the private records to the public ones so the
 * platform layer can change without touching the ABI.
 */
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "rampart/system.h"

/* The growing structs' first released versions (the end of their last field). */
#define RP__SYSTEM_INFO_V1 RP__SIZE_V1(rp_system_info_t, dumpable)
#define RP__AREA_V1 RP__SIZE_V1(rp_area_t, guard_pages)

rp_status_t rp_system_info(rp_system_info_t *given) {
    if (given == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_system_info: out is NULL");
    rp_status_t st = rp__sized_out_check(given, RP__SYSTEM_INFO_V1, "rp_system_info");
    if (st != RP_OK) return st;
    /* filled whole here, handed over only as far as the caller's struct_size reaches */
    rp_system_info_t full, *out = &full;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    rp__os_describe(out->os, sizeof out->os);
    out->page_size = rp__os_page_size();
    out->alloc_granularity = rp__os_alloc_granularity();

    rp__os_huge_size_t huge[RP_MAX_HUGE_SIZES];
    size_t n = rp__os_huge_sizes(huge, RP_MAX_HUGE_SIZES);
    out->huge_count = n < RP_MAX_HUGE_SIZES ? n : RP_MAX_HUGE_SIZES;
    for (size_t i = 0; i < out->huge_count; i++)
        out->huge[i] = (rp_huge_size_t){huge[i].size, huge[i].total, huge[i].free};

    static const char *const thp[] = {
        [RP__OS_THP_NONE] = "unavailable", [RP__OS_THP_NEVER] = "never",
        [RP__OS_THP_MADVISE] = "madvise", [RP__OS_THP_ALWAYS] = "always"};
    out->thp_mode = thp[rp__os_thp_mode()];

    out->memlock_soft = out->memlock_hard = 0;
    rp__os_lock_limit(&out->memlock_soft, &out->memlock_hard);
    out->can_lock_unlimited = rp__os_can_lock_unlimited();
    out->locked_known = rp__os_locked_bytes(0, &out->locked_bytes, &out->resident_locked_bytes) == 0;
    out->secret_memory = rp__os_secret_available();
    out->guard_lightweight = rp__os_guard_lightweight_available();

    rp__os_core_info_t core;
    if (rp__os_core_info(&core) == 0) {
        memcpy(out->core_pattern, core.pattern, sizeof out->core_pattern);
        out->core_limit = core.limit_soft;
        out->dumpable = core.dumpable;
    }
    rp__sized_out_write(given, &full, sizeof full);
    return RP_OK;
}

static void rp__area_to_public(const rp__os_area_t *in, rp_area_t *out) {
    /* The private and public flag bits are the same numbers by construction. */
    _Static_assert(RP__OS_AREA_LOCKED == RP_AREA_LOCKED && RP__OS_AREA_DONTDUMP == RP_AREA_DONTDUMP &&
                       RP__OS_AREA_WIPEONFORK == RP_AREA_WIPEONFORK && RP__OS_AREA_GUARD == RP_AREA_NOACCESS &&
                       RP__OS_AREA_HUGETLB == RP_AREA_HUGETLB && RP__OS_AREA_SHARED == RP_AREA_SHARED &&
                       RP__OS_AREA_UNLOCKABLE == RP_AREA_UNLOCKABLE,
                   "area flag bits differ");
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->start = in->start;
    out->end = in->end;
    out->flags = in->flags;
    out->offset = in->offset;
    out->resident = in->rss;
    out->locked = in->locked;
    out->anon_huge = in->anon_huge;
    memcpy(out->path, in->path, sizeof out->path);
    out->hugetlb = in->hugetlb;
    out->swapped = in->swapped;
    out->page_size = in->page_size;
    out->guard_pages = in->guard_pages;
}

/* Guard pages are counted from the page tables, apart from the other figures (smaps does not
 * have them): reader_err is 0 when the reader is open, rp__os_err_unsupported() where the OS has
 * no lightweight guard pages (the area's own 0 stands), anything else when they cannot be read
 * (another user's process): then, and when one area cannot be counted, SIZE_MAX, "cannot tell". */
typedef struct rp__guards {
    rp__os_guard_reader_t reader;
    int reader_err;
} rp__guards_t;

static void rp__guards_open(rp__guards_t *g, int pid) { g->reader_err = rp__os_guard_reader_open(pid, &g->reader); }
static void rp__guards_close(rp__guards_t *g) {
    if (g->reader_err == 0) rp__os_guard_reader_close(g->reader);
}
static void rp__guards_fill(const rp__guards_t *g, rp_area_t *pub) {
    if (g->reader_err == rp__os_err_unsupported()) return;
    size_t n = 0;
    pub->guard_pages = g->reader_err == 0 && rp__os_guard_count(g->reader, pub->start, pub->end, &n) == 0 ? n : SIZE_MAX;
}

typedef struct rp__area_relay {
    rp_area_fn fn;
    void *ctx;
    rp__guards_t guards;
} rp__area_relay_t;

static bool rp__area_relay(const rp__os_area_t *area, void *ctx) {
    rp__area_relay_t *relay = ctx;
    rp_area_t pub = {RP_SIZED(rp_area_t)};
    rp__area_to_public(area, &pub);
    rp__guards_fill(&relay->guards, &pub);
    return relay->fn(&pub, relay->ctx);
}

rp_status_t rp_areas_foreach(int pid, rp_area_fn fn, void *ctx) {
    if (fn == NULL || pid < 0) return rp__fail(RP_ERR_INVALID, 0, "rp_areas_foreach: bad pid %d or NULL callback", pid);
    rp__area_relay_t relay = {fn, ctx, {0, 0}};
    rp__guards_open(&relay.guards, pid);
    int err = rp__os_areas(pid, rp__area_relay, &relay);
    rp__guards_close(&relay.guards);
    return err == 0 ? RP_OK : rp__fail_os(err, "reading the memory areas of process %d", pid ? pid : rp__os_getpid());
}

typedef struct rp__area_search {
    uintptr_t addr;
    rp_area_t *out;
    bool found;
} rp__area_search_t;

static bool rp__area_match(const rp__os_area_t *area, void *ctx) {
    rp__area_search_t *s = ctx;
    if (s->addr >= area->start && s->addr < area->end) {
        rp__area_to_public(area, s->out);
        s->found = true;
        return false;
    }
    return area->start <= s->addr; /* areas come in address order: stop once past addr */
}

rp_status_t rp_area_of(const void *addr, rp_area_t *given) {
    if (given == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_area_of: out is NULL");
    rp_status_t st = rp__sized_out_check(given, RP__AREA_V1, "rp_area_of");
    if (st != RP_OK) return st;
    /* filled whole here, handed over only as far as the caller's struct_size reaches */
    rp_area_t full, *out = &full;
    rp__area_search_t search = {(uintptr_t)addr, out, false};
    int err = rp__os_areas(0, rp__area_match, &search);
    if (err != 0) return rp__fail_os(err, "reading the memory areas to find %p", addr);
    if (!search.found) return rp__fail(RP_ERR_BOUNDS, 0, "no mapped region holds %p", addr);
    /* The page tables of this one area only. */
    rp__guards_t guards;
    rp__guards_open(&guards, 0);
    rp__guards_fill(&guards, out);
    rp__guards_close(&guards);
    rp__sized_out_write(given, &full, sizeof full);
    return RP_OK;
}
