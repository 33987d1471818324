# secretsync_add_fuzz(NAME SOURCES a.cc LIBS x y CORPUS dir): one fuzz target.
#
# With SECRETSYNC_FUZZ (clang) it is a libFuzzer binary (-fsanitize=fuzzer): run it by hand on
# its corpus directory to fuzz. Otherwise the target is linked with fuzz_driver.cc, which replays
# every corpus file once. Either way ctest replays the corpus (libFuzzer with -runs=0 only
# executes the inputs), so a crasher added to the corpus stays a regression test.
function(secretsync_add_fuzz name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_CORPUS)
    message(FATAL_ERROR "secretsync_add_fuzz(${name}): CORPUS is required")
  endif()
  if(SECRETSYNC_FUZZ)
    add_executable(${name} ${ARG_SOURCES})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_test(NAME ${name}_corpus COMMAND ${name} -runs=0 ${ARG_CORPUS})
  else()
    add_executable(${name} ${ARG_SOURCES} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/fuzz_driver.cc)
    add_test(NAME ${name}_corpus COMMAND ${name} ${ARG_CORPUS})
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  set_tests_properties(${name}_corpus PROPERTIES TIMEOUT 300 LABELS fuzz)
endfunction()

secretsync_add_fuzz(vault_response_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vault_response_fuzz_test.cc
  LIBS vault_kv_lib vault_auth_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/vault_response)

secretsync_add_fuzz(go_regexp_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/go_regexp_fuzz_test.cc
  LIBS go_regexp_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/go_regexp)
