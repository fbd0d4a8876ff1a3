/* SPDX-License-Identifier: MIT */
/* test_pool_windows.c — the secure pool on Windows (run under wine in CI): allocation of every
 * size, wipe on free, locked arenas (VirtualLock) with PAGE_NOACCESS guards around them, the
 * guarded mode's per-allocation guard, stats back to zero, threads with cross-thread frees, and
 * a thread's cache going back to the pool when the thread exits (fiber-local storage callback).
 * Windows has no core-dump exclusion or fork wipe; the pool reports those as platform gaps.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

static size_t count_nonzero(const void *p, size_t n) {
    const volatile unsigned char *b = p;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += b[i] != 0;
    return c;
}

static void test_sizes_and_wipe(void) {
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK);
    static const size_t sizes[] = {1, 16, 32, 100, 256, 1000, 4096, 5000, 70000};
    void *p[sizeof sizes / sizeof sizes[0]];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = rp_pool_alloc(pool, sizes[i]);
        REQUIRE(p[i] != NULL);
        CHECK((uintptr_t)p[i] % RP_POOL_ALIGNMENT == 0);
        CHECK(count_nonzero(p[i], sizes[i]) == 0);
        CHECK(rp_pool_owns(pool, p[i]) && rp_pool_usable_size(pool, p[i]) >= sizes[i]);
        memset(p[i], 0x6B, sizes[i]);
    }
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    CHECK(s.chunks_used == sizeof sizes / sizeof sizes[0] && s.locked > 0 && s.unlocked == 0);
    CHECK(s.guard_pages >= 2 && !s.guards_lightweight);
    rp_pool_free(pool, p[1]);
    CHECK(count_nonzero(p[1], 16) == 0); /* wiped, still mapped */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (i != 1) rp_pool_free(pool, p[i]);
    CHECK(rp_pool_alloc(pool, 0) == NULL && rp_last_error()->status == RP_ERR_INVALID);
    rp_pool_trim(pool);
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    CHECK(s.arenas == 0 && s.locked == 0 && s.used == 0);
    rp_pool_destroy(pool);
}

/* The guard after a guarded allocation is PAGE_NOACCESS. */
static void test_guarded(void) {
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = RP_POOL_GUARDED | RP_POOL_CANARY;
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&c, &pool) == RP_OK);
    unsigned char *p = rp_pool_alloc(pool, 48);
    REQUIRE(p != NULL);
    CHECK(((uintptr_t)p + 48) % rp_page_size() == 0);
    MEMORY_BASIC_INFORMATION mbi;
    REQUIRE(VirtualQuery(p + 48, &mbi, sizeof mbi) == sizeof mbi);
    CHECK(mbi.Protect == PAGE_NOACCESS);
    REQUIRE(VirtualQuery(p, &mbi, sizeof mbi) == sizeof mbi);
    CHECK(mbi.Protect == PAGE_READWRITE);
    rp_pool_free(pool, p);
    rp_pool_destroy(pool);
}

static rp_pool_t *shared;
static void *volatile handoff[8];

static DWORD WINAPI worker(LPVOID arg) {
    int id = (int)(intptr_t)arg;
    for (int round = 0; round < 2000; round++) {
        unsigned char *p = rp_pool_alloc(shared, 16 + (size_t)(round % 200));
        if (!p) return 1;
        memset(p, id, 16);
        /* leave some for the other thread to free */
        void *old = InterlockedExchangePointer((PVOID volatile *)&handoff[round % 8], p);
        if (old) rp_pool_free(shared, old);
    }
    return 0;
}

static void test_threads(void) {
    REQUIRE(rp_pool_create(NULL, &shared) == RP_OK);
    HANDLE t[2];
    for (int i = 0; i < 2; i++) t[i] = CreateThread(NULL, 0, worker, (LPVOID)(intptr_t)(i + 1), 0, NULL);
    WaitForMultipleObjects(2, t, TRUE, INFINITE);
    for (int i = 0; i < 2; i++) {
        DWORD rc = 1;
        GetExitCodeThread(t[i], &rc);
        CHECK(rc == 0);
        CloseHandle(t[i]);
    }
    for (int i = 0; i < 8; i++) rp_pool_free(shared, handoff[i]);
    /* the workers' caches went back at thread exit; trim gives back ours and the spares */
    rp_pool_trim(shared);
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(shared, &s) == RP_OK);
    CHECK(s.used == 0 && s.arenas == 0 && s.locked == 0);
    rp_pool_destroy(shared);
}

/* Free-like calls leave the thread's last error alone (errno's counterpart here), on the fast
 * path (a thread-local cache lookup), when an arena goes back, and in trim and destroy. */
static void test_last_error_kept(void) {
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK);
    void *small = rp_pool_alloc(pool, 32), *large = rp_pool_alloc(pool, 70000);
    REQUIRE(small != NULL && large != NULL);
    SetLastError(1234);
    rp_pool_free(pool, small);
    CHECK(GetLastError() == 1234);
    rp_pool_free(pool, large);
    CHECK(GetLastError() == 1234);
    rp_pool_trim(pool);
    CHECK(GetLastError() == 1234);
    rp_pool_destroy(pool);
    CHECK(GetLastError() == 1234);
}

static void test_default_pool(void) {
    void *p = rp_secret_alloc(32);
    REQUIRE(p != NULL);
    CHECK(rp_pool_owns(rp_secret_pool(), p));
    rp_secret_free(p);
}

int main(void) {
    RP_TEST(test_sizes_and_wipe);
    RP_TEST(test_guarded);
    RP_TEST(test_threads);
    RP_TEST(test_default_pool);
    RP_TEST(test_last_error_kept);
    return rp_test_exit();
}
