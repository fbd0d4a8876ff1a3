# SPDX-License-Identifier: MIT
# The lockall layer: process-wide memory locking with a status, a preflight and the lock state of
# any process (issue 3, seed 002).
list(APPEND RAMPART_SOURCES src/lockall/options.c src/lockall/accounting.c src/lockall/lockall.c src/lockall/status.c
                             src/lockall/preflight.c src/lockall/query.c)
list(APPEND RAMPART_PUBLIC_HEADERS include/rampart/lockall.h)
# Locking another, running process (issue 15): remote.c over the platform layer's system-call
# injection, which only Linux has (ptrace); elsewhere a file that says unsupported.
list(APPEND RAMPART_SOURCES src/lockall/remote.c)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  list(APPEND RAMPART_SOURCES src/os/inject_linux.c)
else()
  list(APPEND RAMPART_SOURCES src/os/inject_unsupported.c)
endif()
