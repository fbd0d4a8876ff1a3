/* SPDX-License-Identifier: MIT */
/* os/posix.c — the platform layer for Linux (first), with BSD/macOS branches where they are
 * cheap. Implements every primitive of os/os.h; see there for the contracts.
 *
 * Linux facts this file relies on:
 *   - mlock2(MLOCK_ONFAULT) since 4.4; MADV_DONTDUMP since 3.4; MADV_WIPEONFORK since 4.14;
 *     MADV_GUARD_INSTALL since 6.13 (rejected with EINVAL on VM_LOCKED ranges, so callers
 *     install guards before locking); memfd_secret since 5.14 (off unless the kernel was booted
 *     with secretmem enabled on some distributions).
 *   - /proc/PID/status gives VmLck; /proc/PID/smaps gives per-region "Locked:" and "VmFlags:";
 *     lightweight guard pages appear only in /proc/PID/pagemap (bit 58, PM_GUARD_REGION, and
 *     PAGEMAP_SCAN's PAGE_IS_GUARD: both added after MADV_GUARD_INSTALL, in 2025; 6.18 has them),
 *     not as an smaps line.
 * Constants missing from older libc headers are defined here with their kernel values.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#  include <dirent.h>
#  include <sys/ioctl.h>
#  include <sys/prctl.h>
#  include <sys/syscall.h>
#endif

#include "internal.h"
#include "os/os.h"

#if defined(__linux__)
#  ifndef MADV_DONTDUMP
#    define MADV_DONTDUMP 16
#    define MADV_DODUMP 17
#  endif
#  ifndef MADV_WIPEONFORK
#    define MADV_WIPEONFORK 18
#    define MADV_KEEPONFORK 19
#  endif
#  ifndef MADV_GUARD_INSTALL
#    define MADV_GUARD_INSTALL 102
#    define MADV_GUARD_REMOVE 103
#  endif
#  ifndef MLOCK_ONFAULT
#    define MLOCK_ONFAULT 1
#  endif
#  if !defined(SYS_memfd_secret) && defined(__x86_64__)
#    define SYS_memfd_secret 447
#  endif
#endif

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

#if defined(__linux__)
/* Read a small sysfs/procfs file into buf; returns bytes read or -1 (errno set). */
static ssize_t rp__read_small_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        errno = e;
        return -1;
    }
    buf[n] = '\0';
    return n;
}

static size_t rp__read_size_file(const char *path) {
    char buf[64];
    if (rp__read_small_file(path, buf, sizeof buf) < 0) return 0;
    return (size_t)strtoull(buf, NULL, 10);
}
#endif

size_t rp__os_huge_sizes(rp__os_huge_size_t *out, size_t max) {
#if defined(__linux__)
    DIR *d = opendir("/sys/kernel/mm/hugepages");
    if (d == NULL) return 0;
    rp__os_huge_size_t found[16];
    size_t count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL && count < sizeof found / sizeof found[0]) {
        unsigned long long kib;
        if (sscanf(ent->d_name, "hugepages-%llukB", &kib) != 1) continue;
        char path[320];
        rp__os_huge_size_t h = {.size = (size_t)kib * 1024};
        snprintf(path, sizeof path, "/sys/kernel/mm/hugepages/%s/nr_hugepages", ent->d_name);
        h.total = rp__read_size_file(path);
        snprintf(path, sizeof path, "/sys/kernel/mm/hugepages/%s/free_hugepages", ent->d_name);
        h.free = rp__read_size_file(path);
        /* insertion sort: a handful of entries */
        size_t i = count++;
        while (i > 0 && found[i - 1].size > h.size) {
            found[i] = found[i - 1];
            i--;
        }
        found[i] = h;
    }
    closedir(d);
    for (size_t i = 0; i < count && i < max; i++) out[i] = found[i];
    return count;
#else
    (void)out;
    (void)max;
    return 0;
#endif
}

rp__os_thp_t rp__os_thp_mode(void) {
#if defined(__linux__)
    char buf[128];
    if (rp__read_small_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) < 0)
        return RP__OS_THP_NONE;
    if (strstr(buf, "[always]")) return RP__OS_THP_ALWAYS;
    if (strstr(buf, "[madvise]")) return RP__OS_THP_MADVISE;
    if (strstr(buf, "[never]")) return RP__OS_THP_NEVER;
