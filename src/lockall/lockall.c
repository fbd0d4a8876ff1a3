/* SPDX-License-Identifier: MIT */
/* lockall/lockall.c — process-wide memory locking (seed 002, duende-mlock): configuration and
 * its RAMPART_LOCK grammar, rp_lockall with a status a caller can inspect, the preflight, and the
 * lock state of any process.
 *
 * The platform layer does the locking (mlockall / VirtualLock of each region) and reports raw
 * errors and raw figures (VmLck, VmSize, the limits, CAP_IPC_LOCK); this file decides what they
 * mean. The kernel rules it encodes (Linux mm/mlock.c):
 *   - no CAP_IPC_LOCK and RLIMIT_MEMLOCK 0: every lock fails with EPERM;
 *   - MCL_CURRENT: the whole mapped size (total_vm, VmSize) must fit under the soft limit, else
 *     ENOMEM, even with MCL_ONFAULT, where nothing is faulted in;
 *   - MCL_FUTURE: accepted under any non-zero limit; each later mapping is charged and refused
 *     (EAGAIN / ENOMEM) once VmLck would pass the limit: hence the headroom warning;
 *   - mlock of N bytes: VmLck + N must fit under the soft limit.
 * With CAP_IPC_LOCK no limit applies, and ENOMEM is a real shortage of memory.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "rampart/lockall.h"

/* The RP__OS_LOCKALL_* flags a successful rp_lockall put in effect, and the process that did it:
 * fork children do not inherit locks (or future locking), so the record is only believed in the
 * process that wrote it. */
static unsigned rp__lockall_active;
static int rp__lockall_active_pid;

/* The first released rp_lockall_options_t: struct_size and the four flags. */
#define RP__LOCKALL_OPTIONS_V1 sizeof(rp_lockall_options_t)

rp_status_t rp__lockall_options(const rp_lockall_options_t *given, rp_lockall_options_t *out, const char *who) {
    *out = rp_lockall_options_default();
    if (given == NULL) return RP_OK;
    rp_status_t s = rp__read_sized(given, RP__LOCKALL_OPTIONS_V1, out, sizeof *out, who);
    out->struct_size = sizeof *out; /* what the library holds now is its own version */
    return s;
}

/* ---- the RAMPART_LOCK grammar ------------------------------------------------------------------- */

static bool rp__word_is(const char *word, size_t len, const char *name) {
    return strlen(name) == len && memcmp(word, name, len) == 0;
}

#define RP__LOCKALL_WORDS "current, future, onfault, required, best-effort"
/* Around words: what a shell, an env file or a YAML block may leave there (a trailing newline). */
#define RP__LOCKALL_SPACE " \t\r\n\v\f"

