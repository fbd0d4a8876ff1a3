/* SPDX-License-Identifier: MIT */
/* bench/heap/pareto.c — workload 6: Pareto-distributed sizes up to 1 KiB.
 *
 * Object sizes in real programs follow a heavy-tailed law: most are tiny, a few are large. Here
 * they are drawn from a Pareto distribution (minimum 8 bytes, shape 1.1, capped at 1 KiB) over a
 * working set of 20000 live objects; each step replaces a random one, and one step in eight grows
 * or shrinks it with realloc instead, checking that realloc kept the contents. This exercises the
 * whole small-size class range with the skew seen in practice, plus realloc.
 */
#include "bench.h"

#include <math.h>

#define LIVE 20000
#define TABLE 4096
#define MIN_SIZE 8.0
#define SHAPE 1.1
#define MAX_SIZE 1024

int main(int argc, char **argv) {
  uint64_t steps = bench_count(25000000, bench_scale(argc, argv));
  bench_rng_t r = bench_rng(6);

  /* Inverse CDF sampled once into a table: size = xm / u^(1/shape), u in (0, 1]. */
  static uint16_t table[TABLE];
  for (size_t i = 0; i < TABLE; i++) {
    double u = (double)(i + 1) / TABLE;
    double s = MIN_SIZE / pow(u, 1.0 / SHAPE);
    table[i] = (uint16_t)(s > MAX_SIZE ? MAX_SIZE : s);
  }

  void **obj = bench_check(calloc(LIVE, sizeof *obj), LIVE * sizeof *obj);
  uint16_t *size = bench_check(calloc(LIVE, sizeof *size), LIVE * sizeof *size);
  uint64_t h = 0;
  for (size_t v = 0; v < LIVE; v++) {
    size[v] = table[bench_below(&r, TABLE)];
    obj[v] = bench_check(malloc(size[v]), size[v]);
    bench_fill(obj[v], size[v], v);
  }
  for (uint64_t i = 0; i < steps; i++) {
    size_t v = bench_below(&r, LIVE);
    size_t n = table[bench_below(&r, TABLE)];
    uint64_t tag = LIVE + i;
    if ((i & 7) == 7) {
      /* realloc keeps min(old, new) bytes: the first 8 hold the old tag when both are >= 8. */
      uint64_t old_tag;
      memcpy(&old_tag, obj[v], sizeof old_tag);
      obj[v] = bench_check(realloc(obj[v], n), n);
      uint64_t kept;
      memcpy(&kept, obj[v], sizeof kept);
      if (kept != old_tag) {
        fprintf(stderr, "pareto: realloc lost the contents of object %zu\n", v);
        return 1;
      }
      h = bench_mix(h, kept);
    } else {
      h = bench_mix(h, bench_read(obj[v], size[v]));
      free(obj[v]);
      obj[v] = bench_check(malloc(n), n);
    }
    size[v] = (uint16_t)n;
    bench_fill(obj[v], n, tag);
  }
  for (size_t v = 0; v < LIVE; v++) {
    h = bench_mix(h, bench_read(obj[v], size[v]));
    free(obj[v]);
  }
  free(obj);
  free(size);
  bench_report(h);
  return 0;
}