#endif
    return RP__OS_THP_NONE;
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

/* On Linux the lock calls go to the kernel directly. Sanitizer runtimes (ASan, TSan, MSan)
 * intercept mlock/munlock/mlockall and turn them into no-ops that return 0, and an LD_PRELOAD
 * shim could do the same: a library that reports "locked" must not be fooled that way. */
static int rp__sys_mlock(void *addr, size_t size) {
#if defined(__linux__)
    return syscall(SYS_mlock, addr, size) == 0 ? 0 : errno;
#else
    return mlock(addr, size) == 0 ? 0 : errno;
#endif
}

static int rp__sys_munlock(void *addr, size_t size) {
#if defined(__linux__)
    return syscall(SYS_munlock, addr, size) == 0 ? 0 : errno;
#else
    return munlock(addr, size) == 0 ? 0 : errno;
#endif
}

int rp__os_lock(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    return rp__sys_mlock(addr, size);
}

int rp__os_lock_onfault(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
#if defined(__linux__) && defined(SYS_mlock2)
    return syscall(SYS_mlock2, addr, size, MLOCK_ONFAULT) == 0 ? 0 : errno;
#else
    (void)addr;
    (void)size;
    return ENOSYS;
#endif
}

int rp__os_unlock(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    return rp__sys_munlock(addr, size);
}

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

int rp__os_raise_lock_limit(size_t want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return errno;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)want) return 0;
    rlim_t target = (rlim_t)want;
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max) return ENOMEM;
    rl.rlim_cur = target;
    return setrlimit(RLIMIT_MEMLOCK, &rl) == 0 ? 0 : errno;
}

#if defined(__linux__)
/* Find "Key:" at the start of a line in a /proc text and parse the number after it (base 10
 * for sizes, 16 for capability masks). */
static bool rp__proc_field(const char *text, const char *key, int base, unsigned long long *out) {
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, klen) == 0) {
            *out = strtoull(line + klen, NULL, base);
            return true;
        }
    }
    return false;
}

static void rp__proc_path(char *buf, size_t size, int pid, const char *leaf) {
    if (pid <= 0) snprintf(buf, size, "/proc/self/%s", leaf);
    else snprintf(buf, size, "/proc/%d/%s", pid, leaf);
}

/* Whether process pid (0: this one) lives in the initial user namespace. The kernel lifts the
 * memlock limit only for CAP_IPC_LOCK there (capable(), mm/mlock.c): inside a user namespace
 * (rootless docker/podman, Kubernetes hostUsers: false, unshare -r) CapEff shows the capability,
 * yet the limit still applies. The namespace link names the initial namespace by its fixed inode
 * (PROC_USER_INIT_INO); reading another user's link needs ptrace access, so the world-readable
 * uid_map stands in then: only the initial namespace maps all 2^32 ids onto themselves. */
static bool rp__proc_initial_userns(int pid) {
    char path[64], buf[256];
    rp__proc_path(path, sizeof path, pid, "ns/user");
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        return strcmp(buf, "user:[4026531837]") == 0;
    }
    if (errno == ENOENT) return true; /* a kernel without user namespaces */
    unsigned long long inside = 1, outside = 1, count = 0;
    rp__proc_path(path, sizeof path, pid, "uid_map");
    if (rp__read_small_file(path, buf, sizeof buf) < 0) return errno == ENOENT;
    return sscanf(buf, "%llu %llu %llu", &inside, &outside, &count) == 3 && inside == 0 && outside == 0 &&
           count == 4294967295ull && strchr(buf, '\n') == buf + strlen(buf) - 1;
}

/* CAP_IPC_LOCK as the memlock limit sees it, from a /proc/PID/status text: 1, 0, or -1 unknown. */
static int rp__proc_cap_ipc_lock(const char *status, int pid) {
    unsigned long long caps = 0;
    if (!rp__proc_field(status, "CapEff:", 16, &caps)) return -1;
    return ((caps >> 14) & 1u) && rp__proc_initial_userns(pid); /* CAP_IPC_LOCK == 14 */
}
#endif

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

