/* SPDX-License-Identifier: MIT */
/* test_pool_large_budget.c — the large cache under a lock budget (issue 11 items 2 and 3).
 *
 * A fork child runs with RLIMIT_MEMLOCK at 8 MiB as an ordinary user (as root it drops to user
 * nobody with setuid, which also drops CAP_IPC_LOCK; as an ordinary user it lowers its soft limit,
 * and skips (77) when the hard limit is below 8 MiB). For each lock policy:
 *
 *   - a freed 1.5 MiB mapping stays cached, locked (stats.locked unchanged), and the next 1.5 MiB
 *     allocation gets it back at another address (one turn further), with no new arena;
 *   - a 6.5 MiB allocation, which fits the budget only without the cached mapping, gets it:
 *     the cache is given back first, so it is locked under every policy (before, report and
 *     silent made it unlocked: stats.unlocked and lock_failures counted it, and report called
 *     back), and required serves it too;
 *   - the same when the pool's own budget has room but the process's limit does not (the test
 *     locks 2 MiB of its own): the page allocator cannot lock, the pool gives its cache back and
 *     tries once more.
 */
#include <grp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "rampart.h"
#include "testhelper.h"

#define LIMIT (8u << 20)
#define SMALLER (3u << 19) /* 1.5 MiB: a mapping of its own that fits the cache (LIMIT / 4) */
#define BIGGER (13u << 19) /* 6.5 MiB: fits the budget only once the cache is given back */

static int callbacks;
static void on_lock_failure(rp_pool_t *pool, size_t bytes, rp_status_t status, void *ctx) {
    (void)pool;
    (void)bytes;
    (void)status;
    (void)ctx;
    callbacks++;
}

static rp_pool_t *make_pool(rp_pool_lock_policy_t policy) {
    rp_pool_options_t c = rp_pool_options_default();
    c.lock_policy = policy;
    c.on_lock_failure = on_lock_failure;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&c, &pool) != RP_OK) fprintf(stderr, "    %s\n", rp_last_error()->message);
    return pool;
}

static rp_pool_stats_t stats_of(rp_pool_t *pool) {
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    return s;
}

static void cache_keeps_and_gives_back(void) {
    for (int policy = RP_POOL_LOCK_REQUIRED; policy <= RP_POOL_LOCK_SILENT; policy++) {
        callbacks = 0;
        rp_pool_t *pool = make_pool((rp_pool_lock_policy_t)policy);
        REQUIRE(pool != NULL);
        unsigned char *p = rp_pool_alloc(pool, SMALLER);
        REQUIRE(p != NULL);
        rp_pool_stats_t held = stats_of(pool);
        CHECK(held.unlocked == 0 && held.locked >= SMALLER);
        rp_pool_free(pool, p);
        rp_pool_stats_t cached = stats_of(pool);
        CHECK(cached.locked == held.locked && cached.arenas == held.arenas); /* kept, locked */
        CHECK(cached.used == 0);
        unsigned char *q = rp_pool_alloc(pool, SMALLER);
        REQUIRE(q != NULL);
        CHECK(q != p && (uintptr_t)q - (uintptr_t)p < rp_page_size()); /* the same mapping, one turn on */
        CHECK(stats_of(pool).arenas == held.arenas);
        rp_pool_free(pool, q);

        unsigned char *big = rp_pool_alloc(pool, BIGGER);
        REQUIRE(big != NULL);
        rp_pool_stats_t s = stats_of(pool);
        fprintf(stderr, "    policy %d: %zu bytes locked, %zu unlocked, %zu lock failures, %d callbacks\n", policy,
                s.locked, s.unlocked, s.lock_failures, callbacks);
        CHECK(s.unlocked == 0 && s.lock_failures == 0 && callbacks == 0);
        CHECK(s.locked >= BIGGER && s.locked <= LIMIT);
        rp_pool_free(pool, big);

        /* The process's limit is short, not the pool's budget: 2 MiB locked by the program. */
        p = rp_pool_alloc(pool, SMALLER);
        REQUIRE(p != NULL);
        rp_pool_free(pool, p); /* cached again */
        size_t own_len = 2u << 20;
        void *own = mmap(NULL, own_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(own != MAP_FAILED);
        REQUIRE(mlock(own, own_len) == 0); /* 1.5 MiB cached + 2 MiB: within the limit */
        size_t mid = (9u << 19); /* 4.5 MiB: 2 + 1.5 + 4.5 MiB and the pages around pass 8 MiB */
        unsigned char *m = rp_pool_alloc(pool, mid);
        REQUIRE(m != NULL);
        s = stats_of(pool);
        fprintf(stderr, "    policy %d, 2 MiB locked by the program: %zu bytes locked, %zu unlocked, %d callbacks\n",
                policy, s.locked, s.unlocked, callbacks);
        CHECK(s.unlocked == 0 && s.lock_failures == 0 && callbacks == 0);
        rp_pool_free(pool, m);
        munlock(own, own_len);
        munmap(own, own_len);
        rp_pool_destroy(pool);
    }
}

/* Lower the memlock limit to LIMIT and leave root behind; false (and why) when that cannot be. */
static bool drop_to_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return false;
    if (geteuid() == 0) {
        rl.rlim_cur = rl.rlim_max = LIMIT;
        if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0 || setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
            fprintf(stderr, "cannot drop to user nobody with a %u-byte memlock limit\n", LIMIT);
            return false;
        }
    } else {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < LIMIT) {
            fprintf(stderr, "the hard memlock limit (%llu bytes) is below %u\n", (unsigned long long)rl.rlim_max, LIMIT);
            return false;
        }
        rl.rlim_cur = LIMIT;
        if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) return false;
    }
    if (rp_pages_get_limit(rp_pages_os()) != LIMIT) {
        fprintf(stderr, "the page allocator's limit is not the memlock limit here (CAP_IPC_LOCK?)\n");
        return false;
    }
    return true;
}

int main(void) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!drop_to_limit()) _exit(77);
        RP_TEST(cache_keeps_and_gives_back);
        _exit(rp_test_exit());
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        fprintf(stderr, "the child did not exit (status 0x%x)\n", status);
        return 1;
    }
    if (WEXITSTATUS(status) == 77) rp_test_skip("the memlock limit cannot be set to 8 MiB for an ordinary user here");
    return WEXITSTATUS(status);
}
