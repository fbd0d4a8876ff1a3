/* SPDX-License-Identifier: MIT */
/* lockall/accounting.c — a process's memory areas summed by lock state, the verdict they give
 * (locked as a whole, partly, not at all), the headroom rule, and the names of a flag set. */
#include <stdio.h>
#include <string.h>

#include "lockall/lockall_internal.h"

/* "current+future+onfault" for a flag set. */
const char *rp__lockall_scope(unsigned flags, char *buf, size_t size) {
    static const struct { unsigned flag; const char *name; } words[] = {
        {RP__OS_LOCKALL_CURRENT, "current"}, {RP__OS_LOCKALL_FUTURE, "future"}, {RP__OS_LOCKALL_ONFAULT, "onfault"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0] && used < size; i++)
        if (flags & words[i].flag)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? "+" : "", words[i].name);
    return buf;
}

static bool rp__lockall_area_add(const rp__os_area_t *a, void *ctx) {
    rp__lockall_areas_t *t = ctx;
    size_t size = a->end - a->start, rss = rp__known(a->rss);
    if (!(a->flags & (RP__OS_AREA_UNLOCKABLE | RP__OS_AREA_HUGETLB)) &&
        ((a->flags & RP__OS_AREA_WRITE) || ((a->flags & (RP__OS_AREA_READ | RP__OS_AREA_EXEC)) && a->path[0] == '/')))
        t->faulted += size;
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
int rp__lockall_areas(int pid, rp__lockall_areas_t *t) {
    memset(t, 0, sizeof *t);
    return rp__os_areas(pid, rp__lockall_area_add, t);
}

rp_lockall_verdict_t rp__lockall_verdict(const rp__lockall_areas_t *t) {
    if (t->locked == 0) return RP_LOCKALL_NONE;
    return t->unlocked == 0 ? RP_LOCKALL_WHOLE : RP_LOCKALL_PARTLY;
}

/* Room under the soft limit once locked_after bytes are locked, and whether future locking would
 * find it too small. */
void rp__lockall_headroom(const rp__os_lock_info_t *li, size_t locked_after, bool future, size_t *headroom,
                                 bool *low) {
    if (rp__lockall_unlimited(li)) {
        *headroom = SIZE_MAX;
        *low = false;
        return;
    }
    *headroom = li->limit_soft > locked_after ? li->limit_soft - locked_after : 0;
    *low = future && (*headroom < RP_LOCKALL_HEADROOM_MIN || *headroom < li->limit_soft / 4);
}
