/* SPDX-License-Identifier: MIT */
/* lockall/preflight.c — rp_lockall_preflight: would locking succeed in a process, and if not,
 * why, answered from its limits, privilege and sizes without locking anything. */
#include <stdio.h>
#include <string.h>

#include "lockall/lockall_internal.h"

/* rp_lockall_preflight_t as first released (the end of its last field). */
#define RP__LOCKALL_PREFLIGHT_V1 RP__SIZE_V1(rp_lockall_preflight_t, remedy)

/* rp_lockall_preflight's work, into the library's own whole struct. */
/* Whether locking process pid's current memory would fault in more than the machine's RAM; the
 * two sizes then written (32 bytes each) into faulted and ram. False when either is unknown. */
static bool rp__lockall_beyond_ram(int pid, char *faulted, char *ram_text) {
    size_t ram = rp__os_ram_total();
    rp__lockall_areas_t t;
    if (ram == 0 || rp__lockall_areas(pid, &t) != 0 || t.faulted <= ram) return false;
    rp_format_bytes(t.faulted, faulted, 32);
    rp_format_bytes(ram, ram_text, 32);
    return true;
}

static rp_status_t rp__lockall_preflight(int pid, const rp_lockall_options_t *config, size_t bytes, rp_lockall_preflight_t *out) {
    memset(out, 0, sizeof *out);
    rp_lockall_options_t cfg;
    rp_status_t s = rp__lockall_options(config, &cfg, "rp_lockall_preflight");
    if (s == RP_OK && bytes == 0) s = rp__lockall_check(&cfg, "rp_lockall_preflight");
    rp__os_lock_info_t li;
    int err = 0;
    if (s == RP_OK && (err = rp__os_lock_info(pid, &li)) != 0)
        s = rp__fail_os(err, "reading the lock state of process %d", pid ? pid : rp__os_getpid());
    if (s != RP_OK) {
        out->verdict = s;
        memcpy(out->reason, rp_last_error()->message, sizeof out->reason);
        return s;
    }
    if (pid != 0 && li.vm_size == SIZE_MAX) {
        /* No memory lines in its status: nothing of it could be locked, so nothing "would succeed". */
        s = rp__fail(RP_ERR_INVALID, 0, "process %d has no user memory to lock (a kernel thread or a zombie)", pid);
        out->verdict = s;
        memcpy(out->reason, rp_last_error()->message, sizeof out->reason);
        return s;
    }
    char a[32], b[32], c[32], d[32], scope[40];
    size_t locked_now = rp__known(li.vm_locked), needed = 0, after = 0;
    bool unlimited = rp__lockall_unlimited(&li);
    out->locked_bytes = locked_now;
    out->mapped_bytes = li.vm_size;
    out->memlock_soft = li.limit_soft;
    out->memlock_hard = li.limit_hard;
    out->unlimited = unlimited;

    unsigned want = rp__lockall_flags(&cfg), supported = rp__os_lockall_supported();
    if (bytes > 0) {
        size_t ps = rp__os_page_size();
        needed = rp__align_up(bytes, ps);
        if (needed == 0) {
            s = rp__fail(RP_ERR_NOMEM, 0, "locking %zu bytes: the size overflows when rounded to pages", bytes);
        } else {
            size_t ram = rp__os_ram_total();
            if (rp__add_overflows(locked_now, needed, &after)) after = SIZE_MAX;
            if (ram != 0 && needed > ram)
                s = rp__fail(RP_ERR_NOMEM, 0, "locking %s would need more than this machine's memory (%s): locked "
                             "pages must all be resident", rp_format_bytes(needed, a, sizeof a),
                             rp_format_bytes(ram, b, sizeof b));
            else if (!unlimited && li.limit_soft == 0)
                s = rp__fail(RP_ERR_PERMISSION, 0, "locking %s would be refused: no CAP_IPC_LOCK and memlock limit 0",
                             rp_format_bytes(needed, a, sizeof a));
            else if (!unlimited && after > li.limit_soft)
                s = rp__fail(RP_ERR_LIMIT, 0,
                             "locking %s more would exceed the memlock limit: %s locked now, soft limit %s, hard %s",
                             rp_format_bytes(needed, a, sizeof a), rp_format_bytes(locked_now, b, sizeof b),
                             rp_format_bytes(li.limit_soft, c, sizeof c), rp_format_bytes(li.limit_hard, d, sizeof d));
        }
        want = 0; /* a range lock: no future locking, no headroom warning */
    } else {
        rp__lockall_scope(want, scope, sizeof scope);
        needed = cfg.current ? rp__known(li.vm_size) : 0;
        after = cfg.current ? (needed > locked_now ? needed : locked_now) : locked_now;
        if (want & ~supported)
            s = rp__fail(RP_ERR_UNSUPPORTED, rp__os_err_unsupported(), "lock-all (%s): %s locking is not supported on this platform",
                         scope, rp__lockall_scope(want & ~supported, a, sizeof a));
        else if (!unlimited && li.limit_soft == 0)
            s = rp__fail(RP_ERR_PERMISSION, 0, "lock-all (%s) would be refused: no CAP_IPC_LOCK and memlock limit 0", scope);
        else if (!unlimited && cfg.current && needed > li.limit_soft)
            s = rp__fail(RP_ERR_LIMIT, 0,
                         "lock-all (%s) would exceed the memlock limit: the process maps %s (VmSize), soft limit %s, hard %s%s",
                         scope, rp_format_bytes(needed, a, sizeof a), rp_format_bytes(li.limit_soft, b, sizeof b),
                         rp_format_bytes(li.limit_hard, c, sizeof c),
                         li.limit_hard >= needed ? " (the soft limit may be raised to the hard one: ulimit -l)" : "");
        else if (cfg.current && !cfg.onfault && rp__lockall_beyond_ram(pid, a, b))
            /* Locked pages must all be resident, and locking current memory faults it all in: more
             * than the machine has fails whatever the limit allows (64 GiB on a 23 GiB machine was
             * "would succeed"). On fault, only what the program touches. */
            s = rp__fail(RP_ERR_NOMEM, 0, "lock-all (%s) would fault in %s (writable and file-backed areas), more than "
                         "this machine's memory (%s): locked pages must all be resident", scope, a, b);
    }
    out->needed_bytes = needed;
    out->verdict = s;
    if (s != RP_OK) {
        if (s == RP_ERR_PERMISSION || s == RP_ERR_LIMIT) rp__error_set_remedy(rp_remedy(s, RP_REMEDY_BRIEF));
        out->remedy = rp_last_error()->remedy;
        memcpy(out->reason, rp_last_error()->message, sizeof out->reason);
        return s;
    }
    rp__lockall_headroom(&li, after, (want & RP__OS_LOCKALL_FUTURE) != 0, &out->headroom_bytes, &out->low_headroom);
    if (unlimited)
        snprintf(out->reason, sizeof out->reason, "would succeed: %s to lock; no memlock limit applies (%s)",
                 rp_format_bytes(needed, a, sizeof a),
                 li.cap_ipc_lock == 1 ? "CAP_IPC_LOCK" : li.limit_binding ? "unlimited soft limit" : "raised on demand");
    else
        snprintf(out->reason, sizeof out->reason, "would succeed: %s to lock, %s of the %s limit left after%s",
                 rp_format_bytes(needed, a, sizeof a), rp_format_bytes(out->headroom_bytes, b, sizeof b),
                 rp_format_bytes(li.limit_soft, c, sizeof c),
                 out->low_headroom ? "; warning: little headroom for the mappings future locking will charge" : "");
    return RP_OK;
}

rp_status_t rp_lockall_preflight(int pid, const rp_lockall_options_t *config, size_t bytes, rp_lockall_preflight_t *out) {
    if (out == NULL || pid < 0) return rp__fail(RP_ERR_INVALID, 0, "rp_lockall_preflight: bad pid %d or NULL out", pid);
    rp_status_t s = rp__sized_out_check(out, RP__LOCKALL_PREFLIGHT_V1, "rp_lockall_preflight");
    if (s != RP_OK) return s;
    rp_lockall_preflight_t full = {RP_SIZED(rp_lockall_preflight_t)};
    s = rp__lockall_preflight(pid, config, bytes, &full);
    rp__sized_out_write(out, &full, sizeof full);
    return s;
}
