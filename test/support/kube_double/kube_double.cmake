# The Kubernetes API server double: library, standalone binary and tests.

add_library(kube_double_lib
  ${CMAKE_CURRENT_LIST_DIR}/api_status.cc
  ${CMAKE_CURRENT_LIST_DIR}/kube_double.cc
  ${CMAKE_CURRENT_LIST_DIR}/kube_faults.cc
  ${CMAKE_CURRENT_LIST_DIR}/kubeconfig.cc
  ${CMAKE_CURRENT_LIST_DIR}/list_options.cc
  ${CMAKE_CURRENT_LIST_DIR}/managed_fields.cc
  ${CMAKE_CURRENT_LIST_DIR}/object_operations.cc
  ${CMAKE_CURRENT_LIST_DIR}/object_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/object_validation.cc
  ${CMAKE_CURRENT_LIST_DIR}/resource_types.cc
  ${CMAKE_CURRENT_LIST_DIR}/seed.cc
  ${CMAKE_CURRENT_LIST_DIR}/selectors.cc
  ${CMAKE_CURRENT_LIST_DIR}/service_account_tokens.cc
  ${CMAKE_CURRENT_LIST_DIR}/watch_stream.cc
)
target_link_libraries(kube_double_lib
  PUBLIC vault_double_lib test_http_server_lib common_lib nlohmann_json::nlohmann_json
         absl::status absl::statusor absl::strings Threads::Threads
  PRIVATE json_fields_lib yaml_json_lib)

add_executable(kube-double ${CMAKE_CURRENT_LIST_DIR}/../kube_double_main.cc)
target_link_libraries(kube-double PRIVATE kube_double_lib)

secretsync_add_test(kube_double_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/../kube_double_test.cc
  LIBS kube_double_lib vault_double_lib test_curl_client_lib test_support_lib)

if(SECRETSYNC_DEBIAN_PYTHON3)
  add_test(NAME kube_double_client_test
    COMMAND ${SECRETSYNC_DEBIAN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/../kube_double_client_test.py
            $<TARGET_FILE:kube-double>)
  set_tests_properties(kube_double_client_test PROPERTIES TIMEOUT 180)
endif()
