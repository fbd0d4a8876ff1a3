# librampart-malloc.so (target rampart_malloc): the default heap behind malloc & co for
# LD_PRELOAD (issue 6 item 5). POSIX only (Windows has no LD_PRELOAD).
#
# It compiles the library's sources again as its own object set: no sanitizer (a sanitized
# library cannot be preloaded into the unsanitized programs it is meant for, so the sanitizer
# builds test the same plain code), initial-exec TLS (no __tls_get_addr, which may allocate), and
# a version script so only the malloc family is exported.
if(NOT WIN32)
  add_library(rampart_malloc SHARED ${RAMPART_SOURCES} src/heap/preload.c)
  set_target_properties(rampart_malloc PROPERTIES
    OUTPUT_NAME rampart-malloc
    C_VISIBILITY_PRESET hidden
    LINK_OPTIONS ""
    LINK_DEPENDS ${PROJECT_SOURCE_DIR}/src/heap/preload.map)
  target_include_directories(rampart_malloc PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(rampart_malloc PRIVATE RP_BUILDING_LIBRARY RP_HEAP_PRELOAD)
  target_compile_options(rampart_malloc PRIVATE ${RAMPART_WARNINGS} -fno-sanitize=all -ftls-model=initial-exec)
  target_link_options(rampart_malloc PRIVATE -Wl,--version-script=${PROJECT_SOURCE_DIR}/src/heap/preload.map
    -Wl,-z,nodelete)
  target_link_libraries(rampart_malloc PRIVATE Threads::Threads)
  install(TARGETS rampart_malloc LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
