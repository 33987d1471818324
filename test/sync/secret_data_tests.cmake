# Tests of the secret data builder, the store resolver, the manifest set and the file sync, against
# the in-process Vault double.
secretsync_add_test(secret_data_builder_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/secret_data_builder_test.cc
  LIBS secret_data_lib vault_store_lib vault_double_lib yaml_json_lib)

secretsync_add_test(store_resolver_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_resolver_test.cc
  LIBS store_resolver_lib vault_double_lib yaml_json_lib)

secretsync_add_test(manifest_set_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/manifest_set_test.cc
  LIBS manifest_set_lib)

secretsync_add_test(file_sync_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/file_sync_test.cc
  LIBS file_sync_lib vault_double_lib)
