# End-to-end tests: the built binaries as processes, driven by Debian's python3.
if(SECRETSYNC_DEBIAN_PYTHON3)
  add_test(NAME check_command_e2e_test
    COMMAND ${SECRETSYNC_DEBIAN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/e2e/check_command_e2e_test.py
            $<TARGET_FILE:secretsync> $<TARGET_FILE:vault-double>
            ${CMAKE_CURRENT_LIST_DIR}/support/testdata/demo_seed.json)
  set_tests_properties(check_command_e2e_test PROPERTIES TIMEOUT 300)
endif()
if(SECRETSYNC_DEBIAN_PYTHON3)
  add_test(NAME sync_command_e2e_test
    COMMAND ${SECRETSYNC_DEBIAN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/e2e/sync_command_e2e_test.py
            $<TARGET_FILE:secretsync> $<TARGET_FILE:vault-double>
            ${CMAKE_CURRENT_LIST_DIR}/support/testdata/demo_seed.json
            ${PROJECT_SOURCE_DIR}/examples)
  set_tests_properties(sync_command_e2e_test PROPERTIES TIMEOUT 300)
endif()
if(SECRETSYNC_DEBIAN_PYTHON3)
  add_test(NAME controller_e2e_test
    COMMAND ${SECRETSYNC_DEBIAN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/e2e/controller_e2e_test.py
            $<TARGET_FILE:secretsync> $<TARGET_FILE:kube-double> $<TARGET_FILE:vault-double>
            ${CMAKE_CURRENT_LIST_DIR}/support/testdata/demo_seed.json)
  set_tests_properties(controller_e2e_test PROPERTIES TIMEOUT 300)
endif()
if(SECRETSYNC_DEBIAN_PYTHON3)
  add_test(NAME core_dump_e2e_test
    COMMAND ${SECRETSYNC_DEBIAN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/e2e/core_dump_e2e_test.py
            $<TARGET_FILE:secretsync>)
  set_tests_properties(core_dump_e2e_test PROPERTIES TIMEOUT 120)
endif()
# The leak scan: sentinel secrets through controller, csi-provider and sync; every log, event,
# status, metric and gRPC error scanned. csi-mount-client sends Mount requests for it.
add_executable(csi-mount-client ${CMAKE_CURRENT_LIST_DIR}/e2e/csi_mount_client.cc)
target_link_libraries(csi-mount-client PRIVATE csi_proto_lib http_lib absl::strings
  nlohmann_json::nlohmann_json)
if(SECRETSYNC_DEBIAN_PYTHON3)
  add_test(NAME leak_scan_e2e_test
    COMMAND ${SECRETSYNC_DEBIAN_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/e2e/leak_scan_e2e_test.py
            $<TARGET_FILE:secretsync> $<TARGET_FILE:kube-double> $<TARGET_FILE:vault-double>
            $<TARGET_FILE:csi-mount-client>)
  set_tests_properties(leak_scan_e2e_test PROPERTIES TIMEOUT 300)
endif()
