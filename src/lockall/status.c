/* SPDX-License-Identifier: MIT */
/* lockall/status.c — rp_lockall_status_format: one line for people from a lock-all status. */
#include <stdio.h>
#include <string.h>

#include "lockall/lockall_internal.h"

/* The same for what a status says was asked. */
static unsigned rp__lockall_asked_flags(const rp_lockall_status_t *st) {
    return (st->asked.current ? RP__OS_LOCKALL_CURRENT : 0u) | (st->asked.future ? RP__OS_LOCKALL_FUTURE : 0u) |
           (st->asked.onfault ? RP__OS_LOCKALL_ONFAULT : 0u);
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
