/* SPDX-License-Identifier: MIT */
/* lockall/remote.c — lock (or unlock) the memory of another, running process (issue 15): predict
 * the outcome from the target's own limits and capabilities (the preflight), raise its memlock
 * limit with prlimit when asked and allowed, then make the target itself call mlockall through
 * the platform layer's ptrace injection (os/inject_linux.c). Every refusal names its cause and
 * the fix: Yama, CAP_SYS_PTRACE, another user, a tracer already attached, the target's limit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "rampart/lockall.h"

/* MCL_* of Linux's mlockall, the same on every architecture it runs on. */
#define RP__MCL_CURRENT 1u
#define RP__MCL_FUTURE 2u
#define RP__MCL_ONFAULT 4u

/* The fix for a refused ptrace; Yama is named only where the kernel has it. */
#define RP__REMOTE_PTRACE_FIX                                                                          \
    "run rampart as root or the target's user with CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep, systemd " \
    "AmbientCapabilities=CAP_SYS_PTRACE, docker run --cap-add SYS_PTRACE, Kubernetes securityContext."  \
    "capabilities.add: [SYS_PTRACE])"
static const char rp__remote_ptrace_fix[] = RP__REMOTE_PTRACE_FIX;
static const char rp__remote_ptrace_fix_yama[] =
    RP__REMOTE_PTRACE_FIX ", or lower Yama: sysctl kernel.yama.ptrace_scope=1 (0 for a non-child)";
static const char rp__remote_tracer_fix[] =
    "detach the debugger or strace that traces it (or let it finish), then run rampart again";
static const char rp__remote_yama3_fix[] =
    "start the program under `rampart run` (no ptrace of a running process until reboot with ptrace_scope 3)";

/* A failed injection as an error naming why ptrace was refused, from what /proc shows. */
static rp_status_t rp__remote_attach_failure(int pid, int err, const rp__os_inject_info_t *info, const char *what) {
    char os[96];
    rp__os_errstr(err, os, sizeof os);
    if (err == rp__os_err_unsupported())
        return rp__fail(RP_ERR_UNSUPPORTED, err, "%s in process %d: injecting a system call is not supported on this "
                        "platform or for this process's architecture (step: %s)", what, pid, info->step);
    if (err == ESRCH)
        return rp__fail(RP_ERR_INVALID, err, "%s in process %d: the process exited (or does not exist)", what, pid);
    int yama, tracer;
    bool other_user;
    rp__os_trace_check(pid, &yama, &tracer, &other_user);
    if (err == EPERM || err == EACCES) {
        rp_status_t s;
        const char *fix = yama >= 0 ? rp__remote_ptrace_fix_yama : rp__remote_ptrace_fix;
        rp__os_lock_info_t li;
        if (rp__os_lock_info(pid, &li) == 0 && li.vm_size == SIZE_MAX) {
            /* No memory lines in its status: nothing to lock or unlock, whatever ptrace says
             * (root with CAP_SYS_PTRACE was told it lacked CAP_SYS_PTRACE). */
            return rp__fail(RP_ERR_INVALID, err, "%s in process %d: it has no user memory (a kernel thread or a zombie)",
                            what, pid);
        }
        if (tracer != 0) fix = rp__remote_tracer_fix;
        else if (yama == 3) fix = rp__remote_yama3_fix;
        if (tracer != 0)
            s = rp__fail(RP_ERR_PERMISSION, err, "%s in process %d: it is already traced by process %d (a debugger or "
                         "strace): only one tracer at a time; detach that one first", what, pid, tracer);
        else if (yama == 3)
            s = rp__fail(RP_ERR_PERMISSION, err, "%s in process %d: ptrace refused: Yama ptrace_scope is 3 (no ptrace "
                         "at all, until reboot); start the program under `rampart run` instead", what, pid);
        else if (yama == 2)
            s = rp__fail(RP_ERR_PERMISSION, err, "%s in process %d: ptrace refused: Yama ptrace_scope is 2 (admin "
                         "only): CAP_SYS_PTRACE is needed", what, pid);
        else if (other_user)
            s = rp__fail(RP_ERR_PERMISSION, err, "%s in process %d: ptrace refused: the process belongs to another "
                         "user (or changed its ids): CAP_SYS_PTRACE is needed", what, pid);
        else if (yama == 1)
            s = rp__fail(RP_ERR_PERMISSION, err, "%s in process %d: ptrace refused: Yama ptrace_scope is 1 (only a "
                         "parent may trace its child): CAP_SYS_PTRACE is needed", what, pid);
        else
            s = rp__fail(RP_ERR_PERMISSION, err, "%s in process %d: ptrace refused (%s): CAP_SYS_PTRACE is needed (or "
                         "the process is not dumpable, or a seccomp/LSM policy forbids ptrace)", what, pid, os);
        rp__error_set_remedy(fix);
        return s;
    }
    return rp__fail_os(err, "%s in process %d: step '%s' failed", what, pid, info->step);
}

