/* SPDX-License-Identifier: MIT */
/* rampart/map.h — memory mappings: anonymous or file-backed, with protections, flushing, range
 * locking, huge pages, reserve/commit, split/merge and resize (mmap-rs's feature list and
 * mmap-io's range locking, seeds 003 and 001).
 *
 * One opaque rp_map_t covers every kind. The caller sees [rp_map_ptr(m), + rp_map_len(m)); ranges
 * passed to the functions below are byte offsets into that view, bounds-checked against the
 * current length (RP_ERR_BOUNDS, with offset, length and size in rp_last_error()), and widened to
 * whole pages for the OS, so callers never align anything themselves. A range of length 0 is a
 * no-op that succeeds at any offset, past the end too (seed 001).
 *
 *   layout of a stack map (RP_MAP_STACK):
 *
 *     low addresses                                                   high addresses
 *     +------------+----------------------------------------------------+
 *     | guard page |  rp_map_ptr(m) ... rp_map_ptr(m) + rp_map_len(m)    |
 *     +------------+----------------------------------------------------+
 *      any access faults                       the stack grows down from here ^
 *
 * Range locks nest: each page keeps a count, the OS lock is taken when a page's count goes
 * 0 -> 1 and dropped when it goes 1 -> 0, so matched lock/unlock pairs from independent callers
 * compose. Unlocking pages that were never locked succeeds and does nothing.
 *
 * Threads: queries (ptr, len, info) may run concurrently; calls that change a map (protect,
 * lock, unlock, commit, decommit, resize, split, merge, destroy) must not run at the same time as
 * any other call on the same map. Different maps are independent.
 */
#ifndef RAMPART_MAP_H
#define RAMPART_MAP_H

#include <string.h> /* memset, for the inline *_default() */

#include "rampart/common.h"
#include "rampart/system.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rp_map rp_map_t;

typedef enum rp_map_prot {
    RP_MAP_PROT_NONE = 0,        /* no access */
    RP_MAP_PROT_READ,            /* read-only */
    RP_MAP_PROT_READ_WRITE,      /* read-write */
    RP_MAP_PROT_READ_EXEC,       /* read-execute (code) */
    RP_MAP_PROT_READ_WRITE_EXEC  /* only for maps created with RP_MAP_JIT */
} rp_map_prot_t;

typedef enum rp_map_source {
    RP_MAP_ANONYMOUS = 0,  /* zero-filled memory */
    RP_MAP_PATH,           /* the file at options.path */
    RP_MAP_FD              /* the open descriptor options.fd (duplicated; the caller keeps theirs) */
} rp_map_source_t;

/* Huge pages, modes as PostgreSQL's huge_pages: TRY falls back to base pages when huge ones are
 * not available, REQUIRE fails instead. With huge_size 0 the request is transparent huge page
 * advice (the mapping is aligned so the kernel can use them); with an explicit huge_size (2 MiB,
 * 1 GiB) it is a hugetlbfs mapping from the reserved pool (vm.nr_hugepages), anonymous only. */
typedef enum rp_map_huge {
    RP_MAP_HUGE_OFF = 0,
    RP_MAP_HUGE_TRY,
    RP_MAP_HUGE_REQUIRE
} rp_map_huge_t;

/* Option flags, OR-ed. Any other bit makes rp_map_create fail with RP_ERR_INVALID, naming it. */
#define RP_MAP_SHARED     (1u << 0)   /* writes reach the file / other processes; default: private copy-on-write */
#define RP_MAP_JIT        (1u << 1)   /* allow RP_MAP_PROT_READ_WRITE_EXEC */
#define RP_MAP_POPULATE   (1u << 2)   /* fault every page in now */
#define RP_MAP_NORESERVE  (1u << 3)   /* no swap reservation (overcommit); ignored with RP_MAP_RESERVE */
#define RP_MAP_STACK      (1u << 4)   /* a stack, with a guard page below it (anonymous only) */
#define RP_MAP_NODUMP     (1u << 5)   /* excluded from core dumps */
#define RP_MAP_LOCKED     (1u << 6)   /* locked in RAM with a real lock (mlock after mapping) */
#define RP_MAP_CREATE     (1u << 7)   /* RP_MAP_PATH: create the file when it is missing */
#define RP_MAP_GROW       (1u << 8)   /* file maps: extend the file to offset + length (also on resize) */
#define RP_MAP_RESERVE    (1u << 9)   /* anonymous: reserve address space only; rp_map_commit sub-ranges */
#define RP_MAP_MAY_MOVE   (1u << 10)  /* rp_map_resize may move the mapping to a new address */
#define RP_MAP_WIPEONFORK (1u << 11)  /* private anonymous: fork children see zeros here */

