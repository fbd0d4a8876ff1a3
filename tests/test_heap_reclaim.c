/* SPDX-License-Identifier: MIT */
/* tests/test_heap_reclaim.c — memory a heap keeps (empty pages, empty segments, cached spans)
 * goes back when the program asks for it (rp_heap_collect with force) and when an allocation
 * needs it (a heap limit or a memlock budget that the kept memory uses up), and a page source
 * that cannot lock gets a true report:
 *   - collect(force) on an emptied heap leaves nothing mapped, the current page of each class
 *     included (a page kept per class used to pin its segment), on the default heap the cache of
 *     threads past their own cache's exit hook too;
 *   - a heap emptied under its limit serves a block that fits the limit;
 *   - as nobody under an 8 MiB memlock limit, a locked heap whose 5 MiB span waits in its cache
 *     serves a 6 MiB block locked, instead of failing (RP_HEAP_REQUIRE_LOCKED) or taking unlocked
 *     pages (test_heap_reclaim_unprivileged; skipped when not run as root);
 *   - RP_HEAP_REQUIRE_LOCKED on rp_pages_plain() is refused at creation, and on a source that
 *     neither locks nor says why, the failure says so instead of repeating an older error;
 *   - realloc to under half of a large block on OS pages keeps it in place and gives its tail
 *     back, and a shrink that cannot get a smaller block keeps the block it has (an address-space
 *     limit made it fail with ENOMEM).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "rampart.h"
#include "testhelper.h"

#define MIB ((size_t)1 << 20)
#define NBLOCKS 20000

static rp_heap_stats_t stats_of(rp_heap_t *h) {
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK);
    return st;
}

/* Blocks of 97 sizes, so that nearly every size class up to 4 KiB has a current page. */
static size_t size_of(int i) { return 16 + (size_t)(i % 97) * 40; }

static rp_heap_t *filled_heap;
static void *blocks[NBLOCKS];

static void *fill_half(void *arg) {
    for (int i = (int)(long)arg; i < NBLOCKS; i += 2) blocks[i] = rp_heap_malloc(filled_heap, size_of(i));
    return NULL;
}

static void test_collect_force_empties_heap(void) {
    REQUIRE(rp_heap_create(NULL, &filled_heap) == RP_OK);
    pthread_t t[2];
    for (long i = 0; i < 2; i++) REQUIRE(pthread_create(&t[i], NULL, fill_half, (void *)i) == 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < NBLOCKS; i++) {
        CHECK(blocks[i] != NULL);
        rp_free(blocks[i]);
    }
    rp_heap_collect(filled_heap, true);
    rp_heap_stats_t st = stats_of(filled_heap);
    CHECK(st.allocated == 0);
    CHECK(st.mapped == 0);
    /* And the heap works on. */
    void *p = rp_heap_malloc(filled_heap, 100);
    CHECK(p != NULL);
    rp_free(p);
    rp_heap_destroy(filled_heap);
}

/* The same on the default heap, from this thread's own cache. */
static void test_collect_force_default_heap(void) {
    for (int i = 0; i < 2000; i++) blocks[i] = rp_malloc(size_of(i));
    for (int i = 0; i < 2000; i++) {
        CHECK(blocks[i] != NULL);
        rp_free(blocks[i]);
    }
    rp_heap_collect(rp_heap_default(), true);
    rp_heap_stats_t st = stats_of(rp_heap_default());
    CHECK(st.allocated == 0);
    CHECK(st.mapped == 0);
}

/* A thread past its cache's exit hook allocates through the default heap's shared cache: a
 * pthread key made after rampart's (which its first allocation made) has its destructor run
 * after rampart's, glibc running them in the order the keys were made. A forced collect gives
 * that cache's memory back too. */
static pthread_key_t late_key;

static void allocate_late(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) blocks[i] = rp_malloc(size_of(i));
    for (int i = 0; i < 200; i++) rp_free(blocks[i]);
}

