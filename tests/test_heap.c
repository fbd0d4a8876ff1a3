/* SPDX-License-Identifier: MIT */
/* test_heap.c — the heap layer (issue 6): API edges (size 0, calloc overflow, huge sizes,
 * alignment rules, realloc cases), first-class heaps on every page source with limits, ralloc's
 * features (OOM handlers, double-free detection, partial and separate deallocation, in-place
 * realloc), memory behaviour (delayed release, reuse without faults), diagnostics (stats,
 * validate, junk fill), a multi-threaded stress with cross-thread frees, fork, and death tests
 * (one fork per misuse, expecting SIGABRT from the corruption handler).
 *
 * The same source runs on Windows under wine (without the fork and thread cases).
 * argv[1] == "api" runs only the cases that use the C allocator functions, for the run of this
 * binary under librampart-malloc.so (tests/heap_preload.sh).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/annotate.h"
#include "heap/heap_internal.h"
#include "rampart.h"
#include "testhelper.h"

#if !defined(_WIN32)
#  include <pthread.h>
#  include <sched.h>
#  include <semaphore.h>
#  include <sys/resource.h>
#  include <time.h>
#endif

#if defined(__SANITIZE_THREAD__)
/* fork children of a threaded parent exit with the parent's threads still "running" in TSan's
 * view; that is the point of test_fork, not a leak. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "report_thread_leaks=0"; }
#endif

static bool aligned_to(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static size_t class_blocks(rp_heap_t *h, size_t size) {
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    if (rp_heap_stats(h, &st) != RP_OK) return SIZE_MAX;
    for (size_t c = 0; c < st.classes; c++) {
        rp_heap_class_stats_t k = {RP_SIZED(rp_heap_class_stats_t)};
        if (rp_heap_class_stats(h, c, &k) != RP_OK) return SIZE_MAX;
        if (k.block_size >= size) return k.blocks;
    }
    return SIZE_MAX;
}

/* ---- the malloc family ------------------------------------------------------------------------------ */

#if !defined(_WIN32)
/* The default heap's shared cache serves threads that have no cache of their own, such as one
 * whose thread-exit destructors allocate after rampart's own destructor ran. It is made at the
 * first such allocation, not when the library starts (issue 12: a process under the preload maps
 * and faults one page less). */
static pthread_key_t lazy_key;
static unsigned char *lazy_block;

static void lazy_destructor(void *value) {
    (void)value;
    /* Keys' destructors run in the order the keys were made: rampart's, made first, has run. */
    lazy_block = rp_malloc(48);
    if (lazy_block != NULL) memset(lazy_block, 0x5a, 48);
}

static void *lazy_thread(void *arg) {
    pthread_setspecific(lazy_key, arg);
    rp_free(rp_malloc(32));
    return NULL;
}

static void test_shared_cache_lazy(void) {
    rp_heap_t *heap = rp_heap_default();
    rp_free(rp_malloc(16));
    CHECK(heap->shared == NULL);
    REQUIRE(pthread_key_create(&lazy_key, lazy_destructor) == 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, lazy_thread, &lazy_key) == 0);
    REQUIRE(pthread_join(t, NULL) == 0);
    REQUIRE(lazy_block != NULL);
    CHECK(heap->shared != NULL);
    CHECK(lazy_block[0] == 0x5a && lazy_block[47] == 0x5a);
    CHECK(rp_heap_validate(heap) == RP_OK);
    rp_free(lazy_block);
    pthread_key_delete(lazy_key);
}
#endif

static void test_sizes(void) {
    void *zero1 = rp_malloc(0), *zero2 = rp_malloc(0);
    CHECK(zero1 != NULL && zero2 != NULL && zero1 != zero2);
    CHECK(rp_usable_size(zero1) >= 1);
    rp_free(zero1);
    rp_free(zero2);
    for (size_t n = 1; n < 600000; n = n * 5 / 4 + 1) {
        unsigned char *p = rp_malloc(n);
        REQUIRE(p != NULL);
        CHECK(aligned_to(p, 16));
        CHECK(rp_usable_size(p) >= n);
        memset(p, 0xab, rp_usable_size(p));
        CHECK(p[n - 1] == 0xab);
        rp_free(p);
    }
    CHECK(rp_usable_size(NULL) == 0);
}

/* The usable size of every small request is exactly its size class (docs/heap.md): 16..128 in
 * steps of 16, then 8 classes per doubling. Computed here from that rule, independently of the
 * heap's class table and formula, for every size the table serves and past its end. */
static size_t expected_class_size(size_t n) {
    if (n <= 128) return n == 0 ? 16 : (n + 15) & ~(size_t)15;
    unsigned b = 0;
    while (((size_t)1 << (b + 1)) <= n - 1) b++; /* b = floor(log2(n - 1)) */
    size_t step = (size_t)1 << (b - 3);
    return (n + step - 1) / step * step;
}

static void test_size_classes(void) {
    for (size_t n = 0; n <= 2100; n++) {
        void *p = rp_malloc(n);
        REQUIRE(p != NULL);
        size_t u = rp_usable_size(p), want = expected_class_size(n);
        if (u != want) fprintf(stderr, "malloc(%zu): usable size %zu, expected %zu\n", n, u, want);
        CHECK(u == want);
        rp_free(p);
    }
}

/* malloc finds the page of a request up to RP__CLASS_TABLE_MAX by its size's granule
 * (heap_internal.h, cur_by_granule), a copy of the class's current page that rp__set_cur keeps.
 * Every granule must name its class's current page: through pages being made current and
 * emptied, the idle sweep giving idle classes' current pages back, and a cache that a thread
 * leaves at its exit and the next thread adopts. */
static bool cur_by_granule_consistent(const rp__local_t *local) {
    bool ok = true;
    for (unsigned g = 0; g < RP__TABLE_GRANULES; g++) {
        if (local->cur_by_granule[g] != local->cur[rp__class_table[g]]) {
            fprintf(stderr, "granule %u: page %p, its class %u's current page %p\n", g,
                    (void *)local->cur_by_granule[g], rp__class_table[g], (void *)local->cur[rp__class_table[g]]);
            ok = false;
        }
    }
    return ok;
}

#if !defined(_WIN32)
/* Uses every granule's class, checks, frees, and exits, leaving its cache with current pages. */
static void *granule_worker(void *arg) {
    bool *ok = arg;
    void *p[RP__TABLE_GRANULES];
    for (unsigned g = 0; g < RP__TABLE_GRANULES; g++) p[g] = rp_malloc(g * RP__GRAN);
    *ok = rp__tls_mine != NULL && cur_by_granule_consistent(rp__tls_mine);
    for (unsigned g = 0; g < RP__TABLE_GRANULES; g++) rp_free(p[g]);
    *ok = *ok && cur_by_granule_consistent(rp__tls_mine);
    return NULL;
}
#endif

static void test_cur_by_granule(void) {
    enum { PER_SIZE = 300, FRESH_MAX = 4096 };
    static void *blocks[RP__TABLE_GRANULES][PER_SIZE];
    static void *fresh[FRESH_MAX];
    rp_free(rp_malloc(1)); /* this thread's cache of the default heap */
    const rp__local_t *local = rp__tls_mine;
    REQUIRE(local != NULL);
    for (unsigned g = 0; g < RP__TABLE_GRANULES; g++) {
        for (unsigned i = 0; i < PER_SIZE; i++) REQUIRE((blocks[g][i] = rp_malloc(g * RP__GRAN)) != NULL);
    }
    CHECK(cur_by_granule_consistent(local));
    for (unsigned g = 0; g < RP__TABLE_GRANULES; g++) {
        for (unsigned i = 0; i < PER_SIZE; i++) rp_free(blocks[g][i]);
    }
    CHECK(cur_by_granule_consistent(local));
    /* A class past the table touches fresh memory until the idle sweep (page.c) has given back
     * the emptied current pages of the table's classes. */
    bool swept = false;
    unsigned n = 0;
    while (n < FRESH_MAX && !swept) {
        REQUIRE((fresh[n++] = rp_malloc(2048)) != NULL);
        for (unsigned g = 0; g < RP__TABLE_GRANULES && !swept; g++) swept = local->cur_by_granule[g] == &rp__empty_page;
    }
    CHECK(swept);
    CHECK(cur_by_granule_consistent(local));
    while (n > 0) rp_free(fresh[--n]);
    for (size_t size = 0; size <= RP__CLASS_TABLE_MAX; size++) {
        void *p = rp_malloc(size);
        REQUIRE(p != NULL);
        CHECK(rp_usable_size(p) == expected_class_size(size));
        rp_free(p);
    }
    CHECK(cur_by_granule_consistent(local));
#if !defined(_WIN32) /* the thread tests of this file are POSIX ones */
    /* The second thread adopts the cache the first left at its exit, current pages and all. */
    for (int k = 0; k < 2; k++) {
        pthread_t t;
        bool ok = false;
        REQUIRE(pthread_create(&t, NULL, granule_worker, &ok) == 0);
        pthread_join(t, NULL);
        CHECK(ok);
    }
#endif
}

/* The owner's free tests "is p a block start this page handed out" by divisibility without the
 * quotient (heap_internal.h, rp__is_block). Checked against the remainder for every class, every
 * byte offset of its page and a little past it, and addresses before the page's start, with the
 * last block not yet carved. */
static void test_block_check(void) {
    enum { BEFORE = 64 };
    /* The largest page and a block past it: 4 slices (32 blocks of 8 KiB) or 2 (one 128 KiB block). */
    static uint8_t area[BEFORE + (RP__SLICE_SIZE << 2) + RP__SMALL_MAX];
    for (unsigned c = 0; c < RP__CLASSES; c++) {
        size_t d = rp__heap_class_size(c), page_bytes = (size_t)rp__heap_class_slices(c) << RP__SLICE_SHIFT;
        REQUIRE(BEFORE + page_bytes + d <= sizeof area);
        size_t carved = page_bytes / d - 1;
        rp__page_t page;
        memset(&page, 0, sizeof page);
        page.own_start = area + BEFORE;
        page.bsize = (uint32_t)d;
        page.own_divides = rp__block_divides(d);
        rp__page_set_carved(&page, (uint32_t)carved);
        size_t wrong = 0;
        for (size_t at = 0; at < BEFORE + page_bytes + d; at++) {
            bool want = at >= BEFORE && (at - BEFORE) % d == 0 && (at - BEFORE) / d < carved;
            if (rp__is_block(&page, area + at) != want) wrong++;
        }
        if (wrong) fprintf(stderr, "  class %u (%zu bytes): %zu offsets judged wrongly\n", c, d, wrong);
        CHECK(wrong == 0);
    }
}

/* Blocks of 2-8 KiB come from pages of at least RP__PAGE_BLOCKS_MIN blocks (heap_internal.h,
 * rp__heap_class_slices): a class's first 32 blocks on a fresh heap share one page. With one
 * slice per page, 32 blocks of 8 KiB took 4 pages, and a program whose live blocks of a class
 * filled several pages got each freed block back through malloc's slow path. */
static void test_page_blocks_min(void) {
    static const size_t sizes[] = {2100, 3000, 4096, 5000, 6500, 8192};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        rp_heap_t *h = NULL;
        REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
        void *blocks[32];
        size_t pages = 0;
        uintptr_t first = 0;
        for (size_t b = 0; b < 32; b++) {
            blocks[b] = rp_heap_malloc(h, sizes[i]);
            REQUIRE(blocks[b] != NULL);
            uintptr_t e = rp__segmap_entry(blocks[b]);
            REQUIRE(rp__entry_is_page(e));
            if (b == 0) first = e;
            if (e != first) pages++;
        }
        if (pages != 0) fprintf(stderr, "  %zu bytes: %zu of 32 blocks outside the first block's page\n", sizes[i], pages);
        CHECK(pages == 0);
        for (size_t b = 0; b < 32; b++) rp_free(blocks[b]);
        rp_heap_destroy(h);
    }
}

