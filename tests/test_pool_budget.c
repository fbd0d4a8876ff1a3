/* SPDX-License-Identifier: MIT */
/* test_pool_budget.c — the pool's lock budget is reserved atomically (issue 11 item 2/5).
 *
 * Threads that create arenas at the same moment must never together hold more than the page
 * allocator's get_limit(). The page allocator here delegates to rp_pages_plain() and says the
 * pages are locked (the pool then locks them itself, so the budget must fit the process's real
 * memlock limit: 48 KiB; below that the test skips), counts the bytes it has outstanding and their peak, and waits a little inside allocate_locked so that the
 * threads' arena creations overlap (the old code read the pool's locked bytes before mapping and
 * added to them after, so every racing thread saw the same room). The wait widens the window;
 * the check does not depend on it: with the reservation, the peak can never pass the limit.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "rampart.h"
#include "testhelper.h"

#define THREADS 8
#define ARENAS_IN_BUDGET 3
/* Over the largest large run (1 MiB, pool_internal.h): one mapping of its own per allocation,
 * its pages + a spare page (the slot's turn on reuse) + 2 guards, so each allocation creates an
 * arena. */
#define BIG (1024u * 1024u + 1u)

static _Atomic size_t outstanding, peak;
static size_t budget;

static void *counting_allocate(void *ctx, size_t len, bool *locked) {
    (void)ctx;
    size_t now = atomic_fetch_add(&outstanding, len) + len;
    size_t seen = atomic_load(&peak);
    while (now > seen && !atomic_compare_exchange_weak(&peak, &seen, now)) {
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    void *p = rp_pages_allocate_locked(rp_pages_plain(), len, NULL);
    if (p == NULL) atomic_fetch_sub(&outstanding, len);
    *locked = p != NULL; /* a fake lock: what is tested is the pool's arithmetic */
    return p;
}
static rp_status_t counting_free(void *ctx, void *addr, size_t len) {
    (void)ctx;
    rp_status_t st = rp_pages_free_locked(rp_pages_plain(), addr, len);
    if (st == RP_OK) atomic_fetch_sub(&outstanding, len);
    return st;
}
static size_t counting_limit(void *ctx) {
    (void)ctx;
    return budget;
}
static const rp_page_allocator_t counting = {RP_SIZED(rp_page_allocator_t), "counting", counting_allocate, counting_free, counting_limit, NULL};

static rp_pool_t *racing_pool;
static pthread_barrier_t start;
static void *got[THREADS];

static void *racer(void *arg) {
    size_t i = (size_t)(uintptr_t)arg;
    pthread_barrier_wait(&start);
    got[i] = rp_pool_alloc(racing_pool, BIG);
    return NULL;
}

/* THREADS threads each ask for one large allocation at once; the budget has room for three. */
static void threads_never_pass_the_limit(void) {
    size_t P = rp_page_size();
    budget = ARENAS_IN_BUDGET * (rp_page_round(BIG) + 3 * P); /* slot, spare page, two guards */
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.pages = &counting;
    cfg.lock_policy = RP_POOL_LOCK_REQUIRED;
    REQUIRE(rp_pool_create(&cfg, &racing_pool) == RP_OK);
    pthread_t t[THREADS];
    REQUIRE(pthread_barrier_init(&start, NULL, THREADS) == 0);
    for (size_t i = 0; i < THREADS; i++) REQUIRE(pthread_create(&t[i], NULL, racer, (void *)(uintptr_t)i) == 0);
    for (size_t i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    size_t served = 0;
    for (size_t i = 0; i < THREADS; i++) served += got[i] != NULL;
    fprintf(stderr, "    budget %zu bytes, peak mapped %zu bytes, %zu of %d served\n", budget, atomic_load(&peak),
            served, THREADS);
    CHECK(atomic_load(&peak) <= budget);
    CHECK(served == ARENAS_IN_BUDGET);
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(racing_pool, &s) == RP_OK);
    CHECK(s.locked <= budget);
    for (size_t i = 0; i < THREADS; i++) rp_pool_free(racing_pool, got[i]);
    rp_pool_destroy(racing_pool);
    CHECK(atomic_load(&outstanding) == 0);
}

/* The reservation of a failed or released arena goes back: after freeing, the budget serves
 * the same number again. */
static void budget_comes_back(void) {
    size_t P = rp_page_size();
    budget = 2 * (rp_page_round(BIG) + 3 * P);
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.pages = &counting;
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&cfg, &pool) == RP_OK);
    for (int round = 0; round < 3; round++) {
        void *a = rp_pool_alloc(pool, BIG), *b = rp_pool_alloc(pool, BIG), *c = rp_pool_alloc(pool, BIG);
        CHECK(a != NULL && b != NULL);
        CHECK(c == NULL && rp_last_error()->status == RP_ERR_LIMIT);
        rp_pool_free(pool, a);
        rp_pool_free(pool, b);
    }
    rp_pool_destroy(pool);
    CHECK(atomic_load(&outstanding) == 0);
}

int main(void) {
    size_t need = ARENAS_IN_BUDGET * (rp_page_round(BIG) + 3 * rp_page_size());
    if (rp_pages_get_limit(rp_pages_os()) < need) {
        fprintf(stderr, "the memlock limit is below the %zu bytes the pool will lock here\n", need);
        rp_test_skip("memlock limit too small for three arenas");
    }
    RP_TEST(threads_never_pass_the_limit);
    RP_TEST(budget_comes_back);
    return rp_test_exit();
}
