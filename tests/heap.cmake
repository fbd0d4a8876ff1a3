# SPDX-License-Identifier: MIT
# Tests of the heap layer (issue 6). test_heap covers the API, ralloc's features, a threaded
# stress and the death tests (POSIX); on Windows the same source runs its portable subset under
# wine. test_heap_preload_* run real programs and the suite itself under librampart-malloc.so;
# each skips (77) only when its program is missing. The suite runs unsanitized copies of the test
# programs (built from the preload's own plain objects), so it also runs in the sanitizer builds.
rp_add_test(test_heap)
if(NOT WIN32)
  # As user nobody with a 1 MiB memlock limit (root only): locked heaps under a small limit.
  add_test(NAME test_heap_unprivileged COMMAND test_heap unprivileged)
  set_tests_properties(test_heap_unprivileged PROPERTIES SKIP_RETURN_CODE 77)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    # Freeing a sparse block on secret pages wipes only what is resident; skip (77) without memfd_secret.
    add_test(NAME test_heap_sparse_wipe_secret COMMAND test_heap sparse_wipe_secret)
    set_tests_properties(test_heap_sparse_wipe_secret PROPERTIES SKIP_RETURN_CODE 77)
  endif()
  # Partial deallocation of blocks resized or freed since their first released piece, and the
  # memory a heap keeps going back when a forced collect or a refused allocation needs it.
  rp_add_test(test_heap_part)
  rp_add_test(test_heap_reclaim)
  # realloc growing a large block moves its pages (mremap) instead of copying them.
  rp_add_test(test_heap_grow)
  # As user nobody with an 8 MiB memlock limit (root only): a locked span waiting in the cache.
  add_test(NAME test_heap_reclaim_unprivileged COMMAND test_heap_reclaim unprivileged)
  set_tests_properties(test_heap_reclaim_unprivileged PROPERTIES SKIP_RETURN_CODE 77)
  foreach(t test_core test_pages test_heap)
    add_executable(${t}_plain ${t}.c $<TARGET_OBJECTS:rampart_plain_objects>)
    target_include_directories(${t}_plain PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
    target_compile_definitions(${t}_plain PRIVATE _GNU_SOURCE)
    target_compile_options(${t}_plain PRIVATE ${RAMPART_WARNINGS} -Wno-missing-prototypes -fno-sanitize=all)
    set_target_properties(${t}_plain PROPERTIES LINK_OPTIONS "")
    target_link_libraries(${t}_plain PRIVATE Threads::Threads)
  endforeach()
  add_executable(heap_asprobe heap_asprobe.c)
  target_compile_options(heap_asprobe PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all)
  set_target_properties(heap_asprobe PROPERTIES LINK_OPTIONS "")
  # glibc's introspection (mallinfo2, malloc_stats, malloc_info, malloc_trim) under the preload
  # answers from rampart's heap (issue 13); the program fails when glibc answers.
  add_executable(heap_preload_info heap_preload_info.c)
  target_compile_options(heap_preload_info PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all -Wno-missing-prototypes -Wno-deprecated-declarations)
  target_compile_definitions(heap_preload_info PRIVATE _GNU_SOURCE)
  set_target_properties(heap_preload_info PROPERTIES LINK_OPTIONS "")
  add_test(NAME test_heap_preload_info COMMAND heap_preload_info)
  set_tests_properties(test_heap_preload_info PROPERTIES ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:rampart_malloc>")
  # fork with handlers registered before the first malloc, and glibc's __libc_* names, under the
  # preload (the program fails without it).
  add_executable(heap_preload_fork heap_preload_fork.c)
  target_compile_options(heap_preload_fork PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all -Wno-missing-prototypes)
  target_compile_definitions(heap_preload_fork PRIVATE _GNU_SOURCE)
  set_target_properties(heap_preload_fork PROPERTIES LINK_OPTIONS "")
  target_link_libraries(heap_preload_fork PRIVATE Threads::Threads)
  add_test(NAME test_heap_preload_fork COMMAND heap_preload_fork)
  set_tests_properties(test_heap_preload_fork PROPERTIES ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:rampart_malloc>" TIMEOUT 120)
  # A program that wraps malloc on top of __libc_malloc, under the preload (it fails without it).
  add_executable(heap_preload_wrap heap_preload_wrap.c)
  target_compile_options(heap_preload_wrap PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all -Wno-missing-prototypes)
  target_compile_definitions(heap_preload_wrap PRIVATE _GNU_SOURCE)
  set_target_properties(heap_preload_wrap PROPERTIES LINK_OPTIONS "")
  add_test(NAME test_heap_preload_wrap COMMAND heap_preload_wrap)
  set_tests_properties(test_heap_preload_wrap PROPERTIES ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:rampart_malloc>" TIMEOUT 30)
  # The first mallocs of a fresh process under the preload: one segment for 8 classes, at most
  # 20 page faults in all (issue 12, short-lived processes).
  add_executable(heap_startprobe heap_startprobe.c)
  target_compile_options(heap_startprobe PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all)
  target_compile_definitions(heap_startprobe PRIVATE _GNU_SOURCE)
  set_target_properties(heap_startprobe PROPERTIES LINK_OPTIONS "")
  add_test(NAME test_heap_preload_start COMMAND heap_startprobe)
  set_tests_properties(test_heap_preload_start PROPERTIES ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:rampart_malloc>")
  # RAMPART_SHOW_STATS=1 under the preload: the program's heap is printed at exit.
  add_test(NAME test_heap_preload_show_stats COMMAND heap_preload_info)
  set_tests_properties(test_heap_preload_show_stats PROPERTIES
    ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:rampart_malloc>;RAMPART_SHOW_STATS=1"
    PASS_REGULAR_EXPRESSION "rampart heap 0x[0-9a-f]+: allocated [^\n]*\n  resident [^\n]*purges [0-9]+")
  # ... and when the program closed its stderr in an atexit handler (coreutils' close_stdout).
  add_executable(heap_closed_stderr heap_closed_stderr.c)
  target_compile_options(heap_closed_stderr PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all)
  set_target_properties(heap_closed_stderr PROPERTIES LINK_OPTIONS "")
  add_test(NAME test_heap_preload_show_stats_closed COMMAND heap_closed_stderr)
  set_tests_properties(test_heap_preload_show_stats_closed PROPERTIES
    ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:rampart_malloc>;RAMPART_SHOW_STATS=1"
    PASS_REGULAR_EXPRESSION "rampart heap 0x[0-9a-f]+: allocated [^\n]*\n  resident ")
  # ... but not into the program's own file, once the kept copy's number is the program's.
  add_test(NAME test_heap_preload_show_stats_reused
    COMMAND sh -c "\"$1\" \"$2\" && ! grep -q 'rampart heap' \"$2\"" sh $<TARGET_FILE:heap_closed_stderr>
      ${CMAKE_CURRENT_BINARY_DIR}/show_stats_reused.txt)
  set_tests_properties(test_heap_preload_show_stats_reused PROPERTIES
    ENVIRONMENT "LD_PRELOAD=$<TARGET_FILE:rampart_malloc>;RAMPART_SHOW_STATS=1")
  add_test(NAME test_heap_preload_aslimit
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/heap_preload.sh aslimit $<TARGET_FILE:rampart_malloc> $<TARGET_FILE:heap_asprobe>)
  set_tests_properties(test_heap_preload_aslimit PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  foreach(what python gcc git make suite oom)
    add_test(NAME test_heap_preload_${what}
      COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/heap_preload.sh ${what} $<TARGET_FILE:rampart_malloc>
        $<TARGET_FILE:test_core_plain> $<TARGET_FILE:test_pages_plain> $<TARGET_FILE:test_heap_plain>)
    set_tests_properties(test_heap_preload_${what} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
  endforeach()
endif()
