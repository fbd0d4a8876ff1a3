# SPDX-License-Identifier: MIT
# Tests of the map layer (issue 4). test_map covers every feature and bad input on POSIX; its
# "unprivileged" entry re-runs it as user nobody with small memlock limits (root only).
# test_map_windows is the Windows subset (run under wine in CI); see docs/map.md.
if(WIN32)
  rp_add_test(test_map_windows)
else()
  rp_add_test(test_map)
  add_test(NAME test_map_unprivileged COMMAND test_map unprivileged)
  set_tests_properties(test_map_unprivileged PROPERTIES SKIP_RETURN_CODE 77)
  # Opt-in (RAMPART_TEST_HUGETLB_RESERVE=1, root): grows the machine's 2 MiB pool by one page.
  add_test(NAME test_map_hugetlb COMMAND test_map hugetlb)
  # A reserve map's committed range is charged (smaps VmFlags "ac"): skip (77) without VmFlags.
  add_test(NAME test_map_commit_accounted COMMAND test_map commit_accounted)
  # Lightweight guard pages counted from the page tables: skip (77) without MADV_GUARD_INSTALL.
  add_test(NAME test_map_guard_pages COMMAND test_map guard_pages)
  set_tests_properties(test_map_hugetlb test_map_commit_accounted test_map_guard_pages
                       PROPERTIES SKIP_RETURN_CODE 77)
  set_tests_properties(test_map test_map_hugetlb PROPERTIES RESOURCE_LOCK hugetlb_pool)
endif()
if(NOT WIN32 AND RAMPART_BUILD_TOOLS)
  add_executable(maps_helper maps_helper.c)
  target_link_libraries(maps_helper PRIVATE rampart_static)
  target_compile_options(maps_helper PRIVATE ${RAMPART_WARNINGS})
  add_test(NAME test_cli_maps COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli_maps.sh $<TARGET_FILE:rampart_cli> $<TARGET_FILE:maps_helper>)
  set_tests_properties(test_cli_maps PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
endif()
