/* SPDX-License-Identifier: MIT */
/* lockall/preload.c — librampart-lock.so: preloaded into a dynamically linked program
 * (LD_PRELOAD, or `rampart run`), it locks the program's memory in a constructor, before main()
 * and before the program's own constructors, because memory locks do not survive exec.
 *
 * RAMPART_LOCK configures it (grammar in rampart/lockall.h, rp_lockall_config_parse; unset means
 * current,future,required). A malformed value, or a required lock that fails, prints the diagnosis
 * and the remedy to stderr and ends the process with RP_LOCKALL_EXIT_FAILURE before the program
 * runs. Best effort prints one warning line and lets the program run unlocked. Success is silent,
 * except for a warning when future locking leaves little headroom under the memlock limit.
 *
 * Children: a program the locked one execs inherits LD_PRELOAD and RAMPART_LOCK and locks itself
 * the same way. A fork child that does not exec (a pre-fork server's worker) inherits neither the
 * locks nor future locking (the kernel clears both in the copy), so it is locked again in a
 * pthread_atfork child handler; a required lock that fails there ends the child the same way.
 *
 * The library is built from its own objects without sanitizer flags (see targets.cmake) and
 * exports no symbols, so it can be injected into any program, and never interposes on the
 * rp_* functions of a program that links rampart itself.
 */
#include <errno.h>
#include <pthread.h>
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
    rp_lockall_process_t self;
    if (rp_lockall_query(0, &self) == RP_OK && self.name[0]) snprintf(who, size, "%s (pid %d)", self.name, (int)getpid());
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
static rp_lockall_config_t rp__preload_locked;

/* In a fork child: lock again what the parent has locked. On fault where the platform can: the
 * pages shared with the parent are resident and locked there already, and faulting them all in
 * would copy every writable page (breaking copy-on-write) in a child that often execs at once.
 * One system call on success; the diagnosis is built only when it fails. */
static void rp__preload_relock(void) {
    rp_lockall_config_t cfg = rp__preload_locked;
    if (rp__os_lockall_supported() & RP__OS_LOCKALL_ONFAULT) cfg.onfault = true;
    unsigned flags = (cfg.current ? RP__OS_LOCKALL_CURRENT : 0u) | (cfg.future ? RP__OS_LOCKALL_FUTURE : 0u) |
                     (cfg.onfault ? RP__OS_LOCKALL_ONFAULT : 0u);
    size_t by_call;
    int saved_errno = errno; /* the program may look at errno after fork() returns */
    if (rp__os_lockall(flags, &by_call) == 0 || !cfg.required) {
        errno = saved_errno;
        return;
    }
    rp_lockall_status_t st;
    if (rp_lockall(&cfg, &st) != RP_OK) rp__preload_refuse(&st);
}

__attribute__((constructor)) static void rp__preload_lock(void) {
    char line[1024], who[96];
    rp__preload_who(who, sizeof who);

    rp_lockall_config_t cfg;
    if (rp_lockall_config_parse(rp__env_get("RAMPART_LOCK", true), &cfg) != RP_OK) {
        snprintf(line, sizeof line, "rampart-lock: %s: not starting %s\n", rp_last_error()->message, who);
        rp__preload_say(line);
        _exit(RP_LOCKALL_EXIT_FAILURE);
    }
    rp_lockall_status_t st;
    if (rp_lockall(&cfg, &st) != RP_OK) rp__preload_refuse(&st);
    if (st.current_locked || st.future_locked) {
        rp__preload_locked = cfg;
        rp__preload_locked.current = st.current_locked;
        rp__preload_locked.future = st.future_locked;
        if (pthread_atfork(NULL, NULL, rp__preload_relock) != 0 && cfg.required) {
            snprintf(line, sizeof line, "rampart-lock: cannot lock the fork children of %s (pthread_atfork), so it does not run\n", who);
            rp__preload_say(line);
            _exit(RP_LOCKALL_EXIT_FAILURE);
        }
    }
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
