/* SPDX-License-Identifier: MIT */
/* os/linux.c — the platform layer's Linux half: what Linux does its own way (procfs and sysfs,
 * raw system calls, advice values, memfd_secret, mremap, the page map). The primitives every
 * POSIX system shares are in os/posix_common.c, built with this file; os/posix.c takes this
 * file's place on other POSIX systems. See os/os.h for the contracts.
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

#if !defined(__linux__)
#  error "os/linux.c is the Linux platform file; CMake builds os/posix.c on other POSIX systems"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/annotate.h" /* rp__on_valgrind */
#include "internal.h"
#include "os/os.h"
#include "os/posix_common.h"

#ifndef MADV_DONTDUMP
#  define MADV_DONTDUMP 16
#  define MADV_DODUMP 17
#endif
#ifndef MADV_WIPEONFORK
#  define MADV_WIPEONFORK 18
#  define MADV_KEEPONFORK 19
#endif
#ifndef MADV_GUARD_INSTALL
#  define MADV_GUARD_INSTALL 102
#  define MADV_GUARD_REMOVE 103
#endif
#ifndef MLOCK_ONFAULT
#  define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#  define MCL_ONFAULT 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#  define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_HUGE_SHIFT
#  define MAP_HUGE_SHIFT 26
#endif

/* memfd_secret's number, from the kernel's syscall tables for the architectures whose kernels
 * have the call: x86-64 and i386 (arch/x86/entry/syscalls/syscall_{64,32}.tbl), x32 (the same
 * number with __X32_SYSCALL_BIT), arm64 and RISC-V (the generic table, include/uapi/asm-generic/
 * unistd.h). Other architectures' kernels have no memfd_secret (arm's table only reserves 447),
 * and the call is reported unsupported (ENOSYS), as the kernel would answer it. Headers from
 * Linux 5.14 on name the number themselves (SYS_memfd_secret); where they do, it is used, and
 * the build checks that this table agrees with them. */
#if defined(__x86_64__) && defined(__ILP32__)
#  define RP__MEMFD_SECRET_TABLE (0x40000000L + 447)
#elif defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__riscv)
#  define RP__MEMFD_SECRET_TABLE 447L
#else
#  define RP__MEMFD_SECRET_TABLE (-1L)
#endif
#if defined(SYS_memfd_secret)
_Static_assert(RP__MEMFD_SECRET_TABLE < 0 || RP__MEMFD_SECRET_TABLE == SYS_memfd_secret,
               "the memfd_secret number in os/linux.c disagrees with <sys/syscall.h>");
#  define RP__NR_MEMFD_SECRET ((long)SYS_memfd_secret)
#else
#  define RP__NR_MEMFD_SECRET RP__MEMFD_SECRET_TABLE
#endif

/* ---- procfs and sysfs ---------------------------------------------------------------------------- */

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

/* ---- sizes ------------------------------------------------------------------------------------- */

size_t rp__os_huge_sizes(rp__os_huge_size_t *out, size_t max) {
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
}

rp__os_thp_t rp__os_thp_mode(void) {
    char buf[128];
    if (rp__read_small_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) < 0)
        return RP__OS_THP_NONE;
    if (strstr(buf, "[always]")) return RP__OS_THP_ALWAYS;
    if (strstr(buf, "[madvise]")) return RP__OS_THP_MADVISE;
    if (strstr(buf, "[never]")) return RP__OS_THP_NEVER;
    return RP__OS_THP_NONE;
}

/* ---- locking ----------------------------------------------------------------------------------- */

/* The lock calls go to the kernel directly. Sanitizer runtimes (ASan, TSan, MSan) intercept
 * mlock/munlock/mlockall and turn them into no-ops that return 0, and an LD_PRELOAD shim could
 * do the same: a library that reports "locked" must not be fooled that way. */
static int rp__sys_mlock(void *addr, size_t size) {
    return syscall(SYS_mlock, addr, size) == 0 ? 0 : errno;
}

static int rp__sys_munlock(void *addr, size_t size) {
    return syscall(SYS_munlock, addr, size) == 0 ? 0 : errno;
}

int rp__os_lock(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    return rp__sys_mlock(addr, size);
}

