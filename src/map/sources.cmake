# SPDX-License-Identifier: MIT
# The map layer: one mapping object for anonymous and file-backed memory (issue 4).
list(APPEND RAMPART_SOURCES src/map/map.c)
list(APPEND RAMPART_PUBLIC_HEADERS include/rampart/map.h)
