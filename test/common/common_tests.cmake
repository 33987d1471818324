# Tests of pkg/common (backoff, logging). The HTTP client's are in http/http_tests.cmake.
secretsync_add_test(backoff_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/backoff_test.cc
  LIBS common_lib)

secretsync_add_test(log_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/log_test.cc
  LIBS common_lib nlohmann_json::nlohmann_json)
