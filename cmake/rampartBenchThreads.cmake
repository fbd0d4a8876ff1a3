# SPDX-License-Identifier: MIT
# rampartBenchThreads.cmake — the thread counts the threaded benchmarks run (bench/CMakeLists.txt).
# THREADS from the environment (`make bench THREADS=16`: make exports a command-line variable to
# the configure step it runs) wins over RAMPART_BENCH_THREADS, which may be a value an earlier
# configure left in the build's cache: before, `make bench THREADS=16` in a build once configured
# with -DRAMPART_BENCH_THREADS=2 ran 2 threads and rewrote the 2-thread page. A count or a rising
# list (1,4,16; spaces become commas); anything else warns and gives 2, the reference machine's
# cores. Used by bench/CMakeLists.txt and by tests/bench_threads.cmake, so the test checks this code.
function(rp_bench_threads out current)
  if(DEFINED ENV{THREADS})
    if("$ENV{THREADS}" MATCHES "^[1-9][0-9]*([, ][1-9][0-9]*)*$")
      set(threads "$ENV{THREADS}")
    else()
      message(WARNING "THREADS='$ENV{THREADS}' is neither a count nor a list such as 1,4,16: 2 threads")
      set(threads 2)
    endif()
  elseif(current)
    set(threads "${current}")
  else()
    set(threads 2)
  endif()
  string(REPLACE " " "," threads "${threads}")
  set(${out} "${threads}" PARENT_SCOPE)
endfunction()
