/* SPDX-License-Identifier: MIT */
/* test_pool.c — the secure pool (issue 5), on POSIX.
 *
 * Sections, in the order main runs them:
 *   api         sizes, alignment, zalloc/realloc/sized free/usable size/owns, bad input, errno
 *   layout      the drawing in rampart/pool.h, checked against real addresses and faults
 *   fake pages  Bitcoin-style tests on a fake page allocator: growth, locked counts, failure
 *               after N arenas, the lock budget clamp, the three lock policies, a long random
 *               alloc/free sequence ending with free == total and no arena left
 *   metadata    the arena pages hold nothing but user bytes and zeros; no malloc on the path
 *   threads     stress with cross-thread frees; thread exit returns a thread's cache
 *   death       double free, foreign free, interior free, other pool, wrong sized free, canary
 *               damage, guarded overflow and underflow, arena guard (fork per case)
 *   security    core dump without the secrets (a control secret in ordinary memory is found),
 *               fork child reads zeros, freed bytes read zero, advice flags, max_map_count
 *   unprivileged  (its own CTest entry) each lock policy as user nobody with a tiny memlock limit
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "core/annotate.h"
#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

static size_t page;

/* ---- helpers -------------------------------------------------------------------------------------- */

/* Reads pool memory whatever its state (free slots, canaries, arena pages): the test looks at
 * what the pool left there, so under ASan it unpoisons the range first (core/annotate.h). */
static size_t count_nonzero(const void *p, size_t n) {
    rp__asan_unpoison(p, n);
    const volatile unsigned char *b = p;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += b[i] != 0;
    return c;
}

/* A deterministic generator (xorshift64*), for random sequences and for the core-dump markers. */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static rp_pool_stats_t stats_of(rp_pool_t *pool) {
    rp_pool_stats_t s;
    memset(&s, 0xff, sizeof s); /* every field the call leaves out would show */
    s.struct_size = sizeof s;
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    return s;
}

/* Reset SIGSEGV to the default action with the raw system call, past any sanitizer's
 * interceptor: a fault then kills the child with SIGSEGV, which the parent can see. */
static void segv_default(void) {
#if defined(__linux__)
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } ksa = {0};
    ksa.handler = (void *)SIG_DFL;
    syscall(SYS_rt_sigaction, SIGSEGV, &ksa, NULL, sizeof ksa.mask);
    syscall(SYS_rt_sigaction, SIGBUS, &ksa, NULL, sizeof ksa.mask);
#endif
}

/* Run fn in a fork child; true when it was killed by sig itself (never "exited non-zero"). */
static bool dies_of(void (*fn)(void), int sig) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 2);
        segv_default();
        fn();
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return false;
    return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* A write into a canary: the free aborts (the corruption handler). Under ASan the canary is
 * poisoned (core/annotate.h), so ASan reports the write itself and exits non-zero first, except
 * where the canary shares an 8-byte ASan granule with the allocation (a guarded slot whose size
 * is not a multiple of 8): then the free still aborts. */
static bool dies_of_canary(void (*fn)(void)) {
#if defined(RP__ASAN)
    int status = rp_test_run_child(fn);
    if (status == -1) return false;
    return (WIFEXITED(status) && WEXITSTATUS(status) != 0) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#else
    return dies_of(fn, SIGABRT);
#endif
}

/* ---- a fake page allocator, as Bitcoin's LockedPool tests use ---------------------------------------- */

enum { FAKE_MAX = 512 };
typedef struct fake {
    int fail_after;       /* allocations after this many fail (-1: never) */
    bool dirty;           /* hand out pages full of old bytes (the contract does not say zero) */
    int lock_ok;          /* the first lock_ok allocations report locked (-1: all) */
    size_t limit;         /* get_limit */
    int allocations, live;
    size_t locked_live;   /* bytes reported locked and not yet freed */
    size_t nonzero_at_free; /* bytes that were not zero when the pool gave pages back */
    struct {
        void *p;
        size_t len;
        bool locked;
    } r[FAKE_MAX];
} fake_t;

static void *fake_allocate(void *ctx, size_t len, bool *locked) {
    fake_t *f = ctx;
    if (f->fail_after >= 0 && f->allocations >= f->fail_after) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    *locked = f->lock_ok < 0 || f->allocations < f->lock_ok;
    f->allocations++;
    if (f->dirty) memset(p, 0xAB, len);
    for (int i = 0; i < FAKE_MAX; i++) {
        if (f->r[i].p == NULL) {
            f->r[i].p = p;
            f->r[i].len = len;
            f->r[i].locked = *locked;
            f->live++;
            if (*locked) f->locked_live += len;
            return p;
        }
    }
    munmap(p, len);
    errno = ENOMEM;
    return NULL;
}

static rp_status_t fake_free(void *ctx, void *addr, size_t len) {
    fake_t *f = ctx;
    for (int i = 0; i < FAKE_MAX; i++) {
        if (f->r[i].p == addr && f->r[i].len == len) {
            f->nonzero_at_free += count_nonzero(addr, len);
            rp_memzero(addr, len);
            munmap(addr, len);
            f->r[i].p = NULL;
            f->live--;
            if (f->r[i].locked) f->locked_live -= len;
            return RP_OK;
        }
    }
    return RP_ERR_NOT_OWNED;
}

static size_t fake_limit(void *ctx) { return ((fake_t *)ctx)->limit; }

static fake_t fake;
static rp_page_allocator_t fake_pages = {RP_SIZED(rp_page_allocator_t), "fake", fake_allocate, fake_free, fake_limit, &fake};

static void fake_reset(int fail_after, int lock_ok, size_t limit) {
    memset(&fake, 0, sizeof fake);
    fake.fail_after = fail_after;
    fake.lock_ok = lock_ok;
    fake.limit = limit;
}

static rp_pool_t *fake_pool(unsigned flags, rp_pool_lock_policy_t policy, size_t arena_size) {
    rp_pool_options_t c = rp_pool_options_default();
    c.pages = &fake_pages;
    c.flags = flags;
    c.lock_policy = policy;
    c.arena_size = arena_size;
    rp_pool_t *pool = NULL;
    return rp_pool_create(&c, &pool) == RP_OK ? pool : NULL;
}

/* ---- api ------------------------------------------------------------------------------------------- */

static void test_api_sizes(void) {
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK);
    static const size_t sizes[] = {1, 8, 15, 16, 17, 31, 32, 33, 100, 128, 129, 255, 256, 1000, 4095, 4096, 4097, 10000, 100000};
    void *p[sizeof sizes / sizeof sizes[0]];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = rp_pool_alloc(pool, sizes[i]);
        REQUIRE(p[i] != NULL);
        CHECK((uintptr_t)p[i] % RP_POOL_ALIGNMENT == 0);
        CHECK(count_nonzero(p[i], sizes[i]) == 0);
        CHECK(rp_pool_usable_size(pool, p[i]) >= sizes[i]);
        CHECK(rp_pool_owns(pool, p[i]));
        CHECK(rp_pool_owns(pool, (char *)p[i] + sizes[i] - 1));
        memset(p[i], 0xA5, rp_pool_usable_size(pool, p[i]));
    }
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.chunks_used == sizeof sizes / sizeof sizes[0]);
    CHECK(s.used + s.free == s.total);
    CHECK(s.locked > 0 && s.unlocked == 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++)
            if (i != j) CHECK((char *)p[i] + sizes[i] <= (char *)p[j] || (char *)p[j] + sizes[j] <= (char *)p[i]);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (i % 2) rp_pool_free_sized(pool, p[i], sizes[i]);
        else rp_pool_free(pool, p[i]);
    }
    rp_pool_trim(pool);
    s = stats_of(pool);
    CHECK(s.chunks_used == 0 && s.used == 0 && s.arenas == 0 && s.locked == 0 && s.total == 0);
    rp_pool_destroy(pool);
}

