/* SPDX-License-Identifier: MIT */
/* core/env.c — the one place that reads RAMPART_* environment variables. Every variable is
 * parsed strictly: a value outside its grammar is RP_ERR_INVALID with a message that names the
 * variable, shows the value and states the grammar; it is never replaced by a default without a
 * word. Empty or unset means "not set" (the default applies).
 *
 * Security-relevant settings (those that change what is locked, or which library is injected)
 * are read with rp__os_getenv_secure: in a secure-execution process (set-user-ID, set-group-ID or
 * file-capability program: Linux AT_SECURE) they are ignored, because the user who started the
 * program chose them and the program runs with more privilege than that user. The README table
 * of variables says which ones are secure.
 *
 * No allocation: the heap reads its options here during its own initialisation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

/* Around a value: what a shell, an env file or a YAML block may leave there (a trailing newline). */
#define RP__ENV_SPACE " \t\r\n\v\f"

const char *rp__env_printable(const char *src, size_t len, char *dst, size_t size) {
    size_t i = 0;
    for (; i < len && i + 1 < size && src[i] != '\0'; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
    dst[i] = '\0';
    return dst;
}

const char *rp__env_get(const char *name, bool secure) {
    const char *v = secure ? rp__os_getenv_secure(name) : getenv(name);
    if (v == NULL || v[strspn(v, RP__ENV_SPACE)] == '\0') return NULL;
    return v;
}

/* The value without surrounding white space: [*start, *start + *len). */
static void rp__env_trim(const char *v, const char **start, size_t *len) {
    v += strspn(v, RP__ENV_SPACE);
    size_t n = strlen(v);
    while (n > 0 && strchr(RP__ENV_SPACE, v[n - 1]) != NULL) n--;
    *start = v;
    *len = n;
}

static rp_status_t rp__env_bad(const char *name, const char *value, const char *grammar) {
    char shown[65];
    return rp__fail(RP_ERR_INVALID, 0, "%s=\"%s\": %s", name, rp__env_printable(value, strlen(value), shown, sizeof shown),
                    grammar);
}

/* Decimal digits [s, s+len) into *out; false when empty, not all digits, or over SIZE_MAX. */
static bool rp__env_digits(const char *s, size_t len, size_t *out, size_t *used) {
    size_t v = 0, i = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        if (rp__mul_overflows(v, 10, &v) || rp__add_overflows(v, (size_t)(s[i] - '0'), &v)) return false;
    *used = i;
    *out = v;
    return i > 0;
}

#define RP__ENV_BYTES_GRAMMAR                                                                          \
    "expected a byte count: digits with an optional k, m, g or t suffix (powers of 1024, optionally " \
    "followed by iB or B), e.g. 0, 4096, 512k, 64M, 1GiB"

rp_status_t rp__env_bytes(const char *name, bool secure, size_t *out) {
    const char *v = rp__env_get(name, secure), *s;
    if (v == NULL) return RP_OK;
    size_t len, n, used;
    rp__env_trim(v, &s, &len);
    if (!rp__env_digits(s, len, &n, &used)) return rp__env_bad(name, v, RP__ENV_BYTES_GRAMMAR);
    const char *unit = s + used, *end = s + len;
    unsigned shift = 0;
    if (unit < end) {
        switch (*unit) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: break;
        }
        if (shift != 0) unit++;
        if (shift != 0 && unit < end && *unit == 'i') unit++;
        if (unit < end && (*unit == 'B' || *unit == 'b')) unit++;
        /* "64iB" and "64 M" are not byte counts; "64kiB" without B is not either. */
        if (unit != end || (unit[-1] == 'i')) return rp__env_bad(name, v, RP__ENV_BYTES_GRAMMAR);
    }
    if (shift != 0 && (sizeof(size_t) * 8 <= shift || n > (SIZE_MAX >> shift)))
        return rp__fail(RP_ERR_INVALID, 0, "%s=\"%.*s\": too large for this machine's address space (at most %zu bytes)",
                        name, (int)(len > 40 ? 40 : len), s, (size_t)SIZE_MAX);
    *out = n << shift;
    return RP_OK;
}

rp_status_t rp__env_count(const char *name, bool secure, bool minus_one, size_t *out) {
    const char *v = rp__env_get(name, secure), *s;
    if (v == NULL) return RP_OK;
    size_t len, n, used;
    rp__env_trim(v, &s, &len);
    if (minus_one && len == 2 && s[0] == '-' && s[1] == '1') {
        *out = SIZE_MAX;
        return RP_OK;
    }
    if (!rp__env_digits(s, len, &n, &used) || used != len)
        return rp__env_bad(name, v, minus_one ? "expected a whole number (digits only), or -1"
                                              : "expected a whole number (digits only)");
    *out = n;
    return RP_OK;
}

rp_status_t rp__env_word(const char *name, bool secure, const char *const *words, size_t count, size_t *out) {
    const char *v = rp__env_get(name, secure), *s;
    if (v == NULL) return RP_OK;
    size_t len;
    rp__env_trim(v, &s, &len);
    for (size_t i = 0; i < count; i++) {
        if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0) {
            *out = i;
            return RP_OK;
        }
    }
    char grammar[160];
    size_t used = (size_t)snprintf(grammar, sizeof grammar, "expected one of:");
    for (size_t i = 0; i < count && used < sizeof grammar; i++)
        used += (size_t)snprintf(grammar + used, sizeof grammar - used, " %s", words[i]);
    return rp__env_bad(name, v, grammar);
}

void rp__env_exit(const char *who) {
    const char *msg = rp_last_error()->message;
    rp__os_write_stderr(who, strlen(who));
    rp__os_write_stderr(": ", 2);
    rp__os_write_stderr(msg, strlen(msg));
    static const char tail[] = "; the process stops here (exit 125): fix the value, or unset it for the default\n";
    rp__os_write_stderr(tail, sizeof tail - 1);
    _Exit(RP__ENV_EXIT_FAILURE);
}