bool rp__os_can_lock_unlimited(void) {
#if defined(__linux__)
    /* capget first: no file to open (the lock preload asks on every program start). */
    struct { uint32_t version; int pid; } head = {0x20080522u, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
    struct { uint32_t effective, permitted, inheritable; } data[2];
    if (syscall(SYS_capget, &head, data) == 0) return ((data[0].effective >> 14) & 1u) && rp__proc_initial_userns(0);
    char buf[4096];
    if (rp__read_small_file("/proc/self/status", buf, sizeof buf) < 0) return geteuid() == 0;
    int cap = rp__proc_cap_ipc_lock(buf, 0);
    return cap < 0 ? geteuid() == 0 : cap == 1;
#else
    return geteuid() == 0;
#endif
}

int rp__os_locked_bytes(int pid, size_t *vm_locked, size_t *resident_locked) {
#if defined(__linux__)
    char path[64], buf[4096];
    unsigned long long kib = 0;
    rp__proc_path(path, sizeof path, pid, "status");
    if (rp__read_small_file(path, buf, sizeof buf) < 0) return errno;
    if (!rp__proc_field(buf, "VmLck:", 10, &kib)) return ENOSYS;
    if (vm_locked) *vm_locked = (size_t)kib * 1024;
    if (resident_locked) {
        rp__proc_path(path, sizeof path, pid, "smaps_rollup");
        if (rp__read_small_file(path, buf, sizeof buf) < 0) return errno;
        kib = 0;
        if (!rp__proc_field(buf, "Locked:", 10, &kib)) return ENOSYS;
        *resident_locked = (size_t)kib * 1024;
    }
    return 0;
#else
    (void)pid;
    (void)vm_locked;
    (void)resident_locked;
    return ENOSYS;
#endif
}

/* ---- process-wide locking (the lockall layer) ---------------------------------------------------- */

#if defined(__linux__) && !defined(MCL_ONFAULT)
#  define MCL_ONFAULT 4
#endif

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
    *locked_bytes = 0; /* the kernel keeps the count (VmLck) */
#if defined(__linux__)
    /* Straight to the kernel: sanitizer runtimes make mlockall a no-op that returns 0. */
    if (syscall(SYS_mlockall, native) == 0) return 0;
    /* Kernels before 4.4 do not know MCL_ONFAULT; the other flags are always valid. */
    return (errno == EINVAL && (flags & RP__OS_LOCKALL_ONFAULT)) ? ENOSYS : errno;
#else
    return mlockall(native) == 0 ? 0 : errno;
#endif
}

int rp__os_unlockall(void) {
#if defined(__linux__)
    return syscall(SYS_munlockall) == 0 ? 0 : errno;
#else
    return munlockall() == 0 ? 0 : errno;
#endif
}

#if defined(__linux__)
/* One limit column of /proc/PID/limits: a number of bytes or "unlimited". */
static size_t rp__limit_value(const char *word) {
    if (strcmp(word, "unlimited") == 0) return SIZE_MAX;
    unsigned long long v = strtoull(word, NULL, 10);
    return v >= (unsigned long long)SIZE_MAX ? SIZE_MAX : (size_t)v;
}
#endif

int rp__os_lock_info(int pid, rp__os_lock_info_t *out) {
    RP_ASSERT(out != NULL && pid >= 0);
    memset(out, 0, sizeof *out);
    out->vm_locked = out->resident_locked = out->vm_size = out->vm_rss = SIZE_MAX;
    out->limit_soft = out->limit_hard = SIZE_MAX;
    out->cap_ipc_lock = -1;
    out->limit_binding = true;
#if defined(__linux__)
    char path[64], buf[4096];
    unsigned long long v;
    /* This process's limit is known even where /proc is not mounted. */
    if (pid == 0) {
        int err = rp__os_lock_limit(&out->limit_soft, &out->limit_hard);
        if (err != 0) return err;
    }
    rp__proc_path(path, sizeof path, pid, "status");
    /* No /proc/PID: the process does not exist, which ESRCH says ("No such process"). */
    if (rp__read_small_file(path, buf, sizeof buf) < 0) return errno == ENOENT ? ESRCH : errno;
    /* Kernel threads and zombies have no memory lines: those figures stay unknown. */
    if (rp__proc_field(buf, "VmLck:", 10, &v)) out->vm_locked = (size_t)v * 1024;
    if (rp__proc_field(buf, "VmSize:", 10, &v)) out->vm_size = (size_t)v * 1024;
    if (rp__proc_field(buf, "VmRSS:", 10, &v)) out->vm_rss = (size_t)v * 1024;
    out->cap_ipc_lock = rp__proc_cap_ipc_lock(buf, pid);
    /* smaps_rollup needs ptrace-read access to another process: unknown without it. */
    rp__proc_path(path, sizeof path, pid, "smaps_rollup");
    if (rp__read_small_file(path, buf, sizeof buf) >= 0 && rp__proc_field(buf, "Locked:", 10, &v))
        out->resident_locked = (size_t)v * 1024;
    rp__proc_path(path, sizeof path, pid, "comm");
    if (rp__read_small_file(path, out->name, sizeof out->name) >= 0) out->name[strcspn(out->name, "\n")] = '\0';
    if (pid == 0) return 0;
    rp__proc_path(path, sizeof path, pid, "limits");
    if (rp__read_small_file(path, buf, sizeof buf) < 0) return errno;
    const char *line = strstr(buf, "Max locked memory");
    char soft[32], hard[32];
    if (line == NULL || sscanf(line + strlen("Max locked memory"), "%31s %31s", soft, hard) != 2) return ENOSYS;
    out->limit_soft = rp__limit_value(soft);
    out->limit_hard = rp__limit_value(hard);
    return 0;
#else
    /* Other systems: only this process's limit is readable without /proc. */
    if (pid != 0 && pid != (int)getpid()) return ENOSYS;
    out->cap_ipc_lock = geteuid() == 0;
    return rp__os_lock_limit(&out->limit_soft, &out->limit_hard);
#endif
}