static void test_api_bad_input(void) {
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK);
    CHECK(rp_pool_alloc(pool, 0) == NULL && rp_last_error()->status == RP_ERR_INVALID);
    CHECK(rp_pool_alloc(pool, SIZE_MAX) == NULL && rp_last_error()->status == RP_ERR_NOMEM);
    /* Half the address space: with CAP_IPC_LOCK (root) the mapping itself fails (NOMEM); an
     * ordinary user under a finite RLIMIT_MEMLOCK is refused first by the lock budget (LIMIT).
     * Either is a clean refusal; anything else, or a pointer, is a bug. */
    CHECK(rp_pool_alloc(pool, SIZE_MAX / 2) == NULL &&
          (rp_last_error()->status == RP_ERR_NOMEM || rp_last_error()->status == RP_ERR_LIMIT));
    CHECK(rp_pool_zalloc(pool, SIZE_MAX / 2, 3) == NULL &&
          (rp_last_error()->status == RP_ERR_NOMEM || rp_last_error()->status == RP_ERR_LIMIT));
    CHECK(rp_pool_alloc(NULL, 16) == NULL && rp_last_error()->status == RP_ERR_INVALID);
    int x;
    CHECK(!rp_pool_owns(pool, &x) && !rp_pool_owns(pool, NULL) && !rp_pool_owns(NULL, &x));
    CHECK(rp_pool_usable_size(pool, &x) == 0 && rp_last_error()->status == RP_ERR_NOT_OWNED);
    CHECK(rp_pool_stats(NULL, NULL) == RP_ERR_INVALID);
    rp_pool_free(pool, NULL);
    rp_pool_free_sized(pool, NULL, 5);

    /* the constructor convention: a status, the object through out, out NULL on failure */
    rp_pool_options_t c = rp_pool_options_default();
    CHECK(rp_pool_create(&c, NULL) == RP_ERR_INVALID && strstr(rp_last_error()->message, "out is NULL") != NULL);
    c.flags = 1u << 7;
    rp_pool_t *failed = (rp_pool_t *)&x; /* not NULL: the failure must clear it */
    CHECK(rp_pool_create(&c, &failed) == RP_ERR_INVALID && failed == NULL && rp_last_error()->status == RP_ERR_INVALID);
    c = rp_pool_options_default();
    c.lock_policy = (rp_pool_lock_policy_t)9;
    CHECK(rp_pool_create(&c, &(rp_pool_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    c = rp_pool_options_default();
    c.arena_size = (size_t)1 << 30;
    CHECK(rp_pool_create(&c, &(rp_pool_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    /* the growing-struct rule (rampart/common.h): zero, too small and garbage sizes are refused;
     * an older caller's smaller struct works; a newer caller's unknown field must be zero */
    c = rp_pool_options_default();
    CHECK(c.struct_size == sizeof(rp_pool_options_t) && c.arena_size == RP_POOL_ARENA_SIZE);
    c.struct_size = 0;
    CHECK(rp_pool_create(&c, &(rp_pool_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "struct_size 0") != NULL);
    c.struct_size = offsetof(rp_pool_options_t, ctx);
    CHECK(rp_pool_create(&c, &(rp_pool_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    c.struct_size = (size_t)0x7f7f7f7f7f7f;
    CHECK(rp_pool_create(&c, &(rp_pool_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    c.struct_size = offsetof(rp_pool_options_t, ctx) + sizeof(void *);
    rp_pool_t *old = NULL;
    CHECK(rp_pool_create(&c, &old) == RP_OK);
    rp_pool_destroy(old);
    struct { rp_pool_options_t v; uint64_t future; } newer = {rp_pool_options_default(), 0};
    newer.v.struct_size = sizeof newer;
    rp_pool_t *fresh = NULL;
    CHECK(rp_pool_create(&newer.v, &fresh) == RP_OK);
    rp_pool_destroy(fresh);
    newer.future = 3;
    CHECK(rp_pool_create(&newer.v, &(rp_pool_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "cannot honour") != NULL);
    rp_pool_destroy(NULL);

    /* free and trim leave errno alone, on the fast path and when an arena is released */
    void *p = rp_pool_alloc(pool, 40000);
    void *q = rp_pool_alloc(pool, 24);
    REQUIRE(p != NULL && q != NULL);
    errno = 1234;
    rp_pool_free(pool, p);
    rp_pool_free(pool, q);
    rp_pool_trim(pool);
    CHECK(errno == 1234);
    rp_pool_destroy(pool);
    CHECK(errno == 1234);
}

static void test_api_zalloc_realloc(void) {
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK);
    /* a slot that held data comes back zeroed */
    unsigned char *a = rp_pool_alloc(pool, 48);
    REQUIRE(a != NULL);
    memset(a, 0x77, 48);
    void *others[RP_POOL_QUARANTINE];
    for (int i = 0; i < RP_POOL_QUARANTINE; i++) REQUIRE((others[i] = rp_pool_alloc(pool, 48)) != NULL);
    rp_pool_free(pool, a);
    /* RP_POOL_QUARANTINE later frees push a out of the quarantine onto its bin */
    for (int i = 0; i < RP_POOL_QUARANTINE; i++) rp_pool_free(pool, others[i]);
    unsigned char *z = rp_pool_zalloc(pool, 6, 8);
    REQUIRE(z != NULL);
    CHECK(z == a); /* the same slot, from the thread cache */
    CHECK(count_nonzero(z, 48) == 0);

    for (int i = 0; i < 48; i++) z[i] = (unsigned char)i;
    unsigned char *r = rp_pool_realloc(pool, z, 3000);
    REQUIRE(r != NULL);
    for (int i = 0; i < 48; i++) CHECK(r[i] == i);
    r = rp_pool_realloc(pool, r, 20000); /* small -> large */
    REQUIRE(r != NULL);
    for (int i = 0; i < 48; i++) CHECK(r[i] == i);
    unsigned char *s = rp_pool_realloc(pool, r, 10); /* large -> small */
    REQUIRE(s != NULL);
    for (int i = 0; i < 10; i++) CHECK(s[i] == i);
    CHECK(rp_pool_realloc(pool, s, 0) == NULL);
    void *n = rp_pool_realloc(pool, NULL, 64);
    CHECK(n != NULL);
    CHECK(rp_pool_realloc(pool, n, SIZE_MAX / 2) == NULL); /* failure keeps n */
    CHECK(rp_pool_usable_size(pool, n) >= 64);
    rp_pool_free(pool, n);
    CHECK(rp_pool_usable_size(pool, n) == 0 && rp_last_error()->status == RP_ERR_NOT_OWNED); /* freed */
    CHECK(rp_pool_owns(pool, n)); /* but still inside the pool's arena */
    rp_pool_destroy(pool);
}

/* A realloc that stays in place must leave the pointer freeable with the size it now has:
 * a sized free with the realloc'd size is not corruption. Each case runs in a child, which
 * must exit normally. */
static void realloc_then_sized_free(unsigned flags, size_t from, size_t to) {
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = flags;
    rp_pool_t *pool = NULL;
    unsigned char *p = rp_pool_create(&c, &pool) == RP_OK ? rp_pool_alloc(pool, from) : NULL;
    if (p == NULL) _exit(3);
    memset(p, 0x3C, from);
    unsigned char *q = rp_pool_realloc(pool, p, to);
    if (q == NULL) _exit(4);
    for (size_t i = 0; i < to; i++)
        if (q[i] != 0x3C) _exit(5);
    rp_pool_free_sized(pool, q, to);
    rp_pool_destroy(pool);
}
static void shrink_small(void) { realloc_then_sized_free(0, 128, 100); }
static void shrink_small_canary(void) { realloc_then_sized_free(RP_POOL_CANARY, 120, 90); }
static void shrink_large(void) { realloc_then_sized_free(0, 20000, 12000); }
static void shrink_large_canary(void) { realloc_then_sized_free(RP_POOL_CANARY, 20000, 11000); }

static void test_api_realloc_sized_free(void) {
    CHECK(rp_test_exits_cleanly(shrink_small));
    CHECK(rp_test_exits_cleanly(shrink_small_canary));
    CHECK(rp_test_exits_cleanly(shrink_large));
    CHECK(rp_test_exits_cleanly(shrink_large_canary));
}

/* free must leave errno alone even when it is the thread's first use of the pool and the
 * thread cache cannot be had (here: the address-space limit refuses the cache's pages). Not
 * under a sanitizer: its runtime maps memory when a thread starts. */
#if !defined(RP_TEST_SANITIZED)
static rp_pool_t *errno_pool;
static void *errno_free_thread(void *arg) {
    errno = 1234;
    rp_pool_free(errno_pool, arg);
    return (void *)(intptr_t)errno;
}
static void errno_free_first_use(void) {
    void *p = rp_pool_create(NULL, &errno_pool) == RP_OK ? rp_pool_alloc(errno_pool, 32) : NULL;
    if (p == NULL) _exit(3);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1u << 16);
    /* no new mapping after this point: only the thread's stack, reserved first */
    static char stack[1u << 16] __attribute__((aligned(4096)));
    pthread_attr_setstack(&attr, stack, sizeof stack);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f == NULL || fscanf(f, "%lu", &pages) != 1) _exit(6);
    fclose(f);
    struct rlimit rl = {pages * page, pages * page};
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(7);
    pthread_t t;
    if (pthread_create(&t, &attr, errno_free_thread, p) != 0) _exit(8);
    void *r = NULL;
    pthread_join(t, &r);
    _exit((intptr_t)r == 1234 ? 0 : 9);
}
#endif

static void test_api_free_errno_first_use(void) {
#if defined(RP_TEST_SANITIZED)
    fprintf(stderr, "    (skipped under a sanitizer: its runtime maps memory on thread start)\n");
#else
    CHECK(rp_test_exits_cleanly(errno_free_first_use));
#endif
}

static void test_default_pool(void) {
    char *p = rp_secret_alloc(32);
    REQUIRE(p != NULL);
    rp_pool_t *pool = rp_secret_pool();
    CHECK(pool != NULL && rp_pool_owns(pool, p));
    memcpy(p, "default-pool-secret", 20);
    rp_secret_free(p);
    CHECK(count_nonzero(p, 32) == 0); /* wiped; the page stays mapped in the thread cache's arena */
    rp_secret_free(NULL);
}

static void *default_pool_thread(void *arg) {
    (void)arg;
    void *p = rp_secret_alloc(64);
    rp_pool_t *pool = rp_secret_pool();
    rp_secret_free(p);
    return p ? pool : NULL;
}

/* Threads racing to create the default pool all get the same one. */
static void test_default_pool_threads(void) {
    pthread_t t[4];
    void *r[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, default_pool_thread, NULL) == 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], &r[i]);
    for (int i = 0; i < 4; i++) CHECK(r[i] != NULL && r[i] == rp_secret_pool());
}

/* ---- layout: the drawing in rampart/pool.h ------------------------------------------------------- */

static void die_layout_front(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(0, RP_POOL_LOCK_REQUIRED, 0);
    if (!pool || !rp_pool_alloc(pool, 32)) _exit(3);
    (void)*((volatile unsigned char *)fake.r[0].p + page - 1);
}
static void die_layout_back(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(0, RP_POOL_LOCK_REQUIRED, 0);
    if (!pool || !rp_pool_alloc(pool, 32)) _exit(3);
    *((volatile unsigned char *)fake.r[0].p + fake.r[0].len - page) = 1;
}
static void die_layout_guarded(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(RP_POOL_GUARDED, RP_POOL_LOCK_REQUIRED, 0);
    volatile unsigned char *odd = pool ? rp_pool_alloc(pool, 13) : NULL;
    if (!odd) _exit(3);
    (void)odd[13];
}

static void test_layout_normal(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(0, RP_POOL_LOCK_REQUIRED, 0);
    REQUIRE(pool != NULL);
    enum { N = RP_POOL_ARENA_SIZE / 32 };
    static void *p[N];
    for (int i = 0; i < N; i++) p[i] = rp_pool_alloc(pool, 32);
    REQUIRE(fake.live == 1); /* exactly one arena's worth */
    uintptr_t base = (uintptr_t)fake.r[0].p;
    size_t len = fake.r[0].len;
    CHECK(len == RP_POOL_ARENA_SIZE + 2 * page); /* | guard | slots | guard | */
    /* slot i at base + P + i*S, 16-byte aligned; every slot handed out once */
    static bool seen[N];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < N; i++) {
        uintptr_t off = (uintptr_t)p[i] - (base + page);
        CHECK(off % 32 == 0 && off / 32 < N && (uintptr_t)p[i] % 16 == 0);
        if (off % 32 == 0 && off / 32 < N) seen[off / 32] = true;
    }
    size_t missing = 0;
    for (int i = 0; i < N; i++) missing += !seen[i];
    CHECK(missing == 0);
    CHECK(rp_pool_usable_size(pool, p[0]) == 32);
    CHECK(!rp_pool_owns(pool, (void *)base) && !rp_pool_owns(pool, (void *)(base + len - 1)));
    CHECK(rp_pool_owns(pool, (void *)(base + page)) && rp_pool_owns(pool, (void *)(base + len - page - 1)));
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.guard_pages == 2);
    /* the guards fault, on both sides (in a child with an arena of its own: a fork child's
     * arenas are wiped, guard markers included) */
    CHECK(dies_of(die_layout_front, SIGSEGV));
    CHECK(dies_of(die_layout_back, SIGSEGV));
    for (int i = 0; i < N; i++) rp_pool_free(pool, p[i]);
    rp_pool_destroy(pool);
    CHECK(fake.live == 0);
}

static void test_layout_canary(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(RP_POOL_CANARY, RP_POOL_LOCK_REQUIRED, 0);
    REQUIRE(pool != NULL);
    unsigned char *p = rp_pool_alloc(pool, 24);
    REQUIRE(p != NULL);
    /* 24 + 8 bytes of canary fit a 32-byte slot: usable 24, canary in the slot's last 8 bytes */
    CHECK(rp_pool_usable_size(pool, p) == 32 - RP_POOL_CANARY_SIZE);
    CHECK(count_nonzero(p + 24, RP_POOL_CANARY_SIZE) >= 6);
    CHECK(count_nonzero(p, 24) == 0);
    rp_pool_free(pool, p);
    CHECK(count_nonzero(p, 32) == 0); /* the canary is wiped with the slot */
    rp_pool_destroy(pool);
}

static void test_layout_guarded(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(RP_POOL_GUARDED | RP_POOL_CANARY, RP_POOL_LOCK_REQUIRED, 0);
    REQUIRE(pool != NULL);
    unsigned char *p = rp_pool_alloc(pool, 32);
    unsigned char *q = rp_pool_alloc(pool, 32);
    unsigned char *odd = rp_pool_alloc(pool, 13);
    REQUIRE(p != NULL && q != NULL && odd != NULL);
    REQUIRE(fake.live == 1);
    uintptr_t base = (uintptr_t)fake.r[0].p;
    /* | guard | pad | 32 user bytes | guard | ...: 16 slots of one data page each */
    CHECK(fake.r[0].len == page + 16 * 2 * page);
    CHECK(((uintptr_t)p + 32) % page == 0 && ((uintptr_t)q + 32) % page == 0);
    CHECK(((uintptr_t)p - base) / page % 2 == 1);
    CHECK((uintptr_t)p % 16 == 0);
    CHECK(((uintptr_t)odd + 13) % page == 0); /* ends exactly at the guard */
    CHECK(rp_pool_usable_size(pool, odd) == 13 && rp_pool_usable_size(pool, p) == 32);
    CHECK(count_nonzero(p - RP_POOL_CANARY_SIZE, RP_POOL_CANARY_SIZE) >= 6); /* canary before */
    CHECK(rp_pool_owns(pool, p) && !rp_pool_owns(pool, p + 32));
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.guard_pages == 17 && s.chunks_used == 3 && s.used == 32 + 32 + 13);
    CHECK(dies_of(die_layout_guarded, SIGSEGV));
    /* realloc keeps the end against a guard */
    memset(q, 0x42, 32);
    unsigned char *q2 = rp_pool_realloc(pool, q, 100);
    REQUIRE(q2 != NULL);
    CHECK(((uintptr_t)q2 + 100) % page == 0 && q2[0] == 0x42 && q2[31] == 0x42 && q2[32] == 0);
    rp_pool_free(pool, p);
    rp_pool_free_sized(pool, odd, 13);
    rp_pool_free(pool, q2);
    CHECK(fake.live == 1); /* the empty guarded arena is kept for the class (one per shard)... */
    rp_pool_trim(pool);
    CHECK(fake.live == 0); /* ...until the trim */
    rp_pool_destroy(pool);
}

/* A guarded allocation of 4 GiB or more keeps its exact size: usable size, the end against the
 * guard, and a sized free. Plain (never locked) pages under the silent policy, so nothing is
 * locked or touched; the child exits without freeing, so nothing is wiped either. */
static void guarded_huge(void) {
    rp_pool_options_t c = rp_pool_options_default();
    c.pages = rp_pages_plain();
    c.flags = RP_POOL_GUARDED;
    c.lock_policy = RP_POOL_LOCK_SILENT;
    rp_pool_t *pool = NULL;
    const size_t n = ((size_t)1 << 32) + 48;
    unsigned char *p = rp_pool_create(&c, &pool) == RP_OK ? rp_pool_alloc(pool, n) : NULL;
    if (p == NULL) _exit(3);
    if (((uintptr_t)p + n) % page != 0) _exit(4);
    if (rp_pool_usable_size(pool, p) != n) _exit(5);
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    if (rp_pool_stats(pool, &s) != RP_OK || s.used != n) _exit(6);
    _exit(0);
}

static void test_layout_guarded_huge(void) {
    if (sizeof(size_t) < 8) {
        fprintf(stderr, "    (32-bit size_t: no allocation of 4 GiB)\n");
        return;
    }
    CHECK(rp_test_exits_cleanly(guarded_huge));
}

/* A page allocator of the user's own need not hand out zeros; the pool's promise that every
 * allocation is zero-filled must hold anyway (normal, large, guarded). */
static void test_fake_dirty_pages(void) {
    for (int mode = 0; mode < 2; mode++) {
        fake_reset(-1, -1, SIZE_MAX);
        fake.dirty = true;
        rp_pool_t *pool = fake_pool(mode ? RP_POOL_GUARDED | RP_POOL_CANARY : RP_POOL_CANARY, RP_POOL_LOCK_REQUIRED, 0);
        REQUIRE(pool != NULL);
        unsigned char *a = rp_pool_alloc(pool, 32), *b = rp_pool_alloc(pool, 20000), *z = rp_pool_zalloc(pool, 10, 10);
        REQUIRE(a && b && z);
        CHECK(count_nonzero(a, 32) == 0);
        CHECK(count_nonzero(b, 20000) == 0);
        CHECK(count_nonzero(z, 100) == 0);
        rp_pool_free(pool, a);
        rp_pool_free(pool, b);
        rp_pool_free(pool, z);
        rp_pool_destroy(pool);
        CHECK(fake.live == 0);
    }
}

/* ---- Bitcoin-style tests on the fake allocator ------------------------------------------------------ */

static void test_fake_growth(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(0, RP_POOL_LOCK_REQUIRED, 16384);
    REQUIRE(pool != NULL);
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.arenas == 0 && s.total == 0 && fake.allocations == 0); /* nothing until first use */
    enum { N = 3000 };
    static void *p[N];
    for (int i = 0; i < N; i++) REQUIRE((p[i] = rp_pool_alloc(pool, 16)) != NULL);
    s = stats_of(pool);
    /* Runs of 1, 2, 4, 4, ... pages (arena_size caps them at 16384) in the pool's first region
     * (64 KiB of data pages and two guards), which holds 4096 slots of 16 bytes: one region. */
    CHECK(s.arenas == 1 && (int)s.arenas == fake.live);
    CHECK(s.locked == fake.locked_live && s.locked == 65536 + 2 * page);
    CHECK(s.used == N * 16 && s.chunks_used == N && s.total >= s.used && s.total <= 65536);
    for (int i = 0; i < N; i++) rp_pool_free(pool, p[i]);
    rp_pool_trim(pool);
    s = stats_of(pool);
    CHECK(s.arenas == 0 && fake.live == 0 && s.locked == 0);
    rp_pool_destroy(pool);
}

static void test_fake_fail_after(void) {
    fake_reset(1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(0, RP_POOL_LOCK_REQUIRED, 16384);
    REQUIRE(pool != NULL);
    int got = 0;
    static void *p[5000];
    for (int i = 0; i < 5000; i++) {
        p[i] = rp_pool_alloc(pool, 16);
        if (p[i] == NULL) break;
        got++;
    }
    /* the first region's 64 KiB of data pages, every one in runs of 16-byte slots */
    CHECK(got == 65536 / 16);
    CHECK(rp_last_error()->status == RP_ERR_NOMEM);
    CHECK(rp_pool_alloc(pool, 100000) == NULL); /* a large one needs a second region too */
    for (int i = 0; i < got; i++) rp_pool_free(pool, p[i]);
    rp_pool_destroy(pool);
    CHECK(fake.live == 0);
}

/* The lock budget: regions shrink to fit what may still be locked, like Bitcoin's first arena,
 * and every size class and large allocation shares what there is. */
static void test_fake_limit_clamp(void) {
    fake_reset(-1, -1, 40960);
    rp_pool_t *pool = fake_pool(0, RP_POOL_LOCK_REQUIRED, 65536);
    REQUIRE(pool != NULL);
    void *p = rp_pool_alloc(pool, 32);
    REQUIRE(p != NULL);
    CHECK(fake.r[0].len <= 40960 && fake.r[0].len == 40960);
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.locked <= 40960 && s.total == page); /* one run of one page so far */
    /* other classes and a large allocation take runs of the same region */
    void *q = rp_pool_alloc(pool, 1000), *r = rp_pool_alloc(pool, 9000);
    CHECK(q != NULL && r != NULL && fake.live == 1);
    /* until its pages are spent: then a new region is refused under RP_POOL_LOCK_REQUIRED */
    static void *more[16];
    int got = 0;
    while (got < 16 && (more[got] = rp_pool_alloc(pool, 4000)) != NULL) got++;
    CHECK(got < 16 && rp_last_error()->status == RP_ERR_LIMIT);
    CHECK(rp_last_error()->remedy != NULL);
    CHECK(fake.live == 1);
    s = stats_of(pool);
    CHECK(s.locked == 40960);
    for (int i = 0; i < got; i++) rp_pool_free(pool, more[i]);
    rp_pool_free(pool, p);
    rp_pool_free(pool, q);
    rp_pool_free(pool, r);
    rp_pool_destroy(pool);
}

static int lock_fail_calls;
static size_t lock_fail_bytes;
static void on_lock_failure(rp_pool_t *pool, size_t bytes, rp_status_t status, void *ctx) {
    (void)pool;
    (void)status;
    CHECK(ctx == &lock_fail_calls);
    lock_fail_calls++;
    lock_fail_bytes += bytes;
}

/* The first arena locks, the second cannot: each policy. */
static void test_fake_policies(void) {
    for (int policy = 0; policy < 3; policy++) {
        fake_reset(-1, 1, SIZE_MAX);
        lock_fail_calls = 0;
        lock_fail_bytes = 0;
        rp_pool_options_t c = rp_pool_options_default();
        c.pages = &fake_pages;
        c.lock_policy = (rp_pool_lock_policy_t)policy;
        c.on_lock_failure = on_lock_failure;
        c.ctx = &lock_fail_calls;
        rp_pool_t *pool = NULL;
        REQUIRE(rp_pool_create(&c, &pool) == RP_OK);
        void *a = rp_pool_alloc(pool, 32);
        REQUIRE(a != NULL);
        /* above the largest large run: a mapping of its own, the second from the allocator */
        const size_t big = (size_t)2 << 20;
        void *b = rp_pool_alloc(pool, big);
        rp_pool_stats_t s = stats_of(pool);
        if (policy == RP_POOL_LOCK_REQUIRED) {
            CHECK(b == NULL && rp_last_error()->status == RP_ERR_LIMIT);
            CHECK(s.unlocked == 0 && s.arenas == 1 && fake.live == 1);
        } else {
            CHECK(b != NULL);
            /* its pages, the spare page its slot turns into on reuse, two guards */
            CHECK(s.unlocked == rp_page_round(big) + 3 * page && s.lock_failures == 1);
            CHECK(s.locked == RP_POOL_ARENA_SIZE + 2 * page);
        }
        CHECK(lock_fail_calls == (policy == RP_POOL_LOCK_REPORT ? 1 : 0));
        if (policy == RP_POOL_LOCK_REPORT) CHECK(lock_fail_bytes == s.unlocked);
        rp_pool_free(pool, a);
        rp_pool_free(pool, b);
        rp_pool_destroy(pool);
        CHECK(fake.live == 0);
    }
}

/* A long random sequence of allocations and frees with content checks; ends with free == total
 * and then with nothing held at all. */
static void test_fake_random(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(RP_POOL_CANARY, RP_POOL_LOCK_REQUIRED, 16384);
    REQUIRE(pool != NULL);
    enum { LIVE = 600, STEPS = 30000 };
    static unsigned char *p[LIVE];
    static size_t n[LIVE];
    for (int step = 0; step < STEPS; step++) {
        int i = (int)(rng() % LIVE);
        if (p[i] != NULL) {
            /* first and last bytes carry the index: a slot shared or moved would show */
            CHECK(p[i][0] == (unsigned char)i && (n[i] == 1 || p[i][n[i] - 1] == (unsigned char)(i * 7 + n[i])));
            if (step % 3) rp_pool_free(pool, p[i]);
            else rp_pool_free_sized(pool, p[i], n[i]);
            p[i] = NULL;
        } else {
            uint64_t r = rng();
            n[i] = r % 8 == 0 ? 1 + r % 20000 : 1 + r % 600;
            p[i] = rp_pool_alloc(pool, n[i]);
            REQUIRE(p[i] != NULL);
            CHECK(rp_pool_usable_size(pool, p[i]) >= n[i]);
            memset(p[i], 0xC3, n[i]);
            p[i][n[i] - 1] = (unsigned char)(i * 7 + n[i]);
            p[i][0] = (unsigned char)i;
        }
        if (step % 5000 == 0) {
            rp_pool_stats_t s = stats_of(pool);
            CHECK(s.used + s.free == s.total);
            CHECK(s.locked == fake.locked_live && (int)s.arenas == fake.live);
        }
    }
    for (int i = 0; i < LIVE; i++) rp_pool_free(pool, p[i]);
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.used == 0 && s.chunks_used == 0 && s.free == s.total);
    rp_pool_trim(pool);
    s = stats_of(pool);
    CHECK(s.arenas == 0 && s.total == 0 && s.locked == 0 && fake.live == 0);
    rp_pool_destroy(pool);
}

/* ---- metadata lives outside the secret pages ------------------------------------------------------ */

/* Every byte of every arena is either inside a live allocation or zero: no headers, no free
 * lists, no sizes in the pages. Checked with live blocks filled with 0xFF, and after frees. */
static void scan_arenas(void *live[], size_t live_n[], int n, size_t *stray) {
    for (int r = 0; r < FAKE_MAX; r++) {
        if (fake.r[r].p == NULL) continue;
        unsigned char *b = fake.r[r].p;
        rp__asan_unpoison(b, fake.r[r].len); /* a raw look at the pages, free slots included */
        for (size_t off = page; off + page < fake.r[r].len; off++) {
            if (off % 8 == 0 && off + 8 + page <= fake.r[r].len) {
                uint64_t w;
                memcpy(&w, b + off, 8);
                if (w == 0) {
                    off += 7;
                    continue;
                }
            }
            if (b[off] == 0) continue;
            bool inside = false;
            for (int i = 0; i < n && !inside; i++)
                inside = live[i] && b + off >= (unsigned char *)live[i] && b + off < (unsigned char *)live[i] + live_n[i];
            if (!inside) (*stray)++;
        }
    }
}

static void test_metadata_outside(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(0, RP_POOL_LOCK_REQUIRED, 16384);
    REQUIRE(pool != NULL);
    enum { N = 300 };
    static void *p[N];
    static size_t n[N];
    for (int i = 0; i < N; i++) {
        n[i] = 1 + rng() % 3000;
        REQUIRE((p[i] = rp_pool_alloc(pool, n[i])) != NULL);
        n[i] = rp_pool_usable_size(pool, p[i]);
        memset(p[i], 0xFF, n[i]);
    }
    for (int i = 0; i < N; i += 2) {
        rp_pool_free(pool, p[i]);
        p[i] = NULL;
    }
    size_t stray = 0;
    scan_arenas(p, n, N, &stray);
    CHECK(stray == 0);
    for (int i = 1; i < N; i += 2) rp_pool_free(pool, p[i]);
    rp_pool_destroy(pool);
}

/* No malloc on a secret path: this binary replaces malloc (glibc allows it) to count calls while
 * the pool works. Skipped under sanitizers, whose runtimes own malloc. */
#if !defined(RP_TEST_SANITIZED)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static _Atomic int malloc_watch, malloc_seen;
void *malloc(size_t n) {
    if (malloc_watch) malloc_seen++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    if (malloc_watch) malloc_seen++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    if (malloc_watch) malloc_seen++;
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
#endif

static void test_no_malloc(void) {
#if defined(RP_TEST_SANITIZED)
    fprintf(stderr, "    (skipped under a sanitizer: its runtime owns malloc)\n");
#else
    void *probe = malloc(1); /* the replacement is live */
    free(probe);
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = RP_POOL_CANARY;
    malloc_watch = 1;
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&c, &pool) == RP_OK);
    void *p[200];
    for (int i = 0; i < 200; i++) p[i] = rp_pool_alloc(pool, 1 + (size_t)i * 97);
    for (int i = 0; i < 200; i++) rp_pool_free(pool, p[i]);
    void *g = rp_pool_realloc(pool, rp_pool_alloc(pool, 10), 9000);
    rp_pool_free(pool, g);
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    rp_pool_stats(pool, &s);
    rp_pool_trim(pool);
    rp_pool_destroy(pool);
    malloc_watch = 0;
    CHECK(malloc_seen == 0);
#endif
}

/* ---- threads --------------------------------------------------------------------------------------- */

typedef struct exchange {
    pthread_mutex_t lock;
    void *slot[64];
} exchange_t;
static exchange_t xchg = {PTHREAD_MUTEX_INITIALIZER, {0}};
static rp_pool_t *stress_pool;

static void *stress_thread(void *arg) {
    uint64_t s = (uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 1;
    enum { LIVE = 64 };
    unsigned char *mine[LIVE] = {0};
    size_t len[LIVE] = {0};
    int bad = 0;
    for (int step = 0; step < 20000; step++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        int i = (int)(s % LIVE);
        if (mine[i]) {
            if (mine[i][0] != (unsigned char)(uintptr_t)arg || mine[i][len[i] - 1] != (unsigned char)(uintptr_t)arg) bad++;
            if (s % 4 == 0) {
                /* hand it to whichever thread takes it from the exchange: a cross-thread free */
                pthread_mutex_lock(&xchg.lock);
                void *old = xchg.slot[s % 64];
                xchg.slot[s % 64] = mine[i];
                pthread_mutex_unlock(&xchg.lock);
                if (old) rp_pool_free(stress_pool, old);
            } else {
                rp_pool_free(stress_pool, mine[i]);
            }
            mine[i] = NULL;
        } else {
            len[i] = 1 + (s >> 20) % (s % 16 == 0 ? 9000 : 300);
            mine[i] = rp_pool_alloc(stress_pool, len[i]);
            if (!mine[i]) return (void *)1;
            memset(mine[i], (int)(uintptr_t)arg, len[i]);
        }
    }
    for (int i = 0; i < LIVE; i++) rp_pool_free(stress_pool, mine[i]);
    return (void *)(intptr_t)bad;
}

static void test_threads_stress(void) {
    /* This case checks threads, not locking: the silent policy locks what the memlock budget
     * allows (all of it as root) and serves the rest unlocked, so an ordinary user's 8 MiB limit
     * does not end the stress early. */
    rp_pool_options_t c = rp_pool_options_default();
    c.lock_policy = RP_POOL_LOCK_SILENT;
    REQUIRE(rp_pool_create(&c, &stress_pool) == RP_OK);
    enum { T = 4 };
    pthread_t t[T];
    for (int i = 0; i < T; i++) CHECK(pthread_create(&t[i], NULL, stress_thread, (void *)(uintptr_t)(i + 1)) == 0);
    for (int i = 0; i < T; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
    for (int i = 0; i < 64; i++) {
        rp_pool_free(stress_pool, xchg.slot[i]);
        xchg.slot[i] = NULL;
    }
    rp_pool_stats_t s = stats_of(stress_pool);
    CHECK(s.used == 0 && s.chunks_used == 0);
    /* the workers' caches went back when they exited; trim returns ours and the spares */
    rp_pool_trim(stress_pool);
    s = stats_of(stress_pool);
    CHECK(s.arenas == 0 && s.locked == 0);
    rp_pool_destroy(stress_pool);
}

static void *cache_thread(void *arg) {
    void *p[100];
    for (int i = 0; i < 100; i++) p[i] = rp_pool_alloc(arg, 32);
    for (int i = 0; i < 100; i++) rp_pool_free(arg, p[i]);
    return NULL; /* its cache still holds slots: thread exit must return them */
}

static void test_thread_exit_returns_cache(void) {
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, cache_thread, pool) == 0);
    pthread_join(t, NULL);
    rp_pool_trim(pool); /* this thread's cache is empty; only spares go */
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.arenas == 0 && s.chunks_free == 0);
    rp_pool_destroy(pool);
}

/* Frees and allocations on two threads (half of the frees cross-thread) while a third trims
 * and reads stats: arena release and spare hand-back race with the shard paths (meant for
 * TSan and ASan as much as for the checks). */
static _Atomic int trim_stop;
static void *trim_thread(void *arg) {
    rp_pool_t *pool = arg;
    while (!trim_stop) {
        rp_pool_trim(pool);
        rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
        if (rp_pool_stats(pool, &s) != RP_OK || s.used + s.free != s.total) return (void *)1;
    }
    return NULL;
}
static void test_threads_trim_race(void) {
    REQUIRE(rp_pool_create(NULL, &stress_pool) == RP_OK);
    trim_stop = 0;
    pthread_t t[3];
    CHECK(pthread_create(&t[2], NULL, trim_thread, stress_pool) == 0);
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, stress_thread, (void *)(uintptr_t)(i + 7)) == 0);
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
    trim_stop = 1;
    void *r;
    pthread_join(t[2], &r);
    CHECK(r == NULL);
    for (int i = 0; i < 64; i++) {
        rp_pool_free(stress_pool, xchg.slot[i]);
        xchg.slot[i] = NULL;
    }
    rp_pool_trim(stress_pool);
    rp_pool_stats_t s = stats_of(stress_pool);
    CHECK(s.used == 0 && s.arenas == 0 && s.locked == 0);
    rp_pool_destroy(stress_pool);
}