static void test_huge_and_calloc(void) {
    errno = 0;
    CHECK(rp_malloc(SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(rp_malloc(SIZE_MAX / 2) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(rp_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    CHECK(rp_last_error()->status == RP_ERR_NOMEM);
    errno = 0;
    CHECK(rp_calloc((size_t)1 << 33, (size_t)1 << 33) == NULL && errno == ENOMEM);
    /* calloc zeroes, also for a block reused after a free and for large blocks from the cache */
    for (int round = 0; round < 2; round++) {
        size_t sizes[] = {1, 24, 1000, 70000, 300000, 5u << 20};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            unsigned char *p = rp_malloc(sizes[i]);
            REQUIRE(p != NULL);
            memset(p, 0x5a, sizes[i]);
            rp_free(p);
            unsigned char *q = rp_calloc(1, sizes[i]);
            REQUIRE(q != NULL);
            bool zero = true;
            for (size_t k = 0; k < sizes[i]; k++) zero = zero && q[k] == 0;
            CHECK(zero);
            rp_free(q);
        }
    }
    CHECK(rp_calloc(0, 5) != NULL);
}

static void test_realloc(void) {
    unsigned char *p = rp_realloc(NULL, 10);
    REQUIRE(p != NULL);
    for (int i = 0; i < 10; i++) p[i] = (unsigned char)i;
    size_t sizes[] = {20, 100, 5000, 200000, 3u << 20, 64, 8};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        p = rp_realloc(p, sizes[s]);
        REQUIRE(p != NULL);
        for (int i = 0; i < 8; i++) CHECK(p[i] == (unsigned char)i);
    }
    errno = 0;
    CHECK(rp_realloc(p, 0) == NULL); /* frees, glibc's rule */
    void *q = rp_malloc(100);
    errno = 0;
    CHECK(rp_realloc(q, SIZE_MAX) == NULL && errno == ENOMEM);
    CHECK(rp_usable_size(q) >= 100); /* untouched on failure */
    rp_free(q);
}

static void test_aligned(void) {
    for (size_t a = 1; a <= ((size_t)1 << 22); a <<= 1) {
        size_t sizes[] = {1, a, 3 * a + 5};
        for (size_t s = 0; s < 3; s++) {
            if (sizes[s] > ((size_t)1 << 24)) continue;
            void *p = rp_aligned_alloc(a, sizes[s]);
            REQUIRE(p != NULL);
            CHECK(aligned_to(p, a < 16 ? 16 : a));
            CHECK(rp_usable_size(p) >= sizes[s]);
            memset(p, 1, sizes[s]);
            rp_free(p);
        }
    }
    errno = 0;
    CHECK(rp_aligned_alloc(24, 10) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(rp_aligned_alloc(0, 10) == NULL && errno == EINVAL);
    CHECK(rp_last_error()->status == RP_ERR_INVALID);
    errno = 0;
    CHECK(rp_aligned_alloc((size_t)1 << 62, 1) == NULL && errno == ENOMEM);
}

static void test_free_keeps_errno(void) {
    void *p = rp_malloc(1 << 20), *q = rp_malloc(32);
    errno = 1234;
    rp_free(NULL);
    rp_free(p);
    rp_free(q);
    rp_heap_collect(rp_heap_default(), true);
    CHECK(errno == 1234);
    /* a first-class heap's frees (the unmapping happens after its lock) and partial frees */
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    unsigned char *big = rp_heap_malloc(h, (size_t)80 << 20), *s = rp_heap_malloc(h, 100);
    REQUIRE(big != NULL && s != NULL);
    errno = 4321;
    rp_free(big); /* too big for the span cache: unmapped at once */
    CHECK(rp_free_part(s, 50) == RP_OK);
    CHECK(rp_free_part(s, 0) == RP_ERR_INVALID);
    CHECK(rp_free_part(s + 50, 50) == RP_OK);
    CHECK(errno == 4321);
    rp_heap_destroy(h);
    CHECK(errno == 4321);
}

static void test_sized_free_and_in_place(void) {
    void *p = rp_malloc(100);
    REQUIRE(p != NULL);
    size_t u = rp_usable_size(p);
    CHECK(rp_realloc_in_place(p, u) == p);
    CHECK(rp_realloc_in_place(p, 10) == p);
    CHECK(rp_realloc_in_place(p, u + 1) == NULL);
    CHECK(rp_usable_size(p) == u);
    CHECK(rp_heap_expand(rp_heap_default(), p, u) == p);
    rp_free_sized(p, 100);
    rp_free_sized(NULL, 5);
    unsigned char *big = rp_malloc(300000);
    REQUIRE(big != NULL);
    size_t bu = rp_usable_size(big);
    CHECK(bu >= 300000);
    big[0] = 7;
    CHECK(rp_realloc_in_place(big, bu) == big && big[0] == 7);
    CHECK(rp_realloc_in_place(big, bu + 1) == NULL);
    CHECK(rp_realloc_in_place(NULL, 1) == NULL);
    rp_free(big);
}

/* ---- first-class heaps ------------------------------------------------------------------------------ */

static void test_heap_create_destroy(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    void *ps[2000];
    for (int i = 0; i < 2000; i++) {
        ps[i] = rp_heap_malloc(h, (size_t)(i % 700) * 13 + 1);
        REQUIRE(ps[i] != NULL);
        memset(ps[i], i & 0xff, (size_t)(i % 700) * 13 + 1);
    }
    void *big = rp_heap_malloc(h, 2u << 20);
    REQUIRE(big != NULL);
    void *al = rp_heap_aligned_alloc(h, 4096, 5000);
    CHECK(al != NULL && aligned_to(al, 4096));
    void *z = rp_heap_calloc(h, 10, 10);
    CHECK(z != NULL && ((unsigned char *)z)[99] == 0);
    for (int i = 0; i < 2000; i += 2) rp_free(ps[i]);
    void *moved = rp_heap_realloc(h, ps[1], 50000);
    CHECK(moved != NULL && ((unsigned char *)moved)[0] == 1);
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK);
    CHECK(st.allocated >= 1000 && st.large_blocks == 1 && st.mapped >= (2u << 20) && st.resident <= st.mapped);
    /* a block of another heap moves into h on rp_heap_realloc */
    char *d = rp_malloc(10);
    strcpy(d, "default");
    char *m = rp_heap_realloc(h, d, 20);
    CHECK(m != NULL && strcmp(m, "default") == 0);
    CHECK(rp_heap_expand(rp_heap_default(), m, 1) == NULL && rp_last_error()->status == RP_ERR_NOT_OWNED);
    rp_heap_destroy(h); /* everything at once */
    rp_heap_destroy(NULL);
    rp_heap_destroy(rp_heap_default()); /* ignored */
    CHECK(rp_heap_malloc(NULL, 1) == NULL && rp_last_error()->status == RP_ERR_INVALID);
    /* the constructor convention: a status, the object through out, out NULL on failure */
    rp_heap_options_t bad = {RP_SIZED(rp_heap_options_t), .flags = 0x80};
    CHECK(rp_heap_create(NULL, NULL) == RP_ERR_INVALID && strstr(rp_last_error()->message, "out is NULL") != NULL);
    h = (rp_heap_t *)&bad; /* not NULL: the failure must clear it */
    CHECK(rp_heap_create(&bad, &h) == RP_ERR_INVALID && h == NULL && rp_last_error()->status == RP_ERR_INVALID);
}

/* The growing-struct rule (rampart/common.h) on rp_heap_options_t: the defaults carry the size; an
 * older caller's smaller struct still works; a zero, too small or garbage size is refused, and so
 * is a newer caller's struct with a field this library does not know set. */
static void test_options_struct_size(void) {
    rp_heap_options_t d = rp_heap_options_default();
    CHECK(d.struct_size == sizeof(rp_heap_options_t) && d.pages == NULL && d.limit == 0 && d.flags == 0);
    rp_heap_t *h = NULL;
    CHECK(rp_heap_create(&d, &h) == RP_OK);
    rp_heap_destroy(h);
    /* version 1 ends with flags; an "old" binary's struct_size is that, without trailing padding */
    rp_heap_options_t old = {.struct_size = offsetof(rp_heap_options_t, flags) + sizeof(unsigned),
                             .limit = (size_t)3 << 20, .flags = RP_HEAP_WIPE};
    CHECK(rp_heap_create(&old, &h) == RP_OK);
    CHECK(rp_heap_malloc(h, (size_t)4 << 20) == NULL && rp_last_error()->status == RP_ERR_LIMIT);
    rp_heap_destroy(h);
    rp_heap_options_t zero = {.limit = 1 << 20};
    CHECK(rp_heap_create(&zero, &(rp_heap_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "struct_size 0") != NULL);
    rp_heap_options_t small = {.struct_size = offsetof(rp_heap_options_t, flags)};
    CHECK(rp_heap_create(&small, &(rp_heap_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    rp_heap_options_t garbage = {.struct_size = (size_t)0xdeadbeefcafe};
    CHECK(rp_heap_create(&garbage, &(rp_heap_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    /* a newer caller: its struct has one more field after ours */
    struct { rp_heap_options_t v; uint64_t future; } newer = {{RP_SIZED(rp_heap_options_t)}, 0};
    newer.v.struct_size = sizeof newer;
    CHECK(rp_heap_create(&newer.v, &h) == RP_OK); /* the unknown field is zero: nothing is asked that this library ignores */
    rp_heap_destroy(h);
    newer.future = 1;
    CHECK(rp_heap_create(&newer.v, &(rp_heap_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "cannot honour") != NULL);
}

static void test_heap_limit(void) {
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .limit = (size_t)3 << 20};
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    void *a = rp_heap_malloc(h, (size_t)1 << 20);
    CHECK(a != NULL);
    errno = 0;
    CHECK(rp_heap_malloc(h, (size_t)4 << 20) == NULL && errno == ENOMEM);
    CHECK(rp_last_error()->status == RP_ERR_LIMIT);
    size_t n = 0;
    while (rp_heap_malloc(h, 50000) != NULL && n < 1000) n++;
    CHECK(n > 5 && n < 1000);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.mapped <= o.limit && st.limit == o.limit);
    rp_heap_destroy(h);
}

/* A page source that counts what it hands out, over rp_pages_plain(). */
static size_t fake_out, fake_calls;
static void *fake_alloc(void *ctx, size_t len, bool *locked) {
    (void)ctx;
    void *p = rp_pages_allocate_locked(rp_pages_plain(), len, locked);
    if (p) {
        fake_out += len;
        fake_calls++;
    }
    return p;
}
static rp_status_t fake_free(void *ctx, void *addr, size_t len) {
    (void)ctx;
    rp_status_t st = rp_pages_free_locked(rp_pages_plain(), addr, len);
    if (st == RP_OK) fake_out -= len;
    return st;
}
static size_t fake_limit(void *ctx) {
    (void)ctx;
    return SIZE_MAX;
}

/* A page source that hands out dirty pages (its contract promises read-write memory, not zeros):
 * calloc on a heap over it must still clear what it returns, large blocks too. */
static void *dirty_alloc(void *ctx, size_t len, bool *locked) {
    void *p = fake_alloc(ctx, len, locked);
    if (p) memset(p, 0xa5, len);
    return p;
}

static void test_calloc_on_dirty_source(void) {
    rp_page_allocator_t dirty = {RP_SIZED(rp_page_allocator_t), "dirty", dirty_alloc, fake_free, fake_limit, NULL};
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .pages = &dirty};
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    size_t sizes[] = {24, 5000, (size_t)300 << 10, (size_t)3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = rp_heap_calloc(h, 1, sizes[i]);
        REQUIRE(p != NULL);
        bool zero = true;
        for (size_t k = 0; k < sizes[i]; k++) zero = zero && p[k] == 0;
        CHECK(zero);
        rp_free(p);
    }
    rp_heap_destroy(h);
    CHECK(fake_out == 0);
}

static void test_heap_page_sources(void) {
    rp_page_allocator_t fake = {RP_SIZED(rp_page_allocator_t), "fake", fake_alloc, fake_free, fake_limit, NULL};
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .pages = &fake};
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    for (int i = 0; i < 100; i++) CHECK(rp_heap_malloc(h, (size_t)i * 100 + 1) != NULL);
    CHECK(rp_heap_malloc(h, 1u << 20) != NULL);
    CHECK(fake_calls >= 2 && fake_out >= (1u << 20));
    rp_heap_destroy(h);
    CHECK(fake_out == 0); /* every page went back through the source */

    rp_heap_options_t locked = {RP_SIZED(rp_heap_options_t), .pages = rp_pages_os(), .flags = RP_HEAP_WIPE};
    REQUIRE(rp_heap_create(&locked, &h) == RP_OK);
    unsigned char *s = rp_heap_malloc(h, 64);
    REQUIRE(s != NULL);
    memset(s, 0xaa, 64);
    rp_free(s);
    /* RP_HEAP_WIPE zeroes a freed block (the first two words hold the free-list link and mark) */
    bool wiped = true;
    rp__asan_unpoison(s, 64); /* a deliberate look at a freed block (core/annotate.h) */
    for (int i = 16; i < 64; i++) wiped = wiped && s[i] == 0;
    CHECK(wiped);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.mapped >= (256u << 10)); /* a first segment of 256 KiB */
    rp_heap_destroy(h);

    const rp_page_allocator_t *secret = rp_pages_secret();
    if (secret != NULL) {
        rp_heap_options_t so = {RP_SIZED(rp_heap_options_t), .pages = secret};
        REQUIRE(rp_heap_create(&so, &h) == RP_OK);
        char *k = rp_heap_malloc(h, 32);
        CHECK(k != NULL);
        if (k) strcpy(k, "secret");
        CHECK(rp_heap_validate(h) == RP_OK);
        rp_heap_destroy(h);
    } else {
        fprintf(stderr, "    (memfd_secret unavailable: secret heap case not run)\n");
    }
}

/* ---- ralloc's features ------------------------------------------------------------------------------ */

static int oom_process_calls, oom_thread_calls;
static void *oom_reserve;
static bool oom_process(rp_heap_t *heap, size_t size, void *ctx) {
    (void)heap;
    (void)size;
    (void)ctx;
    oom_process_calls++;
    return false;
}
static bool oom_thread(rp_heap_t *heap, size_t size, void *ctx) {
    (void)size;
    oom_thread_calls++;
    *(rp_heap_t **)ctx = heap;
    rp_free(oom_reserve); /* give memory back, ask for a retry */
    oom_reserve = NULL;
    return true;
}

static int oom_gave_up;
static bool oom_thread_gives_up(rp_heap_t *heap, size_t size, void *ctx) {
    (void)heap;
    (void)size;
    (void)ctx;
    oom_gave_up++;
    return false;
}

/* A handler whose own allocation fails (the heap is still full): that allocation just fails. */
static int oom_nested_calls;
static void *oom_nested_result = (void *)1;
static bool oom_nested(rp_heap_t *heap, size_t size, void *ctx) {
    (void)ctx;
    oom_nested_calls++;
    oom_nested_result = rp_heap_malloc(heap, size);
    return false;
}

static void test_oom_handlers(void) {
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .limit = (size_t)2 << 20};
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    oom_reserve = rp_heap_malloc(h, (size_t)1536 << 10);
    REQUIRE(oom_reserve != NULL);
    rp_set_oom_handler(oom_process, NULL);
    CHECK(rp_heap_malloc(h, (size_t)1 << 20) == NULL);
    CHECK(oom_process_calls == 1);
    rp_heap_t *seen = NULL;
    rp_set_thread_oom_handler(oom_thread, &seen);
    void *p = rp_heap_malloc(h, (size_t)1 << 20); /* the handler frees the reserve: the retry works */
    CHECK(p != NULL);
    CHECK(oom_thread_calls == 1 && seen == h && oom_process_calls == 1);
    /* one-shot: the next failure goes to the process-wide handler again */
    CHECK(rp_heap_malloc(h, (size_t)3 << 20) == NULL);
    CHECK(oom_thread_calls == 1 && oom_process_calls == 2);
    /* a one-shot handler that cannot help (returns false) leaves the turn to the process-wide one */
    rp_set_thread_oom_handler(oom_thread_gives_up, NULL);
    CHECK(rp_heap_malloc(h, (size_t)3 << 20) == NULL);
    CHECK(oom_gave_up == 1 && oom_process_calls == 3);
    rp_set_oom_handler(NULL, NULL);
    CHECK(rp_heap_malloc(h, (size_t)3 << 20) == NULL && oom_process_calls == 3 && oom_gave_up == 1);
    rp_set_oom_handler(oom_nested, NULL);
    CHECK(rp_heap_malloc(h, (size_t)3 << 20) == NULL);
    CHECK(oom_nested_calls == 1 && oom_nested_result == NULL);
    rp_set_oom_handler(NULL, NULL);
    rp_heap_destroy(h);
}

/* The seed's example: a 200-byte block freed as two 100-byte halves, and nothing leaks. */
static void test_partial_free(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    size_t before = class_blocks(h, 200);
    unsigned char *vec = rp_heap_calloc(h, 200, 1);
    REQUIRE(vec != NULL);
    CHECK(class_blocks(h, 200) == before + 1);
    CHECK(rp_free_part(vec, 100) == RP_OK);
    CHECK(class_blocks(h, 200) == before + 1); /* the second half is still live */
    vec[150] = 1;
    CHECK(rp_heap_validate(h) == RP_OK);
    CHECK(rp_free_part(vec + 100, 100) == RP_OK);
    CHECK(class_blocks(h, 200) == before); /* the block went back */
    CHECK(rp_heap_validate(h) == RP_OK); /* die_free_after_both_halves: freeing it again is a double free */

    /* any order, many pieces, large blocks too */
    unsigned char *b = rp_heap_malloc(h, 1000);
    REQUIRE(b != NULL);
    size_t c1000 = class_blocks(h, 1000);
    for (int i = 9; i >= 0; i--) CHECK(rp_free_part(b + i * 100, 100) == RP_OK);
    CHECK(class_blocks(h, 1000) == c1000 - 1);
    unsigned char *lg = rp_heap_malloc(h, 1u << 20);
    REQUIRE(lg != NULL);
    CHECK(rp_free_part(lg + (512u << 10), 512u << 10) == RP_OK);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.large_blocks == 1);
    CHECK(rp_free_part(lg, 512u << 10) == RP_OK);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.large_blocks == 0);

    /* The rule's edges (heap.h): a 200-byte request gets a 208-byte block, T = 192. */
    size_t c200 = class_blocks(h, 200);
    unsigned char *e = rp_heap_malloc(h, 200);
    REQUIRE(e != NULL && rp_usable_size(e) == 208);
    CHECK(rp_free_part(e + 192, 8) == RP_OK);  /* a kept piece starting at T: not the tail case */
    CHECK(rp_free_part(e, 150) == RP_OK);
    CHECK(rp_free_part(e + 150, 40) == RP_OK); /* bytes 190 and 191 still live */
    CHECK(class_blocks(h, 200) == c200 + 1);
    CHECK(rp_free_part(e + 190, 2) == RP_OK);  /* all of 0..199 released: the block goes back */
    CHECK(class_blocks(h, 200) == c200);
    e = rp_heap_malloc(h, 200);
    REQUIRE(e != NULL);
    CHECK(rp_free_part(e + 196, 4) == RP_OK);  /* the tail released first */
    CHECK(rp_free_part(e, 196) == RP_OK);      /* the front completes the block */
    CHECK(class_blocks(h, 200) == c200);
    /* The documented early case: keep 196..199 (after T) and release the whole front first. */
    e = rp_heap_malloc(h, 200);
    REQUIRE(e != NULL);
    CHECK(rp_free_part(e, 196) == RP_OK);
    CHECK(class_blocks(h, 200) == c200); /* gone, although 196..199 were kept */

    /* bad input */
    unsigned char *c = rp_heap_malloc(h, 64);
    REQUIRE(c != NULL);
    CHECK(rp_free_part(NULL, 1) == RP_ERR_INVALID);
    CHECK(rp_free_part(c, 0) == RP_ERR_INVALID);
    CHECK(rp_free_part(c + 10, 100) == RP_ERR_INVALID);
    CHECK(rp_free_part(c + 10, SIZE_MAX) == RP_ERR_INVALID);
    /* more than 12 separate pieces */
    unsigned char *d = rp_heap_malloc(h, 4000);
    REQUIRE(d != NULL);
    for (int i = 0; i < 12; i++) CHECK(rp_free_part(d + 16 + i * 32, 16) == RP_OK);
    CHECK(rp_free_part(d + 16 + 12 * 32, 16) == RP_ERR_LIMIT);
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_heap_destroy(h); /* forgets the records of the destroyed heap */

    /* the default heap: the same example with rp_malloc */
    before = class_blocks(rp_heap_default(), 200);
    unsigned char *v = rp_malloc(200);
    REQUIRE(v != NULL);
    CHECK(rp_free_part(v, 100) == RP_OK && rp_free_part(v + 100, 100) == RP_OK);
    CHECK(class_blocks(rp_heap_default(), 200) == before);
}

/* rp_free_part's contract for blocks whose usable size says little about the request (heap.h):
 * a donated block (served at its class size), a large block made over-aligned (alignment slack
 * behind it) and a large block shrunk in place each go back once the bytes last asked for are
 * released; small aligned or shrunk blocks once their usable size is. */
static unsigned char donated_parts[4096] __attribute__((aligned(4096)));
static void test_partial_free_whole(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    REQUIRE(rp_heap_donate(h, donated_parts, sizeof donated_parts) == RP_OK);
    REQUIRE(rp_heap_stats(h, &st) == RP_OK);
    size_t before = st.allocated;
    unsigned char *d = rp_heap_malloc(h, 1001);
    REQUIRE(d != NULL && d >= donated_parts && d < donated_parts + sizeof donated_parts);
    CHECK(rp_usable_size(d) == 1024);
    CHECK(rp_free_part(d + 500, 501) == RP_OK);
    CHECK(rp_free_part(d, 500) == RP_OK); /* all 1001 bytes asked for: the block goes back */
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.allocated == before);
    CHECK(rp_heap_validate(h) == RP_OK);

    /* over-aligned large block: its span has alignment slack past the bytes asked for */
    size_t align = (size_t)1 << 20, size = 200000;
    unsigned char *a = rp_heap_aligned_alloc(h, align, size);
    REQUIRE(a != NULL && ((uintptr_t)a & (align - 1)) == 0);
    CHECK(rp_free_part(a + size / 2, size - size / 2) == RP_OK);
    CHECK(rp_free_part(a, size / 2) == RP_OK);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.large_blocks == 0);

    /* large block shrunk in place: the new size is what must be released */
    unsigned char *g = rp_heap_malloc(h, 1u << 20);
    REQUIRE(g != NULL);
    CHECK(rp_realloc_in_place(g, 300000) == g);
    CHECK(rp_free_part(g, 150000) == RP_OK);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.large_blocks == 1);
    CHECK(rp_free_part(g + 150000, 150000) == RP_OK);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.large_blocks == 0);
    /* and grown in place again: the larger size is then the one to release */
    g = rp_heap_malloc(h, 1u << 20);
    REQUIRE(g != NULL);
    CHECK(rp_realloc_in_place(g, 300000) == g && rp_realloc_in_place(g, 900000) == g);
    CHECK(rp_free_part(g, 300000) == RP_OK);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.large_blocks == 1);
    CHECK(rp_free_part(g + 300000, 600000) == RP_OK);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.large_blocks == 0);

    /* small over-aligned and small shrunk blocks keep their class: release the usable size */
    size_t c64 = class_blocks(h, 64);
    unsigned char *s = rp_heap_aligned_alloc(h, 64, 40);
    REQUIRE(s != NULL && rp_usable_size(s) == 64);
    CHECK(rp_free_part(s, 40) == RP_OK);
    CHECK(class_blocks(h, 64) == c64 + 1);
    CHECK(rp_free_part(s + 40, 24) == RP_OK);
    CHECK(class_blocks(h, 64) == c64);
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_heap_destroy(h);
}

