/* SPDX-License-Identifier: MIT */
/* os/posix_common.c — the primitives of os/os.h that are the same on every POSIX system: errors,
 * page sizes, reserve/commit/release, protection, the memlock limit, guard pages by protection,
 * files and mappings, SIGBUS-guarded copies, residency, threads and clocks.
 *
 * CMake builds it with exactly one platform file: os/linux.c on Linux, os/posix.c on other POSIX
 * systems. Where a shared primitive needs a platform's flag or fact, it calls one of the hooks in
 * os/posix_common.h, which the platform file implements. The few #if left here test for a libc or
 * header feature, not for a platform.
 */
#define _GNU_SOURCE 1
#define __STDC_WANT_LIB_EXT1__ 1 /* memset_s, where the C library has it */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"
#include "os/posix_common.h"

#ifndef MAP_ANONYMOUS
#  define MAP_ANONYMOUS MAP_ANON
#endif
#ifndef MAP_NORESERVE
#  define MAP_NORESERVE 0
#endif

/* ---- errors ------------------------------------------------------------------------------------ */

rp_status_t rp__os_classify(int err) {
    switch (err) {
    case 0: return RP_OK;
    case EINVAL: return RP_ERR_INVALID;
    case EPERM:
    case EACCES: return RP_ERR_PERMISSION;
    case ENOMEM: return RP_ERR_NOMEM;
    case EAGAIN: return RP_ERR_LIMIT;
    case ENOSYS:
    case ENOTSUP:
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
        return RP_ERR_UNSUPPORTED;
    case EEXIST: return RP_ERR_EXISTS;
    default: return RP_ERR_OS;
    }
}

rp_status_t rp__os_classify_lock(int err) {
    switch (err) {
    case 0: return RP_OK;
    case EPERM: return RP_ERR_PERMISSION;
    case ENOMEM:
    case EAGAIN: return RP_ERR_LIMIT;
    default: return rp__os_classify(err);
    }
}

const char *rp__os_errstr(int err, char *buf, size_t size) {
    /* The words come from glibc's untranslated table where it has one (strerrordesc_np, 2.32+):
     * strerror_r translates through gettext, which takes glibc's locale lock and may allocate.
     * This runs on malloc's failure path inside librampart-malloc.so, where the caller may hold
     * that very lock (textdomain() allocates under it), and the translation deadlocked there. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    const char *s = strerrordesc_np(err);
    snprintf(buf, size, "%s (errno %d)", s != NULL ? s : "unknown error", err);
#elif defined(__GLIBC__) && defined(_GNU_SOURCE)
    char tmp[128];
    const char *s = strerror_r(err, tmp, sizeof tmp);
    snprintf(buf, size, "%s (errno %d)", s, err);
#else
    char tmp[128];
    if (strerror_r(err, tmp, sizeof tmp) != 0) snprintf(tmp, sizeof tmp, "error");
    snprintf(buf, size, "%s (errno %d)", tmp, err);
#endif
    return buf;
}

int rp__os_err_unsupported(void) { return ENOSYS; }
int rp__os_err_nomem(void) { return ENOMEM; }
int rp__os_last_error(void) { return errno; }
void rp__os_set_last_error(int err) { errno = err; }

/* ---- sizes ------------------------------------------------------------------------------------- */

size_t rp__os_page_size(void) {
    static size_t cached;
    size_t ps = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (ps == 0) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
        __atomic_store_n(&cached, ps, __ATOMIC_RELAXED);
    }
    return ps;
}

size_t rp__os_alloc_granularity(void) { return rp__os_page_size(); }

size_t rp__os_physical_memory(void) {
#if defined(_SC_PHYS_PAGES)
    long pages = sysconf(_SC_PHYS_PAGES);
    if (pages > 0 && (unsigned long)pages <= SIZE_MAX / rp__os_page_size()) return (size_t)pages * rp__os_page_size();
#endif
    return SIZE_MAX;
}

/* ---- address space ----------------------------------------------------------------------------- */

static int rp__mmap_anon(size_t size, int prot, int extra_flags, void **out) {
    RP_ASSERT(size > 0 && size % rp__os_page_size() == 0 && out != NULL);
    void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
    if (p == MAP_FAILED) return errno;
    *out = p;
    return 0;
}

