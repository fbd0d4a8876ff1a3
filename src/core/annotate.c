/* SPDX-License-Identifier: MIT */
/* core/annotate.c — the run-time half of core/annotate.h: whether this process runs under
 * Valgrind, and, under Valgrind only, the size asked for each live block.
 *
 * The size table is an open-addressing hash (linear probing) of {~address, size} pairs in
 * memory mapped from the OS, grown by doubling at three quarters full, under one mutex: it is
 * only used under Valgrind, where every call is slow anyway. The address is stored inverted so
 * that memcheck's leak search, which scans this memory like any other, finds no pointer to a
 * block here (a leaked block must stay "definitely lost").
 */
#include <errno.h>
#include <string.h>

#include "core/annotate.h"
#include "internal.h"
#include "os/os.h"

#if defined(RP_HAVE_VALGRIND)
#  include <valgrind/memcheck.h>

_Atomic int rp__vg;

void rp__vg_alloc_slow(const void *owner, void *p, size_t size, size_t usable, bool zeroed) {
    if (rp__vg_size_set(p, size, owner) != 0) return; /* ENOMEM: the block stays unknown to memcheck */
    if (usable > size) VALGRIND_MAKE_MEM_NOACCESS((char *)p + size, usable - size);
    VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, zeroed);
}

void rp__vg_free_slow(void *p) {
    VALGRIND_FREELIKE_BLOCK(p, 0);
    rp__vg_size_forget(p);
}

void rp__vg_resize_slow(const void *owner, void *p, size_t usable, size_t size) {
    if (size == 0) {
        /* memcheck takes a resize to 0 bytes for an invalid free; the block stays live, with
         * nothing the program may touch: end it and hand it out again at 0 bytes. */
        VALGRIND_FREELIKE_BLOCK(p, 0);
        VALGRIND_MALLOCLIKE_BLOCK(p, 0, 0, 0);
    } else {
        VALGRIND_RESIZEINPLACE_BLOCK(p, rp__vg_size_get(p, usable), size, 0);
    }
    (void)rp__vg_size_set(p, size, owner);
}

void rp__vg_mark_slow(const void *p, size_t n, int how) {
    if (how == RP__VG_NOACCESS) VALGRIND_MAKE_MEM_NOACCESS(p, n);
    else if (how == RP__VG_UNDEFINED) VALGRIND_MAKE_MEM_UNDEFINED(p, n);
    else VALGRIND_MAKE_MEM_DEFINED(p, n);
}

void rp__annotate_init(void) {
    /* Written only where it changes: outside Valgrind this stays a read-only zero. */
    if (RUNNING_ON_VALGRIND && atomic_load_explicit(&rp__vg, memory_order_relaxed) == 0)
        atomic_store_explicit(&rp__vg, 1, memory_order_relaxed);
}

typedef struct rp__vg_slot {
    uintptr_t key; /* ~address; 0 empty, RP__VG_GONE a removed entry */
    size_t size;
    const void *owner; /* the heap or pool */
} rp__vg_slot_t;
#  define RP__VG_GONE ((uintptr_t)1) /* no block starts at ~0 or ~1 */

static rp__os_mutex_t rp__vg_lock = RP__OS_MUTEX_INIT;
static rp__vg_slot_t *rp__vg_tab;
static size_t rp__vg_cap, rp__vg_fill; /* slots; slots not empty (live or removed) */

static size_t rp__vg_hash(uintptr_t key, size_t cap) {
    return (size_t)((uint64_t)key * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

/* The slot of key, or the empty slot where it would go. pre: lock held, table not full. */
static rp__vg_slot_t *rp__vg_find(uintptr_t key) {
    rp__vg_slot_t *gone = NULL;
    for (size_t i = rp__vg_hash(key, rp__vg_cap);; i = (i + 1) & (rp__vg_cap - 1)) {
        rp__vg_slot_t *s = &rp__vg_tab[i];
        if (s->key == key) return s;
        if (s->key == RP__VG_GONE && gone == NULL) gone = s;
        if (s->key == 0) return gone != NULL ? gone : s;
    }
}

/* Rehash into a table twice as large, or as large when removed entries filled it. */
static int rp__vg_grow(void) {
    size_t live = 0;
    for (size_t i = 0; i < rp__vg_cap; i++) live += rp__vg_tab[i].key > RP__VG_GONE;
    size_t cap = rp__vg_cap == 0 ? 4096 : live * 2 < rp__vg_cap ? rp__vg_cap : rp__vg_cap * 2;
    void *mem = NULL;
    int err = rp__os_alloc(cap * sizeof(rp__vg_slot_t), &mem);
    if (err != 0) return err;
    rp__vg_slot_t *old = rp__vg_tab;
    size_t old_cap = rp__vg_cap;
    rp__vg_tab = mem;
    rp__vg_cap = cap;
    rp__vg_fill = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key > RP__VG_GONE) {
            *rp__vg_find(old[i].key) = old[i];
            rp__vg_fill++;
        }
    }
    if (old != NULL) rp__os_release(old, old_cap * sizeof(rp__vg_slot_t));
    return 0;
}

int rp__vg_size_set(const void *p, size_t size, const void *owner) {
    uintptr_t key = ~(uintptr_t)p;
    int err = 0;
    rp__os_mutex_lock(&rp__vg_lock);
    if ((rp__vg_fill + 1) * 4 > rp__vg_cap * 3) err = rp__vg_grow();
    if (err == 0) {
        rp__vg_slot_t *s = rp__vg_find(key);
        if (s->key == 0) rp__vg_fill++;
        s->key = key;
        s->size = size;
        s->owner = owner;
    }
    rp__os_mutex_unlock(&rp__vg_lock);
    return err;
}

size_t rp__vg_size_get(const void *p, size_t otherwise) {
    size_t n = otherwise;
    rp__os_mutex_lock(&rp__vg_lock);
    if (rp__vg_cap != 0) {
        rp__vg_slot_t *s = rp__vg_find(~(uintptr_t)p);
        if (s->key == ~(uintptr_t)p) n = s->size;
    }
    rp__os_mutex_unlock(&rp__vg_lock);
    return n;
}

void rp__vg_size_forget(const void *p) {
    rp__os_mutex_lock(&rp__vg_lock);
    if (rp__vg_cap != 0) {
        rp__vg_slot_t *s = rp__vg_find(~(uintptr_t)p);
        if (s->key == ~(uintptr_t)p) s->key = RP__VG_GONE;
    }
    rp__os_mutex_unlock(&rp__vg_lock);
}

void rp__vg_destroy(const void *owner) {
    rp__os_mutex_lock(&rp__vg_lock);
    for (size_t i = 0; i < rp__vg_cap; i++) {
        rp__vg_slot_t *s = &rp__vg_tab[i];
        if (s->key > RP__VG_GONE && s->owner == owner) {
            VALGRIND_FREELIKE_BLOCK((void *)~s->key, 0);
            s->key = RP__VG_GONE;
        }
    }
    rp__os_mutex_unlock(&rp__vg_lock);
}
#else
void rp__annotate_init(void) {}
int rp__vg_size_set(const void *p, size_t size, const void *owner) {
    (void)p, (void)size, (void)owner;
    return 0;
}
void rp__vg_destroy(const void *owner) { (void)owner; }
size_t rp__vg_size_get(const void *p, size_t otherwise) {
    (void)p;
    return otherwise;
}
void rp__vg_size_forget(const void *p) { (void)p; }
#endif
