/* SPDX-License-Identifier: MIT */
/* bench/heap/larson.c — workload 3: a server whose objects are freed by other threads (larson).
 *
 * Like Larson & Krishnan's server simulation: each worker owns an array of live objects (8 to
 * 1000 bytes) and repeatedly replaces a random one, freeing the old object and allocating a new
 * one. After each round every worker hands its array to a freshly created thread and exits, so
 * every object is freed by a thread other than the one that allocated it, and the allocating
 * thread is gone by then: cross-thread frees and the recycling of dead threads' memory are what
 * this measures, with bench_threads workers running at once.
 *
 * Each array carries its own PRNG and checksum and is worked on by exactly one thread per round,
 * so the result does not depend on scheduling.
 */
#include "bench.h"

#include <pthread.h>

/* larsonsized.c includes this file with its own sized free. */
#ifndef LARSON_FREE
#  define LARSON_FREE(p, n) free(p)
#  define LARSON_SETUP() ((void)0)
#endif

#define SLOTS 4000
#define MIN_SIZE 8
#define MAX_SIZE 1000

typedef struct {
  void *obj[SLOTS];
  uint16_t size[SLOTS];
  bench_rng_t rng;
  uint64_t h;
  uint64_t steps;
  uint64_t serial;
} worker_t;

static void *work(void *arg) {
  worker_t *w = arg;
  for (uint64_t i = 0; i < w->steps; i++) {
    size_t v = bench_below(&w->rng, SLOTS);
    w->h = bench_mix(w->h, bench_read(w->obj[v], w->size[v]));
    LARSON_FREE(w->obj[v], w->size[v]);
    size_t n = MIN_SIZE + bench_below(&w->rng, MAX_SIZE - MIN_SIZE + 1);
    w->obj[v] = bench_check(malloc(n), n);
    w->size[v] = (uint16_t)n;
    bench_fill(w->obj[v], n, w->serial++);
  }
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_scale(argc, argv);
  LARSON_SETUP();
  const uint64_t rounds = 20;
  uint64_t steps = bench_count(500000, scale); /* per worker and round */
  const int nt = bench_threads;
  worker_t *w = bench_check(calloc((size_t)nt, sizeof *w), (size_t)nt * sizeof *w);
  pthread_t *th = bench_check(calloc((size_t)nt, sizeof *th), (size_t)nt * sizeof *th);

  /* The main thread fills the arrays: the first round already frees foreign objects. */
  for (int t = 0; t < nt; t++) {
    w[t].rng = bench_rng(300 + (uint64_t)t);
    w[t].steps = steps;
    for (size_t v = 0; v < SLOTS; v++) {
      size_t n = MIN_SIZE + bench_below(&w[t].rng, MAX_SIZE - MIN_SIZE + 1);
      w[t].obj[v] = bench_check(malloc(n), n);
      w[t].size[v] = (uint16_t)n;
      bench_fill(w[t].obj[v], n, w[t].serial++);
    }
  }
  for (uint64_t round = 0; round < rounds; round++) {
    for (int t = 0; t < nt; t++) {
      /* Rotate which array each new thread gets, so no array stays with one thread slot. */
      worker_t *mine = &w[(t + round) % nt];
      if (pthread_create(&th[t], NULL, work, mine) != 0) {
        fprintf(stderr, "larson: pthread_create failed\n");
        return 1;
      }
    }
    for (int t = 0; t < nt; t++)
      pthread_join(th[t], NULL);
  }
  uint64_t h = 0;
  for (int t = 0; t < nt; t++) {
    for (size_t v = 0; v < SLOTS; v++) {
      w[t].h = bench_mix(w[t].h, bench_read(w[t].obj[v], w[t].size[v]));
      LARSON_FREE(w[t].obj[v], w[t].size[v]);
    }
    h = bench_mix(h, w[t].h);
  }
  free(w);
  free(th);
  bench_report(h);
  return 0;
}