static unsigned char donated_buffer[256] __attribute__((aligned(64)));
static unsigned char donated_other[4096 * 3];

static void test_donate(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    CHECK(rp_heap_donate(h, donated_buffer, sizeof donated_buffer) == RP_OK);
    uint32_t *x = rp_heap_malloc(h, sizeof *x);
    REQUIRE(x != NULL);
    CHECK((unsigned char *)x >= donated_buffer && (unsigned char *)x < donated_buffer + sizeof donated_buffer);
    *x = 0xDEED;
    CHECK(*x == 0xDEED);
    CHECK(rp_usable_size(x) >= sizeof *x);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.donated == 256 && st.mapped == 0);
    rp_free(x);
    /* the donation serves until it is full, then the heap maps its own pages */
    void *ps[40];
    int inside = 0;
    for (int i = 0; i < 40; i++) {
        ps[i] = rp_heap_malloc(h, 16);
        REQUIRE(ps[i] != NULL);
        inside += (unsigned char *)ps[i] >= donated_buffer && (unsigned char *)ps[i] < donated_buffer + 256;
    }
    CHECK(inside == 16);
    for (int i = 0; i < 40; i++) rp_free(ps[i]);
    void *r = rp_heap_realloc(h, rp_heap_malloc(h, 20), 100);
    CHECK(r != NULL);
    rp_free(r);
    CHECK(rp_heap_validate(h) == RP_OK);

    CHECK(rp_heap_donate(h, donated_buffer + 64, 64) == RP_ERR_EXISTS);
    void *own = rp_heap_malloc(h, 100000);
    CHECK(rp_heap_donate(h, own, 4096) == RP_ERR_EXISTS);
    CHECK(rp_heap_donate(h, donated_other, 10) == RP_ERR_INVALID);
    CHECK(rp_heap_donate(NULL, donated_other, 4096) == RP_ERR_INVALID);
    CHECK(rp_heap_donate(h, NULL, 4096) == RP_ERR_INVALID);
    rp_heap_destroy(h);
    /* Heaps that promise locked or secret memory refuse a buffer that is neither. */
    rp_heap_options_t locked = {RP_SIZED(rp_heap_options_t), .pages = rp_pages_os(), .flags = RP_HEAP_REQUIRE_LOCKED};
    rp_heap_t *hl = NULL;
    if (rp_heap_create(&locked, &hl) == RP_OK) {
        CHECK(rp_heap_donate(hl, donated_other, 4096) == RP_ERR_INVALID);
        CHECK(strstr(rp_last_error()->message, "promises locked") != NULL);
        rp_heap_destroy(hl);
    }
    if (rp_pages_secret() != NULL) {
        rp_heap_options_t secret = {RP_SIZED(rp_heap_options_t), .pages = rp_pages_secret()};
        rp_heap_t *hs = NULL;
        REQUIRE(rp_heap_create(&secret, &hs) == RP_OK);
        CHECK(rp_heap_donate(hs, donated_other, 4096) == RP_ERR_INVALID);
        CHECK(strstr(rp_last_error()->message, "promises secret") != NULL);
        rp_heap_destroy(hs);
    }
    /* after destroy the buffer is forgotten and can be donated again (here to the default heap) */
    CHECK(rp_heap_donate(rp_heap_default(), donated_buffer, sizeof donated_buffer) == RP_OK);
}

/* RP_HEAP_WIPE on the free paths beyond rp_free: a range released with rp_free_part, and the live
 * blocks of a donated buffer when the heap is destroyed (the buffer stays with its owner). */
static unsigned char wipe_donation[4096] __attribute__((aligned(4096)));

static bool all_bytes(const unsigned char *p, size_t n, unsigned char v) {
    rp__asan_unpoison(p, n); /* it looks at freed bytes on purpose (core/annotate.h) */
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return false;
    return true;
}

static void test_wipe_paths(void) {
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .flags = RP_HEAP_WIPE};
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    unsigned char *p = rp_heap_malloc(h, 1000);
    REQUIRE(p != NULL);
    size_t usable = rp_usable_size(p);
    memset(p, 0xaa, usable);
    CHECK(rp_free_part(p + 200, 100) == RP_OK);
    CHECK(all_bytes(p + 200, 100, 0));     /* released: wiped at once */
    CHECK(all_bytes(p, 200, 0xaa));        /* still the caller's */
    CHECK(all_bytes(p + 300, 100, 0xaa));
    CHECK(rp_free_part(p + 300, usable - 300) == RP_OK);
    CHECK(all_bytes(p + 300, usable - 300, 0));
    CHECK(all_bytes(p, 200, 0xaa));
    CHECK(rp_free_part(p, 200) == RP_OK); /* completes the block */
    CHECK(rp_heap_validate(h) == RP_OK);

    memset(wipe_donation, 0x55, sizeof wipe_donation);
    CHECK(rp_heap_donate(h, wipe_donation, sizeof wipe_donation) == RP_OK);
    unsigned char *d = rp_heap_malloc(h, 48);
    REQUIRE(d != NULL);
    CHECK(d >= wipe_donation && d < wipe_donation + sizeof wipe_donation);
    memset(d, 0xaa, 48);
    rp_heap_destroy(h);
    /* still mapped (never unmapped: it is not the heap's) and holding no secret */
    CHECK(all_bytes(wipe_donation, sizeof wipe_donation, 0));
}

static void test_stats_and_validate(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    size_t before = class_blocks(h, 48);
    void *ps[100];
    for (int i = 0; i < 100; i++) ps[i] = rp_heap_malloc(h, 48);
    CHECK(class_blocks(h, 48) == before + 100);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.allocated >= 4800);
    /* the size classes, one query each: 16 B up to 128 KiB, about 12.5% apart */
    CHECK(st.classes == 88);
    rp_heap_class_stats_t prev = {RP_SIZED(rp_heap_class_stats_t)}, k = prev;
    CHECK(rp_heap_class_stats(h, 0, &prev) == RP_OK && prev.block_size == 16);
    for (size_t i = 1; i < st.classes; i++) {
        CHECK(rp_heap_class_stats(h, i, &k) == RP_OK);
        CHECK(k.block_size > prev.block_size);
        CHECK(k.block_size * 8 <= prev.block_size * 9 || k.block_size <= 128);
        prev = k;
    }
    CHECK(prev.block_size == 128 * 1024);
    CHECK(rp_heap_class_stats(h, st.classes, &k) == RP_ERR_BOUNDS);
    CHECK(rp_heap_class_stats(NULL, 0, &k) == RP_ERR_INVALID && rp_heap_class_stats(h, 0, NULL) == RP_ERR_INVALID);
    for (int i = 0; i < 100; i++) rp_free(ps[i]);
    CHECK(class_blocks(h, 48) == before);
    CHECK(rp_heap_stats(NULL, &st) == RP_ERR_INVALID && rp_heap_stats(h, NULL) == RP_ERR_INVALID);
    CHECK(rp_heap_validate(NULL) == RP_ERR_INVALID);

    /* a damaged free list is found (and then repaired so the heap stays usable) */
    void **a = rp_heap_malloc(h, 64), **b = rp_heap_malloc(h, 64);
    REQUIRE(a != NULL && b != NULL);
    rp_free(a);
    CHECK(rp_heap_validate(h) == RP_OK);
    void *saved = a[0];
    a[0] = (void *)&saved;
    CHECK(rp_heap_validate(h) == RP_ERR_CORRUPT);
    CHECK(strstr(rp_last_error()->message, "free list") != NULL);
    a[0] = saved;
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_free(b);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
    rp_heap_destroy(h);
}

static void test_junk_fill(void) {
#ifndef NDEBUG
    /* A heap of its own: the default heap holds test_donate's buffer, whose blocks (served once
     * no page of the class has room, as after a forced collect) are not junk-filled. */
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    unsigned char *p = rp_heap_malloc(h, 64);
    REQUIRE(p != NULL);
    CHECK(p[10] == RP_HEAP_ALLOC_JUNK);
    rp_free(p);
    bool junk = true;
    rp__asan_unpoison(p, 64); /* a deliberate look at a freed block */
    for (int i = 16; i < 64; i++) junk = junk && p[i] == RP_HEAP_FREE_JUNK;
    CHECK(junk);
    rp_heap_destroy(h);
#else
    fprintf(stderr, "    (release build: junk fill is a debug-build feature)\n");
#endif
}

/* Large blocks are reused from the span cache without faults and leave it after the delay. */
static void test_delayed_release(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    size_t big = (size_t)8 << 20;
    unsigned char *p = rp_heap_malloc(h, big);
    REQUIRE(p != NULL);
    memset(p, 1, big);
    rp_free(p);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.cached >= big && st.resident >= big);
#if !defined(_WIN32)
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
#endif
    unsigned char *q = rp_heap_malloc(h, big - 100000);
    CHECK(q == p);
    if (q) memset(q, 2, big - 100000);
#if !defined(_WIN32)
    getrusage(RUSAGE_SELF, &r1);
    CHECK(r1.ru_minflt - r0.ru_minflt < 64); /* 2000 pages were touched: none faulted */
#endif
    rp_free(q);
    rp_heap_collect(h, false);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.cached >= big); /* not yet: the delay has not passed */
    rp_heap_collect(h, true);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.cached == 0 && st.mapped == 0 && st.purges >= 1);
#if !defined(_WIN32)
    /* after the delay (500 ms by default, RAMPART_PURGE_DELAY) a collect gives it back */
    p = rp_heap_malloc(h, big);
    rp_free(p);
    struct timespec ts = {0, 600 * 1000 * 1000};
    if (getenv("RAMPART_PURGE_DELAY") == NULL) {
        nanosleep(&ts, NULL);
        rp_heap_collect(h, false);
        CHECK(rp_heap_stats(h, &st) == RP_OK && st.cached == 0);
    }
#endif
    rp_heap_destroy(h);
}

/* Large blocks whose live count swings by more than 32 reuse their spans: a heap caches 64 freed
 * spans (mstress swings by more than 32 between rounds; with 32 slots every span past the 32nd was
 * unmapped at free and mapped again, and faulted in, at the next malloc). Collect gives them all
 * back; a cached block freed again is still a double free (test_death: die_double_free_large). */
static void test_large_cache_swing(void) {
    enum { N = 60 };
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    size_t size = (size_t)200 << 10;
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = rp_heap_malloc(h, size);
        REQUIRE(p[i] != NULL);
        memset(p[i], i, size);
    }
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    REQUIRE(rp_heap_stats(h, &st) == RP_OK);
    size_t mapped = st.mapped, purges = st.purges;
    for (int i = 0; i < N; i++) rp_free(p[i]);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.mapped == mapped && st.purges == purges && st.cached >= N * size);
    for (int i = 0; i < N; i++) {
        p[i] = rp_heap_malloc(h, size);
        REQUIRE(p[i] != NULL);
    }
    /* every block came from the cache: nothing mapped, nothing given back */
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.mapped == mapped && st.purges == purges && st.cached == 0);
    for (int i = 0; i < N; i++) rp_free(p[i]);
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_heap_collect(h, true);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.cached == 0 && st.mapped == 0 && st.purges == purges + N);
    rp_heap_destroy(h);
}

