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