int rp__os_alloc(size_t size, void **out) {
    return rp__mmap_anon(size, PROT_READ | PROT_WRITE, 0, out);
}

/* No MAP_NORESERVE: a private PROT_NONE mapping is not charged anyway, and with the flag the
 * mprotect of rp__os_commit would never charge it either (VM_NORESERVE sticks to the area). */
int rp__os_reserve(size_t size, void **out) {
    return rp__mmap_anon(size, PROT_NONE, 0, out);
}

int rp__os_commit(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    return mprotect(addr, size, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

int rp__os_decommit(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    /* Replacing the range with a fresh PROT_NONE mapping drops the pages and their commit
     * charge in one call and cannot fail half-way the way madvise + mprotect can. Without
     * MAP_NORESERVE, for the same reason as rp__os_reserve. */
    void *p = mmap(addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? errno : 0;
}

int rp__os_release(void *addr, size_t size) {
    RP_ASSERT(addr != NULL && size > 0);
    return munmap(addr, size) == 0 ? 0 : errno;
}

bool rp__os_mapped(void *addr, size_t size) {
    /* msync fails with ENOMEM on a range with unmapped pages; MS_ASYNC writes nothing back. */
    return msync(addr, size, MS_ASYNC) == 0;
}

/* The mmap/mprotect bits for prot, or -1 for a value outside the enum. */
static int rp__native_prot(rp__os_prot_t prot) {
    static const int native[] = {
        [RP__OS_PROT_NONE] = PROT_NONE,
        [RP__OS_PROT_READ] = PROT_READ,
        [RP__OS_PROT_READ_WRITE] = PROT_READ | PROT_WRITE,
        [RP__OS_PROT_READ_EXEC] = PROT_READ | PROT_EXEC,
        [RP__OS_PROT_READ_WRITE_EXEC] = PROT_READ | PROT_WRITE | PROT_EXEC,
    };
    if ((unsigned)prot >= sizeof native / sizeof native[0]) return -1;
    return native[prot];
}

int rp__os_protect(void *addr, size_t size, rp__os_prot_t prot) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    int native = rp__native_prot(prot);
    if (native < 0) return EINVAL;
    return mprotect(addr, size, native) == 0 ? 0 : errno;
}

/* ---- locking ----------------------------------------------------------------------------------- */

bool rp__os_is_not_locked(int err) {
    (void)err;
    return false; /* munlock of unlocked pages succeeds on POSIX */
}

static size_t rp__rlim_to_size(rlim_t v) {
    if (v == RLIM_INFINITY || v >= (rlim_t)SIZE_MAX) return SIZE_MAX;
    return (size_t)v;
}

int rp__os_lock_limit(size_t *soft, size_t *hard) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return errno;
    if (soft) *soft = rp__rlim_to_size(rl.rlim_cur);
    if (hard) *hard = rp__rlim_to_size(rl.rlim_max);
    return 0;
}

size_t rp__os_ram_total(void) {
#if defined(_SC_PHYS_PAGES)
    long pages = sysconf(_SC_PHYS_PAGES);
    size_t total;
    if (pages <= 0 || rp__mul_overflows((size_t)pages, rp__os_page_size(), &total)) return 0;
    return total;
#else
    return 0;
#endif
}

int rp__os_lock_info(int pid, rp__os_lock_info_t *out) {
    RP_ASSERT(out != NULL && pid >= 0);
    memset(out, 0, sizeof *out);
    out->vm_locked = out->resident_locked = out->vm_size = out->vm_rss = SIZE_MAX;
    out->limit_soft = out->limit_hard = SIZE_MAX;
    out->cap_ipc_lock = -1;
    out->limit_binding = true;
    return rp__posix_lock_info(pid, out);
}

/* ---- guard pages ------------------------------------------------------------------------------- */

bool rp__os_guard_lightweight_available(void) {
    /* Probe once on a throw-away page: the only reliable test for an advice value. */
    static int state; /* 0 unknown, 1 yes, 2 no */
    int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (s == 0) {
        void *p = NULL;
        size_t ps = rp__os_page_size();
        s = 2;
        if (rp__os_alloc(ps, &p) == 0) {
            if (rp__posix_guard_madvise(p, ps, true) == 0) s = 1;
            munmap(p, ps);
        }
        __atomic_store_n(&state, s, __ATOMIC_RELAXED);
    }
    return s == 1;
}

int rp__os_guard_install(void *addr, size_t size, bool *lightweight) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()) && lightweight != NULL);
    /* MADV_GUARD_INSTALL refuses locked ranges and old kernels do not know it (both EINVAL);
     * PROT_NONE protects the same way at the cost of a VMA split. */
    if (rp__posix_guard_madvise(addr, size, true) == 0) {
        *lightweight = true;
        return 0;
    }
    *lightweight = false;
    return mprotect(addr, size, PROT_NONE) == 0 ? 0 : errno;
}