/* A class's current page is kept when it empties (a malloc/free loop must not make and retire a
 * page on every pair), but once the class stays idle while others need fresh memory it goes back,
 * and another class's new page is made on its slices, still resident. Before, every class kept
 * its last page: glibc-simple (batches of one size after another) held one page per size it had
 * used, 1.4x glibc's peak RSS. */
static void test_idle_page_reused(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    unsigned char *a = rp_heap_malloc(h, 64);
    REQUIRE(a != NULL);
    rp_free(a);
    unsigned char *again = rp_heap_malloc(h, 64); /* in use: the page stayed */
    CHECK(again >= a && again < a + 4096);
    rp_free(again);
    enum { N = 512 };
    static unsigned char *blocks[N];
    bool reused = false;
    for (int i = 0; i < N; i++) {
        blocks[i] = rp_heap_malloc(h, 1024);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], i, 1024);
        /* a is its page's first block, so this 4 KiB belongs to its slice */
        if (blocks[i] >= a && blocks[i] < a + 4096) reused = true;
    }
    CHECK(reused);
    CHECK(rp_heap_validate(h) == RP_OK);
    for (int i = 0; i < N; i++) rp_free(blocks[i]);
    rp_heap_destroy(h);
}

/* The page holding block (NULL when its entry is not a page's). */
static rp__page_t *page_of(const void *block) {
    uintptr_t e = rp__segmap_entry(block);
    return rp__entry_is_page(e) ? rp__entry_page(e) : NULL;
}

/* A page that empties keeps its blocks carved and on its lists, so that the next page of its
 * class on the same slices is that page again, with nothing to carve (glibc-simple: each batch of
 * one size emptied its pages, and the next batch of that size carved them again, 4 KiB per trip
 * through malloc's slow path). Slices another class's page has used in between are carved anew:
 * that page's blocks overwrote the old lists. */
static void test_kept_page(void) {
    enum { BLOCK = 256, PER_PAGE = 65536 / BLOCK, N = 2 * PER_PAGE, OTHER = 64, OTHER_N = 65536 / OTHER + 1 };
    static unsigned char *blocks[N];
    static void *other[OTHER_N];
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    const uint8_t *other_start = NULL;
    for (int round = 0; round < 3; round++) {
        /* Two pages: the first fills and empties (kept), the second stays its class's current
         * one. From round 1 on, the first PER_PAGE blocks come from that current page, and the
         * next one from the page made after it (the two swap roles). */
        for (int i = 0; i < N; i++) {
            blocks[i] = rp_heap_malloc(h, BLOCK);
            REQUIRE(blocks[i] != NULL);
            memset(blocks[i], 0xA0 + round, BLOCK);
            if (i == PER_PAGE) {
                rp__page_t *page = page_of(blocks[i]);
                REQUIRE(page != NULL);
                /* round 1 takes the kept page back whole; rounds 0 and 2 carve 4 KiB */
                uint32_t want = round == 1 ? PER_PAGE : 4096 / BLOCK;
                if (page->carved != want)
                    fprintf(stderr, "  round %d: a new page carved %u blocks, want %u\n", round, page->carved, want);
                CHECK(page->carved == want);
                if (round == 2 && page->start != other_start)
                    fprintf(stderr, "  round 2: page at %p, the other class's at %p\n", (void *)page->start,
                            (const void *)other_start);
                CHECK(round != 2 || page->start == other_start);
            }
        }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < BLOCK; j++)
                if (blocks[i][j] != 0xA0 + round) {
                    fprintf(stderr, "  round %d: block %d changed\n", round, i);
                    CHECK(false);
                    break;
                }
        CHECK(rp_heap_validate(h) == RP_OK);
        for (int i = 0; i < N; i++) rp_free(blocks[i]);
        if (round == 1) {
            /* Another class fills a page and empties it: that page goes on the kept page's
             * resident slices (the only ones), writes every block there, and is kept itself.
             * Round 2's new page of 256 bytes goes there (resident slices of no kept page of
             * its class), and carves it anew. */
            for (int i = 0; i < OTHER_N; i++) {
                other[i] = rp_heap_malloc(h, OTHER);
                REQUIRE(other[i] != NULL);
                memset(other[i], 0x5C, OTHER);
            }
            other_start = page_of(other[0])->start;
            for (int i = 0; i < OTHER_N; i++) rp_free(other[i]);
        }
    }
    rp_heap_destroy(h);
}

/* A kept page that was not fully carved hands out its free blocks, already resident, before it
 * carves more. Page B of 256-byte blocks stops being its class's current page with 16 blocks
 * carved (a block freed into the full page A makes A current), empties and is kept; when A runs
 * dry again, B comes back: its next block is one of those 16, and nothing more is carved. */
static void test_kept_page_partial(void) {
    enum { BLOCK = 256, PER_PAGE = 65536 / BLOCK, CARVED = 4096 / BLOCK, N = PER_PAGE + CARVED };
    static unsigned char *blocks[N];
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    for (int i = 0; i < N; i++) {
        blocks[i] = rp_heap_malloc(h, BLOCK);
        REQUIRE(blocks[i] != NULL);
    }
    rp__page_t *a = page_of(blocks[0]), *b = page_of(blocks[PER_PAGE]);
    REQUIRE(a != NULL && b != NULL && a != b && page_of(blocks[N - 1]) == b && b->carved == CARVED);
    rp_free(blocks[0]);
    blocks[0] = rp_heap_malloc(h, BLOCK); /* B has none free: A's freed block, and A is current */
    REQUIRE(page_of(blocks[0]) == a);
    for (int i = PER_PAGE; i < N; i++) rp_free(blocks[i]); /* B empties: kept, 16 carved */
    unsigned char *again = rp_heap_malloc(h, BLOCK);
    REQUIRE(again != NULL);
    CHECK(page_of(again) == b);
    size_t index = (size_t)(again - b->start) / BLOCK;
    if (index >= CARVED || b->carved != CARVED)
        fprintf(stderr, "  the page came back with block %zu handed out, %u carved\n", index, b->carved);
    CHECK(index < CARVED && b->carved == CARVED);
    rp_free(again);
    for (int i = 0; i < PER_PAGE; i++) rp_free(blocks[i]);
    rp_heap_destroy(h);
}

/* The emptied pages of a class on the local's lists other than its current one: held. */
static unsigned held_pages(rp__local_t *local, unsigned cls) {
    unsigned n = 0;
    for (rp__page_t *page = local->pages[cls]; page != NULL; page = page->next)
        n += page != local->cur[cls] && atomic_load_explicit(&page->used, memory_order_relaxed) == 0;
    return n;
}

/* Pages of few blocks (the classes above 8 KiB) stay in use when they empty, held on their class
 * list: a class in use keeps RP__HOLD_PAGES of them past a purge tick, an idle one none, and
 * rp_heap_collect takes them all. Before, each went back to its segment at its last free (a
 * program with a few live blocks of such a class made and retired a page on most calls). */
static void test_held_pages(void) {
    enum { SIZE = 20000, PAGES = 10 };
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    unsigned cls = rp__heap_size_class(SIZE);
    size_t per_page = ((size_t)rp__heap_class_slices(cls) << RP__SLICE_SHIFT) / rp__heap_class_size(cls);
    REQUIRE(per_page >= 2 && per_page <= RP__HOLD_BLOCKS);
    static void *blocks[PAGES * RP__HOLD_BLOCKS];
    size_t n = PAGES * per_page;
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < n; i++) {
            blocks[i] = rp_heap_malloc(h, SIZE);
            REQUIRE(blocks[i] != NULL);
            memset(blocks[i], 0x3C, SIZE);
        }
        for (size_t i = 0; i < n; i++) rp_free(blocks[i]);
        rp__heap_lock(h);
        rp__local_t *local = rp__heap_shared_locked(h);
        REQUIRE(local != NULL);
        unsigned held = held_pages(local, cls);
        if (held != PAGES - 1)
            fprintf(stderr, "  round %d: %u pages held after the frees, want %u\n", round, held, PAGES - 1);
        CHECK(held == PAGES - 1); /* every page but the current one */
        if (round == 0) {
            rp__local_drop_held(local, false); /* a tick: the class emptied pages since the last */
            held = held_pages(local, cls);
            CHECK(held == RP__HOLD_PAGES);
            rp__local_drop_held(local, false); /* the next: idle since */
            held = held_pages(local, cls);
            CHECK(held == 0);
            rp__heap_unlock(h);
        } else {
            rp__heap_unlock(h);
            rp_heap_collect(h, false);
            rp__heap_lock(h);
            held = held_pages(local, cls);
            rp__heap_unlock(h);
            CHECK(held == 0);
        }
        CHECK(rp_heap_validate(h) == RP_OK);
    }
    rp_heap_destroy(h);
}

/* A kept page stays kept only while no other page uses any of its slices: a page made over part
 * of it (here a 2-slice page over a kept 1-slice page and the first slice of a kept 2-slice page)
 * writes its own blocks there, and once that page is gone too its slices are dirty again, so the
 * old page would otherwise look whole. Placed through the segment layer, on a fresh heap's first
 * segment (4 slices, first fit). */
static void test_kept_page_overlap(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    rp__heap_lock(h);
    rp__local_t *local = rp__heap_shared_locked(h);
    REQUIRE(local != NULL);
    unsigned one = rp__heap_size_class(256), two = rp__heap_size_class(4096), other_two = rp__heap_size_class(3000);
    REQUIRE(rp__heap_class_slices(one) == 1 && rp__heap_class_slices(two) == 2 &&
            rp__heap_class_slices(other_two) == 2);
    rp__page_t *p1 = rp__segment_page_alloc(local, one), *p2 = rp__segment_page_alloc(local, two);
    REQUIRE(p1 != NULL && p2 != NULL && p1->seg == p2->seg);
    rp__segment_t *seg = p1->seg;
    REQUIRE(p1 == &seg->pages[0] && p2 == &seg->pages[1]);
    /* As if each had handed out blocks and had them all back: their lists are not read here. */
    rp__page_set_carved(p1, 1);
    rp__page_set_carved(p2, 1);
    rp__segment_page_free(local, p1);
    rp__segment_page_free(local, p2);
    CHECK(seg->kept_starts == 3u);
    rp__page_t *over = rp__segment_page_alloc(local, other_two);
    REQUIRE(over == &seg->pages[0]); /* slices 0-1: over all of p1 and half of p2 */
    CHECK(seg->kept_starts == 0);
    rp__segment_page_free(local, over); /* nothing carved: not kept */
    CHECK(seg->kept_starts == 0);
    rp__page_t *again = rp__segment_page_alloc(local, two);
    REQUIRE(again != NULL);
    CHECK(again->carved == 0 && again->free == NULL && again->local_free == NULL);
    rp__segment_page_free(local, again);
    rp__heap_unlock(h);
    rp_heap_destroy(h);
}

/* glibc-simple's pattern: batches of one size allocated then freed, five sizes in turn. The
 * largest batch (1600 blocks of 256 bytes) needs 7 of the 64 KiB slices; after it the segment it
 * emptied must stay with the heap and take the next batches, so that the second round's largest
 * batch goes back on the same resident slices. Before, the emptied segment went to the span cache
 * (resident, unused) while that batch touched 3 fresh slices of the next segment: 704 KiB at the
 * peak instead of 448. */
static void test_segment_spare(void) {
    static const size_t sizes[] = {16, 32, 64, 128, 256};
    static const size_t batches[] = {25, 100, 400, 1600};
    static void *blocks[1600];
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    size_t peak = 0;
    for (int round = 0; round < 3; round++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
                for (size_t i = 0; i < batches[b]; i++) {
                    blocks[i] = rp_heap_malloc(h, sizes[s]);
                    REQUIRE(blocks[i] != NULL);
                    memset(blocks[i], (int)i, sizes[s]);
                }
                rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
                REQUIRE(rp_heap_stats(h, &st) == RP_OK);
                if (st.resident > peak) peak = st.resident;
                for (size_t i = 0; i < batches[b]; i++) rp_free(blocks[i]);
            }
    CHECK(peak <= 512 * 1024);
    if (peak > 512 * 1024) fprintf(stderr, "  peak resident %zu KiB, want at most 512\n", peak / 1024);
    rp_heap_destroy(h);
}

/* ---- threads ---------------------------------------------------------------------------------------- */
#if !defined(_WIN32)

#define STRESS_THREADS 4
#define STRESS_SLOTS 512
static _Atomic(unsigned char *) stress_slots[STRESS_SLOTS];
static rp_heap_t *stress_heap;
static _Atomic int stress_bad;

static uint32_t rnd(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Each thread allocates blocks stamped with their size, swaps them into shared slots and frees
 * whatever it took out: most blocks are freed by a thread other than the one that made them. */
static void *stress_thread(void *arg) {
    uint32_t seed = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
    for (int i = 0; i < 30000; i++) {
        uint32_t r = rnd(&seed);
        size_t size = (r % 16 == 0) ? 1000 + r % 300000 : 8 + r % 1024;
        unsigned char *p = stress_heap ? rp_heap_malloc(stress_heap, size) : rp_malloc(size);
        if (p == NULL) {
            atomic_fetch_add(&stress_bad, 1);
            continue;
        }
        memcpy(p, &size, sizeof size);
        p[size - 1] = (unsigned char)size;
        unsigned char *old = atomic_exchange(&stress_slots[rnd(&seed) % STRESS_SLOTS], p);
        if (old != NULL) {
            size_t osize;
            memcpy(&osize, old, sizeof osize);
            if (old[osize - 1] != (unsigned char)osize || rp_usable_size(old) < osize) atomic_fetch_add(&stress_bad, 1);
            rp_free(old);
        }
    }
    return NULL;
}

static void run_stress(rp_heap_t *heap) {
    stress_heap = heap;
    pthread_t t[STRESS_THREADS];
    for (uintptr_t i = 0; i < STRESS_THREADS; i++) pthread_create(&t[i], NULL, stress_thread, (void *)(i + 1));
    for (int i = 0; i < STRESS_THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < STRESS_SLOTS; i++) rp_free(atomic_exchange(&stress_slots[i], NULL));
    CHECK(atomic_load(&stress_bad) == 0);
}

static void test_stress_threads(void) {
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    run_stress(NULL);
    /* a second round reuses the caches the first round's threads left behind */
    run_stress(NULL);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
    /* everything freed: once the owners collected their remote frees, the counts are back */
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    run_stress(h);
    rp_heap_collect(h, true);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.large_blocks == 0);
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_heap_destroy(h);
}

static void *fork_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) rp_free(rp_malloc((size_t)(i % 500) + 1));
    return NULL;
}

/* Syscalls outside the heap lock (design.md): a page source whose callbacks check, from another
 * thread, that the heap's lock can be taken while they run. A callback run under the lock would
 * keep the probe waiting; it gives up after two seconds and counts a failure. */
