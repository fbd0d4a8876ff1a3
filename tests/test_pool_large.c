/* SPDX-License-Identifier: MIT */
/* test_pool_large.c — large allocations, 4097 bytes to 8 MiB, with and without a canary (issue 11
 * items 1 and 3).
 *
 * For every size: the contents start zero and hold what was written, the usable size is the size
 * rounded up to 16 bytes, the bytes are zero right after the free, and the page allocator gets
 * nothing non-zero back. In steady state an alloc+free pair costs no page-allocator call: runs of
 * shared regions up to 1 MiB (a canary included: a canary 1 MiB allocation used to get a mapping
 * of its own each time), cached mappings above (they used to be mapped and unmapped each time),
 * as far as the cache's bounds (a quarter of the lock budget) let it keep one. A stale free of a
 * pointer after its memory was handed out again aborts in a fork child, with the cached mapping,
 * or the cached run above 64 KiB, handed out again one turn on: within a page, not at the freed
 * address. A mapping cached by a thread that is gone serves the next
 * thread, whatever its shard. The page allocator wraps rp_pages_os() and counts its calls;
 * the pool's policy is silent so that the sizes above the memlock limit of an ordinary user
 * (8 MiB by default) are served too, unlocked.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "rampart.h"
#include "counting_pages.h"
#include "testhelper.h"

static const size_t sizes[] = {4097, 8192, 65536, 65537, 262144, 1048575, 1048576, 1048577, 3u << 20, 4u << 20, 8u << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static rp_pool_t *make_pool(unsigned flags) {
    rp_pool_options_t c = rp_pool_options_default();
    c.pages = &counting;
    c.flags = flags;
    c.lock_policy = RP_POOL_LOCK_SILENT;
    rp_pool_t *pool = NULL;
    return rp_pool_create(&c, &pool) == RP_OK ? pool : NULL;
}

/* Whether a freed mapping of n bytes (above 1 MiB) fits the large cache: its pages, a spare page
 * and two guards, within 16 MiB and a quarter of the lock budget (pool_internal.h). */
static bool cacheable(size_t n, size_t canary) {
    size_t P = rp_page_size(), len = rp_page_round((n + canary + 15) / 16 * 16) + 3 * P;
    size_t cap = rp_pages_get_limit(rp_pages_os()) / 4;
    if (cap > (16u << 20)) cap = 16u << 20;
    return n <= (1u << 20) || len <= cap;
}

/* Whether an allocation of n bytes turns when reused: a mapping (above 1 MiB), or a run above
 * 64 KiB of pages (68 KiB with a canary), which the thread ring does not keep. */
static bool turns(size_t n, size_t canary) {
    size_t P = rp_page_size();
    return n > (1u << 20) || rp_page_round((n + canary + 15) / 16 * 16) > 64u * 1024 + (canary ? P : 0);
}

static void contents_usable_wipe(void) {
    for (unsigned flags = 0; flags <= RP_POOL_CANARY; flags += RP_POOL_CANARY) {
        rp_pool_t *pool = make_pool(flags);
        REQUIRE(pool != NULL);
        for (size_t i = 0; i < NSIZES; i++) {
            size_t n = sizes[i];
            unsigned char *p = rp_pool_alloc(pool, n);
            REQUIRE(p != NULL);
            CHECK(count_nonzero(p, n) == 0);
            size_t usable = rp_pool_usable_size(pool, p);
            CHECK(usable == (n + 15) / 16 * 16 || (flags && usable == (n + 8 + 15) / 16 * 16 - 8));
            CHECK(usable >= n);
            CHECK(((uintptr_t)p & 15u) == 0);
            memset(p, 0xA5, usable);
            CHECK(p[0] == 0xA5 && p[usable - 1] == 0xA5);
            rp_pool_free(pool, p);
            /* still mapped (ring, quarantine, region or cache) and wiped, usable bytes and canary */
            if (count_nonzero(p, usable) != 0) fprintf(stderr, "    %zu bytes%s: not wiped\n", n, flags ? " + canary" : "");
            CHECK(count_nonzero(p, usable) == 0);
        }
        rp_pool_trim(pool);
        rp_pool_destroy(pool);
    }
    CHECK(counted_nonzero_at_free == 0);
}

/* After a few pairs, further pairs of the same size take nothing from the page allocator. */
static void steady_state_maps_nothing(void) {
    for (unsigned flags = 0; flags <= RP_POOL_CANARY; flags += RP_POOL_CANARY) {
        rp_pool_t *pool = make_pool(flags);
        REQUIRE(pool != NULL);
        for (size_t i = 0; i < NSIZES; i++) {
            size_t n = sizes[i];
            if (!cacheable(n, flags ? 8 : 0)) {
                fprintf(stderr, "    %zu bytes: over a quarter of the lock budget, not cached here\n", n);
                continue;
            }
            /* past the thread's ring of freed runs and its ready runs (16), into steady state */
            for (int k = 0; k < 32; k++) {
                volatile char *p = rp_pool_alloc(pool, n);
                REQUIRE(p != NULL);
                p[0] = 1;
                rp_pool_free(pool, (void *)p);
            }
            size_t before = counted_allocations;
            for (int k = 0; k < 50; k++) {
                volatile char *p = rp_pool_alloc(pool, n);
                REQUIRE(p != NULL);
                p[0] = 1;
                p[n - 1] = 1;
                rp_pool_free(pool, (void *)p);
            }
            if (counted_allocations != before)
                fprintf(stderr, "    %zu bytes%s: %zu page-allocator calls in 50 pairs\n", n, flags ? " + canary" : "",
                        counted_allocations - before);
            CHECK(counted_allocations == before);
            rp_pool_trim(pool);
        }
        rp_pool_destroy(pool);
    }
}

