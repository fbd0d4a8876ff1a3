/* SPDX-License-Identifier: MIT */
/* bench/heap/tight.c — workload 1: a tight single-thread malloc/free loop.
 *
 * Each step allocates one small block, writes its first and last bytes, reads them back and frees
 * it at once: the pure fast-path cost of malloc + free with the block always hot in cache, as in
 * glibc's bench-malloc-simple and the "malloc-free" loops of the allocator benchmark suites. The
 * size cycles through eight common small classes so a one-class shortcut cannot win alone.
 */
#include "bench.h"

int main(int argc, char **argv) {
  static const size_t sizes[8] = {16, 24, 32, 48, 64, 96, 128, 256};
  uint64_t steps = bench_count(50000000, bench_scale(argc, argv));
  uint64_t sum = 0;
  for (uint64_t i = 0; i < steps; i++) {
    size_t n = sizes[i & 7];
    unsigned char *p = bench_check(malloc(n), n);
    bench_escape(p);
    p[0] = (unsigned char)i;
    p[n - 1] = (unsigned char)(i >> 8);
    sum += (uint64_t)p[0] + p[n - 1];
    free(p);
  }
  bench_report(sum);
  return 0;
}
