/* SPDX-License-Identifier: MIT */
/* rampart/lockall.h — process-wide memory locking for daemons that must never be swapped out
 * (duende-mlock, seed 002): lock every page of the process now, every page it maps later, or
 * both, optionally as pages are first touched; a status the caller can inspect; errors that name
 * the cause (no privilege, a memlock limit too small, a platform that cannot) and the fix; a
 * preflight that answers "would this succeed here?" without locking anything; and the lock state
 * of any process.
 *
 *   rp_lockall_options_t cfg = rp_lockall_options_default();   // current + future, required
 *   rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
 *   if (rp_lockall(&cfg, &st) != RP_OK) {                      // required: an error names the cause
 *       fprintf(stderr, "%s\n%s\n", rp_last_error()->message, rp_last_error()->remedy);
 *       exit(1);
 *   }
 *   char line[RP_LOCKALL_LINE_MAX];
 *   puts(rp_lockall_status_format(&st, line, sizeof line));   // "locked: current+future, ..."
 *
 * Linux counts locked memory in three ways, and this header names which one each field holds:
 *   - VmLck (/proc/PID/status): what the kernel charges against RLIMIT_MEMLOCK, the whole size
 *     of every locked mapping as soon as it is locked (lock-on-fault included);
 *   - locked RAM: the resident bytes (smaps Rss) of the areas the kernel marks locked (VmFlags
 *     "lo"): the memory those areas really hold in RAM now;
 *   - smaps "Locked:", which is PROPORTIONAL like Pss: a page shared with N other processes
 *     counts 1/N, so for shared libraries it is far below the locked RAM (818 KiB against
 *     2940 KiB for `sleep` under `rampart run`). Reported only as locked_pss_bytes.
 *
 * "Locked as a whole" (RP_LOCKALL_WHOLE, rp_lockall_is_locked, `rampart status` exit 0) means:
 * every memory area of the process that the kernel can lock carries the locked flag, so every
 * byte mapped there is locked, resident now or when first touched (lock-on-fault). Areas the
 * kernel never locks do not count against it: [vvar], [vdso], [vsyscall], device mappings
 * (VM_IO, VM_PFNMAP, ...), and hugetlbfs mappings, whose pages are never swapped anyway.
 * A process with some locked memory (a pool of secrets, one mlock) is RP_LOCKALL_PARTLY.
 *
 * Locking all current memory needs the whole mapped size of the process (VmSize, not just what
 * is resident) within the memlock limit, unless the process has CAP_IPC_LOCK. Future locking
 * makes every later mapping count against the limit too: when the limit is reached, allocations
 * fail (malloc returns NULL, thread creation fails), which is why the status warns when little
 * headroom is left.
 *
 * Locks are not inherited across exec, nor by a fork child (the kernel clears the locks and future
 * locking in the copy: call rp_lockall again in a child that must stay locked). To lock an
 * unmodified program, preload librampart-lock.so (RAMPART_LOCK, see rp_lockall_options_parse) or
 * use `rampart run`: that library also re-locks the program's fork children.
 * Windows: current memory is locked (every committed private region, after raising the working
 * set); future and on-fault locking are unsupported there (RP_LOCKALL_UNSUPPORTED).
 *
 * Threads: rp_lockall and rp_unlockall change process-wide state; call them from one thread,
 * typically at start-up. The queries may run anywhere.
 */
#ifndef RAMPART_LOCKALL_H
#define RAMPART_LOCKALL_H

#include "rampart/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growing struct (rampart/common.h, "Growing structs"): set struct_size with
 * RP_SIZED(rp_lockall_options_t) or start from rp_lockall_options_default(). */
typedef struct rp_lockall_options {
    size_t struct_size; /* sizeof(rp_lockall_options_t) as the caller's headers define it */
    bool current;   /* lock every page mapped now (MCL_CURRENT) */
    bool future;    /* lock every page mapped from now on (MCL_FUTURE) */
    bool onfault;   /* lock pages when first touched instead of faulting them all in now
                       (MCL_ONFAULT); needs current or future */
    bool required;  /* true: a failure is an error; false (best effort): rp_lockall returns
                       RP_OK with state RP_LOCKALL_FAILED and the cause in the status */
} rp_lockall_options_t;

/* current + future, required (the seed's lock_all()), with struct_size set. Inline on purpose:
 * compiled into the caller, so struct_size is the caller's sizeof (never exported). */
static inline rp_lockall_options_t rp_lockall_options_default(void) {
    rp_lockall_options_t o = {RP_SIZED(rp_lockall_options_t), .current = true, .future = true,
                              .onfault = false, .required = true};
    return o;
}

