/* SPDX-License-Identifier: MIT */
/* os/inject_linux.c — make another process call a system call itself (issue 15): ptrace attach,
 * stop every thread, write the system call instruction at one thread's PC, run it, restore the
 * bytes and registers exactly, detach. x86-64 is tested; aarch64 is written and cross-compiled
 * only. Used by lockall/remote.c to inject mlockall / munlockall into a running program.
 *
 * Why every thread is stopped: the instruction is written over the code at the chosen thread's
 * PC, which other threads may be executing too (a shared libc wrapper); stopped, they cannot.
 *
 * Interrupted system calls: PTRACE_INTERRUPT wakes a thread blocked in read() or nanosleep() with
 * -ERESTART* in its return register. On x86-64 the kernel turns that into a restart only after the
 * ptrace stop, from the registers it then holds, and our injected call replaces that state; so we
 * do the kernel's work ourselves in the registers we restore: PC back over the 2-byte `syscall`,
 * rax = orig_rax (or restart_syscall for -ERESTART_RESTARTBLOCK, which resumes nanosleep with its
 * remaining time). The target never sees EINTR. On aarch64 the kernel rewinds PC and x0 before
 * the stop, so restoring the registers exactly restarts the call (a nanosleep restarts with its
 * whole interval there, as x8 still names it: longer, never EINTR). */
#define _GNU_SOURCE
#include "os/os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <elf.h>   /* NT_PRSTATUS */

/* Kernel-internal return values of an interrupted system call (include/linux/errno.h). */
#define RP__ERESTARTSYS 512
#define RP__ERESTARTNOINTR 513
#define RP__ERESTARTNOHAND 514
#define RP__ERESTART_RESTARTBLOCK 516

#if defined(__x86_64__)
typedef struct user_regs_struct rp__regs_t;
static const unsigned char rp__sys_insn[] = {0x0f, 0x05}; /* syscall */
#define RP__PC(r) ((r).rip)
#elif defined(__aarch64__)
typedef struct user_regs_struct rp__regs_t; /* regs[31], sp, pc, pstate */
static const unsigned char rp__sys_insn[] = {0x01, 0x00, 0x00, 0xd4}; /* svc #0 */
#define RP__PC(r) ((r).pc)
#endif

#if defined(__x86_64__) || defined(__aarch64__)

static int rp__get_regs(pid_t tid, rp__regs_t *r) {
    struct iovec io = {.iov_base = r, .iov_len = sizeof *r};
    return ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &io) == 0 ? 0 : errno;
}
static int rp__set_regs(pid_t tid, const rp__regs_t *r) {
    struct iovec io = {.iov_base = (void *)r, .iov_len = sizeof *r};
    return ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &io) == 0 ? 0 : errno;
}

/* One attached thread: the signal its first stop held (to deliver again on detach), 0 none. */
typedef struct rp__tracee {
    pid_t tid;
    int signal;
} rp__tracee_t;

typedef struct rp__tracees {
    rp__tracee_t *t;
    size_t n, cap;
} rp__tracees_t;

static bool rp__tracees_has(const rp__tracees_t *ts, pid_t tid) {
    for (size_t i = 0; i < ts->n; i++)
        if (ts->t[i].tid == tid) return true;
    return false;
}

/* Wait for tid's next stop. Returns 0 with *status, or the errno (ESRCH: it exited). */
static int rp__wait_stop(pid_t tid, int *status) {
    for (;;) {
        pid_t r = waitpid(tid, status, __WALL);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (WIFEXITED(*status) || WIFSIGNALED(*status)) return ESRCH;
        if (WIFSTOPPED(*status)) return 0;
    }
}