/* ---- death tests: each misuse reaches the corruption handler, in a fork child --------------------- */

static rp_pool_t *death_pool(unsigned flags) {
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = flags;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&c, &pool) != RP_OK) _exit(3);
    return pool;
}

static void die_double_free(void) {
    rp_pool_t *pool = death_pool(0);
    void *p = rp_pool_alloc(pool, 32);
    rp_pool_free(pool, p);
    rp_pool_free(pool, p);
}
static void die_double_free_large(void) {
    rp_pool_t *pool = death_pool(0);
    void *keep = rp_pool_alloc(pool, 64);
    void *p = rp_pool_alloc(pool, 50000);
    (void)keep;
    rp_pool_free(pool, p);
    rp_pool_free(pool, p);
}
static void die_foreign_free(void) {
    rp_pool_t *pool = death_pool(0);
    static char not_ours[64];
    rp_pool_free(pool, not_ours);
}
static void die_interior_free(void) {
    rp_pool_t *pool = death_pool(0);
    char *p = rp_pool_alloc(pool, 64);
    rp_pool_free(pool, p + 16);
}
static void die_other_pool(void) {
    rp_pool_t *a = death_pool(0), *b = death_pool(0);
    void *p = rp_pool_alloc(a, 32);
    rp_pool_free(b, p);
}
static void die_wrong_size(void) {
    rp_pool_t *pool = death_pool(0);
    void *p = rp_pool_alloc(pool, 32);
    rp_pool_free_sized(pool, p, 1000);
}
static void die_canary(void) {
    rp_pool_t *pool = death_pool(RP_POOL_CANARY);
    char *p = rp_pool_alloc(pool, 24);
    p[rp_pool_usable_size(pool, p)] ^= 1; /* one byte past the usable size */
    rp_pool_free(pool, p);
}
static void die_canary_guarded_underflow(void) {
    rp_pool_t *pool = death_pool(RP_POOL_GUARDED | RP_POOL_CANARY);
    char *p = rp_pool_alloc(pool, 100);
    /* Flip a bit of the canary before the block: storing 0 left it whole when the random canary's
     * byte there was 0 already (one run in 256; CI met it). */
    p[-1] ^= 1;
    rp_pool_free(pool, p);
}
static void die_guarded_overflow(void) {
    rp_pool_t *pool = death_pool(RP_POOL_GUARDED);
    volatile char *p = rp_pool_alloc(pool, 37);
    p[37] = 1; /* one byte past the end */
}
static void die_arena_guard(void) {
    rp_pool_t *pool = death_pool(0);
    volatile char *p = rp_pool_alloc(pool, 16); /* slot 0 of a fresh arena: the guard is before it */
    p[-1] = 1;
}
static void die_double_destroy(void) {
    rp_pool_t *pool = death_pool(0);
    rp_pool_destroy(pool);
    rp_pool_destroy(pool);
}
static void die_secret_free_foreign(void) {
    static char x[16];
    void *p = rp_secret_alloc(8);
    (void)p;
    rp_secret_free(x);
}

