/* SPDX-License-Identifier: MIT */
/* os/os.h — the platform layer: the only primitives that talk to the operating system.
 *
 * Every platform implements this same set in one file (os/linux.c, os/posix.c for other POSIX
 * systems, os/windows.c), chosen by CMake; the two POSIX files share os/posix_common.c. Nothing
 * outside src/os/ has a platform #ifdef. The primitives do one thing each and
 * return the raw OS error (errno, or GetLastError() on Windows) as an int: 0 means success.
 * Policy (retry, fall back, give up, explain) lives in the layers above, which turn an error into
 * an rp_status_t with rp__os_classify() and into words with rp__os_errstr().
 *
 * Preconditions are written as "pre:" on each declaration and checked with RP_ASSERT in debug
 * builds. "Page-aligned" means aligned to rp__os_page_size(); sizes are multiples of it.
 */
#ifndef RP_OS_H
#define RP_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rampart/common.h"

/* ---- errors ------------------------------------------------------------------------------------ */

/* The status that best describes OS error err (EPERM -> RP_ERR_PERMISSION, ENOMEM ->
 * RP_ERR_NOMEM, ENOSYS -> RP_ERR_UNSUPPORTED, ...). err == 0 gives RP_OK. */
rp_status_t rp__os_classify(int err);
/* The same for an error from a lock primitive, where the OS overloads codes: on Linux ENOMEM
 * and EAGAIN from mlock mean "over RLIMIT_MEMLOCK" (RP_ERR_LIMIT), EPERM means no privilege and
 * a limit of 0 (RP_ERR_PERMISSION); on Windows ERROR_WORKING_SET_QUOTA is RP_ERR_LIMIT. */
rp_status_t rp__os_classify_lock(int err);
/* The OS's words for err, into buf (always terminated). Returns buf. */
const char *rp__os_errstr(int err, char *buf, size_t size);
/* The error a primitive returns for "this platform or kernel cannot do that", and for "out of
 * memory". */
int rp__os_err_unsupported(void);
int rp__os_err_nomem(void);
/* The calling thread's last OS error (errno / GetLastError()), and setting it; free-like
 * functions use them to leave the caller's errno untouched. */
int rp__os_last_error(void);
void rp__os_set_last_error(int err);

/* ---- sizes ------------------------------------------------------------------------------------- */

size_t rp__os_page_size(void);
/* The granularity of address-space reservations (64 KiB on Windows, the page size elsewhere). */
size_t rp__os_alloc_granularity(void);
/* Bytes of physical memory (sysconf _SC_PHYS_PAGES / GlobalMemoryStatusEx); SIZE_MAX when the OS
 * cannot tell. A page source that keeps every page resident (locked, secret) cannot honour more. */
size_t rp__os_physical_memory(void);

/* Huge page sizes the OS supports, with how many pages of each are reserved and free right now
 * (hugetlbfs pools on Linux; on Windows, the large-page minimum with counts unknown = SIZE_MAX). */
typedef struct rp__os_huge_size {
    size_t size;
    size_t total;
    size_t free;
} rp__os_huge_size_t;
/* Fills up to max entries, smallest first; returns how many sizes exist (may exceed max). */
size_t rp__os_huge_sizes(rp__os_huge_size_t *out, size_t max);

/* Transparent huge page mode: "always", "madvise", "never", or "" where there are none. */
typedef enum rp__os_thp { RP__OS_THP_NONE, RP__OS_THP_NEVER, RP__OS_THP_MADVISE, RP__OS_THP_ALWAYS } rp__os_thp_t;
rp__os_thp_t rp__os_thp_mode(void);

/* ---- address space ----------------------------------------------------------------------------- */

/* Map size bytes of private anonymous read-write memory, committed.
 * pre: size > 0, page multiple; out != NULL. */
int rp__os_alloc(size_t size, void **out);
/* Reserve size bytes of address space with no access and no commit charge.
 * pre: size > 0, page multiple; out != NULL. */
