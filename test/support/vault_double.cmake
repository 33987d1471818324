# Test support owned by the Vault double: the generic HTTP(S) test server and test PKI, a small
# libcurl client for tests, the Vault HTTP API double (library and standalone binary), and their
# tests.

find_program(SECRETSYNC_DEBIAN_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT SECRETSYNC_DEBIAN_PYTHON3)
  find_program(SECRETSYNC_DEBIAN_PYTHON3 NAMES python3)
endif()

add_library(test_http_server_lib
  ${CMAKE_CURRENT_LIST_DIR}/http_server.cc
  ${CMAKE_CURRENT_LIST_DIR}/test_pki.cc
)
target_link_libraries(test_http_server_lib
  PUBLIC absl::status absl::statusor absl::strings Threads::Threads
  PRIVATE Boost::headers OpenSSL::SSL OpenSSL::Crypto)

add_library(test_curl_client_lib
  ${CMAKE_CURRENT_LIST_DIR}/curl_test_client.cc
)
target_link_libraries(test_curl_client_lib
  PUBLIC absl::strings
  PRIVATE CURL::libcurl)

secretsync_add_test(http_server_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/http_server_test.cc
  LIBS test_http_server_lib test_curl_client_lib CURL::libcurl OpenSSL::Crypto)

include(${CMAKE_CURRENT_LIST_DIR}/vault_double/vault_double.cmake OPTIONAL)
include(${CMAKE_CURRENT_LIST_DIR}/kube_double/kube_double.cmake OPTIONAL)