/* Seize and stop tid. A signal-delivery stop (a signal was pending) is kept to deliver again. */
static int rp__attach_one(rp__tracees_t *ts, pid_t tid) {
    if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) != 0) return errno;
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        rp__tracee_t *t = realloc(ts->t, cap * sizeof *t);
        if (t == NULL) {
            ptrace(PTRACE_DETACH, tid, NULL, NULL);
            return ENOMEM;
        }
        ts->t = t;
        ts->cap = cap;
    }
    ts->t[ts->n].tid = tid;
    ts->t[ts->n].signal = 0;
    ts->n++;
    if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0) return errno;
    int st;
    int err = rp__wait_stop(tid, &st);
    if (err != 0) {
        ts->n--; /* gone: nothing to detach */
        return err == ESRCH ? 0 : err;
    }
    if ((st >> 16) != PTRACE_EVENT_STOP) ts->t[ts->n - 1].signal = WSTOPSIG(st);
    return 0;
}

/* Attach every thread of pid, rescanning /proc/PID/task until no new one appears (a thread not yet
 * stopped may have started another). */
static int rp__attach_all(pid_t pid, rp__tracees_t *ts) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    for (;;) {
        DIR *d = opendir(path);
        if (d == NULL) return errno == ENOENT ? ESRCH : errno;
        bool added = false;
        int err = 0;
        struct dirent *e;
        while (err == 0 && (e = readdir(d)) != NULL) {
            char *end;
            long tid = strtol(e->d_name, &end, 10);
            if (end == e->d_name || *end != '\0' || tid <= 0 || rp__tracees_has(ts, (pid_t)tid)) continue;
            err = rp__attach_one(ts, (pid_t)tid);
            if (err == ESRCH && tid != pid) err = 0; /* a thread that just ended */
            added = true;
        }
        closedir(d);
        if (err != 0) return err;
        if (!added) return ts->n > 0 ? 0 : ESRCH;
    }
}

static void rp__detach_all(rp__tracees_t *ts, pid_t skip) {
    for (size_t i = 0; i < ts->n; i++)
        if (ts->t[i].tid != skip) ptrace(PTRACE_DETACH, ts->t[i].tid, NULL, (void *)(long)ts->t[i].signal);
}

static int rp__mem_rw(int fd, void *buf, size_t len, uintptr_t addr, bool write) {
    ssize_t n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
    if (n == (ssize_t)len) return 0;
    return n < 0 ? errno : EIO;
}

/* The registers that make the thread call nr(args) at pc. */
static void rp__set_call(rp__regs_t *r, uintptr_t pc, long nr, const unsigned long a[6]) {
#if defined(__x86_64__)
    r->rip = pc;
    r->rax = (unsigned long)nr;
    r->orig_rax = (unsigned long)-1; /* not in a system call: the kernel must not restart anything */
    r->rdi = a[0]; r->rsi = a[1]; r->rdx = a[2]; r->r10 = a[3]; r->r8 = a[4]; r->r9 = a[5];
#else
    r->pc = pc;
    r->regs[8] = (unsigned long)nr;
    for (int i = 0; i < 6; i++) r->regs[i] = a[i];
#endif
}

static long rp__return_value(const rp__regs_t *r) {
#if defined(__x86_64__)
    return (long)r->rax;
#else
    return (long)r->regs[0];
#endif
}

/* The registers to restore: on x86-64 an interrupted system call is rewound to restart (see the
 * top of the file). Returns whether it was. */
static bool rp__restart_fixup(rp__regs_t *r) {
#if defined(__x86_64__)
    if ((long)r->orig_rax < 0) return false;
    switch ((long)r->rax) {
    case -RP__ERESTARTSYS: case -RP__ERESTARTNOINTR: case -RP__ERESTARTNOHAND:
        r->rax = r->orig_rax;
        r->rip -= sizeof rp__sys_insn;
        return true;
    case -RP__ERESTART_RESTARTBLOCK:
        r->rax = SYS_restart_syscall;
        r->rip -= sizeof rp__sys_insn;
        return true;
    default:
        return false;
    }
#else
    (void)r; /* the kernel rewound it before the stop */
    return false;
#endif
}

/* Resume tid until its next syscall stop (entry or exit); a signal arriving meanwhile is kept in
 * *pending to deliver on detach. */
static int rp__to_syscall_stop(pid_t tid, int *pending) {
    for (;;) {
        if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) != 0) return errno;
        int st;
        int err = rp__wait_stop(tid, &st);
        if (err != 0) return err;
        if (WSTOPSIG(st) == (SIGTRAP | 0x80)) return 0;
        if ((st >> 16) == 0 && *pending == 0) *pending = WSTOPSIG(st);
    }
}

