/* SPDX-License-Identifier: MIT */
/* test_pages.c — the page allocators (seed 000): rounding and alignment, best-effort locking,
 * get_limit against the real rlimit, wipe on free, a user-supplied (fake) allocator, and every
 * bad input. As root on Linux it also re-runs itself as user nobody with small memlock limits to
 * check best-effort locking and the error classification there.
 */
#include <errno.h>
#include <stdint.h>
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

/* ---- a fake allocator, as Bitcoin's allocator tests use ---------------------------------------- */

enum { FAKE_SLOTS = 8, FAKE_SLOT_BYTES = 1 << 16 };

typedef struct fake_pages {
    unsigned char *arena;     /* FAKE_SLOTS slots, each FAKE_SLOT_BYTES, page-aligned */
    bool used[FAKE_SLOTS];
    size_t len[FAKE_SLOTS];
    int allocations, frees;
    int fail_after;           /* allocations beyond this many fail (ENOMEM) */
    int locked_count;         /* the first locked_count allocations report locked */
    size_t limit;
    size_t wiped_bytes_seen;  /* bytes that were zero when free_locked saw them */
} fake_pages_t;

static void *fake_allocate(void *ctx, size_t len, bool *locked) {
    fake_pages_t *f = ctx;
    if (f->allocations >= f->fail_after || len > FAKE_SLOT_BYTES) {
        errno = ENOMEM;
        return NULL;
    }
    for (int i = 0; i < FAKE_SLOTS; i++) {
        if (f->used[i]) continue;
        f->used[i] = true;
        f->len[i] = len;
        *locked = f->allocations < f->locked_count;
        f->allocations++;
        return f->arena + (size_t)i * FAKE_SLOT_BYTES;
    }
    errno = ENOMEM;
    return NULL;
}

static rp_status_t fake_free(void *ctx, void *addr, size_t len) {
    fake_pages_t *f = ctx;
    uintptr_t off = (uintptr_t)addr - (uintptr_t)f->arena;
    if ((uintptr_t)addr < (uintptr_t)f->arena || off % FAKE_SLOT_BYTES || off / FAKE_SLOT_BYTES >= FAKE_SLOTS)
        return RP_ERR_NOT_OWNED;
    size_t i = off / FAKE_SLOT_BYTES;
    if (!f->used[i] || f->len[i] != len) return RP_ERR_NOT_OWNED;
    rp_memzero(addr, len);
    f->wiped_bytes_seen += len - count_nonzero(addr, len);
    f->used[i] = false;
    f->frees++;
    return RP_OK;
}

static size_t fake_limit(void *ctx) { return ((fake_pages_t *)ctx)->limit; }

static void test_fake_allocator(void) {
    void *arena;
    REQUIRE(rp__os_alloc((size_t)FAKE_SLOTS * FAKE_SLOT_BYTES, &arena) == 0);
    fake_pages_t f = {.arena = arena, .fail_after = 3, .locked_count = 2, .limit = 12345};
    rp_page_allocator_t pa = {RP_SIZED(rp_page_allocator_t), "fake", fake_allocate, fake_free, fake_limit, &f};
    const size_t ps = rp_page_size();

    bool locked = false;
    void *a = rp_pages_allocate_locked(&pa, 1, &locked);
    CHECK(a != NULL && locked);
    CHECK(f.len[0] == ps); /* the wrapper rounded 1 byte up to a page */
    void *b = rp_pages_allocate_locked(&pa, ps + 1, &locked);
    CHECK(b != NULL && locked && f.len[1] == 2 * ps);
    void *c = rp_pages_allocate_locked(&pa, ps, &locked);
    CHECK(c != NULL && !locked); /* the third is past locked_count: best effort says so */
    void *d = rp_pages_allocate_locked(&pa, ps, &locked);
    CHECK(d == NULL && !locked); /* past fail_after */
    CHECK(rp_last_error()->status == RP_ERR_NOMEM);
    CHECK(strstr(rp_last_error()->message, "fake") != NULL);
    CHECK(f.allocations == 3);
    CHECK(rp_pages_get_limit(&pa) == 12345);

    memset(a, 0xEE, ps);
    memset(b, 0xEE, 2 * ps);
    CHECK(rp_pages_free_locked(&pa, a, 1) == RP_OK); /* length rounded the same way as at allocation */
    CHECK(rp_pages_free_locked(&pa, b, ps + 1) == RP_OK);
    CHECK(rp_pages_free_locked(&pa, c, ps) == RP_OK);
    CHECK(f.frees == 3);
    CHECK(f.wiped_bytes_seen == 4 * ps);
    /* A second free of the same pages is refused by the allocator, reported, and touches nothing. */
    CHECK(rp_pages_free_locked(&pa, a, ps) == RP_ERR_NOT_OWNED);
    CHECK(rp_last_error()->status == RP_ERR_NOT_OWNED);
    CHECK(f.frees == 3);
    rp__os_release(arena, (size_t)FAKE_SLOTS * FAKE_SLOT_BYTES);
}