/* ---- advice ------------------------------------------------------------------------------------ */

int rp__os_advise(void *addr, size_t size, rp__os_advice_t advice) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    int native;
    switch (advice) {
#if defined(__linux__)
    case RP__OS_ADV_DONTDUMP: native = MADV_DONTDUMP; break;
    case RP__OS_ADV_DODUMP: native = MADV_DODUMP; break;
    case RP__OS_ADV_WIPEONFORK: native = MADV_WIPEONFORK; break;
    case RP__OS_ADV_KEEPONFORK: native = MADV_KEEPONFORK; break;
    case RP__OS_ADV_DONTFORK: native = MADV_DONTFORK; break;
    case RP__OS_ADV_DOFORK: native = MADV_DOFORK; break;
    case RP__OS_ADV_HUGEPAGE: native = MADV_HUGEPAGE; break;
    case RP__OS_ADV_NOHUGEPAGE: native = MADV_NOHUGEPAGE; break;
#elif defined(MADV_NOCORE)
    case RP__OS_ADV_DONTDUMP: native = MADV_NOCORE; break;
    case RP__OS_ADV_DODUMP: native = MADV_CORE; break;
#endif
    case RP__OS_ADV_FREE: native = MADV_DONTNEED; break;
    case RP__OS_ADV_WILLNEED: native = MADV_WILLNEED; break;
    default: return ENOSYS;
    }
    if (madvise(addr, size, native) == 0) return 0;
    /* An advice value the kernel does not know comes back as EINVAL; report it as missing. */
    return (errno == EINVAL && advice != RP__OS_ADV_FREE && advice != RP__OS_ADV_WILLNEED) ? ENOSYS : errno;
}

static int rp__guard_madvise(void *addr, size_t size, bool install) {
#if defined(__linux__)
    if (madvise(addr, size, install ? MADV_GUARD_INSTALL : MADV_GUARD_REMOVE) == 0) return 0;
    return errno;
#else
    (void)addr;
    (void)size;
    (void)install;
    return ENOSYS;
#endif
}