static void *late_thread(void *arg) {
    (void)arg;
    rp_free(rp_malloc(16)); /* a cache of its own first, which its exit hook then gives up */
    pthread_setspecific(late_key, &late_key);
    return NULL;
}

static void test_collect_force_shared_cache(void) {
    rp_free(rp_malloc(16)); /* rampart's thread key exists before ours */
    REQUIRE(pthread_key_create(&late_key, allocate_late) == 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, late_thread, NULL) == 0);
    pthread_join(t, NULL);
    rp_heap_collect(rp_heap_default(), true);
    rp_heap_stats_t st = stats_of(rp_heap_default());
    CHECK(st.allocated == 0);
    CHECK(st.mapped == 0);
    pthread_key_delete(late_key);
}

static void test_limit_after_emptying(void) {
    rp_heap_options_t o = rp_heap_options_default();
    o.limit = 2 * MIB;
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    int n = 0;
    while (n < 4096 && (blocks[n] = rp_heap_malloc(h, 1000)) != NULL) n++;
    CHECK(n > 1000 && n < 4096); /* the limit stopped it */
    for (int i = 0; i < n; i++) rp_free(blocks[i]);
    CHECK(stats_of(h).allocated == 0);
    void *big = rp_heap_malloc(h, 3 * MIB / 2);
    CHECK(big != NULL);
    rp_free(big);
    rp_heap_destroy(h);
}

static void test_require_locked_plain_refused(void) {
    rp_heap_options_t o = rp_heap_options_default();
    o.pages = rp_pages_plain();
    o.flags = RP_HEAP_REQUIRE_LOCKED;
    rp_heap_t *h = NULL;
    CHECK(rp_heap_create(&o, &h) == RP_ERR_INVALID);
    CHECK(h == NULL);
    CHECK(strstr(rp_last_error()->message, "never locks") != NULL);
}