/* A replacement handler sees what went wrong; the process still aborts after it returns. */
static char *handler_msg;
static void record_handler(const char *what, const void *addr, void *ctx) {
    (void)addr;
    (void)ctx;
    snprintf(handler_msg, 200, "%s", what);
}
static void die_with_handler(void) {
    rp_set_corruption_handler(record_handler, NULL);
    die_double_free();
}

static void test_death(void) {
    CHECK(dies_of(die_double_free, SIGABRT));
    CHECK(dies_of(die_double_free_large, SIGABRT));
    CHECK(dies_of(die_foreign_free, SIGABRT));
    CHECK(dies_of(die_interior_free, SIGABRT));
    CHECK(dies_of(die_other_pool, SIGABRT));
    CHECK(dies_of(die_wrong_size, SIGABRT));
    CHECK(dies_of_canary(die_canary));
    CHECK(dies_of_canary(die_canary_guarded_underflow));
    CHECK(dies_of(die_guarded_overflow, SIGSEGV));
    CHECK(dies_of(die_arena_guard, SIGSEGV));
    CHECK(dies_of(die_secret_free_foreign, SIGABRT));
    CHECK(dies_of(die_double_destroy, SIGABRT));
    handler_msg = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(handler_msg != MAP_FAILED);
    CHECK(dies_of(die_with_handler, SIGABRT));
    CHECK(strstr(handler_msg, "double free") != NULL);
    munmap(handler_msg, page);
}

