# vault_auth_lib: JWT sources, authenticators (token, Kubernetes, AppRole, JWT), the `auth` block
# parser and the per-identity TokenManager. statusFromReply comes from vault_transport_lib
# (transport.cmake).
add_library(vault_auth_lib
  ${CMAKE_CURRENT_LIST_DIR}/auth_reply.cc
  ${CMAKE_CURRENT_LIST_DIR}/authenticators.cc
  ${CMAKE_CURRENT_LIST_DIR}/jwt_source.cc
  ${CMAKE_CURRENT_LIST_DIR}/token_manager.cc
)
target_link_libraries(vault_auth_lib PUBLIC
  vault_transport_lib
  common_lib
  token_file_lib
  absl::status
  absl::statusor
  absl::strings
  nlohmann_json::nlohmann_json
  OpenSSL::Crypto
  Threads::Threads
)