static rp_heap_t *probe_heap;
static int probe_runs, probe_blocked;
static _Atomic int probe_done;
static void *probe_thread(void *arg) {
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    (void)rp_heap_stats(arg, &st); /* takes the heap lock */
    atomic_store(&probe_done, 1);
    return NULL;
}
static void probe_lock(void) {
    if (probe_heap == NULL) return;
    pthread_t t;
    atomic_store(&probe_done, 0);
    if (pthread_create(&t, NULL, probe_thread, probe_heap) != 0) return;
    for (int i = 0; i < 2000 && !atomic_load(&probe_done); i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
    probe_runs++;
    if (!atomic_load(&probe_done)) probe_blocked++;
    pthread_detach(t); /* if it is blocked it finishes once the lock is released */
}
static void *probe_alloc(void *ctx, size_t len, bool *locked) {
    (void)ctx;
    probe_lock();
    return rp_pages_allocate_locked(rp_pages_plain(), len, locked);
}
static rp_status_t probe_free(void *ctx, void *addr, size_t len) {
    (void)ctx;
    probe_lock();
    return rp_pages_free_locked(rp_pages_plain(), addr, len);
}

/* A donation to the default heap while another thread allocates: the thread's slow path asks
 * whether the heap has donations without the heap lock, so that question must be an atomic one
 * (under TSan a plain read of the list head is a data race). The stages are relaxed atomics on
 * purpose, so they give TSan no ordering that would hide the race. */
static unsigned char race_donation[8192] __attribute__((aligned(4096)));
static _Atomic int race_stage;
static void *race_thread(void *arg) {
    (void)arg;
    void *first = rp_malloc(24); /* this thread's cache and first segment: the locking part */
    atomic_store_explicit(&race_stage, 1, memory_order_relaxed);
    while (atomic_load_explicit(&race_stage, memory_order_relaxed) != 2) sched_yield();
    bool ok = first != NULL;
    for (size_t size = 100; size <= 4000; size += size / 4) {
        void *p = rp_malloc(size); /* a class this thread has no page of yet: the slow path */
        ok = ok && p != NULL;
        rp_free(p);
    }
    rp_free(first);
    return ok ? arg : (void *)1;
}

static void test_donate_while_allocating(void) {
    pthread_t t;
    atomic_store(&race_stage, 0);
    REQUIRE(pthread_create(&t, NULL, race_thread, NULL) == 0);
    while (atomic_load_explicit(&race_stage, memory_order_relaxed) != 1) sched_yield();
    CHECK(rp_heap_donate(rp_heap_default(), race_donation, sizeof race_donation) == RP_OK);
    atomic_store_explicit(&race_stage, 2, memory_order_relaxed);
    void *res = (void *)1;
    pthread_join(t, &res);
    CHECK(res == NULL);
}

/* A thread allocates and exits; another frees its blocks. Those frees wait on the dead thread's
 * pages until someone collects them: rp_heap_collect does (before it, only a new thread that
 * adopted the cache did), so the counts drop and the pages can go back. */
#define ORPHAN_N 2000
static void *orphan_blocks[ORPHAN_N];
static void *orphan_worker(void *arg) {
    for (int i = 0; i < ORPHAN_N; i++) orphan_blocks[i] = rp_malloc(1000);
    return arg;
}

static void test_collect_exited_thread(void) {
    rp_heap_t *d = rp_heap_default();
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, orphan_worker, NULL) == 0);
    pthread_join(t, NULL);
    bool all = true;
    for (int i = 0; i < ORPHAN_N; i++) all = all && orphan_blocks[i] != NULL;
    REQUIRE(all);
    /* Blocks served from memory an earlier case donated (race_donation) are in no class's count
     * (rp_heap_class_stats_t): a new page's first blocks come from there while it has room. */
    size_t donated = 0;
    for (int i = 0; i < ORPHAN_N; i++)
        donated += (unsigned char *)orphan_blocks[i] >= race_donation &&
                   (unsigned char *)orphan_blocks[i] < race_donation + sizeof race_donation;
    size_t paged = ORPHAN_N - donated;
    size_t live = class_blocks(d, 1000); /* the worker's blocks, and maybe others' */
    CHECK(live >= paged && live != SIZE_MAX);
    for (int i = 0; i < ORPHAN_N; i++) rp_free(orphan_blocks[i]);
    rp_heap_collect(d, true);
    CHECK(class_blocks(d, 1000) <= live - paged);
    CHECK(rp_heap_validate(d) == RP_OK);
}

/* Blocks another thread freed into an exited thread's pages are collected before this thread maps
 * fresh segments (segment.c, rp__orphans_collect_paced): a thread that frees what an exited one
 * allocated, then allocates as much again, reuses that memory. Without it the exited thread's
 * segments stayed mapped and resident until a new thread adopted its cache or malloc_trim ran,
 * and the second round mapped as much again (40 MB of 400-byte blocks: 44 MB then 89 MB). */
enum { REUSE_N = 50000, REUSE_SIZE = 400 };
static void *reuse_blocks[REUSE_N];
static void *reuse_worker(void *arg) {
    for (int i = 0; i < REUSE_N; i++) {
        reuse_blocks[i] = rp_malloc(REUSE_SIZE);
        if (reuse_blocks[i] != NULL) memset(reuse_blocks[i], 1, REUSE_SIZE);
    }
    return arg;
}

static size_t default_mapped(void) {
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    return rp_heap_stats(rp_heap_default(), &st) == RP_OK ? st.mapped : 0;
}

static void test_exited_thread_memory_reused(void) {
    rp_heap_t *d = rp_heap_default();
    rp_heap_collect(d, true);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, reuse_worker, NULL) == 0);
    pthread_join(t, NULL);
    bool all = true;
    for (int i = 0; i < REUSE_N; i++) all = all && reuse_blocks[i] != NULL;
    REQUIRE(all);
    for (int i = 0; i < REUSE_N; i++) rp_free(reuse_blocks[i]);
    size_t before = default_mapped();
    nanosleep(&(struct timespec){0, 20000000}, NULL); /* past the collection's pacing (10 ms) */
    for (int i = 0; i < REUSE_N; i++) reuse_blocks[i] = rp_malloc(REUSE_SIZE);
    size_t after = default_mapped();
    fprintf(stderr, "    mapped %zu KiB before the second round, %zu KiB after (%zu KiB of blocks)\n", before >> 10,
            after >> 10, (size_t)REUSE_N * REUSE_SIZE >> 10);
    /* the second round's 20 MB come from the exited thread's memory, not from new mappings */
    CHECK(after < before + (size_t)REUSE_N * REUSE_SIZE / 4);
    for (int i = 0; i < REUSE_N; i++) rp_free(reuse_blocks[i]);
    CHECK(rp_heap_validate(d) == RP_OK);
}

/* A thread that exits returns its held pages (page.c, rp__local_release): a program whose threads
 * each used a class above 8 KiB and left would otherwise keep their emptied pages in caches that
 * wait for a new thread to adopt them. */
enum { HELD_EXIT_SIZE = 20000, HELD_EXIT_N = 30 };
static void *held_exit_blocks[HELD_EXIT_N];
static unsigned held_exit_seen;
static void *held_exit_worker(void *arg) {
    for (int i = 0; i < HELD_EXIT_N; i++) held_exit_blocks[i] = rp_malloc(HELD_EXIT_SIZE);
    for (int i = 0; i < HELD_EXIT_N; i++) rp_free(held_exit_blocks[i]);
    /* the pages stay in use while this thread lives: held, and its current one */
    for (int i = 0; i < HELD_EXIT_N; i++)
        held_exit_seen += held_exit_blocks[i] != NULL && page_of(held_exit_blocks[i]) != NULL;
    return arg;
}

static void test_held_pages_thread_exit(void) {
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, held_exit_worker, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(held_exit_seen == HELD_EXIT_N);
    unsigned after = 0;
    for (int i = 0; i < HELD_EXIT_N; i++) after += page_of(held_exit_blocks[i]) != NULL;
    /* at most the exited thread's current page of the class (a class's current page stays) */
    unsigned cls = rp__heap_size_class(HELD_EXIT_SIZE);
    size_t per_page = ((size_t)rp__heap_class_slices(cls) << RP__SLICE_SHIFT) / rp__heap_class_size(cls);
    if (after > per_page)
        fprintf(stderr, "  %u of %d freed blocks still on pages in use after the thread exited\n", after, HELD_EXIT_N);
    CHECK(after <= per_page);
}

/* Blocks other threads free go back to their owner whole: one exchange hands the owner the list
 * and its count (page.c, rp__page_collect), its malloc then hands out exactly those blocks again,
 * and the page's count of blocks out drops by the count. */
#define SPLICE_ALLOC 700 /* 320-byte blocks: 204 to a 64 KiB page, so some page is all ours */
static void *splice_all[SPLICE_ALLOC];
static void *splice_mine[SPLICE_ALLOC];
static size_t splice_n;
static void *free_splice_range(void *arg) {
    size_t *range = arg;
    for (size_t i = range[0]; i < range[1]; i++) rp_free(splice_mine[i]);
    return NULL;
}
static void free_mine_remotely(size_t from, size_t to) {
    size_t range[2] = {from, to};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_splice_range, range) == 0);
    pthread_join(t, NULL);
}
static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}
/* Fills splice_all with 320-byte blocks and returns a page every block of which is among them,
 * its blocks in splice_mine[0 .. splice_n) (some blocks may come from earlier tests' pages or
 * donations, but a page made during the loop is filled by it); NULL if there is none or a
 * malloc failed. */
static rp__page_t *fill_splice_page(void) {
    for (int i = 0; i < SPLICE_ALLOC; i++)
        if ((splice_all[i] = rp_malloc(320)) == NULL) return NULL;
    for (int k = 0; k < SPLICE_ALLOC; k++) {
        rp__page_t *pg = page_of(splice_all[k]);
        splice_n = 0;
        for (int i = 0; pg != NULL && i < SPLICE_ALLOC; i++)
            if (page_of(splice_all[i]) == pg) splice_mine[splice_n++] = splice_all[i];
        if (pg != NULL && splice_n == pg->capacity && atomic_load(&pg->used) == pg->capacity) return pg;
    }
    return NULL;
}
static void test_remote_splice(void) {
    rp__page_t *page = fill_splice_page();
    REQUIRE(page != NULL);
    free_mine_remotely(0, splice_n);
    CHECK(rp__xfree_count(atomic_load(&page->xfree)) == splice_n);
    CHECK(atomic_load(&page->used) == splice_n); /* not collected yet */

    /* The owner collects with its lists empty (all blocks were out): the remote list becomes its
     * free list as it is. */
    REQUIRE(page->free == NULL && page->local_free == NULL);
    rp__page_collect(page);
    CHECK(atomic_load(&page->used) == 0 && atomic_load(&page->xfree) == 0);
    size_t listed = 0;
    void *got[SPLICE_ALLOC];
    for (rp__block_t *b = page->free; b != NULL && listed <= splice_n; b = b->next) {
        if (listed < splice_n) got[listed] = b;
        listed++;
    }
    CHECK(listed == splice_n);
    if (listed == splice_n) {
        /* As it is: in the order of the remote list, the last freed first (a walk that links the
         * blocks one by one onto the owner's list reverses it, the first freed first). */
        bool as_pushed = true;
        for (size_t i = 0; i < splice_n; i++) as_pushed = as_pushed && got[i] == splice_mine[splice_n - 1 - i];
        CHECK(as_pushed);
        qsort(got, splice_n, sizeof got[0], cmp_ptr);
        qsort(splice_mine, splice_n, sizeof splice_mine[0], cmp_ptr);
        CHECK(memcmp(got, splice_mine, splice_n * sizeof got[0]) == 0);
    }

    /* With its free list not empty, the owner links the remote blocks in one by one. */
    for (size_t i = 0; i < 3; i++) {
        rp__block_t *b = page->free;
        page->free = b->next;
        ((uintptr_t *)b)[1] = 0; /* handed out, as malloc's pop leaves it */
        splice_mine[i] = b;
    }
    atomic_store(&page->used, 3);
    free_mine_remotely(0, 3);
    rp__page_collect(page);
    CHECK(atomic_load(&page->used) == 0 && atomic_load(&page->xfree) == 0);
    size_t found = 0;
    for (rp__block_t *b = page->free; b != NULL && found <= splice_n; b = b->next) found++;
    CHECK(found == splice_n);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
    for (int i = 0; i < SPLICE_ALLOC; i++)
        if (page_of(splice_all[i]) != page) rp_free(splice_all[i]);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
}

/* A thread with a cache of its own gathers its frees of another thread's page and sends them in
 * one push (free.c, "remote frees in batches"): after a run shorter than a batch the page's
 * remote list is still empty, rp_heap_collect in the freeing thread sends it, a full batch goes
 * by itself, and so does whatever remains when the thread exits. */
typedef struct {
    rp__page_t *page;
    size_t held, collected, full; /* xfree counts seen by the freeing thread */
} batch_seen_t;
static void *free_in_batches(void *arg) {
    batch_seen_t *seen = arg;
    rp_free(rp_malloc(24)); /* a cache of its own: only such a thread gathers */
    size_t limit = RP__XBATCH_BYTES / seen->page->bsize;
    for (size_t i = 0; i < limit - 1; i++) rp_free(splice_mine[i]);
    seen->held = rp__xfree_count(atomic_load(&seen->page->xfree));
    rp_heap_collect(rp_heap_default(), false);
    seen->collected = rp__xfree_count(atomic_load(&seen->page->xfree));
    for (size_t i = limit - 1; i < 2 * limit - 1; i++) rp_free(splice_mine[i]);
    seen->full = rp__xfree_count(atomic_load(&seen->page->xfree));
    for (size_t i = 2 * limit - 1; i < splice_n; i++) rp_free(splice_mine[i]);
    return NULL;
}
static void test_remote_batch(void) {
    rp__page_t *page = fill_splice_page();
    REQUIRE(page != NULL);
    size_t limit = RP__XBATCH_BYTES / page->bsize;
    REQUIRE(limit > 1 && splice_n > 2 * limit);
    batch_seen_t seen = {.page = page};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_in_batches, &seen) == 0);
    REQUIRE(pthread_join(t, NULL) == 0);
    CHECK(seen.held == 0);
    CHECK(seen.collected == limit - 1);
    CHECK(seen.full == 2 * limit - 1);
    CHECK(rp__xfree_count(atomic_load(&page->xfree)) == splice_n); /* the rest went at exit */
    rp__page_collect(page);
    CHECK(atomic_load(&page->used) == 0);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
    for (int i = 0; i < SPLICE_ALLOC; i++)
        if (page_of(splice_all[i]) != page) rp_free(splice_all[i]);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
}

/* Each cache's page entries carry its tag (heap_internal.h, entry_bits), so a free tells another
 * thread's block from its own by the map entry alone, without reading the page's owner word. More
 * caches live at once than there are tags: those that share one free each other's blocks, and
 * those frees still go the remote way (the owner word tells them apart). Before the tags every
 * page entry had the same low bits. */