/* Make the stopped, attached thread tid of process pid call nr(args), then restore its code and
 * registers (an interrupted system call set to restart). *signal collects a signal that arrived
 * meanwhile. Returns 0 or the errno, with the failed step in info->step; *changed tells whether
 * the thread now sits at a syscall stop (where a signal given to PTRACE_DETACH may be lost). */
static int rp__inject_stopped(pid_t pid, pid_t tid, long nr, const unsigned long args[6], long *result,
                              rp__os_inject_info_t *info, int *signal, bool *changed) {
    char path[64];
    int err, memfd = -1;
    rp__regs_t saved, call, after;
    unsigned char code[sizeof rp__sys_insn], insn[sizeof rp__sys_insn];
    bool code_written = false;
    uintptr_t pc = 0;
    *changed = false;

    info->step = "read registers";
    if ((err = rp__get_regs(tid, &saved)) != 0) goto out;
#if defined(__x86_64__)
    if (saved.cs != 0x33) { /* a 32-bit (i386 or x32 compat) thread: different numbers and insn */
        info->step = "check the architecture";
        err = rp__os_err_unsupported();
        goto out;
    }
#endif
    info->step = "open memory";
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    if ((memfd = open(path, O_RDWR | O_CLOEXEC)) < 0) { err = errno; goto out; }
    pc = (uintptr_t)RP__PC(saved);
    info->step = "read code";
    if ((err = rp__mem_rw(memfd, code, sizeof code, pc, false)) != 0) goto out;
    info->step = "write code";
    memcpy(insn, rp__sys_insn, sizeof insn);
    if ((err = rp__mem_rw(memfd, insn, sizeof insn, pc, true)) != 0) goto out;
    code_written = true;
    call = saved;
    rp__set_call(&call, pc, nr, args);
    info->step = "set registers";
    if ((err = rp__set_regs(tid, &call)) != 0) goto out;
    *changed = true;
    info->step = "run";
    /* Entry stop, then exit stop, of our call. */
    if ((err = rp__to_syscall_stop(tid, signal)) != 0) goto out;
    if ((err = rp__to_syscall_stop(tid, signal)) != 0) goto out;
    if ((err = rp__get_regs(tid, &after)) != 0) goto out;
    *result = rp__return_value(&after);
    info->step = "";
out:
    if (err != ESRCH) {
        /* Restore what was changed, even after a failed step: the program must run on as before. */
        int e2 = 0;
        if (code_written && (e2 = rp__mem_rw(memfd, code, sizeof code, pc, true)) != 0 && err == 0) {
            err = e2;
            info->step = "restore code";
        }
        if (*changed) {
            rp__regs_t back = saved;
            info->restarted += rp__restart_fixup(&back);
            if ((e2 = rp__set_regs(tid, &back)) != 0 && err == 0) {
                err = e2;
                info->step = "restore registers";
            }
        }
        /* Registers never changed: the kernel restarts an interrupted call itself on resume. */
    }
    if (memfd >= 0) close(memfd);
    return err;
}

int rp__os_inject_syscall(int pid, long nr, const unsigned long args[6], long *result, rp__os_inject_info_t *info) {
    rp__os_inject_info_t dummy;
    if (info == NULL) info = &dummy;
    info->step = "attach";
    info->threads = 0;
    info->restarted = 0;
    rp__tracees_t ts = {NULL, 0, 0};
    bool changed = false;
    pid_t tid = pid;
    size_t self = 0;
    int err = rp__attach_all(pid, &ts);
    info->threads = (int)ts.n;
    if (err == 0) {
        /* The main thread if it is still there, else the first one attached. */
        if (!rp__tracees_has(&ts, pid)) tid = ts.t[0].tid;
        while (ts.t[self].tid != tid) self++;
        err = rp__inject_stopped(pid, tid, nr, args, result, info, &ts.t[self].signal, &changed);
    }
    /* The injecting thread sits at a syscall stop, where a signal given to PTRACE_DETACH may be
     * lost: send it again instead. */
    int own_signal = 0;
    if (changed) {
        own_signal = ts.t[self].signal;
        ptrace(PTRACE_DETACH, tid, NULL, NULL);
    }
    rp__detach_all(&ts, changed ? tid : 0);
    if (own_signal != 0) syscall(SYS_tgkill, pid, tid, own_signal);
    free(ts.t);
    return err;
}

