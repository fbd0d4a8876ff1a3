/* SPDX-License-Identifier: MIT */
/* doctor.c — `rampart doctor`: what this machine and process allow, then a live self-check of
 * each page source, as one table of ok / warn / fail rows with a one-line fix under every warn
 * and fail (--json: one object, docs/cli-json.md). Exit status 0 when no row failed, 1 when one
 * did, 2 for bad arguments.
 *
 * The self-check does for real what a user's program would: allocate from the source, read the
 * kernel's own account of those pages (smaps: "Locked:" and VmFlags "dd"), and free them while an
 * observer reads every byte back after the wipe and before the pages go back to the OS.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rampart.h"

typedef enum { ROW_OK, ROW_WARN, ROW_FAIL } rp_row_t;

typedef struct rp_doctor {
    int oks, warns, fails;
    bool json;            /* --json: rows are objects of the "rows" array */
    const char *section;  /* "system" or "self-check" */
} rp_doctor_t;

static void rp_row(rp_doctor_t *d, rp_row_t kind, const char *check, const char *detail, const char *fix) {
    static const char *const names[] = {"ok", "warn", "FAIL"};
    if (d->json) {
        static const char *const results[] = {"ok", "warn", "fail"};
        bool f = true;
        if (d->warns + d->fails + d->oks > 0) fputc(',', stdout);
        fputc('{', stdout);
        rp_json_text(stdout, &f, "section", d->section);
        rp_json_text(stdout, &f, "check", check);
        rp_json_text(stdout, &f, "result", results[kind]);
        rp_json_text(stdout, &f, "detail", detail);
        rp_json_text(stdout, &f, "fix", kind != ROW_OK ? fix : NULL);
        fputc('}', stdout);
    } else {
        printf("  %-34s %-5s %s\n", check, names[kind], detail);
        if (kind != ROW_OK && fix != NULL) printf("  %-34s %-5s fix: %s\n", "", "", fix);
    }
    if (kind == ROW_OK) d->oks++;
    if (kind == ROW_WARN) d->warns++;
    if (kind == ROW_FAIL) d->fails++;
}

/* ---- system facts ------------------------------------------------------------------------------ */

