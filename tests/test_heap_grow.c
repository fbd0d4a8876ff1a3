/* SPDX-License-Identifier: MIT */
/* tests/test_heap_grow.c — realloc growing a large block (1 MiB and up) past its span, on OS
 * pages, moves the block's pages (mremap) instead of copying them, as glibc does for its mmapped
 * chunks:
 *   - the contents stay, the old block's pages do not stay resident beside the new ones (the copy
 *     left a 64 MiB span in the cache), and a buffer grown by appending never holds much more than
 *     itself;
 *   - the moved block is a whole block again: the heap validates, rp_usable_size, rp_free_part
 *     and free know it, and a block of another heap's realloc is still copied;
 *   - threads growing blocks while others map and free large ones never see a block of another
 *     thread's (the old range is free to map the moment mremap returns);
 *   - a block aligned past a page, which keeps the copy, still grows right;
 *   - a growth the kernel refuses (more than memory and swap) fails cleanly and leaves every
 *     other mapping of the process alone: the growth once went onto a reserved range, which the
 *     kernel unmaps before it refuses, and the reservation given back then unmapped what another
 *     thread had mapped into the hole meanwhile.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "holewatch.h"
#include "rampart.h"
#include "testhelper.h"

#define MIB ((size_t)1 << 20)

/* ThreadSanitizer's shadow grows with every address touched, the moved pages' new addresses too:
 * there the resident figures measure the tool. */
#if defined(__SANITIZE_THREAD__)
#  define RESIDENT_MEASURES_HEAP 0
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define RESIDENT_MEASURES_HEAP 0
#  endif
#endif
#ifndef RESIDENT_MEASURES_HEAP
#  define RESIDENT_MEASURES_HEAP 1
#endif

/* This process's resident bytes (/proc/self/statm); 0 when unknown. */
static size_t resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages[2] = {0, 0};
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &pages[0], &pages[1]) != 2) pages[1] = 0;
        fclose(f);
    }
    return (size_t)pages[1] * (size_t)sysconf(_SC_PAGESIZE);
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)((i >> 12) + seed);
    p[n - 1] = (unsigned char)seed;
}

static bool intact(const unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i += 4096)
        if (p[i] != (unsigned char)((i >> 12) + seed)) return false;
    return p[n - 1] == (unsigned char)seed;
}

/* A 64 MiB block grown by a page: the contents move, and the old pages do not stay resident. */
static void test_grow_moves_pages(void) {
    for (int on_default = 0; on_default < 2; on_default++) {
        rp_heap_t *h = NULL;
        if (!on_default) REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
        unsigned char *p = on_default ? rp_malloc(64 * MIB) : rp_heap_malloc(h, 64 * MIB);
        REQUIRE(p != NULL);
        fill(p, 64 * MIB, 1);
        size_t before = resident_bytes();
        unsigned char *q = rp_realloc(p, 64 * MIB + 4096);
        REQUIRE(q != NULL);
        size_t after = resident_bytes();
        CHECK(intact(q, 64 * MIB, 1));
        CHECK_SAYING(!RESIDENT_MEASURES_HEAP || after < before + 16 * MIB, "resident %zu MiB before the growth, %zu MiB after", before / MIB,
                  after / MIB);
        CHECK(rp_usable_size(q) >= 64 * MIB + 4096);
        memset(q + 64 * MIB, 9, 4096);
        if (!on_default) CHECK(rp_heap_validate(h) == RP_OK);
        rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
        CHECK(rp_heap_stats(on_default ? rp_heap_default() : h, &st) == RP_OK);
        CHECK(st.allocated >= rp_usable_size(q));
        rp_free(q);
        if (!on_default) {
            CHECK(rp_heap_validate(h) == RP_OK);
            rp_heap_destroy(h);
        }
    }
}

/* A buffer built by appending 1 MiB at a time up to 256 MiB, as a string or a log grows: at no
 * step is much more resident than the buffer (the copy held the old and the new block at once:
 * twice the buffer at each doubling of its span). */
