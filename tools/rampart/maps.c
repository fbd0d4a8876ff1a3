/* SPDX-License-Identifier: MIT */
/* maps.c — `rampart maps [--flagged] [PID]`: the memory regions of a process as a table, with
 * one column per protection that matters for secrets (L locked in RAM, D excluded from core
 * dumps, W wiped in fork children), guards and huge pages, and totals at the end. Reads the same
 * records as rp_areas_foreach (Linux: /proc/PID/smaps). LOCKED is the resident bytes of a locked
 * region (the RAM it holds), not smaps Locked:, which divides shared pages among their processes.
 * --json writes one object (docs/cli-json.md). Exit status 0, 1 when the process cannot be read,
 * 2 for bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rampart.h"

typedef struct rp_maps_totals {
    bool flagged_only, header_done, json;
    size_t regions, shown;
    size_t mapped, resident, swapped;
    size_t locked, locked_regions;        /* resident locked bytes; regions flagged locked */
    size_t nodump, nodump_regions;        /* bytes of regions excluded from core dumps */
    size_t wipe, wipe_regions;            /* bytes of regions wiped on fork */
    size_t huge;                          /* bytes in huge pages (THP + hugetlb) */
} rp_maps_totals_t;

static const char *rp_maps_bytes(size_t n, char *buf, size_t size) {
    if (n == SIZE_MAX) return "?";
    return rp_format_bytes(n, buf, size);
}

static size_t rp_maps_known(size_t n) { return n == SIZE_MAX ? 0 : n; }

/* One region as a JSON object, after a comma unless it is the first. */
static void rp_maps_json_area(const rp_area_t *a, bool first_area) {
    bool f = true;
    if (!first_area) fputc(',', stdout);
    fputc('{', stdout);
    rp_json_key(stdout, &f, "start");
    printf("\"0x%llx\"", (unsigned long long)a->start);
    rp_json_key(stdout, &f, "end");
    printf("\"0x%llx\"", (unsigned long long)a->end);
    rp_json_bytes(stdout, &f, "size", a->end - a->start);
    rp_json_bytes(stdout, &f, "resident", a->resident);
    rp_json_bytes(stdout, &f, "swapped", a->swapped);
    rp_json_bytes(stdout, &f, "locked_proportional", (a->flags & RP_AREA_LOCKED) ? a->locked : 0);
    char perm[5] = {a->flags & RP_AREA_READ ? 'r' : '-', a->flags & RP_AREA_WRITE ? 'w' : '-',
                    a->flags & RP_AREA_EXEC ? 'x' : '-', a->flags & RP_AREA_SHARED ? 's' : 'p', '\0'};
    rp_json_text(stdout, &f, "perm", perm);
    rp_json_bool(stdout, &f, "locked", (a->flags & RP_AREA_LOCKED) != 0);
    rp_json_bool(stdout, &f, "dontdump", (a->flags & RP_AREA_DONTDUMP) != 0);
    rp_json_bool(stdout, &f, "wipeonfork", (a->flags & RP_AREA_WIPEONFORK) != 0);
    rp_json_bool(stdout, &f, "noaccess", (a->flags & RP_AREA_NOACCESS) != 0);
    rp_json_key(stdout, &f, "guard_pages");
    if (a->guard_pages == SIZE_MAX)
        fputs("null", stdout); /* the page tables could not be read: cannot tell */
    else
        printf("%zu", a->guard_pages);
    rp_json_bool(stdout, &f, "hugetlb", (a->flags & RP_AREA_HUGETLB) != 0);
    rp_json_bytes(stdout, &f, "anon_huge", a->anon_huge);
    rp_json_bool(stdout, &f, "unlockable", (a->flags & RP_AREA_UNLOCKABLE) != 0);
    rp_json_text(stdout, &f, "path", a->path);
    fputc('}', stdout);
}

static bool rp_maps_row(const rp_area_t *a, void *ctx) {
    rp_maps_totals_t *t = ctx;
    size_t size = a->end - a->start;
    size_t huge = rp_maps_known(a->anon_huge) + rp_maps_known(a->hugetlb);
    /* smaps Rss leaves explicit huge pages out (they are in hugetlb): resident, they count here */
    size_t resident = a->resident == SIZE_MAX ? SIZE_MAX : a->resident + rp_maps_known(a->hugetlb);
    t->regions++;
    t->mapped += size;
    t->resident += rp_maps_known(resident);
    t->swapped += rp_maps_known(a->swapped);
    t->huge += huge;
    if (a->flags & RP_AREA_LOCKED) {
        t->locked_regions++;
        t->locked += resident == SIZE_MAX ? size : resident;
    }
    if (a->flags & RP_AREA_DONTDUMP) {
        t->nodump += size;
        t->nodump_regions++;
    }
    if (a->flags & RP_AREA_WIPEONFORK) {
        t->wipe += size;
        t->wipe_regions++;
    }

    const unsigned secret = RP_AREA_LOCKED | RP_AREA_DONTDUMP | RP_AREA_WIPEONFORK;
    if (t->flagged_only && !(a->flags & secret)) return true;
    t->shown++;
    if (t->json) {
        rp_maps_json_area(a, t->shown == 1);
        return true;
    }
    if (!t->header_done) {
        /* Printed with the first row, so an unreadable process gets only the error. */
        printf("%-25s %10s %10s %10s %-4s %-5s %s\n", "REGION", "SIZE", "RESIDENT", "LOCKED", "PERM", "LDWGH", "PATH");
        t->header_done = true;
    }
    char perm[5] = {
        a->flags & RP_AREA_READ ? 'r' : '-', a->flags & RP_AREA_WRITE ? 'w' : '-',
        a->flags & RP_AREA_EXEC ? 'x' : '-', a->flags & RP_AREA_SHARED ? 's' : 'p', '\0'};
    char flags[6] = {
        a->flags & RP_AREA_LOCKED ? 'L' : '.', a->flags & RP_AREA_DONTDUMP ? 'D' : '.',
        a->flags & RP_AREA_WIPEONFORK ? 'W' : '.',
        (a->flags & RP_AREA_NOACCESS) || (a->guard_pages && a->guard_pages != SIZE_MAX) ? 'G'
        : a->guard_pages == SIZE_MAX                                                    ? '?' /* cannot tell */
                                                                                        : '.',
        (a->flags & RP_AREA_HUGETLB) || huge ? 'H' : '.', '\0'};
    char s[32], r[32], l[32];
    printf("%012llx-%012llx %10s %10s %10s %s %s %s\n", (unsigned long long)a->start, (unsigned long long)a->end,
           rp_maps_bytes(size, s, sizeof s), rp_maps_bytes(resident, r, sizeof r),
           rp_maps_bytes((a->flags & RP_AREA_LOCKED) ? resident : 0, l, sizeof l), perm, flags,
           a->path[0] ? a->path : "[anon]");
    return true;
}

