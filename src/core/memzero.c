/* SPDX-License-Identifier: MIT */
/* core/memzero.c — a wipe the compiler cannot remove.
 *
 * A plain memset before free() is a dead store the optimiser may delete. Two independent
 * defences: memset is called through a volatile function pointer (the compiler cannot know what
 * it calls), and an empty asm statement that takes the pointer and clobbers memory afterwards
 * (the compiler must assume the bytes are read). Either alone suffices with GCC and Clang.
 */
#include <string.h>

#include "internal.h"
#include "os/os.h"

static void *(*volatile rp__memset_fn)(void *, int, size_t) = memset;

void rp_memzero(void *p, size_t len) {
    if (len == 0) return;
    rp__memset_fn(p, 0, len);
#if defined(__GNUC__)
    __asm__ __volatile__("" : : "r"(p) : "memory");
#endif
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