int rp__os_guard_remove(void *addr, size_t size, bool lightweight) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    if (lightweight) return rp__posix_guard_madvise(addr, size, false);
    return mprotect(addr, size, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

/* ---- wiping ------------------------------------------------------------------------------------ */

/* CMake defines RP_HAVE_<NAME> for the first primitive the C library declares (see
 * CMakeLists.txt). Without any, two independent defences keep the stores: memset is called
 * through a volatile function pointer (the compiler cannot know what it calls), and an empty asm
 * statement takes the pointer and clobbers memory afterwards (the compiler must assume the bytes
 * are read). Either alone suffices with GCC and Clang. */
#if defined(RP_HAVE_EXPLICIT_BZERO)
void rp__os_wipe(void *p, size_t len) { explicit_bzero(p, len); }
const char *rp__os_wipe_primitive(void) { return "explicit_bzero"; }
#elif defined(RP_HAVE_EXPLICIT_MEMSET)
void rp__os_wipe(void *p, size_t len) { explicit_memset(p, 0, len); }
const char *rp__os_wipe_primitive(void) { return "explicit_memset"; }
#elif defined(RP_HAVE_MEMSET_S)
void rp__os_wipe(void *p, size_t len) { memset_s(p, len, 0, len); }
const char *rp__os_wipe_primitive(void) { return "memset_s"; }
#else
static void *(*volatile rp__memset_fn)(void *, int, size_t) = memset;

void rp__os_wipe(void *p, size_t len) {
    rp__memset_fn(p, 0, len);
#  if defined(__GNUC__)
    __asm__ __volatile__("" : : "r"(p) : "memory");
#  endif
}
const char *rp__os_wipe_primitive(void) { return "barrier"; }
#endif

/* ---- process facts ----------------------------------------------------------------------------- */

int rp__os_core_info(rp__os_core_info_t *out) {
    memset(out, 0, sizeof *out);
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) != 0) return errno;
    out->limit_soft = rp__rlim_to_size(rl.rlim_cur);
    rp__posix_core_facts(out);
    return 0;
}

void rp__os_describe(char *buf, size_t size) {
    struct utsname u;
    if (uname(&u) == 0) snprintf(buf, size, "%s %s %s", u.sysname, u.release, u.machine);
    else snprintf(buf, size, "POSIX");
}

int rp__os_getpid(void) { return (int)getpid(); }

static _Atomic int rp__stderr_copy = -1;
/* What the copy refers to, stored before the copy is published (by both of two racing callers:
 * they stat the same stderr, so either's values serve). */
static _Atomic uint64_t rp__stderr_dev, rp__stderr_ino;

void rp__os_keep_stderr(void) {
    if (atomic_load_explicit(&rp__stderr_copy, memory_order_acquire) >= 0) return;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0) return;
    int copy = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 64);
    if (copy < 0) return;
    int none = -1;
    atomic_store_explicit(&rp__stderr_dev, (uint64_t)st.st_dev, memory_order_relaxed);
    atomic_store_explicit(&rp__stderr_ino, (uint64_t)st.st_ino, memory_order_relaxed);
    /* The heap and the default pool may both ask at once, from two threads: one copy is kept. */
    if (!atomic_compare_exchange_strong_explicit(&rp__stderr_copy, &none, copy, memory_order_acq_rel,
                                                 memory_order_acquire))
        close(copy);
}