static rp_status_t rp__remote_done(rp_lockall_status_t *out, rp_lockall_status_t *st, const rp_lockall_options_t *opt,
                                   rp_status_t s) {
    if (s != RP_OK) rp__lockall_copy_error(st);
    rp__lockall_publish(out, st, opt);
    return opt->required ? s : RP_OK;
}

/* Raise pid's memlock limit so that needed bytes fit: unlimited when we may (CAP_SYS_RESOURCE),
 * else the soft limit up to the hard one. Returns 0 or the errno of the last attempt. */
static int rp__remote_raise(int pid, const rp_lockall_preflight_t *pf) {
    int err = rp__os_set_lock_limit(pid, SIZE_MAX, SIZE_MAX);
    if (err == 0) return 0;
    if (pf->memlock_hard != SIZE_MAX && pf->memlock_hard < pf->needed_bytes) return err;
    return rp__os_set_lock_limit(pid, pf->memlock_hard, pf->memlock_hard);
}

rp_status_t rp_lockall_remote(int pid, const rp_lockall_options_t *config, unsigned flags, rp_lockall_status_t *out) {
    /* a status the caller cannot receive stops everything before the target is touched */
    if (out != NULL && rp__sized_out_check(out, RP__LOCKALL_STATUS_V1, "rp_lockall_remote") != RP_OK) return RP_ERR_INVALID;
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    rp_lockall_options_t opt;
    st.resident_locked_bytes = st.resident_bytes = SIZE_MAX;
    st.memlock_soft = st.memlock_hard = SIZE_MAX;
    st.state = RP_LOCKALL_FAILED;
    if (rp__lockall_options(config, &opt, "rp_lockall_remote") != RP_OK) {
        opt.required = true;
        return rp__remote_done(out, &st, &opt, RP_ERR_INVALID);
    }
    if (pid <= 0 || pid == rp__os_getpid() || (flags & ~(unsigned)RP_LOCKALL_REMOTE_RAISE_LIMIT)) {
        opt.required = true;
        return rp__remote_done(out, &st, &opt, rp__fail(RP_ERR_INVALID, 0, "rp_lockall_remote: bad pid %d (another process's "
                                                  "id) or unknown flags %#x", pid, flags));
    }
    char a[32], b[32];
    /* Predict from the target's own limits and capabilities; an invalid config fails here. */
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    rp_status_t s = rp_lockall_preflight(pid, &opt, 0, &pf);
    if ((s == RP_ERR_LIMIT || s == RP_ERR_PERMISSION) && (flags & RP_LOCKALL_REMOTE_RAISE_LIMIT)) {
        int err = rp__remote_raise(pid, &pf);
        if (err != 0) {
            rp__fail(s, err, "process %d: %s; raising its limit (prlimit) failed: %s", pid, pf.reason,
                     err == EPERM ? "a hard limit or another user's needs CAP_SYS_RESOURCE" : "hard limit too small");
            rp__error_set_remedy(rp_remedy(s, RP_REMEDY_BRIEF));
            return rp__remote_done(out, &st, &opt, s);
        }
        s = rp_lockall_preflight(pid, &opt, 0, &pf);
    }
    st.memlock_soft = pf.memlock_soft;
    st.memlock_hard = pf.memlock_hard;
    st.unlimited = pf.unlimited;
    st.needed_bytes = pf.needed_bytes;
    if (s != RP_OK) {
        /* Nothing was touched: the target keeps running unstopped. */
        if (s == RP_ERR_LIMIT || s == RP_ERR_PERMISSION)
            rp__fail(s, 0, "process %d: %s (its own limit counts)%s", pid, pf.reason,
                     (flags & RP_LOCKALL_REMOTE_RAISE_LIMIT) ? "" : "; --raise-limit raises it where allowed");
        if (s == RP_ERR_LIMIT || s == RP_ERR_PERMISSION) rp__error_set_remedy(rp_remedy(s, RP_REMEDY_BRIEF));
        return rp__remote_done(out, &st, &opt, s);
    }

    unsigned long args[6] = {0};
    args[0] = (opt.current ? RP__MCL_CURRENT : 0u) | (opt.future ? RP__MCL_FUTURE : 0u) |
              (opt.onfault ? RP__MCL_ONFAULT : 0u);
    long result = 0;
    rp__os_inject_info_t info;
    int err = rp__os_inject_syscall(pid, rp__os_inject_nr_mlockall(), args, &result, &info);
    if (err != 0) return rp__remote_done(out, &st, &opt, rp__remote_attach_failure(pid, err, &info, "mlockall"));
    if (result < 0) {
        int e = (int)-result;
        s = rp__fail_lock(e, pf.needed_bytes, "mlockall");
        rp__error_append(" (in process %d: %s mapped, its soft limit %s)", pid,
                         rp_format_bytes(pf.needed_bytes, a, sizeof a), rp_format_bytes(pf.memlock_soft, b, sizeof b));
        return rp__remote_done(out, &st, &opt, s);
    }
    st.state = RP_LOCKALL_LOCKED;
    st.current_locked = opt.current;
    st.future_locked = opt.future;
    rp_lockall_locked_bytes(pid, &st.locked_bytes, &st.resident_locked_bytes);
    if (st.locked_bytes == SIZE_MAX) st.locked_bytes = 0;
    rp_lockall_process_t q = {RP_SIZED(rp_lockall_process_t)};
    if (rp_lockall_query(pid, &q) == RP_OK) st.resident_bytes = q.resident_bytes;
    st.headroom_bytes = pf.headroom_bytes;
    st.low_headroom = pf.low_headroom;
    if (st.low_headroom)
        snprintf(st.warning, sizeof st.warning, "future locking leaves %s of process %d's %s memlock limit for later "
                 "mappings; its allocations beyond it fail", rp_format_bytes(pf.headroom_bytes, a, sizeof a), pid,
                 rp_format_bytes(pf.memlock_soft, b, sizeof b));
    rp__lockall_publish(out, &st, &opt);
    return RP_OK;
}

