/* SPDX-License-Identifier: MIT */
/* lockall/query.c — the lock state of any process: rp_lockall_query (the verdict from its
 * memory areas, with every figure) and rp_lockall_locked_bytes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lockall/lockall_internal.h"

/* rp_lockall_process_t as first released (the end of its last field). */
#define RP__LOCKALL_PROCESS_V1 RP__SIZE_V1(rp_lockall_process_t, locked_pss_bytes)

rp_status_t rp_lockall_locked_bytes(int pid, size_t *locked, size_t *resident_locked) {
    if (pid < 0) return rp__fail(RP_ERR_INVALID, 0, "rp_lockall_locked_bytes: bad pid %d", pid);
    rp__os_lock_info_t li;
    int err = rp__os_lock_info(pid, &li);
    if (err != 0) return rp__fail_os(err, "reading the locked memory of process %d", pid ? pid : rp__os_getpid());
    if (locked) *locked = li.vm_locked;
    if (resident_locked) {
        rp__lockall_areas_t areas;
        *resident_locked = rp__lockall_areas(pid, &areas) == 0 ? areas.locked_rss : SIZE_MAX;
    }
    return RP_OK;
}

/* rp_lockall_query's work, into the library's own whole struct. */
static rp_status_t rp__lockall_query(int pid, rp_lockall_process_t *out) {
    memset(out, 0, sizeof *out);
    rp__os_lock_info_t li;
    int err = rp__os_lock_info(pid, &li);
    if (err != 0) return rp__fail_os(err, "reading the lock state of process %d", pid ? pid : rp__os_getpid());
    out->pid = pid ? pid : rp__os_getpid();
    memcpy(out->name, li.name, sizeof out->name);
    out->locked_bytes = li.vm_locked;
    out->locked_pss_bytes = li.resident_locked;
    out->mapped_bytes = li.vm_size;
    out->resident_bytes = li.vm_rss;
    out->memlock_soft = li.limit_soft;
    out->memlock_hard = li.limit_hard;
    out->cap_ipc_lock = li.cap_ipc_lock;
    if (rp__lockall_unlimited(&li)) {
        out->lockable_bytes = SIZE_MAX;
    } else {
        size_t locked = rp__known(li.vm_locked);
        out->lockable_bytes = li.limit_soft > locked ? li.limit_soft - locked : 0;
    }
    out->can_lock_more = out->lockable_bytes > 0;

    rp__lockall_areas_t areas;
    int areas_err = rp__lockall_areas(pid, &areas);
    /* Gone between its status and the end of its areas (the OS layer checks it still has its
     * memory once they are read): no verdict from part of them. */
    if (areas_err == ESRCH && pid != 0)
        return rp__fail_os(areas_err, "process %d exited while its memory areas were read", pid);
    /* No area at all in a process with memory: the areas were hidden (a file bound over smaps). */
    bool have = areas_err == 0 &&
                (areas.locked + areas.unlocked + areas.unlockable != 0 || li.vm_size == SIZE_MAX || li.vm_size == 0);
    if (have) {
        out->verdict = li.vm_size == SIZE_MAX ? RP_LOCKALL_UNKNOWN : rp__lockall_verdict(&areas);
        out->resident_locked_bytes = areas.locked_rss;
        out->locked_area_bytes = areas.locked;
        out->unlocked_area_bytes = areas.unlocked;
        out->unlockable_bytes = areas.unlockable;
        out->unlocked_resident_bytes = areas.unlocked_rss;
    } else {
        /* Another user's process: its status is readable, its areas are not. VmLck 0 settles
         * "not locked"; any other figure could be all of it or a part. */
        out->verdict = li.vm_locked == 0 ? RP_LOCKALL_NONE : RP_LOCKALL_UNKNOWN;
        out->resident_locked_bytes = out->locked_area_bytes = out->unlocked_area_bytes = SIZE_MAX;
        out->unlockable_bytes = out->unlocked_resident_bytes = SIZE_MAX;
    }
    return RP_OK;
}

rp_status_t rp_lockall_query(int pid, rp_lockall_process_t *out) {
    if (out == NULL || pid < 0) return rp__fail(RP_ERR_INVALID, 0, "rp_lockall_query: bad pid %d or NULL out", pid);
    rp_status_t s = rp__sized_out_check(out, RP__LOCKALL_PROCESS_V1, "rp_lockall_query");
    if (s != RP_OK) return s;
    rp_lockall_process_t full = {RP_SIZED(rp_lockall_process_t)};
    s = rp__lockall_query(pid, &full);
    rp__sized_out_write(out, &full, sizeof full);
    return s;
}
