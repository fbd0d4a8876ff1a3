# `rampart run` and `rampart status` (issue 3). Windows cannot preload a library into another
# program: there `rampart run` says so and points at rp_lockall().
if(WIN32)
  list(APPEND RAMPART_CLI_SOURCES run_unsupported.c status.c)
else()
  list(APPEND RAMPART_CLI_SOURCES run.c status.c)
endif()
