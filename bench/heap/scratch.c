/* SPDX-License-Identifier: MIT */
/* bench/heap/scratch.c — workload 5: passive false sharing between threads (cache-scratch).
 *
 * Like Hoard's cache-scratch: the main thread allocates one small object per worker (so the
 * objects sit next to each other, likely in one cache line) and hands them out; each worker frees
 * its object, then repeatedly allocates an object of the same size, writes it many times and frees
 * it. An allocator that gives a worker the block it just freed, or one next to another thread's,
 * makes the workers write the same cache line and the time explodes; one that keeps each
 * thread's small objects apart runs at memory-write speed. bench_threads workers run at once.
 */
#include "bench.h"

#include <pthread.h>

#define OBJ_SIZE 8
#define WRITES 500

typedef struct {
  unsigned char *first;
  uint64_t iterations;
  uint64_t sum;
  int id;
} worker_t;

static void *work(void *arg) {
  worker_t *w = arg;
  uint64_t sum = 0;
  free(w->first);
  for (uint64_t i = 0; i < w->iterations; i++) {
    volatile unsigned char *a = bench_check(malloc(OBJ_SIZE), OBJ_SIZE);
    for (int k = 0; k < OBJ_SIZE; k++)
      a[k] = 0;
    for (int j = 0; j < WRITES; j++) {
      for (int k = 0; k < OBJ_SIZE; k++)
        a[k] = (unsigned char)(a[k] + j + k + w->id);
    }
    for (int k = 0; k < OBJ_SIZE; k++)
      sum += a[k];
    free((void *)a);
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  uint64_t iterations = bench_count(180000, bench_scale(argc, argv));
  const int nt = bench_threads;
  worker_t *w = bench_check(calloc((size_t)nt, sizeof *w), (size_t)nt * sizeof *w);
  pthread_t *th = bench_check(calloc((size_t)nt, sizeof *th), (size_t)nt * sizeof *th);
  for (int t = 0; t < nt; t++) {
    w[t].first = bench_check(malloc(OBJ_SIZE), OBJ_SIZE);
    memset(w[t].first, 0, OBJ_SIZE);
    w[t].iterations = iterations;
    w[t].sum = 0;
    w[t].id = t;
  }
  for (int t = 0; t < nt; t++) {
    if (pthread_create(&th[t], NULL, work, &w[t]) != 0) {
      fprintf(stderr, "scratch: pthread_create failed\n");
      return 1;
    }
  }
  uint64_t h = 0;
  for (int t = 0; t < nt; t++) {
    pthread_join(th[t], NULL);
    h = bench_mix(h, w[t].sum);
  }
  free(w);
  free(th);
  bench_report(h);
  return 0;
}