/* ---- security ---------------------------------------------------------------------------------------- */

enum { MARK = 32 };
/* Write the marker of seed into p byte by byte, so it exists nowhere else in memory. */
static void put_marker(volatile unsigned char *p, uint64_t seed) {
    uint64_t s = seed;
    for (int i = 0; i < MARK; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (unsigned char)(s >> 56);
    }
}
static void get_marker(unsigned char *out, uint64_t seed) { put_marker(out, seed); }

static bool file_contains(const char *path, const unsigned char *needle, size_t n) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return false;
    static unsigned char buf[1 << 20];
    size_t keep = 0, got;
    bool found = false;
    while (!found && (got = fread(buf + keep, 1, sizeof buf - keep, f)) > 0) {
        size_t have = keep + got;
        for (size_t i = 0; i + n <= have && !found; i++) found = buf[i] == needle[0] && memcmp(buf + i, needle, n) == 0;
        keep = have < n ? have : n - 1;
        memmove(buf, buf + have - keep, keep);
    }
    fclose(f);
    return found;
}

#define SECRET_SEED 0x5ec2e7ULL
#define CONTROL_SEED 0xc0417201ULL

#if defined(RP_TEST_SANITIZED)
static bool shrink_core(const rp_area_t *a, void *ctx) {
    uintptr_t keep = (uintptr_t)ctx;
    if (a->end - a->start >= ((uintptr_t)1 << 30) && !(keep >= a->start && keep < a->end))
        madvise((void *)a->start, a->end - a->start, MADV_DONTDUMP);
    return true;
}
#endif

