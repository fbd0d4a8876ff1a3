/* SPDX-License-Identifier: MIT */
/* core/remedy.c — what to do when memory cannot be locked, written once.
 *
 * Every layer that locks (page allocators, process-wide locking, mappings, pools) and the CLI
 * report lock failures through rp__fail_lock() and rp_remedy(), so the diagnosis and the recipes
 * are the same wherever the failure shows up.
 */
#include <stdio.h>

#include "internal.h"
#include "os/os.h"

static const char rp__brief_permission[] =
    "grant CAP_IPC_LOCK (sudo setcap cap_ipc_lock=+ep BINARY) or raise the memlock limit "
    "(ulimit -l unlimited; systemd LimitMEMLOCK=infinity; docker --cap-add=IPC_LOCK --ulimit memlock=-1:-1)";
static const char rp__brief_limit[] =
    "raise the memlock limit (ulimit -l unlimited; /etc/security/limits.conf memlock; systemd "
    "LimitMEMLOCK=infinity; docker --ulimit memlock=-1:-1) or grant CAP_IPC_LOCK";
static const char rp__brief_unsupported[] =
    "this platform cannot lock memory; keep secrets short-lived and disable swap if they must never reach disk";

/* The recipes shared by both full texts; a macro so each full text is one string literal. */
#define RP__RECIPES \
    "  Shell (this session only; the hard limit caps what an unprivileged user may set):\n" \
    "      ulimit -l unlimited            # or a size in KiB, e.g. ulimit -l 65536\n" \
    "  All logins of a user (/etc/security/limits.conf; takes effect at the next login):\n" \
    "      USER  soft  memlock  unlimited\n" \
    "      USER  hard  memlock  unlimited\n" \
    "  One binary, without changing limits (lasts until the file is replaced; the loader then\n" \
    "  ignores LD_PRELOAD, so the program must lock itself rather than run under rampart run):\n" \
    "      sudo setcap cap_ipc_lock=+ep /path/to/BINARY\n" \
    "  systemd service (then: systemctl daemon-reload && systemctl restart UNIT):\n" \
    "      [Service]\n" \
    "      LimitMEMLOCK=infinity\n" \
    "      AmbientCapabilities=CAP_IPC_LOCK\n" \
    "      # only if the unit restricts capabilities (unit files have no comments after a value):\n" \
    "      CapabilityBoundingSet=CAP_IPC_LOCK\n" \
    "  docker (a new container is needed):\n" \
    "      docker run --cap-add=IPC_LOCK --ulimit memlock=-1:-1 IMAGE\n" \
    "  docker compose (then: docker compose up -d --force-recreate):\n" \
    "      cap_add: [IPC_LOCK]\n" \
    "      ulimits: { memlock: { soft: -1, hard: -1 } }\n" \
    "  Kubernetes (the pod must be recreated; the memlock limit comes from the container runtime):\n" \
    "      securityContext: { capabilities: { add: [\"IPC_LOCK\"] } }\n" \
    "  In a user namespace (rootless docker/podman, Kubernetes hostUsers: false) CAP_IPC_LOCK does\n" \
    "  not lift the limit: raise the memlock limit where the container is started instead.\n" \
    "  Check the result with: rampart status PID   (or rampart doctor)\n"

static const char rp__full_permission[] =
    "Cause: the process may not lock memory at all: it lacks CAP_IPC_LOCK and its memlock\n"
    "limit (RLIMIT_MEMLOCK) is 0. Any one of these fixes it:\n" RP__RECIPES;
static const char rp__full_limit[] =
    "Cause: the memory to lock exceeds the memlock limit (RLIMIT_MEMLOCK; locked pages of\n"
    "the whole process count against it). Any one of these fixes it:\n" RP__RECIPES;

const char *rp_remedy(rp_status_t status, rp_remedy_form_t form) {
    switch (status) {
    case RP_ERR_PERMISSION: return form == RP_REMEDY_FULL ? rp__full_permission : rp__brief_permission;
    case RP_ERR_LIMIT: return form == RP_REMEDY_FULL ? rp__full_limit : rp__brief_limit;
    case RP_ERR_UNSUPPORTED: return rp__brief_unsupported;
    default: return NULL;
    }
}

const char *rp_format_bytes(size_t bytes, char *buf, size_t size) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes == SIZE_MAX) {
        snprintf(buf, size, "unlimited");
        return buf;
    }
    unsigned u = 0;
    while (u + 1 < sizeof units / sizeof units[0] && (bytes >> (10 * (u + 1))) != 0) u++;
    size_t unit = (size_t)1 << (10 * u);
    if (bytes % unit == 0) snprintf(buf, size, "%zu %s", bytes / unit, units[u]);
    else snprintf(buf, size, "%.1f %s", (double)bytes / (double)unit, units[u]);
    return buf;
}

rp_status_t rp__fail_lock(int os_error, size_t len, const char *what) {
    rp_status_t status = rp__os_classify_lock(os_error);
    size_t soft = 0, hard = 0;
    char s[32], h[32], n[32], words[128];
    rp__os_errstr(os_error, words, sizeof words);
    if (rp__os_lock_limit(&soft, &hard) == 0) {
        rp__fail(status, os_error, "%s of %s failed: %s (memlock limit soft %s, hard %s)", what,
                 rp_format_bytes(len, n, sizeof n), words, rp_format_bytes(soft, s, sizeof s),
                 rp_format_bytes(hard, h, sizeof h));
    } else {
        rp__fail(status, os_error, "%s of %s failed: %s", what, rp_format_bytes(len, n, sizeof n), words);
    }
    rp__error_set_remedy(rp_remedy(status, RP_REMEDY_BRIEF));
    rp__verbose_failure();
    return status;
}