/* ---- a program started traced: the call injected at its exec stop ------------------------------- */

/* Inject into tracee pid (stopped at a signal-delivery stop, or at the exit stop of execve) and
 * report the result through on_call. */
static void rp__traced_inject(pid_t pid, long nr, const unsigned long args[6], rp__os_traced_fn on_call, void *ctx,
                              int *signal) {
    rp__os_inject_info_t info = {"", 1, 0};
    long result = 0;
    bool changed;
    int err = rp__inject_stopped(pid, pid, nr, args, &result, &info, signal, &changed);
    if (!on_call(ctx, (int)pid, err, err == 0 ? result : 0, info.step) && err != ESRCH) kill(pid, SIGKILL);
}

static bool rp__is_process(pid_t pid) {
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) return false;
    long tgid = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Tgid: %ld", &tgid) == 1) break;
    fclose(f);
    return tgid == (long)pid;
}

int rp__os_run_traced(char *const argv[], bool follow, long nr, const unsigned long args[6], rp__os_traced_fn on_call,
                      void *ctx, int *exec_error, int *wait_status) {
    *exec_error = 0;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return errno;
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return e;
    }
    if (child == 0) {
        /* Stop until the parent has set the options, then exec as execvp does (a file without #!
         * runs in /bin/sh). A failure goes back through the close-on-exec pipe. */
        close(pipefd[0]);
        int e = 0;
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0 || raise(SIGSTOP) != 0) e = errno;
        else {
            execvp(argv[0], argv);
            e = errno;
        }
        if (write(pipefd[1], &e, sizeof e) != (ssize_t)sizeof e) _exit(126);
        _exit(e == ENOENT ? 127 : 126);
    }
    close(pipefd[1]);
    int st, err = 0;
    *wait_status = 0;
    if (waitpid(child, &st, __WALL) < 0 || !WIFSTOPPED(st)) {
        err = errno ? errno : ECHILD;
        close(pipefd[0]);
        waitpid(child, wait_status, 0);
        return err;
    }
    long options = PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD;
    if (follow) options |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;
    if (ptrace(PTRACE_SETOPTIONS, child, NULL, (void *)options) != 0 || ptrace(PTRACE_CONT, child, NULL, NULL) != 0) {
        err = errno;
        kill(child, SIGKILL);
        close(pipefd[0]);
        waitpid(child, wait_status, 0);
        return err;
    }
    /* Tracees seen (to tell a new process's first stop from a later one); CMD's first stop, its
     * own raise(SIGSTOP), is behind us. */
    rp__tracees_t seen = {malloc(16 * sizeof(rp__tracee_t)), 0, 16};
    if (seen.t == NULL) seen.cap = 0;
    else seen.t[seen.n++].tid = child;
    for (;;) {
        pid_t pid = waitpid(-1, &st, __WALL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break; /* ECHILD: nothing left to follow */
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (pid == child) {
                *wait_status = st;
                if (!follow) break;
            }
            continue;
        }
        if (!WIFSTOPPED(st)) continue;
        int sig = WSTOPSIG(st), event = st >> 16;
        if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
            /* Inside execve: run to its exit stop, where the new image's registers are final. */
            int pending = 0;
            if (rp__to_syscall_stop(pid, &pending) == 0) rp__traced_inject(pid, nr, args, on_call, ctx, &pending);
            if (!follow && pid == child) {
                ptrace(PTRACE_DETACH, pid, NULL, NULL);
                if (pending) kill(pid, pending);
                int w;
                while (waitpid(child, &w, 0) < 0 && errno == EINTR) {}
                *wait_status = w;
                break;
            }
            ptrace(PTRACE_CONT, pid, NULL, (void *)(long)pending);
            continue;
        }
        if (sig == SIGTRAP && event != 0) { /* fork, vfork, clone events: the new tracee stops by itself */
            ptrace(PTRACE_CONT, pid, NULL, NULL);
            continue;
        }
        if (!rp__tracees_has(&seen, pid)) {
            /* A new tracee's first stop (SIGSTOP). A new process (a fork child: locks are not
             * inherited) gets the call too; a thread shares its process's memory and needs none. */
            if (seen.n == seen.cap) {
                size_t cap = seen.cap ? seen.cap * 2 : 16;
                rp__tracee_t *t = realloc(seen.t, cap * sizeof *t);
                if (t != NULL) {
                    seen.t = t;
                    seen.cap = cap;
                }
            }
            if (seen.n < seen.cap) seen.t[seen.n++].tid = pid;
            if (sig == SIGSTOP) {
                int pending = 0;
                if (rp__is_process(pid)) rp__traced_inject(pid, nr, args, on_call, ctx, &pending);
                ptrace(PTRACE_CONT, pid, NULL, (void *)(long)pending);
                continue;
            }
        }
        /* Any other signal: deliver it. (A group stop of a process traced without PTRACE_SEIZE
         * looks the same and is resumed: --follow does not keep job-control stops.) */
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)(sig == (SIGTRAP | 0x80) ? 0 : sig));
    }
    free(seen.t);
    int e = 0;
    if (read(pipefd[0], &e, sizeof e) == (ssize_t)sizeof e) *exec_error = e;
    close(pipefd[0]);
    /* As a shell reports it: the exit code, or 128 + the signal. */
    int w = *wait_status;
    *wait_status = WIFEXITED(w) ? WEXITSTATUS(w) : WIFSIGNALED(w) ? 128 + WTERMSIG(w) : 1;
    return 0;
}

