# SPDX-License-Identifier: MIT
# `rampart run` and `rampart status` (issue 3). Windows cannot preload a library into another
# program: there `rampart run` says so and points at rp_lockall().
if(WIN32)
  list(APPEND RAMPART_CLI_SOURCES run_unsupported.c status.c lock.c)
else()
  list(APPEND RAMPART_CLI_SOURCES run.c run_traced.c status.c lock.c)
endif()
# `rampart run` finds the installed librampart-lock.so through the install's library directory as
# seen from its binary directory: ../lib by default, but a packager may choose lib64 or
# lib/x86_64-linux-gnu. A relative path keeps a moved prefix working.
if(NOT WIN32)
  file(RELATIVE_PATH RP_RUN_BIN_TO_LIB ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
  set_source_files_properties(run.c PROPERTIES COMPILE_DEFINITIONS "RP_RUN_BIN_TO_LIB=\"${RP_RUN_BIN_TO_LIB}\"")
endif()