static void rp_doctor_system(rp_doctor_t *d, const rp_system_info_t *si) {
    char a[32], b[32], line[512];

    snprintf(line, sizeof line, "%s (allocation granularity %s)", rp_format_bytes(si->page_size, a, sizeof a),
             rp_format_bytes(si->alloc_granularity, b, sizeof b));
    rp_row(d, ROW_OK, "page size", line, NULL);

    if (si->huge_count == 0) {
        rp_row(d, ROW_OK, "huge page sizes", "none offered by the OS", NULL);
    } else {
        size_t used = 0;
        line[0] = '\0';
        for (size_t i = 0; i < si->huge_count; i++) {
            const rp_huge_size_t *h = &si->huge[i];
            if (h->total == SIZE_MAX)
                used += (size_t)snprintf(line + used, sizeof line - used, "%s%s", i ? ", " : "",
                                         rp_format_bytes(h->size, a, sizeof a));
            else
                used += (size_t)snprintf(line + used, sizeof line - used, "%s%s (%zu reserved, %zu free)",
                                         i ? ", " : "", rp_format_bytes(h->size, a, sizeof a), h->total, h->free);
            if (used >= sizeof line) break;
        }
        rp_row(d, ROW_OK, "huge page sizes", line, NULL);
    }
    rp_row(d, ROW_OK, "transparent huge pages", si->thp_mode, NULL);

    snprintf(line, sizeof line, "soft %s, hard %s", rp_format_bytes(si->memlock_soft, a, sizeof a),
             rp_format_bytes(si->memlock_hard, b, sizeof b));
    if (si->can_lock_unlimited || si->memlock_soft == SIZE_MAX) {
        rp_row(d, ROW_OK, "memlock limit (RLIMIT_MEMLOCK)", line, NULL);
    } else if (si->memlock_soft == 0) {
        rp_row(d, ROW_WARN, "memlock limit (RLIMIT_MEMLOCK)",
               strcat(line, ": this process may not lock any memory"), rp_remedy(RP_ERR_PERMISSION, RP_REMEDY_BRIEF));
    } else {
        snprintf(line + strlen(line), sizeof line - strlen(line), ": this process may lock at most %s in all",
                 rp_format_bytes(si->memlock_soft, a, sizeof a));
        rp_row(d, ROW_WARN, "memlock limit (RLIMIT_MEMLOCK)", line, rp_remedy(RP_ERR_LIMIT, RP_REMEDY_BRIEF));
    }
    rp_row(d, ROW_OK, "CAP_IPC_LOCK",
           si->can_lock_unlimited ? "yes: locking is not limited by RLIMIT_MEMLOCK" : "no: locking is limited by RLIMIT_MEMLOCK",
           NULL);

    rp_lockall_process_t self = {RP_SIZED(rp_lockall_process_t)};
    if (si->locked_known && rp_lockall_query(0, &self) == RP_OK && self.resident_locked_bytes != SIZE_MAX) {
        char c[32];
        snprintf(line, sizeof line, "%s charged (VmLck), %s resident in locked areas (%s proportional, smaps Locked:)",
                 rp_format_bytes(self.locked_bytes, a, sizeof a), rp_format_bytes(self.resident_locked_bytes, b, sizeof b),
                 rp_format_bytes(self.locked_pss_bytes, c, sizeof c));
        rp_row(d, ROW_OK, "locked by this process now", line, NULL);
    } else if (si->locked_known) {
        snprintf(line, sizeof line, "%s charged (VmLck); the locked areas cannot be read",
                 rp_format_bytes(si->locked_bytes, a, sizeof a));
        rp_row(d, ROW_OK, "locked by this process now", line, NULL);
    } else {
        rp_row(d, ROW_OK, "locked by this process now", "not reported by this OS", NULL);
    }

    rp_row(d, si->secret_memory ? ROW_OK : ROW_WARN, "secret memory (memfd_secret)",
           si->secret_memory ? "available" : "unavailable: the secret page source cannot be used",
           "use Linux 5.14+ with CONFIG_SECRETMEM; some distributions also need the boot option secretmem.enable=1");
    rp_row(d, ROW_OK, "guard pages",
           si->guard_lightweight ? "MADV_GUARD_INSTALL (no extra mappings)"
                                 : "PROT_NONE pages (MADV_GUARD_INSTALL needs Linux 6.13+; each guard costs a mapping)",
           NULL);

    if (si->core_pattern[0] || si->core_limit) {
        snprintf(line, sizeof line, "core_pattern '%s', RLIMIT_CORE %s, %s", si->core_pattern,
                 rp_format_bytes(si->core_limit, a, sizeof a), si->dumpable ? "dumpable" : "not dumpable");
        rp_row(d, ROW_OK, "core dumps", line, NULL);
    }
}

/* ---- self-check of one page source -------------------------------------------------------------- */

typedef struct rp_wipe_probe {
    const void *expect_addr;
    size_t seen_len;
    size_t nonzero;
} rp_wipe_probe_t;

static void rp_wipe_observer(const void *addr, size_t len, void *ctx) {
    rp_wipe_probe_t *probe = ctx;
    if (addr != probe->expect_addr) return;
    const volatile unsigned char *p = addr;
    size_t nonzero = 0;
    for (size_t i = 0; i < len; i++) nonzero += p[i] != 0;
    probe->seen_len = len;
    probe->nonzero = nonzero;
}

enum { RP_PROBE_PAGES = 16 };

/* The memory-area reader fails only when the OS withholds the page tables' summary: on Linux,
 * /proc/self/smaps (no /proc in a chroot or a sandbox that hides it). */
#define RP_DOCTOR_NO_AREAS_FIX \
    "run where /proc is mounted and readable (mount -t proc proc /proc); if it is, report this as a bug"

