/* SPDX-License-Identifier: MIT */
/* test_pool_protect.c — rp_pool_protect on guarded allocations (issue 13 item 4).
 *
 * Death tests run the forbidden access in a fork child (the protection is inherited) and expect
 * SIGSEGV: a read under RP_POOL_PROT_NONE, a write under RP_POOL_PROT_READ. Free and realloc from
 * NONE and READ must make the pages writable again and wipe them: the test keeps a second
 * allocation live so the arena (and the freed slot's pages) stay mapped, then re-reads the
 * freed bytes. rp_pool_destroy with a slot still NONE must not fault. Pointers that are not
 * the start of a live guarded allocation of the pool are refused with RP_ERR_INVALID.
 */
#include <signal.h>
#include <string.h>

#include "core/annotate.h"
#include "rampart.h"
#include "testhelper.h"

#define SECRET 200u

static rp_pool_t *new_guarded(void) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.flags = RP_POOL_GUARDED | RP_POOL_CANARY;
    cfg.lock_policy = RP_POOL_LOCK_SILENT; /* nobody under an 8 MiB memlock limit still runs */
    rp_pool_t *pool = NULL;
    return rp_pool_create(&cfg, &pool) == RP_OK ? pool : NULL;
}

static volatile unsigned char *victim;

static void child_read(void) {
    unsigned char c = victim[0];
    (void)c;
}
static void child_write(void) {
    victim[SECRET - 1] = 1;
}

static void none_read_faults(void) {
    rp_pool_t *pool = new_guarded();
    REQUIRE(pool != NULL);
    unsigned char *p = rp_pool_alloc(pool, SECRET);
    REQUIRE(p != NULL);
    memset(p, 0x5A, SECRET);
    victim = p;
    CHECK(rp_pool_protect(pool, p, RP_POOL_PROT_NONE) == RP_OK);
    CHECK(rp_test_dies_with(child_read, SIGSEGV));
    CHECK(rp_test_dies_with(child_write, SIGSEGV));
    CHECK(rp_pool_protect(pool, p, RP_POOL_PROT_READWRITE) == RP_OK);
    CHECK(p[0] == 0x5A);
    p[0] = 1; /* writable again, in this process */
    CHECK(rp_test_exits_cleanly(child_write));
    rp_pool_free(pool, p);
    rp_pool_destroy(pool);
}

static void read_write_faults(void) {
    rp_pool_t *pool = new_guarded();
    REQUIRE(pool != NULL);
    unsigned char *p = rp_pool_alloc(pool, SECRET);
    REQUIRE(p != NULL);
    memset(p, 0x5A, SECRET);
    victim = p;
    CHECK(rp_pool_protect(pool, p, RP_POOL_PROT_READ) == RP_OK);
    /* The child reads zeros (arenas are MADV_WIPEONFORK), but the read itself must not fault. */
    CHECK(rp_test_exits_cleanly(child_read));
    CHECK(rp_test_dies_with(child_write, SIGSEGV));
    CHECK(p[SECRET - 1] == 0x5A);
    rp_pool_free(pool, p);
    rp_pool_destroy(pool);
}

/* Reads a freed slot to see the wipe; under ASan the slot is poisoned, so unpoison it first. */
static bool all_zero(const volatile unsigned char *p, size_t n) {
    rp__asan_unpoison((const void *)p, n);
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return false;
    return true;
}

/* Free (plain and sized) from each state wipes; the neighbour keeps the arena mapped. */
static void free_from_any_state_wipes(void) {
    static const rp_pool_prot_t states[] = {RP_POOL_PROT_NONE, RP_POOL_PROT_READ, RP_POOL_PROT_READWRITE};
    for (size_t s = 0; s < 3; s++) {
        for (int sized = 0; sized < 2; sized++) {
            rp_pool_t *pool = new_guarded();
            REQUIRE(pool != NULL);
            unsigned char *keep = rp_pool_alloc(pool, SECRET);
            unsigned char *p = rp_pool_alloc(pool, SECRET);
            REQUIRE(keep != NULL && p != NULL);
            memset(p, 0x5A, SECRET);
            CHECK(rp_pool_protect(pool, p, states[s]) == RP_OK);
            if (sized) rp_pool_free_sized(pool, p, SECRET);
            else rp_pool_free(pool, p);
            CHECK(rp_pool_owns(pool, p)); /* still mapped: the arena holds keep */
            CHECK(all_zero(p, SECRET));
            /* The slot comes back read-write to its next owner. */
            unsigned char *q = rp_pool_alloc(pool, SECRET);
            REQUIRE(q != NULL);
            memset(q, 0x33, SECRET);
            rp_pool_free(pool, q);
            rp_pool_free(pool, keep);
            rp_pool_destroy(pool);
        }
    }
}