/* ---- the built-in allocators --------------------------------------------------------------------- */

static void check_source_basics(const rp_page_allocator_t *pa) {
    const size_t ps = rp_page_size();
    const size_t sizes[] = {1, ps - 1, ps, ps + 1, 3 * ps + 17, 64 * ps};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        bool locked;
        unsigned char *p = rp_pages_allocate_locked(pa, sizes[i], &locked);
        REQUIRE(p != NULL);
        CHECK(((uintptr_t)p % ps) == 0);
        size_t rounded = rp_page_round(sizes[i]);
        CHECK(rounded % ps == 0 && rounded >= sizes[i] && rounded - sizes[i] < ps);
        CHECK(count_nonzero(p, rounded) == 0); /* fresh pages are zero */
        memset(p, 0x77, rounded);              /* the whole rounded length is usable */
        CHECK(rp_pages_free_locked(pa, p, sizes[i]) == RP_OK);
    }
}

static void test_rounding_and_alignment(void) {
    const size_t ps = rp_page_size();
    CHECK(ps >= 4096 && (ps & (ps - 1)) == 0);
    CHECK(rp_page_round(1) == ps);
    CHECK(rp_page_round(ps) == ps);
    CHECK(rp_page_round(ps + 1) == 2 * ps);
    CHECK(rp_page_round(SIZE_MAX) == 0);
    CHECK(rp_page_round(SIZE_MAX - ps + 2) == 0);
    check_source_basics(rp_pages_os());
    check_source_basics(rp_pages_plain());
    if (rp_pages_secret() != NULL) check_source_basics(rp_pages_secret());
}

static void test_plain_is_never_locked(void) {
    bool locked = true;
    void *p = rp_pages_allocate_locked(rp_pages_plain(), 4096, &locked);
    REQUIRE(p != NULL);
    CHECK(!locked);
    CHECK(rp_pages_get_limit(rp_pages_plain()) == SIZE_MAX);
    CHECK(rp_pages_free_locked(rp_pages_plain(), p, 4096) == RP_OK);
}

/* The observer sees the pages after the wipe and before they go back to the OS. */
typedef struct wipe_probe {
    const void *addr;
    size_t len, nonzero;
    int calls;
} wipe_probe_t;

static void wipe_observer(const void *addr, size_t len, void *ctx) {
    wipe_probe_t *w = ctx;
    if (addr != w->addr) return;
    w->len = len;
    w->nonzero = count_nonzero(addr, len);
    w->calls++;
}

static void check_wipe(const rp_page_allocator_t *pa) {
    const size_t len = 5 * rp_page_size();
    unsigned char *p = rp_pages_allocate_locked(pa, len, NULL);
    REQUIRE(p != NULL);
    memset(p, 0xC3, len);
    wipe_probe_t w = {.addr = p};
    rp_pages_set_free_observer(wipe_observer, &w);
    CHECK(rp_pages_free_locked(pa, p, len) == RP_OK);
    rp_pages_set_free_observer(NULL, NULL);
    CHECK(w.calls == 1);
    CHECK(w.len == len);
    CHECK(w.nonzero == 0);
}

static void test_wipe_on_free(void) {
    check_wipe(rp_pages_os());
    check_wipe(rp_pages_plain());
    if (rp_pages_secret() != NULL) check_wipe(rp_pages_secret());
}

