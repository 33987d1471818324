# store_source_interface: how an ExternalSecret's store reference becomes a StoreClient.
add_library(store_source_interface INTERFACE)
target_link_libraries(store_source_interface INTERFACE api_lib store_interface)

# secret_data_lib: ExternalSecret -> desired Secret data, as ESO's Vault provider builds it.
add_library(secret_data_lib ${CMAKE_CURRENT_LIST_DIR}/secret_data_builder.cc)
target_link_libraries(secret_data_lib PUBLIC store_source_interface api_lib read_set_lib
  OpenSSL::Crypto absl::cord absl::status absl::statusor absl::strings PRIVATE go_regexp_lib)

# store_resolver_lib: (Cluster)SecretStore + credentials -> cached VaultStore per identity.
add_library(store_resolver_lib ${CMAKE_CURRENT_LIST_DIR}/store_resolver.cc)
target_link_libraries(store_resolver_lib PUBLIC store_source_interface api_lib vault_store_lib
  http_lib http_client_pool_lib absl::status absl::statusor absl::strings)

# manifest_set_lib: -f files and directories -> ESO objects, Secrets and ConfigMaps.
add_library(manifest_set_lib ${CMAKE_CURRENT_LIST_DIR}/manifest_set.cc)
target_link_libraries(manifest_set_lib PUBLIC store_resolver_lib api_lib json_fields_lib
  yaml_json_lib absl::status absl::statusor absl::strings)

# file_sync_lib: `secretsync sync`'s sink: each ExternalSecret's target as an atomic directory.
add_library(file_sync_lib ${CMAKE_CURRENT_LIST_DIR}/file_sync.cc)
target_link_libraries(file_sync_lib PUBLIC manifest_set_lib secret_data_lib atomic_dir_writer_lib)