#define TAG_THREADS 40
typedef struct {
    void *block;
    uintptr_t bits, entry_low;
    size_t partner; /* whose block this thread frees (set by the main thread) */
} tag_slot_t;
static tag_slot_t tag_slots[TAG_THREADS];
static _Atomic int tag_ready, tag_go, tag_done;
static void *tag_thread(void *arg) {
    tag_slot_t *me = &tag_slots[(uintptr_t)arg];
    /* A block of one of this cache's pages: earlier tests left donations in the default heap,
     * which malloc serves first, so straight from the page path. */
    rp_free(rp_malloc(16)); /* the thread's cache */
    if (rp__tls_mine == NULL) abort();
    me->block = rp__page_malloc_slow(rp__tls_mine, rp__heap_size_class(48), false);
    if (me->block == NULL) abort();
    me->bits = rp__tls_mine->entry_bits;
    me->entry_low = rp__segmap_entry(me->block) & RP__MAP_ENTRY_LOW;
    atomic_fetch_add(&tag_ready, 1);
    while (!atomic_load(&tag_go)) sched_yield();
    rp_free(tag_slots[me->partner].block);
    atomic_fetch_add(&tag_done, 1);
    while (atomic_load(&tag_done) < TAG_THREADS) sched_yield(); /* every cache alive until all freed */
    return NULL;
}
static void test_entry_owner_tags(void) {
    pthread_t t[TAG_THREADS];
    for (uintptr_t i = 0; i < TAG_THREADS; i++) REQUIRE(pthread_create(&t[i], NULL, tag_thread, (void *)i) == 0);
    while (atomic_load(&tag_ready) < TAG_THREADS) sched_yield();
    /* Partners: each thread frees the block of the next thread with its tag (a cycle per tag);
     * the threads whose tag no other has form one cycle of their own. */
    size_t shared_tags = 0, alone[TAG_THREADS], nalone = 0;
    for (size_t i = 0; i < TAG_THREADS; i++) {
        size_t next = i;
        for (size_t k = 1; k < TAG_THREADS && next == i; k++)
            if (tag_slots[(i + k) % TAG_THREADS].bits == tag_slots[i].bits) next = (i + k) % TAG_THREADS;
        if (next == i) alone[nalone++] = i;
        else shared_tags++;
        tag_slots[i].partner = next;
    }
    for (size_t a = 0; a < nalone; a++) tag_slots[alone[a]].partner = alone[(a + 1) % nalone];
    atomic_store(&tag_go, 1);
    for (size_t i = 0; i < TAG_THREADS; i++) REQUIRE(pthread_join(t[i], NULL) == 0);
    size_t matching = 0, distinct = 0;
    for (size_t i = 0; i < TAG_THREADS; i++) {
        matching += tag_slots[i].entry_low == tag_slots[i].bits && (tag_slots[i].bits & RP__MAP_TAG_PAGE);
        bool seen = false;
        for (size_t j = 0; j < i; j++) seen |= tag_slots[j].entry_low == tag_slots[i].entry_low;
        distinct += !seen;
    }
    CHECK(matching == TAG_THREADS);
    CHECK(distinct > 1);     /* the caches' pages differ in their entries' low bits */
    CHECK(shared_tags >= 2); /* more caches than tags: some share one, and freed each other's blocks */
    rp_heap_collect(rp_heap_default(), false);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
}

/* The owner's free tests only the low half of the freed mark (bytes 8-11) and leaves a match to
 * the slow path's test of the whole mark: a live block whose bytes 8-11 hold that half by chance
 * is freed like any other, not reported as a double free (a real double free of a 16-byte block
 * still is: die_double_free_16). */
static void test_mark_half_match(void) {
    for (size_t size = 16; size <= 64; size += 16) {
        /* A page's block (the owner's fast free): earlier tests' donations serve some sizes first. */
        enum { TRIES = 4096 };
        static void *skipped[TRIES];
        size_t nskipped = 0;
        uint8_t *p = rp_malloc(size);
        while (p != NULL && !rp__entry_is_page(rp__segmap_entry(p)) && nskipped < TRIES) {
            skipped[nskipped++] = p;
            p = rp_malloc(size);
        }
        REQUIRE(p != NULL && rp__entry_is_page(rp__segmap_entry(p)));
        while (nskipped > 0) rp_free(skipped[--nskipped]);
        uintptr_t mark = rp__freed_mark(p);
        uint32_t low = (uint32_t)mark, high = (uint32_t)(mark >> 32) ^ 1u; /* the high half differs */
        memcpy(p + sizeof(uintptr_t), &low, sizeof low);
        memcpy(p + sizeof(uintptr_t) + sizeof low, &high, sizeof high);
        rp_free(p);
        CHECK(rp__is_marked(p)); /* freed: the whole mark is there now, and the process goes on */
    }
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
}

/* The owner's free into a page that keeps live blocks is last in, first out: the block comes back
 * at the class's next malloc, while its line is still in cache. */
static void test_free_lifo(void) {
    enum { N = 64 };
    const size_t size = 656; /* a class other tests hardly use */
    void *p[N];
    size_t n = 0;
    /* Two blocks in a row from one page (the class's current one: the latest malloc came from it),
     * past earlier tests' donations, which serve some sizes first. */
    for (;;) {
        REQUIRE(n < N);
        REQUIRE((p[n++] = rp_malloc(size)) != NULL);
        if (n >= 2 && rp__entry_is_page(rp__segmap_entry(p[n - 1])) &&
            rp__segmap_entry(p[n - 1]) == rp__segmap_entry(p[n - 2]))
            break;
    }
    rp_free(p[n - 2]); /* p[n - 1] stays live in that page */
    void *q = rp_malloc(size);
    CHECK(q == p[n - 2]);
    p[n - 2] = q;
    while (n > 0) rp_free(p[--n]);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
}

static void test_syscalls_outside_lock(void) {
    rp_page_allocator_t src = {RP_SIZED(rp_page_allocator_t), "probe", probe_alloc, probe_free, fake_limit, NULL};
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .pages = &src};
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    probe_heap = h;
    void *small = rp_heap_malloc(h, 64);             /* a segment, mapped for the shared cache */
    void *large = rp_heap_malloc(h, 200 * 1024);     /* a large block's span */
    void *huge = rp_heap_malloc(h, (size_t)80 << 20); /* above the span cache's 64 MiB */
    CHECK(small != NULL && large != NULL && huge != NULL);
    int maps = probe_runs;
    CHECK(maps >= 3);
    rp_free(large); /* cached */
    rp_free(huge);  /* too big for the cache: given back at once, after the unlock */
    CHECK(probe_runs == maps + 1);
    rp_heap_collect(h, true); /* the cached span goes back */
    CHECK(probe_runs == maps + 2);
    CHECK(probe_blocked == 0);
    probe_heap = NULL;
    rp_free(small);
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_heap_destroy(h);
    /* Give detached probes that were blocked (on failure) time to finish before the next test. */
    nanosleep(&(struct timespec){0, 20000000}, NULL);

    /* A first-class heap on OS pages purges its free slices in place, releasing its lock around
     * madvise: the pages made meanwhile and afterwards are intact. */
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    enum { N = 4000 };
    static unsigned char *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = rp_heap_malloc(h, 48 + (size_t)(i % 8) * 512);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], (int)(i & 0xff), 48);
    }
    for (int i = 0; i < N; i += 2) rp_free(blocks[i]);
    rp_heap_stats_t before = {RP_SIZED(rp_heap_stats_t)}, after = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &before) == RP_OK);
    rp_heap_collect(h, true);
    CHECK(rp_heap_stats(h, &after) == RP_OK);
    CHECK(after.resident <= before.resident);
    bool intact = true;
    for (int i = 1; i < N; i += 2) intact = intact && blocks[i][0] == (unsigned char)(i & 0xff) && blocks[i][47] == (unsigned char)(i & 0xff);
    CHECK(intact);
    for (int i = 0; i < N; i += 2) {
        blocks[i] = rp_heap_malloc(h, 64);
        CHECK(blocks[i] != NULL);
    }
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_heap_destroy(h);
}

/* fork while other threads allocate: the child's heap works. */
static void test_fork(void) {
    pthread_t t;
    pthread_create(&t, NULL, fork_thread, NULL);
    for (int k = 0; k < 5; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int i = 0; i < 1000; i++) rp_free(rp_malloc((size_t)i * 7 + 1));
            rp_heap_t *h = NULL;
            void *p = rp_heap_create(NULL, &h) == RP_OK ? rp_heap_malloc(h, 100) : NULL;
            rp_heap_destroy(h);
            _exit(p != NULL && rp_heap_validate(rp_heap_default()) == RP_OK ? 0 : 1);
        }
        int status = -1;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    pthread_join(t, NULL);
}

/* After fork the caches of the parent's other threads are taken over by the child's new threads:
 * blocks the child frees into an idle thread's pages come back to a thread of the child. */
enum { ADOPT_N = 100 };
static void *adopt_blocks[ADOPT_N];
static pthread_mutex_t adopt_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t adopt_cv = PTHREAD_COND_INITIALIZER;
static int adopt_stage;
/* The fork tests' handshake: a thread goes idle (stage 1) and stays so until the parent has
 * forked (stage 2). */
static void adopt_set_stage(int stage) {
    pthread_mutex_lock(&adopt_mu);
    adopt_stage = stage;
    pthread_cond_broadcast(&adopt_cv);
    pthread_mutex_unlock(&adopt_mu);
}
static void adopt_wait_stage(int stage) {
    pthread_mutex_lock(&adopt_mu);
    while (adopt_stage != stage) pthread_cond_wait(&adopt_cv, &adopt_mu);
    pthread_mutex_unlock(&adopt_mu);
}
static bool in_donation(const void *p) {
    const unsigned char *q = p;
    return (q >= donated_buffer && q < donated_buffer + sizeof donated_buffer) ||
           (q >= donated_other && q < donated_other + sizeof donated_other);
}
static void *adopt_owner(void *arg) {
    (void)arg;
    /* Blocks from the buffers test_donate gave the default heap are anyone's: not counted. */
    for (int i = 0; i < ADOPT_N; i++) {
        adopt_blocks[i] = rp_malloc(40);
        if (in_donation(adopt_blocks[i])) i--;
    }
    adopt_set_stage(1); /* idle (outside the allocator) until the parent has forked */
    adopt_wait_stage(2);
    for (int i = 0; i < ADOPT_N; i++) rp_free(adopt_blocks[i]);
    return NULL;
}
static void *adopt_child_thread(void *arg) {
    int *found = arg;
    static void *got[4000];
    for (int i = 0; i < 4000; i++) {
        got[i] = rp_malloc(40);
        for (int k = 0; k < ADOPT_N && !*found; k++) *found = got[i] == adopt_blocks[k];
    }
    for (int i = 0; i < 4000; i++) rp_free(got[i]);
    return NULL;
}
static void test_fork_adopts_caches(void) {
#if defined(__SANITIZE_THREAD__)
    /* TSan cannot start a thread in the child of a multi-threaded fork; the plain build and the
     * preload run of this binary cover it. */
    fprintf(stderr, "    (not under ThreadSanitizer: no threads after a multi-threaded fork; "
                    "test_heap of `make test` and test_heap_preload_suite run this case)\n");
    return;
#endif
    pthread_t owner;
    REQUIRE(pthread_create(&owner, NULL, adopt_owner, NULL) == 0);
    adopt_wait_stage(1);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < ADOPT_N; i++) rp_free(adopt_blocks[i]); /* into the dead thread's pages */
        int found = 0;
        pthread_t t;
        if (pthread_create(&t, NULL, adopt_child_thread, &found) != 0) _exit(2);
        pthread_join(t, NULL);
        _exit(found && rp_heap_validate(rp_heap_default()) == RP_OK ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    adopt_set_stage(2);
    pthread_join(owner, NULL);
}

/* fork drops the remote frees other threads had gathered and not yet sent (their blocks stay in
 * use in the child), and a child's thread that takes over such a thread's cache gathers afresh:
 * its free of the same page reaches the page when it exits. */
static void *fork_batch_pair[2];
static void *batch_then_idle(void *arg) {
    (void)arg;
    rp_free(rp_malloc(24)); /* a cache of its own: only such a thread gathers */
    rp_free(fork_batch_pair[0]);
    adopt_set_stage(1); /* idle, its batch unsent, until the parent has forked */
    adopt_wait_stage(2);
    return NULL;
}
static void *free_second_of_pair(void *arg) {
    (void)arg;
    rp_free(rp_malloc(24)); /* takes over the idle thread's cache, the only one orphaned by fork */
    rp_free(fork_batch_pair[1]);
    return NULL;
}
static void test_fork_drops_batches(void) {
#if defined(__SANITIZE_THREAD__)
    fprintf(stderr, "    (not under ThreadSanitizer: no threads after a multi-threaded fork; "
                    "test_heap of `make test` and test_heap_preload_suite run this case)\n");
    return;
#endif
    void *held[64];
    int n = 0;
    rp__page_t *page = NULL;
    for (; n < 64 && page == NULL; n++) {
        REQUIRE((held[n] = rp_malloc(320)) != NULL);
        if (n > 0 && page_of(held[n]) != NULL && page_of(held[n]) == page_of(held[n - 1])) {
            page = page_of(held[n]);
            fork_batch_pair[0] = held[n - 1];
            fork_batch_pair[1] = held[n];
        }
    }
    REQUIRE(page != NULL);
    adopt_set_stage(0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, batch_then_idle, NULL) == 0);
    adopt_wait_stage(1);
    pid_t pid = fork();
    if (pid == 0) {
        uint32_t used = atomic_load(&page->used);
        pthread_t t2;
        if (pthread_create(&t2, NULL, free_second_of_pair, NULL) != 0) _exit(2);
        pthread_join(t2, NULL);
        if (rp__xfree_count(atomic_load(&page->xfree)) != 1) _exit(3); /* the second block, alone */
        rp__page_collect(page);
        if (atomic_load(&page->used) != used - 1) _exit(4);
        _exit(rp_heap_validate(rp_heap_default()) == RP_OK ? 0 : 5);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    adopt_set_stage(2);
    pthread_join(t, NULL);
    rp_free(fork_batch_pair[1]);
    for (int i = 0; i < n; i++)
        if (held[i] != fork_batch_pair[0] && held[i] != fork_batch_pair[1]) rp_free(held[i]);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
}

/* ---- death tests ------------------------------------------------------------------------------------ */

static void die_double_free(void) {
    void *p = rp_malloc(32);
    rp_free(p);
    rp_free(p);
}
/* A 16-byte block whose last byte the program wrote just before the frees (the half of the mark
 * the owner's free tests lies below it). */
static void die_double_free_16(void) {
    char *p = rp_malloc(16);
    p[15] = 'x';
    rp_free(p);
    rp_free(p);
}
static void die_double_free_later(void) {
    void *p = rp_malloc(32), *q = rp_malloc(32);
    rp_free(p);
    rp_free(q); /* p is no longer the head of the free list */
    rp_free(p);
}
static void *free_in_thread(void *p) {
    rp_free(p);
    return NULL;
}
static void die_double_free_remote(void) {
    void *ps[64];
    for (int i = 0; i < 64; i++) ps[i] = rp_malloc(48);
    pthread_t t;
    pthread_create(&t, NULL, free_in_thread, ps[5]);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, free_in_thread, ps[5]);
    pthread_join(t, NULL);
    for (int i = 0; i < 100000; i++) (void)rp_malloc(48); /* the owner runs out, collects and finds it */
}
/* More remote frees counted than blocks out: two threads freed a block at once, or the count was
 * overwritten. The owner's collect stops there instead of wrapping its count of blocks out. */
static void die_remote_count_damaged(void) {
    /* A heap of its own: the default heap may serve this size from an earlier test's donation. */
    rp_heap_t *h = NULL;
    if (rp_heap_create(NULL, &h) != RP_OK) _exit(2);
    void *p = rp_heap_malloc(h, 48);
    rp__page_t *page = rp__entry_page(rp__segmap_entry(p));
    ((uintptr_t *)p)[1] = rp__freed_mark(p); /* p freed remotely, but counted once too often */
    ((rp__block_t *)p)->next = NULL;
    uintptr_t count = (uintptr_t)atomic_load(&page->used) + 1;
    atomic_store(&page->xfree, rp__xfree_head_bits(page, p) | count << RP__XFREE_COUNT_SHIFT);
    rp__page_collect(page);
}
/* Another thread's free of a block-aligned address its page has not carved yet (never handed
 * out): caught at the free, since the owner takes the remote list without a walk. */