static void rp_maps_usage(FILE *out) {
    fprintf(out, "usage: rampart maps [--flagged] [--json] [PID]\n"
                 "  the memory regions of process PID (default: this one) with their protections:\n"
                 "  L locked in RAM, D excluded from core dumps, W wiped in fork children,\n"
                 "  G guard pages / no access (? guard pages cannot be read), H huge pages.\n"
                 "  --flagged shows only regions with L, D or W.\n"
                 "  LOCKED is the region's resident bytes when it is locked (the RAM it holds).\n"
                 "  --json   one JSON object instead (schema: docs/cli-json.md)\n"
                 "exit status: 0, 1 the process cannot be read, 2 bad arguments.\n");
}

int rp_cli_maps(int argc, char **argv) {
    rp_maps_totals_t t;
    memset(&t, 0, sizeof t);
    int pid = 0;
    bool have_pid = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            rp_maps_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--flagged")) {
            t.flagged_only = true;
            continue;
        }
        if (!strcmp(argv[i], "--json")) {
            t.json = true;
            continue;
        }
        int bad = rp_cli_pid_arg("maps", argv[i], have_pid, &pid);
        if (bad != 0) {
            rp_maps_usage(stderr);
            return bad;
        }
        have_pid = true;
    }
    /* JSON: the areas are written as they are read; an error after some of them still closes the
     * object, with the message in "error". */
    if (t.json) printf("{\"pid\":%d,\"flagged_only\":%s,\"areas\":[", pid, t.flagged_only ? "true" : "false");
    rp_status_t st = rp_areas_foreach(pid, rp_maps_row, &t);
    if (t.json) {
        bool f = false;
        fputc(']', stdout);
        rp_json_text(stdout, &f, "error", st == RP_OK ? NULL : rp_last_error()->message);
        rp_json_key(stdout, &f, "totals");
        if (st != RP_OK) {
            /* sums of the areas read before the error are no totals: unknown */
            fputs("null}\n", stdout);
            goto failed;
        }
        bool g = true;
        fputc('{', stdout);
        rp_json_key(stdout, &g, "regions");
        printf("%zu", t.regions);
        rp_json_key(stdout, &g, "shown");
        printf("%zu", t.shown);
        rp_json_bytes(stdout, &g, "mapped", t.mapped);
        rp_json_bytes(stdout, &g, "resident", t.resident);
        rp_json_bytes(stdout, &g, "swapped", t.swapped);
        rp_json_bytes(stdout, &g, "huge", t.huge);
        rp_json_bytes(stdout, &g, "locked_resident", t.locked);
        rp_json_key(stdout, &g, "locked_regions");
        printf("%zu", t.locked_regions);
        rp_json_bytes(stdout, &g, "dontdump", t.nodump);
        rp_json_key(stdout, &g, "dontdump_regions");
        printf("%zu", t.nodump_regions);
        rp_json_bytes(stdout, &g, "wipeonfork", t.wipe);
        rp_json_key(stdout, &g, "wipeonfork_regions");
        printf("%zu", t.wipe_regions);
        fputs("}}\n", stdout);
    }
failed:
    if (st != RP_OK) {
        fprintf(stderr, "rampart maps: %s\n", rp_last_error()->message);
        /* The OS says only "permission denied": name the usual reason and the way round it. */
        if (st == RP_ERR_PERMISSION)
            fprintf(stderr, "rampart maps: process %d belongs to another user (or is protected from tracing); "
                            "run rampart as its owner or as root\n", pid);
        return 1;
    }
    if (t.json) return 0;
    char a[32], b[32], c[32], d[32], e[32], f[32], g[32];
    printf("\ntotals: %zu regions, %s mapped, %s resident, %s swapped, %s in huge pages\n", t.regions,
           rp_format_bytes(t.mapped, a, sizeof a), rp_format_bytes(t.resident, b, sizeof b),
           rp_format_bytes(t.swapped, c, sizeof c), rp_format_bytes(t.huge, g, sizeof g));
    printf("        L locked:        %s in %zu regions\n", rp_format_bytes(t.locked, d, sizeof d), t.locked_regions);
    printf("        D no core dump:  %s in %zu regions\n", rp_format_bytes(t.nodump, e, sizeof e), t.nodump_regions);
    printf("        W wipe on fork:  %s in %zu regions\n", rp_format_bytes(t.wipe, f, sizeof f), t.wipe_regions);
    if (t.flagged_only) printf("        (%zu of %zu regions shown: --flagged)\n", t.shown, t.regions);
    if (t.regions == 0) printf("        (no user memory: a kernel thread or a zombie)\n");
    return 0;
}
