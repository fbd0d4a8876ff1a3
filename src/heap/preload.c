/* SPDX-License-Identifier: MIT */
/* heap/preload.c — librampart-malloc.so: the C allocator functions, backed by the default heap,
 * for LD_PRELOAD. Built only into that library (src/heap/targets.cmake), with its own object set
 * (no sanitizer, initial-exec TLS) and a version script that exports only these symbols.
 *
 * glibc's rules are kept where programs depend on them: free(NULL) does nothing and no free
 * changes errno; realloc(NULL, n) is malloc(n) and realloc(p, 0) frees p and returns NULL;
 * failures set errno = ENOMEM; posix_memalign returns EINVAL for an alignment that is not a power
 * of two multiple of sizeof(void *) and leaves errno alone; memalign rounds a non-power-of-two
 * alignment up; free_sized/free_aligned_sized (C23) check the size against the block;
 * valloc/pvalloc align to the page size and pvalloc rounds the size up to pages.
 * No function here calls into the system allocator, and none needs initialisation first.
 * glibc's __libc_* names for them are exported as well (the end of this file).
 */
#include <errno.h>

#include "heap/heap_internal.h"

#define RP__EXPORT __attribute__((visibility("default")))

RP__EXPORT void *malloc(size_t size);
RP__EXPORT void free(void *p);
RP__EXPORT void cfree(void *p);
RP__EXPORT void *calloc(size_t count, size_t size);
RP__EXPORT void *realloc(void *p, size_t size);
RP__EXPORT void *reallocarray(void *p, size_t count, size_t size);
RP__EXPORT int posix_memalign(void **out, size_t alignment, size_t size);
RP__EXPORT void *aligned_alloc(size_t alignment, size_t size);
RP__EXPORT void *memalign(size_t alignment, size_t size);
RP__EXPORT void *valloc(size_t size);
RP__EXPORT void *pvalloc(size_t size);
RP__EXPORT size_t malloc_usable_size(void *p);
RP__EXPORT void free_sized(void *p, size_t size);
RP__EXPORT void free_aligned_sized(void *p, size_t alignment, size_t size);

void *malloc(size_t size) { return rp__malloc_inline(size); }

void free(void *p) { rp__free_inline(p); }

void cfree(void *p) { rp__free_inline(p); }

/* C23: the size (and alignment) the block was asked for; a size larger than the block is
 * reported as corruption, as rp_free_sized does. */
void free_sized(void *p, size_t size) { rp__free_sized_inline(p, size); }

void free_aligned_sized(void *p, size_t alignment, size_t size) {
    (void)alignment; /* the block's own placement already satisfies it; nothing to look up */
    rp__free_sized_inline(p, size);
}

void *calloc(size_t count, size_t size) { return rp__calloc_default(count, size); }

void *realloc(void *p, size_t size) { return rp__realloc_default(p, size); }

void *reallocarray(void *p, size_t count, size_t size) {
    size_t total;
    if (rp__mul_overflows(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return rp__realloc_default(p, total);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    int saved = errno;
    void *p = rp__aligned_default(alignment, size);
    errno = saved;
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) { return rp__aligned_default(alignment, size); }

/* memalign, valloc and pvalloc by static names too: __libc_* below call these, never the exported
 * names, which resolve to the first definition in the process (a wrapper's). */
static void *rp__memalign(size_t alignment, size_t size) {
    if (alignment & (alignment - 1)) {
        size_t a = RP__GRAN;
        while (a < alignment && a < (SIZE_MAX >> 1) + 1) a <<= 1;
        if (a < alignment) {
            errno = EINVAL;
            return NULL;
        }
        alignment = a;
    }
    return rp__aligned_default(alignment == 0 ? RP__GRAN : alignment, size);
}

static void *rp__valloc(size_t size) { return rp__aligned_default(rp__os_page_size(), size); }

static void *rp__pvalloc(size_t size) {
    size_t page = rp__os_page_size();
    size_t rounded = rp__align_up(size == 0 ? 1 : size, page);
    if (rounded == 0) {
        errno = ENOMEM;
        return NULL;
    }
    return rp__aligned_default(page, rounded);
}

void *memalign(size_t alignment, size_t size) { return rp__memalign(alignment, size); }
void *valloc(size_t size) { return rp__valloc(size); }
void *pvalloc(size_t size) { return rp__pvalloc(size); }

size_t malloc_usable_size(void *p) { return rp__usable(p); }

/* glibc's own names for the same functions, which it exports too and which programs and hook
 * libraries call: without them such a block came from glibc's heap and its free went to
 * rampart's (or the other way round), and the process aborted. */
RP__EXPORT void *__libc_malloc(size_t size);
RP__EXPORT void __libc_free(void *p);
RP__EXPORT void *__libc_calloc(size_t count, size_t size);
RP__EXPORT void *__libc_realloc(void *p, size_t size);
RP__EXPORT void *__libc_memalign(size_t alignment, size_t size);
RP__EXPORT void *__libc_valloc(size_t size);
RP__EXPORT void *__libc_pvalloc(size_t size);

/* The heap itself, not the exported names: a program or hook library that defines malloc on top of
 * __libc_malloc (the usual wrapper) would otherwise call itself through them until the stack ran
 * out, since malloc resolves to the first definition in the process, the wrapper's. */
void *__libc_malloc(size_t size) { return rp__malloc_inline(size); }
void __libc_free(void *p) { rp__free_inline(p); }
void *__libc_calloc(size_t count, size_t size) { return rp__calloc_default(count, size); }
void *__libc_realloc(void *p, size_t size) { return rp__realloc_default(p, size); }
void *__libc_memalign(size_t alignment, size_t size) { return rp__memalign(alignment, size); }
void *__libc_valloc(size_t size) { return rp__valloc(size); }
void *__libc_pvalloc(size_t size) { return rp__pvalloc(size); }
