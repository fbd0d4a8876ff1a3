# SPDX-License-Identifier: MIT
# rampartVersionRule.cmake — which versions satisfy find_package(rampart X.Y).
# Before 1.0 every minor release may break the API (0.1 and 0.2 are different), so a request for
# 0.1 accepts 0.1.z only (SameMinorVersion); from 1.0 on, the usual rule holds (SameMajorVersion).
# Used by CMakeLists.txt and by tests/find_package_version.cmake, so the test checks this code.
include(CMakePackageConfigHelpers)
function(rp_write_version_file out version)
  string(REGEX MATCH "^[0-9]+" major "${version}")
  if(major EQUAL 0)
    set(rule SameMinorVersion)
  else()
    set(rule SameMajorVersion)
  endif()
  write_basic_package_version_file("${out}" VERSION "${version}" COMPATIBILITY ${rule})
endfunction()
