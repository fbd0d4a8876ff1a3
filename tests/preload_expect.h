/* SPDX-License-Identifier: MIT */
/* preload_expect.h — EXPECT for the plain programs the tests run under librampart-malloc.so
 * (heap_preload_*.c): they include no rampart header, so that what they exercise is the C
 * allocator API alone, as any program preloaded with it does. Counts failures in `failures`. */
#ifndef RP_PRELOAD_EXPECT_H
#define RP_PRELOAD_EXPECT_H

#include <stdio.h>

static int failures;
#define EXPECT(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

#endif
