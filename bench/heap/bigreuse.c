/* SPDX-License-Identifier: MIT */
/* bench/heap/bigreuse.c — workload 7: reuse of multi-MiB blocks.
 *
 * Programs that process data in large buffers (decoders, compressors, request bodies) allocate a
 * block of a few MiB, use it, free it and soon allocate another of similar size. Each step here
 * allocates a block of 1-8 MiB, writes one cache line in every 4 KiB of it, reads those lines back
 * and frees it. An allocator that hands large blocks back to the OS at once pays a page fault and
 * the kernel's zeroing for every page on every reuse; one that keeps them a while reuses resident
 * pages. Peak RSS shows what keeping them costs.
 */
#include "bench.h"

#define MIB ((size_t)1 << 20)
#define STRIDE 4096
#define LINE 64

int main(int argc, char **argv) {
  uint64_t steps = bench_count(12000, bench_scale(argc, argv));
  bench_rng_t r = bench_rng(7);
  uint64_t h = 0;
  for (uint64_t i = 0; i < steps; i++) {
    /* 1 MiB to 8 MiB in 64 KiB steps. */
    size_t len = MIB + bench_below(&r, 113) * (64 * 1024);
    unsigned char *buf = bench_check(malloc(len), len);
    for (size_t off = 0; off < len; off += STRIDE)
      memset(buf + off, (int)((i + off / STRIDE) & 0xff), LINE);
    for (size_t off = 0; off < len; off += STRIDE)
      h += buf[off] + buf[off + LINE - 1];
    free(buf);
  }
  bench_report(h);
  return 0;
}
