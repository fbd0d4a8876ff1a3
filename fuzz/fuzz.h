/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz.h — what the three fuzz targets share: the entry point libFuzzer calls, a reader
 * that turns the input into a sequence of operation bytes and numbers, and the check that stops
 * the run when the library disagrees with the harness's model.
 *
 * Each target reads its input as operations (one opcode byte, then its arguments); an input
 * that runs out simply ends the sequence (every read past the end gives 0). The reader never
 * fails, so every byte string is a valid program: libFuzzer spends no time on rejected inputs.
 */
#ifndef RAMPART_FUZZ_H
#define RAMPART_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry point; fuzz/replay_main.c calls it too, for the corpus replay under CTest. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_input {
    const uint8_t *p;
    size_t left;
} fz_input_t;

static inline uint8_t fz_u8(fz_input_t *in) {
    if (in->left == 0) return 0;
    in->left--;
    return *in->p++;
}
static inline uint16_t fz_u16(fz_input_t *in) { return (uint16_t)(fz_u8(in) | (unsigned)fz_u8(in) << 8); }
static inline uint32_t fz_u32(fz_input_t *in) { return fz_u16(in) | (uint32_t)fz_u16(in) << 16; }

/* A size up to cap, spread over the interesting ranges: one selector byte picks tiny (0..63),
 * small (up to 4 KiB), medium (up to 64 KiB) or anything up to cap, so both the size classes and
 * the large paths are reached often. */
static inline size_t fz_size(fz_input_t *in, size_t cap) {
    uint8_t sel = fz_u8(in);
    uint32_t v = fz_u32(in);
    size_t n;
    switch (sel & 3) {
    case 0: n = v & 63; break;
    case 1: n = v & 4095; break;
    case 2: n = v & 65535; break;
    default: n = v; break;
    }
    return cap ? n % (cap + 1) : 0;
}

/* The bytes the harness writes into an object with pattern seed seed: byte i is
 * fz_table[(seed * 7919 + i) % FZ_PERIOD], a fixed pseudo-random table. Two objects start at
 * different places of the table (seeds below 65536 give distinct starts), so a block handed out
 * twice, data copied to the wrong place or bytes lost by a realloc show up as a mismatch. Filling
 * and checking are memcpy/memcmp of table runs: fast, and outside the coverage instrumentation
 * (byte loops here would dominate a fuzzing run). */
#define FZ_PERIOD 65536u
static inline const uint8_t *fz_table(void) {
    static uint8_t table[FZ_PERIOD];
    static int ready;
    if (!ready) {
        uint32_t x = 0x9e3779b9u;
        for (size_t i = 0; i < FZ_PERIOD; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            table[i] = (uint8_t)(x >> 7);
        }
        ready = 1;
    }
    return table;
}
static inline size_t fz_phase(uint32_t seed, size_t i) { return (size_t)((seed * 7919u + (uint32_t)i) % FZ_PERIOD); }
static inline void fz_fill(void *p, size_t from, size_t to, uint32_t seed) {
    const uint8_t *t = fz_table();
    uint8_t *b = p;
    while (from < to) {
        size_t at = fz_phase(seed, from), n = FZ_PERIOD - at;
        if (n > to - from) n = to - from;
        memcpy(b + from, t + at, n);
        from += n;
    }
}
/* Index of the first byte in [from, to) that is not the pattern, or to when all are. */
static inline size_t fz_find_bad(const void *p, size_t from, size_t to, uint32_t seed) {
    const uint8_t *t = fz_table(), *b = p;
    while (from < to) {
        size_t at = fz_phase(seed, from), n = FZ_PERIOD - at;
        if (n > to - from) n = to - from;
        if (memcmp(b + from, t + at, n) != 0)
            for (size_t k = 0; k < n; k++)
                if (b[from + k] != t[at + k]) return from + k;
        from += n;
    }
    return to;
}
static inline size_t fz_find_nonzero(const void *p, size_t from, size_t to) {
    static const uint8_t zeros[4096];
    const uint8_t *b = p;
    while (from < to) {
        size_t n = to - from < sizeof zeros ? to - from : sizeof zeros;
        if (memcmp(b + from, zeros, n) != 0)
            for (size_t k = 0; k < n; k++)
                if (b[from + k] != 0) return from + k;
        from += n;
    }
    return to;
}

/* The model and the library disagree: say where and stop (abort: libFuzzer saves the input,
 * the CTest replay fails). */
#define FZ_CHECK(cond, ...)                                                                    \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: model check failed: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#endif /* RAMPART_FUZZ_H */