static void check_bad_inputs(const rp_page_allocator_t *pa) {
    const size_t ps = rp_page_size();
    bool locked = true;
    CHECK(rp_pages_allocate_locked(pa, 0, &locked) == NULL && !locked);
    CHECK(rp_last_error()->status == RP_ERR_INVALID);
    CHECK(rp_pages_allocate_locked(pa, SIZE_MAX, &locked) == NULL);
    CHECK(rp_last_error()->status == RP_ERR_NOMEM);
    CHECK(rp_pages_allocate_locked(pa, SIZE_MAX - ps / 2, &locked) == NULL);
    CHECK(rp_last_error()->status == RP_ERR_NOMEM);
    /* Larger than any address space, but rounds fine: the OS refuses, we report it. */
    CHECK(rp_pages_allocate_locked(pa, SIZE_MAX / 2, &locked) == NULL);
    CHECK(rp_last_error()->status == RP_ERR_NOMEM);

    errno = 4242;
    CHECK(rp_pages_free_locked(pa, NULL, ps) == RP_ERR_INVALID);
    CHECK(errno == 4242); /* free-like calls leave errno alone */

    unsigned char *p = rp_pages_allocate_locked(pa, 2 * ps, NULL);
    REQUIRE(p != NULL);
    p[0] = 1;
    static unsigned char not_ours[64];
    errno = 4244;
    CHECK(rp_pages_free_locked(pa, not_ours, sizeof not_ours) == RP_ERR_NOT_OWNED);
    CHECK(errno == 4244);
    CHECK(rp_pages_free_locked(pa, p + ps, ps) == RP_ERR_NOT_OWNED);   /* inside, not the start */
    CHECK(rp_pages_free_locked(pa, p, ps) == RP_ERR_NOT_OWNED);        /* wrong length */
    CHECK(rp_pages_free_locked(pa, p, 0) == RP_ERR_INVALID);
    CHECK(rp_pages_free_locked(pa, p, SIZE_MAX) == RP_ERR_INVALID);
    CHECK(p[0] == 1); /* refused frees touched nothing */
    errno = 4243;
    CHECK(rp_pages_free_locked(pa, p, 2 * ps) == RP_OK);
    CHECK(errno == 4243);
    CHECK(rp_pages_free_locked(pa, p, 2 * ps) == RP_ERR_NOT_OWNED); /* double free */
    CHECK(strstr(rp_last_error()->message, "not handed out") != NULL);
}

static void test_bad_inputs(void) {
    CHECK(rp_pages_allocate_locked(NULL, 1, NULL) == NULL);
    CHECK(rp_last_error()->status == RP_ERR_INVALID);
    CHECK(rp_pages_free_locked(NULL, (void *)4096, 4096) == RP_ERR_INVALID);
    CHECK(rp_pages_get_limit(NULL) == 0);
    check_bad_inputs(rp_pages_os());
    check_bad_inputs(rp_pages_plain());
    if (rp_pages_secret() != NULL) check_bad_inputs(rp_pages_secret());
}

static void test_many_live_regions(void) {
    /* Enough live regions to grow the ownership record several times. */
    enum { N = 3000 };
    static void *p[N];
    const rp_page_allocator_t *pa = rp_pages_plain();
    for (int i = 0; i < N; i++) {
        p[i] = rp_pages_allocate_locked(pa, 1, NULL);
        REQUIRE(p[i] != NULL);
    }
    for (int i = 0; i < N; i += 2) CHECK(rp_pages_free_locked(pa, p[i], 1) == RP_OK);
    for (int i = 1; i < N; i += 2) CHECK(rp_pages_free_locked(pa, p[i], 1) == RP_OK);
    for (int i = 0; i < N; i += 97) CHECK(rp_pages_free_locked(pa, p[i], 1) == RP_ERR_NOT_OWNED);
}

static void test_get_limit_matches_rlimit(void) {
    size_t soft = 0, hard = 0;
    REQUIRE(rp__os_lock_limit(&soft, &hard) == 0);
    size_t limit = rp_pages_get_limit(rp_pages_os());
    if (rp__os_can_lock_unlimited()) CHECK(limit == SIZE_MAX);
    else CHECK(limit == soft);
}

#if !defined(_WIN32)
#include <sys/resource.h>

static void test_os_pages_locked_as_privileged(void) {
    if (!rp__os_can_lock_unlimited()) {
        fprintf(stderr, "    (not privileged: test_pages runs this as root; test_pages_unprivileged checks "
                        "locked=true as nobody)\n");
        return;
    }
    size_t before = 0, after = 0, resident = 0;
    REQUIRE(rp__os_locked_bytes(0, &before, NULL) == 0);
    const size_t len = 32 * rp_page_size();
    bool locked = false;
    void *p = rp_pages_allocate_locked(rp_pages_os(), len, &locked);
    REQUIRE(p != NULL);
    CHECK(locked);
    REQUIRE(rp__os_locked_bytes(0, &after, &resident) == 0);
    CHECK(after >= before + len);
    rp_area_t area = {RP_SIZED(rp_area_t)};
    CHECK(rp_area_of(p, &area) == RP_OK);
    CHECK(area.flags & RP_AREA_LOCKED);
    CHECK(area.flags & RP_AREA_DONTDUMP);
    CHECK(rp_pages_free_locked(rp_pages_os(), p, len) == RP_OK);
    REQUIRE(rp__os_locked_bytes(0, &after, NULL) == 0);
    CHECK(after == before);
}

