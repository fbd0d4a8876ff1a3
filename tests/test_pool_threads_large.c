/* SPDX-License-Identifier: MIT */
/* test_pool_threads_large.c — large and guarded allocations from many threads at once (issue 11
 * item 4): they go through the calling thread's shard lock, runs of shared regions and the
 * per-shard quarantine, with frees from other threads. Run under ThreadSanitizer in CI
 * (`make test-tsan`); here it checks that no allocation is handed out twice (each thread writes
 * its own pattern and reads it back before the free) and that everything goes back.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "rampart.h"
#include "testhelper.h"

#define THREADS 4
#define ROUNDS 400
#define SLOTS 64

static rp_pool_t *pool;
/* Handed between threads and freed by whoever takes it; each allocation carries its size in its
 * first bytes and a fill byte after them. */
static _Atomic(unsigned char *) shared[SLOTS];
static _Atomic int bad;

static size_t pick(uint32_t *x) {
    static const size_t sizes[] = {48, 5000, 8192, 70000, 300000, 1024 * 1024, 1536 * 1024};
    *x = *x * 1103515245u + 12345u;
    return sizes[(*x >> 8) % (sizeof sizes / sizeof sizes[0])];
}

static bool intact(const unsigned char *p, size_t n, unsigned char v) {
    size_t had;
    memcpy(&had, p, sizeof had);
    return had == n && p[sizeof had] == v && p[n / 2] == v && p[n - 1] == v;
}

static void *worker(void *arg) {
    uint32_t x = (uint32_t)(uintptr_t)arg * 7919u + 1u;
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = pick(&x);
        unsigned char v = (unsigned char)(1 + (x >> 3) % 250);
        unsigned char *p = rp_pool_alloc(pool, n);
        if (p == NULL) {
            atomic_fetch_add(&bad, 1);
            continue;
        }
        memset(p, v, n);
        memcpy(p, &n, sizeof n);
        /* swap it into a shared slot; free what was there (another thread's, most often) */
        size_t i = (x >> 12) % SLOTS;
        unsigned char *old = atomic_exchange(&shared[i], NULL);
        if (old != NULL) {
            size_t on;
            memcpy(&on, old, sizeof on);
            if (on < 48 || on > 1536 * 1024 || old[sizeof on] == 0 || !intact(old, on, old[sizeof on]))
                atomic_fetch_add(&bad, 1);
            else rp_pool_free(pool, old);
        }
        if (!intact(p, n, v)) atomic_fetch_add(&bad, 1);
        unsigned char *expected = NULL;
        if (!atomic_compare_exchange_strong(&shared[i], &expected, p)) rp_pool_free(pool, p);
    }
    return NULL;
}

static void run_mode(unsigned flags) {
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = flags;
    c.lock_policy = RP_POOL_LOCK_SILENT; /* many MiB live at once: not a lock-budget test */
    REQUIRE(rp_pool_create(&c, &pool) == RP_OK);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++) REQUIRE(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < SLOTS; i++) {
        unsigned char *p = atomic_exchange(&shared[i], NULL);
        if (p != NULL) rp_pool_free(pool, p);
    }
    CHECK(atomic_load(&bad) == 0);
    rp_pool_trim(pool);
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    CHECK(s.used == 0 && s.chunks_used == 0 && s.arenas == 0 && s.locked == 0 && s.unlocked == 0);
    rp_pool_destroy(pool);
}

static void large_threads(void) { run_mode(RP_POOL_CANARY); }
static void guarded_threads(void) { run_mode(RP_POOL_GUARDED | RP_POOL_CANARY); }

int main(void) {
    RP_TEST(large_threads);
    RP_TEST(guarded_threads);
    return rp_test_exit();
}