int rp__os_reserve(size_t size, void **out);
/* Make [addr, addr+size) of a reservation read-write and backed (zero-filled on first touch),
 * charged against the OS's commit limit now, so that first touch cannot fail for want of memory
 * under a strict commit policy (Linux: the reservation is an ordinary PROT_NONE mapping, which
 * is not charged, and mprotect charges it when it becomes writable; MAP_NORESERVE would exempt
 * it for good). A charge the OS refuses is the error. pre: page-aligned; inside one reservation
 * from rp__os_reserve / rp__os_decommit, or a PROT_NONE mapping made without noreserve. */
int rp__os_commit(void *addr, size_t size);
/* Drop the contents, backing and commit charge of [addr, addr+size) and make it inaccessible
 * again; the address range stays reserved. pre: page-aligned; inside one reservation. */
int rp__os_decommit(void *addr, size_t size);
/* Return [addr, addr+size) to the OS. pre: exactly an address and size returned by
 * rp__os_alloc/rp__os_reserve/rp__os_secret_alloc (Windows cannot release part of one). */
int rp__os_release(void *addr, size_t size);
/* Whether every page of [addr, addr+size) is mapped (by anyone: the answer names no owner). */
bool rp__os_mapped(void *addr, size_t size);

typedef enum rp__os_prot {
    RP__OS_PROT_NONE,
    RP__OS_PROT_READ,
    RP__OS_PROT_READ_WRITE,
    RP__OS_PROT_READ_EXEC,
    RP__OS_PROT_READ_WRITE_EXEC
} rp__os_prot_t;
/* pre: page-aligned; committed memory. */
int rp__os_protect(void *addr, size_t size, rp__os_prot_t prot);

/* ---- locking ----------------------------------------------------------------------------------- */

/* Lock [addr, addr+size) in RAM, faulting every page in now. On Windows a quota failure raises
 * the working-set minimum by size and tries once more. pre: page-aligned; committed. */
int rp__os_lock(void *addr, size_t size);
/* Lock pages as they are first touched (mlock2(MLOCK_ONFAULT)); rp__os_err_unsupported() where
 * the OS cannot. pre: as rp__os_lock. */
int rp__os_lock_onfault(void *addr, size_t size);
/* Unlock. On POSIX unlocking pages that were never locked succeeds; on Windows it fails with
 * the error that rp__os_is_not_locked() recognises. pre: page-aligned. */
int rp__os_unlock(void *addr, size_t size);
bool rp__os_is_not_locked(int err);

/* The memlock limit in bytes, soft and hard; SIZE_MAX means unlimited. POSIX: RLIMIT_MEMLOCK.
 * Windows: the working-set minimum and maximum. */
int rp__os_lock_limit(size_t *soft, size_t *hard);
/* Whether this process may lock without limit (Linux: CAP_IPC_LOCK in the effective set, in the
 * initial user namespace: inside any other the kernel still applies the memlock limit). */
bool rp__os_can_lock_unlimited(void);

/* The machine's physical memory in bytes (0 when the OS does not say): no lock can hold more. */
size_t rp__os_ram_total(void);

/* Bytes locked by process pid (0: this process): *vm_locked = what the kernel charges
 * (VmLck), *resident_locked = locked pages actually resident (smaps "Locked:"; smaller than
 * VmLck under lock-on-fault). rp__os_err_unsupported() where the OS does not tell. */
int rp__os_locked_bytes(int pid, size_t *vm_locked, size_t *resident_locked);

/* ---- process-wide locking (the lockall layer) ---------------------------------------------------- */