static void rp_doctor_source(rp_doctor_t *d, const char *name, const rp_page_allocator_t *pa, bool expect_locked,
                             bool expect_dontdump) {
    char check[64], line[512], a[32], b[32];
    const size_t len = RP_PROBE_PAGES * rp_page_size();

    snprintf(check, sizeof check, "%s: allocate %s", name, rp_format_bytes(len, a, sizeof a));
    if (pa == NULL) {
        rp_row(d, ROW_WARN, check, rp_last_error()->message,
               "use Linux 5.14+ with CONFIG_SECRETMEM; some distributions also need the boot option secretmem.enable=1");
        return;
    }
    bool locked = false;
    unsigned char *p = rp_pages_allocate_locked(pa, len, &locked);
    if (p == NULL) {
        const rp_error_t *e = rp_last_error();
        bool environment = e->status == RP_ERR_LIMIT || e->status == RP_ERR_PERMISSION;
        rp_row(d, environment ? ROW_WARN : ROW_FAIL, check, e->message,
               environment ? rp_remedy(e->status, RP_REMEDY_BRIEF) : "report this as a bug, with the line above");
        return;
    }
    /* The lock-failure detail, if any, is this thread's last error right now. */
    rp_error_t lock_error = *rp_last_error();
    rp_row(d, ROW_OK, check, "ok", NULL);
    memset(p, 0xA5, len); /* touch every page so residency figures are real */

    /* Both checks below read the kernel's account of the pages; without it neither can pass, and
     * the second must not read an area that was never filled in. */
    rp_area_t area = {RP_SIZED(rp_area_t)};
    bool have_area = rp_area_of(p, &area) == RP_OK;
    snprintf(check, sizeof check, "%s: locked in RAM", name);
    if (!expect_locked) {
        rp_row(d, ROW_OK, check, locked ? "locked" : "not locked, by design of this source", NULL);
    } else if (!locked) {
        rp_row(d, ROW_WARN, check, lock_error.message,
               lock_error.remedy ? lock_error.remedy : rp_remedy(RP_ERR_LIMIT, RP_REMEDY_BRIEF));
    } else if (!have_area) {
        rp_row(d, ROW_FAIL, check, rp_last_error()->message, RP_DOCTOR_NO_AREAS_FIX);
    } else if ((area.flags & RP_AREA_LOCKED) && area.locked >= len) {
        snprintf(line, sizeof line, "%s locked (smaps Locked:)", rp_format_bytes(area.locked, a, sizeof a));
        rp_row(d, ROW_OK, check, line, NULL);
    } else {
        snprintf(line, sizeof line, "reported locked, but smaps shows %s locked of %s",
                 rp_format_bytes(area.locked == SIZE_MAX ? 0 : area.locked, a, sizeof a),
                 rp_format_bytes(len, b, sizeof b));
        rp_row(d, ROW_FAIL, check, line, "report this as a bug, with the line above");
    }

    snprintf(check, sizeof check, "%s: excluded from core dumps", name);
    if (!expect_dontdump) {
        rp_row(d, ROW_OK, check, have_area && (area.flags & RP_AREA_DONTDUMP) ? "yes" : "no, by design of this source",
               NULL);
    } else if (!have_area) {
        rp_row(d, ROW_FAIL, check, "cannot tell: the memory areas could not be read", RP_DOCTOR_NO_AREAS_FIX);
    } else if (area.flags & RP_AREA_DONTDUMP) {
        rp_row(d, ROW_OK, check, "yes (smaps VmFlags dd)", NULL);
    } else {
        rp_row(d, ROW_FAIL, check, "smaps VmFlags lacks dd: these pages would appear in a core dump",
               "report this as a bug, with rampart doctor's output");
    }

    snprintf(check, sizeof check, "%s: wiped on free", name);
    rp_wipe_probe_t probe = {.expect_addr = p};
    rp_pages_set_free_observer(rp_wipe_observer, &probe);
    rp_status_t st = rp_pages_free_locked(pa, p, len);
    rp_pages_set_free_observer(NULL, NULL);
    if (st != RP_OK) {
        rp_row(d, ROW_FAIL, check, rp_last_error()->message, "report this as a bug, with the line above");
    } else if (probe.seen_len != len) {
        rp_row(d, ROW_FAIL, check, "the free path did not pass the pages through the wipe check",
               "report this as a bug, with rampart doctor's output");
    } else if (probe.nonzero != 0) {
        snprintf(line, sizeof line, "%zu of %zu bytes still held data after free", probe.nonzero, len);
        rp_row(d, ROW_FAIL, check, line, "report this as a bug, with rampart doctor's output");
    } else {
        snprintf(line, sizeof line, "all %zu bytes read back zero before release", len);
        rp_row(d, ROW_OK, check, line, NULL);
    }
}

