/* SPDX-License-Identifier: MIT */
/* test_asan.c — AddressSanitizer sees into rampart's memory (issue 13, item 2; core/annotate.h).
 *
 * Only meaningful in a -fsanitize=address build (make test-asan); elsewhere it exits 77 and says
 * why. Each death case runs in a fork child with its stderr on a pipe: the child makes one bad
 * access, and the parent expects the child to fail with ASan's report ("AddressSanitizer:
 * use-after-poison", the kind ASan gives for memory an allocator poisoned). The cases: use after
 * free and overflow past the usable size, for the heap and for the pool. A control case uses
 * every usable byte of live blocks and slots and must exit cleanly (no false report), and one
 * exercises the internal paths that touch free memory (reuse, partial free, realloc, wipes,
 * destroy) under ASan.
 */
#include <string.h>

#include "core/annotate.h"
#include "rampart.h"
#include "testhelper.h"

#if defined(RP__ASAN)

/* Run fn in a fork child; its stderr (ASan's report) in out. The child's wait status, or -1. */
static int run_capture(void (*fn)(void), char *out, size_t size) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        fn();
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t n;
    char sink[4096];
    /* Read to the end (a report longer than out is drained, not left to block the child). */
    while ((n = read(fd[0], len + 1 < size ? out + len : sink,
                     len + 1 < size ? size - 1 - len : sizeof sink)) > 0)
        if (len + 1 < size) len += (size_t)n;
    out[len] = '\0';
    close(fd[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return status;
}

/* fn must die with ASan's report of a poisoned access. */
static void expect_report(void (*fn)(void), const char *what) {
    static char out[65536];
    int status = run_capture(fn, out, sizeof out);
    bool died = status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bool reported = strstr(out, "AddressSanitizer: use-after-poison") != NULL;
    if (!died || !reported)
        fprintf(stderr, "    %s: child status 0x%x, stderr:\n%.2000s\n", what, (unsigned)status, out);
    CHECK(died);
    CHECK(reported);
}

static volatile unsigned char sink_byte;

/* ---- the heap -------------------------------------------------------------------------------------- */

static void heap_use_after_free(void) {
    unsigned char *p = rp_malloc(64);
    memset(p, 1, 64);
    rp_free(p);
    sink_byte = p[32]; /* freed: past the free-list words, poisoned */
}

/* A fresh heap's first block: the next block of its page is carved and free, so its bytes past
 * the free-list words are poisoned. An overflow that only reaches those first 16 bytes of a free
 * neighbour, or a live neighbour, is not seen (docs/debugging.md). */
static void heap_overflow(void) {
    rp_heap_t *heap = NULL;
    if (rp_heap_create(NULL, &heap) != RP_OK) _exit(3);
    unsigned char *p = rp_heap_malloc(heap, 48);
    size_t usable = rp_usable_size(p);
    memset(p, 1, usable);             /* the whole usable size is the caller's */
    p[usable + 16] = 1;               /* past it, into the free neighbour */
}

static void test_heap_use_after_free(void) { expect_report(heap_use_after_free, "heap use after free"); }
static void test_heap_overflow(void) { expect_report(heap_overflow, "heap overflow"); }

/* ---- the pool -------------------------------------------------------------------------------------- */

static rp_pool_t *make_pool(unsigned flags) {
    rp_pool_options_t o = rp_pool_options_default();
    o.lock_policy = RP_POOL_LOCK_SILENT; /* the memlock limit of an unprivileged run is no matter here */
    o.flags = flags;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&o, &pool) != RP_OK) _exit(3);
    return pool;
}

static void pool_use_after_free(void) {
    rp_pool_t *pool = make_pool(0);
    unsigned char *p = rp_pool_alloc(pool, 40);
    if (p == NULL) _exit(3);
    memset(p, 1, 40);
    rp_pool_free(pool, p);
    sink_byte = p[0]; /* a freed slot is poisoned whole */
}

/* Without a canary the next slot is free, so poisoned; with one the canary is. */
static void pool_overflow_plain(void) {
    rp_pool_t *pool = make_pool(0);
    unsigned char *p = rp_pool_alloc(pool, 48);
    if (p == NULL) _exit(3);
    size_t usable = rp_pool_usable_size(pool, p);
    memset(p, 1, usable);
    p[usable] = 1;
}

