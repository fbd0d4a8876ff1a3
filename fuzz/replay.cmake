# SPDX-License-Identifier: MIT
# fuzz/replay.cmake — the committed fuzz corpus as ordinary tests: each target is built with
# fuzz/replay_main.c (a main that feeds every corpus file to LLVMFuzzerTestOneInput) by the
# normal compiler, and test_fuzz_corpus_<target> replays fuzz/corpus/<target>/. Included from
# tests/CMakeLists.txt; POSIX only (the map target uses a temporary directory and pread).
if(NOT WIN32)
  foreach(target heap pool map)
    add_executable(fuzz_replay_${target} ${PROJECT_SOURCE_DIR}/fuzz/fuzz_${target}.c ${PROJECT_SOURCE_DIR}/fuzz/replay_main.c)
    target_link_libraries(fuzz_replay_${target} PRIVATE rampart_static)
    target_compile_options(fuzz_replay_${target} PRIVATE ${RAMPART_WARNINGS})
    target_compile_definitions(fuzz_replay_${target} PRIVATE _GNU_SOURCE)
    add_test(NAME test_fuzz_corpus_${target} COMMAND fuzz_replay_${target} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${target})
    set_tests_properties(test_fuzz_corpus_${target} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS fuzz)
  endforeach()
endif()
