# SPDX-License-Identifier: MIT
# The heap layer: a general-purpose allocator with ralloc's features (issue 6, seed 004).
# preload.c is not listed: it only goes into librampart-malloc.so (targets.cmake).
# free.c and segmap.c come last: the linker lays out .bss in this order, and their tables (the
# partial releases' buckets, 2 KiB, and the map's root, 32 KiB) would otherwise split the other
# files' small variables, which the first malloc writes, across pages: one page fault more in
# every process under the preload.
list(APPEND RAMPART_SOURCES
  src/heap/segment.c
  src/heap/page.c
  src/heap/alloc.c
  src/heap/large.c
  src/heap/donate.c
  src/heap/stats.c
  src/heap/stats_print.c
  src/heap/show.c
  src/heap/heap.c
  src/heap/free.c
  src/heap/segmap.c)
list(APPEND RAMPART_PUBLIC_HEADERS include/rampart/heap.h)