static void pool_overflow_canary(void) {
    rp_pool_t *pool = make_pool(RP_POOL_CANARY);
    unsigned char *p = rp_pool_alloc(pool, 48);
    if (p == NULL) _exit(3);
    size_t usable = rp_pool_usable_size(pool, p);
    memset(p, 1, usable);
    p[usable] = 1;
}

static void test_pool_use_after_free(void) { expect_report(pool_use_after_free, "pool use after free"); }
static void test_pool_overflow(void) {
    expect_report(pool_overflow_plain, "pool overflow");
    expect_report(pool_overflow_canary, "pool overflow into the canary");
}

/* ---- no false reports ------------------------------------------------------------------------------ */

/* Every usable byte of live memory, reuse after free, realloc, partial free, wiping heaps,
 * guarded and canary pools, destroy with blocks still out: all without a report. */
static void clean_use(void) {
    for (int round = 0; round < 2; round++) {
        unsigned char *b[64];
        for (int i = 0; i < 64; i++) {
            size_t n = (size_t)(i * 37 % 3000) + 1;
            b[i] = rp_malloc(n);
            if (b[i] == NULL) _exit(3);
            memset(b[i], 2, rp_usable_size(b[i]));
        }
        for (int i = 0; i < 64; i += 2) rp_free(b[i]);
        for (int i = 1; i < 64; i += 2) {
            b[i] = rp_realloc(b[i], 5000);
            memset(b[i], 3, rp_usable_size(b[i]));
            rp_free(b[i]);
        }
    }
    unsigned char *big = rp_malloc(300 * 1024); /* a large block, freed and its span reused */
    memset(big, 4, rp_usable_size(big));
    rp_free(big);
    big = rp_malloc(300 * 1024);
    memset(big, 5, rp_usable_size(big));
    rp_free(big);
    unsigned char *part = rp_malloc(256); /* released piece by piece: the last completes it */
    memset(part, 6, 256);
    if (rp_free_part(part + 128, 128) != RP_OK || rp_free_part(part, 128) != RP_OK) _exit(4);

    rp_heap_options_t ho = rp_heap_options_default();
    ho.flags = RP_HEAP_WIPE;
    rp_heap_t *heap = NULL;
    if (rp_heap_create(&ho, &heap) != RP_OK) _exit(3);
    unsigned char *w = rp_heap_malloc(heap, 200);
    memset(w, 7, rp_usable_size(w));
    if (rp_free_part(w + 64, 64) != RP_OK) _exit(4); /* a wiped, poisoned piece, then destroy */
    rp_free(rp_heap_malloc(heap, 100));
    rp_heap_destroy(heap);

    unsigned flags[] = {0, RP_POOL_CANARY, RP_POOL_GUARDED, RP_POOL_GUARDED | RP_POOL_CANARY};
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        rp_pool_t *pool = make_pool(flags[f]);
        unsigned char *s[40];
        for (int i = 0; i < 40; i++) {
            s[i] = rp_pool_alloc(pool, (size_t)(i * 53 % 600) + 1);
            if (s[i] == NULL) _exit(3);
            memset(s[i], 8, rp_pool_usable_size(pool, s[i]));
        }
        for (int i = 0; i < 40; i += 2) rp_pool_free(pool, s[i]);
        for (int i = 0; i < 40; i += 2) {
            s[i] = rp_pool_alloc(pool, 32);
            memset(s[i], 9, rp_pool_usable_size(pool, s[i]));
        }
        unsigned char *l = rp_pool_alloc(pool, 70000);
        memset(l, 1, rp_pool_usable_size(pool, l));
        rp_pool_free(pool, l);
        for (int i = 1; i < 40; i += 4) rp_pool_free(pool, s[i]);
        rp_pool_destroy(pool); /* with slots still out */
    }
}

static void test_no_false_report(void) {
    static char out[65536];
    int status = run_capture(clean_use, out, sizeof out);
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!clean) fprintf(stderr, "    child status 0x%x, stderr:\n%.4000s\n", (unsigned)status, out);
    CHECK(clean);
}

int main(void) {
    RP_TEST(test_no_false_report);
    RP_TEST(test_heap_use_after_free);
    RP_TEST(test_heap_overflow);
    RP_TEST(test_pool_use_after_free);
    RP_TEST(test_pool_overflow);
    return rp_test_exit();
}

#else

int main(void) {
    (void)rp_test_case_failed; /* testhelper.h's case state: no cases run here */
    rp_test_skip("not an AddressSanitizer build (make test-asan builds one): nothing is poisoned here");
}

#endif
