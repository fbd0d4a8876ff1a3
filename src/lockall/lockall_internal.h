/* SPDX-License-Identifier: MIT */
/* lockall/lockall_internal.h — what the lock-all files share: the flag and limit helpers, the
 * options check, the sum of a process's memory areas by lock state, and the headroom rule.
 *
 * Files: options.c (rp_lockall_options_t and the RAMPART_LOCK grammar), accounting.c (areas,
 * verdict, headroom, scope names), lockall.c (rp_lockall, rp_unlockall, rp_lockall_is_locked),
 * status.c (rp_lockall_status_format), preflight.c (rp_lockall_preflight), query.c
 * (rp_lockall_query, rp_lockall_locked_bytes), remote.c (another process).
 *
 * The platform layer does the locking (mlockall / VirtualLock of each region) and reports raw
 * errors and raw figures (VmLck, VmSize, the limits, CAP_IPC_LOCK); these files decide what they
 * mean. The kernel rules they encode (Linux mm/mlock.c):
 *   - no CAP_IPC_LOCK and RLIMIT_MEMLOCK 0: every lock fails with EPERM;
 *   - MCL_CURRENT: the whole mapped size (total_vm, VmSize) must fit under the soft limit, else
 *     ENOMEM, even with MCL_ONFAULT, where nothing is faulted in;
 *   - MCL_FUTURE: accepted under any non-zero limit; each later mapping is charged and refused
 *     (EAGAIN / ENOMEM) once VmLck would pass the limit: hence the headroom warning;
 *   - mlock of N bytes: VmLck + N must fit under the soft limit.
 * With CAP_IPC_LOCK no limit applies, and ENOMEM is a real shortage of memory.
 */
#ifndef RP_LOCKALL_INTERNAL_H
#define RP_LOCKALL_INTERNAL_H

#include "internal.h"
#include "os/os.h"
#include "rampart/lockall.h"

static inline unsigned rp__lockall_flags(const rp_lockall_options_t *c) {
    return (c->current ? RP__OS_LOCKALL_CURRENT : 0u) | (c->future ? RP__OS_LOCKALL_FUTURE : 0u) |
           (c->onfault ? RP__OS_LOCKALL_ONFAULT : 0u);
}

/* No limit applies: CAP_IPC_LOCK, an unlimited soft limit, or a limit the OS layer raises itself. */
static inline bool rp__lockall_unlimited(const rp__os_lock_info_t *li) {
    return li->cap_ipc_lock == 1 || li->limit_soft == SIZE_MAX || !li->limit_binding;
}

static inline size_t rp__known(size_t v) { return v == SIZE_MAX ? 0 : v; }

/* options.c */
/* A configuration that asks for nothing is a caller's mistake: refused before any system call. */
rp_status_t rp__lockall_check(const rp_lockall_options_t *c, const char *who);

/* accounting.c */
/* "current+future+onfault" for a flag set. */
const char *rp__lockall_scope(unsigned flags, char *buf, size_t size);

typedef struct rp__lockall_areas {
    size_t locked, unlocked, unlockable;  /* mapped bytes */
    size_t locked_rss, unlocked_rss;      /* resident bytes */
    size_t locked_pss;                    /* smaps Locked: (proportional) */
    size_t faulted;                       /* what locking current memory makes resident: writable
                                             areas and file-backed ones (a read-only anonymous area
                                             maps the zero page; PROT_NONE nothing) */
} rp__lockall_areas_t;

/* Sum the areas of process pid; the OS error when they cannot be read. */
int rp__lockall_areas(int pid, rp__lockall_areas_t *t);
rp_lockall_verdict_t rp__lockall_verdict(const rp__lockall_areas_t *t);
/* Room under the soft limit once locked_after bytes are locked, and whether future locking would
 * find it too small. */
void rp__lockall_headroom(const rp__os_lock_info_t *li, size_t locked_after, bool future, size_t *headroom,
                          bool *low);

#endif /* RP_LOCKALL_INTERNAL_H */
