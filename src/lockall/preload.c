/* SPDX-License-Identifier: MIT */
/* lockall/preload.c — librampart-lock.so: preloaded into a dynamically linked program
 * (LD_PRELOAD, or `rampart run`), it locks the program's memory in a constructor, before main()
 * and before the program's own constructors, because memory locks do not survive exec.
 *
 * RAMPART_LOCK configures it (grammar in rampart/lockall.h, rp_lockall_options_parse; unset means
 * current,future,required). A malformed value, or a required lock that fails, prints the diagnosis
 * and the remedy to stderr and ends the process with RP_LOCKALL_EXIT_FAILURE before the program
 * runs. Best effort prints one warning line and lets the program run unlocked. Success is silent,
 * except for a warning when future locking leaves little headroom under the memlock limit, and
 * cheap: one mlockall, with no /proc reads unless a finite memlock limit applies (then one look
 * at /proc/self/status for the headroom); the diagnosis reads the process's state only when the
 * lock fails.
 *
 * Children: a program the locked one execs inherits LD_PRELOAD and RAMPART_LOCK and locks itself
 * the same way. A fork child that does not exec (a pre-fork server's worker) inherits neither the
 * locks nor future locking (the kernel clears both in the copy), so it is locked again in a
 * fork child handler (rp__os_atfork); a required lock that fails there ends the child the same way.
 *
 * The library is built from its own objects without sanitizer flags (see targets.cmake) and
 * exports no symbols, so it can be injected into any program, and never interposes on the
 * rp_* functions of a program that links rampart itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "os/os.h"
#include "rampart/lockall.h"

static void rp__preload_say(const char *text) { rp__os_write_stderr(text, strlen(text)); }

/* "cat (pid 42)", or "pid 42" when the name cannot be read. */
static void rp__preload_who(char *who, size_t size) {
    char name[64];
    rp__os_process_name(name, sizeof name);
    if (name[0]) snprintf(who, size, "%s (pid %d)", name, (int)getpid());
    else snprintf(who, size, "pid %d", (int)getpid());
}

/* A required lock failed: the diagnosis, the remedy, and the end of the process before its code runs. */
static void rp__preload_refuse(const rp_lockall_status_t *st) {
    char line[1024], who[96];
    rp__preload_who(who, sizeof who);
    snprintf(line, sizeof line, "rampart-lock: cannot lock the memory of %s, so it does not run: %s: %s\n", who,
             rp_strerror(st->error), st->message);
    rp__preload_say(line);
    const char *full = rp_remedy(st->error, RP_REMEDY_FULL);
    if (full != NULL) rp__preload_say(full);
    rp__preload_say("rampart-lock: to run it unlocked instead, add best-effort to RAMPART_LOCK "
                    "(rampart run --best-effort)\n");
    _exit(RP_LOCKALL_EXIT_FAILURE);
}

/* What the constructor locked, for fork children. */
static rp_lockall_options_t rp__preload_locked;

static unsigned rp__preload_flags(const rp_lockall_options_t *cfg) {
    return (cfg->current ? RP__OS_LOCKALL_CURRENT : 0u) | (cfg->future ? RP__OS_LOCKALL_FUTURE : 0u) |
           (cfg->onfault ? RP__OS_LOCKALL_ONFAULT : 0u);
}

/* In a fork child: lock again what the parent has locked. On fault where the platform can: the
 * pages shared with the parent are resident and locked there already, and faulting them all in
 * would copy every writable page (breaking copy-on-write) in a child that often execs at once.
 * One system call on success; the diagnosis is built only when it fails. */
static void rp__preload_relock(void) {
    rp_lockall_options_t cfg = rp__preload_locked;
    if (rp__os_lockall_supported() & RP__OS_LOCKALL_ONFAULT) cfg.onfault = true;
    size_t by_call;
    int saved_errno = errno; /* the program may look at errno after fork() returns */
    if (rp__os_lockall(rp__preload_flags(&cfg), &by_call) == 0 || !cfg.required) {
        errno = saved_errno;
        return;
    }
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    if (rp_lockall(&cfg, &st) != RP_OK) rp__preload_refuse(&st);
}