/* A page source of the caller's that maps pages, never locks them and records nothing. */
static int silent_allocations, silent_frees;
static void *silent_allocate(void *ctx, size_t len, bool *locked) {
    (void)ctx;
    *locked = false;
    silent_allocations++;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
static rp_status_t silent_free(void *ctx, void *addr, size_t len) {
    (void)ctx;
    silent_frees++;
    munmap(addr, len);
    return RP_OK;
}
static size_t silent_limit(void *ctx) {
    (void)ctx;
    return SIZE_MAX;
}

static const rp_page_allocator_t silent = {sizeof(rp_page_allocator_t), "silent", silent_allocate, silent_free,
                                           silent_limit, NULL};

/* A source that never locks is asked once per span, and its spans stay in the cache: the retry
 * after a refused lock is for a source that says a limit refused it. */
static void test_silent_source_keeps_cache(void) {
    rp_heap_options_t o = rp_heap_options_default();
    o.pages = &silent;
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    rp_free(rp_heap_malloc(h, 4 * MIB)); /* its span waits in the cache */
    CHECK(stats_of(h).cached >= 4 * MIB);
    int allocations = silent_allocations, frees = silent_frees;
    void *a = rp_heap_malloc(h, 200 * 1024), *b = rp_heap_malloc(h, 100);
    CHECK(a != NULL && b != NULL);
    CHECK(silent_allocations - allocations <= 2); /* at most one mapping per miss */
    CHECK(silent_frees == frees);                  /* and the cached span was not given back */
    rp_free(a);
    rp_free(b);
    rp_heap_destroy(h);
}

/* A successful allocation leaves the thread's last error as it was (common.h), on a source that
 * never locks too. */
static void test_success_keeps_last_error(void) {
    rp_heap_options_t o = rp_heap_options_default();
    o.pages = rp_pages_plain();
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    CHECK(rp_aligned_alloc(3, 10) == NULL);
    void *p = rp_heap_malloc(h, 100);
    CHECK(p != NULL);
    CHECK(rp_last_error()->status == RP_ERR_INVALID);
    rp_free(p);
    rp_heap_destroy(h);
}

static int oom_calls;
static bool count_oom(rp_heap_t *heap, size_t size, void *ctx) {
    (void)heap, (void)size, (void)ctx;
    oom_calls++;
    return false;
}

/* A shrinking realloc that keeps its block because no smaller one can be had has not failed: no
 * out-of-memory handler runs and the last error stays. */
static void test_shrink_runs_no_handler(void) {
    rp_heap_options_t o = rp_heap_options_default();
    o.pages = rp_pages_plain();
    o.limit = 1100 * 1024;
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    char *p = rp_heap_malloc(h, MIB);
    REQUIRE(p != NULL);
    memset(p, 5, MIB);
    rp_set_oom_handler(count_oom, NULL);
    CHECK(rp_aligned_alloc(3, 10) == NULL);
    oom_calls = 0;
    char *q = rp_heap_realloc(h, p, 300 * 1024);
    CHECK(q == p && q[300 * 1024 - 1] == 5);
    CHECK(oom_calls == 0);
    CHECK(rp_last_error()->status == RP_ERR_INVALID);
    rp_set_oom_handler(NULL, NULL);
    rp_free(q);
    rp_heap_destroy(h);
}

static void test_require_locked_silent_source(void) {
    rp_heap_options_t o = rp_heap_options_default();
    o.pages = &silent;
    o.flags = RP_HEAP_REQUIRE_LOCKED;
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    CHECK(rp_aligned_alloc(3, 10) == NULL); /* an unrelated failure first: RP_ERR_INVALID */
    for (int i = 0; i < 2; i++) {
        errno = 0;
        CHECK(rp_heap_malloc(h, 100) == NULL && errno == ENOMEM);
        const rp_error_t *e = rp_last_error();
        CHECK(e->status == RP_ERR_LIMIT);
        CHECK(strstr(e->message, "could not be locked") != NULL);
        CHECK(strstr(e->message, "said nothing") != NULL);
        CHECK(strstr(e->message, "alignment") == NULL);
    }
    rp_heap_destroy(h);
}

/* This process's address space in use and resident bytes (/proc/self/statm); 0 when unknown. */
static size_t statm_bytes(bool resident) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages[2] = {0, 0};
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &pages[0], &pages[1]) != 2) pages[0] = pages[1] = 0;
        fclose(f);
    }
    return (size_t)pages[resident ? 1 : 0] * (size_t)sysconf(_SC_PAGESIZE);
}
static size_t resident_bytes(void) { return statm_bytes(true); }

/* realloc to under half of a large block on OS pages: the same block, its contents kept, and its
 * pages past the new size given back (it used to move: a copy, and both blocks resident). */
static void test_realloc_shrink_large_in_place(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    unsigned char *p = rp_heap_malloc(h, 64 * MIB);
    REQUIRE(p != NULL);
    for (size_t i = 0; i < 64 * MIB; i += 4096) p[i] = (unsigned char)(i >> 12);
    size_t before = resident_bytes();
    unsigned char *q = rp_heap_realloc(h, p, 20 * MIB);
    CHECK(q == p);
    size_t after = resident_bytes();
    CHECK(after + 40 * MIB < before);
    bool kept = true;
    for (size_t i = 0; i < 20 * MIB; i += 4096) kept = kept && q[i] == (unsigned char)(i >> 12);
    CHECK(kept);
    rp_free(q);
    rp_heap_destroy(h);
}

/* Shrinking under an address-space limit that leaves no room for a second block: it succeeds,
 * in place (OS pages), and on a page source whose locked pages cannot be discarded, where realloc
 * moves the block when it can, the block is kept when no smaller one can be had. */
#if !defined(RP_TEST_SANITIZED) /* the sanitizers map more address space than the limit leaves */
static size_t mapped_bytes(void) { return statm_bytes(false); }

