/* SPDX-License-Identifier: MIT */
/* core/memzero.c — a wipe the compiler cannot remove, and a wipe of only the pages that hold
 * anything.
 *
 * A plain memset before free() is a dead store the optimiser may delete. rp_memzero uses the
 * platform's own primitive for that (explicit_bzero, SecureZeroMemory, ...: rp__os_wipe), which
 * the os layer backs with a compiler barrier where the C library has none.
 */
#include <string.h>

#include "internal.h"
#include "os/os.h"

void rp_memzero(void *p, size_t len) {
    if (len == 0) return;
    rp__os_wipe(p, len);
}

/* Pages asked about per rp__os_resident call (one byte each, on the stack). */
#define RP__WIPE_CHUNK_PAGES 1024u

void rp__memzero_resident(void *p, size_t len) {
    size_t page = rp__os_page_size();
    unsigned char vec[RP__WIPE_CHUNK_PAGES];
    unsigned char *at = p;
    size_t pages = len / page;
    for (size_t done = 0; done < pages;) {
        size_t n = pages - done < RP__WIPE_CHUNK_PAGES ? pages - done : RP__WIPE_CHUNK_PAGES;
        unsigned char *chunk = at + done * page;
        if (rp__os_resident(chunk, n * page, vec) != 0) memset(vec, 1, n);
        for (size_t i = 0; i < n;) {
            if (!(vec[i] & 1)) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < n && (vec[j] & 1)) j++;
            rp_memzero(chunk + i * page, (j - i) * page);
            i = j;
        }
        done += n;
    }
}
