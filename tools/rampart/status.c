/* SPDX-License-Identifier: MIT */
/* status.c — `rampart status [--json] [PID]`: whether a process (default: this one) is locked in
 * RAM, as a verdict computed from bytes the kernel reports, and an exit status a health check can
 * use: 0 locked, 1 partly locked, 3 not locked, 4 cannot tell, 2 bad arguments (RP_CLI_* in cli.h).
 *
 * "Locked" means locked as a whole (rampart/lockall.h): every area the kernel can lock carries the
 * locked flag (smaps VmFlags lo), so no byte of it can be swapped out, now or when it is first
 * touched. The figures behind the verdict: bytes in locked areas and in lockable areas that are
 * not locked (mapped and resident), VmLck (what the memlock limit is charged), the locked RAM
 * (resident bytes of locked areas) and smaps Locked: (proportional: shared pages divided among
 * the processes that map them). Then the memlock limit, CAP_IPC_LOCK, how much more it may lock,
 * and whether a lock-all of it would succeed. The areas need the process's owner or root; without
 * them a process with VmLck 0 is still "not locked", any other "cannot tell".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rampart.h"

static const char *rp_status_bytes(size_t n, char *buf, size_t size) {
    if (n == SIZE_MAX) return "?";
    return rp_format_bytes(n, buf, size);
}

static void rp_status_usage(FILE *out) {
    fprintf(out, "usage: rampart status [--json] [PID]\n"
                 "  whether process PID (default: this one) is locked in RAM, from the bytes the kernel\n"
                 "  reports: locked means every area the kernel can lock is locked (smaps VmFlags lo), so\n"
                 "  none of it can be swapped out. Also: VmLck (charged against the memlock limit), the\n"
                 "  resident bytes of the locked areas, the proportional smaps Locked: figure, the memlock\n"
                 "  limit, CAP_IPC_LOCK, and whether it can lock more. The areas need permission to read\n"
                 "  /proc/PID/smaps (the same user, or root).\n"
                 "  --json   one JSON object instead (schema: docs/cli-json.md)\n"
                 "exit status, for health checks (systemd, Kubernetes exec probes):\n"
                 "  " RP_CLI_STATUS_CODES "; 2 bad arguments.\n");
}

static const char *rp_status_word(rp_lockall_verdict_t v) {
    switch (v) {
    case RP_LOCKALL_WHOLE: return "locked";
    case RP_LOCKALL_PARTLY: return "partly locked";
    case RP_LOCKALL_NONE: return "not locked";
    default: return "cannot tell";
    }
}

static int rp_status_exit(rp_lockall_verdict_t v) {
    switch (v) {
    case RP_LOCKALL_WHOLE: return RP_CLI_LOCKED;
    case RP_LOCKALL_PARTLY: return RP_CLI_PARTLY_LOCKED;
    case RP_LOCKALL_NONE: return RP_CLI_NOT_LOCKED;
    default: return RP_CLI_CANNOT_TELL;
    }
}

/* Why the verdict is "cannot tell", or NULL. */
static const char *rp_status_unknown_why(const rp_lockall_process_t *p) {
    if (p->verdict != RP_LOCKALL_UNKNOWN) return NULL;
    if (p->mapped_bytes == SIZE_MAX) return "it has no user memory (a kernel thread or a zombie)";
    return "its memory areas cannot be read (/proc/PID/smaps): run rampart as the process's owner or as root "
           "(root or CAP_SYS_PTRACE for a process that made itself non-dumpable, as ssh-agent and gpg-agent do)";
}

