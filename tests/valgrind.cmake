# SPDX-License-Identifier: MIT
# Valgrind memcheck sees rampart's blocks (core/annotate.h, issue 13): each program has one bug
# that memcheck must report with the text given, or none ("clean": no error, no leak; "zeroed":
# a read of fresh pool memory, which is zeroed, so no error either), for the heap API, the pool
# API and a plain program under librampart-malloc.so (tests/valgrind.sh).
# Each skips (77) when valgrind or <valgrind/memcheck.h> is missing. Not in sanitizer builds.
if(NOT WIN32 AND NOT RAMPART_SANITIZE AND TARGET rampart_malloc)
  if(RP_HAVE_VALGRIND_H)
    set(rp_vg_have 1)
  else()
    set(rp_vg_have 0)
  endif()
  foreach(p vg_heap vg_pool vg_plain)
    add_executable(${p} ${p}.c)
    target_compile_options(${p} PRIVATE ${RAMPART_WARNINGS} -Wno-missing-prototypes)
    target_compile_definitions(${p} PRIVATE _GNU_SOURCE)
    target_link_libraries(${p} PRIVATE Threads::Threads)
  endforeach()
  target_link_libraries(vg_heap PRIVATE rampart_static)
  target_link_libraries(vg_pool PRIVATE rampart_static)
  set(rp_vg_overflow "0 bytes after a block of size 100 alloc'd")
  set(rp_vg_use-after-free "10 bytes inside a block of size 100 free'd")
  set(rp_vg_uninitialised "Conditional jump or move depends on uninitialised value")
  set(rp_vg_leak "100 bytes in 1 blocks are definitely lost")
  foreach(case heap:-:overflow heap:-:use-after-free heap:-:uninitialised heap:-:leak heap:-:clean
               pool:-:overflow pool:-:use-after-free pool:-:zeroed pool:-:leak pool:-:clean
               plain:malloc:overflow plain:malloc:use-after-free plain:malloc:uninitialised plain:malloc:leak
               plain:malloc:clean)
    string(REPLACE ":" ";" parts ${case})
    list(GET parts 0 prog)
    list(GET parts 1 pre)
    list(GET parts 2 mode)
    if(pre STREQUAL "malloc")
      set(pre $<TARGET_FILE:rampart_malloc>)
    endif()
    if(mode STREQUAL "clean" OR mode STREQUAL "zeroed")
      set(want clean)
    else()
      set(want "${rp_vg_${mode}}")
    endif()
    add_test(NAME test_valgrind_${prog}_${mode}
      COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/valgrind.sh ${rp_vg_have} ${pre} $<TARGET_FILE:vg_${prog}> ${mode} ${want})
    set_tests_properties(test_valgrind_${prog}_${mode} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS valgrind)
  endforeach()
endif()