bool rp__os_guard_lightweight_available(void) {
    /* Probe once on a throw-away page: the only reliable test for an advice value. */
    static int state; /* 0 unknown, 1 yes, 2 no */
    int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (s == 0) {
        void *p = NULL;
        size_t ps = rp__os_page_size();
        s = 2;
        if (rp__os_alloc(ps, &p) == 0) {
            if (rp__guard_madvise(p, ps, true) == 0) s = 1;
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
    if (rp__guard_madvise(addr, size, true) == 0) {
        *lightweight = true;
        return 0;
    }
    *lightweight = false;
    return mprotect(addr, size, PROT_NONE) == 0 ? 0 : errno;
}

int rp__os_guard_remove(void *addr, size_t size, bool lightweight) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    if (lightweight) return rp__guard_madvise(addr, size, false);
    return mprotect(addr, size, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

/* ---- secret memory ----------------------------------------------------------------------------- */

int rp__os_secret_alloc(size_t size, void **out) {
    RP_ASSERT(size > 0 && size % rp__os_page_size() == 0 && out != NULL);
#if defined(__linux__) && defined(SYS_memfd_secret)
    int fd = (int)syscall(SYS_memfd_secret, (unsigned)O_CLOEXEC);
    if (fd < 0) return errno;
    int err = 0;
    if (size > (size_t)INT64_MAX || ftruncate(fd, (off_t)size) != 0) {
        /* A size the secret file cannot take is a size memory cannot take: report it as such. */
        err = (size > (size_t)INT64_MAX || errno == EFBIG || errno == EINVAL) ? ENOMEM : errno;
    } else {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) err = errno;
        else *out = p;
    }
    close(fd); /* the mapping keeps the memory; no descriptor lingers */
    return err;
#else
    (void)size;
    (void)out;
    return ENOSYS;
#endif
}

bool rp__os_secret_available(void) {
#if defined(__linux__) && defined(SYS_memfd_secret)
    static int state; /* 0 unknown, 1 yes, 2 no */
    int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (s == 0) {
        int fd = (int)syscall(SYS_memfd_secret, (unsigned)O_CLOEXEC);
        if (fd >= 0) close(fd);
        /* Only the kernel's "no such call" (old kernel, secretmem disabled, seccomp) is kept;
         * a shortage of descriptors or memory says nothing about the next call. */
        else if (errno != ENOSYS && errno != EPERM) return false;
        s = fd >= 0 ? 1 : 2;
        __atomic_store_n(&state, s, __ATOMIC_RELAXED);
    }
    return s == 1;
#else
    return false;
#endif
}

/* ---- memory areas ------------------------------------------------------------------------------ */

#if defined(__linux__)
/* Parse one smaps header line: "start-end perms offset dev inode   path". */
static bool rp__parse_area_header(const char *line, rp__os_area_t *a) {
    unsigned long long start, end, offset, inode;
    char perms[8], dev[16];
    int path_at = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &start, &end, perms, &offset, dev, &inode, &path_at) < 6)
        return false;
    memset(a, 0, sizeof *a);
    a->guard_pages = SIZE_MAX; /* smaps does not count them: rp__os_guard_count does */
    a->start = (uintptr_t)start;
    a->end = (uintptr_t)end;
    a->offset = offset;
    if (perms[0] == 'r') a->flags |= RP__OS_AREA_READ;
    if (perms[1] == 'w') a->flags |= RP__OS_AREA_WRITE;
    if (perms[2] == 'x') a->flags |= RP__OS_AREA_EXEC;
    if (perms[3] == 's') a->flags |= RP__OS_AREA_SHARED;
    if (!(a->flags & (RP__OS_AREA_READ | RP__OS_AREA_WRITE | RP__OS_AREA_EXEC))) a->flags |= RP__OS_AREA_GUARD;
    if (path_at > 0) {
        const char *p = line + path_at;
        size_t n = strcspn(p, "\n");
        if (n >= sizeof a->path) n = sizeof a->path - 1;
        memcpy(a->path, p, n);
        a->path[n] = '\0';
    }
    /* The gate area: mlock_fixup skips it by address, and its VmFlags say nothing special. */
    if (strcmp(a->path, "[vsyscall]") == 0) a->flags |= RP__OS_AREA_UNLOCKABLE;
    return true;
}

static void rp__parse_vmflags(const char *flags, rp__os_area_t *a) {
    /* Two-letter codes separated by spaces: lo locked, dd dontdump, wf wipeonfork, dc dontcopy,
     * ht hugetlb; io, pf, de, mm, dp: areas mlock and mlockall pass over (mm/mlock.c,
     * mlock_fixup: VM_SPECIAL and VM_DROPPABLE). */
    static const struct { char code[3]; unsigned flag; } known[] = {
        {"lo", RP__OS_AREA_LOCKED}, {"dd", RP__OS_AREA_DONTDUMP}, {"wf", RP__OS_AREA_WIPEONFORK},
        {"dc", RP__OS_AREA_DONTFORK}, {"ht", RP__OS_AREA_HUGETLB}, {"io", RP__OS_AREA_UNLOCKABLE},
        {"pf", RP__OS_AREA_UNLOCKABLE}, {"de", RP__OS_AREA_UNLOCKABLE}, {"mm", RP__OS_AREA_UNLOCKABLE},
        {"dp", RP__OS_AREA_UNLOCKABLE},
    };
    const char *p = flags;
    for (;;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " \n");
        if (n == 0) break;
        for (size_t i = 0; n == 2 && i < sizeof known / sizeof known[0]; i++)
            if (memcmp(p, known[i].code, 2) == 0) a->flags |= known[i].flag;
        p += n;
    }
}
#endif