/* What rp__os_lockall locks, OR-ed. */
#define RP__OS_LOCKALL_CURRENT 1u  /* every page mapped now (MCL_CURRENT) */
#define RP__OS_LOCKALL_FUTURE 2u   /* every page mapped later (MCL_FUTURE) */
#define RP__OS_LOCKALL_ONFAULT 4u  /* lock pages when first touched instead of now (MCL_ONFAULT) */
/* The RP__OS_LOCKALL_* flags this platform can honour (Linux: all three, on 4.4+ kernels for
 * ONFAULT; other POSIX: CURRENT and FUTURE; Windows: CURRENT only). */
unsigned rp__os_lockall_supported(void);
/* Lock all memory of this process. POSIX: mlockall through syscall() on Linux (sanitizer runtimes
 * intercept mlockall and fake success). Windows: raise the working set, then VirtualLock every
 * committed private region found with VirtualQuery; all or nothing (a failure unlocks what this
 * call locked). *locked_bytes = bytes the call locked where the OS keeps no count of its own
 * (Windows), 0 where it does (read it with rp__os_lock_info).
 * pre: flags has CURRENT or FUTURE; flags within rp__os_lockall_supported(); locked_bytes != NULL. */
int rp__os_lockall(unsigned flags, size_t *locked_bytes);
/* Undo every lock of this process, future locking included (munlockall / VirtualUnlock of each
 * committed private region). */
int rp__os_unlockall(void);

/* The lock-related state of process pid (0: this process). Fields the OS does not report are
 * SIZE_MAX (sizes) or -1 (cap_ipc_lock). */
typedef struct rp__os_lock_info {
    size_t vm_locked;         /* what the kernel charges against the limit (VmLck) */
    size_t resident_locked;   /* smaps_rollup Locked:, proportional (a page shared by N processes
                                 counts 1/N): not the RAM the locked areas hold, see rp__os_areas */
    size_t vm_size;           /* mapped (VmSize): what MCL_CURRENT must fit under the limit */
    size_t vm_rss;            /* resident (VmRSS) */
    size_t limit_soft, limit_hard;  /* memlock limit; SIZE_MAX unlimited (/proc/PID/limits) */
    int cap_ipc_lock;         /* CAP_IPC_LOCK that lifts the limit (effective, in the initial user
                                 namespace): 1 yes, 0 no, -1 unknown */
    bool limit_binding;       /* the limit refuses locks beyond it (RLIMIT_MEMLOCK); false where
                                 the lock primitives raise it on demand (Windows working set) */
    char name[64];            /* the program's name (comm / module base name), "" if unknown */
} rp__os_lock_info_t;
/* ESRCH/ENOENT-style errors when the process does not exist. pre: out != NULL, pid >= 0. */
int rp__os_lock_info(int pid, rp__os_lock_info_t *out);

/* ---- advice ------------------------------------------------------------------------------------ */

/* One advice per call, never OR-ed together: each is a separate madvise on POSIX. Advice the OS
 * lacks returns rp__os_err_unsupported(); advice it knows but refuses for this range returns
 * that error (EINVAL for MADV_WIPEONFORK on a shared mapping), never "unsupported".
 * pre: page-aligned. */
typedef enum rp__os_advice {
    RP__OS_ADV_DONTDUMP,     /* exclude from core dumps */
    RP__OS_ADV_DODUMP,       /* undo DONTDUMP */
    RP__OS_ADV_WIPEONFORK,   /* a fork child sees zeros here */
    RP__OS_ADV_KEEPONFORK,   /* undo WIPEONFORK */
    RP__OS_ADV_DONTFORK,     /* not mapped in a fork child at all */
    RP__OS_ADV_DOFORK,       /* undo DONTFORK */
    RP__OS_ADV_HUGEPAGE,     /* ask for transparent huge pages */
    RP__OS_ADV_NOHUGEPAGE,
    RP__OS_ADV_FREE,         /* contents may be discarded; pages stay mapped (MADV_DONTNEED) */
    RP__OS_ADV_WILLNEED
} rp__os_advice_t;
int rp__os_advise(void *addr, size_t size, rp__os_advice_t advice);

