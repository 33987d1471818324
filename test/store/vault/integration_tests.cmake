secretsync_add_test(vault_integration_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vault_integration_test.cc
  LIBS vault_store_lib fetcher_lib vault_double_lib test_http_server_lib test_support_lib)
