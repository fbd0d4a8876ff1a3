/* SPDX-License-Identifier: MIT */
/* lockall/lockall.c — process-wide memory locking (seed 002, duende-mlock): rp_lockall with a
 * status a caller can inspect, rp_unlockall, and rp_lockall_is_locked. The kernel rules it
 * follows are in lockall/lockall_internal.h.
 */
#include <stdio.h>
#include <string.h>

#include "lockall/lockall_internal.h"

/* The RP__OS_LOCKALL_* flags a successful rp_lockall put in effect, and the process that did it:
 * fork children do not inherit locks (or future locking), so the record is only believed in the
 * process that wrote it. */
static unsigned rp__lockall_active;
static int rp__lockall_active_pid;

void rp__lockall_copy_error(rp_lockall_status_t *st) {
    const rp_error_t *e = rp_last_error();
    st->error = e->status;
    st->os_error = e->os_error;
    memcpy(st->message, e->message, sizeof st->message);
    st->remedy = e->remedy;
}

/* Turn a failed lock-all into a status and a message with the numbers that explain it. */
static rp_status_t rp__lockall_failure(int err, unsigned flags, const rp__os_lock_info_t *li) {
    char what[96], scope[40], a[32], b[32];
    rp__lockall_scope(flags, scope, sizeof scope);
    rp_status_t s;
    if (flags & RP__OS_LOCKALL_CURRENT) {
        snprintf(what, sizeof what, "lock-all (%s)", scope);
        s = rp__fail_lock(err, rp__known(li->vm_size), what);
    } else {
        snprintf(what, sizeof what, "lock-all (%s), first page", scope);
        s = rp__fail_lock(err, rp__os_page_size(), what);
    }
    if (s == RP_ERR_LIMIT && rp__lockall_unlimited(li)) {
        /* The limit does not apply to this process: the kernel ran out of memory to lock. */
        s = rp__fail(RP_ERR_NOMEM, err, "lock-all (%s) failed: out of memory: %s mapped (VmSize) cannot all be made resident; "
                     "no memlock limit applies to this process", scope, rp_format_bytes(rp__known(li->vm_size), a, sizeof a));
    } else if (s == RP_ERR_LIMIT) {
        rp__error_append("; the whole mapped size must fit: %s (VmSize), %s resident (VmRSS)",
                         rp_format_bytes(rp__known(li->vm_size), a, sizeof a),
                         rp_format_bytes(rp__known(li->vm_rss), b, sizeof b));
    } else if (s == RP_ERR_PERMISSION) {
        rp__error_append("; no CAP_IPC_LOCK");
    }
    return s;
}

/* ---- rp_lockall ---------------------------------------------------------------------------------- */

void rp__lockall_publish(rp_lockall_status_t *out, rp_lockall_status_t *st, const rp_lockall_options_t *asked) {
    st->asked.current = asked->current;
    st->asked.future = asked->future;
    st->asked.onfault = asked->onfault;
    st->asked.required = asked->required;
    if (out) rp__sized_out_write(out, st, sizeof *st);
}

static rp_status_t rp__lockall_done(rp_lockall_status_t *out, rp_lockall_status_t *st, const rp_lockall_options_t *opt,
                                    rp_status_t s) {
    rp__lockall_publish(out, st, opt);
    return s;
}

