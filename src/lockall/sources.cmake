# SPDX-License-Identifier: MIT
# The lockall layer: process-wide memory locking with a status, a preflight and the lock state of
# any process (issue 3, seed 002).
list(APPEND RAMPART_SOURCES src/lockall/lockall.c)
list(APPEND RAMPART_PUBLIC_HEADERS include/rampart/lockall.h)
