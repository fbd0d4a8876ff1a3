/* SPDX-License-Identifier: MIT */
/* os/posix_common.h — the hooks between os/posix_common.c (the primitives every POSIX system
 * shares) and the one platform file CMake builds with it (os/linux.c or os/posix.c). Each
 * platform file implements every hook here; nothing outside src/os/ includes this header.
 */
#ifndef RP_OS_POSIX_COMMON_H
#define RP_OS_POSIX_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "os/os.h"

/* The mmap flags for explicit huge pages of huge_size bytes (0: none) and for a fixed address
 * that must not replace what is there, OR-ed into *flags. The platform's error when it has no
 * huge pages of that kind (ENOSYS) or huge_size is not a power of two (EINVAL). Where the system
 * has no no-replace flag, none is added: rp__os_map then checks the address it got. */
int rp__posix_map_flags(size_t huge_size, bool fixed, int *flags);

/* Install (or remove) lightweight guard pages on [addr, addr+size): 0, or the error that makes
 * rp__os_guard_install fall back to PROT_NONE (ENOSYS where the system has no such advice).
 * pre: page-aligned. */
int rp__posix_guard_madvise(void *addr, size_t size, bool install);

/* The platform's part of rp__os_lock_info: out comes with every figure unknown (SIZE_MAX, -1)
 * and limit_binding true; fill what the system reports for process pid (0: this process). */
int rp__posix_lock_info(int pid, rp__os_lock_info_t *out);

/* Fill what rp__os_core_info reports beyond the core size limit: the core pattern ("" where the
 * system has none) and whether this process is dumpable. */
void rp__posix_core_facts(rp__os_core_info_t *out);

/* Provided by os/posix_common.c for the platform files: madvise(addr, size, native), 0 or the
 * error. An advice the kernel does not know comes back as EINVAL, but so does a known one that
 * this range refuses (MADV_WIPEONFORK on a shared mapping, say); EINVAL becomes ENOSYS
 * ("unsupported") only when the same advice is refused on a private anonymous page of our own
 * too (probed once per advice value), so a real refusal is never taken for a missing feature. */
int rp__posix_madvise(void *addr, size_t size, int native);

#endif /* RP_OS_POSIX_COMMON_H */