/* Guard pages: any access faults. Linux 6.13+ MADV_GUARD_INSTALL (no extra VMA, does not count
 * against vm.max_map_count) where the kernel accepts it for this range, PROT_NONE otherwise;
 * *lightweight says which was used. pre: page-aligned; memory mapped by this layer. */
int rp__os_guard_install(void *addr, size_t size, bool *lightweight);
/* Undo rp__os_guard_install; pass the same lightweight value. Leaves the range read-write. */
int rp__os_guard_remove(void *addr, size_t size, bool lightweight);
/* Whether MADV_GUARD_INSTALL works here (probed once). */
bool rp__os_guard_lightweight_available(void);

/* ---- secret memory ----------------------------------------------------------------------------- */

/* Map size bytes of secret memory (Linux memfd_secret: removed from the kernel direct map,
 * never swapped, never dumped). rp__os_err_unsupported() elsewhere or when the kernel lacks it.
 * Release with rp__os_release. pre: size > 0, page multiple. */
int rp__os_secret_alloc(size_t size, void **out);
bool rp__os_secret_available(void);

/* ---- memory areas ------------------------------------------------------------------------------ */

/* One region of a process's address space. Fields the OS does not report are SIZE_MAX. */
enum {
    RP__OS_AREA_READ = 1u << 0,
    RP__OS_AREA_WRITE = 1u << 1,
    RP__OS_AREA_EXEC = 1u << 2,
    RP__OS_AREA_SHARED = 1u << 3,
    RP__OS_AREA_LOCKED = 1u << 4,      /* VM_LOCKED: mlock / mlockall / MCL_FUTURE */
    RP__OS_AREA_DONTDUMP = 1u << 5,    /* excluded from core dumps */
    RP__OS_AREA_WIPEONFORK = 1u << 6,  /* zero in fork children */
    RP__OS_AREA_DONTFORK = 1u << 7,
    RP__OS_AREA_GUARD = 1u << 8,       /* PROT_NONE / PAGE_NOACCESS / reserved */
    RP__OS_AREA_HUGETLB = 1u << 9,
    RP__OS_AREA_UNLOCKABLE = 1u << 10  /* the kernel never locks it: Linux VM_IO, VM_PFNMAP,
                                          VM_DONTEXPAND, VM_MIXEDMAP, VM_DROPPABLE ([vvar],
                                          [vdso], device mappings) and the [vsyscall] page */
};
typedef struct rp__os_area {
    uintptr_t start, end;
    unsigned flags;
    uint64_t offset;          /* file offset of start */
    size_t rss;               /* resident bytes */
    size_t locked;            /* smaps Locked:, proportional like Pss (a shared page counts 1/N);
                                 the locked RAM of a region is rss when RP__OS_AREA_LOCKED */
    size_t anon_huge;         /* bytes in transparent huge pages */
    size_t guard_pages;       /* lightweight guard pages in the region; SIZE_MAX: not counted
                                 here (Linux: smaps does not say; see rp__os_guard_count) */
    size_t hugetlb;           /* bytes of hugetlbfs pages mapped (private + shared) */
    size_t swapped;           /* bytes of the region in swap */
    size_t page_size;         /* the page size the region is mapped with (KernelPageSize) */
    char path[256];           /* backing file, or "[heap]", "[stack]", "" for anonymous */
} rp__os_area_t;
/* Call fn for each region of process pid (0: this process) in address order; fn returns false
 * to stop early. */
typedef bool (*rp__os_area_fn)(const rp__os_area_t *area, void *ctx);
int rp__os_areas(int pid, rp__os_area_fn fn, void *ctx);
/* Lightweight guard pages (MADV_GUARD_INSTALL markers) of process pid (0: this process). They
 * live in the page tables, not in smaps: Linux reports them in /proc/PID/pagemap (bit 58,
 * PM_GUARD_REGION) and to its PAGEMAP_SCAN ioctl (PAGE_IS_GUARD), which skips page tables
 * that do not exist and is used where the kernel has it. Reading another process's page map
 * needs ptrace-read permission; without it open fails (EACCES / EPERM) and the count is unknown.
 * Open once per walk over the areas, count per area, close. Windows has no such guard pages:
 * open returns rp__os_err_unsupported() and the areas say 0. */
