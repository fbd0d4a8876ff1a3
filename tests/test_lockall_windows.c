/* SPDX-License-Identifier: MIT */
/* test_lockall_windows.c — process-wide locking on Windows (run under wine in CI): current memory
 * is locked region by region (every committed private region, after raising the working set);
 * future and on-fault locking are reported unsupported: refused when required, with the current
 * part still done under best effort; invalid configurations, the preflight, the query, unlock.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

static bool under_wine(void) {
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* Committed private bytes that VirtualLock accepts, counted the way the library must. */
static size_t committed_private(void) {
    MEMORY_BASIC_INFORMATION mbi;
    size_t total = 0;
    for (uintptr_t at = 0; VirtualQuery((void *)at, &mbi, sizeof mbi) == sizeof mbi;) {
        uintptr_t next = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
        if (mbi.State == MEM_COMMIT && mbi.Type == MEM_PRIVATE && !(mbi.Protect & (PAGE_GUARD | PAGE_NOACCESS)))
            total += mbi.RegionSize;
        if (next <= at) break;
        at = next;
    }
    return total;
}

static void test_supported_flags(void) {
    CHECK(rp__os_lockall_supported() == RP__OS_LOCKALL_CURRENT);
}

static void test_lock_current(void) {
    /* A fresh region, so there is a known committed private range to find locked. */
    void *p = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(p != NULL);
    memset(p, 7, 1 << 20);
    size_t expect = committed_private();
    rp_lockall_options_t cfg = {RP_SIZED(rp_lockall_options_t), .current = true, .required = true};
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    REQUIRE(rp_lockall(&cfg, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_LOCKED && st.current_locked && !st.future_locked);
    CHECK(st.locked_bytes >= (1u << 20));
    /* Locked what was committed (give or take what the call itself committed meanwhile). */
    CHECK(st.locked_bytes + (1u << 20) >= expect && st.locked_bytes <= expect + (1u << 20));
    CHECK(st.unlimited && !st.low_headroom);
    CHECK(rp_lockall_is_locked());
    char line[RP_LOCKALL_LINE_MAX];
    CHECK(strncmp(rp_lockall_status_format(&st, line, sizeof line), "locked: current, ", 17) == 0);
    fprintf(stderr, "    %s\n", line);
    if (!under_wine()) {
        rp_area_t a = {RP_SIZED(rp_area_t)};
        CHECK(rp_area_of(p, &a) == RP_OK && (a.flags & RP_AREA_LOCKED));
    }
    CHECK(rp_unlockall() == RP_OK);
    CHECK(!rp_lockall_is_locked());
    if (!under_wine()) {
        rp_area_t a = {RP_SIZED(rp_area_t)};
        CHECK(rp_area_of(p, &a) == RP_OK && !(a.flags & RP_AREA_LOCKED));
    }
    VirtualFree(p, 0, MEM_RELEASE);
}

static void test_future_unsupported(void) {
    /* Required: refused, nothing locked. */
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    CHECK(rp_lockall(NULL, &st) == RP_ERR_UNSUPPORTED);
    CHECK(st.state == RP_LOCKALL_UNSUPPORTED && !st.current_locked && !st.future_locked);
    CHECK(strstr(st.message, "future locking is not supported") != NULL);
    CHECK(strstr(st.message, "nothing was locked") != NULL);
    CHECK(!rp_lockall_is_locked());
    rp_lockall_options_t onfault = {RP_SIZED(rp_lockall_options_t), .current = true, .onfault = true, .required = true};
    CHECK(rp_lockall(&onfault, &st) == RP_ERR_UNSUPPORTED);
    CHECK(strstr(st.message, "onfault locking is not supported") != NULL);

    /* Best effort: the current part is done, and the status says what was not. */
    rp_lockall_options_t best = {RP_SIZED(rp_lockall_options_t), .current = true, .future = true, .required = false};
    CHECK(rp_lockall(&best, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_UNSUPPORTED && st.current_locked && !st.future_locked && st.locked_bytes > 0);
    char line[RP_LOCKALL_LINE_MAX];
    CHECK(strstr(rp_lockall_status_format(&st, line, sizeof line), "current memory was locked") != NULL);
    fprintf(stderr, "    %s\n", line);
    CHECK(rp_unlockall() == RP_OK);
    /* Best effort with nothing the platform can do: unsupported, RP_OK, nothing locked. */
    rp_lockall_options_t future_only = {RP_SIZED(rp_lockall_options_t), .future = true, .required = false};
    CHECK(rp_lockall(&future_only, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_UNSUPPORTED && !st.current_locked);
    CHECK(!rp_lockall_is_locked());
}

static void test_invalid_and_parse(void) {
    rp_lockall_options_t bad = {RP_SIZED(rp_lockall_options_t), .onfault = true};
    CHECK(rp_lockall(&bad, NULL) == RP_ERR_INVALID);
    rp_lockall_options_t c = rp_lockall_options_default();
    CHECK(rp_lockall_options_parse("current,best-effort", &c) == RP_OK && c.current && !c.future && !c.required);
    CHECK(rp_lockall_options_parse("forever", &c) == RP_ERR_INVALID);
}

static void test_preflight_and_query(void) {
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    rp_lockall_options_t cur = {RP_SIZED(rp_lockall_options_t), .current = true, .required = true};
    CHECK(rp_lockall_preflight(0, &cur, 0, &pf) == RP_OK && pf.unlimited);
    CHECK(strstr(pf.reason, "raised on demand") != NULL);
    CHECK(rp_lockall_preflight(0, NULL, 0, &pf) == RP_ERR_UNSUPPORTED); /* default asks for future */
    CHECK(rp_lockall_preflight(0, NULL, 1 << 20, &pf) == RP_OK);
    rp_lockall_process_t p = {RP_SIZED(rp_lockall_process_t)};
    REQUIRE(rp_lockall_query(0, &p) == RP_OK);
    CHECK(p.pid == (int)GetCurrentProcessId());
    CHECK(strstr(p.name, "test_lockall_windows") != NULL);
    CHECK(p.mapped_bytes > 0 && p.mapped_bytes != SIZE_MAX && p.resident_bytes > 0);
    CHECK(p.can_lock_more && p.lockable_bytes == SIZE_MAX);
    CHECK(rp_lockall_query(-1, &p) == RP_ERR_INVALID);
}

int main(void) {
    RP_TEST(test_supported_flags);
    RP_TEST(test_lock_current);
    RP_TEST(test_future_unsupported);
    RP_TEST(test_invalid_and_parse);
    RP_TEST(test_preflight_and_query);
    return rp_test_exit();
}
