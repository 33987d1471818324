# Unit tests of authentication and tokens: JWT sources, the auth block parser, the
# authenticators and the TokenManager, over a scripted VaultTransport (test/mocks/store/vault).
secretsync_add_test(vault_auth_reply_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/auth_reply_test.cc LIBS vault_auth_lib)
secretsync_add_test(vault_jwt_source_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jwt_source_test.cc LIBS vault_auth_lib)
secretsync_add_test(vault_authenticators_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/authenticators_test.cc LIBS vault_auth_lib)
secretsync_add_test(vault_token_manager_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/token_manager_test.cc LIBS vault_auth_lib test_support_lib)