int rp__os_areas(int pid, rp__os_area_fn fn, void *ctx) {
#if defined(__linux__)
    char path[64];
    rp__proc_path(path, sizeof path, pid, "smaps");
    FILE *f = fopen(path, "re");
    /* No /proc/PID means no such process: say that, not "no such file or directory". For this
     * process (pid 0) it means /proc is not mounted, and ENOENT says so. */
    if (f == NULL) return errno == ENOENT && pid > 0 ? ESRCH : errno;
    char line[512];
    rp__os_area_t a;
    bool have = false, go_on = true;
    while (go_on && fgets(line, sizeof line, f) != NULL) {
        unsigned long long kib;
        /* A header line starts with a hex address; field lines start with a capital letter. */
        bool header = (line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f');
        if (header) {
            if (have) go_on = fn(&a, ctx);
            have = rp__parse_area_header(line, &a);
        } else if (!have) {
            continue;
        } else if (sscanf(line, "Rss: %llu kB", &kib) == 1) {
            a.rss = (size_t)kib * 1024;
        } else if (sscanf(line, "Locked: %llu kB", &kib) == 1) {
            a.locked = (size_t)kib * 1024;
        } else if (sscanf(line, "AnonHugePages: %llu kB", &kib) == 1) {
            a.anon_huge = (size_t)kib * 1024;
        } else if (sscanf(line, "Private_Hugetlb: %llu kB", &kib) == 1 || sscanf(line, "Shared_Hugetlb: %llu kB", &kib) == 1) {
            a.hugetlb += (size_t)kib * 1024;
        } else if (sscanf(line, "Swap: %llu kB", &kib) == 1) {
            a.swapped = (size_t)kib * 1024;
        } else if (sscanf(line, "KernelPageSize: %llu kB", &kib) == 1) {
            a.page_size = (size_t)kib * 1024;
        } else if (strncmp(line, "VmFlags:", 8) == 0) {
            rp__parse_vmflags(line + 8, &a);
        }
    }
    if (go_on && have) fn(&a, ctx);
    fclose(f);
    return 0;
#else
    (void)pid;
    (void)fn;
    (void)ctx;
    return ENOSYS;
#endif
}

#if defined(__linux__)
/* PAGEMAP_SCAN (Linux 6.7) and its later PAGE_IS_GUARD category, with the kernel's layout, for
 * libc headers that predate them. */
typedef struct rp__pm_region {
    uint64_t start, end, categories;
} rp__pm_region_t;
typedef struct rp__pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
        category_anyof_mask, return_mask;
} rp__pm_scan_arg_t;
#  define RP__PAGEMAP_SCAN _IOWR('f', 16, rp__pm_scan_arg_t)
#  define RP__PAGE_IS_GUARD (UINT64_C(1) << 8)
#  define RP__PM_GUARD_REGION (UINT64_C(1) << 58)
/* Areas larger than this are not read entry by entry (8 bytes per page) without PAGEMAP_SCAN. */
#  define RP__GUARD_READ_MAX ((uint64_t)4 << 30)

/* 0 unknown, 1 PAGEMAP_SCAN knows PAGE_IS_GUARD, 2 it does not (read the entries). */
static int rp__guard_scan_state;

/* The PAGEMAP_SCAN way: regions of guard pages, a batch at a time. */
static int rp__guard_scan(int fd, uintptr_t start, uintptr_t end, size_t *count) {
    rp__pm_region_t vec[32];
    size_t pages = 0, page = rp__os_page_size();
    for (uintptr_t at = start; at < end;) {
        rp__pm_scan_arg_t arg;
        memset(&arg, 0, sizeof arg);
        arg.size = sizeof arg;
        arg.start = at;
        arg.end = end;
        arg.vec = (uintptr_t)vec;
        arg.vec_len = sizeof vec / sizeof vec[0];
        arg.category_mask = arg.return_mask = RP__PAGE_IS_GUARD;
        long n = ioctl(fd, RP__PAGEMAP_SCAN, &arg);
        if (n < 0) return errno;
        for (long i = 0; i < n; i++) pages += (size_t)((vec[i].end - vec[i].start) / page);
        if (arg.walk_end <= at) break; /* no progress: the walk is done */
        at = (uintptr_t)arg.walk_end;
    }
    *count = pages;
    return 0;
}