rp_status_t rp_lockall(const rp_lockall_options_t *config, rp_lockall_status_t *out) {
    /* a status the caller cannot receive stops everything before anything is locked */
    if (out != NULL && rp__sized_out_check(out, RP__LOCKALL_STATUS_V1, "rp_lockall") != RP_OK) return RP_ERR_INVALID;
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    rp_lockall_options_t opt;
    st.resident_locked_bytes = st.resident_bytes = SIZE_MAX;
    st.memlock_soft = st.memlock_hard = SIZE_MAX;
    st.state = RP_LOCKALL_FAILED;
    rp_status_t s = rp__lockall_options(config, &opt, "rp_lockall");
    if (s == RP_OK) s = rp__lockall_check(&opt, "rp_lockall");
    if (s != RP_OK) {
        rp__lockall_copy_error(&st);
        return rp__lockall_done(out, &st, &opt, s);
    }

    /* The figures before the call explain a failure; a failure to read them is no reason not to lock. */
    rp__os_lock_info_t li;
    rp__os_lock_info(0, &li);
    unsigned want = rp__lockall_flags(&opt), supported = rp__os_lockall_supported();
    st.memlock_soft = li.limit_soft;
    st.memlock_hard = li.limit_hard;
    st.unlimited = rp__lockall_unlimited(&li);
    st.resident_bytes = li.vm_rss;
    st.needed_bytes = opt.current ? rp__known(li.vm_size) : 0;

    bool partial = false;
    if (want & ~supported) {
        char missing[40], can[40];
        s = rp__fail(RP_ERR_UNSUPPORTED, rp__os_err_unsupported(),
                     "lock-all: %s locking is not supported on this platform (it can lock: %s)%s",
                     rp__lockall_scope(want & ~supported, missing, sizeof missing),
                     rp__lockall_scope(supported, can, sizeof can), opt.required ? "; nothing was locked" : "");
        rp__lockall_copy_error(&st);
        st.state = RP_LOCKALL_UNSUPPORTED;
        want &= supported;
        /* Required: all or nothing. Best effort: do the part the platform can, if any. */
        if (opt.required) return rp__lockall_done(out, &st, &opt, s);
        if (!(want & (RP__OS_LOCKALL_CURRENT | RP__OS_LOCKALL_FUTURE))) return rp__lockall_done(out, &st, &opt, RP_OK);
        partial = true;
    }

    size_t by_call = 0;
    int err = rp__os_lockall(want, &by_call);
    if (err != 0) {
        s = rp__lockall_failure(err, want, &li);
        rp__lockall_copy_error(&st);
        st.state = RP_LOCKALL_FAILED;
        return rp__lockall_done(out, &st, &opt, opt.required ? s : RP_OK);
    }
    __atomic_store_n(&rp__lockall_active_pid, rp__os_getpid(), __ATOMIC_RELAXED);
    __atomic_store_n(&rp__lockall_active, want, __ATOMIC_RELEASE);
    st.current_locked = (want & RP__OS_LOCKALL_CURRENT) != 0;
    st.future_locked = (want & RP__OS_LOCKALL_FUTURE) != 0;

    rp__os_lock_info_t after;
    rp__os_lock_info(0, &after);
    st.locked_bytes = after.vm_locked == SIZE_MAX || after.vm_locked < by_call ? by_call : after.vm_locked;
    rp__lockall_areas_t areas;
    st.resident_locked_bytes = rp__lockall_areas(0, &areas) == 0 ? areas.locked_rss : SIZE_MAX;
    rp__lockall_headroom(&after, st.locked_bytes, st.future_locked, &st.headroom_bytes, &st.low_headroom);
    if (st.low_headroom) {
        char a[32], b[32];
        snprintf(st.warning, sizeof st.warning,
                 "future locking leaves %s of the %s memlock limit for later mappings; allocations beyond it fail",
                 rp_format_bytes(st.headroom_bytes, a, sizeof a), rp_format_bytes(after.limit_soft, b, sizeof b));
    }
    if (!partial) st.state = RP_LOCKALL_LOCKED;
    return rp__lockall_done(out, &st, &opt, RP_OK);
}

rp_status_t rp_unlockall(void) {
    int err = rp__os_unlockall();
    if (err != 0) return rp__fail_os(err, "unlocking all memory");
    __atomic_store_n(&rp__lockall_active, 0u, __ATOMIC_RELEASE);
    return RP_OK;
}

bool rp_lockall_is_locked(void) {
    /* Where the kernel locks future mappings, it also marks every locked area: ask it. */
    rp__lockall_areas_t areas;
    if ((rp__os_lockall_supported() & RP__OS_LOCKALL_FUTURE) && rp__lockall_areas(0, &areas) == 0)
        return rp__lockall_verdict(&areas) == RP_LOCKALL_WHOLE;
    return __atomic_load_n(&rp__lockall_active, __ATOMIC_ACQUIRE) != 0 &&
           __atomic_load_n(&rp__lockall_active_pid, __ATOMIC_RELAXED) == rp__os_getpid();
}
