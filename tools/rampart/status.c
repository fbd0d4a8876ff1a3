/* SPDX-License-Identifier: MIT */
/* status.c — `rampart status [PID]`: the memory-lock state of a process (default: this one):
 * locked bytes as the kernel charges them (VmLck) and as resident (smaps Locked:), how many of
 * its regions are locked, its memlock limit (Linux: /proc/PID/limits), whether it has
 * CAP_IPC_LOCK, how much more it may lock, and whether locking all of it would succeed.
 * Exit status 0, 1 when the process cannot be read, 2 for bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rampart.h"

typedef struct rp_status_regions {
    size_t total, locked;
} rp_status_regions_t;

static bool rp_status_count(const rp_area_t *a, void *ctx) {
    rp_status_regions_t *r = ctx;
    r->total++;
    if (a->flags & RP_AREA_LOCKED) r->locked++;
    return true;
}

static const char *rp_status_bytes(size_t n, char *buf, size_t size) {
    if (n == SIZE_MAX) return "?";
    return rp_format_bytes(n, buf, size);
}

static void rp_status_usage(FILE *out) {
    fprintf(out, "usage: rampart status [PID]\n"
                 "  the memory-lock state of process PID (default: this one): locked bytes (VmLck, and\n"
                 "  resident: smaps Locked:), locked regions, the memlock limit, CAP_IPC_LOCK, and\n"
                 "  whether it can lock more. Resident figures and regions need permission to read\n"
                 "  /proc/PID/smaps (the same user, or root).\n");
}

int rp_cli_status(int argc, char **argv) {
    int pid = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            rp_status_usage(stdout);
            return 0;
        }
        char *end = NULL;
        long v = strtol(argv[i], &end, 10);
        if (pid != 0 || end == argv[i] || *end != '\0' || v <= 0 || v > INT32_MAX) {
            fprintf(stderr, "rampart status: '%s' is not a process id\n", argv[i]);
            rp_status_usage(stderr);
            return 2;
        }
        pid = (int)v;
    }
    rp_lockall_process_t p;
    if (rp_lockall_query(pid, &p) != RP_OK) {
        fprintf(stderr, "rampart status: %s\n", rp_last_error()->message);
        return 1;
    }
    rp_status_regions_t regions = {0, 0};
    bool have_regions = rp_areas_foreach(pid, rp_status_count, &regions) == RP_OK;

    char a[32], b[32], line[320];
    /* "locked" when most of it is: a few regions ([vvar], [vdso], device mappings) never are.
     * The regions need smaps access; without it (another user's process) the bytes decide. */
    bool mostly = have_regions ? regions.locked * 10 >= regions.total * 8
                               : p.mapped_bytes != SIZE_MAX && p.locked_bytes / 8 * 10 >= p.mapped_bytes / 8 * 8;
    const char *state = p.mapped_bytes == SIZE_MAX && p.locked_bytes == SIZE_MAX
                            ? "no user memory (a kernel thread or a zombie)"
                        : p.locked_bytes == SIZE_MAX ? "unknown"
                        : p.locked_bytes == 0      ? "not locked"
                        : mostly                   ? "locked"
                                                   : "partly locked";
    printf("process %d (%s): %s\n", p.pid, p.name[0] ? p.name : "?", state);
    printf("  %-26s %s\n", "locked (VmLck)", rp_status_bytes(p.locked_bytes, a, sizeof a));
    printf("  %-26s %s\n", "locked and resident", p.resident_locked_bytes == SIZE_MAX
                                                       ? "? (smaps_rollup not readable)"
                                                       : rp_format_bytes(p.resident_locked_bytes, a, sizeof a));
    printf("  %-26s %s mapped (VmSize), %s resident (VmRSS)\n", "memory", rp_status_bytes(p.mapped_bytes, a, sizeof a),
           rp_status_bytes(p.resident_bytes, b, sizeof b));
    if (have_regions) printf("  %-26s %zu of %zu\n", "regions locked", regions.locked, regions.total);
    else printf("  %-26s ? (%s)\n", "regions locked", rp_last_error()->message);
    printf("  %-26s soft %s, hard %s\n", "memlock limit", rp_format_bytes(p.memlock_soft, a, sizeof a),
           rp_format_bytes(p.memlock_hard, b, sizeof b));
    printf("  %-26s %s\n", "CAP_IPC_LOCK", p.cap_ipc_lock == 1 ? "yes" : p.cap_ipc_lock == 0 ? "no" : "unknown");
    if (p.lockable_bytes == SIZE_MAX)
        snprintf(line, sizeof line, "yes, without limit (%s)",
                 p.cap_ipc_lock == 1 ? "CAP_IPC_LOCK" : p.memlock_soft == SIZE_MAX ? "unlimited memlock limit" : "raised on demand");
    else if (p.can_lock_more)
        snprintf(line, sizeof line, "yes, %s more within the soft limit", rp_format_bytes(p.lockable_bytes, a, sizeof a));
    else
        snprintf(line, sizeof line, "no: %s", p.memlock_soft == 0 ? "memlock limit 0 and no CAP_IPC_LOCK"
                                                                  : "the memlock limit is used up");
    printf("  %-26s %s\n", "can lock more", line);

    /* Would a lock-all of this process (as it is now, current + future) fit? */
    rp_lockall_config_t cfg = rp_lockall_config_default();
    rp_lockall_preflight_t pf;
    rp_lockall_preflight(pid, &cfg, 0, &pf);
    printf("  %-26s %s\n", "lock-all (current+future)", pf.reason);
    if (pf.verdict != RP_OK && pf.remedy != NULL) printf("  %-26s fix: %s\n", "", pf.remedy);
    return 0;
}