static void realloc_and_destroy_from_none(void) {
    rp_pool_t *pool = new_guarded();
    REQUIRE(pool != NULL);
    unsigned char *p = rp_pool_alloc(pool, SECRET);
    REQUIRE(p != NULL);
    memset(p, 0x5A, SECRET);
    CHECK(rp_pool_protect(pool, p, RP_POOL_PROT_NONE) == RP_OK);
    unsigned char *q = rp_pool_realloc(pool, p, SECRET * 2); /* moves: reads p, wipes it */
    REQUIRE(q != NULL);
    CHECK(q[0] == 0x5A && q[SECRET - 1] == 0x5A && q[SECRET] == 0);
    /* Destroy with a live slot still NONE (and one READ): its wipe must not fault. */
    unsigned char *r = rp_pool_alloc(pool, 64);
    REQUIRE(r != NULL);
    CHECK(rp_pool_protect(pool, q, RP_POOL_PROT_NONE) == RP_OK);
    CHECK(rp_pool_protect(pool, r, RP_POOL_PROT_READ) == RP_OK);
    rp_pool_destroy(pool);
}

static void refuses_what_it_cannot_protect(void) {
    rp_pool_t *plain = NULL;
    REQUIRE(rp_pool_create(NULL, &plain) == RP_OK);
    rp_pool_t *pool = new_guarded(), *other = new_guarded();
    REQUIRE(pool != NULL && other != NULL);
    unsigned char *small = rp_pool_alloc(plain, 64);
    unsigned char *p = rp_pool_alloc(pool, SECRET);
    unsigned char *o = rp_pool_alloc(other, SECRET);
    REQUIRE(small != NULL && p != NULL && o != NULL);
    static unsigned char stack_like[64];

    CHECK(rp_pool_protect(plain, small, RP_POOL_PROT_NONE) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "not a guarded allocation") != NULL);
    small[0] = 1; /* untouched */
    CHECK(rp_pool_protect(pool, o, RP_POOL_PROT_NONE) == RP_ERR_INVALID); /* another pool's */
    CHECK(strstr(rp_last_error()->message, "not an allocation of this pool") != NULL);
    CHECK(rp_pool_protect(pool, stack_like, RP_POOL_PROT_NONE) == RP_ERR_INVALID);
    CHECK(rp_pool_protect(pool, p + 1, RP_POOL_PROT_NONE) == RP_ERR_INVALID); /* inside */
    CHECK(strstr(rp_last_error()->message, "not the start of a live allocation") != NULL);
    CHECK(rp_pool_protect(pool, p, (rp_pool_prot_t)7) == RP_ERR_INVALID);
    CHECK(rp_pool_protect(NULL, p, RP_POOL_PROT_NONE) == RP_ERR_INVALID);
    CHECK(rp_pool_protect(pool, NULL, RP_POOL_PROT_NONE) == RP_ERR_INVALID);
    p[0] = 1; /* none of those changed p's pages */
    o[0] = 1;

    unsigned char *keep = rp_pool_alloc(pool, SECRET);
    REQUIRE(keep != NULL);
    rp_pool_free(pool, p);
    CHECK(rp_pool_protect(pool, p, RP_POOL_PROT_NONE) == RP_ERR_INVALID); /* freed */
    CHECK(all_zero(p, SECRET)); /* and still readable: refused before any change */

    rp_pool_free(pool, keep);
    rp_pool_free(other, o);
    rp_pool_free(plain, small);
    rp_pool_destroy(plain);
    rp_pool_destroy(pool);
    rp_pool_destroy(other);
}

int main(void) {
    RP_TEST(none_read_faults);
    RP_TEST(read_write_faults);
    RP_TEST(free_from_any_state_wipes);
    RP_TEST(realloc_and_destroy_from_none);
    RP_TEST(refuses_what_it_cannot_protect);
    return rp_test_exit();
}
