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

static void *(*volatile rp__memset_fn)(void *, int, size_t) = memset;

void rp_memzero(void *p, size_t len) {
    if (len == 0) return;
    rp__memset_fn(p, 0, len);
#if defined(__GNUC__)
    __asm__ __volatile__("" : : "r"(p) : "memory");
#endif
}