/* A growing struct (rampart/common.h): set struct_size with RP_SIZED(rp_map_options_t) or start
 * from rp_map_options_default(). */
typedef struct rp_map_options {
    size_t struct_size;     /* sizeof(rp_map_options_t) as the caller's headers define it */
    rp_map_source_t source;
    const char *path;       /* RP_MAP_PATH */
    int fd;                 /* RP_MAP_FD */
    uint64_t offset;        /* file offset (any byte; the map starts exactly there) */
    size_t length;          /* bytes; 0 with a file: from offset to the end of the file */
    rp_map_prot_t prot;     /* also the protection rp_map_commit gives to committed ranges */
    unsigned flags;         /* RP_MAP_* */
    rp_map_huge_t huge;
    size_t huge_size;       /* 0: transparent huge pages; else an explicit huge page size */
    void *address;          /* non-NULL: rp_map_ptr is exactly this; RP_ERR_EXISTS if anything is mapped
                               there. Page-aligned, plus offset % page for a file offset inside a page */
} rp_map_options_t;
/* All fields zero (anonymous, no access, length 0: set length and prot) with struct_size set.
 * Inline on purpose: compiled into the caller, it always matches the caller's struct. */
static inline rp_map_options_t rp_map_options_default(void) {
    rp_map_options_t o;
    memset(&o, 0, sizeof o); /* not an initialiser list: the same warning-free code in C and C++ */
    o.struct_size = sizeof o;
    return o;
}

/* What a map is now. A growing out-struct (rampart/common.h):
 * `rp_map_info_t info = {RP_SIZED(rp_map_info_t)};`; the library writes only what struct_size covers. */
typedef struct rp_map_info {
    size_t struct_size;     /* set by the caller: sizeof(rp_map_info_t) as its headers define it */
    void *ptr;
    size_t len;
    size_t page_size;       /* the page size actually used: base, or the hugetlb size */
    bool thp_advised;       /* transparent huge pages were asked for (the kernel decides per fault) */
    rp_map_prot_t prot;
    unsigned flags;         /* the options' flags */
    rp_map_source_t source;
    uint64_t offset;        /* file offset of ptr */
    size_t locked_pages;    /* pages with a lock count > 0 */
} rp_map_info_t;

/* Create a map. On failure *out is NULL and rp_last_error() says why: RP_ERR_INVALID for
 * contradictory options and unknown flag bits (rwx without RP_MAP_JIT, hugetlb with a file, a zero-length file),
 * a bad struct_size, RP_ERR_BOUNDS for an offset at or past the end of the file, RP_ERR_EXISTS for a fixed address
 * in use, RP_ERR_NOMEM when huge pages are required and none are free, and lock failures with
 * their remedy. */
RP_API RP_NODISCARD rp_status_t rp_map_create(const rp_map_options_t *options, rp_map_t **out);
/* Unmap (unlocking first) and free the handle. NULL is fine. Never changes errno. */
RP_API void rp_map_destroy(rp_map_t *map);

RP_API void *rp_map_ptr(const rp_map_t *map);
RP_API size_t rp_map_len(const rp_map_t *map);
RP_API rp_status_t rp_map_info(const rp_map_t *map, rp_map_info_t *out);

/* Change the protection of the whole map (committed pages of a reserve map). RW -> RX is the JIT
 * flip; the instruction cache is flushed whenever code becomes executable. On failure the map
 * keeps its old protection. */
RP_API rp_status_t rp_map_protect(rp_map_t *map, rp_map_prot_t prot);

/* Write dirty pages of a file map back: synchronously (waits, file metadata included) or
 * asynchronously (starts the writeback). len 0 is a no-op; flush_all covers the whole map.
 * Anonymous maps succeed without doing anything. When the file is now shorter than the range
 * (truncated under the map), the bytes past its end are not in the file: RP_ERR_IO with the
 * sizes, after flushing the rest. */