/* Locked: remember it for fork children. A required lock whose children cannot be locked ends here. */
static void rp__preload_keep(const rp_lockall_options_t *cfg, bool current, bool future) {
    rp__preload_locked = *cfg;
    rp__preload_locked.current = current;
    rp__preload_locked.future = future;
    int err = rp__os_atfork(NULL, NULL, rp__preload_relock);
    if (err != 0 && cfg->required) {
        char line[320], who[96], words[128];
        rp__preload_who(who, sizeof who);
        snprintf(line, sizeof line, "rampart-lock: cannot lock the fork children of %s (a fork handler: %s), so it does not run\n",
                 who, rp__os_errstr(err, words, sizeof words));
        rp__preload_say(line);
        _exit(RP_LOCKALL_EXIT_FAILURE);
    }
}

/* After a lock-all with future locking under a finite memlock limit: warn when little room is
 * left for later mappings. Reads /proc/self/status only in that case (for CAP_IPC_LOCK and VmLck);
 * with no limit (or none that applies) it reads nothing. */
static void rp__preload_headroom(void) {
    size_t soft = SIZE_MAX, hard = SIZE_MAX;
    if (rp__os_lock_limit(&soft, &hard) != 0 || soft == SIZE_MAX || rp__os_can_lock_unlimited()) return;
    size_t locked = 0;
    if (rp__os_locked_bytes(0, &locked, NULL) != 0) return;
    size_t headroom = soft > locked ? soft - locked : 0;
    if (headroom >= RP_LOCKALL_HEADROOM_MIN && headroom >= soft / 4) return;
    char line[512], who[96], a[32], b[32];
    rp__preload_who(who, sizeof who);
    snprintf(line, sizeof line,
             "rampart-lock: warning: %s: future locking leaves %s of the %s memlock limit for later mappings; "
             "allocations beyond it fail\n",
             who, rp_format_bytes(headroom, a, sizeof a), rp_format_bytes(soft, b, sizeof b));
    rp__preload_say(line);
}

/* The success path is one mlockall (plus the headroom check): the process's state is read, and
 * the diagnosis built, only when the lock fails or the platform cannot do all that was asked. */
__attribute__((constructor)) static void rp__preload_lock(void) {
    char line[1024], who[96];
    rp_lockall_options_t cfg = rp_lockall_options_default();
    if (rp_lockall_options_parse(rp__env_get("RAMPART_LOCK", true), &cfg) != RP_OK) {
        rp__preload_who(who, sizeof who);
        snprintf(line, sizeof line, "rampart-lock: %s: not starting %s\n", rp_last_error()->message, who);
        rp__preload_say(line);
        _exit(RP_LOCKALL_EXIT_FAILURE);
    }
    unsigned flags = rp__preload_flags(&cfg);
    size_t by_call;
    if ((flags & ~rp__os_lockall_supported()) == 0 && (flags & (RP__OS_LOCKALL_CURRENT | RP__OS_LOCKALL_FUTURE)) &&
        rp__os_lockall(flags, &by_call) == 0) {
        rp__preload_keep(&cfg, cfg.current, cfg.future);
        if (cfg.future) rp__preload_headroom();
        return;
    }
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    if (rp_lockall(&cfg, &st) != RP_OK) rp__preload_refuse(&st);
    if (st.current_locked || st.future_locked) rp__preload_keep(&cfg, st.current_locked, st.future_locked);
    rp__preload_who(who, sizeof who);
    if (st.state != RP_LOCKALL_LOCKED) {
        char status[RP_LOCKALL_LINE_MAX];
        snprintf(line, sizeof line, "rampart-lock: warning: %s runs with its memory not locked: %s\n", who,
                 rp_lockall_status_format(&st, status, sizeof status));
        rp__preload_say(line);
        if (st.remedy != NULL) {
            snprintf(line, sizeof line, "rampart-lock: fix: %s\n", st.remedy);
            rp__preload_say(line);
        }
    } else if (st.low_headroom) {
        snprintf(line, sizeof line, "rampart-lock: warning: %s: %s\n", who, st.warning);
        rp__preload_say(line);
    }
}