static void *alloc_3000(void *arg) {
    /* the first block from a page (earlier tests' donations to the default heap serve some first) */
    void *p = NULL;
    for (int i = 0; i < 4000 && (p == NULL || !rp__entry_is_page(rp__segmap_entry(p))); i++) p = rp_malloc(3000);
    *(void **)arg = p;
    return NULL;
}
static void die_free_uncarved_remote(void) {
    void *p = NULL;
    pthread_t t;
    pthread_create(&t, NULL, alloc_3000, &p);
    pthread_join(t, NULL);
    uintptr_t e = rp__segmap_entry(p);
    if (p == NULL || !rp__entry_is_page(e)) _exit(2);
    rp__page_t *page = rp__entry_page(e);
    if (page->carved >= page->capacity) _exit(3); /* a fresh page carves 4 KiB at a time */
    rp_free(page->start + (size_t)(page->capacity - 1) * page->bsize);
}
/* Caught at once by the freeing thread (the block already carries the freed mark). */
static void die_double_free_remote_at_once(void) {
    void *p = rp_malloc(48);
    pthread_t t;
    pthread_create(&t, NULL, free_in_thread, p);
    pthread_join(t, NULL);
    rp_free(p);
}
/* A block freed twice by a thread that still holds it in a batch (free.c): the mark catches it. */
static void *free_twice_with_cache(void *p) {
    rp_free(rp_malloc(24));
    rp_free(p);
    rp_free(p);
    return NULL;
}
static void die_double_free_batched(void) {
    void *p = rp_malloc(48);
    pthread_t t;
    pthread_create(&t, NULL, free_twice_with_cache, p);
    pthread_join(t, NULL);
}
/* The owner frees a block another thread has freed and still holds in a batch. */
static sem_t batched_sem;
static void *free_and_hold(void *p) {
    rp_free(rp_malloc(24));
    rp_free(p);
    sem_post(&batched_sem);
    for (;;) pause(); /* the batch is never sent: the process dies first */
    return NULL;
}
static void die_owner_frees_batched(void) {
    void *p = rp_malloc(48);
    sem_init(&batched_sem, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, free_and_hold, p);
    while (sem_wait(&batched_sem) != 0) {}
    rp_free(p);
}
/* Another thread's free of an interior pointer. */
static void die_invalid_interior_remote(void) {
    char *p = rp_malloc(64);
    pthread_t t;
    pthread_create(&t, NULL, free_in_thread, p + 16);
    pthread_join(t, NULL);
}
static void die_double_free_large(void) {
    void *p = rp_malloc(1u << 20);
    rp_free(p);
    rp_free(p);
}
static void die_invalid_stack(void) {
    int local = 0;
    rp_free(&local);
}
static void die_invalid_interior(void) {
    char *p = rp_malloc(64);
    rp_free(p + 16);
}
static void die_invalid_unaligned(void) {
    char *p = rp_malloc(64);
    rp_free(p + 3);
}
static void die_invalid_foreign(void) {
    void *p = malloc(100); /* the system allocator's block (this binary does not preload) */
    rp_free(p);
}
static void die_partial_twice(void) {
    char *p = rp_malloc(200);
    rp_free_part(p, 100);
    rp_free_part(p + 50, 10);
}
static void die_free_after_partial(void) {
    char *p = rp_malloc(200);
    rp_free_part(p, 100);
    rp_free(p);
}
/* The same from another thread (the remote free path checks the records too). */
static void die_free_after_partial_remote(void) {
    char *p = rp_malloc(200);
    rp_free_part(p, 100);
    pthread_t t;
    pthread_create(&t, NULL, free_in_thread, p);
    pthread_join(t, NULL);
}
static void die_free_after_both_halves(void) {
    char *p = rp_malloc(200);
    rp_free_part(p, 100);
    rp_free_part(p + 100, 100);
    rp_free(p); /* the block went back with the second half */
}
static void die_sized_too_big(void) {
    char *p = rp_malloc(20);
    rp_free_sized(p, 4000);
}
static void die_donated_stranger(void) {
    static unsigned char buf[8192];
    rp_heap_t *h = NULL;
    if (rp_heap_create(NULL, &h) != RP_OK) _exit(2);
    rp_heap_donate(h, buf + 100, 1000);
    rp_free(buf + 2000); /* same OS pages, not a block */
}
#ifndef NDEBUG
static void die_write_after_free(void) {
    /* A heap of its own: the default heap may hold donations from earlier tests, whose blocks
     * are not junk-filled, and serve this size from them. */
    rp_heap_t *h = NULL;
    if (rp_heap_create(NULL, &h) != RP_OK) _exit(2);
    unsigned char *p = rp_heap_malloc(h, 96);
    rp_free(p);
    p[40] = 1;
    for (int i = 0; i < 1000; i++) (void)rp_heap_malloc(h, 96); /* p comes round again: its junk is checked */
}
#endif

static void test_death(void) {
    CHECK(rp_test_dies_with(die_double_free, SIGABRT));
    CHECK(rp_test_dies_with(die_double_free_16, SIGABRT));
    CHECK(rp_test_dies_with(die_double_free_later, SIGABRT));
    CHECK(rp_test_dies_with(die_double_free_remote, SIGABRT));
    CHECK(rp_test_dies_with(die_double_free_remote_at_once, SIGABRT));
    CHECK(rp_test_dies_with(die_remote_count_damaged, SIGABRT));
    CHECK(rp_test_dies_with(die_free_uncarved_remote, SIGABRT));
    CHECK(rp_test_dies_with(die_double_free_batched, SIGABRT));
    CHECK(rp_test_dies_with(die_owner_frees_batched, SIGABRT));
    CHECK(rp_test_dies_with(die_invalid_interior_remote, SIGABRT));
    CHECK(rp_test_dies_with(die_double_free_large, SIGABRT));
    CHECK(rp_test_dies_with(die_invalid_stack, SIGABRT));
    CHECK(rp_test_dies_with(die_invalid_interior, SIGABRT));
    CHECK(rp_test_dies_with(die_invalid_unaligned, SIGABRT));
    CHECK(rp_test_dies_with(die_invalid_foreign, SIGABRT));
    CHECK(rp_test_dies_with(die_partial_twice, SIGABRT));
    CHECK(rp_test_dies_with(die_free_after_partial, SIGABRT));
    CHECK(rp_test_dies_with(die_free_after_partial_remote, SIGABRT));
    CHECK(rp_test_dies_with(die_free_after_both_halves, SIGABRT));
    CHECK(rp_test_dies_with(die_sized_too_big, SIGABRT));
    CHECK(rp_test_dies_with(die_donated_stranger, SIGABRT));
#if defined(RP__ASAN) && !defined(NDEBUG)
    /* The freed block is poisoned (core/annotate.h): ASan reports the write and exits non-zero
     * before the debug check at the next allocation could abort. */
    int st = rp_test_run_child(die_write_after_free);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
#elif !defined(NDEBUG)
    CHECK(rp_test_dies_with(die_write_after_free, SIGABRT));
#endif
}

/* The corruption handler sees what was found. */
static char corrupt_what[128];
static void record_corruption(const char *what, const void *addr, void *ctx) {
    (void)addr;
    (void)ctx;
    snprintf(corrupt_what, sizeof corrupt_what, "%s", what);
    fprintf(stdout, "%s\n", corrupt_what);
    fflush(stdout);
}
static void die_realloc_inside(void) {
    char *p = rp_malloc(64);
    (void)rp_realloc(p + 16, 100);
}

/* die() in a child whose corruption handler writes the message to a pipe: it names `expect`. */
static void check_corruption_message(void (*die)(void), const char *expect) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        rp_set_corruption_handler(record_corruption, NULL);
        die();
        _exit(0);
    }
    close(fds[1]);
    char buf[256] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(n > 0 && strstr(buf, expect) != NULL);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static void test_corruption_message(void) {
    check_corruption_message(die_double_free, "double free");
    /* A pointer inside a block: said so, as free says it (it was "not a heap block"). */
    check_corruption_message(die_realloc_inside, "points inside a block, not at its start");
}
#endif /* !_WIN32 */

#if !defined(_WIN32)
/* Bytes this process has locked now (VmLck), 0 where it cannot tell. */
static size_t locked_now(void) {
    size_t kib = 0;
#if defined(__linux__)
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmLck: %zu kB", &kib) == 1) break;
    if (f != NULL) fclose(f);
#endif
    return kib * 1024;
}

/* A locked heap under a finite memlock limit (any user; tests run as nobody under 8 MiB): a block
 * larger than the limit is handed out unlocked and counted without RP_HEAP_REQUIRE_LOCKED, and
 * refused with the limit and its remedy with it; a small block within the budget is locked. */
static void locked_heap_limited(size_t limit) {
    size_t over = limit + ((size_t)4 << 20);
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .pages = rp_pages_os()};
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    void *big = rp_heap_malloc(h, over);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(big != NULL);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.unlocked >= over);
    rp_heap_destroy(h);
    o.flags = RP_HEAP_REQUIRE_LOCKED;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    size_t used = locked_now();
    if (used + ((size_t)1 << 20) <= limit) {
        char *small = rp_heap_malloc(h, 64); /* one 256 KiB segment, within the budget */
        CHECK(small != NULL);
        rp_area_t a = {RP_SIZED(rp_area_t)};
        CHECK(small != NULL && rp_area_of(small, &a) == RP_OK && (a.flags & RP_AREA_LOCKED));
    } else {
        fprintf(stderr, "    (memlock limit %zu, %zu locked already: no budget for the small locked block)\n", limit,
                used);
    }
    errno = 0;
    CHECK(rp_heap_malloc(h, over) == NULL && errno == ENOMEM);
    const rp_error_t *e = rp_last_error();
    CHECK(e->status == RP_ERR_LIMIT);
    CHECK(strstr(e->message, "could not be locked") != NULL);
    CHECK(e->remedy != NULL && strstr(e->remedy, "ulimit -l") != NULL);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.unlocked == 0);
    rp_heap_destroy(h);
}
#endif

/* A locked heap: with unlimited locking (root) every span is locked (counted in the process's
 * locked areas); under a finite limit, the limited checks above. */
static void test_locked_heap(void) {
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .pages = rp_pages_os(), .flags = RP_HEAP_REQUIRE_LOCKED};
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    char *p = rp_heap_malloc(h, 100), *big = rp_heap_malloc(h, 1u << 20);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    if (rp_pages_get_limit(rp_pages_os()) == SIZE_MAX) {
        CHECK(p != NULL && big != NULL);
        CHECK(rp_heap_stats(h, &st) == RP_OK && st.unlocked == 0);
        rp_area_t a = {RP_SIZED(rp_area_t)};
        CHECK(p != NULL && rp_area_of(p, &a) == RP_OK && (a.flags & RP_AREA_LOCKED));
        CHECK(big != NULL && rp_area_of(big, &a) == RP_OK && (a.flags & RP_AREA_LOCKED));
        /* locked pages are resident, touched or not: all of what the heap holds (a 256 KiB
         * segment with one page counted 64 KiB) */
        CHECK_SAYING(st.resident == st.mapped, "resident %zu of %zu mapped", st.resident, st.mapped);
    } else {
#if defined(_WIN32)
        /* Windows bounds locking by the working set, which the process can grow itself: the
         * memlock-limit behaviour checked below is POSIX's. */
        fprintf(stderr, "    (Windows: the finite-limit checks are POSIX's, not run)\n");
#else
        rp_heap_destroy(h);
        h = NULL;
        locked_heap_limited(rp_pages_get_limit(rp_pages_os()));
#endif
    }
    if (h != NULL) rp_heap_destroy(h);
    rp_heap_options_t plain = {RP_SIZED(rp_heap_options_t), .flags = RP_HEAP_REQUIRE_LOCKED};
    CHECK(rp_heap_create(&plain, &(rp_heap_t *){NULL}) != RP_OK && rp_last_error()->status == RP_ERR_INVALID);
}

#if defined(__linux__)
/* ---- large blocks and small processes (issue 12, item 4) ------------------------------------------ */

/* Resident bytes of this process now (/proc/self/statm), 0 when unreadable. */
static size_t rss_now(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL) return 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (size_t)resident * rp_page_size() : 0;
}

/* Peak resident bytes of this process (getrusage: kilobytes on Linux). */
static size_t rss_peak(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (size_t)ru.ru_maxrss * 1024 : 0;
}

/* A large block costs the segment map a fixed amount whatever its size, and nothing stays resident
 * after its free (before: 8 bytes of map per 4 KiB page, kept: malloc(16 GiB) left 32 MiB). */
static void test_large_map_cost(void) {
    size_t sizes[] = {(size_t)16 << 30, (size_t)4 << 30, (size_t)1 << 30};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t before = rss_now();
        char *p = rp_malloc(sizes[i]);
        if (p == NULL) continue; /* no address space or commit for this size here: try a smaller one */
        size_t during = rss_now();
        p[0] = 1;
        p[sizes[i] - 1] = 2;
        CHECK(rp_usable_size(p) >= sizes[i]);
        rp_free(p);
        rp_heap_collect(rp_heap_default(), true);
        size_t after = rss_now();
        fprintf(stderr, "    malloc(%zu MiB): RSS %+ld KiB while held (map), %+ld KiB after free\n", sizes[i] >> 20,
                ((long)during - (long)before) / 1024, ((long)after - (long)before) / 1024);
        CHECK(before != 0);
        CHECK(during < before + ((size_t)1 << 20));
        CHECK(after < before + ((size_t)1 << 20));
        return;
    }
    CHECK(!"no large block of 1 GiB or more could be mapped");
}

/* Above 1 MiB a large span on OS pages is a power of two, so a freed block's cached span serves the
 * next larger blocks of its range where it is, instead of an mremap that moves every page to a
 * new address at each new maximum (bigreuse: five moves, the last 15 ms of a 120 ms run). */
static void test_large_span_headroom(void) {
    const size_t mib = (size_t)1 << 20;
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    char *p = rp_heap_malloc(h, 5 * mib);
    REQUIRE(p != NULL);
    CHECK(rp_usable_size(p) == 8 * mib);
    memset(p, 1, 5 * mib);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    REQUIRE(rp_heap_stats(h, &st) == RP_OK);
    size_t mapped = st.mapped;
    rp_free(p);
    char *q = rp_heap_malloc(h, 7 * mib + mib / 2);
    CHECK(q == p); /* the same span, not grown: nothing more mapped */
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.mapped == mapped);
    rp_free(q);
    /* A cached span of a size between a block's exact size and its power of two (an aligned
     * block's span is not rounded) serves it as it is, not grown to the power of two first. */
    rp_heap_collect(h, true);
    p = rp_heap_aligned_alloc(h, 2 * mib, 5 * mib); /* a span of 7 MiB - 4 KiB */
    REQUIRE(p != NULL);
    REQUIRE(rp_heap_stats(h, &st) == RP_OK);
    mapped = st.mapped;
    rp_free(p);
    q = rp_heap_malloc(h, 6 * mib);
    CHECK(q != NULL && rp_usable_size(q) >= 6 * mib && rp_usable_size(q) < 8 * mib);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.mapped == mapped);
    rp_free(q);
    /* 1 MiB and below: 8 sizes per doubling, as before (the cached span would serve it: drop it) */
    rp_heap_collect(h, true);
    p = rp_heap_malloc(h, mib - 5 * 4096);
    REQUIRE(p != NULL);
    CHECK(rp_usable_size(p) == mib);
    rp_free(p);
    rp_heap_destroy(h);
}

