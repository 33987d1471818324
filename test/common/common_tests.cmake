# Tests of pkg/common (backoff, logging). The HTTP client's are in http/http_tests.cmake.
secretsync_add_test(backoff_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/backoff_test.cc
  LIBS common_lib)

secretsync_add_test(log_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/log_test.cc
  LIBS common_lib nlohmann_json::nlohmann_json)

# SecretString and the wipe helpers: bytes zero when released (checked at free time by a
# replaced operator delete in secret_string_test.cc).
secretsync_add_test(secret_string_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/secret_string_test.cc
  LIBS absl::strings)

secretsync_add_test(json_wipe_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/json_wipe_test.cc
  LIBS json_wipe_lib)

# Type-checked reads of outside JSON: wrong types read as absent, never as a throw.
secretsync_add_test(json_fields_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/json_fields_test.cc
  LIBS json_fields_lib)

secretsync_add_test(token_file_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/token_file_test.cc
  LIBS token_file_lib)

secretsync_add_test(go_regexp_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/go_regexp_test.cc
  LIBS go_regexp_lib)