RP_API rp_status_t rp_map_flush(rp_map_t *map, size_t offset, size_t len, bool async);
RP_API rp_status_t rp_map_flush_all(rp_map_t *map, bool async);

/* Copy len bytes out of the map at offset into dst, or from src into the map (shared file maps
 * write the file). A plain load or store through rp_map_ptr() on a page past the end of a file
 * that was truncated under the map (or a page the OS cannot read in) raises SIGBUS, which kills
 * the process unless it handles the signal; these copies turn that into RP_ERR_IO (with the
 * file's size when it is shorter than the map), and the process goes on. Bytes before the
 * failing page may have been copied. Checked like every range (RP_ERR_BOUNDS; len 0 is a no-op);
 * a map without the access is RP_ERR_PERMISSION, a reserved (uncommitted) page RP_ERR_INVALID.
 * Safe from any number of threads at once. POSIX: the first call installs a SIGBUS handler that
 * catches only faults inside a copy running on the same thread, on the map it copies; every other
 * SIGBUS goes to the handler that was installed before (or the default action: the process dies
 * as it would have). A SIGBUS handler installed after the first call replaces it. */
RP_API rp_status_t rp_map_read(const rp_map_t *map, size_t offset, void *dst, size_t len);
RP_API rp_status_t rp_map_write(rp_map_t *map, size_t offset, const void *src, size_t len);

/* Range locking (seed 001). len 0 is a no-op that succeeds at any offset; a range past the end is
 * RP_ERR_BOUNDS; a lock failure is RP_ERR_PERMISSION / RP_ERR_LIMIT with the remedy in
 * rp_last_error()->remedy, and leaves every page as it was. Counts nest (see the top). Locking
 * faults the pages in: on a file map whose file was truncated under it, pages past the file's
 * end cannot be read, and the lock fails with RP_ERR_IO naming the file's size. */
RP_API rp_status_t rp_map_lock(rp_map_t *map, size_t offset, size_t len);
RP_API rp_status_t rp_map_unlock(rp_map_t *map, size_t offset, size_t len);
RP_API rp_status_t rp_map_lock_all(rp_map_t *map);
RP_API rp_status_t rp_map_unlock_all(rp_map_t *map);

/* Reserve maps: make a range accessible with the map's protection, or drop its contents and make
 * it inaccessible again (the address range stays reserved). Commit charges the range against the
 * OS's commit limit (Linux: the range is accounted, VmFlags "ac", never MAP_NORESERVE), so a
 * commit the OS cannot back fails here with RP_ERR_NOMEM instead of the first touch failing;
 * decommit gives the charge back. Private anonymous maps only; commit
 * widens the range to whole pages, decommit needs whole pages (it would drop bytes otherwise).
 * Locks are counted on reserved pages too and take effect when the pages are committed (and when
 * a RP_MAP_PROT_NONE map gets access): the OS cannot lock inaccessible memory. */
RP_API rp_status_t rp_map_commit(rp_map_t *map, size_t offset, size_t len);
RP_API rp_status_t rp_map_decommit(rp_map_t *map, size_t offset, size_t len);

/* Split at offset (page-aligned in the address space, 0 < offset < len): map keeps the head,
 * *tail gets the rest. Merge: b must start where a ends and be of the same kind (source and
 * file, protection, flags, huge pages, contiguous file offsets); on success b is consumed (its
 * handle freed) and a covers both. */
RP_API RP_NODISCARD rp_status_t rp_map_split(rp_map_t *map, size_t offset, rp_map_t **tail);
RP_API rp_status_t rp_map_merge(rp_map_t *a, rp_map_t *b);

/* Grow or shrink to new_len bytes, in place or, with RP_MAP_MAY_MOVE, wherever the OS finds room
 * (rp_map_ptr may change). New pages of a reserve map are reserved, not committed; of a locked
 * map (RP_MAP_LOCKED), locked. File maps grow the file with RP_MAP_GROW. Growing a locked map
 * past the memlock limit is RP_ERR_LIMIT with the sizes, the limits and the remedy. */
RP_API rp_status_t rp_map_resize(rp_map_t *map, size_t new_len);

/* The memory areas (see rampart/system.h) that overlap the map, in address order. */
RP_API rp_status_t rp_map_areas(const rp_map_t *map, rp_area_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* RAMPART_MAP_H */
