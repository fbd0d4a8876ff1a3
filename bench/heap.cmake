# SPDX-License-Identifier: MIT
# bench/heap.cmake — the allocator benchmark (issue #6, item 7), included by bench/CMakeLists.txt.
#
# Builds the workloads in bench/heap/ (plain C11 + pthreads, no link to rampart: the allocator
# under test comes in through LD_PRELOAD), the launcher that measures one run and the probe that
# checks a preload is in effect, then hangs bench_heap_run under `bench`. That target runs
# bench/heap/run.py with glibc, the peers (mimalloc, jemalloc, tcmalloc: found on the machine,
# reported by Debian package when missing) and rampart's drop-in library, and writes
# docs/bench/heap.md and docs/bench/heap.png.
if(WIN32 OR APPLE)
  message(STATUS "heap benchmark: works through LD_PRELOAD, not built for ${CMAKE_SYSTEM_NAME}")
  return()
endif()
if(RAMPART_SANITIZE)
  # Sanitizer runtimes replace malloc themselves; timing other allocators under them means nothing.
  message(WARNING "heap benchmark skipped: RAMPART_SANITIZE is set")
  return()
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(FATAL_ERROR "the heap benchmark runner needs python3 (Debian package python3)")
endif()

set(RAMPART_HEAP_BENCH_DIR ${CMAKE_CURRENT_BINARY_DIR}/heap)
set(RAMPART_HEAP_WORKLOADS tight simple small cfrac alloctest larson larsonsized mstress xmalloc scratch pareto
    bigreuse spawn)
# Threads of the threaded workloads: RAMPART_BENCH_THREADS (bench/CMakeLists.txt). Results for
# N != 2 go to docs/bench/heap-tN.{md,png}.
set(RAMPART_HEAP_BENCH_TARGETS)
foreach(prog ${RAMPART_HEAP_WORKLOADS} launch probe)
  add_executable(bench_heap_${prog} heap/${prog}.c)
  set_target_properties(bench_heap_${prog} PROPERTIES
    OUTPUT_NAME ${prog} RUNTIME_OUTPUT_DIRECTORY ${RAMPART_HEAP_BENCH_DIR})
  target_compile_options(bench_heap_${prog} PRIVATE ${RAMPART_WARNINGS})
  target_link_libraries(bench_heap_${prog} PRIVATE Threads::Threads m ${CMAKE_DL_LIBS})
  list(APPEND RAMPART_HEAP_BENCH_TARGETS bench_heap_${prog})
endforeach()

set(RAMPART_HEAP_ALLOCATORS glibc mimalloc jemalloc tcmalloc)
set(RAMPART_HEAP_BENCH_DEPENDS ${RAMPART_HEAP_BENCH_TARGETS})
if(TARGET rampart_malloc)
  list(APPEND RAMPART_HEAP_ALLOCATORS rampart=$<TARGET_FILE:rampart_malloc>)
  list(APPEND RAMPART_HEAP_BENCH_DEPENDS rampart_malloc)
else()
  message(WARNING "heap benchmark: target rampart_malloc (librampart-malloc.so) does not exist in "
                  "this tree; `make bench` will measure the peers only and say so in heap.md")
endif()

set(RAMPART_HEAP_CHART_ARG)
if(RAMPART_GNUPLOT)
  set(RAMPART_HEAP_CHART_ARG --gnuplot=${RAMPART_GNUPLOT})
endif()

string(REPLACE ";" ", " RAMPART_HEAP_COMMENT "glibc;mimalloc;jemalloc;tcmalloc")
if(TARGET rampart_malloc)
  string(APPEND RAMPART_HEAP_COMMENT ", rampart")
endif()

add_custom_target(bench_heap_run
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/heap/run.py
          --bindir ${RAMPART_HEAP_BENCH_DIR} --out ${RAMPART_BENCH_OUT} --threads ${RAMPART_BENCH_THREADS}
          --reps 5 --scale 0.4
          ${RAMPART_HEAP_CHART_ARG} ${RAMPART_HEAP_ALLOCATORS}
  COMMENT "heap benchmark: 14 workloads x ${RAMPART_HEAP_COMMENT}, ${RAMPART_BENCH_THREADS} threads, 5 repetitions at scale 0.4 (about 10 minutes on 2 cores)"
  USES_TERMINAL
  VERBATIM)
add_dependencies(bench_heap_run ${RAMPART_HEAP_BENCH_DEPENDS})
add_dependencies(bench bench_heap_run)