int rp__os_lock_onfault(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    /* Valgrind (3.19) does not know mlock2 and warns at each call: a plain mlock there, which
     * faults the pages in at once instead of on first touch (docs/debugging.md). */
    if (rp__on_valgrind()) return rp__sys_mlock(addr, size);
#if defined(SYS_mlock2)
    return syscall(SYS_mlock2, addr, size, MLOCK_ONFAULT) == 0 ? 0 : errno;
#else
    (void)addr;
    (void)size;
    return ENOSYS; /* headers older than Linux 4.4 */
#endif
}

int rp__os_unlock(void *addr, size_t size) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    return rp__sys_munlock(addr, size);
}

bool rp__os_can_lock_unlimited(void) {
    /* capget first: no file to open (the lock preload asks on every program start). */
    struct { uint32_t version; int pid; } head = {0x20080522u, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
    struct { uint32_t effective, permitted, inheritable; } data[2];
    if (syscall(SYS_capget, &head, data) == 0) return ((data[0].effective >> 14) & 1u) && rp__proc_initial_userns(0);
    char buf[4096];
    if (rp__read_small_file("/proc/self/status", buf, sizeof buf) < 0) return geteuid() == 0;
    int cap = rp__proc_cap_ipc_lock(buf, 0);
    return cap < 0 ? geteuid() == 0 : cap == 1;
}

int rp__os_locked_bytes(int pid, size_t *vm_locked, size_t *resident_locked) {
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
}

/* ---- process-wide locking (the lockall layer) ---------------------------------------------------- */

unsigned rp__os_lockall_supported(void) {
    return RP__OS_LOCKALL_CURRENT | RP__OS_LOCKALL_FUTURE | RP__OS_LOCKALL_ONFAULT;
}

int rp__os_lockall(unsigned flags, size_t *locked_bytes) {
    RP_ASSERT((flags & (RP__OS_LOCKALL_CURRENT | RP__OS_LOCKALL_FUTURE)) != 0 && locked_bytes != NULL);
    RP_ASSERT((flags & ~rp__os_lockall_supported()) == 0);
    int native = 0;
    if (flags & RP__OS_LOCKALL_CURRENT) native |= MCL_CURRENT;
    if (flags & RP__OS_LOCKALL_FUTURE) native |= MCL_FUTURE;
    if (flags & RP__OS_LOCKALL_ONFAULT) native |= MCL_ONFAULT;
    *locked_bytes = 0; /* the kernel keeps the count (VmLck) */
    /* Straight to the kernel: sanitizer runtimes make mlockall a no-op that returns 0. */
    if (syscall(SYS_mlockall, native) == 0) return 0;
    /* Kernels before 4.4 do not know MCL_ONFAULT; the other flags are always valid. */
    return (errno == EINVAL && (flags & RP__OS_LOCKALL_ONFAULT)) ? ENOSYS : errno;
}

int rp__os_unlockall(void) {
    return syscall(SYS_munlockall) == 0 ? 0 : errno;
}

/* One limit column of /proc/PID/limits: a number of bytes or "unlimited". */
static size_t rp__limit_value(const char *word) {
    if (strcmp(word, "unlimited") == 0) return SIZE_MAX;
    unsigned long long v = strtoull(word, NULL, 10);
    return v >= (unsigned long long)SIZE_MAX ? SIZE_MAX : (size_t)v;
}

int rp__posix_lock_info(int pid, rp__os_lock_info_t *out) {
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
}

/* ---- advice ------------------------------------------------------------------------------------ */

int rp__os_advise(void *addr, size_t size, rp__os_advice_t advice) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()));
    int native;
    switch (advice) {
    case RP__OS_ADV_DONTDUMP: native = MADV_DONTDUMP; break;
    case RP__OS_ADV_DODUMP: native = MADV_DODUMP; break;
    case RP__OS_ADV_WIPEONFORK: native = MADV_WIPEONFORK; break;
    case RP__OS_ADV_KEEPONFORK: native = MADV_KEEPONFORK; break;
    case RP__OS_ADV_DONTFORK: native = MADV_DONTFORK; break;
    case RP__OS_ADV_DOFORK: native = MADV_DOFORK; break;
    case RP__OS_ADV_HUGEPAGE: native = MADV_HUGEPAGE; break;
    case RP__OS_ADV_NOHUGEPAGE: native = MADV_NOHUGEPAGE; break;
    case RP__OS_ADV_FREE: native = MADV_DONTNEED; break;
    case RP__OS_ADV_WILLNEED: native = MADV_WILLNEED; break;
    default: return ENOSYS;
    }
    return rp__posix_madvise(addr, size, native);
}

