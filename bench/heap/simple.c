/* SPDX-License-Identifier: MIT */
/* bench/heap/simple.c — allocate a batch of one size, free it, again (glibc bench-malloc-simple).
 *
 * Like glibc's benchtests/bench-malloc-simple: each of bench_threads threads allocates a batch of
 * 25, 100, 400 or 1600 blocks of one size (16 to 256 bytes), writes a word in each, then frees
 * them in allocation order, and repeats over every size and batch length: the fast paths of
 * malloc and free with a live set small enough to stay in cache. The total work is the same at
 * any thread count.
 */
#include "bench.h"

#include <pthread.h>

typedef struct {
  uint64_t repeats, h;
} worker_t;

static void *work(void *arg) {
  worker_t *w = arg;
  static const size_t sizes[] = {16, 32, 64, 128, 256};
  static const size_t batches[] = {25, 100, 400, 1600};
  void **obj = bench_check(calloc(1600, sizeof *obj), 1600 * sizeof *obj);
  uint64_t h = 0;
  for (uint64_t r = 0; r < w->repeats; r++) {
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        size_t n = batches[b];
        for (size_t i = 0; i < n; i++) {
          obj[i] = bench_check(malloc(sizes[s]), sizes[s]);
          *(uint64_t *)obj[i] = r + i;
        }
        for (size_t i = 0; i < n; i++) {
          h += *(uint64_t *)obj[i];
          free(obj[i]);
        }
      }
    }
  }
  free(obj);
  w->h = h;
  return NULL;
}

int main(int argc, char **argv) {
  uint64_t repeats = bench_count(2000, bench_scale(argc, argv));
  const int nt = bench_threads;
  worker_t *w = bench_check(calloc((size_t)nt, sizeof *w), (size_t)nt * sizeof *w);
  pthread_t *th = bench_check(calloc((size_t)nt, sizeof *th), (size_t)nt * sizeof *th);
  for (int t = 0; t < nt; t++) {
    w[t].repeats = repeats / (uint64_t)nt + 1;
    if (pthread_create(&th[t], NULL, work, &w[t]) != 0) {
      fprintf(stderr, "simple: pthread_create failed\n");
      return 1;
    }
  }
  uint64_t h = 0;
  for (int t = 0; t < nt; t++) {
    pthread_join(th[t], NULL);
    h += w[t].h;
  }
  free(w);
  free(th);
  bench_report(h);
  return 0;
}