/* The entry-by-entry way: bit 58 of each 8-byte entry. */
static int rp__guard_read(int fd, uintptr_t start, uintptr_t end, size_t *count) {
    size_t page = rp__os_page_size(), pages = 0;
    if ((uint64_t)(end - start) > RP__GUARD_READ_MAX) return EFBIG;
    uint64_t entries[512];
    for (uintptr_t at = start; at < end;) {
        size_t want = (end - at) / page;
        if (want > sizeof entries / sizeof entries[0]) want = sizeof entries / sizeof entries[0];
        ssize_t got = pread(fd, entries, want * sizeof entries[0], (off_t)(at / page * sizeof entries[0]));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return errno;
        if (got == 0) break; /* past the user address range ([vsyscall]): no page tables, no guards */
        size_t n = (size_t)got / sizeof entries[0];
        for (size_t i = 0; i < n; i++) pages += (entries[i] & RP__PM_GUARD_REGION) != 0;
        at += n * page;
    }
    *count = pages;
    return 0;
}
#endif

int rp__os_guard_reader_open(int pid, rp__os_guard_reader_t *out) {
#if defined(__linux__)
    char path[64];
    rp__proc_path(path, sizeof path, pid, "pagemap");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    *out = fd;
    return 0;
#else
    (void)pid;
    *out = -1;
    return ENOSYS;
#endif
}

int rp__os_guard_count(rp__os_guard_reader_t reader, uintptr_t start, uintptr_t end, size_t *count) {
    *count = 0;
#if defined(__linux__)
    RP_ASSERT(start < end && rp__is_aligned(start, rp__os_page_size()));
    int fd = (int)reader, state = __atomic_load_n(&rp__guard_scan_state, __ATOMIC_RELAXED);
    if (state != 2) {
        int err = rp__guard_scan(fd, start, end, count);
        if (err == 0) {
            if (state == 0) __atomic_store_n(&rp__guard_scan_state, 1, __ATOMIC_RELAXED);
            return 0;
        }
        /* No such ioctl (before 6.7) or no such category (older kernels): read the entries. An
         * area outside the walkable user range ([vsyscall]) fails the same way once it is known
         * to work, and is read entry by entry, which reports it as empty. */
        if (state == 0 && (err == ENOTTY || err == EINVAL || err == EOPNOTSUPP))
            __atomic_store_n(&rp__guard_scan_state, 2, __ATOMIC_RELAXED);
    }
    return rp__guard_read(fd, start, end, count);
#else
    (void)reader;
    (void)start;
    (void)end;
    return ENOSYS;
#endif
}

void rp__os_guard_reader_close(rp__os_guard_reader_t reader) {
    if (reader >= 0) close((int)reader);
}

/* ---- process facts ----------------------------------------------------------------------------- */

int rp__os_core_info(rp__os_core_info_t *out) {
    memset(out, 0, sizeof *out);
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) != 0) return errno;
    out->limit_soft = rp__rlim_to_size(rl.rlim_cur);
#if defined(__linux__)
    if (rp__read_small_file("/proc/sys/kernel/core_pattern", out->pattern, sizeof out->pattern) >= 0)
        out->pattern[strcspn(out->pattern, "\n")] = '\0';
    out->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) > 0;
#else
    out->dumpable = true;
#endif
    return 0;
}

void rp__os_describe(char *buf, size_t size) {
    struct utsname u;
    if (uname(&u) == 0) snprintf(buf, size, "%s %s %s", u.sysname, u.release, u.machine);
    else snprintf(buf, size, "POSIX");
}

int rp__os_getpid(void) { return (int)getpid(); }

void rp__os_process_name(char *buf, size_t size) {
    buf[0] = '\0';
#if defined(__linux__)
    if (rp__read_small_file("/proc/self/comm", buf, size) >= 0) buf[strcspn(buf, "\n")] = '\0';
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || defined(__DragonFly__)
    snprintf(buf, size, "%s", getprogname());
#endif
}