int rp__posix_guard_madvise(void *addr, size_t size, bool install) {
    /* Under Valgrind, PROT_NONE guards (the fallback of a kernel without guard markers): memcheck
     * knows an mprotect and reports a touch of the guard; a guard marker it cannot see, and a
     * plain mlock (rp__os_lock_onfault there) fails on a range that holds markers. */
    if (rp__on_valgrind()) return EINVAL;
    if (madvise(addr, size, install ? MADV_GUARD_INSTALL : MADV_GUARD_REMOVE) == 0) return 0;
    return errno;
}

/* ---- secret memory ----------------------------------------------------------------------------- */

/* A memfd_secret descriptor (close-on-exec), or -1 with errno set; ENOSYS where the number of
 * the call is not known for this architecture (see RP__NR_MEMFD_SECRET). */
static int rp__memfd_secret(void) {
    /* Valgrind cannot read secret memory (the kernel keeps it out of every other mapping, its
     * own included): under Valgrind there is none, as on a kernel without it. */
    if (RP__NR_MEMFD_SECRET < 0 || rp__on_valgrind()) {
        errno = ENOSYS;
        return -1;
    }
    return (int)syscall(RP__NR_MEMFD_SECRET, (unsigned)O_CLOEXEC);
}

int rp__os_secret_alloc(size_t size, void **out) {
    RP_ASSERT(size > 0 && size % rp__os_page_size() == 0 && out != NULL);
    int fd = rp__memfd_secret();
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
}

bool rp__os_secret_available(void) {
    static int state; /* 0 unknown, 1 yes, 2 no */
    int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (s == 0) {
        int fd = rp__memfd_secret();
        if (fd >= 0) close(fd);
        /* Only the kernel's "no such call" (old kernel, secretmem disabled, seccomp) is kept;
         * a shortage of descriptors or memory says nothing about the next call. */
        else if (errno != ENOSYS && errno != EPERM) return false;
        s = fd >= 0 ? 1 : 2;
        __atomic_store_n(&state, s, __ATOMIC_RELAXED);
    }
    return s == 1;
}

/* ---- memory areas ------------------------------------------------------------------------------ */

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

/* Whether process pid (> 0) still has its memory: it exists, is not exiting (the kernel drops
 * a process's memory early in its exit, before it is a zombie) and is neither a zombie nor dead.
 * A process that exits while its smaps is read ends the file early, as if it were complete. */
