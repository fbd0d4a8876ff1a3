/* SPDX-License-Identifier: MIT */
/* rampart/system.h — facts about this machine and process, and its memory areas.
 *
 * What rampart doctor prints, as data: page sizes, huge pages, the memlock limit and privilege,
 * bytes locked now, which protections the kernel offers (secret memory, lightweight guard
 * pages), core dump settings. And the regions of a process's address space with the flags that
 * matter for secrets: locked, excluded from core dumps, wiped in fork children.
 */
#ifndef RAMPART_SYSTEM_H
#define RAMPART_SYSTEM_H

#include "rampart/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RP_MAX_HUGE_SIZES 8

typedef struct rp_huge_size {
    size_t size;   /* bytes per page, e.g. 2 MiB */
    size_t total;  /* pages reserved in the pool (SIZE_MAX: the OS does not say) */
    size_t free;   /* pages free in the pool (SIZE_MAX: the OS does not say) */
} rp_huge_size_t;

/* A growing out-struct (rampart/common.h): `rp_system_info_t si = {RP_SIZED(rp_system_info_t)};`;
 * the library writes only the fields struct_size covers. */
typedef struct rp_system_info {
    size_t struct_size;             /* set by the caller: sizeof(rp_system_info_t) as its headers define it */
    char os[128];                   /* "Linux 6.18.0 x86_64" */
    size_t page_size;
    size_t alloc_granularity;       /* 64 KiB on Windows, the page size elsewhere */
    size_t huge_count;              /* entries used in huge[] */
    rp_huge_size_t huge[RP_MAX_HUGE_SIZES];
    const char *thp_mode;           /* "always", "madvise", "never", "unavailable" */
    size_t memlock_soft, memlock_hard;  /* SIZE_MAX = unlimited */
    bool can_lock_unlimited;        /* CAP_IPC_LOCK (Linux) */
    bool locked_known;              /* the two figures below are valid */
    size_t locked_bytes;            /* VmLck: what the kernel charges against the limit */
    size_t resident_locked_bytes;   /* smaps Locked: locked and resident */
    bool secret_memory;             /* memfd_secret works */
    bool guard_lightweight;         /* MADV_GUARD_INSTALL works */
    char core_pattern[256];         /* "" where the OS has none */
    size_t core_limit;              /* RLIMIT_CORE soft, SIZE_MAX = unlimited */
    bool dumpable;                  /* the process may dump core at all */
} rp_system_info_t;

/* Fill *out. Fields the OS does not report are left 0/false/"". RP_ERR_INVALID for NULL or a bad
 * struct_size. */
RP_API rp_status_t rp_system_info(rp_system_info_t *out);

/* ---- memory areas ------------------------------------------------------------------------------ */

#define RP_AREA_READ        (1u << 0)
#define RP_AREA_WRITE       (1u << 1)
#define RP_AREA_EXEC        (1u << 2)
#define RP_AREA_SHARED      (1u << 3)
#define RP_AREA_LOCKED      (1u << 4)   /* locked in RAM (mlock, mlockall, VirtualLock) */
#define RP_AREA_DONTDUMP    (1u << 5)   /* excluded from core dumps */
#define RP_AREA_WIPEONFORK  (1u << 6)   /* fork children read zeros */
#define RP_AREA_DONTFORK    (1u << 7)   /* not mapped in fork children */
#define RP_AREA_NOACCESS    (1u << 8)   /* no access: guard or reservation */
#define RP_AREA_HUGETLB     (1u << 9)   /* backed by hugetlbfs pages */
#define RP_AREA_UNLOCKABLE  (1u << 10)  /* the OS never locks it ([vvar], [vdso], device mappings) */

/* A growing struct (rampart/common.h). The library hands one to an rp_area_fn with struct_size
 * set to its own sizeof (a field past struct_size is not there: an older library); rp_area_of
 * writes one the caller allocates, only as far as the caller's struct_size
 * (`rp_area_t a = {RP_SIZED(rp_area_t)};`). */
typedef struct rp_area {
    size_t struct_size;     /* sizeof(rp_area_t): the library's in a callback, the caller's for rp_area_of */
    uintptr_t start, end;   /* [start, end) */
    unsigned flags;         /* RP_AREA_* */
    uint64_t offset;        /* file offset of start */
    size_t resident;        /* resident bytes (SIZE_MAX: unknown) */
    size_t locked;          /* locked resident bytes, proportional (Linux smaps Locked:, like Pss: a
                               page shared by N processes counts 1/N; SIZE_MAX: unknown); the RAM
                               a locked area holds is its resident figure */
    size_t anon_huge;       /* bytes in transparent huge pages (SIZE_MAX: unknown) */
    char path[256];         /* backing file, "[heap]", "[stack]", or "" for anonymous */
    size_t hugetlb;         /* bytes of explicit (hugetlbfs) huge pages (SIZE_MAX: unknown) */
    size_t swapped;         /* bytes in swap (SIZE_MAX: unknown) */
    size_t page_size;       /* page size the region is mapped with (0: unknown) */
    size_t guard_pages;     /* lightweight guard pages installed (MADV_GUARD_INSTALL), counted
                               from the page tables (Linux: /proc/PID/pagemap); SIZE_MAX: cannot
                               tell (another user's process without ptrace-read access) */
} rp_area_t;

/* Call fn for each region of process pid (0 = this process) in address order until fn returns
 * false. RP_ERR_PERMISSION when the process may not be inspected. */
typedef bool (*rp_area_fn)(const rp_area_t *area, void *ctx);
RP_API rp_status_t rp_areas_foreach(int pid, rp_area_fn fn, void *ctx);

/* The region of this process that holds addr; RP_ERR_BOUNDS when addr is not mapped,
 * RP_ERR_INVALID for a NULL out or a bad out->struct_size. */
RP_API rp_status_t rp_area_of(const void *addr, rp_area_t *out);

#ifdef __cplusplus
}
#endif
#endif /* RAMPART_SYSTEM_H */