/* A new segment leaves the cached spans of large blocks alone: they are no larger block of the
 * same program. Each new segment used to give back every cached span under half its size, so a
 * program whose small blocks keep growing mapped its 128-256 KiB blocks again and again (mstress
 * at 16 threads: 490 of its 600 munmap calls). A heap with a limit, so that no cached span is
 * grown into a segment instead. */
static void test_segment_keeps_large_cache(void) {
    enum { LARGE = 4, SMALL = 2048 };
    rp_heap_options_t o = rp_heap_options_default();
    o.limit = (size_t)256 << 20;
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(&o, &h) == RP_OK);
    void *large[LARGE];
    for (int i = 0; i < LARGE; i++) REQUIRE((large[i] = rp_heap_malloc(h, 200 * 1024)) != NULL);
    for (int i = 0; i < LARGE; i++) rp_free(large[i]);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    REQUIRE(rp_heap_stats(h, &st) == RP_OK);
    size_t cached = st.cached;
    CHECK(cached >= LARGE * 200 * 1024);
    /* 2 MiB of small blocks: segments of 256 KiB, 512 KiB, 1 MiB, each a miss of the cache. */
    static void *small[SMALL];
    for (int i = 0; i < SMALL; i++) REQUIRE((small[i] = rp_heap_malloc(h, 1000)) != NULL);
    REQUIRE(rp_heap_stats(h, &st) == RP_OK);
    CHECK_SAYING(st.cached >= cached, "cached %zu bytes before the segments, %zu after", cached, st.cached);
    void *again = rp_heap_malloc(h, 200 * 1024);
    bool reused = false;
    for (int i = 0; i < LARGE; i++) reused = reused || again == large[i];
    CHECK(reused);
    rp_free(again);
    for (int i = 0; i < SMALL; i++) rp_free(small[i]);
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_heap_destroy(h);
}

/* The rounding gives way to a limit: where the power of two does not fit the address space left
 * but the block does, the block gets its exact size. */
#if !defined(RP_TEST_SANITIZED) /* the sanitizers reserve more address space than the limit */
static void headroom_limit_child(void) {
    const size_t mib = (size_t)1 << 20;
    rp_heap_t *h = NULL;
    if (rp_heap_create(NULL, &h) != RP_OK) _exit(2);
    void *warm = rp_heap_malloc(h, 2 * mib); /* the map's own memory for a large block, made now */
    if (warm == NULL) _exit(3);
    rp_free(warm);
    rp_heap_collect(h, true);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f == NULL || fscanf(f, "%lu", &pages) != 1) _exit(4);
    fclose(f);
    struct rlimit rl = {pages * rp_page_size() + 6 * mib, pages * rp_page_size() + 6 * mib};
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(5);
    (void)rp_heap_malloc(h, SIZE_MAX / 2); /* a known last error, to see that it is kept */
    rp_error_t before = *rp_last_error();
    errno = 1234;
    char *p = rp_heap_malloc(h, 5 * mib); /* 8 MiB does not fit, 5 MiB does */
    if (p == NULL) _exit(6);
    /* a malloc that succeeds leaves errno and the last error as they were */
    if (errno != 1234) _exit(8);
    if (rp_last_error()->status != before.status || strcmp(rp_last_error()->message, before.message) != 0) _exit(9);
    memset(p, 1, 5 * mib);
    _exit(rp_usable_size(p) >= 5 * mib ? 0 : 7);
}
#endif
static void test_large_span_headroom_limit(void) {
#if defined(RP_TEST_SANITIZED)
    fprintf(stderr, "    (skipped under a sanitizer: its runtime reserves more address space than any limit here)\n");
#else
    CHECK(rp_test_exits_cleanly(headroom_limit_child));
#endif
}

/* Free a block of size on a fresh heap (options o) with one page touched, in a fork child, and
 * return how much the child's peak RSS grew meanwhile (SIZE_MAX when the child failed). */
static rp_heap_options_t sparse_opts;
static size_t sparse_size;
static int sparse_pipe[2];
static void sparse_child(void) {
    rp_heap_t *h = NULL;
    if (rp_heap_create(&sparse_opts, &h) != RP_OK) _exit(2);
    char *p = rp_heap_malloc(h, sparse_size);
    if (p == NULL) _exit(3);
    memset(p + rp_page_size(), 0x5a, 100); /* one page holds data */
    size_t before = rss_peak();
    rp_free(p);
    rp_heap_collect(h, true); /* the span leaves the cache: the page source wipes and unmaps it */
    rp_heap_destroy(h);
    size_t grew = rss_peak() - before;
    _exit(write(sparse_pipe[1], &grew, sizeof grew) == (ssize_t)sizeof grew ? 0 : 4);
}
static size_t sparse_free_growth(rp_heap_options_t o, size_t size) {
    sparse_opts = o;
    sparse_size = size;
    if (pipe(sparse_pipe) != 0) return SIZE_MAX;
    int status = rp_test_run_child(sparse_child);
    size_t grew = SIZE_MAX;
    close(sparse_pipe[1]);
    if (status == 0 && read(sparse_pipe[0], &grew, sizeof grew) != (ssize_t)sizeof grew) grew = SIZE_MAX;
    close(sparse_pipe[0]);
    if (status != 0) fprintf(stderr, "    (child status 0x%x)\n", status);
    return grew;
}

/* Freeing a 1 GiB block with one page touched wipes that page, not the other 262143 (before, the
 * wipe faulted every page in: a 1 GiB peak on free). Plain pages and a wiping heap on OS pages. */
static void test_sparse_wipe(void) {
    size_t gib = (size_t)1 << 30;
    size_t grew = sparse_free_growth((rp_heap_options_t){RP_SIZED(rp_heap_options_t), .pages = rp_pages_plain()}, gib);
    fprintf(stderr, "    plain 1 GiB block: peak RSS +%zu KiB on free\n", grew / 1024);
    CHECK(grew < ((size_t)16 << 20));
    grew = sparse_free_growth((rp_heap_options_t){RP_SIZED(rp_heap_options_t), .flags = RP_HEAP_WIPE}, gib);
    fprintf(stderr, "    wiping heap, 1 GiB block: peak RSS +%zu KiB on free\n", grew / 1024);
    CHECK(grew < ((size_t)16 << 20));
}

/* The same on secret pages, within the memlock budget (they are charged whole when mapped). Its own
 * CTest entry, test_heap_sparse_wipe_secret: skips (77) where memfd_secret is unavailable. */
static void test_sparse_wipe_secret(void) {
    size_t gib = (size_t)1 << 30, grew;
    const rp_page_allocator_t *secret = rp_pages_secret();
    if (secret == NULL) rp_test_skip("memfd_secret unavailable: no secret pages to wipe");
    size_t budget = rp_pages_get_limit(secret);
    size_t size = budget >= 4 * gib ? gib : ((size_t)4 << 20);
    grew = sparse_free_growth((rp_heap_options_t){RP_SIZED(rp_heap_options_t), .pages = secret}, size);
    fprintf(stderr, "    secret %zu MiB block: peak RSS +%zu KiB on free\n", size >> 20, grew / 1024);
    CHECK(grew < size / 2);
}

/* A locked or secret block larger than the machine's memory is refused before anything is mapped
 * (before, as root, a 1 TiB secret block was handed out and its free ran the machine out of
 * memory). In a child that exits without freeing, so a regression cannot take the machine down. */
static void huge_secret_child(void) {
    const rp_page_allocator_t *secret = rp_pages_secret();
    const rp_page_allocator_t *sources[] = {secret != NULL ? secret : rp_pages_os(), rp_pages_os()};
    for (int i = 0; i < 2; i++) {
        rp_heap_t *h = NULL;
        if (rp_heap_create(&(rp_heap_options_t){RP_SIZED(rp_heap_options_t), .pages = sources[i]}, &h) != RP_OK) _exit(2);
        errno = 0;
        if (rp_heap_malloc(h, (size_t)1 << 40) != NULL) _exit(10 + i); /* leaked on purpose: see above */
        if (errno != ENOMEM || rp_last_error()->status != RP_ERR_NOMEM) _exit(20 + i);
        if (strstr(rp_last_error()->message, "physical memory") == NULL) _exit(30 + i);
        rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
        if (rp_heap_stats(h, &st) != RP_OK || st.mapped != 0) _exit(40 + i);
        rp_heap_destroy(h);
    }
    _exit(0);
}
static void test_huge_locked_refused(void) { CHECK(rp_test_exits_cleanly(huge_secret_child)); }
#endif /* __linux__ */

/* Only the C allocator functions, for the run under librampart-malloc.so. They are called
 * through pointers the compiler cannot see through: clang takes calls of malloc, calloc,
 * realloc, aligned_alloc and free as its own, removes an allocation whose result is only
 * compared with NULL (calling the comparison true) and assumes that none of them changes errno,
 * so direct calls would test the compiler, not the allocator. */
static void *(*volatile libc_malloc)(size_t) = malloc;
static void *(*volatile libc_calloc)(size_t, size_t) = calloc;
static void *(*volatile libc_realloc)(void *, size_t) = realloc;
static void (*volatile libc_free)(void *) = free;

static void test_libc_api(void) {
    void *p = libc_malloc(0);
    CHECK(p != NULL);
    libc_free(p);
#if !defined(RP_TEST_SANITIZED) /* a sanitizer's calloc reports the overflow instead */
    volatile size_t huge = SIZE_MAX / 2;
    errno = 0;
    CHECK(libc_calloc(huge, 3) == NULL && errno == ENOMEM);
#endif
    char *s = libc_malloc(10);
    REQUIRE(s != NULL);
    strcpy(s, "abc");
    s = libc_realloc(s, 100000);
    CHECK(s != NULL && strcmp(s, "abc") == 0);
    libc_free(s);
#if !defined(_WIN32)
    static int (*volatile libc_posix_memalign)(void **, size_t, size_t) = posix_memalign;
    static void *(*volatile libc_aligned_alloc)(size_t, size_t) = aligned_alloc; /* C11, missing from msvcrt */
    void *a = NULL;
    CHECK(libc_posix_memalign(&a, 4096, 100) == 0 && aligned_to(a, 4096));
    libc_free(a);
#  if !defined(RP_TEST_SANITIZED) /* a sanitizer's posix_memalign reports it instead */
    CHECK(libc_posix_memalign(&a, 24, 100) == EINVAL);
#  endif
    a = libc_aligned_alloc(64, 128);
    CHECK(a != NULL && aligned_to(a, 64));
    libc_free(a);
#endif
    errno = 4321;
    libc_free(NULL);
    CHECK(errno == 4321);
}

#if !defined(_WIN32)
/* As nobody with RLIMIT_MEMLOCK 1 MiB: a locked heap without RP_HEAP_REQUIRE_LOCKED hands out
 * unlocked pages and counts them; with it the allocation fails with the limit and its remedy. */
static int unprivileged_locked(void) {
    CHECK(getuid() == 65534);
    rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .pages = rp_pages_os()};
    rp_heap_t *h = NULL;
    if (rp_heap_create(&o, &h) != RP_OK) {
        CHECK(h != NULL);
        return rp_test_exit();
    }
    void *big = rp_heap_malloc(h, 4u << 20);
    CHECK(big != NULL);
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.unlocked >= (4u << 20));
    rp_heap_destroy(h);
    o.flags = RP_HEAP_REQUIRE_LOCKED;
    if (rp_heap_create(&o, &h) != RP_OK) {
        CHECK(h != NULL);
        return rp_test_exit();
    }
    void *small = rp_heap_malloc(h, 64); /* one 1 MiB segment, within the limit */
    CHECK(small != NULL);
    errno = 0;
    CHECK(rp_heap_malloc(h, 4u << 20) == NULL && errno == ENOMEM);
    const rp_error_t *e = rp_last_error();
    CHECK(e->status == RP_ERR_LIMIT);
    CHECK(strstr(e->message, "could not be locked") != NULL);
    CHECK(e->remedy != NULL && strstr(e->remedy, "ulimit -l") != NULL);
    CHECK(rp_heap_stats(h, &st) == RP_OK && st.unlocked == 0);
    rp_heap_destroy(h);
    return rp_test_exit();
}

static void test_unprivileged(void) { CHECK(rp_test_unprivileged("1200000:1200000", "unprivileged-locked") == 0); }
#endif

int main(int argc, char **argv) {
#if !defined(_WIN32)
    if (argc > 1 && strcmp(argv[1], "unprivileged-locked") == 0) return unprivileged_locked();
    if (argc > 1 && strcmp(argv[1], "unprivileged") == 0) {
        const char *why = rp_test_unprivileged_unavailable();
        if (why != NULL) rp_test_skip(why);
        RP_TEST(test_unprivileged);
        return rp_test_exit();
    }
#endif
#if defined(__linux__)
    if (argc > 1 && strcmp(argv[1], "sparse_wipe_secret") == 0) {
        RP_TEST(test_sparse_wipe_secret);
        return rp_test_exit();
    }
#endif
    if (argc > 1 && strcmp(argv[1], "api") == 0) {
        RP_TEST(test_libc_api);
        return rp_test_exit();
    }
#if !defined(_WIN32)
    RP_TEST(test_shared_cache_lazy); /* first: no test before it may have made the shared cache */
#endif
    RP_TEST(test_sizes);
    RP_TEST(test_size_classes);
    RP_TEST(test_cur_by_granule);
    RP_TEST(test_block_check);
    RP_TEST(test_page_blocks_min);
    RP_TEST(test_huge_and_calloc);
    RP_TEST(test_realloc);
    RP_TEST(test_aligned);
    RP_TEST(test_free_keeps_errno);
    RP_TEST(test_sized_free_and_in_place);
    RP_TEST(test_heap_create_destroy);
    RP_TEST(test_options_struct_size);
    RP_TEST(test_heap_limit);
    RP_TEST(test_heap_page_sources);
    RP_TEST(test_calloc_on_dirty_source);
    RP_TEST(test_locked_heap);
    RP_TEST(test_oom_handlers);
    RP_TEST(test_partial_free);
    RP_TEST(test_partial_free_whole);
    RP_TEST(test_donate);
    RP_TEST(test_wipe_paths);
    RP_TEST(test_stats_and_validate);
    RP_TEST(test_junk_fill);
    RP_TEST(test_delayed_release);
    RP_TEST(test_large_cache_swing);
    RP_TEST(test_idle_page_reused);
    RP_TEST(test_segment_spare);
    RP_TEST(test_kept_page);
    RP_TEST(test_kept_page_partial);
    RP_TEST(test_kept_page_overlap);
    RP_TEST(test_held_pages);
    RP_TEST(test_libc_api);
#if defined(__linux__)
    RP_TEST(test_large_map_cost);
    RP_TEST(test_large_span_headroom);
    RP_TEST(test_segment_keeps_large_cache);
    RP_TEST(test_large_span_headroom_limit);
    RP_TEST(test_sparse_wipe);
    RP_TEST(test_huge_locked_refused);
#endif
#if !defined(_WIN32)
    RP_TEST(test_stress_threads);
    RP_TEST(test_donate_while_allocating);
    RP_TEST(test_collect_exited_thread);
    RP_TEST(test_exited_thread_memory_reused);
    RP_TEST(test_held_pages_thread_exit);
    RP_TEST(test_remote_splice);
    RP_TEST(test_remote_batch);
    RP_TEST(test_entry_owner_tags);
    RP_TEST(test_mark_half_match);
    RP_TEST(test_free_lifo);
    RP_TEST(test_syscalls_outside_lock);
    RP_TEST(test_fork);
    RP_TEST(test_fork_adopts_caches);
    RP_TEST(test_fork_drops_batches);
    RP_TEST(test_death);
    RP_TEST(test_corruption_message);
#endif
    return rp_test_exit();
}