typedef intptr_t rp__os_guard_reader_t;
int rp__os_guard_reader_open(int pid, rp__os_guard_reader_t *out);
/* Guard pages in [start, end) into *count; an error when they cannot be counted (an area of
 * more than 4 GiB on a kernel without PAGE_IS_GUARD counts as unknown: reading 8 bytes per page
 * of it would cost more than the whole listing). pre: page-aligned; start < end. */
int rp__os_guard_count(rp__os_guard_reader_t reader, uintptr_t start, uintptr_t end, size_t *count);
void rp__os_guard_reader_close(rp__os_guard_reader_t reader);

/* ---- wiping ------------------------------------------------------------------------------------ */

/* Zero len bytes at p with a store the compiler may not remove as dead (the memory is about to be
 * freed or unmapped): the C library's own primitive where it has one (explicit_bzero on Linux
 * and the BSDs, explicit_memset on NetBSD, memset_s on macOS, SecureZeroMemory on Windows), found
 * by CMake; elsewhere memset through a volatile pointer followed by a compiler barrier.
 * pre: p != NULL or len == 0. */
void rp__os_wipe(void *p, size_t len);
/* The name of what rp__os_wipe uses ("explicit_bzero", ..., "barrier" for the fallback), so a
 * test can check that the build found the primitive the platform has. */
const char *rp__os_wipe_primitive(void);

/* ---- process facts ----------------------------------------------------------------------------- */

typedef struct rp__os_core_info {
    char pattern[256];        /* kernel core_pattern ("" where there is none) */
    size_t limit_soft;        /* RLIMIT_CORE soft; SIZE_MAX unlimited */
    bool dumpable;            /* prctl(PR_GET_DUMPABLE) */
} rp__os_core_info_t;
int rp__os_core_info(rp__os_core_info_t *out);

/* getenv for security-relevant settings: NULL (as if unset) in a secure-execution process, one
 * that runs with more privilege than the user who chose its environment (Linux AT_SECURE:
 * set-user-ID, set-group-ID or file-capability programs; issetugid on the BSDs and macOS).
 * Windows has no such programs and reads the variable as it is (see os/windows.c). */
const char *rp__os_getenv_secure(const char *name);
/* Write len bytes to standard error with one system call: no stdio buffer, no allocation, so it
 * is safe on a corrupted heap. Where the program has closed its standard error by then and
 * rp__os_keep_stderr ran before, the kept copy takes the bytes instead. */
void rp__os_write_stderr(const char *text, size_t len);
/* Keep a private copy of standard error (once; POSIX: close-on-exec, numbered 64 or above so
 * that it takes none of the low numbers a program may expect). For reports written at exit, after
 * the program's atexit handlers: gnulib's close_stdout (ls, cat, sort, ...) closes standard error
 * in one, and RAMPART_SHOW_STATS printed nothing for those programs. */
void rp__os_keep_stderr(void);
/* Kernel name and release, e.g. "Linux 6.18.0". */
void rp__os_describe(char *buf, size_t size);
int rp__os_getpid(void);
/* This program's name (Linux: comm; Windows: the module's base name), "" when unknown.
 * pre: size > 0. */
void rp__os_process_name(char *buf, size_t size);

/* ---- threads ----------------------------------------------------------------------------------- */

