# SPDX-License-Identifier: MIT
# The secure pool (issue 5): size-class arenas of locked pages with out-of-band metadata, thread
# caches, guards, canaries and a lock budget. See docs/pool.md.
list(APPEND RAMPART_SOURCES src/pool/pagemap.c src/pool/arena.c src/pool/run.c src/pool/cache.c src/pool/pool.c src/pool/stats.c src/pool/stats_print.c src/pool/show.c src/pool/protect.c)
list(APPEND RAMPART_PUBLIC_HEADERS include/rampart/pool.h)