static bool rp__proc_has_memory(int pid) {
    char path[64], buf[1024];
    rp__proc_path(path, sizeof path, pid, "stat");
    if (rp__read_small_file(path, buf, sizeof buf) < 0) return false;
    const char *end = strrchr(buf, ')'); /* the name may hold anything, ')' included */
    char state = 0;
    unsigned long flags = 0;
    /* state, ppid, pgrp, session, tty_nr, tpgid, flags */
    if (end == NULL || sscanf(end + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2) return false;
    const unsigned long pf_exiting = 0x4; /* PF_EXITING, include/linux/sched.h */
    return state != 'Z' && state != 'X' && state != 'x' && (flags & pf_exiting) == 0;
}

int rp__os_areas(int pid, rp__os_area_fn fn, void *ctx) {
    char path[64];
    rp__proc_path(path, sizeof path, pid, "smaps");
    FILE *f = fopen(path, "re");
    /* No /proc/PID means no such process: say that, not "no such file or directory". For this
     * process (pid 0) it means /proc is not mounted, and ENOENT says so. */
    if (f == NULL) return errno == ENOENT && pid > 0 ? ESRCH : errno;
    /* Lines of any length: a header line holds the mapped file's path, which may be long (a
     * fixed buffer read the rest of such a line as a header of its own). */
    char *line = NULL;
    size_t cap = 0;
    rp__os_area_t a;
    bool have = false, go_on = true;
    while (go_on && getline(&line, &cap, f) != -1) {
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
    int err = ferror(f) ? (errno != 0 ? errno : EIO) : 0;
    free(line);
    fclose(f);
    /* The end of the file is the end of the areas only if the process still has them (a file
     * with no area at all is a process without memory: a kernel thread, a zombie). */
    if (err == 0 && go_on && have && pid > 0 && !rp__proc_has_memory(pid)) err = ESRCH;
    if (err == 0 && go_on && have) fn(&a, ctx);
    return err;
}

/* PAGEMAP_SCAN (Linux 6.7) and its later PAGE_IS_GUARD category, with the kernel's layout, for
 * libc headers that predate them. */
typedef struct rp__pm_region {
    uint64_t start, end, categories;
} rp__pm_region_t;
typedef struct rp__pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
        category_anyof_mask, return_mask;
} rp__pm_scan_arg_t;
#define RP__PAGEMAP_SCAN _IOWR('f', 16, rp__pm_scan_arg_t)
#define RP__PAGE_IS_GUARD (UINT64_C(1) << 8)
#define RP__PM_GUARD_REGION (UINT64_C(1) << 58)
/* Areas larger than this are not read entry by entry (8 bytes per page) without PAGEMAP_SCAN. */
#define RP__GUARD_READ_MAX ((uint64_t)4 << 30)

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

int rp__os_guard_reader_open(int pid, rp__os_guard_reader_t *out) {
    char path[64];
    rp__proc_path(path, sizeof path, pid, "pagemap");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    *out = fd;
    return 0;
}

int rp__os_guard_count(rp__os_guard_reader_t reader, uintptr_t start, uintptr_t end, size_t *count) {
    *count = 0;
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
}

void rp__os_guard_reader_close(rp__os_guard_reader_t reader) {
    if (reader >= 0) close((int)reader);
}

/* ---- process facts ----------------------------------------------------------------------------- */

void rp__posix_core_facts(rp__os_core_info_t *out) {
    if (rp__read_small_file("/proc/sys/kernel/core_pattern", out->pattern, sizeof out->pattern) >= 0)
        out->pattern[strcspn(out->pattern, "\n")] = '\0';
    out->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) > 0;
}

void rp__os_process_name(char *buf, size_t size) {
    buf[0] = '\0';
    if (rp__read_small_file("/proc/self/comm", buf, size) >= 0) buf[strcspn(buf, "\n")] = '\0';
}

/* glibc and musl both have secure_getenv (AT_SECURE from the kernel: set-user-ID, set-group-ID,
 * file capabilities, or an LSM's transition). */
const char *rp__os_getenv_secure(const char *name) {
    return secure_getenv(name);
}

/* ---- mappings (the map layer) ------------------------------------------------------------------ */

int rp__posix_map_flags(size_t huge_size, bool fixed, int *flags) {
    if (huge_size != 0) {
        /* MAP_HUGETLB with the page size encoded as log2 in the MAP_HUGE_SHIFT bits. */
        if (huge_size & (huge_size - 1)) return EINVAL;
        int log2 = __builtin_ctzll((unsigned long long)huge_size);
        *flags |= MAP_HUGETLB | (log2 << MAP_HUGE_SHIFT);
    }
    if (fixed) *flags |= MAP_FIXED_NOREPLACE;
    return 0;
}

int rp__os_remap(void *addr, size_t old_size, size_t new_size, bool may_move, void *dest, void **out) {
    RP_ASSERT(rp__is_aligned((uintptr_t)addr, rp__os_page_size()) && out != NULL);
    void *p = dest != NULL ? mremap(addr, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest)
                           : mremap(addr, old_size, new_size, may_move ? MREMAP_MAYMOVE : 0);
    if (p == MAP_FAILED) return errno;
    *out = p;
    return 0;
}

bool rp__os_remap_available(void) { return true; }

/* ---- the pool layer ---------------------------------------------------------------------------- */

/* flags: 0, or GRND_NONBLOCK (1 in every architecture's uapi; not every libc has sys/random.h). */
static int rp__os_getrandom(void *buf, size_t len, unsigned flags) {
    RP_ASSERT(buf != NULL);
    unsigned char *p = buf;
    while (len > 0) {
        long n = syscall(SYS_getrandom, p, len, flags);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int rp__os_random(void *buf, size_t len) { return rp__os_getrandom(buf, len, 0); }

int rp__os_random_nowait(void *buf, size_t len) { return rp__os_getrandom(buf, len, 1u /* GRND_NONBLOCK */); }
