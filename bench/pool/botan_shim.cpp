/* SPDX-License-Identifier: MIT */
// botan_shim.cpp — C entry points to Botan's secure allocation for bench_pool.c.
//
// Botan::allocate_memory / deallocate_memory are what secure_vector's allocator uses: the mlock
// pool (mlock_allocator, up to BOTAN_MLOCK_ALLOCATOR_MAX_LOCKED_KB) when the request fits (up to
// 256 bytes with Debian's Botan 2.19), and zeroed calloc memory (wiped on free, not locked) when
// it does not.
#include <botan/mem_ops.h>

extern "C" void *botan_shim_alloc(size_t n) { return Botan::allocate_memory(n, 1); }
extern "C" void botan_shim_free(void *p, size_t n) { Botan::deallocate_memory(p, n, 1); }
