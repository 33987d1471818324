# Unit tests of the Vault transport, error mapping, KV parsers and KV client (fakes only).
secretsync_add_test(http_vault_transport_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/http_vault_transport_test.cc
  LIBS vault_transport_lib test_support_lib)
secretsync_add_test(vault_errors_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vault_errors_test.cc
  LIBS vault_transport_lib)
secretsync_add_test(kv_response_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/kv_response_test.cc
  LIBS vault_kv_lib)
secretsync_add_test(vault_kv_client_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vault_kv_client_test.cc
  LIBS vault_kv_lib Threads::Threads)
