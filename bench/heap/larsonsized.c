/* SPDX-License-Identifier: MIT */
/* bench/heap/larsonsized.c — larson.c with sized frees (mimalloc-bench's larson-sized).
 *
 * Every free passes the size the object was allocated with, through the allocator's own sized
 * free, looked up at start: C23 free_sized (librampart-malloc.so), mi_free_size (mimalloc),
 * sdallocx (jemalloc), tc_free_sized (tcmalloc); where none exists (glibc 2.36) plain free. The
 * one used goes to stderr, so a run shows which path it measured.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "bench.h"

static void (*sized_free)(void *, size_t);
static void (*sized_free_flags)(void *, size_t, int); /* jemalloc's sdallocx */

static void plain_free(void *p, size_t n) {
  (void)n;
  free(p);
}

static void sized_setup(void) {
  static const char *const names[] = {"free_sized", "mi_free_size", "tc_free_sized"};
  for (size_t i = 0; i < sizeof names / sizeof names[0] && sized_free == NULL; i++) {
    void *f = dlsym(RTLD_DEFAULT, names[i]);
    if (f != NULL) {
      *(void **)&sized_free = f;
      fprintf(stderr, "larsonsized: frees through %s\n", names[i]);
    }
  }
  if (sized_free == NULL) {
    void *f = dlsym(RTLD_DEFAULT, "sdallocx");
    if (f != NULL) {
      *(void **)&sized_free_flags = f;
      fprintf(stderr, "larsonsized: frees through sdallocx\n");
      return;
    }
    sized_free = plain_free;
    fprintf(stderr, "larsonsized: no sized free in this allocator, frees through free\n");
  }
}

static inline void sized(void *p, size_t n) {
  if (sized_free_flags != NULL) sized_free_flags(p, n, 0);
  else sized_free(p, n);
}

#define LARSON_FREE(p, n) sized((p), (n))
#define LARSON_SETUP() sized_setup()
#include "larson.c"
