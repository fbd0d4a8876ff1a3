/* SPDX-License-Identifier: MIT */
/* pool/protect.c — rp_pool_protect: page protection of guarded allocations (libsodium's
 * sodium_mprotect_noaccess / _readonly / _readwrite), and the restore that free, realloc and
 * destroy run before they wipe a slot.
 *
 * A guarded slot is k whole data pages followed by its own guard page (pool.h's drawing), so
 * its data pages can change protection without touching a neighbour. Each arena keeps a bitmask
 * of the slots that may be other than read-write (at most RP__GUARDED_SLOTS_MAX of them): free's
 * path tests one bit and makes a system call only for a slot that was protected. The bit is set
 * before the pages leave read-write and cleared after they are back, so it never says "read-write"
 * of pages that are not. Only the owner of a live slot changes its bit (atomic or/and, as other
 * slots' bits share the word), so no lock is held across the system call (pool_internal.h).
 */
#include "pool/pool_internal.h"

_Static_assert(RP__GUARDED_SLOTS_MAX <= 32, "one bit per guarded slot in protected_slots");

static rp__os_prot_t rp__os_prot_of_pool(rp_pool_prot_t prot) {
    return prot == RP_POOL_PROT_NONE ? RP__OS_PROT_NONE
           : prot == RP_POOL_PROT_READ ? RP__OS_PROT_READ
                                       : RP__OS_PROT_READ_WRITE;
}

void rp__protect_restore(rp__arena_t *a, size_t idx) {
    void *slot = (void *)(a->first + idx * a->stride);
    if (rp__os_protect(slot, a->data, RP__OS_PROT_READ_WRITE) != 0)
        rp__corrupt("pool: cannot make a protected allocation writable again to wipe it", slot);
    atomic_fetch_and_explicit(&a->protected_slots, ~(1u << idx), memory_order_relaxed);
}

rp_status_t rp_pool_protect(rp_pool_t *pool, void *p, rp_pool_prot_t prot) {
    if (pool == NULL || p == NULL)
        return rp__fail(RP_ERR_INVALID, 0, "pool_protect: %s is NULL", pool == NULL ? "pool" : "the pointer");
    if (prot != RP_POOL_PROT_NONE && prot != RP_POOL_PROT_READ && prot != RP_POOL_PROT_READWRITE)
        return rp__fail(RP_ERR_INVALID, 0, "pool_protect: %d is not an rp_pool_prot_t", (int)prot);
    rp__arena_t *a = rp__pagemap_get((uintptr_t)p);
    if (a == NULL || a->pool != pool)
        return rp__fail(RP_ERR_INVALID, 0, "pool_protect: %p is not an allocation of this pool", p);
    if (a->kind != RP__ARENA_GUARDED)
        return rp__fail(RP_ERR_INVALID, 0,
                        "pool_protect: %p is not a guarded allocation (create the pool with RP_POOL_GUARDED)", p);
    /* Same checks as rp_pool_usable_size: a live slot, and p its start (sizes under the shard lock). */
    size_t off = (uintptr_t)p - a->first, idx = SIZE_MAX;
    rp__shard_t *sh = &pool->shards[a->shard % RP__SHARDS];
    rp__os_mutex_lock(&sh->lock);
    size_t i = off < a->span ? (a->slots == 1 ? 0 : off / a->stride) : SIZE_MAX;
    if (i < a->slots && atomic_load_explicit(&a->live[i], memory_order_relaxed) == 1 &&
        (uintptr_t)p == a->first + i * a->stride + a->data - a->sizes[i])
        idx = i;
    rp__os_mutex_unlock(&sh->lock);
    if (idx == SIZE_MAX)
        return rp__fail(RP_ERR_INVALID, 0, "pool_protect: %p is not the start of a live allocation of this pool", p);

    uint32_t bit = 1u << idx;
    void *slot = (void *)(a->first + idx * a->stride);
    if (prot != RP_POOL_PROT_READWRITE) atomic_fetch_or_explicit(&a->protected_slots, bit, memory_order_relaxed);
    int err = rp__os_protect(slot, a->data, rp__os_prot_of_pool(prot));
    if (err != 0) return rp__fail_os(err, "pool_protect: cannot change the protection of %p", p);
    if (prot == RP_POOL_PROT_READWRITE) atomic_fetch_and_explicit(&a->protected_slots, ~bit, memory_order_relaxed);
    return RP_OK;
}
