/* SPDX-License-Identifier: MIT */
/* bench/heap/mstress.c — phases of allocation, local frees and hand-overs (mstress style).
 *
 * Shaped like mimalloc-bench's mstress: bench_threads threads run rounds; in each round a thread
 * allocates 2000 objects (90% 8-256 B, 9% up to 4 KiB, 1% up to 256 KiB: large blocks too), frees
 * a random half of them, swaps each of the others into a random slot of a shared transfer array
 * (freeing whatever it takes out, usually another thread's object), and ends the round with an
 * empty local set. Memory grows and shrinks in phases and a good share of the frees are remote.
 *
 * Every object is read exactly once, by whoever frees it, and its value depends only on its
 * allocating thread and serial number: the sum of all reads is the same under any scheduling.
 */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>

#define PER_ROUND 2000
#define TRANSFER 4096

typedef struct {
  void *p;
  uint32_t size;
} obj_t;

static _Atomic(obj_t *) transfer[TRANSFER];

typedef struct {
  uint64_t rounds, sum;
  int id;
} worker_t;

static uint64_t consume(obj_t *o) {
  uint64_t v = bench_read(o->p, o->size);
  free(o->p);
  free(o);
  return v;
}

static size_t pick_size(bench_rng_t *r) {
  size_t k = bench_below(r, 100);
  if (k < 90) return 8 + bench_below(r, 249);
  if (k < 99) return 256 + bench_below(r, 3841);
  return 4096 + bench_below(r, 258049);
}

static void *work(void *arg) {
  worker_t *w = arg;
  bench_rng_t r = bench_rng(1100 + (uint64_t)w->id);
  obj_t **mine = bench_check(calloc(PER_ROUND, sizeof *mine), PER_ROUND * sizeof *mine);
  uint64_t sum = 0, serial = 0;
  for (uint64_t round = 0; round < w->rounds; round++) {
    for (size_t i = 0; i < PER_ROUND; i++) {
      obj_t *o = bench_check(malloc(sizeof *o), sizeof *o);
      size_t n = pick_size(&r);
      o->p = bench_check(malloc(n), n);
      o->size = (uint32_t)n;
      bench_touch(o->p, n, ((uint64_t)w->id << 40) | serial++);
      mine[i] = o;
    }
    for (size_t i = 0; i < PER_ROUND; i++) {
      if (bench_below(&r, 2) == 0) {
        sum += consume(mine[i]);
      } else {
        obj_t *out = atomic_exchange(&transfer[bench_below(&r, TRANSFER)], mine[i]);
        if (out != NULL) sum += consume(out);
      }
    }
  }
  free(mine);
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  uint64_t rounds = bench_count(3000, bench_scale(argc, argv));
  const int nt = bench_threads;
  worker_t *w = bench_check(calloc((size_t)nt, sizeof *w), (size_t)nt * sizeof *w);
  pthread_t *th = bench_check(calloc((size_t)nt, sizeof *th), (size_t)nt * sizeof *th);
  for (int t = 0; t < nt; t++) {
    w[t].rounds = rounds / (uint64_t)nt + 1;
    w[t].id = t;
    if (pthread_create(&th[t], NULL, work, &w[t]) != 0) {
      fprintf(stderr, "mstress: pthread_create failed\n");
      return 1;
    }
  }
  uint64_t sum = 0;
  for (int t = 0; t < nt; t++) {
    pthread_join(th[t], NULL);
    sum += w[t].sum;
  }
  for (size_t i = 0; i < TRANSFER; i++) {
    obj_t *o = atomic_load(&transfer[i]);
    if (o != NULL) sum += consume(o);
  }
  free(w);
  free(th);
  bench_report(sum);
  return 0;
}