rp_status_t rp_lockall_options_parse(const char *spec, rp_lockall_options_t *out) {
    if (out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_lockall_options_parse: out is NULL");
    /* Written back only up to the caller's struct_size: an older caller's struct is smaller. */
    size_t size = out->struct_size;
    if (size < RP__LOCKALL_OPTIONS_V1 || size > RP__SIZED_MAX)
        return rp__fail(RP_ERR_INVALID, 0,
                        "rp_lockall_options_parse: struct_size %zu is not a size of rp_lockall_options_t "
                        "(set it with RP_SIZED() or rp_lockall_options_default())", size);
    if (size > sizeof *out) size = sizeof *out; /* a newer caller's later fields keep their values */
    rp_lockall_options_t c = rp_lockall_options_default();
    if (spec == NULL || spec[strspn(spec, RP__LOCKALL_SPACE)] == '\0') {
        c.struct_size = out->struct_size;
        memcpy(out, &c, size);
        return RP_OK;
    }
    char shown[65], word[33];
    rp__env_printable(spec, strlen(spec), shown, sizeof shown);
    c.current = c.future = c.onfault = false;
    bool required = false, best_effort = false;
    for (const char *p = spec;;) {
        p += strspn(p, RP__LOCKALL_SPACE);
        size_t n = strcspn(p, ","), len = n;
        while (len > 0 && strchr(RP__LOCKALL_SPACE, p[len - 1]) != NULL) len--;
        if (len == 0)
            return rp__fail(RP_ERR_INVALID, 0, "RAMPART_LOCK=\"%s\": empty word (expected %s, separated by commas)",
                            shown, RP__LOCKALL_WORDS);
        if (rp__word_is(p, len, "current")) c.current = true;
        else if (rp__word_is(p, len, "future")) c.future = true;
        else if (rp__word_is(p, len, "onfault")) c.onfault = true;
        else if (rp__word_is(p, len, "required")) required = true;
        else if (rp__word_is(p, len, "best-effort")) best_effort = true;
        else
            return rp__fail(RP_ERR_INVALID, 0, "RAMPART_LOCK=\"%s\": unknown word '%s' (expected %s)", shown,
                            rp__env_printable(p, len, word, sizeof word), RP__LOCKALL_WORDS);
        p += n;
        if (*p == '\0') break;
        p++; /* the comma */
    }
    if (required && best_effort)
        return rp__fail(RP_ERR_INVALID, 0, "RAMPART_LOCK=\"%s\": both required and best-effort", shown);
    if (!c.current && !c.future) c.current = c.future = true;
    c.required = !best_effort;
    c.struct_size = out->struct_size;
    memcpy(out, &c, size);
    return RP_OK;
}

/* ---- helpers ------------------------------------------------------------------------------------- */

static unsigned rp__lockall_flags(const rp_lockall_options_t *c) {
    return (c->current ? RP__OS_LOCKALL_CURRENT : 0u) | (c->future ? RP__OS_LOCKALL_FUTURE : 0u) |
           (c->onfault ? RP__OS_LOCKALL_ONFAULT : 0u);
}
/* The same for what a status says was asked. */
static unsigned rp__lockall_asked_flags(const rp_lockall_status_t *st) {
    return (st->asked.current ? RP__OS_LOCKALL_CURRENT : 0u) | (st->asked.future ? RP__OS_LOCKALL_FUTURE : 0u) |
           (st->asked.onfault ? RP__OS_LOCKALL_ONFAULT : 0u);
}

/* "current+future+onfault" for a flag set. */
static const char *rp__lockall_scope(unsigned flags, char *buf, size_t size) {
    static const struct { unsigned flag; const char *name; } words[] = {
        {RP__OS_LOCKALL_CURRENT, "current"}, {RP__OS_LOCKALL_FUTURE, "future"}, {RP__OS_LOCKALL_ONFAULT, "onfault"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0] && used < size; i++)
        if (flags & words[i].flag)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "+" : "", words[i].name);
    return buf;
}

/* A configuration that asks for nothing is a caller's mistake: refused before any system call. */
static rp_status_t rp__lockall_check(const rp_lockall_options_t *c, const char *who) {
    if (c->current || c->future) return RP_OK;
    if (c->onfault)
        return rp__fail(RP_ERR_INVALID, 0,
                        "%s: onfault needs current or future: it says how pages are locked, not which", who);
    return rp__fail(RP_ERR_INVALID, 0, "%s: nothing to lock: neither current nor future is set", who);
}

/* No limit applies: CAP_IPC_LOCK, an unlimited soft limit, or a limit the OS layer raises itself. */
static bool rp__lockall_unlimited(const rp__os_lock_info_t *li) {
    return li->cap_ipc_lock == 1 || li->limit_soft == SIZE_MAX || !li->limit_binding;
}

static size_t rp__known(size_t v) { return v == SIZE_MAX ? 0 : v; }

/* ---- the memory areas: what is locked, in bytes ---------------------------------------------------- */

typedef struct rp__lockall_areas {
    size_t locked, unlocked, unlockable;  /* mapped bytes */
    size_t locked_rss, unlocked_rss;      /* resident bytes */
    size_t locked_pss;                    /* smaps Locked: (proportional) */
} rp__lockall_areas_t;

static bool rp__lockall_area_add(const rp__os_area_t *a, void *ctx) {
    rp__lockall_areas_t *t = ctx;
    size_t size = a->end - a->start, rss = rp__known(a->rss);
    if (a->flags & RP__OS_AREA_LOCKED) {
        t->locked += size;
        t->locked_rss += rss;
        t->locked_pss += rp__known(a->locked);
    } else if (a->flags & (RP__OS_AREA_UNLOCKABLE | RP__OS_AREA_HUGETLB)) {
        /* mlock passes these over; hugetlb pages are never swapped in the first place. */
        t->unlockable += size;
    } else {
        t->unlocked += size;
        t->unlocked_rss += rss;
    }
    return true;
}

