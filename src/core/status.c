/* SPDX-License-Identifier: MIT */
/* core/status.c — version, status names, and the thread's last-error record.
 *
 * Errors are reported twice: as the rp_status_t a function returns, and as a per-thread record
 * (rp_last_error) that keeps the raw OS error, a message with the numbers that matter (offsets,
 * limits, sizes) and, for lock failures, the remedy. The record is thread-local so it needs no
 * lock and no allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

#define RP_STR2(x) #x
#define RP_STR(x) RP_STR2(x)

const char *rp_version(void) {
    return RP_STR(RP_VERSION_MAJOR) "." RP_STR(RP_VERSION_MINOR) "." RP_STR(RP_VERSION_PATCH);
}

unsigned rp_version_number(void) { return RP_VERSION_NUMBER; }

const char *rp_strerror(rp_status_t status) {
    switch (status) {
    case RP_OK: return "success";
    case RP_ERR_INVALID: return "invalid argument";
    case RP_ERR_BOUNDS: return "out of bounds";
    case RP_ERR_PERMISSION: return "permission denied";
    case RP_ERR_LIMIT: return "resource limit exceeded";
    case RP_ERR_NOMEM: return "out of memory";
    case RP_ERR_UNSUPPORTED: return "not supported on this platform";
    case RP_ERR_NOT_OWNED: return "pointer not owned by this allocator";
    case RP_ERR_EXISTS: return "already exists";
    case RP_ERR_CORRUPT: return "corruption detected";
    case RP_ERR_OS: return "operating system error";
    case RP_ERR_IO: return "input/output error (the backing file cannot supply the memory)";
    }
    return "unknown status";
}

static _Thread_local rp_error_t rp__last_error;

const rp_error_t *rp_last_error(void) { return &rp__last_error; }

static rp_status_t rp__record(rp_status_t status, int os_error, const char *fmt, va_list ap) {
    rp_error_t *e = &rp__last_error;
    e->status = status;
    e->os_error = os_error;
    e->remedy = NULL;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    return status;
}

rp_status_t rp__fail(rp_status_t status, int os_error, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rp__record(status, os_error, fmt, ap);
    va_end(ap);
    return status;
}

rp_status_t rp__fail_os(int os_error, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rp_status_t status = rp__record(rp__os_classify(os_error), os_error, fmt, ap);
    va_end(ap);
    rp_error_t *e = &rp__last_error;
    size_t used = strlen(e->message);
    char words[128];
    snprintf(e->message + used, sizeof e->message - used, ": %s",
             rp__os_errstr(os_error, words, sizeof words));
    rp__verbose_failure();
    return status;
}

void rp__error_set_remedy(const char *remedy) { rp__last_error.remedy = remedy; }

void rp__error_append(const char *fmt, ...) {
    rp_error_t *e = &rp__last_error;
    size_t used = strlen(e->message);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message + used, sizeof e->message - used, fmt, ap);
    va_end(ap);
}

void rp__assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "rampart: assertion failed: %s (%s:%d)\n", cond, file, line);
    abort();
}
