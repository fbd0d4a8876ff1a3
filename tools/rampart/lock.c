/* SPDX-License-Identifier: MIT */
/* lock.c — `rampart lock PID` and `rampart unlock PID` (issue 15): lock (or unlock) the memory of a
 * process that is already running, without restarting it, through rp_lockall_remote (the target
 * itself calls mlockall, injected with ptrace). Exit 0 done, 1 failed (the message names cause and
 * fix), 2 usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rampart.h"

static void rp_cli_lock_usage(FILE *out) {
    fprintf(out,
            "usage: rampart lock [--onfault] [--current-only] [--raise-limit] [--best-effort] PID\n"
            "       rampart unlock PID\n\n"
            "Lock all memory of a running process in RAM (current and future pages), without restarting it:\n"
            "rampart attaches with ptrace, stops its threads, makes the process itself call mlockall, restores\n"
            "its registers and code exactly and detaches. A thread blocked in a system call (read, sleep) resumes\n"
            "it; it never sees EINTR. `rampart unlock PID` calls munlockall the same way. Confirm with\n"
            "`rampart status PID`.\n\n"
            "  --onfault       lock pages as they are first touched (MCL_ONFAULT) instead of faulting all in now\n"
            "  --current-only  lock what is mapped now, not later mappings (no MCL_FUTURE)\n"
            "  --raise-limit   raise the process's memlock limit first (prlimit) when it is too small: to\n"
            "                  unlimited with CAP_SYS_RESOURCE, else its soft limit up to its hard one\n"
            "  --best-effort   exit 0 even when the lock fails (the failure is still printed)\n\n"
            "The target's own RLIMIT_MEMLOCK and CAP_IPC_LOCK count, not rampart's; the outcome is predicted\n"
            "from them first and a predicted failure leaves the process untouched.\n"
            "Privileges: ptrace rights over PID: the same user with Yama kernel.yama.ptrace_scope 0, or\n"
            "CAP_SYS_PTRACE (root; docker --cap-add SYS_PTRACE; Kubernetes capabilities add SYS_PTRACE).\n"
            "Linux x86-64 (aarch64 built, untested). Exit status: 0 locked, 1 failed, 2 usage error.\n");
}

static int rp_cli_lock_common(const char *cmd, int argc, char **argv, bool unlock) {
    rp_lockall_options_t cfg = rp_lockall_options_default();
    unsigned flags = 0;
    int pid = 0;
    bool have_pid = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            rp_cli_lock_usage(stdout);
            return 0;
        }
        if (!unlock && !strcmp(a, "--onfault")) cfg.onfault = true;
        else if (!unlock && !strcmp(a, "--current-only")) cfg.future = false;
        else if (!unlock && !strcmp(a, "--raise-limit")) flags |= RP_LOCKALL_REMOTE_RAISE_LIMIT;
        else if (!unlock && !strcmp(a, "--best-effort")) cfg.required = false;
        else {
            int r = rp_cli_pid_arg(cmd, a, have_pid, &pid);
            if (r != 0) return r;
            have_pid = true;
        }
    }
    if (!have_pid) {
        fprintf(stderr, "rampart %s: a process id is needed\n", cmd);
        rp_cli_lock_usage(stderr);
        return RP_CLI_USAGE;
    }
    if (unlock) {
        if (rp_unlockall_remote(pid) != RP_OK) {
            const rp_error_t *e = rp_last_error();
            fprintf(stderr, "rampart unlock: %s\n", e->message);
            if (e->remedy) fprintf(stderr, "fix: %s\n", e->remedy);
            return 1;
        }
        /* munlockall leaves what the kernel keeps locked of its own accord (memfd_secret memory,
         * locked shared memory of SHM_LOCK): said, not called unlocked. */
        size_t left = 0;
        char n[32];
        if (rp_lockall_locked_bytes(pid, &left, NULL) == RP_OK && left != 0 && left != SIZE_MAX)
            printf("unlocked: process %d (munlockall); %s stay locked (VmLck), which munlockall cannot unlock "
                   "(memfd_secret memory, SHM_LOCK shared memory)\n", pid, rp_format_bytes(left, n, sizeof n));
        else
            printf("unlocked: process %d (munlockall)\n", pid);
        return 0;
    }
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    rp_status_t s = rp_lockall_remote(pid, &cfg, flags, &st);
    if (st.state != RP_LOCKALL_LOCKED) {
        fprintf(stderr, "rampart lock: %s\n", st.message);
        if (st.remedy) fprintf(stderr, "fix: %s\n", st.remedy);
        return s == RP_OK ? 0 : 1;
    }
    char line[RP_LOCKALL_LINE_MAX];
    printf("process %d %s\n", pid, rp_lockall_status_format(&st, line, sizeof line));
    return 0;
}

int rp_cli_lock(int argc, char **argv) { return rp_cli_lock_common("lock", argc, argv, false); }
int rp_cli_unlock(int argc, char **argv) { return rp_cli_lock_common("unlock", argc, argv, true); }
