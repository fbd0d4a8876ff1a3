/* SPDX-License-Identifier: MIT */
/* test_pool_kept.c — large runs a thread frees stay with it and are reused (issue 11 item 1).
 *
 * A large allocation of up to 64 KiB (with its canary: 68 KiB of pages) freed by a thread with a
 * cache waits in the thread's ring of its last frees, then among the runs the thread hands out
 * again for the same size, without the shard lock, the page map or new metadata. Two things
 * used to stop that reuse, each seen here as a loop that keeps making runs (rp__run_create,
 * counted through the linker's --wrap: the library is linked statically) after its first rounds:
 *   - the bytes a thread may keep held only the ring of 64 KiB runs, so a loop of 64 KiB pairs
 *     gave every run back as it left the ring and made a new one for the next allocation;
 *   - once the ready list was full (runs of a size the loop no longer asks for), the newest run
 *     was refused instead of the oldest giving way, so a loop that changed sizes never reused.
 * The canary pool's 64 KiB runs are 68 KiB: they are kept too. rp_pool_trim then gives every
 * kept run back, and the pool holds no more bytes than before the first allocation.
 *
 * Guarded pools: an arena of a shared guarded class left empty by a free was released at once,
 * so a loop of guarded pairs mapped, guarded, locked, advised and unmapped a whole arena for
 * every allocation (1 mmap, 1 mlock and 37 madvise calls per 32-byte pair, and the pool lock).
 * One empty arena per shard and class is now kept, seen here as a page allocator of the test's
 * own that counts its calls; rp_pool_trim gives it back.
 */
#include <stdint.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "rampart.h"
#include "counting_pages.h"
#include "counting_runs.h"
#include "testhelper.h"

enum { ROUNDS = 64, WARM = 12 };

static rp_pool_t *make_pool(unsigned flags) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.lock_policy = RP_POOL_LOCK_SILENT; /* the check is about reuse, not locking */
    cfg.flags = flags;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&cfg, &pool) != RP_OK) {
        fprintf(stderr, "    rp_pool_create: %s\n", rp_last_error()->message);
        return NULL;
    }
    return pool;
}

static rp_pool_stats_t stats_of(rp_pool_t *pool) {
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    return s;
}

/* ROUNDS rounds of: allocate each of sizes[0..n) (one byte written, as a program would), then
 * free them in the same order. Returns the runs made after the first WARM rounds (the ring
 * fills in fewer): 0 when the thread reuses its runs. */
static size_t runs_made_in_loop(rp_pool_t *pool, const size_t *sizes, size_t n) {
    void *p[4];
    size_t before = 0;
    for (int round = 0; round < ROUNDS; round++) {
        if (round == WARM) before = runs_made;
        for (size_t k = 0; k < n; k++) {
            p[k] = rp_pool_alloc(pool, sizes[k]);
            if (p[k] == NULL) {
                fprintf(stderr, "    alloc %zu: %s\n", sizes[k], rp_last_error()->message);
                CHECK(p[k] != NULL);
                return SIZE_MAX;
            }
            ((volatile char *)p[k])[sizes[k] - 1] = 1;
        }
        for (size_t k = 0; k < n; k++) rp_pool_free(pool, p[k]);
    }
    CHECK(before > 0); /* the first rounds made runs: the count sees them */
    return runs_made - before;
}

/* What the pool holds of the page allocator, locked or not. */
static size_t held(rp_pool_t *pool) {
    rp_pool_stats_t s = stats_of(pool);
    return s.locked + s.unlocked;
}

/* After the loops: the thread still keeps runs (all free), and the trim gives them back. */
static void trim_gives_back(rp_pool_t *pool, size_t baseline) {
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.used == 0);
    CHECK(s.chunks_free > 0); /* the kept runs */
    CHECK(held(pool) > baseline);
    rp_pool_trim(pool);
    s = stats_of(pool);
    CHECK(s.total == 0);
    CHECK(s.chunks_free == 0);
    CHECK(held(pool) == baseline);
    if (held(pool) != baseline) fprintf(stderr, "    held %zu after the trim, %zu before the first allocation\n", held(pool), baseline);
}

/* A loop of 64 KiB pairs (and, with a canary, of 68 KiB runs) reuses the thread's runs. */
static void test_pairs_64k(void) {
    static const unsigned flags[] = {0, RP_POOL_CANARY};
    static const size_t sizes[] = {64 * 1024};
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        rp_pool_t *pool = make_pool(flags[f]);
        REQUIRE(pool != NULL);
        size_t baseline = held(pool);
        size_t made = runs_made_in_loop(pool, sizes, 1);
        fprintf(stderr, "    %s: %zu runs made for the %d allocations after the first %d\n",
                flags[f] ? "canary" : "plain", made, ROUNDS - WARM, WARM);
        CHECK(made == 0);
        trim_gives_back(pool, baseline);
        rp_pool_destroy(pool);
    }
}

/* The thread's ready list full of runs of a size no longer asked for (12 KiB), then a loop that
 * alternates 8 KiB and 64 KiB: the old runs give way, and the loop reuses its own. */
static void test_alternating_after_other_size(void) {
    static const unsigned flags[] = {0, RP_POOL_CANARY};
    static const size_t sizes[] = {8 * 1024, 64 * 1024};
    enum { OLD = 24 };
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        rp_pool_t *pool = make_pool(flags[f]);
        REQUIRE(pool != NULL);
        size_t baseline = held(pool);
        void *old[OLD];
        for (int i = 0; i < OLD; i++) {
            old[i] = rp_pool_alloc(pool, 12 * 1024);
            REQUIRE(old[i] != NULL);
        }
        for (int i = 0; i < OLD; i++) rp_pool_free(pool, old[i]);
        size_t made = runs_made_in_loop(pool, sizes, 2);
        fprintf(stderr, "    %s: %zu runs made for the %d allocations after the first %d rounds\n",
                flags[f] ? "canary" : "plain", made, 2 * (ROUNDS - WARM), WARM);
        CHECK(made == 0);
        trim_gives_back(pool, baseline);
        rp_pool_destroy(pool);
    }
}

/* Guarded pairs of one page (32 B) and of three (9000 B): no arena is made after the first. */
static void test_guarded_pairs(void) {
    static const size_t sizes[] = {32, 9000};
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.lock_policy = RP_POOL_LOCK_SILENT;
    cfg.flags = RP_POOL_GUARDED;
    cfg.pages = &counting;
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&cfg, &pool) == RP_OK);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t before = 0;
        for (int round = 0; round < ROUNDS; round++) {
            if (round == 1) before = counted_allocations;
            char *p = rp_pool_alloc(pool, sizes[k]);
            REQUIRE(p != NULL);
            p[sizes[k] - 1] = 1;
            rp_pool_free(pool, p);
        }
        CHECK(before > 0);
        fprintf(stderr, "    %zu B: %zu arenas made for the %d pairs after the first\n", sizes[k], counted_allocations - before,
                ROUNDS - 1);
        CHECK(counted_allocations == before);
    }
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.used == 0 && s.arenas == 2); /* one kept per class */
    rp_pool_trim(pool);
    s = stats_of(pool);
    CHECK(s.arenas == 0 && s.total == 0 && s.locked + s.unlocked == 0);
    CHECK(counted_outstanding == 0);
    rp_pool_destroy(pool);
}

int main(void) {
    RP_TEST(test_pairs_64k);
    RP_TEST(test_alternating_after_other_size);
    RP_TEST(test_guarded_pairs);
    return rp_test_exit();
}