/* The core-dump child: a pool holding 50 secrets and one control secret in ordinary memory. */
static void core_child_fill(void) {
    rp_pool_t *pool = NULL;
    if (rp_pool_create(NULL, &pool) != RP_OK) _exit(6);
    unsigned char *secret[50];
    for (int i = 0; i < 50; i++) {
        secret[i] = rp_pool_alloc(pool, i % 2 ? 32 : 5000);
        if (secret[i] == NULL) _exit(7);
        put_marker(secret[i], SECRET_SEED);
    }
    unsigned char *control = malloc(MARK);
    if (control == NULL) _exit(8);
    put_marker(control, CONTROL_SEED);
#if defined(RP_TEST_SANITIZED)
    /* A sanitizer's shadow spans terabytes; writing it into the core takes half a minute.
     * Leave out areas of 1 GiB or more, except the one holding the control secret. */
    rp_areas_foreach(0, shrink_core, control);
#endif
}

/* The kernel writes ./core[.PID] itself: the child aborts and the core lands in dir. */
static pid_t core_by_kernel(const char *dir, char *core, size_t size) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
        if (setrlimit(RLIMIT_CORE, &rl) != 0) _exit(4);
        prctl(PR_SET_DUMPABLE, 1);
        if (chdir(dir) != 0) _exit(5);
        core_child_fill();
        segv_default();
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    int status = 0;
    waitpid(pid, &status, 0);
    snprintf(core, size, "%s/core", dir);
    if (access(core, R_OK) != 0) snprintf(core, size, "%s/core.%d", dir, (int)pid);
    if (!WIFSIGNALED(status)) fprintf(stderr, "    (child status 0x%x)\n", status);
    return pid;
}

/* core_pattern hands cores to a helper (apport, systemd-coredump): take the core with gdb's
 * gcore, which leaves out MADV_DONTDUMP areas as the kernel does. The child waits, stopped in
 * pause(), while gcore attaches (PR_SET_PTRACER lets a sibling attach under Yama). */
static pid_t core_by_gcore(const char *dir, char *core, size_t size) {
    int ready[2];
    if (pipe(ready) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        core_child_fill();
#ifdef PR_SET_PTRACER
        prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
#endif
        prctl(PR_SET_DUMPABLE, 1);
        if (write(ready[1], "r", 1) != 1) _exit(9);
        for (;;) pause();
    }
    close(ready[1]);
    char byte;
    bool up = pid > 0 && read(ready[0], &byte, 1) == 1;
    close(ready[0]);
    if (up) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "gcore -o '%s/core' %d >/dev/null 2>&1 </dev/null", dir, (int)pid);
        int rc = system(cmd);
        if (rc != 0) fprintf(stderr, "    (gcore exited with status 0x%x)\n", rc);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    snprintf(core, size, "%s/core.%d", dir, (int)pid);
    return up ? pid : -1;
}

/* Its own CTest entry (test_pool_core_dump): it needs a core file, which a piped core_pattern
 * and a missing gdb can both prevent; then it exits 77 with the reason, never passes. */
static void test_core_dump(void) {
    char pattern[256] = "";
    FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
    if (f) {
        if (!fgets(pattern, sizeof pattern, f)) pattern[0] = '\0';
        fclose(f);
    }
    pattern[strcspn(pattern, "\n")] = '\0';
    /* RAMPART_TEST_CORE=gcore takes the gcore path even where the kernel would write the core. */
    const char *force = getenv("RAMPART_TEST_CORE");
    bool kernel_writes_here = pattern[0] != '|' && strchr(pattern, '/') == NULL && strchr(pattern, '%') == NULL &&
                              !(force && !strcmp(force, "gcore"));
    bool have_gcore = system("command -v gcore >/dev/null 2>&1") == 0;
    if (!kernel_writes_here && !have_gcore) {
        char why[400];
        snprintf(why, sizeof why,
                 "core_pattern '%s' does not write ./core[.PID] and gdb's gcore is missing (Debian package gdb)",
                 pattern);
        rp_test_skip(why);
    }
    char dir[] = "/tmp/rampart-core-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char core[300] = "";
    if (kernel_writes_here) {
        fprintf(stderr, "    core written by the kernel (core_pattern '%s')\n", pattern);
        core_by_kernel(dir, core, sizeof core);
    } else {
        fprintf(stderr, "    core_pattern '%s' does not write a file here: core taken with gcore\n", pattern);
        if (core_by_gcore(dir, core, sizeof core) < 0) core[0] = '\0';
    }
    bool have_core = core[0] != '\0' && access(core, R_OK) == 0;
    if (!have_core) {
        fprintf(stderr, "    (no core file in %s)\n", dir);
        CHECK(have_core);
    } else {
        unsigned char secret[MARK], control[MARK];
        get_marker(secret, SECRET_SEED);
        get_marker(control, CONTROL_SEED);
        /* The scan works: the control secret in ordinary memory is in the core ... */
        CHECK(file_contains(core, control, MARK));
        /* ... and the pool's secrets are not. */
        CHECK(!file_contains(core, secret, MARK));
        memset(secret, 0, sizeof secret);
        unlink(core);
    }
    rmdir(dir);
}

static void test_fork_child_reads_zeros(void) {
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK);
    unsigned char *s = rp_pool_alloc(pool, 32), *big = rp_pool_alloc(pool, 9000);
    unsigned char *control = malloc(32);
    REQUIRE(s != NULL && big != NULL && control != NULL);
    memset(s, 0x5A, 32);
    memset(big, 0x5A, 9000);
    memset(control, 0x5A, 32);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* 0: zeros where the parent holds secrets, and ordinary memory copied as usual */
        int rc = (count_nonzero(s, 32) == 0 && count_nonzero(big, 9000) == 0 && count_nonzero(control, 32) == 32) ? 0 : 1;
        _exit(rc);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(count_nonzero(s, 32) == 32); /* the parent still has them */
    free(control);
    rp_pool_free(pool, s);
    rp_pool_free(pool, big);
    rp_pool_destroy(pool);
}

/* A fork child inherits every pool wiped (MADV_WIPEONFORK), but neither the locks (fork never
 * passes mlock on) nor the guard markers of such mappings. So the child gets no memory from a
 * pool created before the fork, under any policy, and is told why; the pointers it inherited
 * can still be freed (their canaries read zero there); the default pool is replaced by a fresh,
 * locked one, and the inherited default pointers still go back with rp_secret_free. */