/* ---- concurrency: the region records and the last-error record under threads ------------------ */

#include <pthread.h>
#include <stdio.h>

enum { RACE_THREADS = 4, RACE_ROUNDS = 200, RACE_LIVE = 8 };

/* Each thread keeps up to RACE_LIVE regions of its own live, filled with its own byte, and frees
 * them in a different order than it took them, so inserts and removals in the shared sorted
 * record interleave across threads (and the record grows while others search it). A region
 * handed to two threads at once, a record that lost an entry, or a last error written by another
 * thread shows up as a wrong byte, a refused free, or a foreign message. */
static void *race_worker(void *arg) {
    const unsigned char tag = (unsigned char)(uintptr_t)arg;
    const size_t ps = rp_page_size();
    const rp_page_allocator_t *sources[2] = {rp_pages_os(), rp_pages_plain()};
    void *live[RACE_LIVE] = {0};
    size_t lens[RACE_LIVE] = {0};
    int bad = 0;
    for (int r = 0; r < RACE_ROUNDS; r++) {
        const rp_page_allocator_t *pa = sources[r & 1];
        int slot = (r * 5 + tag) % RACE_LIVE;
        if (live[slot] != NULL) {
            const unsigned char *b = live[slot];
            for (size_t i = 0; i < lens[slot]; i += 512) bad += b[i] != tag;
            bad += rp_pages_free_locked(sources[(slot & 1)], live[slot], lens[slot]) != RP_OK;
            live[slot] = NULL;
        }
        /* A refused free: the message must name this thread's pointer, not another thread's. */
        char expect[32];
        snprintf(expect, sizeof expect, "%p", (void *)((uintptr_t)(tag + 1) * 0x10000u));
        bad += rp_pages_free_locked(pa, (void *)((uintptr_t)(tag + 1) * 0x10000u), ps) != RP_ERR_NOT_OWNED;
        bad += strstr(rp_last_error()->message, expect) == NULL;

        pa = sources[slot & 1];
        lens[slot] = (size_t)(1 + (r + tag) % 3) * ps;
        live[slot] = rp_pages_allocate_locked(pa, lens[slot], NULL);
        if (live[slot] == NULL) {
            bad++;
            continue;
        }
        memset(live[slot], tag, lens[slot]);
    }
    for (int slot = 0; slot < RACE_LIVE; slot++)
        if (live[slot] != NULL) bad += rp_pages_free_locked(sources[slot & 1], live[slot], lens[slot]) != RP_OK;
    return (void *)(intptr_t)bad;
}

static void test_threads_allocate_and_free(void) {
    pthread_t t[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, race_worker, (void *)(uintptr_t)(i + 1)) == 0);
    for (int i = 0; i < RACE_THREADS; i++) {
        void *bad = NULL;
        REQUIRE(pthread_join(t[i], &bad) == 0);
        CHECK((intptr_t)bad == 0);
    }
}

/* ---- the unprivileged re-runs (argv[1] selects the case) ------------------------------------------ */

static struct rlimit memlock_now(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_MEMLOCK, &rl);
    return rl;
}

/* As nobody with RLIMIT_MEMLOCK 64 KiB: small allocations lock, large ones come back unlocked
 * (best effort) with a limit error and a remedy; get_limit reports the real soft limit. */