static void rp_doctor_usage(FILE *out) {
    fprintf(out, "usage: rampart doctor [--json]\n"
                 "  what this machine and process allow (page sizes, huge pages, the memlock limit,\n"
                 "  CAP_IPC_LOCK, secret memory, guard pages, core dumps), then a live self-check of each\n"
                 "  page source: allocate, locked in RAM, excluded from core dumps, wiped on free. One row\n"
                 "  per check, ok / warn / FAIL, with a fix under every warn and FAIL.\n"
                 "  --json   one JSON object instead (schema: docs/cli-json.md)\n"
                 "exit status: 0 no check failed (warnings allowed), 1 a check failed, 2 bad arguments.\n");
}

int rp_cli_doctor(int argc, char **argv) {
    rp_doctor_t d = {0};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            rp_doctor_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            d.json = true;
            continue;
        }
        fprintf(stderr, "rampart doctor: %s '%s'\n", argv[i][0] == '-' ? "unknown option" : "unexpected argument",
                argv[i]);
        rp_doctor_usage(stderr);
        return RP_CLI_USAGE;
    }
    rp_system_info_t si = {RP_SIZED(rp_system_info_t)};
    if (rp_system_info(&si) != RP_OK) {
        fprintf(stderr, "rampart doctor: %s\n", rp_last_error()->message);
        return 1;
    }
    if (d.json) {
        bool f = true;
        fputc('{', stdout);
        rp_json_text(stdout, &f, "version", rp_version());
        rp_json_text(stdout, &f, "os", si.os);
        rp_json_key(stdout, &f, "rows");
        fputc('[', stdout);
    } else {
        printf("rampart %s doctor on %s\n\n", rp_version(), si.os);
        printf("  %-34s %-5s %s\n", "SYSTEM", "", "");
    }
    d.section = "system";
    rp_doctor_system(&d, &si);
    if (!d.json) printf("\n  %-34s %-5s %s\n", "SELF-CHECK OF PAGE SOURCES", "", "");
    d.section = "self-check";
    rp_doctor_source(&d, "os", rp_pages_os(), true, true);
    rp_doctor_source(&d, "secret", rp_pages_secret(), true, true);
    rp_doctor_source(&d, "plain", rp_pages_plain(), false, false);

    if (d.json) {
        bool f = false;
        fputc(']', stdout);
        rp_json_key(stdout, &f, "warnings");
        printf("%d", d.warns);
        rp_json_key(stdout, &f, "failures");
        printf("%d", d.fails);
        rp_json_bool(stdout, &f, "ok", d.fails == 0);
        fputs("}\n", stdout);
        return d.fails ? 1 : 0;
    }
    printf("\n%s: %d warning%s, %d failure%s\n", d.fails ? "FAILED" : "OK", d.warns, d.warns == 1 ? "" : "s",
           d.fails, d.fails == 1 ? "" : "s");
    if (d.warns || d.fails) {
        const char *full = si.memlock_soft == 0 ? rp_remedy(RP_ERR_PERMISSION, RP_REMEDY_FULL)
                                                : rp_remedy(RP_ERR_LIMIT, RP_REMEDY_FULL);
        if (!si.can_lock_unlimited && si.memlock_soft != SIZE_MAX) printf("\nHow to lift the memlock limit:\n%s", full);
    }
    return d.fails ? 1 : 0;
}