/* The kept copy, if it still refers to what stderr was: a program that closed every descriptor
 * (closefrom) may have its own file at that number by now. -1 otherwise. */
static int rp__stderr_kept(void) {
    int fd = atomic_load_explicit(&rp__stderr_copy, memory_order_acquire);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_dev != atomic_load_explicit(&rp__stderr_dev, memory_order_relaxed) ||
        (uint64_t)st.st_ino != atomic_load_explicit(&rp__stderr_ino, memory_order_relaxed))
        return -1;
    return fd;
}

void rp__os_write_stderr(const char *text, size_t len) {
    int fd = STDERR_FILENO;
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EBADF && fd == STDERR_FILENO) {
            fd = rp__stderr_kept();
            if (fd >= 0) continue;
            return;
        }
        if (n <= 0) return;
        text += n;
        len -= (size_t)n;
    }
}

/* ---- threads ----------------------------------------------------------------------------------- */

void rp__os_mutex_lock(rp__os_mutex_t *m) { pthread_mutex_lock(&m->m); }
void rp__os_mutex_unlock(rp__os_mutex_t *m) { pthread_mutex_unlock(&m->m); }
bool rp__os_mutex_trylock(rp__os_mutex_t *m) { return pthread_mutex_trylock(&m->m) == 0; }

/* ---- mappings (the map layer) ------------------------------------------------------------------ */

#ifndef MAP_STACK
#  define MAP_STACK 0
#endif
#ifndef MAP_POPULATE
#  define MAP_POPULATE 0
#endif

/* 0 for a regular file, else EISDIR / ENODEV as rp__os_file_mappable says. */
static int rp__regular_mode(mode_t mode) {
    if (S_ISDIR(mode)) return EISDIR;
    return S_ISREG(mode) ? 0 : ENODEV;
}

