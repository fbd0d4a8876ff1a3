# SPDX-License-Identifier: MIT
# `rampart maps [PID]` (issue 4).
list(APPEND RAMPART_CLI_SOURCES maps.c)
