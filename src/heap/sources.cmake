# SPDX-License-Identifier: MIT
# The heap layer: a general-purpose allocator with ralloc's features (issue 6, seed 004).
# preload.c is not listed: it only goes into librampart-malloc.so (targets.cmake).
list(APPEND RAMPART_SOURCES
  src/heap/segmap.c
  src/heap/segment.c
  src/heap/page.c
  src/heap/alloc.c
  src/heap/free.c
  src/heap/large.c
  src/heap/donate.c
  src/heap/stats.c
  src/heap/stats_print.c
  src/heap/show.c
  src/heap/heap.c)
list(APPEND RAMPART_PUBLIC_HEADERS include/rampart/heap.h)