rp_status_t rp_unlockall_remote(int pid) {
    if (pid <= 0 || pid == rp__os_getpid())
        return rp__fail(RP_ERR_INVALID, 0, "rp_unlockall_remote: bad pid %d (another process's id)", pid);
    unsigned long args[6] = {0};
    long result = 0;
    rp__os_inject_info_t info;
    int err = rp__os_inject_syscall(pid, rp__os_inject_nr_munlockall(), args, &result, &info);
    if (err != 0) return rp__remote_attach_failure(pid, err, &info, "munlockall");
    if (result < 0) return rp__fail_os((int)-result, "munlockall in process %d", pid);
    return RP_OK;
}

/* ---- a program started traced ----------------------------------------------------------------------- */

typedef struct rp__traced_ctx {
    rp_lockall_status_t *st;
    const rp_lockall_options_t *opt;
    unsigned locks;   /* successful calls */
    bool failed;
} rp__traced_ctx_t;

static bool rp__traced_result(void *ctx, int pid, int err, long result, const char *step) {
    rp__traced_ctx_t *c = ctx;
    if (err != 0) {
        rp__os_inject_info_t info = {step, 1, 0};
        rp__remote_attach_failure(pid, err, &info, "mlockall");
    } else if (result < 0) {
        /* The size named is the program's (stopped at its exec; its tracer may read it), not this
         * process's, which the message gave before: 2.4 MiB refused under an 8 MiB limit. */
        rp__os_lock_info_t li;
        size_t needed = rp__os_lock_info(pid, &li) == 0 ? li.vm_size : SIZE_MAX;
        rp__fail_lock((int)-result, needed == SIZE_MAX ? 0 : needed, needed == SIZE_MAX ? "mlockall (size unreadable)" : "mlockall");
        rp__error_append(" (in process %d, at its exec)", pid);
    } else {
        c->locks++;
        return true;
    }
    if (!c->failed) rp__lockall_copy_error(c->st);
    c->failed = true;
    return !c->opt->required;
}