/* Sum the areas of process pid; the OS error when they cannot be read. */
static int rp__lockall_areas(int pid, rp__lockall_areas_t *t) {
    memset(t, 0, sizeof *t);
    return rp__os_areas(pid, rp__lockall_area_add, t);
}

static rp_lockall_verdict_t rp__lockall_verdict(const rp__lockall_areas_t *t) {
    if (t->locked == 0) return RP_LOCKALL_NONE;
    return t->unlocked == 0 ? RP_LOCKALL_WHOLE : RP_LOCKALL_PARTLY;
}

/* Room under the soft limit once locked_after bytes are locked, and whether future locking would
 * find it too small. */
static void rp__lockall_headroom(const rp__os_lock_info_t *li, size_t locked_after, bool future, size_t *headroom,
                                 bool *low) {
    if (rp__lockall_unlimited(li)) {
        *headroom = SIZE_MAX;
        *low = false;
        return;
    }
    *headroom = li->limit_soft > locked_after ? li->limit_soft - locked_after : 0;
    *low = future && (*headroom < RP_LOCKALL_HEADROOM_MIN || *headroom < li->limit_soft / 4);
}

static void rp__lockall_copy_error(rp_lockall_status_t *st) {
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

const char *rp_lockall_status_format(const rp_lockall_status_t *given, char *buf, size_t size) {
    if (buf == NULL || size == 0) return buf;
    if (given == NULL) {
        snprintf(buf, size, "(no status)");
        return buf;
    }
    /* the caller's status may be an older, smaller struct: read it only as far as it reaches */
    rp_lockall_status_t known, *st = &known;
    memset(&known, 0, sizeof known);
    if (rp__read_sized(given, RP__LOCKALL_STATUS_V1, &known, sizeof known, "rp_lockall_status_format") != RP_OK) {
        snprintf(buf, size, "(invalid status: %s)", rp_last_error()->message);
        return buf;
    }
    char scope[40], a[32], b[32];
    int n = 0;
    switch (st->state) {
    case RP_LOCKALL_LOCKED:
        n = snprintf(buf, size, "locked: %s, %s locked", rp__lockall_scope(rp__lockall_asked_flags(st), scope, sizeof scope),
                     rp_format_bytes(st->locked_bytes, a, sizeof a));
        if (st->resident_locked_bytes != SIZE_MAX && n >= 0 && (size_t)n < size)
            n += snprintf(buf + n, size - (size_t)n, ", %s of it resident",
                          rp_format_bytes(st->resident_locked_bytes, b, sizeof b));
        break;
    case RP_LOCKALL_FAILED:
        n = snprintf(buf, size, "not locked (%s): %s: %s", st->asked.required ? "required" : "best effort",
                     rp_strerror(st->error), st->message);
        break;
    case RP_LOCKALL_UNSUPPORTED:
        n = snprintf(buf, size, "unsupported: %s%s", st->message,
                     st->current_locked ? ("; current memory was locked: ") : "");
        if (st->current_locked && n >= 0 && (size_t)n < size)
            n += snprintf(buf + n, size - (size_t)n, "%s", rp_format_bytes(st->locked_bytes, a, sizeof a));
        break;
    default:
        n = snprintf(buf, size, "(unknown lock-all state %d)", (int)st->state);
    }
    if (st->low_headroom && n >= 0 && (size_t)n < size) snprintf(buf + n, size - (size_t)n, "; warning: %s", st->warning);
    return buf;
}

/* ---- preflight ------------------------------------------------------------------------------------ */

/* rp_lockall_preflight_t and rp_lockall_process_t as first released (the end of their last field). */
#define RP__LOCKALL_PREFLIGHT_V1 RP__SIZE_V1(rp_lockall_preflight_t, remedy)
#define RP__LOCKALL_PROCESS_V1 RP__SIZE_V1(rp_lockall_process_t, locked_pss_bytes)

/* rp_lockall_preflight's work, into the library's own whole struct. */
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

/* ---- any process ------------------------------------------------------------------------------------ */

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
    /* No area at all in a process with memory: the areas were hidden (a file bound over smaps). */
    bool have = rp__lockall_areas(pid, &areas) == 0 &&
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