static rp_pool_t *fork_pool, *fork_guarded;
static void *fork_p, *fork_q, *fork_g, *fork_s;
static rp_pool_stats_t fork_parent_stats; /* fork_guarded's, in the parent before the fork */
static void fork_child_uses_pools(void) {
    /* The stats tell the truth: nothing of the inherited pool is locked or guarded here. */
    rp_pool_stats_t st = {RP_SIZED(rp_pool_stats_t)};
    if (rp_pool_stats(fork_guarded, &st) != RP_OK || st.locked != 0 || st.guard_pages != 0 ||
        st.unlocked != fork_parent_stats.locked + fork_parent_stats.unlocked)
        _exit(10);
    if (rp_pool_alloc(fork_pool, 32) != NULL || rp_last_error()->status != RP_ERR_INVALID) _exit(3);
    if (rp_pool_alloc(fork_pool, 9000) != NULL) _exit(4);
    if (rp_pool_realloc(fork_pool, fork_p, 500) != NULL) _exit(5);
    if (rp_pool_alloc(fork_guarded, 32) != NULL) _exit(6);
    rp_pool_free(fork_pool, fork_p);
    rp_pool_free(fork_pool, fork_q);
    rp_pool_free(fork_guarded, fork_g);
    void *t = rp_secret_alloc(32);
    if (t == NULL) _exit(7);
    rp_area_t area = {RP_SIZED(rp_area_t)};
    if (rp_area_of(t, &area) != RP_OK || !(area.flags & RP_AREA_LOCKED) || area.locked < page) _exit(8);
    rp_secret_free(fork_s);
    rp_secret_free(t);
    rp_pool_destroy(fork_pool);
    rp_pool_destroy(fork_guarded);
    /* a pool of the child's own works as usual */
    rp_pool_t *mine = NULL;
    void *m = rp_pool_create(NULL, &mine) == RP_OK ? rp_pool_alloc(mine, 32) : NULL;
    if (m == NULL) _exit(9);
    rp_pool_free(mine, m);
    rp_pool_destroy(mine);
}

static void test_fork_child_pool(void) {
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = RP_POOL_CANARY;
    REQUIRE(rp_pool_create(&c, &fork_pool) == RP_OK);
    c.flags = RP_POOL_GUARDED | RP_POOL_CANARY;
    REQUIRE(rp_pool_create(&c, &fork_guarded) == RP_OK);
    fork_p = rp_pool_alloc(fork_pool, 32);
    fork_q = rp_pool_alloc(fork_pool, 9000);
    fork_g = rp_pool_alloc(fork_guarded, 100);
    fork_s = rp_secret_alloc(32);
    REQUIRE(fork_p && fork_q && fork_g && fork_s);
    fork_parent_stats = (rp_pool_stats_t){RP_SIZED(rp_pool_stats_t)};
    REQUIRE(rp_pool_stats(fork_guarded, &fork_parent_stats) == RP_OK);
    CHECK(fork_parent_stats.guard_pages != 0);
    CHECK(rp_test_exits_cleanly(fork_child_uses_pools));
    /* the parent is untouched */
    void *r = rp_pool_alloc(fork_pool, 32);
    CHECK(r != NULL);
    rp_pool_free(fork_pool, r);
    rp_pool_free(fork_pool, fork_p);
    rp_pool_free(fork_pool, fork_q);
    rp_pool_free(fork_guarded, fork_g);
    rp_secret_free(fork_s);
    rp_pool_destroy(fork_pool);
    rp_pool_destroy(fork_guarded);
}

/* The fake allocator counts the bytes that are not zero when an arena comes back: the pool's
 * own wipe, not the page allocator's, is what this checks. */
static void test_freed_bytes_zero(void) {
    fake_reset(-1, -1, SIZE_MAX);
    rp_pool_t *pool = fake_pool(RP_POOL_CANARY, RP_POOL_LOCK_REQUIRED, 0);
    REQUIRE(pool != NULL);
    unsigned char *keep = rp_pool_alloc(pool, 32);
    unsigned char *p = rp_pool_alloc(pool, 32);
    REQUIRE(keep && p);
    memset(p, 0xEE, 24);
    rp_pool_free(pool, p);
    CHECK(count_nonzero(p, 32) == 0); /* the slot (and its canary), read back after free */
    unsigned char *big = rp_pool_alloc(pool, 20000);
    REQUIRE(big != NULL);
    memset(big, 0xEE, 20000);
    memset(keep, 0xEE, 24);
    rp_pool_free(pool, big);
    rp_pool_free(pool, keep);
    rp_pool_trim(pool);
    CHECK(fake.live == 0 && fake.allocations == 1); /* one region held both */
    CHECK(fake.nonzero_at_free == 0);
    /* and the same through destroy, with live allocations */
    fake_reset(-1, -1, SIZE_MAX);
    unsigned char *q = rp_pool_alloc(pool, 100), *r = rp_pool_alloc(pool, 7000);
    REQUIRE(q && r);
    memset(q, 0xEE, 100);
    memset(r, 0xEE, 7000);
    rp_pool_destroy(pool);
    CHECK(fake.live == 0 && fake.nonzero_at_free == 0);
}

typedef struct area_want {
    uintptr_t addr;
    unsigned flags;
    size_t guards;
} area_want_t;
static bool area_find(const rp_area_t *a, void *ctx) {
    area_want_t *w = ctx;
    if (w->addr >= a->start && w->addr < a->end) {
        w->flags = a->flags;
        w->guards = a->guard_pages;
        return false;
    }
    return true;
}

static void test_advice_and_lock(void) {
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK);
    void *p = rp_pool_alloc(pool, 64);
    REQUIRE(p != NULL);
    area_want_t w = {(uintptr_t)p, 0, 0};
    REQUIRE(rp_areas_foreach(0, area_find, &w) == RP_OK);
    CHECK(w.flags & RP_AREA_DONTDUMP);
    CHECK(w.flags & RP_AREA_WIPEONFORK);
    CHECK(w.flags & RP_AREA_LOCKED);
    rp_area_t area = {RP_SIZED(rp_area_t)};
    REQUIRE(rp_area_of(p, &area) == RP_OK);
    CHECK(area.locked >= page); /* resident and locked now, not just flagged */
    rp_pool_stats_t s = stats_of(pool);
    if (rp__os_guard_lightweight_available()) {
        CHECK(s.guards_lightweight);
        /* the whole arena is one mapping: guards are markers inside it */
        CHECK(area.end - area.start >= RP_POOL_ARENA_SIZE + 2 * page);
    }
    rp_pool_free(pool, p);
    rp_pool_destroy(pool);
}

/* stats.locked is what the kernel charges (VmLck), for normal, large and guarded arenas. Its own
 * CTest entry, test_pool_stats_match_vmlck: skips (77) where VmLck cannot be read. */
static void test_stats_match_vmlck(void) {
    size_t base = 0, now = 0, resident_base = 0, resident = 0;
    if (rp__os_locked_bytes(0, &base, &resident_base) != 0) rp_test_skip("VmLck not readable here");
    rp_pool_t *pool = NULL, *guarded = NULL;
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = RP_POOL_GUARDED | RP_POOL_CANARY;
    REQUIRE(rp_pool_create(NULL, &pool) == RP_OK && rp_pool_create(&c, &guarded) == RP_OK);
    void *p[6] = {rp_pool_alloc(pool, 32), rp_pool_alloc(pool, 3000), rp_pool_alloc(pool, 70000),
                  rp_pool_alloc(guarded, 32), rp_pool_alloc(guarded, 5000), rp_pool_alloc(guarded, 50000)};
    for (int i = 0; i < 6; i++) REQUIRE(p[i] != NULL);
    rp_pool_stats_t a = stats_of(pool), g = stats_of(guarded);
    REQUIRE(rp__os_locked_bytes(0, &now, &resident) == 0);
    CHECK(now - base == a.locked + g.locked && a.unlocked == 0 && g.unlocked == 0);
    /* every data page is resident, not just charged; guard markers are charged, never resident */
    CHECK(resident - resident_base == now - base - (a.guard_pages + g.guard_pages) * page);
    for (int i = 0; i < 3; i++) rp_pool_free(pool, p[i]);
    for (int i = 3; i < 6; i++) rp_pool_free(guarded, p[i]);
    rp_pool_trim(pool);
    rp_pool_trim(guarded); /* its empty arenas of shared classes are kept until then */
    REQUIRE(rp__os_locked_bytes(0, &now, &resident) == 0);
    CHECK(now == base);
    rp_pool_destroy(pool);
    rp_pool_destroy(guarded);
}

/* How many memory areas hold the n sorted addresses in ptrs. */
typedef struct holders {
    uintptr_t *ptrs;
    size_t n, areas;
} holders_t;
static bool count_holders(const rp_area_t *a, void *ctx) {
    holders_t *h = ctx;
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->ptrs[mid] < a->start) lo = mid + 1;
        else hi = mid;
    }
    if (lo < h->n && h->ptrs[lo] < a->end) h->areas++;
    return true;
}
static int cmp_uintptr(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Guarded mode without a mapping per object: 1000 guarded secrets live in a few map entries
 * (one per arena), where a mapping per object would need at least 1000. */
static void test_guarded_map_count(void) {
    if (!rp__os_guard_lightweight_available()) {
        rp_test_skip("no MADV_GUARD_INSTALL here (Linux 6.13+): guards are PROT_NONE and split mappings");
    }
    rp_pool_options_t c = rp_pool_options_default();
    c.flags = RP_POOL_GUARDED;
    /* 1000 guarded slots lock more than an ordinary user's 8 MiB: this case counts mappings,
     * so what the budget cannot lock is served unlocked (silently) rather than refused. */
    c.lock_policy = RP_POOL_LOCK_SILENT;
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&c, &pool) == RP_OK);
    enum { N = 1000 };
    static void *p[N];
    static uintptr_t sorted[N];
    for (int i = 0; i < N; i++) {
        REQUIRE((p[i] = rp_pool_alloc(pool, 32)) != NULL);
        sorted[i] = (uintptr_t)p[i];
    }
    qsort(sorted, N, sizeof sorted[0], cmp_uintptr);
    holders_t h = {sorted, N, 0};
    REQUIRE(rp_areas_foreach(0, count_holders, &h) == RP_OK);
    rp_pool_stats_t s = stats_of(pool);
    fprintf(stderr, "    %d guarded allocations: %zu map entries hold them, %zu guard pages, %zu arenas\n", N, h.areas,
            s.guard_pages, s.arenas);
    CHECK(s.guards_lightweight && s.guard_pages >= N);
    CHECK(h.areas >= 1 && h.areas <= s.arenas);
    for (int i = 0; i < N; i++) rp_pool_free(pool, p[i]);
    rp_pool_destroy(pool);
}