rp_status_t rp_lockall_run_traced(char *const argv[], const rp_lockall_options_t *config, unsigned flags,
                                  rp_lockall_status_t *out, int *exit_status) {
    /* a status the caller cannot receive stops everything before the program starts */
    if (out != NULL && rp__sized_out_check(out, RP__LOCKALL_STATUS_V1, "rp_lockall_run_traced") != RP_OK) {
        if (exit_status) *exit_status = RP_LOCKALL_EXIT_FAILURE;
        return RP_ERR_INVALID;
    }
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    rp_lockall_options_t opt;
    st.resident_locked_bytes = st.resident_bytes = SIZE_MAX;
    st.memlock_soft = st.memlock_hard = SIZE_MAX;
    st.state = RP_LOCKALL_FAILED;
    if (exit_status) *exit_status = RP_LOCKALL_EXIT_FAILURE;
    if (rp__lockall_options(config, &opt, "rp_lockall_run_traced") != RP_OK) {
        opt.required = true;
        return rp__remote_done(out, &st, &opt, RP_ERR_INVALID);
    }
    if (argv == NULL || argv[0] == NULL || exit_status == NULL || (flags & ~(unsigned)RP_LOCKALL_RUN_FOLLOW)) {
        opt.required = true;
        return rp__remote_done(out, &st, &opt, rp__fail(RP_ERR_INVALID, 0, "rp_lockall_run_traced: no program, no exit_status "
                                                  "or unknown flags %#x", flags));
    }
    if (!opt.current && !opt.future) {
        opt.required = true;
        return rp__remote_done(out, &st, &opt, rp__fail(RP_ERR_INVALID, 0, "rp_lockall_run_traced: nothing to lock: neither "
                                                  "current nor future is set"));
    }
    unsigned long args[6] = {0};
    args[0] = (opt.current ? RP__MCL_CURRENT : 0u) | (opt.future ? RP__MCL_FUTURE : 0u) |
              (opt.onfault ? RP__MCL_ONFAULT : 0u);
    rp__traced_ctx_t ctx = {&st, &opt, 0, false};
    int exec_error = 0, wstatus = 0;
    int err = rp__os_run_traced(argv, (flags & RP_LOCKALL_RUN_FOLLOW) != 0, rp__os_inject_nr_mlockall(), args,
                                rp__traced_result, &ctx, &exec_error, &wstatus);
    if (err != 0) {
        opt.required = true;
        rp_status_t s = err == rp__os_err_unsupported()
                            ? rp__fail(RP_ERR_UNSUPPORTED, err, "running %s traced: not supported on this platform", argv[0])
                            : rp__fail_os(err, "running %s traced (fork, ptrace)", argv[0]);
        return rp__remote_done(out, &st, &opt, s);
    }
    if (exec_error != 0) {
        opt.required = true;
        *exit_status = exec_error == ENOENT ? 127 : 126;
        /* The path shortened so that the cause, which comes after it, fits the message. */
        size_t len = strlen(argv[0]);
        return rp__remote_done(out, &st, &opt,
                               rp__fail_os(exec_error, "cannot run %.120s%s", argv[0], len > 120 ? "..." : ""));
    }
    if (ctx.failed) {
        if (!opt.required) *exit_status = wstatus;
        rp__lockall_publish(out, &st, &opt);
        return opt.required ? st.error : RP_OK;
    }
    st.state = RP_LOCKALL_LOCKED;
    st.current_locked = opt.current;
    st.future_locked = opt.future;
    *exit_status = wstatus;
    rp__lockall_publish(out, &st, &opt);
    return RP_OK;
}
