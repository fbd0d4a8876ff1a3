/* SPDX-License-Identifier: MIT */
/* os/posix.c — the platform layer's part for POSIX systems other than Linux (the BSDs, macOS,
 * others): what they do differently from Linux, mostly by saying "unsupported". The primitives
 * every POSIX system shares are in os/posix_common.c, built with this file; on Linux os/linux.c
 * takes this file's place. See os/os.h for the contracts.
 *
 * What these systems lack here: a way to read another process's locking (no /proc), lock-on-
 * fault, huge page pools, fork wipe, lightweight guard pages, secret memory and mremap; those
 * primitives return ENOSYS and the layers above report them as unsupported. The BSDs' names for
 * core-dump exclusion (MADV_NOCORE) and for a fixed mapping that must not replace (MAP_EXCL)
 * are used where the headers have them.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"
#include "os/posix_common.h"

/* ---- sizes ------------------------------------------------------------------------------------- */

size_t rp__os_huge_sizes(rp__os_huge_size_t *out, size_t max) {
    (void)out;
    (void)max;
    return 0;
}

rp__os_thp_t rp__os_thp_mode(void) { return RP__OS_THP_NONE; }

/* ---- locking ----------------------------------------------------------------------------------- */

int rp__os_lock(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    return mlock(addr, size) == 0 ? 0 : errno;
}

int rp__os_lock_onfault(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    (void)addr;
    (void)size;
    return ENOSYS;
}

int rp__os_unlock(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    return munlock(addr, size) == 0 ? 0 : errno;
}

bool rp__os_can_lock_unlimited(void) { return geteuid() == 0; }

int rp__os_locked_bytes(int pid, size_t *vm_locked, size_t *resident_locked) {
    (void)pid;
    (void)vm_locked;
    (void)resident_locked;
    return ENOSYS;
}

/* ---- process-wide locking (the lockall layer) ---------------------------------------------------- */

unsigned rp__os_lockall_supported(void) {
#if defined(MCL_ONFAULT)
    return RP__OS_LOCKALL_CURRENT | RP__OS_LOCKALL_FUTURE | RP__OS_LOCKALL_ONFAULT;
#else
    return RP__OS_LOCKALL_CURRENT | RP__OS_LOCKALL_FUTURE;
#endif
}

int rp__os_lockall(unsigned flags, size_t *locked_bytes) {
    RP_ASSERT((flags & (RP__OS_LOCKALL_CURRENT | RP__OS_LOCKALL_FUTURE)) != 0 && locked_bytes != NULL);
    RP_ASSERT((flags & ~rp__os_lockall_supported()) == 0);
    int native = 0;
    if (flags & RP__OS_LOCKALL_CURRENT) native |= MCL_CURRENT;
    if (flags & RP__OS_LOCKALL_FUTURE) native |= MCL_FUTURE;
#if defined(MCL_ONFAULT)
    if (flags & RP__OS_LOCKALL_ONFAULT) native |= MCL_ONFAULT;
#endif
    *locked_bytes = 0; /* the kernel keeps the count */
    return mlockall(native) == 0 ? 0 : errno;
}

int rp__os_unlockall(void) { return munlockall() == 0 ? 0 : errno; }

int rp__posix_lock_info(int pid, rp__os_lock_info_t *out) {
    /* Only this process's limit is readable without /proc. */
    if (pid != 0 && pid != (int)getpid()) return ENOSYS;
    out->cap_ipc_lock = geteuid() == 0;
    return rp__os_lock_limit(&out->limit_soft, &out->limit_hard);
}

/* ---- advice ------------------------------------------------------------------------------------ */

int rp__os_advise(void *addr, size_t size, rp__os_advice_t advice) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    int native;
    switch (advice) {
#if defined(MADV_NOCORE)
    case RP__OS_ADV_DONTDUMP: native = MADV_NOCORE; break;
    case RP__OS_ADV_DODUMP: native = MADV_CORE; break;
#endif
    case RP__OS_ADV_FREE: native = MADV_DONTNEED; break;
    case RP__OS_ADV_WILLNEED: native = MADV_WILLNEED; break;
    default: return ENOSYS;
    }
    return rp__posix_madvise(addr, size, native);
}

int rp__posix_guard_madvise(void *addr, size_t size, bool install) {
    (void)addr;
    (void)size;
    (void)install;
    return ENOSYS;
}

/* ---- secret memory ----------------------------------------------------------------------------- */

int rp__os_secret_alloc(size_t size, void **out) {
    RP_ASSERT(size > 0 && size % rp__os_page_size() == 0 && out != NULL);
    (void)size;
    (void)out;
    return ENOSYS;
}

bool rp__os_secret_available(void) { return false; }

/* ---- memory areas ------------------------------------------------------------------------------ */

int rp__os_areas(int pid, rp__os_area_fn fn, void *ctx) {
    (void)pid;
    (void)fn;
    (void)ctx;
    return ENOSYS;
}

int rp__os_guard_reader_open(int pid, rp__os_guard_reader_t *out) {
    (void)pid;
    *out = -1;
    return ENOSYS;
}

int rp__os_guard_count(rp__os_guard_reader_t reader, uintptr_t start, uintptr_t end, size_t *count) {
    (void)reader;
    (void)start;
    (void)end;
    *count = 0;
    return ENOSYS;
}

void rp__os_guard_reader_close(rp__os_guard_reader_t reader) { (void)reader; }

/* ---- process facts ----------------------------------------------------------------------------- */

void rp__posix_core_facts(rp__os_core_info_t *out) { out->dumpable = true; }

/* The BSDs and macOS name the program (getprogname) and say whether it runs set-user-ID or
 * set-group-ID (issetugid); elsewhere the name is unknown and a differing real and effective
 * user or group stands for the latter. */
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || defined(__DragonFly__)
#  define RP__HAVE_BSD_PROCESS_CALLS 1
#else
#  define RP__HAVE_BSD_PROCESS_CALLS 0
#endif

void rp__os_process_name(char *buf, size_t size) {
    buf[0] = '\0';
#if RP__HAVE_BSD_PROCESS_CALLS
    snprintf(buf, size, "%s", getprogname());
#else
    (void)size;
#endif
}

const char *rp__os_getenv_secure(const char *name) {
#if RP__HAVE_BSD_PROCESS_CALLS
    return issetugid() ? NULL : getenv(name);
#else
    return getuid() != geteuid() || getgid() != getegid() ? NULL : getenv(name);
#endif
}

/* ---- mappings (the map layer) ------------------------------------------------------------------ */

int rp__posix_map_flags(size_t huge_size, bool fixed, int *flags) {
    if (huge_size != 0) return ENOSYS;
#if defined(MAP_EXCL)
    if (fixed) *flags |= MAP_FIXED | MAP_EXCL; /* FreeBSD: fail instead of replacing */
#else
    (void)fixed; /* a hint: rp__os_map checks where the mapping landed */
    (void)flags;
#endif
    return 0;
}

int rp__os_remap(void *addr, size_t old_size, size_t new_size, bool may_move, void *dest, void **out) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()) && out != NULL);
    (void)addr;
    (void)old_size;
    (void)new_size;
    (void)may_move;
    (void)dest;
    (void)out;
    return ENOSYS;
}

bool rp__os_remap_available(void) { return false; }

/* ---- the pool layer ---------------------------------------------------------------------------- */

int rp__os_random(void *buf, size_t len) {
    RP_ASSERT(buf != NULL);
    arc4random_buf(buf, len); /* cannot fail */
    return 0;
}

int rp__os_random_nowait(void *buf, size_t len) { return rp__os_random(buf, len); /* never waits */ }
