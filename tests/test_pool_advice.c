/* SPDX-License-Identifier: MIT */
/* test_pool_advice.c — an arena that the kernel refuses to keep out of core dumps is not used
 * (issue 11 item 5).
 *
 * madvise answers EINVAL both for an advice value it does not know and for a known advice it
 * refuses for a range. The os layer used to read every EINVAL as "unsupported", so a refused
 * MADV_DONTDUMP left the arena dumpable and in use, silently. Now it probes the advice once on
 * a private page of its own: only an advice that fails there too is "unsupported".
 *
 * This program replaces madvise (the library is linked statically, so its calls land here) and
 * forwards every call to the kernel, except MADV_DONTDUMP when told to fail it:
 *   - on ranges of more than one page (the arena; the os layer's probe uses one page), which is
 *     a refusal: the allocation must fail with the EINVAL, under every lock policy;
 *   - on every range, as a kernel that lacks the advice: the pool goes on (the gap is reported
 *     by `rampart doctor`, as before).
 * MADV_WIPEONFORK refused for the range (as memfd_secret's shared mapping does) must fall back
 * to MADV_DONTFORK, and the allocation works.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rampart.h"
#include "testhelper.h"

enum { PASS, FAIL_RANGE, FAIL_ALL };
static int dontdump_mode, wipeonfork_mode;
static int dontfork_calls;

int madvise(void *addr, size_t len, int advice) {
    long page = sysconf(_SC_PAGESIZE);
    int mode = advice == MADV_DONTDUMP ? dontdump_mode : advice == MADV_WIPEONFORK ? wipeonfork_mode : PASS;
    if (mode == FAIL_ALL || (mode == FAIL_RANGE && len > (size_t)page)) {
        errno = EINVAL;
        return -1;
    }
    if (advice == MADV_DONTFORK) dontfork_calls++;
    return (int)syscall(SYS_madvise, addr, len, advice);
}

static rp_pool_t *make_pool(const rp_page_allocator_t *pages) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.pages = pages;
    cfg.lock_policy = RP_POOL_LOCK_SILENT; /* locking is not what is tested here */
    rp_pool_t *pool = NULL;
    return rp_pool_create(&cfg, &pool) == RP_OK ? pool : NULL;
}

/* A refused MADV_DONTDUMP fails the allocation with the kernel's EINVAL, for a pool on pages
 * that are not advised by their source (plain) and on the OS source (which advises them too). */
static void dontdump_refused_fails_closed(void) {
    const rp_page_allocator_t *sources[] = {rp_pages_plain(), rp_pages_os()};
    for (size_t i = 0; i < 2; i++) {
        rp_pool_t *pool = make_pool(sources[i]);
        REQUIRE(pool != NULL);
        dontdump_mode = FAIL_RANGE;
        void *small = rp_pool_alloc(pool, 32);
        const rp_error_t *e = rp_last_error();
        fprintf(stderr, "    %s: alloc %s; error: %s\n", sources[i]->name, small ? "served" : "refused", e->message);
        CHECK(small == NULL);
        CHECK(e->os_error == EINVAL);
        void *large = rp_pool_alloc(pool, 100000);
        CHECK(large == NULL);
        dontdump_mode = PASS;
        rp_pool_stats_t st = {RP_SIZED(rp_pool_stats_t)};
        CHECK(rp_pool_stats(pool, &st) == RP_OK && st.arenas == 0);
        /* The same pool works once the kernel accepts the advice. */
        void *ok = rp_pool_alloc(pool, 32);
        CHECK(ok != NULL);
        rp_pool_free(pool, ok);
        rp_pool_destroy(pool);
    }
}

/* An advice the kernel does not know at all is "unsupported": the pool goes on. */
static void dontdump_unknown_goes_on(void) {
    rp_pool_t *pool = make_pool(rp_pages_plain());
    REQUIRE(pool != NULL);
    dontdump_mode = FAIL_ALL;
    void *p = rp_pool_alloc(pool, 32);
    dontdump_mode = PASS;
    CHECK(p != NULL);
    rp_pool_free(pool, p);
    rp_pool_destroy(pool);
}

/* MADV_WIPEONFORK refused for the range: the arena is kept out of fork children instead. */
static void wipeonfork_refused_uses_dontfork(void) {
    rp_pool_t *pool = make_pool(rp_pages_plain());
    REQUIRE(pool != NULL);
    wipeonfork_mode = FAIL_RANGE;
    dontfork_calls = 0;
    void *p = rp_pool_alloc(pool, 32);
    wipeonfork_mode = PASS;
    CHECK(p != NULL);
    CHECK(dontfork_calls >= 1);
    rp_pool_free(pool, p);
    rp_pool_destroy(pool);
}

/* Each case in a fork child of its own: the os layer caches its probe per process. */
static void in_child(void (*fn)(void), const char *name) {
    fprintf(stderr, "  %s ...\n", name);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        rp_test_case_failed = false;
        fn();
        _exit(rp_test_case_failed ? 1 : 0);
    }
    int status = 0;
    bool ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    CHECK(ok);
    fprintf(stderr, "  %s %s\n", name, ok ? "ok" : "FAILED");
}

int main(void) {
    in_child(dontdump_refused_fails_closed, "dontdump_refused_fails_closed");
    in_child(dontdump_unknown_goes_on, "dontdump_unknown_goes_on");
    in_child(wipeonfork_refused_uses_dontfork, "wipeonfork_refused_uses_dontfork");
    return rp_test_exit();
}