/* pid: the process asked about (0: this one), for the object of a process that cannot be read. */
static void rp_status_json(int pid, const rp_lockall_process_t *p, const rp_lockall_preflight_t *pf, const char *error) {
    bool first = true;
    rp_lockall_verdict_t v = p ? p->verdict : RP_LOCKALL_UNKNOWN;
    fputc('{', stdout);
    rp_json_key(stdout, &first, "pid");
    printf("%d", p ? p->pid : pid);
    rp_json_text(stdout, &first, "name", p && p->name[0] ? p->name : NULL);
    rp_json_text(stdout, &first, "verdict", rp_status_word(v));
    rp_json_key(stdout, &first, "exit_code");
    printf("%d", rp_status_exit(v));
    rp_json_text(stdout, &first, "reason", error ? error : p ? rp_status_unknown_why(p) : NULL);
    if (p != NULL) {
        rp_json_key(stdout, &first, "bytes");
        bool f = true;
        fputc('{', stdout);
        rp_json_bytes(stdout, &f, "locked_areas_mapped", p->locked_area_bytes);
        rp_json_bytes(stdout, &f, "locked_areas_resident", p->resident_locked_bytes);
        rp_json_bytes(stdout, &f, "unlocked_areas_mapped", p->unlocked_area_bytes);
        rp_json_bytes(stdout, &f, "unlocked_areas_resident", p->unlocked_resident_bytes);
        rp_json_bytes(stdout, &f, "unlockable_mapped", p->unlockable_bytes);
        rp_json_bytes(stdout, &f, "vmlck", p->locked_bytes);
        rp_json_bytes(stdout, &f, "locked_proportional", p->locked_pss_bytes);
        rp_json_bytes(stdout, &f, "mapped", p->mapped_bytes);
        rp_json_bytes(stdout, &f, "resident", p->resident_bytes);
        fputc('}', stdout);
        rp_json_key(stdout, &first, "memlock_limit");
        f = true;
        fputc('{', stdout);
        rp_json_bytes(stdout, &f, "soft", p->memlock_soft);
        rp_json_bytes(stdout, &f, "hard", p->memlock_hard);
        fputc('}', stdout);
        rp_json_key(stdout, &first, "cap_ipc_lock");
        fputs(p->cap_ipc_lock == 1 ? "true" : p->cap_ipc_lock == 0 ? "false" : "null", stdout);
        rp_json_bool(stdout, &first, "can_lock_more", p->can_lock_more);
        rp_json_bytes(stdout, &first, "lockable_more", p->lockable_bytes);
    }
    if (pf != NULL) {
        rp_json_key(stdout, &first, "lockall_preflight");
        bool f = true;
        fputc('{', stdout);
        rp_json_bool(stdout, &f, "would_succeed", pf->verdict == RP_OK);
        rp_json_text(stdout, &f, "reason", pf->reason);
        rp_json_text(stdout, &f, "remedy", pf->verdict != RP_OK ? pf->remedy : NULL);
        fputc('}', stdout);
    }
    fputs("}\n", stdout);
}

int rp_cli_status(int argc, char **argv) {
    int pid = 0;
    bool json = false, have_pid = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            rp_status_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        int st = rp_cli_pid_arg("status", argv[i], have_pid, &pid);
        if (st != 0) {
            rp_status_usage(stderr);
            return st;
        }
        have_pid = true;
    }
    rp_lockall_process_t p = {RP_SIZED(rp_lockall_process_t)};
    if (rp_lockall_query(pid, &p) != RP_OK) {
        /* No such process, or no /proc at all: nothing to decide from. */
        if (json) rp_status_json(pid, NULL, NULL, rp_last_error()->message);
        fprintf(stderr, "rampart status: cannot tell: %s\n", rp_last_error()->message);
        return RP_CLI_CANNOT_TELL;
    }
    /* Would a lock-all of this process (as it is now, current + future) fit? */
    rp_lockall_options_t cfg = rp_lockall_options_default();
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    rp_lockall_preflight(pid, &cfg, 0, &pf);
    if (json) {
        rp_status_json(pid, &p, &pf, NULL);
        return rp_status_exit(p.verdict);
    }

    char a[32], b[32], line[320];
    const char *why = rp_status_unknown_why(&p);
    printf("process %d (%s): %s\n", p.pid, p.name[0] ? p.name : "?", rp_status_word(p.verdict));
    if (why != NULL) printf("  %-26s %s\n", "cannot tell, because", why);
    printf("  %-26s %s mapped, %s resident\n", "in locked areas", rp_status_bytes(p.locked_area_bytes, a, sizeof a),
           rp_status_bytes(p.resident_locked_bytes, b, sizeof b));
    printf("  %-26s %s mapped, %s resident\n", "in areas not locked", rp_status_bytes(p.unlocked_area_bytes, a, sizeof a),
           rp_status_bytes(p.unlocked_resident_bytes, b, sizeof b));
    printf("  %-26s %s mapped ([vvar], [vdso], device and hugetlb mappings)\n", "never locked by the OS",
           rp_status_bytes(p.unlockable_bytes, a, sizeof a));
    printf("  %-26s %s\n", "locked (VmLck)", rp_status_bytes(p.locked_bytes, a, sizeof a));
    printf("  %-26s %s (smaps Rss of the locked areas)\n", "locked and resident",
           rp_status_bytes(p.resident_locked_bytes, a, sizeof a));
    printf("  %-26s %s (smaps Locked:, shared pages divided among their processes)\n", "locked, proportional",
           rp_status_bytes(p.locked_pss_bytes, a, sizeof a));
    printf("  %-26s %s mapped (VmSize), %s resident (VmRSS)\n", "memory", rp_status_bytes(p.mapped_bytes, a, sizeof a),
           rp_status_bytes(p.resident_bytes, b, sizeof b));
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
    printf("  %-26s %s\n", "lock-all (current+future)", pf.reason);
    if (pf.verdict != RP_OK && pf.remedy != NULL) printf("  %-26s fix: %s\n", "", pf.remedy);
    return rp_status_exit(p.verdict);
}
