/* SPDX-License-Identifier: MIT */
/* pool/pagemap.c — which arena holds an address: a process-wide radix tree over 4 KiB pages.
 *
 * free() must find a pointer's arena without trusting anything stored next to the pointer
 * (metadata never lives in the secret pages) and without a lock (threads free concurrently).
 * Addresses below 2^48 are split 12/12/12 bits above the 4 KiB page offset: a static root of
 * 4096 node pointers, nodes of 4096 leaf pointers, leaves of 4096 arena pointers (32 KiB each,
 * from rp__os_alloc, zero until written). A lookup is three dependent loads. Nodes and leaves
 * are installed with compare-and-swap and never freed, so a reader never meets freed memory;
 * entries are published with release stores after the arena is complete. An address at or
 * above 2^48 has no entry: creating an arena there fails, looking one up finds nothing.
 * The 4 KiB granule works for any page size that is a multiple of it.
 */
#include "pool/pool_internal.h"

#define RP__PM_LIMIT_BITS (RP__PM_SHIFT + 3u * RP__PM_BITS) /* 48 */

_Atomic(rp__pm_node_t *) rp__pm_root[RP__PM_FAN];

/* The child at slot, created if missing (and when create is false, NULL if missing). */
static void *rp__pm_child(_Atomic(void *) *slot, size_t size, bool create, int *err) {
    void *cur = atomic_load_explicit(slot, memory_order_acquire);
    if (cur != NULL || !create) return cur;
    void *fresh = NULL;
    *err = rp__os_alloc(size, &fresh);
    if (*err != 0) return NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &cur, fresh, memory_order_acq_rel, memory_order_acquire))
        return fresh;
    rp__os_release(fresh, size); /* another thread installed one first */
    return cur;
}

int rp__pagemap_set(uintptr_t addr, size_t len, rp__arena_t *a) {
    uint64_t first = (uint64_t)addr >> RP__PM_SHIFT;
    uint64_t last = ((uint64_t)addr + len - 1) >> RP__PM_SHIFT;
    if (((uint64_t)addr + len - 1) >> RP__PM_LIMIT_BITS) return rp__os_err_nomem();
    int err = 0;
    for (uint64_t pn = first; pn <= last; pn++) {
        rp__pm_node_t *node = rp__pm_child((_Atomic(void *) *)&rp__pm_root[pn >> (2u * RP__PM_BITS)],
                                           sizeof(rp__pm_node_t), a != NULL, &err);
        if (node == NULL) {
            if (err != 0) return err;
            continue; /* clearing where nothing was ever set */
        }
        rp__pm_leaf_t *leaf = rp__pm_child((_Atomic(void *) *)&(*node)[(pn >> RP__PM_BITS) & (RP__PM_FAN - 1)],
                                           sizeof(rp__pm_leaf_t), a != NULL, &err);
        if (leaf == NULL) {
            if (err != 0) return err;
            continue;
        }
        atomic_store_explicit(&(*leaf)[pn & (RP__PM_FAN - 1)], a, memory_order_release);
    }
    return 0;
}
