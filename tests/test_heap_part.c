/* SPDX-License-Identifier: MIT */
/* tests/test_heap_part.c — partial deallocation (rp_free_part) against a block that changed or
 * went away since its first released piece:
 *   - a large block resized in place keeps the rule of heap.h: T follows the size last asked for,
 *     so growing it keeps it live until its new bytes are released, and shrinking it lets the
 *     release of its new size free it;
 *   - a released piece of a small block that was already freed is corruption, reported at once
 *     (the block handed out again used to abort later, at its owner's correct free).
 */
#include <signal.h>
#include <string.h>

#include "rampart.h"
#include "testhelper.h"

#define KIB ((size_t)1024)

static size_t large_blocks(rp_heap_t *h) {
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    return rp_heap_stats(h, &st) == RP_OK ? st.large_blocks : (size_t)-1;
}

/* Release the tail of a large block, grow it in place over its whole usable size, release the
 * front: the bytes past the old size were asked for again and never released, so it stays. */
static void test_grow_in_place_after_release(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    char *p = rp_heap_malloc(h, 150 * KIB);
    REQUIRE(p != NULL);
    size_t usable = rp_usable_size(p);
    REQUIRE(usable > 150 * KIB);
    CHECK(rp_free_part(p + 100 * KIB, 50 * KIB) == RP_OK);
    CHECK(rp_realloc_in_place(p, usable) == p);
    p[usable - 1] = 42;
    CHECK(rp_free_part(p, 100 * KIB) == RP_OK);
    CHECK(large_blocks(h) == 1);
    CHECK(p[usable - 1] == 42);
    CHECK(rp_free_part(p + 150 * KIB, usable - 150 * KIB) == RP_OK); /* the last bytes: now it goes */
    CHECK(large_blocks(h) == 0);
    rp_heap_destroy(h);
}

/* Release the tail, shrink in place to the front, release the front: every byte of the size last
 * asked for is released, so the block goes (it used to stay until the heap was destroyed). */
static void test_shrink_in_place_after_release(void) {
    rp_heap_t *h = NULL;
    REQUIRE(rp_heap_create(NULL, &h) == RP_OK);
    char *p = rp_heap_malloc(h, 150 * KIB);
    REQUIRE(p != NULL);
    CHECK(rp_free_part(p + 140 * KIB, 10 * KIB) == RP_OK);
    CHECK(rp_realloc_in_place(p, 100 * KIB) == p);
    CHECK(rp_free_part(p, 100 * KIB) == RP_OK);
    CHECK(large_blocks(h) == 0);
    rp_heap_destroy(h);
}

static void *freed_block;

static void part_of_freed_block(void) {
    rp_free_part((char *)freed_block + 8, 20);
    _exit(0); /* not reported: the test fails */
}

static void test_part_of_freed_block(void) {
    /* A block of each kind of small page: its owner's, and one more of the same class. */
    freed_block = rp_malloc(200);
    void *keep = rp_malloc(200);
    REQUIRE(freed_block != NULL && keep != NULL);
    rp_free(freed_block);
    CHECK(rp_test_dies_with(part_of_freed_block, SIGABRT));
    /* A block never handed out (past what its page has carved) is no live block either. */
    freed_block = (char *)keep + 200 * 64;
    CHECK(rp_test_dies_with(part_of_freed_block, SIGABRT));
    rp_free(keep);
}

int main(void) {
    RP_TEST(test_grow_in_place_after_release);
    RP_TEST(test_shrink_in_place_after_release);
    RP_TEST(test_part_of_freed_block);
    return rp_test_exit();
}
