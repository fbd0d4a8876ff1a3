# SPDX-License-Identifier: MIT
# Tests of the lockall layer (issue 3). test_lockall covers the API on POSIX, each locking case in
# a fork child; its "privileged" entry runs the cases that lock the whole process (CAP_IPC_LOCK,
# else skipped) and its "unprivileged" entry re-runs it as user nobody under small memlock limits
# (root only). cli_lockall.sh drives `rampart run` / `rampart status` and librampart-lock.so
# (built without sanitizers, so it runs in every build), one CTest test per group of cases, so a
# group this machine cannot run shows as skipped with its reason. test_lockall_windows runs
# under wine.
if(WIN32)
  rp_add_test(test_lockall_windows)
else()
  rp_add_test(test_lockall)
  add_test(NAME test_lockall_privileged COMMAND test_lockall privileged)
  add_test(NAME test_lockall_unprivileged COMMAND test_lockall unprivileged)
  # One secret makes a process partly locked: skip (77) where no secret can be allocated.
  add_test(NAME test_lockall_one_secret COMMAND test_lockall one_secret)
  set_tests_properties(test_lockall_privileged test_lockall_unprivileged test_lockall_one_secret
                       PROPERTIES SKIP_RETURN_CODE 77)
  if(RAMPART_BUILD_TOOLS AND TARGET rampart_lock)
    # A partly locked process (one secret) for `rampart status` to judge.
    add_executable(lock_helper lock_helper.c)
    target_link_libraries(lock_helper PRIVATE rampart_static)
    target_compile_options(lock_helper PRIVATE ${RAMPART_WARNINGS})
    # Where an installed `rampart` looks for librampart-lock.so (lib/<multiarch> on Debian's /usr).
    file(RELATIVE_PATH RP_TEST_BIN_TO_LIB ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
    foreach(group basic locked opens static i386 nobody foreign userns)
      add_test(NAME test_cli_lockall_${group} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli_lockall.sh
        $<TARGET_FILE:rampart_cli> $<TARGET_FILE:rampart_lock> $<TARGET_FILE:lock_helper> ${group})
      set_tests_properties(test_cli_lockall_${group} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
        ENVIRONMENT "RP_TEST_BIN_TO_LIB=${RP_TEST_BIN_TO_LIB}")
    endforeach()
  endif()
endif()
# `rampart lock PID` / `rampart unlock PID` (issue 15, Linux): cli_lock.sh drives them on
# lock_target, a multi-threaded checksum printer and a program blocked in read and nanosleep.
if(RAMPART_BUILD_TOOLS AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # Built without the sanitizers: a sanitizer's shadow memory (terabytes mapped) cannot be locked.
  add_executable(lock_target lock_target.c)
  target_link_libraries(lock_target PRIVATE Threads::Threads)
  set_target_properties(lock_target PROPERTIES COMPILE_OPTIONS "" LINK_OPTIONS "")
  target_compile_options(lock_target PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all)
  target_link_options(lock_target PRIVATE -fno-sanitize=all)
  # The same program linked statically (glibc's libc.a): what LD_PRELOAD cannot reach. Where it
  # cannot be linked, the static group says so and skips.
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS -static)
  check_c_source_compiles("#include <stdio.h>\nint main(void) { puts(\"\"); return 0; }" RP_CAN_LINK_STATIC)
  unset(CMAKE_REQUIRED_FLAGS)
  set(RP_STATIC_TARGET "none")
  if(RP_CAN_LINK_STATIC)
    add_executable(lock_target_static lock_target.c)
    target_link_libraries(lock_target_static PRIVATE Threads::Threads)
    set_target_properties(lock_target_static PROPERTIES COMPILE_OPTIONS "" LINK_OPTIONS "")
    target_compile_options(lock_target_static PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all)
    target_link_options(lock_target_static PRIVATE -static -fno-sanitize=all)
    set(RP_STATIC_TARGET $<TARGET_FILE:lock_target_static>)
  endif()
  foreach(group running blocked refusals yama usage static)
    add_test(NAME test_cli_lock_${group} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli_lock.sh
      $<TARGET_FILE:rampart_cli> $<TARGET_FILE:lock_target> ${group} ${RP_STATIC_TARGET})
    set_tests_properties(test_cli_lock_${group} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  endforeach()
endif()
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # The aarch64 injection, cross-compiled and inspected (it cannot run on this machine).
  add_test(NAME test_inject_aarch64 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/inject_aarch64.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_inject_aarch64 PROPERTIES SKIP_RETURN_CODE 77)
endif()
