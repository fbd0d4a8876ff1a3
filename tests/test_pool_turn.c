/* SPDX-License-Identifier: MIT */
/* test_pool_turn.c — large runs above 64 KiB turn, and a new shard adopts an empty region
 * (issue 11 items 1 and 3).
 *
 * A freed run of more than 64 KiB (the ones the thread ring does not keep) goes to the large
 * cache and is handed out again at once, its slot 64 bytes further on. Before, it waited in its
 * shard's quarantine, so a loop of 256 KiB or 1 MiB pairs made a new run for every allocation
 * and cycled through several runs' pages (1.6-3.5x malloc + explicit_bzero of the same size,
 * where the floor wipes one warm buffer). Checked here:
 *   - after a few pairs, a loop of pairs makes no run (rp__run_create, counted through the
 *     linker's --wrap: the library is linked statically) and no page-allocator call;
 *   - each allocation is within a page of the one before but never at it, and a full cycle of
 *     turns hands out no address twice, so a stale free of any of them is refused;
 *   - a thread on another shard takes the run another thread cached (no run made, no
 *     page-allocator call), and rp_pool_trim from a third thread still gives everything back;
 *   - a thread whose shard has no region adopts another shard's empty one instead of mapping a
 *     new region (before, a new thread's first large run always mapped, locked and faulted in
 *     one of its own).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "rampart.h"
#include "counting_pages.h"
#include "counting_runs.h"
#include "testhelper.h"

static rp_pool_t *make_pool(unsigned flags) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.pages = &counting;
    cfg.lock_policy = RP_POOL_LOCK_SILENT; /* the checks are about reuse, not locking */
    cfg.flags = flags;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&cfg, &pool) != RP_OK) {
        fprintf(stderr, "    rp_pool_create: %s\n", rp_last_error()->message);
        return NULL;
    }
    return pool;
}

static size_t distance(const void *a, const void *b) {
    return (uintptr_t)a > (uintptr_t)b ? (uintptr_t)a - (uintptr_t)b : (uintptr_t)b - (uintptr_t)a;
}

enum { WARM = 4, TURNS = 64 }; /* TURNS: 4096 / RP__LARGE_TURN, the turns of a 4 KiB page */

/* A loop of pairs of n bytes reuses one run, one turn further on each time. */
static void test_pairs_turn(void) {
    static const unsigned flags[] = {0, RP_POOL_CANARY};
    static const size_t sizes[] = {64 * 1024 + 1, 256 * 1024, 1024 * 1024};
    const size_t P = rp_page_size();
    const size_t turns = P / RP__LARGE_TURN;
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i];
            size_t canary = flags[f] ? RP_POOL_CANARY_SIZE : 0;
            if (!rp__run_turns(rp__align_up(n + canary, 16), P, canary)) continue; /* the thread ring's */
            rp_pool_t *pool = make_pool(flags[f]);
            REQUIRE(pool != NULL);
            for (int w = 0; w < WARM; w++) {
                void *p = rp_pool_alloc(pool, n);
                REQUIRE(p != NULL);
                rp_pool_free(pool, p);
            }
            size_t runs = runs_made, maps = counted_allocations, far = 0, repeats = 0;
            static void *seen[TURNS * 4];
            void *prev = NULL;
            size_t pairs = turns < TURNS * 4 ? turns : TURNS * 4;
            for (size_t k = 0; k < pairs; k++) {
                unsigned char *p = rp_pool_alloc(pool, n);
                REQUIRE(p != NULL);
                p[0] = p[n - 1] = 0x77;
                for (size_t j = 0; j < k; j++) repeats += seen[j] == p;
                if (prev != NULL && (prev == p || distance(prev, p) >= P)) far++;
                seen[k] = prev = p;
                rp_pool_free(pool, p);
            }
            fprintf(stderr, "    %s %zu B: %zu runs and %zu regions made in %zu pairs, %zu not one turn on, %zu repeated\n",
                    flags[f] ? "canary" : "plain", n, runs_made - runs, counted_allocations - maps, pairs, far, repeats);
            CHECK(runs_made == runs);
            CHECK(counted_allocations == maps);
            CHECK(far == 0);
            CHECK(repeats == 0);
            rp_pool_trim(pool);
            rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
            CHECK(rp_pool_stats(pool, &s) == RP_OK);
            CHECK(s.arenas == 0 && s.locked == 0 && s.unlocked == 0 && s.total == 0);
            rp_pool_destroy(pool);
        }
    }
}

/* One thread does `pairs` pairs of size n on its shard (threads take the shards in turn), then
 * exits. */
static rp_pool_t *thread_pool;
static size_t thread_size;
static int thread_pairs;
static void *pairs_thread(void *arg) {
    (void)arg;
    for (int k = 0; k < thread_pairs; k++) {
        unsigned char *p = rp_pool_alloc(thread_pool, thread_size);
        if (p == NULL) return (void *)1;
        p[0] = 1;
        rp_pool_free(thread_pool, p);
    }
    return NULL;
}
static bool pairs_on_a_new_thread(rp_pool_t *pool, size_t n, int pairs) {
    thread_pool = pool;
    thread_size = n;
    thread_pairs = pairs;
    pthread_t t;
    void *failed = (void *)1;
    if (pthread_create(&t, NULL, pairs_thread, NULL) != 0) return false;
    pthread_join(t, &failed);
    return failed == NULL;
}

/* A 256 KiB run cached by one thread serves a thread on another shard; the trim, from the main
 * thread, gives it back even though it now sits in another shard's cache than its region's. */
static void test_cached_run_serves_other_threads(void) {
    rp_pool_t *pool = make_pool(0);
    REQUIRE(pool != NULL);
    REQUIRE(pairs_on_a_new_thread(pool, 256 * 1024, WARM));
    size_t runs = runs_made, maps = counted_allocations;
    for (int t = 0; t < 3; t++) REQUIRE(pairs_on_a_new_thread(pool, 256 * 1024, WARM));
    fprintf(stderr, "    3 more threads: %zu runs and %zu regions made\n", runs_made - runs, counted_allocations - maps);
    CHECK(runs_made == runs);
    CHECK(counted_allocations == maps);
    rp_pool_trim(pool);
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    CHECK(s.arenas == 0 && s.locked == 0 && s.unlocked == 0 && s.total == 0);
    rp_pool_destroy(pool);
}

/* A thread's 64 KiB run goes back to its region when the thread exits, leaving the region empty
 * (its shard's spare); the next thread, on the next shard, adopts that region instead of
 * mapping one. */
static void test_new_shard_adopts_region(void) {
    rp_pool_t *pool = make_pool(0);
    REQUIRE(pool != NULL);
    size_t maps = counted_allocations;
    REQUIRE(pairs_on_a_new_thread(pool, 64 * 1024, 1));
    CHECK(counted_allocations == maps + 1);
    maps = counted_allocations;
    for (int t = 0; t < 3; t++) REQUIRE(pairs_on_a_new_thread(pool, 64 * 1024, 1));
    fprintf(stderr, "    3 more threads: %zu regions made\n", counted_allocations - maps);
    CHECK(counted_allocations == maps);
    rp_pool_trim(pool);
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    CHECK(s.arenas == 0 && s.locked == 0 && s.unlocked == 0);
    rp_pool_destroy(pool);
}

int main(void) {
    RP_TEST(test_pairs_turn);
    RP_TEST(test_cached_run_serves_other_threads);
    RP_TEST(test_new_shard_adopts_region);
    return rp_test_exit();
}
