/* SPDX-License-Identifier: MIT */
/* lockall/options.c — rp_lockall_options_t as the library holds it, its check, and the
 * RAMPART_LOCK grammar (rp_lockall_options_parse). */
#include <stdio.h>
#include <string.h>

#include "lockall/lockall_internal.h"

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

/* A configuration that asks for nothing is a caller's mistake: refused before any system call. */
rp_status_t rp__lockall_check(const rp_lockall_options_t *c, const char *who) {
    if (c->current || c->future) return RP_OK;
    if (c->onfault)
        return rp__fail(RP_ERR_INVALID, 0,
                        "%s: onfault needs current or future: it says how pages are locked, not which", who);
    return rp__fail(RP_ERR_INVALID, 0, "%s: nothing to lock: neither current nor future is set", who);
}
