/* SPDX-License-Identifier: MIT */
/* test_pool_large_vmlck.c — stats.locked against the kernel's VmLck through large allocations,
 * frees, reuse from the large cache and trim (issue 11 items 1 and 2).
 *
 * After every step, the bytes the kernel charges as locked (VmLck in /proc/self/status) above the
 * baseline equal the pools' stats.locked, and every locked data page is resident (guard markers
 * are charged, never resident). A freed mapping stays cached and locked, and the next allocation
 * of its size reuses it: VmLck does not move (before, the freed mapping waited in the quarantine
 * and the next allocation mapped and locked another). rp_pool_trim brings VmLck back to the
 * baseline. Runs under any memlock limit of at least 8 MiB (the default); skips (77) where VmLck
 * cannot be read.
 */
#include <stdint.h>
#include <string.h>

#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

static size_t base, resident_base;
static rp_pool_t *plain, *canary;

static rp_pool_stats_t stats_of(rp_pool_t *pool) {
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    return s;
}

/* VmLck above the baseline, checked against both pools' stats; returns it. */
static size_t check_locked(const char *step) {
    size_t now = 0, resident = 0;
    if (rp__os_locked_bytes(0, &now, &resident) != 0) {
        CHECK(!"VmLck readable");
        return 0;
    }
    rp_pool_stats_t a = stats_of(plain), c = stats_of(canary);
    size_t P = rp_page_size();
    fprintf(stderr, "    %-34s VmLck +%zu, stats.locked %zu, resident +%zu\n", step, now - base, a.locked + c.locked,
            resident - resident_base);
    CHECK(now - base == a.locked + c.locked);
    CHECK(a.unlocked == 0 && c.unlocked == 0);
    CHECK(resident - resident_base == now - base - (a.guard_pages + c.guard_pages) * P);
    return now - base;
}

static void large_locked_matches_vmlck(void) {
    if (rp__os_locked_bytes(0, &base, &resident_base) != 0) rp_test_skip("VmLck not readable here");
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = RP_POOL_CANARY;
    REQUIRE(rp_pool_create(NULL, &plain) == RP_OK && rp_pool_create(&c, &canary) == RP_OK);
    /* a run, a canary run of 1 MiB, and a mapping of its own that fits the cache under 8 MiB */
    const size_t mapped = 3u << 19;
    unsigned char *r = rp_pool_alloc(plain, 8192), *k = rp_pool_alloc(canary, 1u << 20);
    unsigned char *m = rp_pool_alloc(plain, mapped);
    REQUIRE(r && k && m);
    memset(r, 1, 8192);
    memset(k, 1, 1u << 20);
    memset(m, 1, mapped);
    check_locked("live: 8 KiB, 1 MiB + canary, 1.5 MiB");
    rp_pool_free(plain, m);
    size_t cached = check_locked("1.5 MiB freed (cached)");
    m = rp_pool_alloc(plain, mapped);
    REQUIRE(m != NULL);
    memset(m, 2, mapped);
    CHECK(check_locked("1.5 MiB again (reused)") == cached);
    rp_pool_free(plain, m);
    rp_pool_free(plain, r);
    rp_pool_free(canary, k);
    check_locked("all freed");
    rp_pool_trim(plain);
    rp_pool_trim(canary);
    CHECK(check_locked("trimmed") == 0);
    rp_pool_destroy(plain);
    rp_pool_destroy(canary);
}

int main(void) {
    RP_TEST(large_locked_matches_vmlck);
    return rp_test_exit();
}
