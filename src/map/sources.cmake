# SPDX-License-Identifier: MIT
# The map layer: one mapping object for anonymous and file-backed memory (issue 4).
# One file per concept; map_internal.h holds the map object they share.
list(APPEND RAMPART_SOURCES
  src/map/handle.c src/map/create.c src/map/query.c src/map/lock.c src/map/protect.c src/map/flush.c
  src/map/copy.c src/map/commit.c src/map/split.c src/map/resize.c)
list(APPEND RAMPART_PUBLIC_HEADERS include/rampart/map.h)
