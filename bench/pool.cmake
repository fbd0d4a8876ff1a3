# SPDX-License-Identifier: MIT
# Secure pool benchmark (issues 5 and 11): rampart's pool against the floor (malloc + wipe),
# glibc malloc, libsodium, OpenSSL's secure heap, libgcrypt, Botan and a model of Bitcoin Core's
# LockedPool, in one run. Writes docs/bench/pool.md and docs/bench/pool.png (THREADS=N other than
# 2: docs/bench/pool-tN.*), and with perf docs/bench/pool-contention.md. Peers that are not
# installed are left out with a warning (Debian: libsodium-dev libssl-dev libgcrypt20-dev
# libbotan-2-dev; gnuplot-nox for the chart); the LockedPool model is C++ (g++).
find_package(PkgConfig)
include(CheckLanguage)
check_language(CXX)
if(NOT CMAKE_CXX_COMPILER)
  message(FATAL_ERROR "bench_pool: the LockedPool model (bench/pool/lockedpool_model.cpp) needs a C++ compiler (Debian package g++)")
endif()
enable_language(CXX)
add_executable(bench_pool pool/bench_pool.c pool/lockedpool_model.cpp)
set_source_files_properties(pool/lockedpool_model.cpp PROPERTIES COMPILE_OPTIONS "-std=c++17;-Wall;-Wextra")
set_target_properties(bench_pool PROPERTIES LINKER_LANGUAGE CXX)
target_link_libraries(bench_pool PRIVATE rampart_static)
target_compile_options(bench_pool PRIVATE $<$<COMPILE_LANGUAGE:C>:${RAMPART_WARNINGS} -Wno-missing-prototypes>)
set(RP_POOL_PEERS "")
if(PkgConfig_FOUND)
  pkg_check_modules(RP_SODIUM IMPORTED_TARGET libsodium)
  pkg_check_modules(RP_GCRYPT IMPORTED_TARGET libgcrypt)
  pkg_check_modules(RP_BOTAN IMPORTED_TARGET botan-2)
endif()
find_package(OpenSSL COMPONENTS Crypto)
if(RP_SODIUM_FOUND)
  target_compile_definitions(bench_pool PRIVATE HAVE_SODIUM)
  target_link_libraries(bench_pool PRIVATE PkgConfig::RP_SODIUM)
else()
  message(WARNING "bench_pool: libsodium not found (libsodium-dev): left out")
endif()
if(OpenSSL_FOUND)
  target_compile_definitions(bench_pool PRIVATE HAVE_OPENSSL)
  target_link_libraries(bench_pool PRIVATE OpenSSL::Crypto)
else()
  message(WARNING "bench_pool: OpenSSL not found (libssl-dev): left out")
endif()
if(RP_GCRYPT_FOUND)
  target_compile_definitions(bench_pool PRIVATE HAVE_GCRYPT)
  target_link_libraries(bench_pool PRIVATE PkgConfig::RP_GCRYPT)
else()
  message(WARNING "bench_pool: libgcrypt not found (libgcrypt20-dev): left out")
endif()
if(RP_BOTAN_FOUND)
  target_sources(bench_pool PRIVATE pool/botan_shim.cpp)
  set_source_files_properties(pool/botan_shim.cpp PROPERTIES COMPILE_OPTIONS "-std=c++17")
  target_compile_definitions(bench_pool PRIVATE HAVE_BOTAN)
  target_link_libraries(bench_pool PRIVATE PkgConfig::RP_BOTAN)
else()
  message(WARNING "bench_pool: Botan 2 not found (libbotan-2-dev): left out")
endif()

# Thread counts 1, 2, 4, ... up to RAMPART_BENCH_THREADS, or its list (bench/CMakeLists.txt:
# THREADS=N or THREADS=1,4,16); other than the default 2, the outputs are named after the largest.
set(RP_POOL_NAME pool)
if(NOT RAMPART_BENCH_THREADS STREQUAL "2")
  set(RP_POOL_NAME pool-t${RAMPART_BENCH_THREADS_MAX})
endif()
set(RP_POOL_DAT ${CMAKE_CURRENT_BINARY_DIR}/${RP_POOL_NAME}.dat)
set(RP_POOL_CMDS COMMAND ${CMAKE_COMMAND} -E make_directory ${RAMPART_BENCH_OUT}
  COMMAND bench_pool ${RAMPART_BENCH_OUT}/${RP_POOL_NAME}.md ${RP_POOL_DAT} ${RAMPART_BENCH_THREADS})
if(RAMPART_GNUPLOT)
  list(APPEND RP_POOL_CMDS COMMAND ${RAMPART_GNUPLOT} -e "data='${RP_POOL_DAT}'" -e "out='${RAMPART_BENCH_OUT}/${RP_POOL_NAME}.png'"
    ${CMAKE_CURRENT_SOURCE_DIR}/pool/pool.gp)
endif()
# Lock contention counted with perf's software events (docs/bench/pool-contention.md); without
# perf, or without the right to open the events, contention.sh says so and writes nothing.
find_program(RAMPART_PERF perf)
if(RAMPART_PERF)
  list(APPEND RP_POOL_CMDS COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/pool/contention.sh $<TARGET_FILE:bench_pool>
    ${RAMPART_BENCH_OUT}/${RP_POOL_NAME}-contention.md ${RAMPART_BENCH_THREADS})
else()
  message(WARNING "bench_pool: perf not found (Debian package linux-perf): no lock contention table")
endif()
add_custom_target(bench_pool_run ${RP_POOL_CMDS} DEPENDS bench_pool USES_TERMINAL
  COMMENT "secure pool benchmark, threads up to ${RAMPART_BENCH_THREADS} -> docs/bench/${RP_POOL_NAME}.md, ${RP_POOL_NAME}.png" VERBATIM)
add_dependencies(bench bench_pool_run)
