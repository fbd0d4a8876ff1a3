/* SPDX-License-Identifier: MIT */
/* core/annotate.h — AddressSanitizer annotations: the heap and the pool poison the memory of free
 * blocks and slots, and unpoison it when they hand it out, so that ASan reports a use after free
 * or an overflow inside rampart's own memory (which ASan's malloc never sees). In a build without
 * -fsanitize=address both calls are empty inline functions: no code, no cost.
 *
 * Poisoning only marks ASan's shadow bytes; the memory itself is unchanged. Whatever rampart
 * reads or writes in a free block (the heap's free-list link and freed mark in a block's first
 * RP__FREE_WORDS bytes, the pool's canaries, wipes of freed memory) is left unpoisoned or is
 * unpoisoned first. Memory going back to a page source is unpoisoned whole, so a later mapping at
 * the same address starts clean. Granularity is ASan's 8 bytes; rampart's blocks and slots are
 * multiples of 16, so every range here is exact.
 */
#ifndef RP_CORE_ANNOTATE_H
#define RP_CORE_ANNOTATE_H

#include <stddef.h>

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define RP__ASAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(RP__ASAN)
#  define RP__ASAN 1
#endif

#if defined(RP__ASAN)
#  include <sanitizer/asan_interface.h>
/* n bytes at p may no longer be used by the program (free memory). */
static inline void rp__asan_poison(const void *p, size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
/* n bytes at p may be used again (handed out, or read by rampart itself). */
static inline void rp__asan_unpoison(const void *p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
static inline void rp__asan_poison(const void *p, size_t n) {
    (void)p;
    (void)n;
}
static inline void rp__asan_unpoison(const void *p, size_t n) {
    (void)p;
    (void)n;
}
#endif

#endif /* RP_CORE_ANNOTATE_H */
