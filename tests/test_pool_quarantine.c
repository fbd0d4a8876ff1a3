/* SPDX-License-Identifier: MIT */
/* test_pool_quarantine.c — a double free after the slot was reused is caught (issue 11 item 3).
 *
 * Without a quarantine, free(p) puts p on top of the thread's bin and the next allocation of
 * that class returns p again, so a second free(p) frees the new owner's secret silently. Each
 * thread cache now holds its last RP_POOL_QUARANTINE frees back before they can be handed out
 * again; a second free of a pointer still in that window finds its live byte clear and aborts.
 * Death cases run in a fork child that creates its own pool (a pool made before a fork hands
 * out nothing in the child).
 */
#include <signal.h>
#include <string.h>

#include "rampart.h"
#include "testhelper.h"

static rp_pool_t *fresh_pool(void) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.lock_policy = RP_POOL_LOCK_SILENT; /* the check is about reuse, not locking */
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&cfg, &pool) != RP_OK) _exit(3);
    return pool;
}

/* free p, allocate the same size again (the old LIFO handed p back), free p again. */
static void reuse_then_double_free(void) {
    rp_pool_t *pool = fresh_pool();
    char *p = rp_pool_alloc(pool, 32);
    if (p == NULL) _exit(3);
    rp_pool_free(pool, p);
    char *q = rp_pool_alloc(pool, 32);
    if (q == NULL || q == p) _exit(4); /* p came straight back: nothing left to catch it */
    memset(q, 0x5a, 32);
    rp_pool_free(pool, p); /* must abort */
}

/* The window: RP_POOL_QUARANTINE - 1 other frees after free(p), then as many allocations as
 * the thread likes, and p is still not handed out again. */
static void double_free_within_the_window(void) {
    rp_pool_t *pool = fresh_pool();
    enum { N = RP_POOL_QUARANTINE - 1 };
    void *x[N], *y[N + 8];
    char *p = rp_pool_alloc(pool, 100);
    for (int i = 0; i < N; i++) x[i] = rp_pool_alloc(pool, 100);
    rp_pool_free(pool, p);
    for (int i = 0; i < N; i++) rp_pool_free(pool, x[i]);
    for (int i = 0; i < N + 8; i++) {
        y[i] = rp_pool_alloc(pool, 100);
        if (y[i] == NULL || y[i] == p) _exit(4);
    }
    rp_pool_free(pool, p); /* must abort */
}

/* Guarded mode: a freed slot comes back only after the arena's other free slots (next fit). */
static void guarded_reuse_then_double_free(void) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.lock_policy = RP_POOL_LOCK_SILENT;
    cfg.flags = RP_POOL_GUARDED;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&cfg, &pool) != RP_OK) _exit(3);
    char *keep = rp_pool_alloc(pool, 64); /* keeps the arena (an empty one is released) */
    char *p = rp_pool_alloc(pool, 64);
    if (keep == NULL || p == NULL) _exit(3);
    rp_pool_free(pool, p);
    char *q = rp_pool_alloc(pool, 64);
    if (q == NULL || q == p) _exit(4);
    rp_pool_free(pool, p); /* must abort */
}

/* Large allocations (runs of a shared region up to 1 MiB, a mapping of their own above): free
 * p, allocate the same size (the old pool unmapped p's arena and the next mmap often took the
 * same address, so q == p and the second free released q's memory), free p again. The freed
 * allocation waits in its thread's ring or its shard's quarantine, still known and not live, or
 * (a run above 64 KiB, a mapping) is handed out again one turn on, so p is not q's start: the
 * second free aborts and q is untouched. */
static size_t large_size;
static void large_reuse_then_double_free(void) {
    rp_pool_t *pool = fresh_pool();
    char *p = rp_pool_alloc(pool, large_size);
    if (p == NULL) _exit(3);
    rp_pool_free(pool, p);
    char *q = rp_pool_alloc(pool, large_size);
    if (q == NULL || q == p) _exit(4);
    memset(q, 0x5a, large_size);
    rp_pool_free(pool, p); /* must abort */
}
/* Seven other large frees between the two frees of p (the quarantine holds eight). */
static void large_double_free_within_the_window(void) {
    rp_pool_t *pool = fresh_pool();
    enum { N = 7 };
    void *x[N], *y[N + 4];
    char *p = rp_pool_alloc(pool, large_size);
    for (int i = 0; i < N; i++) x[i] = rp_pool_alloc(pool, large_size);
    rp_pool_free(pool, p);
    for (int i = 0; i < N; i++) rp_pool_free(pool, x[i]);
    for (int i = 0; i < N + 4; i++) {
        y[i] = rp_pool_alloc(pool, large_size);
        if (y[i] == NULL || y[i] == p) _exit(4);
    }
    rp_pool_free(pool, p); /* must abort */
}

static void reuse_is_caught(void) {
    CHECK(rp_test_dies_with(reuse_then_double_free, SIGABRT));
    CHECK(rp_test_dies_with(double_free_within_the_window, SIGABRT));
    CHECK(rp_test_dies_with(guarded_reuse_then_double_free, SIGABRT));
    static const size_t sizes[] = {4097, 8192, 65536, 262144, 1024 * 1024, 3 * 1024 * 1024};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        large_size = sizes[i];
        fprintf(stderr, "    large: %zu bytes\n", large_size);
        CHECK(rp_test_dies_with(large_reuse_then_double_free, SIGABRT));
        /* the quarantine holds 8 freed large allocations within 1 MiB: the window covers 7 more */
        if (8 * large_size <= 1024 * 1024) CHECK(rp_test_dies_with(large_double_free_within_the_window, SIGABRT));
    }
}

/* The quarantine holds slots back but gives them up: trim returns them, so every arena goes
 * back, and a thread that frees many keeps reusing slots (the pool does not grow without end). */
static void quarantine_gives_slots_back(void) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.lock_policy = RP_POOL_LOCK_SILENT;
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&cfg, &pool) == RP_OK);
    for (int i = 0; i < 100000; i++) {
        void *p = rp_pool_alloc(pool, 16 + (size_t)(i % 7) * 48);
        REQUIRE(p != NULL);
        rp_pool_free(pool, p);
    }
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    CHECK(s.used == 0);
    CHECK(s.arenas <= 7); /* one per class touched, no growth from held-back slots */
    rp_pool_trim(pool);
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    CHECK(s.arenas == 0 && s.locked == 0 && s.unlocked == 0);
    rp_pool_destroy(pool);
}

int main(void) {
    RP_TEST(reuse_is_caught);
    RP_TEST(quarantine_gives_slots_back);
    return rp_test_exit();
}
