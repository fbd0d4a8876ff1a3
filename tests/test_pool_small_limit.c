/* SPDX-License-Identifier: MIT */
/* test_pool_small_limit.c — every size class shares a small lock budget (issue 11 item 2).
 *
 * Docker's default memlock limit is 64 KiB. Each case runs in a fork child that lowers
 * RLIMIT_MEMLOCK (and, when run as root, first becomes user nobody, which drops CAP_IPC_LOCK:
 * with it the kernel ignores the limit), then uses a strict (RP_POOL_LOCK_REQUIRED) pool on the
 * OS page source, whose get_limit() reads that limit:
 *   - 64 KiB: one secret each of 16, 32, 64, 100, 256, 1000 and 4000 bytes at once (the old
 *     pool gave each class its own 72 KiB arena and refused the second class);
 *   - 64 KiB, guarded: as many one-page guarded secrets as fit (the old pool served none);
 *   - 256 KiB: hundreds of secrets of mixed sizes (16..1000 bytes).
 * In each, stats.locked equals what the kernel charges (VmLck) where /proc tells.
 * A child that cannot lower the limit, or still may lock without limit, skips (77).
 */
#include <errno.h>
#include <string.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

/* In the child: drop root (and with it CAP_IPC_LOCK) and lower the memlock limit. */
static void limit_to(size_t bytes) {
    struct rlimit rl = {bytes, bytes};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) {
        fprintf(stderr, "SKIPPED: cannot lower RLIMIT_MEMLOCK to %zu: %s\n", bytes, strerror(errno));
        _exit(77);
    }
    if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                           setresuid(65534, 65534, 65534) != 0)) {
        fprintf(stderr, "SKIPPED: cannot become user nobody to drop CAP_IPC_LOCK: %s\n", strerror(errno));
        _exit(77);
    }
    if (rp__os_can_lock_unlimited()) {
        fprintf(stderr, "SKIPPED: this process may lock without limit (CAP_IPC_LOCK)\n");
        _exit(77);
    }
    if (rp_pages_get_limit(rp_pages_os()) != bytes) {
        fprintf(stderr, "SKIPPED: the OS page source reports a limit of %zu, not %zu\n",
                rp_pages_get_limit(rp_pages_os()), bytes);
        _exit(77);
    }
}

/* stats.locked is what the kernel charges this process (the child locks nothing else). */
static void check_vmlck(rp_pool_t *pool) {
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    size_t vm = 0, resident = 0;
    if (rp__os_locked_bytes(0, &vm, &resident) == 0) {
        fprintf(stderr, "    stats.locked %zu, VmLck %zu, %zu regions/arenas\n", s.locked, vm, s.arenas);
        CHECK(vm == s.locked);
    } else {
        fprintf(stderr, "    stats.locked %zu (VmLck not readable here)\n", s.locked);
    }
    CHECK(s.unlocked == 0);
}

static rp_pool_t *strict_pool(unsigned flags) {
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = flags;
    c.lock_policy = RP_POOL_LOCK_REQUIRED;
    rp_pool_t *pool = NULL;
    return rp_pool_create(&c, &pool) == RP_OK ? pool : NULL;
}

static void every_class_under_64k(void) {
    limit_to(64 * 1024);
    rp_pool_t *pool = strict_pool(0);
    REQUIRE(pool != NULL);
    static const size_t sizes[] = {16, 32, 64, 100, 256, 1000, 4000};
    void *p[7];
    for (int i = 0; i < 7; i++) {
        p[i] = rp_pool_alloc(pool, sizes[i]);
        if (p[i] == NULL) fprintf(stderr, "    %zu bytes refused: %s\n", sizes[i], rp_last_error()->message);
        CHECK(p[i] != NULL);
    }
    check_vmlck(pool);
    for (int i = 0; i < 7; i++) rp_pool_free(pool, p[i]);
    rp_pool_destroy(pool);
}

static void guarded_under_64k(void) {
    limit_to(64 * 1024);
    rp_pool_t *pool = strict_pool(RP_POOL_GUARDED);
    REQUIRE(pool != NULL);
    enum { MAX = 64 };
    void *p[MAX];
    int n = 0;
    while (n < MAX && (p[n] = rp_pool_alloc(pool, 32)) != NULL) n++;
    fprintf(stderr, "    guarded strict pool under 64 KiB: %d one-page secrets, then: %s\n", n,
            rp_last_error()->message);
    /* 16 pages: a leading guard and 7 slots of a data page and its guard (docs/pool.md) */
    CHECK(n >= 7 && n < MAX);
    CHECK(rp_last_error()->status == RP_ERR_LIMIT);
    check_vmlck(pool);
    for (int i = 0; i < n; i++) rp_pool_free(pool, p[i]);
    rp_pool_destroy(pool);
}

static void mixed_under_256k(void) {
    limit_to(256 * 1024);
    rp_pool_t *pool = strict_pool(0);
    REQUIRE(pool != NULL);
    enum { MAX = 4000 };
    static void *p[MAX];
    int n = 0;
    uint32_t x = 12345;
    for (; n < MAX; n++) {
        x = x * 1103515245u + 12345u;
        size_t size = 16 + (x >> 8) % 985;
        if ((p[n] = rp_pool_alloc(pool, size)) == NULL) break;
    }
    fprintf(stderr, "    strict pool under 256 KiB: %d secrets of 16..1000 bytes\n", n);
    /* 305 with 4 KiB pages (docs/pool.md): each class used takes at least a page, and 3 regions
     * take 6 guard pages; the old pool served four classes and then nothing */
    CHECK(n >= 250);
    check_vmlck(pool);
    for (int i = 0; i < n; i++) rp_pool_free(pool, p[i]);
    rp_pool_destroy(pool);
}

/* Run fn in a child; 0 ok, 1 failed, 77 skipped. */
static int in_child(void (*fn)(void), const char *name) {
    fprintf(stderr, "  %s ...\n", name);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        rp_test_case_failed = false;
        fn();
        _exit(rp_test_case_failed ? 1 : 0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 1;
    int rc = WEXITSTATUS(status);
    fprintf(stderr, "  %s %s\n", name, rc == 0 ? "ok" : rc == 77 ? "skipped" : "FAILED");
    return rc == 0 || rc == 77 ? rc : 1;
}

int main(void) {
    int rc[3] = {in_child(every_class_under_64k, "every_class_under_64k"),
                 in_child(guarded_under_64k, "guarded_under_64k"), in_child(mixed_under_256k, "mixed_under_256k")};
    for (int i = 0; i < 3; i++)
        if (rc[i] == 1) return 1;
    for (int i = 0; i < 3; i++)
        if (rc[i] == 77) return 77; /* the reason is printed above */
    return 0;
}
