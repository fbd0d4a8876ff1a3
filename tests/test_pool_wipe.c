/* SPDX-License-Identifier: MIT */
/* test_pool_wipe.c — releasing an arena wipes each secret once, and faults nothing in (issue 11
 * item 5).
 *
 * The built-in page sources wipe the resident pages of what they are given back (pages.c, via
 * mincore). The pool used to wipe every data page of an arena first, which faulted in each page
 * that had never been touched and then had the source wipe it again. Here an 8 MiB allocation
 * from rp_pages_plain() (pages not locked, so nothing faults them in at creation) has a few
 * pages written; its free (and the trim that releases it from the large quarantine) must take
 * almost no page faults, and the free observer must see the written pages zero before they go
 * back to the OS.
 */
#include <string.h>
#include <sys/resource.h>

#include "rampart.h"
#include "testhelper.h"

#define BIG (8u * 1024u * 1024u)

static unsigned char *written[3];
static size_t observed_nonzero, observed_calls;

static void observer(const void *addr, size_t len, void *ctx) {
    (void)ctx;
    observed_calls++;
    for (int i = 0; i < 3; i++) {
        const volatile unsigned char *w = written[i];
        if ((uintptr_t)w < (uintptr_t)addr || (uintptr_t)w >= (uintptr_t)addr + len) continue;
        for (size_t j = 0; j < 4096; j++) observed_nonzero += w[j] != 0;
    }
}

static long minor_faults(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : -1;
}

static void free_faults_nothing_in(void) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.pages = rp_pages_plain();
    cfg.lock_policy = RP_POOL_LOCK_SILENT;
    rp_pool_t *pool = NULL;
    REQUIRE(rp_pool_create(&cfg, &pool) == RP_OK);
    unsigned char *p = rp_pool_alloc(pool, BIG);
    REQUIRE(p != NULL);
    written[0] = p;
    written[1] = p + BIG / 2;
    written[2] = p + BIG - 4096;
    for (int i = 0; i < 3; i++) memset(written[i], 0xA5, 4096);
    rp_pages_set_free_observer(observer, NULL);
    long before = minor_faults();
    rp_pool_free(pool, p);
    /* A freed large allocation waits (wiped) in its shard's quarantine; trim releases it. */
    rp_pool_trim(pool);
    long faults = minor_faults() - before;
    rp_pages_set_free_observer(NULL, NULL);
    fprintf(stderr, "    free and trim of %u bytes (3 pages written): %ld minor faults\n", BIG, faults);
    CHECK(before >= 0);
    /* Was one per page (2048). Sanitizer runtimes fault in shadow pages of their own while the
     * written pages are wiped (ThreadSanitizer: about 150), so the bound is a quarter of the pages. */
    CHECK(faults < (long)(BIG / 4096 / 4));
    CHECK(observed_calls == 1);
    CHECK(observed_nonzero == 0);
    rp_pool_destroy(pool);
}

int main(void) {
    RP_TEST(free_faults_nothing_in);
    return rp_test_exit();
}
