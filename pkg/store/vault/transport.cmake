# vault_transport_lib: the HTTP transport with the official client's retry policy, and the one
# mapping of Vault replies to Status codes.
add_library(vault_transport_lib
  ${CMAKE_CURRENT_LIST_DIR}/http_vault_transport.cc
  ${CMAKE_CURRENT_LIST_DIR}/vault_errors.cc
)
target_link_libraries(vault_transport_lib PUBLIC http_lib common_lib store_interface
  json_wipe_lib absl::status absl::statusor absl::strings nlohmann_json::nlohmann_json)

# vault_kv_lib: KV reply parsers and the KV v1/v2 StoreClient.
add_library(vault_kv_lib
  ${CMAKE_CURRENT_LIST_DIR}/kv_response.cc
  ${CMAKE_CURRENT_LIST_DIR}/vault_kv_client.cc
)
target_link_libraries(vault_kv_lib PUBLIC vault_transport_lib store_interface
  absl::status absl::statusor absl::strings Threads::Threads
  nlohmann_json::nlohmann_json)
