# Tests of the libcurl HttpClient against a real local HTTP(S) server over TCP (the server and
# the test PKI come from test/support/vault_double.cmake).
if(TARGET test_http_server_lib)
  secretsync_add_test(curl_http_client_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/curl_http_client_test.cc
    LIBS http_lib test_http_server_lib nlohmann_json::nlohmann_json)
endif()
if(TARGET test_http_server_lib)
  secretsync_add_test(curl_streaming_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/curl_streaming_test.cc
    LIBS http_lib test_http_server_lib)
endif()
if(TARGET test_http_server_lib)
  secretsync_add_test(http_client_pool_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/http_client_pool_test.cc
    LIBS http_client_pool_lib test_http_server_lib)
endif()
secretsync_add_test(url_escape_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/url_escape_test.cc
  LIBS http_lib)