static void test_append_peak(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    size_t base = resident_bytes(), len = 0, worst_len = 0, worst_extra = 0;
    unsigned char *buf = NULL;
    while (len < 256 * MIB) {
        unsigned char *grown = rp_heap_realloc(h, buf, len + MIB);
        REQUIRE(grown != NULL);
        size_t now = resident_bytes();
        size_t extra = now > base + len ? now - base - len : 0;
        if (extra > worst_extra) worst_extra = extra, worst_len = len;
        buf = grown;
        memset(buf + len, (int)(len / MIB), MIB);
        len += MIB;
    }
    bool kept = true;
    for (size_t i = 0; i < len; i += MIB) kept = kept && buf[i] == (unsigned char)(i / MIB) && buf[i + MIB - 1] == buf[i];
    CHECK(kept);
    CHECK_SAYING(!RESIDENT_MEASURES_HEAP || worst_extra <= worst_len / 4 + 4 * MIB, "growing a %zu MiB buffer held %zu MiB more", worst_len / MIB,
                 worst_extra / MIB);
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_free(buf);
    rp_heap_destroy(h);
}

/* A moved block is whole: released in parts, its heap frees it, and realloc into another heap
 * still copies it there. */
static void test_moved_block_is_whole(void) {
    rp_heap_t *h = NULL, *other = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    REQUIRE(rp_heap_create(NULL, &other) == RP_OK);
    unsigned char *p = rp_heap_malloc(h, 2 * MIB);
    REQUIRE(p != NULL);
    fill(p, 2 * MIB, 3);
    unsigned char *q = rp_heap_realloc(h, p, 5 * MIB);
    REQUIRE(q != NULL);
    CHECK(intact(q, 2 * MIB, 3));
    CHECK(rp_free_part(q + MIB, 4 * MIB) == RP_OK);
    CHECK(rp_heap_validate(h) == RP_OK);
    CHECK(rp_free_part(q, MIB) == RP_OK); /* [0, 5 MiB) released: the block goes */
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    CHECK(rp_heap_stats(h, &st) == RP_OK);
    CHECK(st.allocated == 0);

    p = rp_heap_malloc(h, 2 * MIB);
    REQUIRE(p != NULL);
    fill(p, 2 * MIB, 4);
    q = rp_heap_realloc(other, p, 6 * MIB);
    REQUIRE(q != NULL);
    CHECK(intact(q, 2 * MIB, 4));
    CHECK(rp_heap_stats(h, &st) == RP_OK);
    CHECK(st.allocated == 0);
    rp_free(q);
    CHECK(rp_heap_validate(h) == RP_OK && rp_heap_validate(other) == RP_OK);
    rp_heap_destroy(other);
    rp_heap_destroy(h);
}

/* A block aligned past a page starts inside its span: realloc copies it. */
static void test_aligned_block_grows(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    unsigned char *p = rp_heap_aligned_alloc(h, 64 * 1024, 2 * MIB);
    REQUIRE(p != NULL);
    fill(p, 2 * MIB, 5);
    unsigned char *q = rp_heap_realloc(h, p, 9 * MIB);
    REQUIRE(q != NULL);
    CHECK(intact(q, 2 * MIB, 5));
    CHECK(rp_heap_validate(h) == RP_OK);
    rp_free(q);
    rp_heap_destroy(h);
}

/* Threads grow blocks from 1 to 16 MiB while they also take and free large blocks that may land
 * on the ranges just left: each block keeps its own contents, and the default heap, validated
 * all along by another thread, never shows a block half moved. */
#define GROWERS 4
#define ROUNDS 12

static atomic_bool growing;

static void *validator(void *arg) {
    (void)arg;
    uintptr_t bad = 0;
    while (atomic_load(&growing))
        if (rp_heap_validate(rp_heap_default()) != RP_OK) bad++;
    return (void *)bad;
}