int rp__os_file_open(const char *path, bool write, bool create, rp__os_file_t *out, bool *created, bool *not_regular) {
    /* O_NONBLOCK: an open of a FIFO would wait for a writer forever, and a file swapped for one
     * after the stat below must not hang us either. It changes nothing for a regular file's
     * mapping and is cleared again before the descriptor is handed out. */
    int flags = (write ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, fd = -1;
    *created = false;
    *not_regular = false;
    if (create) {
        /* Exclusively first: only then is it known that this call made the file. */
        fd = open(path, flags | O_CREAT | O_EXCL, 0600);
        if (fd < 0 && errno != EEXIST) return errno;
        *created = fd >= 0;
    }
    struct stat st;
    int err;
    if (fd < 0) {
        if (stat(path, &st) != 0) return errno;
        if ((err = rp__regular_mode(st.st_mode)) != 0) {
            *not_regular = true;
            return err;
        }
        fd = open(path, flags);
        if (fd < 0) return errno;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0 || fl < 0) err = errno;
    else if ((err = rp__regular_mode(st.st_mode)) != 0) *not_regular = true;
    else if (fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) err = errno;
    if (err != 0) {
        close(fd);
        return err;
    }
    *out = fd;
    return 0;
}

int rp__os_file_dup(int fd, rp__os_file_t *out, bool *writable) {
    int mode = fcntl(fd, F_GETFL);
    if (mode < 0) return errno;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return errno;
    *writable = (mode & O_ACCMODE) == O_RDWR;
    *out = copy;
    return 0;
}

int rp__os_file_clone(rp__os_file_t file, rp__os_file_t *out) {
    int copy = fcntl((int)file, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return errno;
    *out = copy;
    return 0;
}

int rp__os_file_close(rp__os_file_t file) { return close((int)file) == 0 ? 0 : errno; }

int rp__os_file_size(rp__os_file_t file, uint64_t *size) {
    struct stat st;
    if (fstat((int)file, &st) != 0) return errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int rp__os_file_grow(rp__os_file_t file, uint64_t size) {
    uint64_t now = 0;
    int err = rp__os_file_size(file, &now);
    if (err != 0 || now >= size) return err;
    return rp__os_file_truncate(file, size);
}

int rp__os_file_truncate(rp__os_file_t file, uint64_t size) {
    if (size > (uint64_t)INT64_MAX) return EFBIG;
    return ftruncate((int)file, (off_t)size) == 0 ? 0 : errno;
}

int rp__os_file_same(rp__os_file_t a, rp__os_file_t b, bool *same) {
    struct stat sa, sb;
    if (fstat((int)a, &sa) != 0 || fstat((int)b, &sb) != 0) return errno;
    *same = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return 0;
}

int rp__os_map(const rp__os_map_request_t *req, void **out) {
    RP_ASSERT(req != NULL && out != NULL && req->size > 0);
    int prot = rp__native_prot(req->prot);
    if (prot < 0) return EINVAL;
    bool anon = req->file == RP__OS_FILE_NONE;
    int flags = (req->shared ? MAP_SHARED : MAP_PRIVATE) | (anon ? MAP_ANONYMOUS : 0);
    if (req->populate) flags |= MAP_POPULATE;
    if (req->noreserve) flags |= MAP_NORESERVE;
    if (req->stack) flags |= MAP_STACK;
    int err = rp__posix_map_flags(req->huge_size, req->fixed != NULL, &flags);
    if (err != 0) return err;
    if (req->offset > (uint64_t)INT64_MAX) return EOVERFLOW;
    void *p = mmap(req->fixed, req->size, prot, flags, anon ? -1 : (int)req->file, (off_t)req->offset);
    if (p == MAP_FAILED) return errno;
    if (req->fixed != NULL && p != req->fixed) {
        /* A kernel that does not know the no-replace flag (Linux before 4.17: MAP_FIXED_NOREPLACE),
         * or a system without one, took the address as a hint and mapped elsewhere because
         * something is there: the same outcome as EEXIST. */
        munmap(p, req->size);
        return EEXIST;
    }
    *out = p;
    return 0;
}

int rp__os_unmap(void *addr, size_t size) {
    RP_ASSERT(addr != NULL && size > 0);
    return munmap(addr, size) == 0 ? 0 : errno;
}

int rp__os_flush(void *addr, size_t size, bool async, rp__os_file_t file) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    (void)file; /* MS_SYNC already writes the file's data and metadata for the range */
    return msync(addr, size, async ? MS_ASYNC : MS_SYNC) == 0 ? 0 : errno;
}

/* ---- guarded copies (the map layer) ------------------------------------------------------------ */

/* The copy a thread is running now, if any: the span a SIGBUS may come from, and where to go. */
typedef struct rp__bus_guard {
    sigjmp_buf jump;
    uintptr_t lo, hi;
} rp__bus_guard_t;
static _Thread_local rp__bus_guard_t *volatile rp__bus_current;
static struct sigaction rp__bus_previous;
static pthread_once_t rp__bus_once = PTHREAD_ONCE_INIT;
static int rp__bus_install_error;

static void rp__bus_handler(int sig, siginfo_t *info, void *uctx) {
    rp__bus_guard_t *g = rp__bus_current;
    uintptr_t at = (uintptr_t)info->si_addr;
    /* si_code > 0: the kernel raised it for a fault, not kill() or sigqueue(). */
    if (g != NULL && info->si_code > 0 && at >= g->lo && at < g->hi) siglongjmp(g->jump, 1);
    /* Not ours: do what would have happened without this handler. */
    if (rp__bus_previous.sa_flags & SA_SIGINFO) {
        rp__bus_previous.sa_sigaction(sig, info, uctx);
        return;
    }
    if (rp__bus_previous.sa_handler == SIG_IGN && info->si_code <= 0) return; /* a sent one is ignored */
    if (rp__bus_previous.sa_handler != SIG_IGN && rp__bus_previous.sa_handler != SIG_DFL) {
        rp__bus_previous.sa_handler(sig);
        return;
    }
    /* The default action (a fault cannot be ignored either): restore it and raise the signal
     * again; it is blocked until this handler returns, then kills the process as it would have.
     * A fault would also recur when the instruction runs again. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGBUS, &dfl, NULL);
    raise(SIGBUS);
}

static void rp__bus_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = rp__bus_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &rp__bus_previous) != 0) rp__bus_install_error = errno;
}

int rp__os_err_io(void) { return EIO; }

int rp__os_copy_guarded(void *dst, const void *src, size_t len, const void *span, size_t span_len) {
    pthread_once(&rp__bus_once, rp__bus_install);
    if (rp__bus_install_error != 0) return rp__bus_install_error;
    rp__bus_guard_t guard;
    guard.lo = (uintptr_t)span;
    guard.hi = (uintptr_t)span + span_len;
    rp__bus_guard_t *outer = rp__bus_current; /* a handler of another signal may copy too */
    /* No saved signal mask (that costs a system call per copy): after a fault only SIGBUS,
     * blocked while its handler ran, needs unblocking. */
    if (sigsetjmp(guard.jump, 0) != 0) {
        rp__bus_current = outer;
        sigset_t bus;
        sigemptyset(&bus);
        sigaddset(&bus, SIGBUS);
        pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
        return EIO;
    }
    rp__bus_current = &guard;
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the guard is in place before the first access */
    memcpy(dst, src, len);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    rp__bus_current = outer;
    return 0;
}

void rp__os_icache_flush(void *addr, size_t size) {
    /* A no-op on x86 (coherent caches); a real flush on ARM, POWER, RISC-V. */
    __builtin___clear_cache((char *)addr, (char *)addr + size);
}

/* ---- map review: residency and mappable files (the map layer) --------------------------------- */

int rp__os_resident(void *addr, size_t size, unsigned char *vec) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()) && vec != NULL);
    /* The vector is unsigned char * on Linux, char * on the BSDs and macOS; bit 0 is "resident"
     * everywhere. */
    return mincore(addr, size, (void *)vec) == 0 ? 0 : errno;
}

