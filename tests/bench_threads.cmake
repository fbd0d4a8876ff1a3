# SPDX-License-Identifier: MIT
# bench_threads.cmake — which thread counts `make bench` runs (cmake/rampartBenchThreads.cmake):
# THREADS from the environment wins over a RAMPART_BENCH_THREADS left in a build's cache.
# Usage: cmake -DSRC=SOURCE_DIR -P bench_threads.cmake
include(${SRC}/cmake/rampartBenchThreads.cmake)
set(failures 0)
# check(ENV_THREADS CURRENT EXPECTED): ENV_THREADS "-" leaves THREADS unset.
function(check env current expected)
  if(env STREQUAL "-")
    unset(ENV{THREADS})
  else()
    set(ENV{THREADS} "${env}")
  endif()
  rp_bench_threads(got "${current}")
  if(NOT got STREQUAL expected)
    message("FAIL: THREADS='${env}', RAMPART_BENCH_THREADS='${current}': got '${got}', expected '${expected}'")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  else()
    message("ok: THREADS='${env}', RAMPART_BENCH_THREADS='${current}': ${got}")
  endif()
endfunction()
check(- "" 2)
check(- 8 8)
check(16 "" 16)
check(16 2 16)        # the cached value of an earlier configure does not win
check("1 4 16" 2 1,4,16)
check(1,4,16 "" 1,4,16)
check(sixteen 4 2)    # warns
check(0 "" 2)         # warns
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} failure(s)")
endif()
