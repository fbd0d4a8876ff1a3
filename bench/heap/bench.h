/* SPDX-License-Identifier: MIT */
/* bench/heap/bench.h — what every allocator workload shares: a deterministic PRNG, the scale
 * argument, memory touching and the checksum line.
 *
 * The workloads are plain C11 + pthreads and call only malloc, free and realloc, so any allocator
 * can be swapped in with LD_PRELOAD and measured on the same binary. Every workload:
 *   - takes two optional arguments, a scale factor (default 1.0) that multiplies its iteration
 *     count (the runner uses 1.0 for measurements, less for --quick and for the smoke check) and
 *     a thread count for the threaded ones (default 2);
 *   - draws every size and decision from a seeded PRNG, so the work is the same under every
 *     allocator, and derives its checksum only from values it wrote and read back (never from
 *     addresses), so the checksum must be identical under every allocator: a mismatch means an
 *     allocator lost or corrupted data;
 *   - writes the memory it allocates, so page faults and cache misses are part of the measurement;
 *   - prints "checksum <16 hex digits>" last, so the compiler cannot drop the work.
 */
#ifndef RAMPART_BENCH_HEAP_H
#define RAMPART_BENCH_HEAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Threads used by the multi-threaded workloads: the second argument (default 2, the reference
 * machine's core count; `make bench THREADS=16` passes 16). Single-threaded workloads ignore it. */
static int bench_threads = 2;

/* xorshift64*: tiny, fast, good enough for choosing sizes and slots. State must be non-zero. */
typedef struct {
  uint64_t s;
} bench_rng_t;

static inline bench_rng_t bench_rng(uint64_t seed) {
  /* splitmix64 of the seed, so nearby seeds give unrelated streams and the state is never 0. */
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  bench_rng_t r = {z ? z : 1};
  return r;
}

static inline uint64_t bench_next(bench_rng_t *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n), n > 0 (the multiply-shift avoids a division; bias is negligible here). */
static inline size_t bench_below(bench_rng_t *r, size_t n) {
  return (size_t)(((bench_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* The arguments: [SCALE [THREADS]]. SCALE (default 1) multiplies the work, THREADS (default 2)
 * sets bench_threads. Exits with a usage line on anything else. Returns the scale. */
static inline double bench_scale(int argc, char **argv) {
  double s = 1.0;
  char *end = NULL;
  bool ok = argc <= 3;
  if (ok && argc >= 2) {
    s = strtod(argv[1], &end);
    ok = end != argv[1] && *end == '\0' && s > 0.0 && s <= 100.0;
  }
  if (ok && argc == 3) {
    long t = strtol(argv[2], &end, 10);
    ok = end != argv[2] && *end == '\0' && t >= 1 && t <= 1024;
    bench_threads = (int)t;
  }
  if (!ok) {
    fprintf(stderr, "usage: %s [SCALE [THREADS]]   (0 < SCALE <= 100, default 1: multiplies the work; "
                    "1 <= THREADS <= 1024, default 2)\n", argv[0]);
    exit(2);
  }
  return s;
}

/* base * scale, at least 1. */
static inline uint64_t bench_count(uint64_t base, double scale) {
  double n = (double)base * scale;
  return n < 1.0 ? 1 : (uint64_t)n;
}

/* Stops the program with a message: allocation failure is a result, never something to ignore. */
static inline void *bench_check(void *p, size_t size) {
  if (p == NULL) {
    fprintf(stderr, "bench: out of memory allocating %zu bytes\n", size);
    exit(3);
  }
  return p;
}

/* Fills n bytes with a pattern derived from tag (the whole object: the work is real). */
static inline void bench_fill(void *p, size_t n, uint64_t tag) {
  memset(p, (int)(tag & 0xff), n);
  if (n >= sizeof(uint64_t))
    memcpy(p, &tag, sizeof tag);
}

/* Like bench_fill for objects of any size, but writes only the first 64 bytes and the last one
 * (bench_read checks both ends): for workloads whose subject is the allocator, not memset. */
static inline void bench_touch(void *p, size_t n, uint64_t tag) {
  bench_fill(p, n < 64 ? n : 64, tag);
  ((unsigned char *)p)[n - 1] = (unsigned char)(tag & 0xff);
}

/* Reads back what bench_fill wrote (n > 0): the tag, or the fill byte for objects under 8 bytes,
 * combined with the last byte so both ends of the object are checked. */
static inline uint64_t bench_read(const void *p, size_t n) {
  uint64_t tag = 0;
  if (n >= sizeof(uint64_t))
    memcpy(&tag, p, sizeof tag);
  else if (n > 0)
    tag = *(const unsigned char *)p;
  return tag ^ ((const unsigned char *)p)[n - 1];
}

/* Mixes a value into a running checksum; order-sensitive, so single-threaded use only. */
static inline uint64_t bench_mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h;
}

/* Stores a pointer where the compiler must assume someone reads it, so a malloc/free pair whose
 * result is otherwise unused cannot be optimised away. */
static void *volatile bench_sink;

static inline void bench_escape(void *p) {
  bench_sink = p;
}

static inline void bench_report(uint64_t checksum) {
  printf("checksum %016llx\n", (unsigned long long)checksum);
}

#endif
