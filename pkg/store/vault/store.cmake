# vault_store_lib: a StoreClient for one Vault identity, assembled from transport, tokens and KV.
add_library(vault_store_lib ${CMAKE_CURRENT_LIST_DIR}/vault_store.cc)
target_link_libraries(vault_store_lib PUBLIC vault_kv_lib vault_auth_lib vault_transport_lib
  http_lib common_lib)
