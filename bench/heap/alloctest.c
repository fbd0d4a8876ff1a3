/* SPDX-License-Identifier: MIT */
/* bench/heap/alloctest.c — many sizes, a working set per thread (alloc-test style).
 *
 * Shaped like the alloc-test program of mimalloc-bench: each of bench_threads threads keeps 8192
 * slots and replaces a random one at every step, with sizes drawn from a skewed mix (60% 8-128 B,
 * 30% up to 1 KiB, 9% up to 8 KiB, 1% up to 64 KiB), so every size class and the page-level
 * slow paths are exercised, not only one hot class. Frees are local to the allocating thread.
 * run.py runs it with 1 thread (alloctest1) and with the run's thread count (alloctestN).
 *
 * Each thread's PRNG and checksum are its own, so the result does not depend on scheduling.
 */
#include "bench.h"

#include <pthread.h>

#define SLOTS 8192

typedef struct {
  uint64_t steps, seed, h;
} worker_t;

static size_t pick_size(bench_rng_t *r) {
  size_t k = bench_below(r, 100);
  if (k < 60) return 8 + bench_below(r, 121);
  if (k < 90) return 128 + bench_below(r, 897);
  if (k < 99) return 1024 + bench_below(r, 7169);
  return 8192 + bench_below(r, 57345);
}

static void *work(void *arg) {
  worker_t *w = arg;
  bench_rng_t r = bench_rng(w->seed);
  void **obj = bench_check(calloc(SLOTS, sizeof *obj), SLOTS * sizeof *obj);
  uint32_t *size = bench_check(calloc(SLOTS, sizeof *size), SLOTS * sizeof *size);
  uint64_t h = 0, serial = 0;
  for (uint64_t i = 0; i < w->steps; i++) {
    size_t v = bench_below(&r, SLOTS);
    if (obj[v] != NULL) {
      h = bench_mix(h, bench_read(obj[v], size[v]));
      free(obj[v]);
    }
    size_t n = pick_size(&r);
    obj[v] = bench_check(malloc(n), n);
    size[v] = (uint32_t)n;
    bench_touch(obj[v], n, serial++);
  }
  for (size_t v = 0; v < SLOTS; v++) {
    if (obj[v] == NULL) continue;
    h = bench_mix(h, bench_read(obj[v], size[v]));
    free(obj[v]);
  }
  free(obj);
  free(size);
  w->h = h;
  return NULL;
}

int main(int argc, char **argv) {
  uint64_t steps = bench_count(20000000, bench_scale(argc, argv));
  const int nt = bench_threads;
  worker_t *w = bench_check(calloc((size_t)nt, sizeof *w), (size_t)nt * sizeof *w);
  pthread_t *th = bench_check(calloc((size_t)nt, sizeof *th), (size_t)nt * sizeof *th);
  for (int t = 0; t < nt; t++) {
    w[t].steps = steps / (uint64_t)nt + 1; /* the same total work at any thread count */
    w[t].seed = 700 + (uint64_t)t;
    if (pthread_create(&th[t], NULL, work, &w[t]) != 0) {
      fprintf(stderr, "alloctest: pthread_create failed\n");
      return 1;
    }
  }
  uint64_t h = 0;
  for (int t = 0; t < nt; t++) {
    pthread_join(th[t], NULL);
    h = bench_mix(h, w[t].h);
  }
  free(w);
  free(th);
  bench_report(h);
  return 0;
}