/* memfd_secret pages: guards fall back to PROT_NONE (the mapping is locked), and still fault. */
static void die_secret_guarded(void) {
    rp_pool_options_t c = rp_pool_options_default();
    c.pages = rp_pages_secret();
    c.flags = RP_POOL_GUARDED;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&c, &pool) != RP_OK) _exit(3);
    volatile char *p = rp_pool_alloc(pool, 48);
    if (!p) _exit(4);
    p[48] = 1;
}

static void test_secret_pages(void) {
    if (rp_pages_secret() == NULL) {
        char why[300];
        snprintf(why, sizeof why, "memfd_secret unavailable: %s", rp_last_error()->message);
        rp_test_skip(why);
    }
    rp_pool_options_t c = rp_pool_options_default();
    c.pages = rp_pages_secret();
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&c, &pool) == RP_OK);
    unsigned char *p = rp_pool_alloc(pool, 32);
    if (p == NULL) fprintf(stderr, "    secret alloc: %s\n", rp_last_error()->message);
    REQUIRE(p != NULL);
    memset(p, 1, 32);
    rp_pool_stats_t s = stats_of(pool);
    CHECK(s.locked > 0 && s.unlocked == 0 && s.guard_pages == 2);
    rp_pool_free(pool, p);
    CHECK(count_nonzero(p, 32) == 0);
    rp_pool_destroy(pool);
    CHECK(dies_of(die_secret_guarded, SIGSEGV));
}

/* ---- unprivileged: each lock policy as user nobody with a 64 KiB memlock limit --------------------- */

static int unpriv_calls;
static size_t unpriv_bytes;
static void unpriv_on_failure(rp_pool_t *pool, size_t bytes, rp_status_t status, void *ctx) {
    (void)pool;
    (void)ctx;
    (void)status;
    unpriv_calls++;
    unpriv_bytes += bytes;
}

static int unprivileged_policies(void) {
    static const char *names[] = {"required", "report", "silent"};
    for (int policy = 0; policy < 3; policy++) {
        rp_pool_options_t c = rp_pool_options_default();
        c.lock_policy = (rp_pool_lock_policy_t)policy;
        c.arena_size = 256 * 1024; /* more than the limit: the first arena is clamped to fit */
        c.on_lock_failure = unpriv_on_failure;
        unpriv_calls = 0;
        unpriv_bytes = 0;
        rp_pool_t *pool = NULL;
        CHECK(rp_pool_create(&c, &pool) == RP_OK);
        if (!pool) return 1;
        void *small = rp_pool_alloc(pool, 32);
        CHECK(small != NULL); /* fits in the clamped first arena */
        rp_pool_stats_t s = stats_of(pool);
        CHECK(s.locked > 0 && s.locked <= 65536 && s.unlocked == 0);
        void *big = rp_pool_alloc(pool, 200000); /* needs more than may be locked */
        rp_pool_stats_t s2 = stats_of(pool);
        fprintf(stderr, "    policy %-8s: big allocation %s, locked %zu, unlocked %zu bytes, %d report(s)%s%s\n",
                names[policy], big ? "served" : "refused", s2.locked, s2.unlocked, unpriv_calls,
                big ? "" : ": ", big ? "" : rp_last_error()->message);
        if (policy == RP_POOL_LOCK_REQUIRED) {
            CHECK(big == NULL);
            CHECK(rp_last_error()->status == RP_ERR_LIMIT || rp_last_error()->status == RP_ERR_PERMISSION);
            CHECK(s2.unlocked == 0 && unpriv_calls == 0);
        } else {
            CHECK(big != NULL);
            CHECK(s2.unlocked >= 200000 && s2.lock_failures == 1);
            CHECK(unpriv_calls == (policy == RP_POOL_LOCK_REPORT ? 1 : 0));
            if (policy == RP_POOL_LOCK_REPORT) CHECK(unpriv_bytes == s2.unlocked);
        }
        rp_pool_free(pool, big);
        rp_pool_free(pool, small);
        rp_pool_destroy(pool);
    }
    /* no lock budget at all: required fails at once with the reason and a remedy */
    return rp_test_exit();
}

static int unprivileged_zero(void) {
    rp_pool_t *pool = NULL;
    CHECK(rp_pool_create(NULL, &pool) == RP_OK);
    if (!pool) return 1;
    CHECK(rp_pool_alloc(pool, 32) == NULL);
    /* No CAP_IPC_LOCK and a limit of 0: the permission status (common.h), as mlock says it under
     * the other policies, with its remedy. */
    CHECK(rp_last_error()->status == RP_ERR_PERMISSION);
    CHECK(rp_last_error()->remedy != NULL && rp_last_error()->remedy == rp_remedy(RP_ERR_PERMISSION, RP_REMEDY_BRIEF));
    fprintf(stderr, "    memlock 0, policy required: %s\n", rp_last_error()->message);
    rp_pool_destroy(pool);
    return rp_test_exit();
}

static void test_unprivileged(void) {
    const char *why = rp_test_unprivileged_unavailable();
    if (why) rp_test_skip(why);
    CHECK(rp_test_unprivileged("65536:65536", "unprivileged-policies") == 0);
    CHECK(rp_test_unprivileged("0:0", "unprivileged-zero") == 0);
}

/* Pages that are never locked (rp_pages_plain(), silent policy): regions keep their size. A
 * region the page allocator did not lock shrank by halves when the allocator had said nothing of
 * why, as if a limit had refused it: 20,000 small secrets took 2273 arenas instead of 20. */
static void test_plain_pool_regions(void) {
    rp_pool_options_t c = rp_pool_options_default();
    c.pages = rp_pages_plain();
    c.lock_policy = RP_POOL_LOCK_SILENT;
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&c, &pool) == RP_OK);
    enum { N = 20000 };
    static void *v[N];
    for (int i = 0; i < N; i++) v[i] = rp_pool_alloc(pool, 16 + (size_t)(i % 50) * 16);
    rp_pool_stats_t s = {RP_SIZED(rp_pool_stats_t)};
    CHECK(rp_pool_stats(pool, &s) == RP_OK);
    fprintf(stderr, "    %d secrets of 16..800 bytes on plain pages: %zu arenas\n", N, s.arenas);
    CHECK(s.arenas <= 64 && s.locked == 0);
    for (int i = 0; i < N; i++) rp_pool_free(pool, v[i]);
    rp_pool_destroy(pool);
}

int main(int argc, char **argv) {
    page = rp_page_size();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-policies")) return unprivileged_policies();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-zero")) return unprivileged_zero();
    /* Cases that need something this machine may lack run alone, as their own CTest entries,
     * so that they can skip (77) with the reason while the rest still runs. */
    if (argc > 1 && !strcmp(argv[1], "core_dump")) {
        RP_TEST(test_core_dump);
        return rp_test_exit();
    }
    if (argc > 1 && !strcmp(argv[1], "guarded_map_count")) {
        RP_TEST(test_guarded_map_count);
        return rp_test_exit();
    }
    if (argc > 1 && !strcmp(argv[1], "secret_pages")) {
        RP_TEST(test_secret_pages);
        return rp_test_exit();
    }
    if (argc > 1 && !strcmp(argv[1], "stats_match_vmlck")) {
        RP_TEST(test_stats_match_vmlck);
        return rp_test_exit();
    }
    if (argc > 1 && !strcmp(argv[1], "unprivileged")) {
        RP_TEST(test_unprivileged);
        return rp_test_exit();
    }
    RP_TEST(test_api_sizes);
    RP_TEST(test_api_bad_input);
    RP_TEST(test_api_zalloc_realloc);
    RP_TEST(test_api_realloc_sized_free);
    RP_TEST(test_api_free_errno_first_use);
    RP_TEST(test_default_pool);
    RP_TEST(test_default_pool_threads);
    RP_TEST(test_layout_normal);
    RP_TEST(test_layout_canary);
    RP_TEST(test_layout_guarded);
    RP_TEST(test_layout_guarded_huge);
    RP_TEST(test_fake_growth);
    RP_TEST(test_fake_fail_after);
    RP_TEST(test_fake_limit_clamp);
    RP_TEST(test_fake_policies);
    RP_TEST(test_fake_random);
    RP_TEST(test_fake_dirty_pages);
    RP_TEST(test_metadata_outside);
    RP_TEST(test_no_malloc);
    RP_TEST(test_threads_stress);
    RP_TEST(test_thread_exit_returns_cache);
    RP_TEST(test_threads_trim_race);
    RP_TEST(test_death);
    RP_TEST(test_fork_child_reads_zeros);
    RP_TEST(test_fork_child_pool);
    RP_TEST(test_freed_bytes_zero);
    RP_TEST(test_advice_and_lock);
    RP_TEST(test_plain_pool_regions);
    return rp_test_exit();
}