/* A small mutex usable from any layer (pthread / SRWLOCK), statically initialisable. */
#if defined(_WIN32)
typedef struct rp__os_mutex { void *srw; } rp__os_mutex_t;
#  define RP__OS_MUTEX_INIT {0}
#else
#  include <pthread.h>
typedef struct rp__os_mutex { pthread_mutex_t m; } rp__os_mutex_t;
#  define RP__OS_MUTEX_INIT {PTHREAD_MUTEX_INITIALIZER}
#endif
void rp__os_mutex_lock(rp__os_mutex_t *m);
void rp__os_mutex_unlock(rp__os_mutex_t *m);
/* Take m if it is free: true, else false at once (never waits). */
bool rp__os_mutex_trylock(rp__os_mutex_t *m);
/* Tell the CPU this thread is spinning on a lock another core holds (x86 pause, arm yield):
 * the spin costs that core and its sibling thread less. Elsewhere nothing. */
static inline void rp__os_cpu_relax(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ---- mappings (the map layer) ------------------------------------------------------------------ */

/* An open file for mapping: a descriptor on POSIX, a HANDLE on Windows. */
typedef intptr_t rp__os_file_t;
#define RP__OS_FILE_NONE ((rp__os_file_t)-1)

/* Open path for mapping: read-only, or read-write (creating it with mode 0600 when create;
 * *created says whether this call made it, so a map that then fails can remove it again).
 * POSIX refuses anything but a regular file without waiting on it: the type is checked before
 * the open (a FIFO's open would block until a writer came, a device's can have side effects)
 * and again after it (the open itself does not block, so a file swapped in between is caught);
 * the error is then rp__os_file_mappable's and *not_regular is true. Windows checks after the
 * open only (the caller's rp__os_file_mappable). */
int rp__os_file_open(const char *path, bool write, bool create, rp__os_file_t *out, bool *created, bool *not_regular);
/* The OS file behind a C runtime descriptor (the same number on POSIX), duplicated so the map
 * owns it and the caller may close theirs. Whether it is writable goes to *writable. */
int rp__os_file_dup(int fd, rp__os_file_t *out, bool *writable);
/* A second handle to the same open file, for a map split in two. */
int rp__os_file_clone(rp__os_file_t file, rp__os_file_t *out);
int rp__os_file_close(rp__os_file_t file);
int rp__os_file_size(rp__os_file_t file, uint64_t *size);
/* Extend the file to size bytes (never shrinks). */
int rp__os_file_grow(rp__os_file_t file, uint64_t size);
/* Cut the file back to size bytes: undoes rp__os_file_grow when the growth it was for fails. */
int rp__os_file_truncate(rp__os_file_t file, uint64_t size);
/* Whether a and b are the same file (device and inode / volume and file index). */
int rp__os_file_same(rp__os_file_t a, rp__os_file_t b, bool *same);

typedef struct rp__os_map_request {
    size_t size;            /* pre: > 0, a multiple of the page size in use (huge_size if set) */
    rp__os_prot_t prot;
    rp__os_file_t file;     /* RP__OS_FILE_NONE: anonymous memory */
    uint64_t offset;        /* file offset; pre: a multiple of rp__os_alloc_granularity() */
    bool shared;            /* writes are visible to other mappings of the file/object */
    bool populate;          /* fault every page in now (MAP_POPULATE) */
    bool noreserve;         /* no swap/commit reservation (MAP_NORESERVE) */
    bool stack;             /* a thread stack (MAP_STACK) */
    size_t huge_size;       /* 0: base pages; else explicit huge pages of this size (MAP_HUGETLB) */
    void *fixed;            /* non-NULL: map exactly here and never replace what is mapped there:
                               the OS's "exists" error (EEXIST) when anything is. Kernels older than
                               4.17 treat MAP_FIXED_NOREPLACE as a hint; the result is checked. */
} rp__os_map_request_t;
/* Map per *req. Unmap with rp__os_unmap. */
int rp__os_map(const rp__os_map_request_t *req, void **out);
/* Unmap [addr, addr+size): any page-aligned part of what rp__os_map returned on POSIX, exactly
 * one whole view on Windows. */
int rp__os_unmap(void *addr, size_t size);
/* Copy len bytes from src to dst, where one of them lies in [span, span + span_len), a file
 * mapping whose pages the OS may fail to supply (a page past the end of a file truncated under
 * the mapping; an I/O error reading it in). Such a fault inside the span ends the copy with
 * rp__os_err_io() instead of killing the process; bytes before the failing page may have been
 * copied. Faults anywhere else behave as they would without this call.
 * POSIX: a SIGBUS handler, installed on the first call, catches the fault through a per-thread
 * jump buffer set around the copy (thread-safe, reentrant), and chains every other SIGBUS to
 * the handler that was there before it (the default action kills, as before). A handler that
 * someone installs after the first call replaces this one. Windows: a plain copy (a file cannot
 * be shrunk under a view; an in-page error raises EXCEPTION_IN_PAGE_ERROR as before). */
int rp__os_copy_guarded(void *dst, const void *src, size_t len, const void *span, size_t span_len);
/* The error rp__os_copy_guarded returns for a fault (EIO / ERROR_IO_DEVICE). */
int rp__os_err_io(void);
/* Grow or shrink a mapping from old_size to new_size bytes (mremap); the range must lie in one
 * OS area. In place unless may_move; with dest != NULL it moves exactly to dest, replacing what
 * is there (a reservation of the caller's). ENOMEM when it cannot grow in place.
 * rp__os_err_unsupported() where the OS cannot. */
int rp__os_remap(void *addr, size_t old_size, size_t new_size, bool may_move, void *dest, void **out);
/* Whether rp__os_remap works and a mapping can be cut into parts that are unmapped on their own
 * (split). Windows views can only be unmapped whole. */
bool rp__os_remap_available(void);
/* Write dirty pages of a file mapping back. async: start the writeback and return (MS_ASYNC);
 * otherwise wait for it, file metadata included (MS_SYNC; FlushViewOfFile + FlushFileBuffers).
 * pre: page-aligned addr. */
int rp__os_flush(void *addr, size_t size, bool async, rp__os_file_t file);
/* Make newly written code in [addr, addr+size) visible to instruction fetch
 * (__builtin___clear_cache / FlushInstructionCache). Cannot fail. */
void rp__os_icache_flush(void *addr, size_t size);

/* ---- map review: residency and mappable files (the map layer) --------------------------------- */

/* Which pages of [addr, addr+size) are resident: vec[i] bit 0 for page i (mincore). Lets a wipe
 * skip pages that were never touched instead of faulting every one of them in.
 * rp__os_err_unsupported() where the OS cannot tell (the caller then treats every page as
 * resident). pre: addr page-aligned; memory mapped by this layer; vec has size / page bytes. */
int rp__os_resident(void *addr, size_t size, unsigned char *vec);
/* 0 when file is something a map can use (a regular file); otherwise the OS's error for it:
 * "is a directory" (EISDIR) for a directory, "no such device" (ENODEV) for pipes, sockets and
 * devices, whose size the OS does not report. */
int rp__os_file_mappable(rp__os_file_t file);
/* Remove the file at path (unlink / DeleteFile). */
int rp__os_file_remove(const char *path);

/* ---- threads and randomness (the pool and heap layers) ---------------------------------------- */

/* Fill len bytes at buf from the OS's cryptographic random source (getrandom / rand_s). Pool
 * canaries are keyed with it. pre: buf != NULL. */
int rp__os_random(void *buf, size_t len);
/* The same, but never waiting for the source to be seeded (early boot): an error instead, and the
 * caller falls back to weaker entropy. The heap's cookie takes 8 bytes of it at the first malloc,
 * where a clock read instead costs a short process two page faults (the vDSO's data page and the
 * C library's clock code), about 25 us on a virtual machine. */
int rp__os_random_nowait(void *buf, size_t len);

/* A per-thread slot whose destructor runs when a thread that set it exits (pthread keys / fiber
 * local storage), so a thread's cache of free slots goes back to its pool or heap. Create once per
 * process; the destructor gets the value the exiting thread last set (never NULL). */
typedef void (*rp__os_thread_exit_fn)(void *value);
typedef uintptr_t rp__os_thread_key_t;
int rp__os_thread_key_create(rp__os_thread_exit_fn on_exit, rp__os_thread_key_t *out);
int rp__os_thread_key_set(rp__os_thread_key_t key, void *value);

/* A monotonic clock in milliseconds (for delayed purging); cheap, coarse resolution is fine. */
uint64_t rp__os_clock_ms(void);
/* Give up the processor briefly (sched_yield / SwitchToThread). */
void rp__os_yield(void);
/* Run prepare before fork() in the parent, parent/child after it (pthread_atfork; any may be NULL);
 * rp__os_err_unsupported() where there is no fork. */
int rp__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
/* Re-initialise a mutex (in a fork child, where it may have been held by a thread that is gone). */
void rp__os_mutex_reset(rp__os_mutex_t *m);

/* ---- system calls made by another process (os/inject_linux.c; os/inject_unsupported.c elsewhere) ----
 * rp__os_inject_syscall makes process pid itself call system call nr (a number of this build's
 * architecture) with args: it attaches with ptrace (PTRACE_SEIZE), stops every thread, writes the
 * system call instruction at one thread's PC, runs it, restores the bytes and every register
 * exactly, and detaches. A thread stopped inside an interrupted system call (read, nanosleep) is
 * set to restart it, never to return EINTR. *result is the kernel's return value (-errno on
 * failure). Returns 0, or the errno of the step that failed, named in *step ("attach", ...);
 * rp__os_err_unsupported() where the platform cannot. The target is left running in every case. */
typedef struct rp__os_inject_info {
    const char *step;      /* the step that failed, or "" */
    int threads;           /* threads stopped */
    int restarted;         /* threads whose interrupted system call was set to restart */
} rp__os_inject_info_t;
int rp__os_inject_syscall(int pid, long nr, const unsigned long args[6], long *result, rp__os_inject_info_t *info);
/* Start argv (as execvp does: PATH search, a file without #! run by /bin/sh) traced; at its exec
 * stop, before the new image's first instruction, make it call nr(args), report through on_call
 * (err: 0 or the errno of a failed step named by step; result: the kernel's return), detach and
 * wait for it. on_call returning false kills the program (a required lock that failed). follow:
 * stay attached and do the same at every exec of every descendant and at the start of every fork
 * child, until all have exited. *wait_status: the program's exit code (128 + a signal's number); *exec_error: the
 * errno of a failed exec (then the status is 127 or 126). Returns 0, or the errno of starting. */
typedef bool (*rp__os_traced_fn)(void *ctx, int pid, int err, long result, const char *step);
int rp__os_run_traced(char *const argv[], bool follow, long nr, const unsigned long args[6], rp__os_traced_fn on_call,
                      void *ctx, int *exec_error, int *wait_status);
/* This build's numbers of mlockall and munlockall for rp__os_inject_syscall; -1 where unsupported. */
long rp__os_inject_nr_mlockall(void);
long rp__os_inject_nr_munlockall(void);
/* Set process pid's RLIMIT_MEMLOCK (prlimit; SIZE_MAX unlimited). Returns 0 or the errno. */
int rp__os_set_lock_limit(int pid, size_t soft, size_t hard);
/* Why ptrace of pid may be refused: Yama's ptrace_scope (-1 absent), the pid of its tracer (0 none),
 * and whether its real user differs from ours. Returns 0 or the errno of reading /proc. */
int rp__os_trace_check(int pid, int *yama_scope, int *tracer, bool *other_user);

#endif /* RP_OS_H */
