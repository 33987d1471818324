# The Vault HTTP API double: library, standalone binary and tests.

add_library(vault_double_lib
  ${CMAKE_CURRENT_LIST_DIR}/auth_approle.cc
  ${CMAKE_CURRENT_LIST_DIR}/auth_jwt.cc
  ${CMAKE_CURRENT_LIST_DIR}/auth_kubernetes.cc
  ${CMAKE_CURRENT_LIST_DIR}/envelope.cc
  ${CMAKE_CURRENT_LIST_DIR}/faults.cc
  ${CMAKE_CURRENT_LIST_DIR}/jwt.cc
  ${CMAKE_CURRENT_LIST_DIR}/kv_engine.cc
  ${CMAKE_CURRENT_LIST_DIR}/policy.cc
  ${CMAKE_CURRENT_LIST_DIR}/seed.cc
  ${CMAKE_CURRENT_LIST_DIR}/token_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/vault_double.cc
)
target_link_libraries(vault_double_lib
  PUBLIC test_http_server_lib common_lib nlohmann_json::nlohmann_json absl::status
         absl::statusor absl::strings Threads::Threads
  PRIVATE OpenSSL::Crypto)

add_executable(vault-double ${CMAKE_CURRENT_LIST_DIR}/../vault_double_main.cc)
target_link_libraries(vault-double PRIVATE vault_double_lib)

secretsync_add_test(vault_double_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/../vault_double_test.cc
  LIBS vault_double_lib test_curl_client_lib test_support_lib)

if(SECRETSYNC_DEBIAN_PYTHON3)
  add_test(NAME vault_double_hvac_test
    COMMAND ${SECRETSYNC_DEBIAN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/../vault_double_hvac_test.py
            $<TARGET_FILE:vault-double>)
  set_tests_properties(vault_double_hvac_test PROPERTIES TIMEOUT 120)
endif()