static rp_pool_t *thread_pool;
static void *pair_on_thread(void *arg) {
    size_t n = (size_t)(uintptr_t)arg;
    volatile char *p = rp_pool_alloc(thread_pool, n);
    if (p != NULL) {
        p[0] = 1;
        rp_pool_free(thread_pool, (void *)p);
    }
    return (void *)p;
}

/* Threads run one after another (each on the next shard): the mapping the first one freed
 * serves all the others. */
static void cache_serves_other_threads(void) {
    const size_t n = 3u << 20;
    if (!cacheable(n, 0)) {
        fprintf(stderr, "    %zu bytes: over a quarter of the lock budget, not cached here\n", n);
        return;
    }
    thread_pool = make_pool(0);
    REQUIRE(thread_pool != NULL);
    size_t before = 0;
    for (int t = 0; t < 12; t++) {
        pthread_t th;
        void *got = NULL;
        REQUIRE(pthread_create(&th, NULL, pair_on_thread, (void *)(uintptr_t)n) == 0);
        pthread_join(th, &got);
        CHECK(got != NULL);
        if (t == 0) before = counted_allocations;
    }
    if (counted_allocations != before) fprintf(stderr, "    %zu page-allocator calls in 11 threads\n", counted_allocations - before);
    CHECK(counted_allocations == before);
    rp_pool_destroy(thread_pool);
}

/* A cached mapping goes back after 64 large operations of its shard that do not use it, and on
 * rp_pool_trim. */
static void cache_ages_and_trims(void) {
    const size_t n = 3u << 20;
    if (!cacheable(n, 0)) {
        fprintf(stderr, "    %zu bytes: over a quarter of the lock budget, not cached here\n", n);
        return;
    }
    rp_pool_t *pool = make_pool(0);
    REQUIRE(pool != NULL);
    void *p = rp_pool_alloc(pool, n);
    REQUIRE(p != NULL);
    size_t before = counted_releases;
    rp_pool_free(pool, p);
    /* 256 KiB pairs: each allocation and each free is a large operation of the shard */
    for (int k = 0; k < 20; k++) rp_pool_free(pool, rp_pool_alloc(pool, 256u << 10));
    CHECK(counted_releases == before); /* 40 operations: still cached */
    for (int k = 0; k < 20; k++) rp_pool_free(pool, rp_pool_alloc(pool, 256u << 10));
    CHECK(counted_releases == before + 1); /* 80: released */
    p = rp_pool_alloc(pool, n);
    REQUIRE(p != NULL);
    rp_pool_free(pool, p);
    before = counted_releases;
    rp_pool_trim(pool);
    CHECK(counted_releases > before);
    size_t mapped = counted_allocations;
    p = rp_pool_alloc(pool, n); /* nothing cached after the trim: mapped afresh */
    CHECK(p != NULL && counted_allocations == mapped + 1);
    rp_pool_free(pool, p);
    rp_pool_destroy(pool);
}

static rp_pool_t *stale_pool;
static void *stale_p;
static void free_stale(void) { rp_pool_free(stale_pool, stale_p); }

/* free(p), p's memory handed out again (or not), free(p) again: the child aborts, and the new
 * owner's allocation stays intact in the parent. */
static void stale_double_free_aborts(void) {
    for (unsigned flags = 0; flags <= RP_POOL_CANARY; flags += RP_POOL_CANARY) {
        rp_pool_t *pool = make_pool(flags);
        REQUIRE(pool != NULL);
        for (size_t i = 0; i < NSIZES; i++) {
            size_t n = sizes[i];
            unsigned char *p = rp_pool_alloc(pool, n);
            REQUIRE(p != NULL);
            rp_pool_free(pool, p);
            unsigned char *q = rp_pool_alloc(pool, n);
            REQUIRE(q != NULL);
            CHECK(q != p);
            if (turns(n, flags ? 8 : 0) && cacheable(n, flags ? 8 : 0)) {
                /* the cached mapping or run came back, its slot one turn further on */
                size_t d = (uintptr_t)q > (uintptr_t)p ? (uintptr_t)q - (uintptr_t)p : (uintptr_t)p - (uintptr_t)q;
                CHECK(d < rp_page_size());
            }
            memset(q, 0x3C, n);
            stale_pool = pool;
            stale_p = p;
            CHECK(rp_test_dies_with(free_stale, SIGABRT));
            CHECK(rp_pool_usable_size(pool, q) >= n);
            CHECK(q[0] == 0x3C && q[n - 1] == 0x3C);
            rp_pool_free(pool, q);
        }
        rp_pool_destroy(pool);
    }
}

int main(void) {
    RP_TEST(contents_usable_wipe);
    RP_TEST(steady_state_maps_nothing);
    RP_TEST(cache_serves_other_threads);
    RP_TEST(cache_ages_and_trims);
    RP_TEST(stale_double_free_aborts);
    return rp_test_exit();
}
