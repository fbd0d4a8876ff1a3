/* SPDX-License-Identifier: MIT */
/* test_pages_huge.c — a secret-pages request larger than the machine's RAM is refused before
 * anything is mapped (issue 11 item 5).
 *
 * memfd_secret pages are always resident, so a request above physical memory can never be
 * honoured. With CAP_IPC_LOCK (root) the kernel used to accept a 64 TiB mapping lazily; it is
 * now refused with RP_ERR_NOMEM and a message naming physical memory, for root and for an
 * unprivileged user alike. Skips (77) where there are no secret pages.
 */
#include <stdint.h>
#include <string.h>

#include "rampart.h"
#include "testhelper.h"

static void huge_secret_refused(void) {
    const rp_page_allocator_t *secret = rp_pages_secret();
    size_t huge = (size_t)UINT64_C(0x400000000000); /* 64 TiB */
    bool locked = true;
    void *p = rp_pages_allocate_locked(secret, huge, &locked);
    CHECK(p == NULL && !locked);
    if (p != NULL) (void)rp_pages_free_locked(secret, p, huge);
    CHECK(rp_last_error()->status == RP_ERR_NOMEM);
    CHECK(strstr(rp_last_error()->message, "physical memory") != NULL);
    /* An ordinary request still works. */
    p = rp_pages_allocate_locked(secret, rp_page_size(), &locked);
    if (p == NULL) {
        CHECK(rp_last_error()->status == RP_ERR_LIMIT); /* a memlock limit of 0 */
    } else {
        CHECK(locked);
        CHECK(rp_pages_free_locked(secret, p, rp_page_size()) == RP_OK);
    }
}

int main(void) {
    if (sizeof(size_t) < 8) rp_test_skip("a 64 TiB request needs a 64-bit size_t");
    if (rp_pages_secret() == NULL) rp_test_skip("no secret pages (memfd_secret) here");
    RP_TEST(huge_secret_refused);
    return rp_test_exit();
}
