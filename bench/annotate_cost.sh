#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/annotate_cost.sh — what the Valgrind client requests (core/annotate.h) cost a release
# build when the program does not run under Valgrind: two release builds of the library, one with
# the hooks compiled in (RAMPART_VALGRIND=ON, valgrind/memcheck.h found) and one without (OFF),
# timed on the same fast paths in interleaved runs (on, off, on, off, ...), so that the machine's
# drift hits both alike. Prints the median and the spread (min..max) of each.
#   sh bench/annotate_cost.sh [ROUNDS]        (default 9; needs cmake, cc, python3)
# Workloads: bench/heap/tight.c and simple.c under LD_PRELOAD=librampart-malloc.so (malloc+free
# fast path, one thread; simple with 2 threads), and a 32-byte rp_pool_alloc + rp_pool_free pair
# on a default pool (the pool's fast path, as bench_pool's "pairs" row).
set -eu
rounds=${1:-9}
src=$(cd "$(dirname "$0")/.." && pwd)
out=${RAMPART_COST_DIR:-$src/build-cost}
jobs=${JOBS:-2}
for v in ON OFF; do
  cmake -S "$src" -B "$out/$v" -DCMAKE_BUILD_TYPE=Release -DRAMPART_VALGRIND=$v -DRAMPART_BUILD_TESTS=OFF \
    -DRAMPART_BUILD_TOOLS=OFF >/dev/null
  cmake --build "$out/$v" -j "$jobs" --target rampart_static rampart_malloc >/dev/null
done
grep -q "RP_HAVE_VALGRIND_H:INTERNAL=1" "$out/ON/CMakeCache.txt" ||
  { echo "annotate_cost: valgrind/memcheck.h not found: nothing to compare (apt-get install valgrind)" >&2; exit 77; }
for w in tight simple; do
  cc -O2 -std=c11 -D_GNU_SOURCE -pthread -o "$out/$w" "$src/bench/heap/$w.c"
done
cat >"$out/pair.c" <<'C'
/* SPDX-License-Identifier: MIT */
/* 32-byte rp_pool_alloc + rp_pool_free pairs on a default pool: ns per pair. */
#include <stdio.h>
#include <time.h>
#include "rampart.h"
int main(void) {
    rp_pool_t *pool = NULL;
    if (rp_pool_create(NULL, &pool) != RP_OK) { fprintf(stderr, "pair: %s\n", rp_last_error()->message); return 1; }
    const long n = 20000000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        volatile unsigned char *p = rp_pool_alloc(pool, 32);
        if (p == NULL) return 1;
        p[0] = (unsigned char)i;
        rp_pool_free(pool, (void *)p);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.3f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n);
    rp_pool_destroy(pool);
    return 0;
}
C
for v in ON OFF; do
  cc -O2 -std=c11 -D_GNU_SOURCE -pthread -I"$src/include" -o "$out/pair-$v" "$out/pair.c" "$out/$v/librampart.a"
done
python3 - "$out" "$rounds" <<'PY'
import statistics, subprocess, sys, time
out, rounds = sys.argv[1], int(sys.argv[2])
def heap(v, w):
    t = time.perf_counter()
    subprocess.run([f"{out}/{w}"], env={"LD_PRELOAD": f"{out}/{v}/librampart-malloc.so"}, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
def pair(v):
    return float(subprocess.run([f"{out}/pair-{v}"], check=True, capture_output=True, text=True).stdout)
res = {}
for r in range(rounds):
    for v in ("ON", "OFF") if r % 2 == 0 else ("OFF", "ON"):
        res.setdefault(("tight (s)", v), []).append(heap(v, "tight"))
        res.setdefault(("simple (s)", v), []).append(heap(v, "simple"))
        res.setdefault(("pool pair 32 B (ns)", v), []).append(pair(v))
print(f"| workload | hooks in: median (min..max) | hooks out: median (min..max) | in / out |")
print("|---|---|---|---|")
for w in ("tight (s)", "simple (s)", "pool pair 32 B (ns)"):
    on, off = res[(w, "ON")], res[(w, "OFF")]
    f = lambda xs: f"{statistics.median(xs):.3f} ({min(xs):.3f}..{max(xs):.3f})"
    print(f"| {w} | {f(on)} | {f(off)} | {statistics.median(on) / statistics.median(off):.3f} |")
PY
