# SPDX-License-Identifier: MIT
# find_package_version.cmake — the version rule of rampartConfigVersion.cmake (cmake -P script).
# Before 1.0 find_package(rampart 0.1) accepts 0.1.z only; from 1.0 it accepts any 1.y >= request.
# Checks versions made by the same function as the installed file, and the built file itself.
# Usage: cmake -DSRC=SOURCE_DIR -DBUILT=BUILD_DIR/rampartConfigVersion.cmake -P find_package_version.cmake
include(${SRC}/cmake/rampartVersionRule.cmake)
set(failures 0)
# check(VERSION_FILE REQUEST EXPECTED): EXPECTED is TRUE when find_package(rampart REQUEST) accepts.
function(check file request expected)
  set(PACKAGE_FIND_VERSION ${request})
  string(REPLACE "." ";" parts ${request})
  list(GET parts 0 PACKAGE_FIND_VERSION_MAJOR)
  list(GET parts 1 PACKAGE_FIND_VERSION_MINOR)
  set(PACKAGE_FIND_VERSION_PATCH 0)
  set(PACKAGE_FIND_VERSION_COUNT 2)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
  set(CMAKE_SIZEOF_VOID_P 8)
  include(${file})
  if(PACKAGE_VERSION_UNSUITABLE)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  endif()
  if((PACKAGE_VERSION_COMPATIBLE AND NOT expected) OR (NOT PACKAGE_VERSION_COMPATIBLE AND expected))
    message("FAIL: rampart ${PACKAGE_VERSION} for find_package(rampart ${request}): compatible=${PACKAGE_VERSION_COMPATIBLE}, expected ${expected}")
    math(EXPR f "${failures} + 1")
    set(failures ${f} PARENT_SCOPE)
  else()
    message("ok: rampart ${PACKAGE_VERSION} for find_package(rampart ${request}): ${expected}")
  endif()
endfunction()

set(dir ${CMAKE_CURRENT_BINARY_DIR}/rp_version_rule_test)
foreach(v 0.1.0 0.1.7 0.2.0 1.0.0 1.3.2 2.0.0)
  rp_write_version_file(${dir}/v${v}.cmake ${v})
endforeach()
check(${dir}/v0.1.0.cmake 0.1 TRUE)
check(${dir}/v0.1.7.cmake 0.1 TRUE)
check(${dir}/v0.2.0.cmake 0.1 FALSE)   # the 0.x rule: 0.2 may break 0.1's API
check(${dir}/v0.1.0.cmake 0.2 FALSE)
check(${dir}/v1.0.0.cmake 0.1 FALSE)
check(${dir}/v1.3.2.cmake 1.0 TRUE)    # from 1.0: same major, newer minor is fine
check(${dir}/v1.3.2.cmake 1.4 FALSE)
check(${dir}/v2.0.0.cmake 1.0 FALSE)
# The file the build installs follows the same rule for its own version.
file(STRINGS ${BUILT} line REGEX "set\\(PACKAGE_VERSION \"")
string(REGEX MATCH "\"([0-9]+)\\.([0-9]+)" m "${line}")
check(${BUILT} "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}" TRUE)
math(EXPR next "${CMAKE_MATCH_2} - 1")
if(CMAKE_MATCH_1 EQUAL 0 AND next GREATER_EQUAL 0)
  # An older 0.x request must be refused by this 0.x build.
  check(${BUILT} "0.${next}" FALSE)
endif()
file(REMOVE_RECURSE ${dir})
if(failures)
  message(FATAL_ERROR "${failures} version rule checks failed")
endif()
