/* SPDX-License-Identifier: MIT */
/* bench/heap/small.c — workload 2: many small short-lived objects of mixed sizes.
 *
 * Models the allocation pattern of compilers and interpreters (the cfrac / espresso / mstress
 * style of the benchmark suites): bursts of 1-64 small objects that are built, read and freed
 * together (in reverse or in random order), while a window of longer-lived objects is slowly
 * replaced, so the heap is fragmented rather than a clean stack. Sizes are mixed: mostly 16-64
 * bytes, some up to 256, a few up to 1 KiB.
 */
#include "bench.h"

#define BURST_MAX 64
#define WINDOW 4096

static size_t mixed_size(bench_rng_t *r) {
  uint64_t pick = bench_below(r, 100);
  if (pick < 70)
    return 16 + bench_below(r, 49);
  if (pick < 95)
    return 64 + bench_below(r, 193);
  return 256 + bench_below(r, 769);
}

int main(int argc, char **argv) {
  uint64_t rounds = bench_count(1000000, bench_scale(argc, argv));
  bench_rng_t r = bench_rng(2);
  void *burst[BURST_MAX];
  size_t burst_size[BURST_MAX];
  void **window = bench_check(calloc(WINDOW, sizeof *window), WINDOW * sizeof *window);
  size_t *window_size = bench_check(calloc(WINDOW, sizeof *window_size), WINDOW * sizeof *window_size);
  uint64_t h = 0;

  for (uint64_t round = 0; round < rounds; round++) {
    size_t k = 1 + bench_below(&r, BURST_MAX);
    for (size_t i = 0; i < k; i++) {
      burst_size[i] = mixed_size(&r);
      burst[i] = bench_check(malloc(burst_size[i]), burst_size[i]);
      bench_fill(burst[i], burst_size[i], round * BURST_MAX + i);
    }
    if (round & 1) {
      for (size_t i = k; i-- > 0;) {
        h = bench_mix(h, bench_read(burst[i], burst_size[i]));
        free(burst[i]);
      }
    } else {
      /* Random order: swap a random survivor into place, then free it. */
      for (size_t left = k; left > 0; left--) {
        size_t j = bench_below(&r, left);
        h = bench_mix(h, bench_read(burst[j], burst_size[j]));
        free(burst[j]);
        burst[j] = burst[left - 1];
        burst_size[j] = burst_size[left - 1];
      }
    }
    if ((round & 7) == 0) {
      size_t v = bench_below(&r, WINDOW);
      if (window[v] != NULL) {
        h = bench_mix(h, bench_read(window[v], window_size[v]));
        free(window[v]);
      }
      window_size[v] = mixed_size(&r);
      window[v] = bench_check(malloc(window_size[v]), window_size[v]);
      bench_fill(window[v], window_size[v], round);
    }
  }
  for (size_t v = 0; v < WINDOW; v++) {
    if (window[v] != NULL) {
      h = bench_mix(h, bench_read(window[v], window_size[v]));
      free(window[v]);
    }
  }
  free(window);
  free(window_size);
  bench_report(h);
  return 0;
}
