# SPDX-License-Identifier: MIT
# Tests of the secure pool (issue 5). test_pool covers API, layout, fake-allocator growth and
# policies, metadata placement, threads, death and security tests on POSIX; test_pool_core_dump
# checks that pool secrets stay out of a core dump (kernel core or gdb's gcore); its "unprivileged"
# entry re-runs it as user nobody with a 64 KiB (and a zero) memlock limit (root only).
# test_pool_windows is the Windows subset (wine). See docs/pool.md.
if(WIN32)
  rp_add_test(test_pool_windows)
else()
  rp_add_test(test_pool)
  add_test(NAME test_pool_unprivileged COMMAND test_pool unprivileged)
  set_tests_properties(test_pool_unprivileged PROPERTIES SKIP_RETURN_CODE 77)
  # The core-dump exclusion check alone: the kernel's core or gdb's gcore, else skip (77).
  add_test(NAME test_pool_core_dump COMMAND test_pool core_dump)
  # MADV_GUARD_INSTALL (Linux 6.13+) and memfd_secret pages: skip (77) where the kernel lacks them.
  add_test(NAME test_pool_guarded_map_count COMMAND test_pool guarded_map_count)
  add_test(NAME test_pool_secret_pages COMMAND test_pool secret_pages)
  set_tests_properties(test_pool_core_dump test_pool_guarded_map_count test_pool_secret_pages
                       PROPERTIES SKIP_RETURN_CODE 77)
endif()
