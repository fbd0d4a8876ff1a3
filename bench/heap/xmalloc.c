/* SPDX-License-Identifier: MIT */
/* bench/heap/xmalloc.c — workload 4: producers only allocate, consumers only free (xmalloc).
 *
 * Like Lever & Boreham's xmalloc-test: a producer thread allocates small objects (16-256 bytes),
 * fills them and passes them in batches through a bounded queue to a consumer thread, which reads
 * and frees them. Every free is remote and no thread ever reuses its own frees, so an allocator
 * must move memory from the consumer back to the producer efficiently (and not hoard it: the
 * queue bounds the live set, so peak RSS shows whether freed memory really comes back). Uses
 * bench_threads threads, half producers and half consumers, paired by queue.
 *
 * The consumer adds up the values it reads; addition is order-independent, so the checksum does
 * not depend on scheduling.
 */
#include "bench.h"

#include <pthread.h>

#define BATCH 256
#define QUEUE_BATCHES 16
#define MIN_SIZE 16
#define MAX_SIZE 256

typedef struct {
  void *obj[BATCH];
  uint16_t size[BATCH];
} batch_t;

/* A bounded single-producer single-consumer queue of batches; the lock is taken once per batch. */
typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t not_full, not_empty;
  batch_t ring[QUEUE_BATCHES];
  size_t head, count;
  uint64_t batches;
  uint64_t seed;
  uint64_t sum;
} pair_t;

static void *produce(void *arg) {
  pair_t *q = arg;
  bench_rng_t r = bench_rng(q->seed);
  uint64_t serial = 0;
  batch_t b;
  for (uint64_t i = 0; i < q->batches; i++) {
    for (size_t k = 0; k < BATCH; k++) {
      size_t n = MIN_SIZE + bench_below(&r, MAX_SIZE - MIN_SIZE + 1);
      b.obj[k] = bench_check(malloc(n), n);
      b.size[k] = (uint16_t)n;
      bench_fill(b.obj[k], n, serial++);
    }
    pthread_mutex_lock(&q->lock);
    while (q->count == QUEUE_BATCHES)
      pthread_cond_wait(&q->not_full, &q->lock);
    q->ring[(q->head + q->count) % QUEUE_BATCHES] = b;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
  }
  return NULL;
}

static void *consume(void *arg) {
  pair_t *q = arg;
  uint64_t sum = 0;
  batch_t b;
  for (uint64_t i = 0; i < q->batches; i++) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 0)
      pthread_cond_wait(&q->not_empty, &q->lock);
    b = q->ring[q->head];
    q->head = (q->head + 1) % QUEUE_BATCHES;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    for (size_t k = 0; k < BATCH; k++) {
      sum += bench_read(b.obj[k], b.size[k]);
      free(b.obj[k]);
    }
  }
  q->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  uint64_t batches = bench_count(20000, bench_scale(argc, argv));
  const int PAIRS = bench_threads / 2 > 0 ? bench_threads / 2 : 1;
  pair_t *q = bench_check(calloc((size_t)PAIRS, sizeof *q), (size_t)PAIRS * sizeof *q);
  pthread_t *th = bench_check(calloc(2 * (size_t)PAIRS, sizeof *th), 2 * (size_t)PAIRS * sizeof *th);
  for (int p = 0; p < PAIRS; p++) {
    pthread_mutex_init(&q[p].lock, NULL);
    pthread_cond_init(&q[p].not_full, NULL);
    pthread_cond_init(&q[p].not_empty, NULL);
    q[p].batches = batches;
    q[p].seed = 400 + (uint64_t)p;
    if (pthread_create(&th[2 * p], NULL, produce, &q[p]) != 0 ||
        pthread_create(&th[2 * p + 1], NULL, consume, &q[p]) != 0) {
      fprintf(stderr, "xmalloc: pthread_create failed\n");
      return 1;
    }
  }
  uint64_t h = 0;
  for (int p = 0; p < PAIRS; p++) {
    pthread_join(th[2 * p], NULL);
    pthread_join(th[2 * p + 1], NULL);
    h = bench_mix(h, q[p].sum);
    pthread_mutex_destroy(&q[p].lock);
    pthread_cond_destroy(&q[p].not_full);
    pthread_cond_destroy(&q[p].not_empty);
  }
  free(q);
  free(th);
  bench_report(h);
  return 0;
}
