/* SPDX-License-Identifier: MIT */
/* test_pool_recycled.c — rp_pool_usable_size and rp_pool_owns on a pointer whose arena's
 * metadata is being recycled (issue 11 item 5).
 *
 * The queries find a pointer's arena through the page map without a lock. When they race the
 * arena's release, the metadata block they read may already be on its way to a new arena:
 * cleared, and then filled in field by field, so a reader on another CPU can see the stride
 * still 0 while the other fields are set. Both queries divided by the stride (rp_pool_owns only
 * for guarded arenas) and died of SIGFPE. The race is too narrow to hit on demand, so this test
 * holds an arena in that state itself: it zeroes the stride of a live arena's metadata (the
 * library is linked statically; pool_internal.h names the field), asks both questions, expects
 * "not a live allocation" and no crash, and puts the stride back.
 */
#include <string.h>

#include "pool/pool_internal.h"
#include "rampart.h"
#include "testhelper.h"

/* p is live in pool; with its arena's stride read as 0, neither query may divide by it. */
static void queries_with_stride_zero(rp_pool_t *pool, void *p) {
    rp__arena_t *a = rp__pagemap_get((uintptr_t)p);
    REQUIRE(a != NULL && a->pool == pool && a->slots > 1); /* a shared arena: the index needs the stride */
    CHECK(rp_pool_usable_size(pool, p) != 0 && rp_pool_owns(pool, p));
    size_t stride = a->stride;
    a->stride = 0;
    size_t n = rp_pool_usable_size(pool, p);
    rp_status_t st = rp_last_error()->status;
    bool owns = rp_pool_owns(pool, p);
    a->stride = stride;
    CHECK(n == 0 && st == RP_ERR_NOT_OWNED);
    CHECK(!owns);
    CHECK(rp_pool_usable_size(pool, p) != 0 && rp_pool_owns(pool, p));
}

static rp_pool_t *make_pool(unsigned flags) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.lock_policy = RP_POOL_LOCK_SILENT; /* the check is about the metadata, not locking */
    cfg.flags = flags;
    rp_pool_t *pool = NULL;
    if (rp_pool_create(&cfg, &pool) != RP_OK) fprintf(stderr, "    rp_pool_create: %s\n", rp_last_error()->message);
    return pool;
}

/* A small run of 48-byte slots, the pointer in its second slot. */
static void test_small_run(void) {
    rp_pool_t *pool = make_pool(0);
    REQUIRE(pool != NULL);
    void *first = rp_pool_alloc(pool, 48), *p = rp_pool_alloc(pool, 48);
    REQUIRE(first != NULL && p != NULL);
    queries_with_stride_zero(pool, p);
    rp_pool_free(pool, p);
    rp_pool_free(pool, first);
    rp_pool_destroy(pool);
}

/* A guarded arena of one-page slots (rp_pool_owns took the offset modulo the stride there). */
static void test_guarded_arena(void) {
    rp_pool_t *pool = make_pool(RP_POOL_GUARDED);
    REQUIRE(pool != NULL);
    void *first = rp_pool_alloc(pool, 32), *p = rp_pool_alloc(pool, 32);
    REQUIRE(first != NULL && p != NULL);
    queries_with_stride_zero(pool, p);
    rp_pool_free(pool, p);
    rp_pool_free(pool, first);
    rp_pool_destroy(pool);
}

int main(void) {
    RP_TEST(test_small_run);
    RP_TEST(test_guarded_arena);
    return rp_test_exit();
}