static void *grower(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    bool ok = true;
    for (int round = 0; round < ROUNDS && ok; round++) {
        size_t len = MIB;
        unsigned char *p = rp_malloc(len);
        if (p == NULL) return NULL;
        fill(p, len, seed + (unsigned)round);
        while (len < 16 * MIB && ok) {
            unsigned char *filler = rp_malloc(len / 2 + 4096);
            if (filler != NULL) fill(filler, len / 2 + 4096, 0x55);
            unsigned char *q = rp_realloc(p, 2 * len + 4096);
            if (q == NULL) {
                rp_free(filler);
                rp_free(p);
                return NULL;
            }
            ok = intact(q, len, seed + (unsigned)round) && rp_usable_size(q) >= 2 * len + 4096;
            ok = ok && (filler == NULL || intact(filler, len / 2 + 4096, 0x55));
            rp_free(filler);
            p = q;
            len = 2 * len + 4096;
            fill(p, len, seed + (unsigned)round);
        }
        rp_free(p);
    }
    return ok ? arg : NULL;
}

static void test_threads_grow(void) {
    pthread_t t[GROWERS], check;
    atomic_store(&growing, true);
    REQUIRE(pthread_create(&check, NULL, validator, NULL) == 0);
    for (uintptr_t i = 0; i < GROWERS; i++) REQUIRE(pthread_create(&t[i], NULL, grower, (void *)(i + 1)) == 0);
    for (uintptr_t i = 0; i < GROWERS; i++) {
        void *r = NULL;
        CHECK(pthread_join(t[i], &r) == 0);
        CHECK_SAYING(r == (void *)(i + 1), "thread %zu lost its block's contents", (size_t)i);
    }
    atomic_store(&growing, false);
    void *bad = NULL;
    CHECK(pthread_join(check, &bad) == 0);
    CHECK_SAYING(bad == NULL, "rp_heap_validate failed %zu times while blocks moved", (size_t)(uintptr_t)bad);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
}

/* One refused growth: NULL with ENOMEM, the block as it was. */
static bool refused_realloc(size_t huge) {
    unsigned char *p = rp_malloc(2 * MIB);
    if (p == NULL) return false;
    p[0] = 1;
    errno = 0;
    unsigned char *q = rp_realloc(p, huge);
    bool clean = q == NULL && errno == ENOMEM && p[0] == 1;
    rp_free(q != NULL ? q : p);
    return clean;
}

static void test_refused_growth_leaves_others(void) {
    hw_check_refusals(refused_realloc, 400);
    CHECK(rp_heap_validate(rp_heap_default()) == RP_OK);
}

/* Under an address-space limit, a growth that fits once the span cache's mappings are given back
 * succeeds: it was refused while a freed 64 MiB block waited in the cache, and the copy the caller
 * fell back to needs the old and the new block at once. In a fork child (the limit stays there). */
static size_t vm_size(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    size_t kib = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmSize: %zu kB", &kib) == 1) break;
    if (f != NULL) fclose(f);
    return kib * 1024;
}

static void grow_under_limit(void) {
    void *cached = rp_malloc(64 * MIB);
    unsigned char *p = rp_malloc(64 * MIB);
    if (cached == NULL || p == NULL) _exit(77);
    rp_free(cached); /* waits in the span cache, still mapped */
    fill(p, 64 * MIB, 7);
    size_t base = vm_size();
    if (base == 0) _exit(77);
    /* 48 MiB more than now: the growth by 96 MiB fits once the cached 64 MiB are unmapped, and a
     * copy (160 MiB beside the old 64) never does */
    struct rlimit rl = {base + 48 * MIB, base + 48 * MIB};
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(77);
    unsigned char *q = rp_realloc(p, 160 * MIB);
    if (q == NULL) {
        fprintf(stderr, "    growing 64 MiB to 160 MiB under an address-space limit: %s\n", rp_last_error()->message);
        _exit(1);
    }
    _exit(intact(q, 64 * MIB, 7) ? 0 : 2);
}

static void test_grow_under_address_space_limit(void) {
#ifdef RP_TEST_SANITIZED
    fprintf(stderr, "    (not under a sanitizer: its shadow memory counts against the limit)\n");
    return;
#endif
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) grow_under_limit();
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK_SAYING(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77),
                 "the child ended with status %d", status);
}

int main(void) {
    RP_TEST(test_grow_moves_pages);
    RP_TEST(test_append_peak);
    RP_TEST(test_moved_block_is_whole);
    RP_TEST(test_aligned_block_grows);
    RP_TEST(test_threads_grow);
    RP_TEST(test_refused_growth_leaves_others);
    RP_TEST(test_grow_under_address_space_limit);
    return rp_test_exit();
}
