/* SPDX-License-Identifier: MIT */
/* core/annotate.h — tool annotations: AddressSanitizer poisoning (this part) and Valgrind
 * memcheck client requests (the second part, below).
 *
 * AddressSanitizer: the heap and the pool poison the memory of free blocks and slots, and unpoison it when they hand it out, so that ASan reports a use after free
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

/* ---- Valgrind memcheck ---------------------------------------------------------------------------
 *
 * Compiled in when the build found <valgrind/memcheck.h> (CMake defines RP_HAVE_VALGRIND; option
 * RAMPART_VALGRIND), and active only in a process that runs under Valgrind: rp__annotate_init
 * sets rp__vg once, before the first block is handed out, and every hook below is one relaxed
 * load and a branch not taken otherwise. Without the header, rp__vg_on() is the constant false
 * and no code remains.
 *
 * The model (docs/debugging.md): each heap and each pool is a memcheck memory pool anchored at
 * its handle (VALGRIND_CREATE_MEMPOOL); a block handed out is a chunk of the size asked for
 * (MEMPOOL_ALLOC: undefined for the heap, defined zeros for the pool, whose memory is zeroed);
 * the slack between the size asked for and the block's usable size, and every free block, are
 * no-access. rampart's own accesses to memory the program may not touch (free-list links and
 * freed marks inside free heap blocks, canaries, wipes) open the bytes first (rp__vg_defined /
 * rp__vg_undefined) and close them after (rp__vg_noaccess). Valgrind's own malloc forgets nothing
 * of this: memcheck reports overflows, use after free, uninitialised reads and leaks in rampart's
 * memory as it does for glibc's malloc. Under Valgrind the fast paths of the heap hand over to
 * the slow ones (which carry the annotations) and a realloc always moves the block, as
 * Valgrind's own realloc does; rampart then remembers each live block's asked size
 * (rp__vg_size_*: a realloc copies the asked bytes, never the no-access slack).
 */
#include <stdbool.h>

/* Sets rp__vg when this process runs under Valgrind; the heap's and the pool's first use call
 * it, before they hand out a block. Cheap; any number of calls. */
void rp__annotate_init(void);

/* Under Valgrind only: the size asked for and the owner of each live heap and pool block (a
 * table outside the program's blocks, holding the addresses disguised so that memcheck's leak
 * search does not take the table for a reference). set: 0 or ENOMEM; get: the size, or
 * `otherwise` for a block it does not know. rp__vg_destroy: every block of owner is freed (its
 * heap or pool is destroyed). */
int rp__vg_size_set(const void *p, size_t size, const void *owner);
size_t rp__vg_size_get(const void *p, size_t otherwise);
void rp__vg_size_forget(const void *p);
void rp__vg_destroy(const void *owner);

#if defined(RP_HAVE_VALGRIND)
#  include <stdatomic.h>
#  include <valgrind/valgrind.h> /* RUNNING_ON_VALGRIND */
/* 1 in a process under Valgrind, once rp__annotate_init has run (hidden: one load, no GOT) */
extern _Atomic int rp__vg __attribute__((visibility("hidden")));
static inline bool rp__vg_on(void) {
    return __builtin_expect(atomic_load_explicit(&rp__vg, memory_order_relaxed) != 0, 0);
}
/* The client requests themselves are out of line (core/annotate.c): inline, each one's argument
 * block would give every fast path that holds a hook a stack frame. */
void rp__vg_alloc_slow(const void *owner, void *p, size_t size, size_t usable, bool zeroed);
void rp__vg_free_slow(void *p);
void rp__vg_resize_slow(const void *owner, void *p, size_t usable, size_t size);
void rp__vg_mark_slow(const void *p, size_t n, int how);
enum { RP__VG_NOACCESS, RP__VG_UNDEFINED, RP__VG_DEFINED };
/* A block of `usable` bytes at p goes out for `size` bytes, zeroed or not: memcheck's block,
 * and no-access slack. owner: the heap or pool, whose destroy frees it (rp__vg_destroy). */
static inline void rp__vg_alloc(const void *owner, void *p, size_t size, size_t usable, bool zeroed) {
    if (rp__vg_on()) rp__vg_alloc_slow(owner, p, size, usable, zeroed);
}
/* The block at p is freed (memcheck reports a block it does not know: an invalid free). */
static inline void rp__vg_free(void *p) {
    if (rp__vg_on()) rp__vg_free_slow(p);
}
/* The block at p now has `size` bytes (from the size asked for before, or `usable`). */
static inline void rp__vg_resize(const void *owner, void *p, size_t usable, size_t size) {
    if (rp__vg_on()) rp__vg_resize_slow(owner, p, usable, size);
}
/* n bytes at p: the program may not touch them; rampart writes them; rampart reads them. */
static inline void rp__vg_noaccess(const void *p, size_t n) {
    if (rp__vg_on()) rp__vg_mark_slow(p, n, RP__VG_NOACCESS);
}
static inline void rp__vg_undefined(const void *p, size_t n) {
    if (rp__vg_on()) rp__vg_mark_slow(p, n, RP__VG_UNDEFINED);
}
static inline void rp__vg_defined(const void *p, size_t n) {
    if (rp__vg_on()) rp__vg_mark_slow(p, n, RP__VG_DEFINED);
}
/* Whether this process runs under Valgrind, asked of Valgrind itself (for the os layer, which
 * avoids system calls Valgrind does not handle; it may run before rp__annotate_init). */
static inline bool rp__on_valgrind(void) { return RUNNING_ON_VALGRIND != 0; }
#else
static inline bool rp__vg_on(void) { return false; }
static inline void rp__vg_alloc(const void *owner, void *p, size_t size, size_t usable, bool zeroed) {
    (void)owner, (void)p, (void)size, (void)usable, (void)zeroed;
}
static inline void rp__vg_free(void *p) { (void)p; }
static inline void rp__vg_resize(const void *owner, void *p, size_t usable, size_t size) {
    (void)owner, (void)p, (void)usable, (void)size;
}
static inline void rp__vg_noaccess(const void *p, size_t n) { (void)p, (void)n; }
static inline void rp__vg_undefined(const void *p, size_t n) { (void)p, (void)n; }
static inline void rp__vg_defined(const void *p, size_t n) { (void)p, (void)n; }
static inline bool rp__on_valgrind(void) { return false; }
#endif

#endif /* RP_CORE_ANNOTATE_H */