/* Parse the RAMPART_LOCK grammar into *out:
 *     spec  := "" | word ("," word)*          (white space around words is ignored)
 *     word  := current | future | onfault | required | best-effort
 * NULL or "" gives the default (current,future,required). When neither current nor future is
 * named, both are meant ("onfault" = "current,future,onfault"). "required" is the default;
 * naming both required and best-effort, an unknown word or an empty word is RP_ERR_INVALID with
 * the offending word in rp_last_error(). out->struct_size must be set first (start from
 * rp_lockall_options_default()); the fields up to it are written, struct_size kept, and only on
 * success. RP_ERR_INVALID for a bad struct_size. */
RP_API rp_status_t rp_lockall_options_parse(const char *spec, rp_lockall_options_t *out);

typedef enum rp_lockall_state {
    RP_LOCKALL_LOCKED = 0,     /* everything asked for is locked */
    RP_LOCKALL_FAILED,         /* the OS refused (see error, os_error, message, remedy) */
    RP_LOCKALL_UNSUPPORTED     /* this platform cannot do (part of) what was asked; with best
                                  effort the supported part was still done (current_locked) */
} rp_lockall_state_t;

/* A warning is raised when future locking runs under a finite memlock limit that leaves less
 * than this much (or less than a quarter of the limit) for later mappings: two default 8 MiB
 * thread stacks. */
#define RP_LOCKALL_HEADROOM_MIN ((size_t)16 << 20)
/* The exit status of a program whose required lock failed under librampart-lock.so (or whose
 * RAMPART_LOCK is malformed): distinct from what programs commonly return, like env(1)'s 125. */
#define RP_LOCKALL_EXIT_FAILURE 125
/* Room for any line rp_lockall_status_format writes. */
#define RP_LOCKALL_LINE_MAX 512

/* The status, preflight and process structs below are growing out-structs (rampart/common.h,
 * "Growing structs"): the caller sets struct_size (`rp_lockall_status_t st =
 * {RP_SIZED(rp_lockall_status_t)};`) and the library writes only the fields it covers; a
 * struct_size of 0 or below the first version is RP_ERR_INVALID before anything is done. */
typedef struct rp_lockall_status {
    size_t struct_size;            /* set by the caller: sizeof(rp_lockall_status_t) as its headers define it */
    rp_lockall_state_t state;
    /* What was asked: the options' fields, copied (not an embedded rp_lockall_options_t, which
     * may grow and would move every field after it). */
    struct {
        bool current, future, onfault, required;
    } asked;
    bool current_locked;           /* current pages were locked by this call */
    bool future_locked;            /* future locking is in effect */
    size_t locked_bytes;           /* locked now (VmLck; bytes locked by the call on Windows) */
    size_t resident_locked_bytes;  /* locked RAM now: resident bytes of the locked areas (smaps Rss
                                      of areas with VmFlags lo; not the proportional Locked:);
                                      SIZE_MAX unknown */
    size_t needed_bytes;           /* what the lock charges: the mapped size (VmSize) with current */
    size_t resident_bytes;         /* resident size (VmRSS) at the call; SIZE_MAX unknown */
    size_t memlock_soft, memlock_hard;  /* the limit at the call; SIZE_MAX unlimited */
    bool unlimited;                /* CAP_IPC_LOCK (or an unlimited soft limit): no limit applies */
    /* FAILED / UNSUPPORTED: why. */
    rp_status_t error;             /* RP_ERR_PERMISSION, RP_ERR_LIMIT, RP_ERR_UNSUPPORTED, ... */
    int os_error;                  /* raw errno / GetLastError(), 0 if the OS was not asked */
    char message[256];             /* the same text as rp_last_error()->message */
    const char *remedy;            /* rp_remedy(error, RP_REMEDY_BRIEF), or NULL */
    /* LOCKED with future: little room left under the limit for later mappings. */
    bool low_headroom;
    size_t headroom_bytes;         /* soft limit minus VmLck; SIZE_MAX when unlimited */
    char warning[160];             /* "" unless low_headroom */
} rp_lockall_status_t;

/* Lock all memory of this process per *options (NULL: rp_lockall_options_default()). out may be
 * NULL. Returns RP_OK when locked, and with best effort also when the lock failed or is
 * unsupported (out->state says which). Errors: RP_ERR_INVALID for a bad struct_size or options that ask for
 * nothing (onfault alone, or neither current nor future), before any system call;
 * RP_ERR_PERMISSION (no CAP_IPC_LOCK and a memlock limit of 0); RP_ERR_LIMIT (the mapped size is
 * over RLIMIT_MEMLOCK: the message gives the soft and hard limits and the bytes needed);
 * RP_ERR_UNSUPPORTED (required, and the platform lacks a part: nothing is locked then). Every
 * failure carries the remedy in rp_last_error()->remedy and out->remedy. */
