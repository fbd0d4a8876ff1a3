# SPDX-License-Identifier: MIT
# librampart-lock.so (target rampart_lock, installed into lib/): preloaded into an unmodified
# program it locks that program's memory before main() (RAMPART_LOCK; see src/lockall/preload.c).
#
# It has its own objects, compiled and linked without the build's sanitizer options: a library
# built with -fsanitize needs the sanitizer runtime loaded first, so it could not be injected into
# an ordinary program such as cat. It exports nothing (preload.map), so it never interposes on a
# program's own rampart. POSIX only: Windows has no preloading.
if(NOT WIN32)
  add_library(rampart_lock SHARED
    ${RAMPART_OS_SOURCE} src/core/status.c src/core/remedy.c src/core/memzero.c src/core/corruption.c src/core/env.c src/core/verbose.c src/core/sized.c
    src/lockall/options.c src/lockall/accounting.c src/lockall/lockall.c src/lockall/status.c src/lockall/preload.c)
  # Drop the directory-wide sanitizer options this target inherited, then forbid any that
  # CMAKE_C_FLAGS may still carry.
  set_target_properties(rampart_lock PROPERTIES
    OUTPUT_NAME rampart-lock
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}
    COMPILE_OPTIONS ""
    LINK_OPTIONS "")
  target_compile_options(rampart_lock PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all)
  target_include_directories(rampart_lock PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(rampart_lock PRIVATE RP_BUILDING_LIBRARY)
  target_link_options(rampart_lock PRIVATE -fno-sanitize=all)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    target_link_options(rampart_lock PRIVATE -Wl,--no-undefined
      -Wl,--version-script=${PROJECT_SOURCE_DIR}/src/lockall/preload.map)
    set_property(TARGET rampart_lock APPEND PROPERTY LINK_DEPENDS ${PROJECT_SOURCE_DIR}/src/lockall/preload.map)
  endif()
  target_link_libraries(rampart_lock PRIVATE ${RAMPART_OS_LIBS})
  install(TARGETS rampart_lock LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