/* Linux: glibc and musl both have secure_getenv (AT_SECURE from the kernel: set-user-ID,
 * set-group-ID, file capabilities, or an LSM's transition). The BSDs and macOS: issetugid.
 * Elsewhere: a differing real and effective user or group. */
const char *rp__os_getenv_secure(const char *name) {
#if defined(__linux__)
    return secure_getenv(name);
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || defined(__DragonFly__)
    return issetugid() ? NULL : getenv(name);
#else
    return getuid() != geteuid() || getgid() != getegid() ? NULL : getenv(name);
#endif
}

void rp__os_write_stderr(const char *text, size_t len) {
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, text, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        text += n;
        len -= (size_t)n;
    }
}

/* ---- threads ----------------------------------------------------------------------------------- */

void rp__os_mutex_lock(rp__os_mutex_t *m) { pthread_mutex_lock(&m->m); }
void rp__os_mutex_unlock(rp__os_mutex_t *m) { pthread_mutex_unlock(&m->m); }


/* ---- mappings (the map layer) ------------------------------------------------------------------ */

#if defined(__linux__)
#  ifndef MAP_FIXED_NOREPLACE
#    define MAP_FIXED_NOREPLACE 0x100000
#  endif
#  ifndef MAP_HUGE_SHIFT
#    define MAP_HUGE_SHIFT 26
#  endif
#endif
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
    if (size > (uint64_t)INT64_MAX) return EFBIG;
    return ftruncate((int)file, (off_t)size) == 0 ? 0 : errno;
}

int rp__os_file_same(rp__os_file_t a, rp__os_file_t b, bool *same) {
    struct stat sa, sb;
    if (fstat((int)a, &sa) != 0 || fstat((int)b, &sb) != 0) return errno;
    *same = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return 0;
}

/* MAP_HUGETLB with the page size encoded as log2 in the MAP_HUGE_SHIFT bits. */
static int rp__huge_flags(size_t huge_size, int *flags) {
#if defined(__linux__) && defined(MAP_HUGETLB)
    if (huge_size & (huge_size - 1)) return EINVAL;
    int log2 = __builtin_ctzll((unsigned long long)huge_size);
    *flags |= MAP_HUGETLB | (log2 << MAP_HUGE_SHIFT);
    return 0;
#else
    (void)huge_size;
    (void)flags;
    return ENOSYS;
#endif
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
    if (req->huge_size != 0) {
        int err = rp__huge_flags(req->huge_size, &flags);
        if (err != 0) return err;
    }
    if (req->fixed != NULL) {
#if defined(__linux__)
        flags |= MAP_FIXED_NOREPLACE;
#elif defined(MAP_EXCL)
        flags |= MAP_FIXED | MAP_EXCL; /* FreeBSD: fail instead of replacing */
#endif
    }
    if (req->offset > (uint64_t)INT64_MAX) return EOVERFLOW;
    void *p = mmap(req->fixed, req->size, prot, flags, anon ? -1 : (int)req->file, (off_t)req->offset);
    if (p == MAP_FAILED) return errno;
    if (req->fixed != NULL && p != req->fixed) {
        /* A kernel that does not know MAP_FIXED_NOREPLACE took the address as a hint and mapped
         * elsewhere because something is there: the same outcome as EEXIST. */
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

int rp__os_remap(void *addr, size_t old_size, size_t new_size, bool may_move, void *dest, void **out) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()) && out != NULL);
#if defined(__linux__)
    void *p = dest != NULL ? mremap(addr, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest)
                           : mremap(addr, old_size, new_size, may_move ? MREMAP_MAYMOVE : 0);
    if (p == MAP_FAILED) return errno;
    *out = p;
    return 0;
#else
    (void)addr;
    (void)old_size;
    (void)new_size;
    (void)may_move;
    (void)dest;
    (void)out;
    return ENOSYS;
#endif
}

bool rp__os_remap_available(void) {
#if defined(__linux__)
    return true;
#else
    return false;
#endif
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

/* ---- the pool layer ---------------------------------------------------------------------------- */

int rp__os_random(void *buf, size_t len) {
    RP_ASSERT(buf != NULL);
#if defined(__linux__) && defined(SYS_getrandom)
    unsigned char *p = buf;
    while (len > 0) {
        long n = syscall(SYS_getrandom, p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
#else
    arc4random_buf(buf, len);
    return 0;
#endif
}

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
