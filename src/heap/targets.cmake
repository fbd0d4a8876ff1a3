# SPDX-License-Identifier: MIT
# librampart-malloc.so (target rampart_malloc): the default heap behind malloc & co for
# LD_PRELOAD (issue 6 item 5). POSIX only (Windows has no LD_PRELOAD).
#
# It is built from its own object set, rampart_plain_objects: the library's sources without any
# sanitizer (a sanitized library cannot be preloaded into the unsanitized programs it is meant
# for, so the sanitizer builds test the same plain code), with initial-exec TLS (no
# __tls_get_addr, which may allocate), and a version script so only the malloc family is
# exported. tests/heap.cmake links unsanitized copies of test programs from the same objects to
# run the suite under the preload in every build.
if(NOT WIN32)
  add_library(rampart_plain_objects OBJECT ${RAMPART_SOURCES})
  set_target_properties(rampart_plain_objects PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
  target_include_directories(rampart_plain_objects PUBLIC ${PROJECT_SOURCE_DIR}/include PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(rampart_plain_objects PRIVATE RP_BUILDING_LIBRARY RP_HEAP_PRELOAD)
  # One section per function and object, so that the preload library's link below keeps only
  # what the malloc family reaches (the other layers come along in RAMPART_SOURCES).
  target_compile_options(rampart_plain_objects PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all -ftls-model=initial-exec
                         -ffunction-sections -fdata-sections)

  add_library(rampart_malloc SHARED src/heap/preload.c src/heap/preload_info.c $<TARGET_OBJECTS:rampart_plain_objects>)
  set_target_properties(rampart_malloc PROPERTIES
    OUTPUT_NAME rampart-malloc
    C_VISIBILITY_PRESET hidden
    LINK_OPTIONS ""
    LINK_DEPENDS ${PROJECT_SOURCE_DIR}/src/heap/preload.map)
  target_include_directories(rampart_malloc PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(rampart_malloc PRIVATE RP_BUILDING_LIBRARY RP_HEAP_PRELOAD)
  target_compile_options(rampart_malloc PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all -ftls-model=initial-exec)
  # --gc-sections drops the code no exported function reaches: a smaller library loads faster
  # into every short-lived process under the preload (bench/heap spawn).
  target_link_options(rampart_malloc PRIVATE -Wl,--version-script=${PROJECT_SOURCE_DIR}/src/heap/preload.map
                      -Wl,--gc-sections)
  target_link_libraries(rampart_malloc PRIVATE Threads::Threads)
  install(TARGETS rampart_malloc LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
