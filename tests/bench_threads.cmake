# SPDX-License-Identifier: MIT
# bench_threads.cmake — which thread counts `make bench` runs (cmake/rampartBenchThreads.cmake):
# THREADS from the environment wins over a RAMPART_BENCH_THREADS left in a build's cache.
# Usage: cmake -DSRC=SOURCE_DIR -P bench_threads.cmake
include(${SRC}/cmake/rampartBenchThreads.cmake)
# Each case: THREADS in the environment ("-": unset) / RAMPART_BENCH_THREADS ("-": empty) / expected.
set(cases
  "-/-/2"
  "-/8/8"
  "16/-/16"
  "16/2/16"            # the cached value of an earlier configure does not win
  "1 4 16/2/1,4,16"
  "1,4,16/-/1,4,16"
  "sixteen/4/2"        # warns
  "0/-/2")             # warns
set(failed "")
foreach(c IN LISTS cases)
  string(REPLACE "/" ";" parts "${c}")
  list(GET parts 0 env)
  list(GET parts 1 current)
  list(GET parts 2 expected)
  if(env STREQUAL "-")
    unset(ENV{THREADS})
  else()
    set(ENV{THREADS} "${env}")
  endif()
  if(current STREQUAL "-")
    set(current "")
  endif()
  rp_bench_threads(got "${current}")
  message("THREADS='${env}', RAMPART_BENCH_THREADS='${current}': '${got}' (expected '${expected}')")
  if(NOT got STREQUAL expected)
    list(APPEND failed "${c}")
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "wrong thread counts for: ${failed}")
endif()