long rp__os_inject_nr_mlockall(void) { return SYS_mlockall; }
long rp__os_inject_nr_munlockall(void) { return SYS_munlockall; }

#else /* Linux on another architecture */

int rp__os_run_traced(char *const argv[], bool follow, long nr, const unsigned long args[6], rp__os_traced_fn on_call,
                      void *ctx, int *exec_error, int *wait_status) {
    (void)argv; (void)follow; (void)nr; (void)args; (void)on_call; (void)ctx; (void)wait_status;
    *exec_error = 0;
    return rp__os_err_unsupported();
}

int rp__os_inject_syscall(int pid, long nr, const unsigned long args[6], long *result, rp__os_inject_info_t *info) {
    (void)pid; (void)nr; (void)args; (void)result;
    if (info != NULL) {
        info->step = "check the architecture";
        info->threads = info->restarted = 0;
    }
    return rp__os_err_unsupported();
}
long rp__os_inject_nr_mlockall(void) { return -1; }
long rp__os_inject_nr_munlockall(void) { return -1; }

#endif

int rp__os_set_lock_limit(int pid, size_t soft, size_t hard) {
    struct rlimit rl = {soft == SIZE_MAX ? RLIM_INFINITY : (rlim_t)soft, hard == SIZE_MAX ? RLIM_INFINITY : (rlim_t)hard};
    return prlimit((pid_t)pid, RLIMIT_MEMLOCK, &rl, NULL) == 0 ? 0 : errno;
}

int rp__os_trace_check(int pid, int *yama_scope, int *tracer, bool *other_user) {
    *yama_scope = -1;
    *tracer = 0;
    *other_user = false;
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    if (f != NULL) {
        if (fscanf(f, "%d", yama_scope) != 1) *yama_scope = -1;
        fclose(f);
    }
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if ((f = fopen(path, "re")) == NULL) return errno;
    unsigned long ruid, euid, suid, fsuid;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "TracerPid: %d", tracer) == 1) continue;
        if (sscanf(line, "Uid: %lu %lu %lu %lu", &ruid, &euid, &suid, &fsuid) == 4) {
            uid_t me = getuid();
            *other_user = ruid != me || euid != me || suid != me;
        }
    }
    fclose(f);
    return 0;
}
