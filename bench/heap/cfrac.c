/* SPDX-License-Identifier: MIT */
/* bench/heap/cfrac.c — many small short-lived objects from arithmetic (cfrac/espresso style).
 *
 * cfrac factors numbers with continued fractions, allocating a fresh multi-precision number for
 * every intermediate result and freeing the operands soon after. This does the same kind of
 * work: 64 live numbers (arrays of 32-bit digits, 1 to 40 digits: 8 to 176 bytes with a length
 * word), and at each step two of them are added or multiplied into a new number through one or
 * two temporaries, which are freed at once, and the result replaces a random live number. One
 * thread; sizes and lifetimes come from the arithmetic itself.
 */
#include "bench.h"

#define LIVE 64
#define MAX_DIGITS 40

typedef struct {
  uint32_t len;
  uint32_t d[];
} num_t;

static num_t *num_new(uint32_t len) {
  size_t bytes = sizeof(num_t) + (size_t)len * sizeof(uint32_t);
  num_t *n = bench_check(malloc(bytes), bytes);
  n->len = len;
  return n;
}

static num_t *num_add(const num_t *a, const num_t *b) {
  uint32_t len = (a->len > b->len ? a->len : b->len) + 1;
  if (len > MAX_DIGITS) len = MAX_DIGITS;
  num_t *r = num_new(len);
  uint64_t carry = 0;
  for (uint32_t i = 0; i < len; i++) {
    uint64_t s = carry + (i < a->len ? a->d[i] : 0) + (i < b->len ? b->d[i] : 0);
    r->d[i] = (uint32_t)s;
    carry = s >> 32;
  }
  return r;
}

static num_t *num_mul(const num_t *a, const num_t *b) {
  uint32_t len = a->len + b->len;
  if (len > MAX_DIGITS) len = MAX_DIGITS;
  num_t *r = num_new(len);
  memset(r->d, 0, (size_t)len * sizeof(uint32_t));
  for (uint32_t i = 0; i < a->len && i < len; i++) {
    uint64_t carry = 0;
    for (uint32_t j = 0; j < b->len && i + j < len; j++) {
      uint64_t t = (uint64_t)a->d[i] * b->d[j] + r->d[i + j] + carry;
      r->d[i + j] = (uint32_t)t;
      carry = t >> 32;
    }
  }
  return r;
}

/* Drop leading zero digits into a right-sized copy (cfrac normalises every result). */
static num_t *num_trim(num_t *n, bench_rng_t *r) {
  uint32_t len = n->len;
  while (len > 1 && n->d[len - 1] == 0) len--;
  if (len > 8 && bench_below(r, 4) == 0) len = 1 + (uint32_t)bench_below(r, 8); /* a "mod" step */
  num_t *t = num_new(len);
  memcpy(t->d, n->d, (size_t)len * sizeof(uint32_t));
  free(n);
  return t;
}

int main(int argc, char **argv) {
  uint64_t steps = bench_count(4000000, bench_scale(argc, argv));
  bench_rng_t r = bench_rng(900);
  num_t *live[LIVE];
  for (int i = 0; i < LIVE; i++) {
    live[i] = num_new(1 + (uint32_t)bench_below(&r, 4));
    for (uint32_t k = 0; k < live[i]->len; k++) live[i]->d[k] = (uint32_t)bench_next(&r) | 1;
  }
  uint64_t h = 0;
  for (uint64_t s = 0; s < steps; s++) {
    const num_t *a = live[bench_below(&r, LIVE)], *b = live[bench_below(&r, LIVE)];
    num_t *t = bench_below(&r, 3) == 0 ? num_mul(a, b) : num_add(a, b);
    t = num_trim(t, &r);
    size_t v = bench_below(&r, LIVE);
    h = bench_mix(h, live[v]->d[0] ^ live[v]->len);
    free(live[v]);
    live[v] = t;
  }
  for (int i = 0; i < LIVE; i++) {
    h = bench_mix(h, live[i]->d[0] ^ live[i]->len);
    free(live[i]);
  }
  bench_report(h);
  return 0;
}
