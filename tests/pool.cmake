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
  # stats.locked against the kernel's VmLck: skip (77) where /proc/self/status has none.
  add_test(NAME test_pool_stats_match_vmlck COMMAND test_pool stats_match_vmlck)
  set_tests_properties(test_pool_core_dump test_pool_guarded_map_count test_pool_secret_pages
                       test_pool_stats_match_vmlck PROPERTIES SKIP_RETURN_CODE 77)
endif()
# Issue 11: the lock budget is reserved atomically (threads racing arenas never pass get_limit()).
if(NOT WIN32)
  rp_add_test(test_pool_budget)
  target_link_libraries(test_pool_budget PRIVATE pthread)
endif()
# Issue 11 items 1-3: large allocations 4097 B..8 MiB with and without a canary (contents, usable
# size, wipe, no page-allocator call in steady state, stale double free after reuse aborts); the
# large cache under a lowered memlock limit (children drop to nobody when root) gives its budget
# back under every policy; stats.locked against VmLck through large alloc, free, reuse and trim.
if(NOT WIN32)
  rp_add_test(test_pool_large)
  target_link_libraries(test_pool_large PRIVATE pthread)
  rp_add_test(test_pool_large_budget)
  set_tests_properties(test_pool_large_budget PROPERTIES SKIP_RETURN_CODE 77)
endif()
if(CMAKE_SYSTEM_NAME MATCHES "^(Linux|Android)$")
  rp_add_test(test_pool_large_vmlck)
  set_tests_properties(test_pool_large_vmlck PROPERTIES SKIP_RETURN_CODE 77)
endif()
# Issue 11: a double free after the slot was reused is caught by the per-thread quarantine.
if(NOT WIN32)
  rp_add_test(test_pool_quarantine)
endif()
# Issue 11: an arena's release wipes once (the page source's resident-page wipe), faulting nothing in.
if(NOT WIN32)
  rp_add_test(test_pool_wipe)
endif()
# Issue 11: the pool's secret page source refuses a request above physical memory before mapping
# (pages layer; kept here with the other issue 11 tests).
if(NOT WIN32)
  rp_add_test(test_pages_huge)
endif()
# Issue 13 item 4: rp_pool_protect on guarded allocations (death tests, wipe from every state).
if(NOT WIN32)
  rp_add_test(test_pool_protect)
endif()
# Issue 11 item 5: a refused MADV_DONTDUMP (EINVAL for a known advice) fails the arena; only an
# advice the kernel lacks is "unsupported" (madvise replaced in the test binary).
if(CMAKE_SYSTEM_NAME MATCHES "^(Linux|Android)$")
  rp_add_test(test_pool_advice)
endif()
# Issue 11 item 2: every class shares a 64 KiB / 256 KiB lock budget (children drop root and
# lower RLIMIT_MEMLOCK; skip 77 only when they cannot).
if(NOT WIN32)
  rp_add_test(test_pool_small_limit)
endif()
# Issue 11 item 4: large and guarded allocations from several threads (per-shard locks; TSan in CI).
if(NOT WIN32)
  rp_add_test(test_pool_threads_large)
  target_link_libraries(test_pool_threads_large PRIVATE pthread)
endif()
# Issue 11 item 1: large runs a thread frees are reused by it (64 KiB pairs, with a canary too,
# and a loop that changes sizes); rp_pool_trim gives them back. Runs made are counted through
# the GNU linker's --wrap.
if(CMAKE_SYSTEM_NAME MATCHES "^(Linux|Android)$")
  rp_add_test(test_pool_kept)
  target_link_options(test_pool_kept PRIVATE -Wl,--wrap=rp__run_create)
endif()
# Issue 11 item 5: usable size and ownership queries on an arena whose metadata is being recycled
# (stride read as 0) answer "not live" instead of dividing by zero.
if(NOT WIN32)
  rp_add_test(test_pool_recycled)
endif()
# Issue 11 items 1 and 3: large runs above 64 KiB turn (a loop of pairs reuses one run, one turn
# further on each time, without making runs or regions), a cached run serves other threads, and a
# new shard adopts another's empty region. Runs made are counted through the GNU linker's --wrap.
if(CMAKE_SYSTEM_NAME MATCHES "^(Linux|Android)$")
  rp_add_test(test_pool_turn)
  target_link_libraries(test_pool_turn PRIVATE pthread)
  target_link_options(test_pool_turn PRIVATE -Wl,--wrap=rp__run_create)
endif()
