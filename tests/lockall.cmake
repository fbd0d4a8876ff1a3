# SPDX-License-Identifier: MIT
# Tests of the lockall layer (issue 3). test_lockall covers the API on POSIX, each locking case in
# a fork child; its "unprivileged" entry re-runs it as user nobody under small memlock limits
# (root only). cli_lockall.sh drives `rampart run` / `rampart status` and librampart-lock.so
# (built without sanitizers, so it runs in every build). test_lockall_windows runs under wine.
if(WIN32)
  rp_add_test(test_lockall_windows)
else()
  rp_add_test(test_lockall)
  add_test(NAME test_lockall_unprivileged COMMAND test_lockall unprivileged)
  set_tests_properties(test_lockall_unprivileged PROPERTIES SKIP_RETURN_CODE 77)
  if(RAMPART_BUILD_TOOLS AND TARGET rampart_lock)
    add_test(NAME test_cli_lockall COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli_lockall.sh
      $<TARGET_FILE:rampart_cli> $<TARGET_FILE:rampart_lock>)
    set_tests_properties(test_cli_lockall PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  endif()
endif()