RP_API rp_status_t rp_lockall(const rp_lockall_options_t *options, rp_lockall_status_t *out);

/* Undo every memory lock of this process and stop future locking (munlockall). The OS has no
 * narrower call: locks taken by page allocators, maps and pools go too, so use it at shutdown
 * or before handing memory back, not while secrets are live elsewhere. */
RP_API rp_status_t rp_unlockall(void);

/* Whether this process is locked as a whole now, as far as the OS shows: every area the kernel
 * can lock carries the locked flag (RP_LOCKALL_WHOLE above; Linux: VmFlags lo in smaps). Some
 * locked memory is not enough: a pool of secrets or one mlock leaves it false. Where the OS
 * cannot lock future mappings and keeps no per-area lock flag for the whole process (Windows),
 * and where the areas cannot be read (no /proc), it is true while an rp_lockall of this library
 * is in effect in this process, false otherwise. One read of the memory areas per call. */
RP_API bool rp_lockall_is_locked(void);

/* Locked bytes of process pid (0: this process): *locked = VmLck (charged against the limit),
 * *resident_locked = locked RAM (resident bytes of the areas marked locked; reading it walks
 * every area, so pass NULL when it is not wanted). Either pointer may be NULL; a figure the OS
 * does not give is SIZE_MAX. */
RP_API rp_status_t rp_lockall_locked_bytes(int pid, size_t *locked, size_t *resident_locked);

/* One line describing st, into buf (always terminated; RP_LOCKALL_LINE_MAX is enough):
 *   "locked: current+future, 14.2 MiB locked (VmLck), 3.1 MiB resident locked"
 *   "not locked (best effort): resource limit exceeded: <message>"
 *   "unsupported: <message>"
 * plus "; warning: ..." when low_headroom. Reads st only as far as its struct_size reaches
 * ("(invalid status: ...)" for a bad one). Returns buf. */
RP_API const char *rp_lockall_status_format(const rp_lockall_status_t *st, char *buf, size_t size);

/* ---- preflight ---------------------------------------------------------------------------------- */

typedef struct rp_lockall_preflight {
    size_t struct_size;            /* set by the caller: sizeof(rp_lockall_preflight_t) */
    rp_status_t verdict;           /* RP_OK: would succeed; otherwise the error it would give */
    size_t needed_bytes;           /* what would be charged: bytes (rounded to pages), or VmSize */
    size_t locked_bytes;           /* VmLck now */
    size_t mapped_bytes;           /* VmSize now; SIZE_MAX unknown */
    size_t memlock_soft, memlock_hard;  /* SIZE_MAX unlimited */
    bool unlimited;                /* CAP_IPC_LOCK or an unlimited soft limit */
    size_t headroom_bytes;         /* soft limit minus what would be locked after; SIZE_MAX unlimited */
    bool low_headroom;             /* future locking would leave little headroom (see above) */
    char reason[256];              /* why it would fail, or what it would do */
    const char *remedy;            /* the brief remedy when it would fail for lack of privilege/limit */
} rp_lockall_preflight_t;

/* Would locking succeed in process pid (0: this process), and if not, why? Locks nothing.
 * bytes > 0: would locking that many more bytes (mlock) fit beside what is locked now?
 * bytes == 0: would rp_lockall(options) (NULL: the default) lock the whole process?
 * Returns the verdict (also in out->verdict and, when not RP_OK, rp_last_error()); out must not
 * be NULL. RP_ERR_INVALID for a bad options or pid, or a process without user memory (a kernel
 * thread, a zombie); another error when the process's state cannot be read. */
RP_API rp_status_t rp_lockall_preflight(int pid, const rp_lockall_options_t *options, size_t bytes,
                                        rp_lockall_preflight_t *out);

/* ---- the lock state of any process -------------------------------------------------------------- */

/* How much of a process is locked, from its memory areas (see "locked as a whole" above). */
typedef enum rp_lockall_verdict {
    RP_LOCKALL_UNKNOWN = 0,  /* cannot tell: the areas could not be read (another user's process,
                                no /proc) and VmLck alone does not settle it */
    RP_LOCKALL_WHOLE,        /* every lockable area is locked */
    RP_LOCKALL_PARTLY,       /* some areas are locked, some lockable ones are not */
    RP_LOCKALL_NONE          /* nothing is locked (VmLck 0, no area locked) */
} rp_lockall_verdict_t;

