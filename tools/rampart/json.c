/* SPDX-License-Identifier: MIT */
/* json.c — the few JSON pieces the commands' --json output needs (docs/cli-json.md has the
 * schemas): strings escaped per RFC 8259, byte counts that may be unknown (null), and members
 * separated by commas without the callers counting them. */
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* The length of the well-formed UTF-8 sequence at p (2 to 4 bytes; Unicode's table 3-7: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. p[0] is 0x80 or more. */
static size_t rp_json_utf8_len(const unsigned char *p) {
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef) n = 3, lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4) n = 4, lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;
    else return 0;
    if (p[1] < lo || p[1] > hi) return 0; /* a NUL ends the check here too */
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf) return 0;
    return n;
}

/* JSON text must be UTF-8 (RFC 8259, 8.1), and the strings here come from the system: a process
 * name the kernel cut to 15 bytes in the middle of a character, one set with prctl, a file name in
 * another encoding. A byte that does not start a well-formed sequence is written as U+FFFD, so
 * that every parser takes the output; the text output keeps the bytes. */
void rp_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p; p++) {
        if (*p == '"' || *p == '\\') {
            fprintf(out, "\\%c", *p);
        } else if (*p == '\n') {
            fputs("\\n", out);
        } else if (*p == '\t') {
            fputs("\\t", out);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\u%04x", *p);
        } else if (*p < 0x80) {
            fputc(*p, out);
        } else {
            size_t n = rp_json_utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", out);
            } else {
                fwrite(p, 1, n, out);
                p += n - 1;
            }
        }
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
