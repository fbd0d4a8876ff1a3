/* SPDX-License-Identifier: MIT */
/* json.c — the few JSON pieces the commands' --json output needs (docs/cli-json.md has the
 * schemas): strings escaped per RFC 8259, byte counts that may be unknown (null), and members
 * separated by commas without the callers counting them. */
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

void rp_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", out);
        else if (*p == '\t') fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

void rp_json_key(FILE *out, bool *first, const char *key) {
    if (!*first) fputc(',', out);
    *first = false;
    rp_json_string(out, key);
    fputc(':', out);
}

void rp_json_bytes(FILE *out, bool *first, const char *key, size_t n) {
    rp_json_key(out, first, key);
    if (n == SIZE_MAX) fputs("null", out);
    else fprintf(out, "%zu", n);
}

void rp_json_text(FILE *out, bool *first, const char *key, const char *s) {
    rp_json_key(out, first, key);
    if (s == NULL) fputs("null", out);
    else rp_json_string(out, s);
}

void rp_json_bool(FILE *out, bool *first, const char *key, bool v) {
    rp_json_key(out, first, key);
    fputs(v ? "true" : "false", out);
}