static void shrink_under_as_limit(void) {
    for (int source = 0; source < 2; source++) {
        rp_heap_options_t o = rp_heap_options_default();
        o.pages = source == 0 ? NULL : rp_pages_plain();
        rp_heap_t *h = NULL;
        if (rp_heap_create(&o, &h) != RP_OK) _exit(2);
        char *p = rp_heap_malloc(h, 48 * MIB);
        if (p == NULL) _exit(3);
        memset(p, 7, 48 * MIB);
        struct rlimit as = {mapped_bytes() + 4 * MIB, RLIM_INFINITY};
        if (setrlimit(RLIMIT_AS, &as) != 0) _exit(4);
        errno = 0;
        char *q = rp_heap_realloc(h, p, 20 * MIB);
        if (q != p || errno != 0 || q[20 * MIB - 1] != 7) _exit(5 + source);
        as.rlim_cur = RLIM_INFINITY;
        if (setrlimit(RLIMIT_AS, &as) != 0) _exit(8);
        rp_free(q);
        rp_heap_destroy(h);
    }
    /* A small block of the default heap (realloc's fast path), with no memory left for any new
     * block: it stays. */
    char *small = rp_malloc(100 * 1024);
    if (small == NULL) _exit(9);
    memset(small, 3, 100 * 1024);
    struct rlimit as = {mapped_bytes() + MIB, RLIM_INFINITY};
    if (setrlimit(RLIMIT_AS, &as) != 0) _exit(10);
    for (int i = 0; i < NBLOCKS && rp_malloc(100) != NULL; i++) {
    }
    errno = 0;
    char *q = rp_realloc(small, 100);
    if (q != small || errno != 0 || q[99] != 3) _exit(11);
    _exit(0);
}
#endif

static void test_realloc_shrink_under_as_limit(void) {
#if defined(RP_TEST_SANITIZED)
    fprintf(stderr, "    (skipped under a sanitizer: its runtime maps more address space than the limit leaves)\n");
#else
    CHECK(rp_test_exits_cleanly(shrink_under_as_limit));
#endif
}

/* As nobody, RLIMIT_MEMLOCK 8 MiB: a 5 MiB span waits locked in the cache; 6 MiB more fit only
 * once it is given back. */
static int unprivileged_cached_budget(void) {
    CHECK(getuid() == 65534);
    for (unsigned flags = 0; flags <= RP_HEAP_REQUIRE_LOCKED; flags += RP_HEAP_REQUIRE_LOCKED) {
        rp_heap_options_t o = rp_heap_options_default();
        o.pages = rp_pages_os();
        o.flags = flags;
        rp_heap_t *h = NULL;
        if (rp_heap_create(&o, &h) != RP_OK) {
            CHECK(h != NULL);
            return rp_test_exit();
        }
        void *five = rp_heap_malloc(h, 5 * MIB);
        CHECK(five != NULL);
        rp_free(five);
        CHECK(stats_of(h).cached >= 5 * MIB);
        void *six = rp_heap_malloc(h, 6 * MIB);
        CHECK(six != NULL);
        CHECK(stats_of(h).unlocked == 0);
        rp_free(six);
        rp_heap_destroy(h);
    }
    return rp_test_exit();
}

static void test_unprivileged(void) {
    CHECK(rp_test_unprivileged("8388608:8388608", "unprivileged-cached-budget") == 0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "unprivileged-cached-budget") == 0) return unprivileged_cached_budget();
    if (argc > 1 && strcmp(argv[1], "unprivileged") == 0) {
        const char *why = rp_test_unprivileged_unavailable();
        if (why != NULL) rp_test_skip(why);
        RP_TEST(test_unprivileged);
        return rp_test_exit();
    }
    RP_TEST(test_collect_force_empties_heap);
    RP_TEST(test_collect_force_default_heap);
    RP_TEST(test_collect_force_shared_cache);
    RP_TEST(test_limit_after_emptying);
    RP_TEST(test_require_locked_plain_refused);
    RP_TEST(test_require_locked_silent_source);
    RP_TEST(test_silent_source_keeps_cache);
    RP_TEST(test_success_keeps_last_error);
    RP_TEST(test_shrink_runs_no_handler);
    RP_TEST(test_realloc_shrink_large_in_place);
    RP_TEST(test_realloc_shrink_under_as_limit);
    return rp_test_exit();
}