typedef struct rp_lockall_process {
    size_t struct_size;            /* set by the caller: sizeof(rp_lockall_process_t) */
    int pid;
    char name[64];                 /* the program's name; "" if unknown */
    size_t locked_bytes;           /* VmLck; SIZE_MAX unknown */
    size_t resident_locked_bytes;  /* locked RAM: resident bytes of the areas marked locked (smaps
                                      Rss where VmFlags has lo); SIZE_MAX unknown (the areas need
                                      the process's owner or root) */
    size_t mapped_bytes;           /* VmSize; SIZE_MAX unknown */
    size_t resident_bytes;         /* VmRSS; SIZE_MAX unknown */
    size_t memlock_soft, memlock_hard;  /* SIZE_MAX unlimited */
    int cap_ipc_lock;              /* 1 has CAP_IPC_LOCK, 0 has not, -1 unknown */
    bool can_lock_more;            /* CAP_IPC_LOCK, or locked < soft limit */
    size_t lockable_bytes;         /* how much more it may lock: SIZE_MAX unlimited */
    /* From the memory areas; SIZE_MAX when they could not be read. */
    rp_lockall_verdict_t verdict;  /* locked as a whole, partly, not at all, or cannot tell */
    size_t locked_area_bytes;      /* mapped bytes in areas marked locked */
    size_t unlocked_area_bytes;    /* mapped bytes in lockable areas not marked locked */
    size_t unlockable_bytes;       /* mapped bytes the kernel never locks ([vvar], [vdso], devices, hugetlb) */
    size_t unlocked_resident_bytes;  /* resident bytes of the lockable areas not locked */
    size_t locked_pss_bytes;       /* smaps Locked:, proportional (shared pages divided among the
                                      processes mapping them); smaller than resident_locked_bytes */
} rp_lockall_process_t;

/* Fill *out for process pid (0: this process). RP_ERR_OS / RP_ERR_PERMISSION when it cannot be
 * read (no such process, no access). */
RP_API rp_status_t rp_lockall_query(int pid, rp_lockall_process_t *out);

/* ---- another, running process (Linux; issue 15) ------------------------------------------------- */

/* rp_lockall_remote flag: when the target's memlock limit is too small, raise it first (prlimit:
 * to unlimited with CAP_SYS_RESOURCE, else its soft limit up to its hard one). */
#define RP_LOCKALL_REMOTE_RAISE_LIMIT 1u

/* Lock all memory of the running process pid per *options (NULL: the default), without restarting
 * it: the target itself calls mlockall, injected with ptrace (every thread stopped for the call,
 * registers and code restored exactly, a thread blocked in a system call resumes it, never seeing
 * EINTR). Memory locks belong to the address space: one call covers every thread. The outcome is
 * predicted first from the target's own limits and capabilities (rp_lockall_preflight(pid)); a
 * predicted failure leaves the target untouched. Needs ptrace rights over pid (same user and Yama
 * ptrace_scope 0, or CAP_SYS_PTRACE). Errors (out->message / rp_last_error() name cause and fix):
 * RP_ERR_PERMISSION (ptrace refused: Yama, another user, already traced; or the target has no
 * CAP_IPC_LOCK and a limit of 0), RP_ERR_LIMIT (the target's limit), RP_ERR_INVALID (bad pid,
 * the target exited), RP_ERR_UNSUPPORTED (not Linux x86-64/aarch64, or a 32-bit target).
 * Best effort (options->required false): RP_OK with out->state RP_LOCKALL_FAILED. */
RP_API rp_status_t rp_lockall_remote(int pid, const rp_lockall_options_t *options, unsigned flags,
                                     rp_lockall_status_t *out);
/* rp_lockall_run_traced flag: stay attached and lock every descendant too (see below). */
#define RP_LOCKALL_RUN_FOLLOW 2u

/* Run argv (found and started as execvp does) with its memory locked, for programs a preload
 * cannot reach (statically linked: Go, Vault, etcd): it starts traced (ptrace), and at its exec
 * stop, before the new image's first instruction, the program itself calls mlockall per *options;
 * then it is detached and waited for. With RP_LOCKALL_RUN_FOLLOW it stays traced and every exec
 * of every descendant, and every fork child, is locked the same way. Set-user-ID programs lose
 * their privileges under ptrace: check before. *exit_status: the program's exit status (128 + the
 * signal that killed it; 127 not found, 126 cannot run). A required lock that fails kills the
 * program: the error names the cause (RP_ERR_LIMIT, RP_ERR_PERMISSION, ...). Best effort: RP_OK
 * with out->state RP_LOCKALL_FAILED and the first failure. out may be NULL. Linux only. */
RP_API rp_status_t rp_lockall_run_traced(char *const argv[], const rp_lockall_options_t *options, unsigned flags,
                                         rp_lockall_status_t *out, int *exit_status);
/* munlockall in the running process pid, the same way: every lock of it goes (see rp_unlockall). */
RP_API rp_status_t rp_unlockall_remote(int pid);

#ifdef __cplusplus
}
#endif
#endif /* RAMPART_LOCKALL_H */
