/* SPDX-License-Identifier: MIT */
/* test_os_windows.c — the Windows platform layer under wine (or Windows): allocation, reserve and
 * commit, protection, VirtualLock with the working-set quota raised on demand, ERROR_NOT_LOCKED,
 * guard pages, unsupported advice, and memory areas with QueryWorkingSetEx's locked bit. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <string.h>

#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

/* Wine implements VirtualLock with the host's mlock but does not emulate the working-set
 * bookkeeping: QueryWorkingSetEx never reports the Locked bit, SetProcessWorkingSetSize changes
 * nothing, and VirtualUnlock of unlocked pages succeeds. Those checks run on real Windows only. */
static bool under_wine(void) {
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

static rp_area_t area_of(const void *p) {
    rp_area_t a = {RP_SIZED(rp_area_t)};
    if (rp_area_of(p, &a) != RP_OK) fprintf(stderr, "    area_of(%p): %s\n", p, rp_last_error()->message);
    return a;
}

static void test_sizes(void) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    CHECK(rp__os_page_size() == si.dwPageSize);
    CHECK(rp__os_alloc_granularity() == si.dwAllocationGranularity);
    CHECK(rp__os_thp_mode() == RP__OS_THP_NONE);
}

static void test_reserve_commit(void) {
    size_t ps = rp__os_page_size();
    unsigned char *p;
    REQUIRE(rp__os_reserve(16 * ps, (void **)&p) == 0);
    CHECK(area_of(p).flags & RP_AREA_NOACCESS);
    CHECK(rp__os_commit(p + 4 * ps, 2 * ps) == 0);
    memset(p + 4 * ps, 0x11, 2 * ps);
    CHECK(area_of(p + 4 * ps).flags & RP_AREA_WRITE);
    CHECK(rp__os_decommit(p + 4 * ps, 2 * ps) == 0);
    CHECK(rp__os_commit(p + 4 * ps, 2 * ps) == 0);
    CHECK(p[4 * ps] == 0); /* decommit dropped the contents */
    CHECK(rp__os_release(p, 16 * ps) == 0);
}

static void test_protect_and_guard(void) {
    size_t ps = rp__os_page_size();
    unsigned char *p;
    REQUIRE(rp__os_alloc(3 * ps, (void **)&p) == 0);
    CHECK(rp__os_protect(p, ps, RP__OS_PROT_READ) == 0);
    rp_area_t a = area_of(p);
    CHECK((a.flags & RP_AREA_READ) && !(a.flags & RP_AREA_WRITE));
    CHECK(rp__os_protect(p, ps, (rp__os_prot_t)77) == ERROR_INVALID_PARAMETER);
    bool light = true;
    CHECK(rp__os_guard_install(p + ps, ps, &light) == 0 && !light);
    CHECK(area_of(p + ps).flags & RP_AREA_NOACCESS);
    CHECK(rp__os_guard_remove(p + ps, ps, light) == 0);
    p[ps] = 1;
    CHECK(rp__os_release(p, 3 * ps) == 0);
}

static void test_lock_raises_working_set(void) {
    size_t ps = rp__os_page_size(), soft0, hard0, soft1;
    REQUIRE(rp__os_lock_limit(&soft0, &hard0) == 0);
    /* More than the default minimum working set, so the first VirtualLock hits the quota. */
    size_t len = (soft0 / ps + 64) * ps;
    unsigned char *p;
    REQUIRE(rp__os_alloc(len, (void **)&p) == 0);
    memset(p, 1, len);
    CHECK(rp__os_lock(p, len) == 0);
    rp_area_t a = area_of(p);
    CHECK(a.resident == len);
    if (under_wine()) {
        fprintf(stderr, "    (wine: working-set lock bookkeeping is not emulated; Locked bit, quota growth and\n"
                        "     ERROR_NOT_LOCKED are checked on real Windows only)\n");
    } else {
        CHECK(a.flags & RP_AREA_LOCKED);
        CHECK(a.locked == len);
        REQUIRE(rp__os_lock_limit(&soft1, NULL) == 0);
        CHECK(soft1 >= len);
    }
    CHECK(rp__os_unlock(p, len) == 0);
    int err = rp__os_unlock(p, len);
    if (!under_wine()) CHECK(err != 0 && rp__os_is_not_locked(err)); /* ERROR_NOT_LOCKED, recognised */
    CHECK(rp__os_is_not_locked(ERROR_NOT_LOCKED));
    CHECK(rp__os_release(p, len) == 0);
    CHECK(rp__os_classify_lock(ERROR_WORKING_SET_QUOTA) == RP_ERR_LIMIT);
}

static void test_unsupported_is_reported(void) {
    size_t ps = rp__os_page_size();
    void *p;
    REQUIRE(rp__os_alloc(ps, &p) == 0);
    CHECK(rp__os_advise(p, ps, RP__OS_ADV_DONTDUMP) == rp__os_err_unsupported());
    CHECK(rp__os_advise(p, ps, RP__OS_ADV_WIPEONFORK) == rp__os_err_unsupported());
    CHECK(rp__os_lock_onfault(p, ps) == rp__os_err_unsupported());
    CHECK(rp__os_classify(rp__os_err_unsupported()) == RP_ERR_UNSUPPORTED);
    memset(p, 7, ps);
    CHECK(rp__os_advise(p, ps, RP__OS_ADV_FREE) == 0);
    CHECK(((unsigned char *)p)[0] == 0);
    void *s;
    CHECK(rp__os_secret_alloc(ps, &s) == rp__os_err_unsupported());
    CHECK(rp_pages_secret() == NULL && rp_last_error()->status == RP_ERR_UNSUPPORTED);
    CHECK(rp__os_release(p, ps) == 0);
    char buf[200];
    CHECK(strstr(rp__os_errstr(ERROR_NOT_SUPPORTED, buf, sizeof buf), "Windows error 50") != NULL);
}

static void test_os_pages_locked(void) {
    bool locked = false;
    void *p = rp_pages_allocate_locked(rp_pages_os(), 8 * rp_page_size(), &locked);
    REQUIRE(p != NULL);
    CHECK(locked);
    memset(p, 1, 8 * rp_page_size());
    if (!under_wine()) CHECK(area_of(p).flags & RP_AREA_LOCKED);
    CHECK(rp_pages_free_locked(rp_pages_os(), p, 8 * rp_page_size()) == RP_OK);
}

/* rp__os_wipe zeroes exactly the bytes asked for, with SecureZeroMemory. */
static void test_wipe(void) {
    unsigned char buf[64];
    memset(buf, 0xa5, sizeof buf);
    rp__os_wipe(buf + 1, sizeof buf - 2);
    size_t zero = 0;
    for (size_t i = 1; i < sizeof buf - 1; i++) zero += buf[i] == 0;
    CHECK(zero == sizeof buf - 2 && buf[0] == 0xa5 && buf[sizeof buf - 1] == 0xa5);
    CHECK(strcmp(rp__os_wipe_primitive(), "SecureZeroMemory") == 0);
}

int main(void) {
    RP_TEST(test_sizes);
    RP_TEST(test_reserve_commit);
    RP_TEST(test_protect_and_guard);
    RP_TEST(test_lock_raises_working_set);
    RP_TEST(test_unsupported_is_reported);
    RP_TEST(test_os_pages_locked);
    RP_TEST(test_wipe);
    return rp_test_exit();
}