static int unprivileged_small_limit(void) {
    struct rlimit rl = memlock_now();
    CHECK(getuid() == 65534);
    CHECK(!rp__os_can_lock_unlimited());
    CHECK(rl.rlim_cur == 65536);
    CHECK(rp_pages_get_limit(rp_pages_os()) == 65536);
    CHECK(rp_pages_get_limit(rp_pages_plain()) == SIZE_MAX);

    bool locked = false;
    void *small = rp_pages_allocate_locked(rp_pages_os(), 4 * rp_page_size(), &locked);
    CHECK(small != NULL && locked);
    void *big = rp_pages_allocate_locked(rp_pages_os(), 1 << 20, &locked);
    CHECK(big != NULL);  /* best effort: the memory is still handed out */
    CHECK(!locked);      /* ... and says it is not locked */
    const rp_error_t *e = rp_last_error();
    CHECK(e->status == RP_ERR_LIMIT);
    CHECK(strstr(e->message, "64 KiB") != NULL); /* the limit is named */
    CHECK(e->remedy != NULL && strstr(e->remedy, "ulimit -l") != NULL);
    memset(big, 1, 1 << 20);
    CHECK(rp_pages_free_locked(rp_pages_os(), big, 1 << 20) == RP_OK);
    CHECK(rp_pages_free_locked(rp_pages_os(), small, 4 * rp_page_size()) == RP_OK);
    check_wipe(rp_pages_os());
    return rp_test_exit();
}

/* As nobody with RLIMIT_MEMLOCK 0: nothing can be locked; the cause is "permission". */
static int unprivileged_no_limit(void) {
    CHECK(rp_pages_get_limit(rp_pages_os()) == 0);
    bool locked = true;
    void *p = rp_pages_allocate_locked(rp_pages_os(), 4096, &locked);
    CHECK(p != NULL && !locked);
    CHECK(rp_last_error()->status == RP_ERR_PERMISSION);
    CHECK(rp_last_error()->remedy != NULL && strstr(rp_last_error()->remedy, "CAP_IPC_LOCK") != NULL);
    CHECK(rp_pages_free_locked(rp_pages_os(), p, 4096) == RP_OK);
    return rp_test_exit();
}

/* As nobody with RLIMIT_MEMLOCK 100 bytes, less than one page: get_limit says 100, and no page
 * can be locked, yet every allocation still succeeds unlocked with the limit named. */
static int unprivileged_sub_page_limit(void) {
    CHECK(rp_pages_get_limit(rp_pages_os()) == 100);
    bool locked = true;
    void *p = rp_pages_allocate_locked(rp_pages_os(), 1, &locked);
    CHECK(p != NULL && !locked);
    CHECK(rp_last_error()->status == RP_ERR_LIMIT);
    CHECK(strstr(rp_last_error()->message, "100 B") != NULL);
    CHECK(rp_pages_free_locked(rp_pages_os(), p, 1) == RP_OK);
    /* Secret memory cannot be had unlocked: the mapping is refused, and the error says why. */
    const rp_page_allocator_t *secret = rp_pages_secret();
    if (secret != NULL) {
        CHECK(rp_pages_allocate_locked(secret, 1, &locked) == NULL && !locked);
        CHECK(rp_last_error()->status == RP_ERR_LIMIT);
        CHECK(strstr(rp_last_error()->message, "memlock limit soft 100 B") != NULL);
        CHECK(rp_last_error()->remedy != NULL && strstr(rp_last_error()->remedy, "ulimit -l") != NULL);
    }
    return rp_test_exit();
}

/* Its own CTest entry (test_pages_unprivileged), so a machine that cannot run it shows SKIPPED. */
static void test_unprivileged(void) {
    CHECK(rp_test_unprivileged("65536:65536", "unprivileged-small-limit") == 0);
    CHECK(rp_test_unprivileged("0:0", "unprivileged-no-limit") == 0);
    CHECK(rp_test_unprivileged("100:100", "unprivileged-sub-page-limit") == 0);
}
#endif

int main(int argc, char **argv) {
#if !defined(_WIN32)
    if (argc > 1 && !strcmp(argv[1], "unprivileged-small-limit")) return unprivileged_small_limit();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-no-limit")) return unprivileged_no_limit();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-sub-page-limit")) return unprivileged_sub_page_limit();
    if (argc > 1 && !strcmp(argv[1], "unprivileged")) {
        const char *why = rp_test_unprivileged_unavailable();
        if (why != NULL) rp_test_skip(why);
        RP_TEST(test_unprivileged);
        return rp_test_exit();
    }
#else
    (void)argc;
    (void)argv;
#endif
    RP_TEST(test_fake_allocator);
    RP_TEST(test_rounding_and_alignment);
    RP_TEST(test_plain_is_never_locked);
    RP_TEST(test_wipe_on_free);
    RP_TEST(test_bad_inputs);
    RP_TEST(test_many_live_regions);
    RP_TEST(test_get_limit_matches_rlimit);
#if !defined(_WIN32)
    RP_TEST(test_os_pages_locked_as_privileged);
    RP_TEST(test_threads_allocate_and_free);
#endif
    return rp_test_exit();
}