int rp__os_file_mappable(rp__os_file_t file) {
    struct stat st;
    if (fstat((int)file, &st) != 0) return errno;
    return rp__regular_mode(st.st_mode);
}

int rp__os_file_remove(const char *path) { return unlink(path) == 0 ? 0 : errno; }

/* ---- heap support (the heap layer) ------------------------------------------------------------- */

uint64_t rp__os_clock_ms(void) {
    struct timespec ts;
#if defined(CLOCK_MONOTONIC_COARSE)
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void rp__os_yield(void) { sched_yield(); }

int rp__os_thread_key_create(rp__os_thread_exit_fn on_exit, rp__os_thread_key_t *out) {
    pthread_key_t key;
    int err = pthread_key_create(&key, on_exit);
    if (err == 0) *out = (rp__os_thread_key_t)key;
    return err;
}

int rp__os_thread_key_set(rp__os_thread_key_t key, void *value) {
    return pthread_setspecific((pthread_key_t)key, value);
}

int rp__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    return pthread_atfork(prepare, parent, child);
}

void rp__os_mutex_reset(rp__os_mutex_t *m) { pthread_mutex_init(&m->m, NULL); }

/* ---- advice ------------------------------------------------------------------------------------ */

/* Whether this kernel knows madvise advice `native`: tried once on a private anonymous page of
 * our own, which every advice rampart uses accepts. Cached per value: 0 not probed, 1 known,
 * 2 unknown. A probe that cannot map its page says "known", so callers fail closed. */
static bool rp__advice_known(int native) {
    static _Atomic unsigned char known[128];
    if (native < 0 || native >= 128) return true;
    unsigned char k = atomic_load_explicit(&known[native], memory_order_relaxed);
    if (k == 0) {
        size_t page = rp__os_page_size();
        void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        k = 1;
        if (p != MAP_FAILED) {
            if (madvise(p, page, native) != 0 && errno == EINVAL) k = 2;
            munmap(p, page);
        }
        atomic_store_explicit(&known[native], k, memory_order_relaxed);
    }
    return k == 1;
}

int rp__posix_madvise(void *addr, size_t size, int native) {
    if (madvise(addr, size, native) == 0) return 0;
    int err = errno;
    return (err == EINVAL && !rp__advice_known(native)) ? ENOSYS : err;
}
